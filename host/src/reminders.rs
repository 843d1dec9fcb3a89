//! Reminders that collect by themselves: dunning rules as data, the daily plan, the law.
//!
//! * [`model`] — rules (scope: our legal entity, segments, tags, client kinds, minimum debt,
//!   minimum days overdue; ordered steps: offset from the due date by the production
//!   calendar, channel, template, recipients by contact role; a maximum of attempts), the
//!   tenant's settings (ФЗ-230 figures, the companies' send window, contact roles), client
//!   flags, disputes, promises to pay, and the planner's messages;
//! * [`planner`] — the daily plan (idempotent, catching up a missed day once) and the
//!   dispatch of e-mails to the mail outbox; [`law`] — windows and caps;
//! * [`templates`] — the template kinds of the messages, with Russian defaults;
//! * [`store`] — the queries; [`routes`] — the API;
//! * [`control`] — the debt-control assistant (control tasks for large or long debts,
//!   escalated to the head when not done by the control date), run inside the daily plan;
//! * [`digest`] — the morning digest to heads (and managers who opt in) ([`DIGEST_JOB`],
//!   daily at 08:00 in the tenant's zone unless the tenant sets another schedule);
//! * jobs — the daily plan ([`PLAN_JOB`], on the schedule a tenant turns on) and the
//!   dispatch of e-mails whose window opened ([`DISPATCH_JOB`], every 15 minutes).

pub mod channels;
pub mod control;
pub mod digest;
pub mod law;
pub mod model;
pub mod planner;
pub mod routes;
pub mod store;
pub mod templates;

use chrono::{DateTime, NaiveDate, Utc};

use crate::AppState;
use crate::db::Conn;
use crate::jobs::runner::{JobError, JobRun};
use crate::jobs::{JobKind, JobKindSpec, RetryPolicy, Schedule};
use crate::tenancy::TenantId;

use model::{Channel, Offset, OffsetKind, RuleInput, Scope, Step};

/// The daily plan of reminders.
pub const PLAN_JOB: JobKind = JobKind::from_static("reminders.plan");
/// Hands planned e-mails whose window has opened to the mail outbox.
pub const DISPATCH_JOB: JobKind = JobKind::from_static("reminders.dispatch");
/// The morning digest to heads (and managers who opted in).
pub const DIGEST_JOB: JobKind = JobKind::from_static("reminders.digest");

/// The job kinds of this domain.
pub fn jobs() -> Vec<JobKindSpec> {
    let plan = JobKindSpec::new(PLAN_JOB, "План напоминаний должникам на день", |state: AppState, run| async move { plan_job(&state, &run).await }).retry(RetryPolicy::default());
    let dispatch = JobKindSpec::new(DISPATCH_JOB, "Отправка запланированных напоминаний", |state: AppState, run| async move { dispatch_job(&state, &run).await })
        .retry(RetryPolicy::default())
        .applies_when(|state: AppState, tenant: TenantId| async move { has_due_emails(&state, tenant).await });
    let digest = JobKindSpec::new(DIGEST_JOB, "Утренняя сводка по задолженности руководителям", |state: AppState, run| async move { digest_job(&state, &run).await })
        .retry(RetryPolicy::default())
        .applies_when(|state: AppState, tenant: TenantId| async move { has_digest_recipients(&state, tenant).await })
        .default_schedule(Schedule::daily_at(chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default()));
    vec![
        plan,
        match Schedule::cron("*/15 * * * *").ok() {
            Some(s) => dispatch.default_schedule(s),
            None => dispatch,
        },
        digest,
    ]
}

/// The day of a run: as asked (`date`), else the scheduled slot's day, else today — in the
/// tenant's zone.
async fn job_day(state: &AppState, run: &JobRun, now: DateTime<Utc>) -> Result<NaiveDate, JobError> {
    let zone = {
        let mut c = state.db.read().await.map_err(anyhow::Error::from)?;
        store::tenant(&mut c.conn(), run.tenant).await.map_err(anyhow::Error::from)?.1
    };
    let tz = law::zone(None, &zone);
    let slot: Option<DateTime<Utc>> = run.job.params.0.get("slot").and_then(|v| v.as_str()).and_then(|s| s.parse().ok());
    match run.job.params.0.get("date").and_then(|v| v.as_str()) {
        Some(s) => crate::dates::parse(s).map_err(|e| JobError::Failed(crate::dates::message(s, e))),
        None => Ok(slot.unwrap_or(now).with_timezone(&tz).date_naive()),
    }
}

async fn digest_job(state: &AppState, run: &JobRun) -> Result<serde_json::Value, JobError> {
    let now = run.now();
    let day = job_day(state, run, now).await?;
    let report = digest::send_all(state, run.tenant, day).await?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}

async fn plan_job(state: &AppState, run: &JobRun) -> Result<serde_json::Value, JobError> {
    let now = run.now();
    let zone = {
        let mut c = state.db.read().await.map_err(anyhow::Error::from)?;
        store::tenant(&mut c.conn(), run.tenant).await.map_err(anyhow::Error::from)?.1
    };
    // The day: as asked, else the scheduled slot's day, else today — in the tenant's zone.
    let tz = law::zone(None, &zone);
    let slot: Option<DateTime<Utc>> = run.job.params.0.get("slot").and_then(|v| v.as_str()).and_then(|s| s.parse().ok());
    let day: NaiveDate = match run.job.params.0.get("date").and_then(|v| v.as_str()) {
        Some(s) => crate::dates::parse(s).map_err(|e| JobError::Failed(crate::dates::message(s, e)))?,
        None => slot.unwrap_or(now).with_timezone(&tz).date_naive(),
    };
    let report = run_day(state, run.tenant, day, now).await?;
    Ok(serde_json::to_value(report).unwrap_or_default())
}

async fn dispatch_job(state: &AppState, run: &JobRun) -> Result<serde_json::Value, JobError> {
    let now = run.now();
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    let queued = planner::dispatch(&mut tx.conn(), run.tenant, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    let sent = channels::send(state, run.tenant, now).await?;
    let delivery = channels::refresh_delivery(state, run.tenant, now).await?;
    Ok(serde_json::json!({ "queued": queued, "sent_by_providers": sent, "delivery_updates": delivery }))
}

/// Plans a day and dispatches what may go now, in one transaction; then SMS and voice
/// through their providers.
pub async fn run_day(state: &AppState, tenant: TenantId, day: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<model::PlanReport> {
    let mut tx = state.db.begin().await?;
    let mut report = planner::plan(&mut tx.conn(), tenant, day, now, None, None).await?;
    report.control = control::run(&mut tx.conn(), tenant, day, now).await?;
    report.queued = planner::dispatch(&mut tx.conn(), tenant, now).await?;
    tx.commit().await?;
    // SMS and voice through their providers, outside the plan's transaction.
    report.sent_by_providers = channels::send(state, tenant, now).await?;
    Ok(report)
}

/// Whether anyone gets the digest by e-mail (a head, or a manager who opted in).
async fn has_digest_recipients(state: &AppState, tenant: TenantId) -> anyhow::Result<bool> {
    let mut conn = state.db.read().await?;
    Ok(!digest::recipients(&mut conn.conn(), tenant).await?.is_empty())
}

async fn has_due_emails(state: &AppState, tenant: TenantId) -> anyhow::Result<bool> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let now = Utc::now();
    if store::any_due(&mut c, tenant, now).await? {
        return Ok(true);
    }
    let since = now - chrono::Duration::days(7);
    Ok(!store::awaiting_delivery(&mut c, tenant, model::Channel::Sms, since).await?.is_empty()
        || !store::awaiting_delivery(&mut c, tenant, model::Channel::Voice, since).await?.is_empty())
}

/// The rule a new tenant starts with: notices to the accountant 3 working days before the
/// due date and on it, then e-mail, SMS and a voice call after it, and a task for the
/// manager on the 15th day.
pub fn default_rule() -> RuleInput {
    let step = |kind: OffsetKind, days: u32, channel: Channel, template: &str, recipients: &[&str]| Step {
        id: String::new(),
        offset: Offset { kind, days },
        channel,
        template: template.into(),
        recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
    };
    RuleInput {
        name: "Стандартные напоминания о долгах".into(),
        position: 0,
        active: true,
        max_attempts: None,
        scope: Scope { client_kinds: vec![crate::counterparties::model::CounterpartyKind::LegalEntity, crate::counterparties::model::CounterpartyKind::SoleProprietor], ..Scope::default() },
        steps: vec![
            step(OffsetKind::WorkingDaysBefore, 3, Channel::Email, "reminder_before", &["accountant"]),
            step(OffsetKind::DueDay, 0, Channel::Email, "reminder_before", &["accountant"]),
            step(OffsetKind::CalendarDaysAfter, 1, Channel::Email, "reminder_overdue", &["accountant"]),
            step(OffsetKind::CalendarDaysAfter, 3, Channel::Sms, "reminder_short", &["accountant", "director"]),
            step(OffsetKind::CalendarDaysAfter, 10, Channel::Voice, "reminder_short", &["director"]),
            step(OffsetKind::CalendarDaysAfter, 15, Channel::Task, "reminder_task", &[]),
        ],
    }
}

/// Seeds a new tenant's default rule.
pub async fn seed_defaults(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<()> {
    store::insert_rule(c, tenant, model::RuleId::new(), &default_rule()).await?;
    control::seed_defaults(c, tenant).await
}
