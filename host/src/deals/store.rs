//! Deal queries, every one scoped by tenant.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use crate::api::pagination::{like_pattern, search_key};
use crate::counterparties::CounterpartyId;
use crate::db::{Arg, Conn, Where, bind_args, on_conn};
use crate::money::Money;
use crate::tenancy::{TenantId, UserId};

use super::model::{Deal, DealId, StageChange};
use super::pipelines::{PipelineId, StageId, StageKind};

const COLS: &str = "d.id, d.title, d.pipeline_id, d.stage_id, s.name AS stage_name, s.kind AS stage_kind, d.counterparty_id, \
    d.responsible_id, d.amount, d.currency, d.expected_close_date, d.params, d.stage_changed_at, d.created_at, d.updated_at, d.archived_at";
const FROM: &str = "deals d JOIN stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id";

/// The stored fields of a deal.
pub struct DealRow<'a> {
    pub title: &'a str,
    pub pipeline_id: PipelineId,
    pub stage_id: StageId,
    pub counterparty_id: CounterpartyId,
    pub responsible_id: UserId,
    pub amount: Option<Money>,
    pub currency: &'a str,
    pub expected_close_date: Option<NaiveDate>,
    pub params: &'a Map<String, Value>,
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: DealId) -> sqlx::Result<Option<Deal>> {
    let sql = format!("SELECT {COLS} FROM {FROM} WHERE d.tenant_id = $1 AND d.id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Deal>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn exists(c: &mut Conn<'_>, tenant: TenantId, id: DealId) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM deals WHERE tenant_id = $1 AND id = $2 AND archived_at IS NULL";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_one(c).await)?;
    Ok(n > 0)
}

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, id: DealId, d: &DealRow<'_>) -> sqlx::Result<Deal> {
    let sql = "INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id, counterparty_id, responsible_id, amount, currency, \
               expected_close_date, params, search_key, stage_changed_at, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13)";
    let params = Json(d.params.clone());
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(d.title).bind(d.pipeline_id).bind(d.stage_id).bind(d.counterparty_id).bind(d.responsible_id)
        .bind(d.amount).bind(d.currency).bind(d.expected_close_date).bind(&params).bind(search_key(&[Some(d.title)])).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    get(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: DealId, d: &DealRow<'_>) -> sqlx::Result<Deal> {
    let sql = "UPDATE deals SET title = $3, counterparty_id = $4, responsible_id = $5, amount = $6, currency = $7, \
               expected_close_date = $8, params = $9, search_key = $10, updated_at = $11 WHERE tenant_id = $1 AND id = $2";
    let params = Json(d.params.clone());
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(d.title).bind(d.counterparty_id).bind(d.responsible_id).bind(d.amount).bind(d.currency)
        .bind(d.expected_close_date).bind(&params).bind(search_key(&[Some(d.title)])).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    get(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn set_stage(c: &mut Conn<'_>, tenant: TenantId, id: DealId, stage: StageId, at: DateTime<Utc>) -> sqlx::Result<Deal> {
    let sql = "UPDATE deals SET stage_id = $3, stage_changed_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(stage).bind(at).execute(c).await.map(|_| ()))?;
    get(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: DealId, at: Option<DateTime<Utc>>) -> sqlx::Result<Deal> {
    let sql = "UPDATE deals SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    get(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Why a deal moved: a stop reason (as named then) and the mover's words.
#[derive(Debug, Default, Clone, Copy)]
pub struct MoveNote<'a> {
    pub reason: Option<&'a str>,
    pub comment: Option<&'a str>,
}

#[allow(clippy::too_many_arguments)]
pub async fn record_stage_change(
    c: &mut Conn<'_>,
    tenant: TenantId,
    deal: DealId,
    from: Option<StageId>,
    to: StageId,
    by: UserId,
    at: DateTime<Utc>,
    note: MoveNote<'_>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO deal_stage_history (tenant_id, id, deal_id, from_stage_id, to_stage_id, changed_by, changed_at, reason, comment) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(Uuid::now_v7()).bind(deal).bind(from).bind(to).bind(by).bind(at).bind(note.reason).bind(note.comment)
        .execute(c).await.map(|_| ()))
}

pub async fn stage_history(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Vec<StageChange>> {
    let sql = "SELECT id, from_stage_id, to_stage_id, changed_by, changed_at, reason, comment FROM deal_stage_history \
               WHERE tenant_id = $1 AND deal_id = $2 ORDER BY id";
    on_conn!(c, c => sqlx::query_as::<_, StageChange>(sql).bind(tenant).bind(deal).fetch_all(c).await)
}

/// Filters of the deal list.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub q: Option<&'a str>,
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    pub stage_kind: Option<StageKind>,
    pub counterparty_id: Option<CounterpartyId>,
    pub responsible_id: Option<UserId>,
    pub include_archived: bool,
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, f: &Filter<'_>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Deal>> {
    let mut w = Where::new("d.tenant_id = $?", Arg::Uuid(tenant.0));
    w.and("d.id < $?", Arg::Uuid(after))
        .and_opt("d.search_key LIKE $? ESCAPE '\\'", f.q.map(like_pattern), Arg::Text)
        .and_opt("d.pipeline_id = $?", f.pipeline_id, |v| Arg::Uuid(v.0))
        .and_opt("d.stage_id = $?", f.stage_id, |v| Arg::Uuid(v.0))
        .and_opt("s.kind = $?", f.stage_kind, |v| Arg::Text(v.as_str().into()))
        .and_opt("d.counterparty_id = $?", f.counterparty_id, |v| Arg::Uuid(v.0))
        .and_opt("d.responsible_id = $?", f.responsible_id, |v| Arg::Uuid(v.0));
    if !f.include_archived {
        w.and_sql("d.archived_at IS NULL");
    }
    let sql = format!("SELECT {COLS} FROM {FROM} WHERE {} ORDER BY d.id DESC LIMIT ${}", w.sql, w.next());
    on_conn!(c, c => bind_args!(sqlx::query_as::<_, Deal>(&sql), &w.args).bind(i64::from(limit) + 1).fetch_all(c).await)
}

/// Per stage of a pipeline: how many live deals stand there and the sum of their amounts
/// in rubles (kopecks), over all of them (the kanban's column heads).
pub async fn stage_totals(c: &mut Conn<'_>, tenant: TenantId, pipeline: PipelineId) -> sqlx::Result<Vec<(StageId, i64, i64)>> {
    let sql = "SELECT stage_id, COUNT(*), CAST(COALESCE(SUM(CASE WHEN currency = 'RUB' THEN amount ELSE 0 END), 0) AS BIGINT) \
               FROM deals WHERE tenant_id = $1 AND pipeline_id = $2 AND archived_at IS NULL GROUP BY stage_id";
    on_conn!(c, c => sqlx::query_as::<_, (StageId, i64, i64)>(sql).bind(tenant).bind(pipeline).fetch_all(c).await)
}
