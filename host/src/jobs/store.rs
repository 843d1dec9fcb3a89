//! Job and schedule queries. Everything a user reaches is scoped by tenant; claiming,
//! the cancel watch and scheduling look across tenants, as one worker pool serves them all.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Conn, Engine, on_conn};
use crate::tenancy::{TenantId, UserId};

use super::model::{Job, JobId, JobKind, JobStatus};

const COLS: &str = "id, kind, status, params, progress, error, attempts, requested_by, dedupe_key, run_after, worker, \
                    cancel_requested_at, cancelled_by, cancelled_by_name, created_at, started_at, finished_at, updated_at";

/// A job to add to the queue.
pub struct NewJob<'a> {
    pub kind: JobKind,
    pub params: Value,
    pub requested_by: Option<UserId>,
    pub dedupe_key: Option<&'a str>,
}

/// Queues a job; `None` when the tenant already has a queued or running job of the
/// kind, or one with the same dedupe key.
pub async fn enqueue(c: &mut Conn<'_>, tenant: TenantId, j: &NewJob<'_>) -> sqlx::Result<Option<Job>> {
    let sql = format!(
        "INSERT INTO jobs (tenant_id, id, kind, status, params, state, progress, attempts, dedupe_key, requested_by, run_after, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', $4, '{{}}', '{{}}', 0, $5, $6, $7, $7, $7) ON CONFLICT DO NOTHING RETURNING {COLS}"
    );
    let now = Utc::now();
    let params = Json(&j.params);
    on_conn!(c, c => sqlx::query_as::<_, Job>(&sql)
        .bind(tenant).bind(JobId::new()).bind(&j.kind).bind(params).bind(j.dedupe_key).bind(j.requested_by).bind(now)
        .fetch_optional(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: JobId) -> sqlx::Result<Option<Job>> {
    let sql = format!("SELECT {COLS} FROM jobs WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Job>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// The tenant's queued or running job of a kind.
pub async fn active(c: &mut Conn<'_>, tenant: TenantId, kind: &JobKind) -> sqlx::Result<Option<Job>> {
    let sql = format!("SELECT {COLS} FROM jobs WHERE tenant_id = $1 AND kind = $2 AND status IN ('queued', 'running')");
    on_conn!(c, c => sqlx::query_as::<_, Job>(&sql).bind(tenant).bind(kind).fetch_optional(c).await)
}

/// Whether the tenant has a job of the kind with this dedupe key (a scheduled slot).
pub async fn dedupe_taken(c: &mut Conn<'_>, tenant: TenantId, kind: &JobKind, key: &str) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND kind = $2 AND dedupe_key = $3";
    let n = on_conn!(c, c => sqlx::query_scalar::<_, i64>(sql).bind(tenant).bind(kind).bind(key).fetch_one(c).await)?;
    Ok(n > 0)
}

/// When the tenant's last successful job of a kind first started.
pub async fn last_success_started(c: &mut Conn<'_>, tenant: TenantId, kind: &JobKind) -> sqlx::Result<Option<DateTime<Utc>>> {
    let sql = "SELECT MAX(started_at) FROM jobs WHERE tenant_id = $1 AND kind = $2 AND status = 'succeeded'";
    on_conn!(c, c => sqlx::query_scalar::<_, Option<DateTime<Utc>>>(sql).bind(tenant).bind(kind).fetch_one(c).await)
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, kind: Option<&JobKind>, status: Option<JobStatus>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Job>> {
    let sql = format!(
        "SELECT {COLS} FROM jobs WHERE tenant_id = $1 AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR status = $3) AND id < $4 \
         ORDER BY id DESC LIMIT $5"
    );
    on_conn!(c, c => sqlx::query_as::<_, Job>(&sql).bind(tenant).bind(kind).bind(status).bind(after).bind(i64::from(limit) + 1).fetch_all(c).await)
}

/// A job claimed by a worker, with where it left off.
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    pub tenant_id: TenantId,
    #[sqlx(flatten)]
    pub job: Job,
    pub state: Json<Value>,
}

/// Claims the next job of one of `kinds` that is due, or whose worker's lease ran out,
/// for `owner` until `lease_until`. Only kinds this process has registered are claimed,
/// so hosts of different versions can share one queue; a job `owner` itself still runs
/// (its lease ran out between two saves) is never claimed twice by the same process.
pub async fn claim(c: &mut Conn<'_>, owner: &str, lease_until: DateTime<Utc>, kinds: &[&str]) -> sqlx::Result<Option<Claimed>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    // PostgreSQL: several instances claim concurrently, each skipping rows another holds.
    // SQLite: one writer at a time makes the claim atomic by itself.
    let lock = if c.engine() == Engine::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let list = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, worker = $1, attempts = attempts + 1, \
         started_at = COALESCE(started_at, $3), updated_at = $3 \
         WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM jobs \
             WHERE ((status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_until < $3 AND lease_owner <> $1)) \
             AND kind IN ({list}) \
             ORDER BY run_after, id LIMIT 1 {lock}) \
         RETURNING tenant_id, {COLS}, state"
    );
    on_conn!(c, c => {
        let mut q = sqlx::query_as::<_, Claimed>(&sql).bind(owner).bind(lease_until).bind(Utc::now());
        for k in kinds {
            q = q.bind(*k);
        }
        q.fetch_optional(c).await
    })
}

/// Why a save did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveRefused {
    /// An admin asked the job to stop.
    CancelRequested,
    /// Another worker holds the job now (or it has ended).
    LeaseLost,
}

/// Saves a running job's resume point and progress, renewing its lease. Refused when
/// the worker no longer holds the lease or the job was asked to stop: the caller must
/// roll back and stop.
#[allow(clippy::too_many_arguments)] // one job's key, its owner and what it saves
pub async fn save(
    c: &mut Conn<'_>,
    tenant: TenantId,
    id: JobId,
    owner: &str,
    state: &Value,
    progress: &Value,
    lease_until: DateTime<Utc>,
) -> sqlx::Result<Result<(), SaveRefused>> {
    let sql = "UPDATE jobs SET state = $4, progress = $5, lease_until = $6, updated_at = $7 \
               WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'running' AND cancel_requested_at IS NULL";
    let (state, progress) = (Json(state), Json(progress));
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(owner).bind(state).bind(progress).bind(lease_until).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    if n == 1 {
        return Ok(Ok(()));
    }
    let job = get(c, tenant, id).await?;
    Ok(Err(match job {
        Some(j) if j.status == JobStatus::Running && j.cancel_requested_at.is_some() => SaveRefused::CancelRequested,
        _ => SaveRefused::LeaseLost,
    }))
}

/// Ends a job the worker holds: succeeded, failed or cancelled, with its final progress.
pub async fn finish(c: &mut Conn<'_>, tenant: TenantId, id: JobId, owner: &str, status: JobStatus, progress: &Value, error: Option<&str>) -> sqlx::Result<bool> {
    let sql = "UPDATE jobs SET status = $4, progress = $5, error = $6, finished_at = $7, updated_at = $7, lease_owner = NULL, lease_until = NULL \
               WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3";
    let progress = Json(progress);
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(owner).bind(status).bind(progress).bind(error).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Puts a job the worker holds back in the queue to be retried at `run_after`, keeping
/// its resume point.
pub async fn retry_later(c: &mut Conn<'_>, tenant: TenantId, id: JobId, owner: &str, run_after: DateTime<Utc>, error: &str) -> sqlx::Result<bool> {
    let sql = "UPDATE jobs SET status = 'queued', run_after = $4, error = $5, updated_at = $6, lease_owner = NULL, lease_until = NULL \
               WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(owner).bind(run_after).bind(error).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Hands a job back to the queue at once because this host is shutting down: another
/// worker (or this one, restarted) resumes it from its last save without waiting for
/// the lease to run out. The interrupted run does not count as an attempt.
pub async fn release(c: &mut Conn<'_>, tenant: TenantId, id: JobId, owner: &str) -> sqlx::Result<bool> {
    let sql = "UPDATE jobs SET status = 'queued', run_after = $4, updated_at = $4, lease_owner = NULL, lease_until = NULL, \
               attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
               WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'running'";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(owner).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Who cancels.
pub struct Canceller<'a> {
    pub user: Option<UserId>,
    pub name: &'a str,
}

/// Cancels a queued job, or a running one whose worker is gone (its lease ran out), at
/// once. `false` when the job is not in either state.
pub async fn cancel_now(c: &mut Conn<'_>, tenant: TenantId, id: JobId, by: &Canceller<'_>, error: &str) -> sqlx::Result<bool> {
    let sql = "UPDATE jobs SET status = 'cancelled', error = $5, cancel_requested_at = COALESCE(cancel_requested_at, $6), \
               cancelled_by = COALESCE(cancelled_by, $3), cancelled_by_name = COALESCE(cancelled_by_name, $4), \
               finished_at = $6, updated_at = $6, lease_owner = NULL, lease_until = NULL \
               WHERE tenant_id = $1 AND id = $2 AND (status = 'queued' OR (status = 'running' AND lease_until < $6))";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(by.user).bind(by.name).bind(error).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Asks a running job to stop at its next save point (the first request counts).
/// `false` when the job is not running.
pub async fn request_cancel(c: &mut Conn<'_>, tenant: TenantId, id: JobId, by: &Canceller<'_>) -> sqlx::Result<bool> {
    let sql = "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, $5), cancelled_by = COALESCE(cancelled_by, $3), \
               cancelled_by_name = COALESCE(cancelled_by_name, $4), updated_at = $5 \
               WHERE tenant_id = $1 AND id = $2 AND status = 'running'";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(by.user).bind(by.name).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// This worker's running jobs that an admin asked to stop (through any host instance).
pub async fn cancel_requested(c: &mut Conn<'_>, owner: &str) -> sqlx::Result<Vec<(TenantId, JobId)>> {
    let sql = "SELECT tenant_id, id FROM jobs WHERE lease_owner = $1 AND status = 'running' AND cancel_requested_at IS NOT NULL";
    on_conn!(c, c => sqlx::query_as::<_, (TenantId, JobId)>(sql).bind(owner).fetch_all(c).await)
}

// ---------------------------------------------------------------------------------
// Schedules

/// A tenant's stored schedule of a kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub kind: JobKind,
    pub enabled: bool,
    pub daily_at: Option<String>,
    pub cron: Option<String>,
    pub last_slot_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
}

const SCHEDULE_COLS: &str = "kind, enabled, daily_at, cron, last_slot_at, updated_at, updated_by";

pub async fn schedule(c: &mut Conn<'_>, tenant: TenantId, kind: &JobKind) -> sqlx::Result<Option<ScheduleRow>> {
    let sql = format!("SELECT {SCHEDULE_COLS} FROM job_schedules WHERE tenant_id = $1 AND kind = $2");
    on_conn!(c, c => sqlx::query_as::<_, ScheduleRow>(&sql).bind(tenant).bind(kind).fetch_optional(c).await)
}

pub async fn schedules(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<ScheduleRow>> {
    let sql = format!("SELECT {SCHEDULE_COLS} FROM job_schedules WHERE tenant_id = $1 ORDER BY kind");
    on_conn!(c, c => sqlx::query_as::<_, ScheduleRow>(&sql).bind(tenant).fetch_all(c).await)
}

/// Sets a tenant's schedule of a kind (both texts `None`: the kind's default), keeping
/// the last slot queued.
pub async fn put_schedule(
    c: &mut Conn<'_>,
    tenant: TenantId,
    kind: &JobKind,
    enabled: bool,
    daily_at: Option<&str>,
    cron: Option<&str>,
    by: Option<UserId>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO job_schedules (tenant_id, kind, enabled, daily_at, cron, last_slot_at, updated_at, updated_by) \
               VALUES ($1, $2, $3, $4, $5, NULL, $6, $7) ON CONFLICT (tenant_id, kind) DO UPDATE SET enabled = EXCLUDED.enabled, \
               daily_at = EXCLUDED.daily_at, cron = EXCLUDED.cron, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(kind).bind(enabled).bind(daily_at).bind(cron).bind(Utc::now()).bind(by)
        .execute(c).await.map(|_| ()))
}

/// Remembers the latest slot queued for a tenant and kind (creating the row of a
/// tenant on the kind's default schedule).
pub async fn record_slot(c: &mut Conn<'_>, tenant: TenantId, kind: &JobKind, slot: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "INSERT INTO job_schedules (tenant_id, kind, enabled, daily_at, cron, last_slot_at, updated_at, updated_by) \
               VALUES ($1, $2, $3, NULL, NULL, $4, $5, NULL) ON CONFLICT (tenant_id, kind) DO UPDATE SET last_slot_at = EXCLUDED.last_slot_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(kind).bind(true).bind(slot).bind(Utc::now())
        .execute(c).await.map(|_| ()))
}

/// A tenant the scheduler looks at for one kind: its zone and its stored schedule (all
/// `None`: no row, the kind's default applies).
#[derive(Debug, sqlx::FromRow)]
pub struct Candidate {
    pub tenant_id: TenantId,
    pub time_zone: String,
    pub enabled: Option<bool>,
    pub daily_at: Option<String>,
    pub cron: Option<String>,
    pub last_slot_at: Option<DateTime<Utc>>,
}

/// Every active tenant with a schedule row for `kind` or, when the kind has a default
/// schedule, every active tenant.
pub async fn schedule_candidates(c: &mut Conn<'_>, kind: &JobKind, has_default: bool) -> sqlx::Result<Vec<Candidate>> {
    let join = if has_default { "LEFT JOIN" } else { "JOIN" };
    let sql = format!(
        "SELECT t.id AS tenant_id, t.time_zone, s.enabled, s.daily_at, s.cron, s.last_slot_at FROM tenants t \
         {join} job_schedules s ON s.tenant_id = t.id AND s.kind = $1 WHERE t.archived_at IS NULL ORDER BY t.id"
    );
    on_conn!(c, c => sqlx::query_as::<_, Candidate>(&sql).bind(kind).fetch_all(c).await)
}
