//! Sales-analytics queries, every one scoped by tenant: aggregates come from the
//! database (the forecast groups there), the funnel walks the stage history.

use chrono::{DateTime, Utc};

use crate::db::{Conn, on_conn};
use crate::deals::{DealId, PipelineId, StageId};
use crate::tenancy::{TenantId, UserId};

/// Open deals of a pipeline grouped by (month of the expected close date, responsible,
/// stage): `(month, responsible, stage, deals, Σ amount in kopecks)`.
pub async fn open_groups(c: &mut Conn<'_>, tenant: TenantId, pipeline: PipelineId) -> sqlx::Result<Vec<(Option<String>, UserId, StageId, i64, i64)>> {
    let sql = "SELECT substr(CAST(d.expected_close_date AS TEXT), 1, 7), d.responsible_id, d.stage_id, COUNT(*), CAST(COALESCE(SUM(d.amount), 0) AS BIGINT) \
               FROM deals d JOIN stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id \
               WHERE d.tenant_id = $1 AND d.pipeline_id = $2 AND d.archived_at IS NULL AND s.kind = 'open' \
               GROUP BY substr(CAST(d.expected_close_date AS TEXT), 1, 7), d.responsible_id, d.stage_id";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(pipeline).fetch_all(c).await)
}

/// Every stage change of the pipeline's live deals, per deal in order: `(deal, to stage, at)`.
pub async fn history(c: &mut Conn<'_>, tenant: TenantId, pipeline: PipelineId) -> sqlx::Result<Vec<(DealId, StageId, DateTime<Utc>)>> {
    let sql = "SELECT h.deal_id, h.to_stage_id, h.changed_at FROM deal_stage_history h \
               JOIN deals d ON d.tenant_id = h.tenant_id AND d.id = h.deal_id \
               WHERE h.tenant_id = $1 AND d.pipeline_id = $2 AND d.archived_at IS NULL ORDER BY h.deal_id, h.changed_at, h.id";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(pipeline).fetch_all(c).await)
}

/// The pipeline's live deals where they are now: `(deal, title, stage, responsible, since)`.
pub async fn current(c: &mut Conn<'_>, tenant: TenantId, pipeline: PipelineId) -> sqlx::Result<Vec<(DealId, String, StageId, UserId, DateTime<Utc>)>> {
    let sql = "SELECT id, title, stage_id, responsible_id, stage_changed_at FROM deals WHERE tenant_id = $1 AND pipeline_id = $2 AND archived_at IS NULL";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(pipeline).fetch_all(c).await)
}

pub async fn norms(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(StageId, i32)>> {
    on_conn!(c, c => sqlx::query_as("SELECT stage_id, norm_days FROM stage_norms WHERE tenant_id = $1").bind(tenant).fetch_all(c).await)
}

pub async fn set_norm(c: &mut Conn<'_>, tenant: TenantId, stage: StageId, days: Option<i32>) -> sqlx::Result<()> {
    match days {
        Some(d) => {
            let sql = "INSERT INTO stage_norms (tenant_id, stage_id, norm_days, updated_at) VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (tenant_id, stage_id) DO UPDATE SET norm_days = excluded.norm_days, updated_at = excluded.updated_at";
            on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(stage).bind(d).bind(Utc::now()).execute(c).await.map(|_| ()))
        }
        None => on_conn!(c, c => sqlx::query("DELETE FROM stage_norms WHERE tenant_id = $1 AND stage_id = $2").bind(tenant).bind(stage).execute(c).await.map(|_| ())),
    }
}

pub async fn plans(c: &mut Conn<'_>, tenant: TenantId, month: &str) -> sqlx::Result<Vec<(UserId, i64)>> {
    on_conn!(c, c => sqlx::query_as("SELECT user_id, amount FROM sales_plans WHERE tenant_id = $1 AND month = $2").bind(tenant).bind(month).fetch_all(c).await)
}

pub async fn set_plan(c: &mut Conn<'_>, tenant: TenantId, user: UserId, month: &str, amount: i64, by: UserId) -> sqlx::Result<()> {
    let sql = "INSERT INTO sales_plans (tenant_id, user_id, month, amount, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (tenant_id, user_id, month) DO UPDATE SET amount = excluded.amount, updated_by = excluded.updated_by, updated_at = excluded.updated_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(user).bind(month).bind(amount).bind(by).bind(Utc::now()).execute(c).await.map(|_| ()))
}

/// Deals won (moved to a won stage) in `[from, to)`, per responsible: `(user, deals, Σ amount)`.
pub async fn won(c: &mut Conn<'_>, tenant: TenantId, from: DateTime<Utc>, to: DateTime<Utc>) -> sqlx::Result<Vec<(UserId, i64, i64)>> {
    let sql = "SELECT d.responsible_id, COUNT(*), CAST(COALESCE(SUM(d.amount), 0) AS BIGINT) FROM deals d \
               JOIN stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id \
               WHERE d.tenant_id = $1 AND d.archived_at IS NULL AND s.kind = 'won' AND d.stage_changed_at >= $2 AND d.stage_changed_at < $3 \
               GROUP BY d.responsible_id";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(from).bind(to).fetch_all(c).await)
}
