//! What a factoring deal carries besides its parameters: the reasons a deal may be put on
//! СТОП (a per-tenant list, shipped with Russian defaults), its suppliers and buyers
//! (debtors) as linked counterparties with their limits, and the checklist items marked
//! done (the items themselves are data on the pipeline's stage gates).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::Path;
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::id_type;
use crate::money::Money;
use crate::tenancy::model::str_enum;
use crate::tenancy::{Action, Caller, TenantId, UserId};
use crate::validation::Violations;

use super::DealId;

id_type!(
    /// A reason for putting a deal on СТОП.
    StopReasonId
);
id_type!(
    /// A supplier or buyer linked to a deal.
    DealPartyId
);

/// A reason for putting a deal on СТОП, as the tenant lists them.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StopReason {
    pub id: StopReasonId,
    #[schema(example = "Клиент отказался")]
    pub name: String,
    pub position: i32,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A stop reason as sent to create or change it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopReasonInput {
    #[schema(example = "Отказ службы безопасности")]
    pub name: String,
    /// An archived reason is no longer offered; moves that used it keep its name.
    #[serde(default)]
    pub archived: bool,
}

/// The Russian reasons every tenant starts with.
pub const DEFAULT_STOP_REASONS: &[&str] = &[
    "Клиент отказался",
    "Отказ службы безопасности",
    "Отрицательное заключение кредитного отдела",
    "Отказ коллегиального органа",
    "Неприемлемые риски по дебиторам",
    "Другое",
];

/// The role of a linked counterparty in a factoring deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    /// Поставщик (the client who assigns its receivables).
    Supplier,
    /// Покупатель, the debtor who pays.
    Buyer,
}
str_enum!(PartyRole { Supplier => "supplier", Buyer => "buyer" });

impl PartyRole {
    pub fn label(self) -> &'static str {
        match self {
            PartyRole::Supplier => "Поставщик",
            PartyRole::Buyer => "Покупатель (дебитор)",
        }
    }
}

/// A supplier or buyer of a deal with its limit.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct DealParty {
    pub id: DealPartyId,
    pub deal_id: DealId,
    pub counterparty_id: CounterpartyId,
    /// The counterparty's short name.
    pub counterparty_name: String,
    pub role: PartyRole,
    /// The limit on this party (a buyer's limit of financing), a decimal string.
    #[sqlx(rename = "limit_amount")]
    pub limit: Option<Money>,
    pub created_at: DateTime<Utc>,
}

/// A party as sent to link it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDealParty {
    pub counterparty_id: CounterpartyId,
    pub role: PartyRole,
    #[schema(value_type = Option<String>, example = "3000000.00")]
    pub limit: Option<Money>,
}

/// A checklist item of a deal and whether it is done.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChecklistEntry {
    pub key: String,
    pub label: String,
    pub done: bool,
    pub done_by: Option<UserId>,
    pub done_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
}

/// Marks a checklist item done or not.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistMark {
    pub done: bool,
    #[schema(example = "Проверено 12.03")]
    pub comment: Option<String>,
}

// ---------------------------------------------------------------- store

pub async fn list_stop_reasons(c: &mut Conn<'_>, tenant: TenantId, include_archived: bool) -> sqlx::Result<Vec<StopReason>> {
    let sql = "SELECT id, name, position, archived_at FROM stop_reasons WHERE tenant_id = $1 AND ($2 OR archived_at IS NULL) ORDER BY position, id";
    on_conn!(c, c => sqlx::query_as::<_, StopReason>(sql).bind(tenant).bind(include_archived).fetch_all(c).await)
}

pub async fn get_stop_reason(c: &mut Conn<'_>, tenant: TenantId, id: StopReasonId) -> sqlx::Result<Option<StopReason>> {
    let sql = "SELECT id, name, position, archived_at FROM stop_reasons WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query_as::<_, StopReason>(sql).bind(tenant).bind(id).fetch_optional(c).await)
}

async fn insert_stop_reason(c: &mut Conn<'_>, tenant: TenantId, name: &str, position: i32) -> sqlx::Result<StopReason> {
    let id = StopReasonId::new();
    let sql = "INSERT INTO stop_reasons (tenant_id, id, name, position, created_at) VALUES ($1, $2, $3, $4, $5)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(name).bind(position).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    get_stop_reason(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Seeds the default stop reasons of a new tenant.
pub async fn seed_stop_reasons(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<()> {
    for (i, name) in DEFAULT_STOP_REASONS.iter().enumerate() {
        insert_stop_reason(c, tenant, name, i as i32 + 1).await?;
    }
    Ok(())
}

const PARTY_COLS: &str = "p.id, p.deal_id, p.counterparty_id, COALESCE(cp.short_name, cp.full_name) AS counterparty_name, p.role, p.limit_amount, p.created_at";

pub async fn parties(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Vec<DealParty>> {
    let sql = format!(
        "SELECT {PARTY_COLS} FROM deal_parties p JOIN counterparties cp ON cp.tenant_id = p.tenant_id AND cp.id = p.counterparty_id \
         WHERE p.tenant_id = $1 AND p.deal_id = $2 ORDER BY p.role DESC, p.id"
    );
    on_conn!(c, c => sqlx::query_as::<_, DealParty>(&sql).bind(tenant).bind(deal).fetch_all(c).await)
}

/// The keys of the deal's checklist items marked done.
pub async fn done_items(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Vec<String>> {
    let sql = "SELECT item FROM deal_checklist WHERE tenant_id = $1 AND deal_id = $2";
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(deal).fetch_all(c).await)
}

/// The deal's checklist: every item any stage of its pipeline asks for, in stage order.
pub async fn checklist(c: &mut Conn<'_>, tenant: TenantId, deal: &super::Deal) -> sqlx::Result<Vec<ChecklistEntry>> {
    let pipeline = super::pipelines::get(c, tenant, deal.pipeline_id).await?.ok_or(sqlx::Error::RowNotFound)?;
    let sql = "SELECT item, done_by, done_at, comment FROM deal_checklist WHERE tenant_id = $1 AND deal_id = $2";
    let marks: Vec<(String, UserId, DateTime<Utc>, Option<String>)> =
        on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(deal.id).fetch_all(c).await)?;
    let mut out: Vec<ChecklistEntry> = Vec::new();
    for item in pipeline.stages.iter().flat_map(|s| s.gate.0.checklist.iter()) {
        if out.iter().any(|e| e.key == item.key) {
            continue;
        }
        let mark = marks.iter().find(|m| m.0 == item.key);
        out.push(ChecklistEntry {
            key: item.key.clone(),
            label: item.label.clone(),
            done: mark.is_some(),
            done_by: mark.map(|m| m.1),
            done_at: mark.map(|m| m.2),
            comment: mark.and_then(|m| m.3.clone()),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- routes

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reasons, create_reason))
        .routes(routes!(update_reason))
        .routes(routes!(list_parties, add_party))
        .routes(routes!(update_party, remove_party))
        .routes(routes!(get_checklist))
        .routes(routes!(mark_checklist))
}

/// The reasons a deal may be put on СТОП (the tenant's list, in order).
#[utoipa::path(get, path = "/stop-reasons", tag = "deals", responses((status = 200, body = Vec<StopReason>)))]
pub(crate) async fn list_reasons(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<StopReason>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(list_stop_reasons(&mut c.conn(), caller.tenant_id, false).await?))
}

fn check_reason(input: &StopReasonInput) -> ApiResult<()> {
    let mut v = Violations::new();
    v.check(!input.name.trim().is_empty(), "name", "must not be empty");
    v.finish()?;
    Ok(())
}

/// Add a stop reason at the end of the list (admins).
#[utoipa::path(post, path = "/stop-reasons", tag = "deals", request_body = StopReasonInput,
    responses((status = 201, body = StopReason), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_reason(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<StopReasonInput>) -> ApiResult<(StatusCode, ApiJson<StopReason>)> {
    caller.ensure(Action::Configure)?;
    check_reason(&input)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let n = list_stop_reasons(&mut c, caller.tenant_id, true).await?.len() as i32;
    let r = insert_stop_reason(&mut c, caller.tenant_id, input.name.trim(), n + 1).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "stop_reason", r.id.0, AuditAction::Create, None, &r).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(r)))
}

/// Rename a stop reason or archive it (admins).
#[utoipa::path(put, path = "/stop-reasons/{id}", tag = "deals", params(("id" = StopReasonId, Path)), request_body = StopReasonInput,
    responses((status = 200, body = StopReason), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_reason(State(state): State<AppState>, caller: Caller, Path(id): Path<StopReasonId>, ApiJson(input): ApiJson<StopReasonInput>) -> ApiResult<ApiJson<StopReason>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = get_stop_reason(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("stop reason"))?;
    check_reason(&input)?;
    let archived = if input.archived { Some(before.archived_at.unwrap_or_else(Utc::now)) } else { None };
    let sql = "UPDATE stop_reasons SET name = $3, archived_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(id).bind(input.name.trim()).bind(archived).execute(c).await.map(|_| ()))?;
    let after = get_stop_reason(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("stop reason"))?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "stop_reason", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// The deal's suppliers and buyers (debtors) with their limits.
#[utoipa::path(get, path = "/deals/{id}/parties", tag = "deals", params(("id" = DealId, Path)),
    responses((status = 200, body = Vec<DealParty>), (status = 404, body = Problem)))]
pub(crate) async fn list_parties(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Vec<DealParty>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    Ok(ApiJson(parties(&mut c, caller.tenant_id, id).await?))
}

/// Link a supplier or a buyer (debtor) to the deal, with its limit.
#[utoipa::path(post, path = "/deals/{id}/parties", tag = "deals", params(("id" = DealId, Path)), request_body = NewDealParty,
    responses((status = 201, body = DealParty), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn add_party(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>, ApiJson(input): ApiJson<NewDealParty>) -> ApiResult<(StatusCode, ApiJson<DealParty>)> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let deal = super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    caller.ensure_owns(&[Some(deal.responsible_id)], "deal")?;
    if !crate::counterparties::store::exists(&mut c, caller.tenant_id, input.counterparty_id).await? {
        return Err(ApiError::field("counterparty_id", "no counterparty with this id in your tenant"));
    }
    if input.limit.is_some_and(|l| l.is_negative()) {
        return Err(ApiError::field("limit", "must not be negative"));
    }
    if parties(&mut c, caller.tenant_id, id).await?.iter().any(|p| p.counterparty_id == input.counterparty_id && p.role == input.role) {
        return Err(ApiError::Conflict { detail: format!("This counterparty is already linked to the deal as {}.", input.role), field: Some("counterparty_id".into()) });
    }
    let party = DealPartyId::new();
    let sql = "INSERT INTO deal_parties (tenant_id, id, deal_id, counterparty_id, role, limit_amount, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(party).bind(id).bind(input.counterparty_id).bind(input.role).bind(input.limit).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    let after = parties(&mut c, caller.tenant_id, id).await?;
    let row = after.iter().find(|p| p.id == party).cloned().ok_or(ApiError::NotFound("party"))?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "deal_party", party.0, AuditAction::Create, None, &row).await?;
    let before: Vec<DealParty> = after.iter().filter(|p| p.id != party).cloned().collect();
    super::terms::record_parties_change(&mut c, &caller, id, &before, &after).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(row)))
}

/// A party's terms as sent to change them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyUpdate {
    /// The new limit (null: no limit).
    #[schema(value_type = Option<String>, example = "4000000.00")]
    pub limit: Option<Money>,
}

/// Change a linked supplier's or buyer's limit.
#[utoipa::path(put, path = "/deals/{id}/parties/{party_id}", tag = "deals", params(("id" = DealId, Path), ("party_id" = DealPartyId, Path)), request_body = PartyUpdate,
    responses((status = 200, body = DealParty), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn update_party(State(state): State<AppState>, caller: Caller, Path((id, party)): Path<(DealId, DealPartyId)>, ApiJson(input): ApiJson<PartyUpdate>) -> ApiResult<ApiJson<DealParty>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let deal = super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    let before = parties(&mut c, caller.tenant_id, id).await?;
    let old = before.iter().find(|p| p.id == party).cloned().ok_or(ApiError::NotFound("party"))?;
    caller.ensure_owns(&[Some(deal.responsible_id)], "deal")?;
    if input.limit.is_some_and(|l| l.is_negative()) {
        return Err(ApiError::field("limit", "must not be negative"));
    }
    let sql = "UPDATE deal_parties SET limit_amount = $3 WHERE tenant_id = $1 AND id = $2";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(party).bind(input.limit).execute(c).await.map(|_| ()))?;
    let after = parties(&mut c, caller.tenant_id, id).await?;
    let row = after.iter().find(|p| p.id == party).cloned().ok_or(ApiError::NotFound("party"))?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "deal_party", party.0, AuditAction::Update, Some(&old), &row).await?;
    super::terms::record_parties_change(&mut c, &caller, id, &before, &after).await?;
    tx.commit().await?;
    Ok(ApiJson(row))
}

/// Unlink a supplier or buyer from the deal.
#[utoipa::path(delete, path = "/deals/{id}/parties/{party_id}", tag = "deals", params(("id" = DealId, Path), ("party_id" = DealPartyId, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(crate) async fn remove_party(State(state): State<AppState>, caller: Caller, Path((id, party)): Path<(DealId, DealPartyId)>) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let deal = super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    let before = parties(&mut c, caller.tenant_id, id).await?;
    let row = before.iter().find(|p| p.id == party).cloned().ok_or(ApiError::NotFound("party"))?;
    caller.ensure_owns(&[Some(deal.responsible_id)], "deal")?;
    let sql = "DELETE FROM deal_parties WHERE tenant_id = $1 AND id = $2";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(party).execute(c).await.map(|_| ()))?;
    audit::record_delete(&mut c, caller.tenant_id, &Actor::from(&caller), "deal_party", party.0, &row).await?;
    let after: Vec<DealParty> = before.iter().filter(|p| p.id != party).cloned().collect();
    super::terms::record_parties_change(&mut c, &caller, id, &before, &after).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The deal's checklist: every item its pipeline's gates ask for, done or not.
#[utoipa::path(get, path = "/deals/{id}/checklist", tag = "deals", params(("id" = DealId, Path)),
    responses((status = 200, body = Vec<ChecklistEntry>), (status = 404, body = Problem)))]
pub(crate) async fn get_checklist(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Vec<ChecklistEntry>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let deal = super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    Ok(ApiJson(checklist(&mut c, caller.tenant_id, &deal).await?))
}

/// Mark a checklist item of the deal done (or not done again).
#[utoipa::path(put, path = "/deals/{id}/checklist/{key}", tag = "deals", params(("id" = DealId, Path), ("key" = String, Path, description = "The item's key, e.g. dossier")),
    request_body = ChecklistMark,
    responses((status = 200, body = Vec<ChecklistEntry>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn mark_checklist(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(DealId, String)>,
    ApiJson(input): ApiJson<ChecklistMark>,
) -> ApiResult<ApiJson<Vec<ChecklistEntry>>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let deal = super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    caller.ensure_owns(&[Some(deal.responsible_id)], "deal")?;
    let before = checklist(&mut c, caller.tenant_id, &deal).await?;
    let item = before.iter().find(|e| e.key == key).ok_or_else(|| {
        let known: Vec<&str> = before.iter().map(|e| e.key.as_str()).collect();
        ApiError::field("key", format!("is not a checklist item of this deal's pipeline; its items are: {}", known.join(", ")))
    })?;
    if input.done != item.done {
        if input.done {
            let sql = "INSERT INTO deal_checklist (tenant_id, deal_id, item, done_by, done_at, comment) VALUES ($1, $2, $3, $4, $5, $6)";
            on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(id).bind(&key).bind(caller.user_id).bind(Utc::now()).bind(input.comment.as_deref()).execute(c).await.map(|_| ()))?;
        } else {
            let sql = "DELETE FROM deal_checklist WHERE tenant_id = $1 AND deal_id = $2 AND item = $3";
            on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(id).bind(&key).execute(c).await.map(|_| ()))?;
        }
        let after = checklist(&mut c, caller.tenant_id, &deal).await?;
        audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "deal", id.0, AuditAction::Update, Some(&before), &after).await?;
        tx.commit().await?;
        return Ok(ApiJson(after));
    }
    Ok(ApiJson(before))
}
