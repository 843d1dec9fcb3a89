//! Job queries. Everything a user reaches is scoped by tenant; claiming and scheduling
//! look across tenants, as the one worker pool serves them all.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Conn, Engine, on_conn};
use crate::tenancy::{TenantId, UserId};

use super::model::{Job, JobId, JobKind, JobStatus};

const COLS: &str = "id, kind, status, params, progress, error, attempts, requested_by, dedupe_key, run_after, created_at, started_at, finished_at, updated_at";

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
        .bind(tenant).bind(JobId::new()).bind(j.kind).bind(params).bind(j.dedupe_key).bind(j.requested_by).bind(now)
        .fetch_optional(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: JobId) -> sqlx::Result<Option<Job>> {
    let sql = format!("SELECT {COLS} FROM jobs WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Job>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// The tenant's queued or running job of a kind.
pub async fn active(c: &mut Conn<'_>, tenant: TenantId, kind: JobKind) -> sqlx::Result<Option<Job>> {
    let sql = format!("SELECT {COLS} FROM jobs WHERE tenant_id = $1 AND kind = $2 AND status IN ('queued', 'running')");
    on_conn!(c, c => sqlx::query_as::<_, Job>(&sql).bind(tenant).bind(kind).fetch_optional(c).await)
}

/// When the tenant's last successful job of a kind first started.
pub async fn last_success_started(c: &mut Conn<'_>, tenant: TenantId, kind: JobKind) -> sqlx::Result<Option<DateTime<Utc>>> {
    let sql = "SELECT MAX(started_at) FROM jobs WHERE tenant_id = $1 AND kind = $2 AND status = 'succeeded'";
    on_conn!(c, c => sqlx::query_scalar::<_, Option<DateTime<Utc>>>(sql).bind(tenant).bind(kind).fetch_one(c).await)
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, kind: Option<JobKind>, status: Option<JobStatus>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Job>> {
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

/// Claims the next job that is due, or whose worker's lease ran out, for `owner`
/// until `lease_until`.
pub async fn claim(c: &mut Conn<'_>, owner: &str, lease_until: DateTime<Utc>) -> sqlx::Result<Option<Claimed>> {
    // PostgreSQL: several instances claim concurrently, each skipping rows another holds.
    // SQLite: one writer at a time makes the claim atomic by itself.
    let lock = if c.engine() == Engine::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
         started_at = COALESCE(started_at, $3), updated_at = $3 \
         WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM jobs \
             WHERE (status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_until < $3) \
             ORDER BY run_after, id LIMIT 1 {lock}) \
         RETURNING tenant_id, {COLS}, state"
    );
    on_conn!(c, c => sqlx::query_as::<_, Claimed>(&sql).bind(owner).bind(lease_until).bind(Utc::now()).fetch_optional(c).await)
}

/// Saves a running job's resume point and progress, renewing its lease. `false` when
/// the worker no longer holds the lease: the caller must roll back and stop.
pub async fn save(c: &mut Conn<'_>, tenant: TenantId, id: JobId, owner: &str, state: &Value, progress: &Value, lease_until: DateTime<Utc>) -> sqlx::Result<bool> {
    let sql = "UPDATE jobs SET state = $4, progress = $5, lease_until = $6, updated_at = $7 \
               WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'running'";
    let (state, progress) = (Json(state), Json(progress));
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(owner).bind(state).bind(progress).bind(lease_until).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Ends a job the worker holds: succeeded or failed, with its final progress.
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

/// A tenant whose accounting sync is due for its daily run.
#[derive(Debug, sqlx::FromRow)]
pub struct DailySync {
    pub tenant_id: TenantId,
    pub time_zone: String,
    pub daily_at: String,
}

/// Tenants with an enabled accounting-sync module and a daily sync time (06:00 unless
/// their receivables settings say otherwise; `null` there means on demand only).
pub async fn daily_syncs(c: &mut Conn<'_>) -> sqlx::Result<Vec<DailySync>> {
    let sql = "SELECT t.id AS tenant_id, t.time_zone, CASE WHEN s.tenant_id IS NULL THEN '06:00' ELSE s.sync_daily_at END AS daily_at \
               FROM tenants t LEFT JOIN receivables_settings s ON s.tenant_id = t.id \
               WHERE t.archived_at IS NULL AND (s.tenant_id IS NULL OR s.sync_daily_at IS NOT NULL) \
               AND EXISTS (SELECT 1 FROM modules m JOIN plugin_versions v ON v.tenant_id = m.tenant_id AND v.plugin_id = m.plugin_id AND v.version = m.version \
                           WHERE m.tenant_id = t.id AND m.enabled AND v.world = 'accounting-sync')";
    on_conn!(c, c => sqlx::query_as::<_, DailySync>(sql).fetch_all(c).await)
}
