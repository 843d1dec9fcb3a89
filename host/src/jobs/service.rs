//! What users and other domains do with jobs: queue one, cancel one, read and set a
//! kind's schedule. Callers own the transaction; every function takes the tenant first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::{self, Actor, ActorKind, AuditAction};
use crate::db::Conn;
use crate::tenancy::{TenantId, UserId};

use super::error::JobsError;
use super::model::{Job, JobId, JobKind, JobStatus};
use super::registry::{JobKindSpec, Registry};
use super::schedule::Schedule;
use super::scheduler;
use super::store::{self, Canceller, NewJob};

/// The registered kind named `name` (or an older alias of it).
pub fn kind<'r>(registry: &'r Registry, name: &str) -> Result<&'r std::sync::Arc<JobKindSpec>, JobsError> {
    registry.resolve(name).ok_or_else(|| JobsError::unknown_kind(name, registry))
}

/// Queues a job of a registered kind; refused while the tenant has one of the kind
/// queued or running.
pub async fn enqueue(c: &mut Conn<'_>, registry: &Registry, tenant: TenantId, kind: &JobKind, params: Value, requested_by: Option<UserId>) -> Result<Job, JobsError> {
    if registry.get(kind).is_none() {
        return Err(JobsError::unknown_kind(kind.as_str(), registry));
    }
    let new = NewJob { kind: kind.clone(), params, requested_by, dedupe_key: None };
    match store::enqueue(c, tenant, &new).await? {
        Some(job) => Ok(job),
        None => Err(JobsError::AlreadyActive { kind: kind.clone(), id: store::active(c, tenant, kind).await?.map(|j| j.id) }),
    }
}

/// What a cancel did.
#[derive(Debug)]
pub enum Cancelled {
    /// The job was queued (or its worker is gone): it is cancelled now.
    Now(Job),
    /// The job is running: it stops at its next save point.
    Requested(Job),
}

/// Cancels a job: a queued one at once, a running one at its next save point. Recorded
/// in the job (who, when) and in the audit log. The caller then tells this host's
/// workers (`Control::stop`), so a job running here stops without waiting for a poll.
pub async fn cancel(c: &mut Conn<'_>, tenant: TenantId, id: JobId, actor: &Actor) -> Result<Cancelled, JobsError> {
    let before = store::get(c, tenant, id).await?.ok_or(JobsError::NotFound)?;
    let user = if actor.kind == ActorKind::User { actor.id.map(UserId) } else { None };
    let by = Canceller { user, name: &actor.label };
    let note = format!("Cancelled by {} before it started.", actor.label);
    let done = if store::cancel_now(c, tenant, id, &by, &note).await? {
        true
    } else if store::request_cancel(c, tenant, id, &by).await? {
        false
    } else {
        let status = store::get(c, tenant, id).await?.map_or(before.status, |j| j.status);
        return Err(JobsError::Finished(status));
    };
    let after = store::get(c, tenant, id).await?.ok_or(JobsError::NotFound)?;
    if after.status == JobStatus::Cancelled || before.cancel_requested_at.is_none() {
        audit::record(c, tenant, actor, "job", id.0, AuditAction::Cancel, Some(&audit_view(&before)), &audit_view(&after)).await?;
    }
    Ok(if done { Cancelled::Now(after) } else { Cancelled::Requested(after) })
}

/// What the audit log keeps of a job.
fn audit_view(j: &Job) -> Value {
    serde_json::json!({
        "kind": j.kind, "status": j.status, "cancel_requested_at": j.cancel_requested_at,
        "cancelled_by": j.cancelled_by, "cancelled_by_name": j.cancelled_by_name,
    })
}

/// A kind's schedule for a tenant, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JobSchedule {
    /// The job kind (`receivables.sync`).
    #[schema(value_type = String)]
    pub kind: JobKind,
    /// What the kind does, for people.
    pub title: String,
    /// `false`: never queued by the schedule (on demand only).
    pub enabled: bool,
    /// Every day at this local time (`HH:MM`), or `null`.
    pub daily_at: Option<String>,
    /// A 5-field cron expression in local time, or `null`.
    pub cron: Option<String>,
    /// `true`: the tenant's own schedule; `false`: the kind's default.
    pub custom: bool,
    /// The tenant's time zone, in which the schedule is read.
    pub time_zone: String,
    /// When it is next queued (`null` when off).
    pub next_run_at: Option<DateTime<Utc>>,
    /// The last slot queued; a slot missed while no host ran is queued once, late.
    pub last_slot_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<UserId>,
}

/// A tenant's schedule of a kind, sent whole.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// `false`: on demand only.
    pub enabled: bool,
    /// Every day at this local time, `HH:MM`.
    #[schema(example = "06:30")]
    pub daily_at: Option<String>,
    /// Or a 5-field cron expression (minute hour day-of-month month day-of-week) in local time.
    #[schema(example = "0 7 * * 1-5")]
    pub cron: Option<String>,
}

fn view(spec: &JobKindSpec, row: Option<&store::ScheduleRow>, time_zone: &str, now: DateTime<Utc>) -> JobSchedule {
    let (enabled, daily_at, cron) = match row {
        Some(r) => (r.enabled, r.daily_at.as_deref(), r.cron.as_deref()),
        None => (spec.default_schedule.is_some(), None, None),
    };
    let custom = daily_at.is_some() || cron.is_some();
    let shown = if custom {
        daily_at.and_then(|t| Schedule::daily(t).ok()).or_else(|| cron.and_then(|e| Schedule::cron(e).ok()))
    } else {
        spec.default_schedule.clone()
    };
    let in_force = scheduler::effective(spec, Some(enabled), daily_at, cron);
    JobSchedule {
        kind: spec.kind.clone(),
        title: spec.title.to_string(),
        enabled: enabled && in_force.is_some(),
        daily_at: shown.as_ref().and_then(Schedule::daily_text),
        cron: shown.as_ref().and_then(|s| s.cron_text().map(str::to_string)),
        custom,
        time_zone: time_zone.to_string(),
        next_run_at: in_force.as_ref().and_then(|s| scheduler::next_run(s, time_zone, now)),
        last_slot_at: row.and_then(|r| r.last_slot_at),
        updated_at: row.map(|r| r.updated_at),
        updated_by: row.and_then(|r| r.updated_by),
    }
}

/// Every registered kind's schedule for the tenant.
pub async fn schedules(c: &mut Conn<'_>, registry: &Registry, tenant: TenantId, time_zone: &str) -> Result<Vec<JobSchedule>, JobsError> {
    let rows = store::schedules(c, tenant).await?;
    let now = Utc::now();
    Ok(registry.kinds().map(|spec| view(spec, rows.iter().find(|r| r.kind == spec.kind), time_zone, now)).collect())
}

/// One kind's schedule for the tenant.
pub async fn schedule(c: &mut Conn<'_>, spec: &JobKindSpec, tenant: TenantId, time_zone: &str) -> Result<JobSchedule, JobsError> {
    let row = store::schedule(c, tenant, &spec.kind).await?;
    Ok(view(spec, row.as_ref(), time_zone, Utc::now()))
}

/// Sets the tenant's schedule of a kind (neither `daily_at` nor `cron`: the kind's
/// default), audited. Slots already passed are not queued again.
pub async fn set_schedule(c: &mut Conn<'_>, spec: &JobKindSpec, tenant: TenantId, time_zone: &str, actor: &Actor, input: &ScheduleInput) -> Result<JobSchedule, JobsError> {
    let blank = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (daily_at, cron) = (blank(&input.daily_at), blank(&input.cron));
    let parsed = match (&daily_at, &cron) {
        (Some(_), Some(_)) => return Err(JobsError::TwoSchedules),
        (Some(t), None) => Some(Schedule::daily(t).map_err(|error| JobsError::Schedule { field: "daily_at", error })?),
        (None, Some(e)) => Some(Schedule::cron(e).map_err(|error| JobsError::Schedule { field: "cron", error })?),
        (None, None) if input.enabled && spec.default_schedule.is_none() => return Err(JobsError::NoDefaultSchedule(spec.kind.clone())),
        (None, None) => None,
    };
    // Stored as normalised (`6:30` → `06:30`, single spaces in a cron expression).
    let daily_at = parsed.as_ref().and_then(Schedule::daily_text);
    let cron = parsed.as_ref().and_then(|s| s.cron_text().map(str::to_string));
    let before = schedule(c, spec, tenant, time_zone).await?;
    let user = if actor.kind == ActorKind::User { actor.id.map(UserId) } else { None };
    store::put_schedule(c, tenant, &spec.kind, input.enabled, daily_at.as_deref(), cron.as_deref(), user).await?;
    let after = schedule(c, spec, tenant, time_zone).await?;
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("job-schedule:{}", spec.kind).as_bytes());
    let action = if before.updated_at.is_none() { AuditAction::Create } else { AuditAction::Update };
    audit::record(c, tenant, actor, "job_schedule", id, action, Some(&before), &after).await?;
    Ok(after)
}
