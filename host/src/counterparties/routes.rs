use axum::extract::State;
use crate::api::extract::{Path, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::json::{ApiJson, apply_patch};
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::db::Conn;
use crate::tenancy::service::ensure_user;
use crate::tenancy::{Action, Caller, UserId};

use super::model::{Counterparty, CounterpartyCard, CounterpartyId, CounterpartyInput, CounterpartyKind};
use super::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_counterparties, create_counterparty))
        .routes(routes!(get_counterparty, update_counterparty))
        .routes(routes!(archive_counterparty))
        .routes(routes!(restore_counterparty))
        .routes(routes!(assign_responsible))
        .merge(super::enrichment::router())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CounterpartyFilter {
    /// Search in full and short name and ИНН (case-insensitive, any part).
    pub q: Option<String>,
    /// Exact ИНН.
    pub inn: Option<String>,
    pub kind: Option<CounterpartyKind>,
    pub segment: Option<String>,
    pub responsible_id: Option<UserId>,
    /// Has this tag.
    pub tag: Option<String>,
    /// Include archived counterparties.
    #[serde(default)]
    pub include_archived: bool,
    /// Only clients that owe with an overdue part (`overdue`), owe anything (`owing`) or
    /// owe nothing (`clear`), as of today.
    pub debt: Option<store::DebtState>,
}

/// List counterparties, newest first, with filters and search.
#[utoipa::path(get, path = "/counterparties", tag = "counterparties", params(CounterpartyFilter, PageParams),
    responses((status = 200, body = Page<Counterparty>), (status = 422, body = Problem)))]
pub(crate) async fn list_counterparties(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<CounterpartyFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<Counterparty>>> {
    let limit = page.limit()?;
    let filter = store::Filter {
        q: f.q.as_deref().filter(|q| !q.trim().is_empty()),
        inn: f.inn.as_deref(),
        kind: f.kind,
        segment: f.segment.as_deref(),
        responsible_id: f.responsible_id,
        tag: f.tag.as_deref(),
        include_archived: f.include_archived,
        debt: f.debt.map(|d| (d, caller.today())),
    };
    let mut c = state.db.read().await?;
    let rows = store::list(&mut c.conn(), caller.tenant_id, &filter, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id.0)))
}

pub(super) async fn check_refs(c: &mut Conn<'_>, caller: &Caller, input: &CounterpartyInput, except: Option<CounterpartyId>) -> ApiResult<()> {
    if let Some(u) = input.responsible_id {
        ensure_user(c, caller.tenant_id, "responsible_id", u).await?;
    }
    check_unique_inn(c, caller, input, except).await
}

/// One live card per ИНН+КПП: a duplicate is a 409 that points at the existing card.
async fn check_unique_inn(c: &mut Conn<'_>, caller: &Caller, input: &CounterpartyInput, except: Option<CounterpartyId>) -> ApiResult<()> {
    if let Some(inn) = &input.inn
        && let Some(other) = store::find_by_inn(c, caller.tenant_id, inn, input.kpp.as_deref(), except).await? {
            return Err(ApiError::Conflict {
                detail: format!("Counterparty {other} already has this ИНН and КПП; open it instead of creating a duplicate."),
                field: Some("inn".into()),
            });
        }
    Ok(())
}

/// Create a counterparty. ИНН, ОГРН/ОГРНИП, КПП and bank accounts are checked.
#[utoipa::path(post, path = "/counterparties", tag = "counterparties", request_body = CounterpartyInput,
    responses((status = 201, body = Counterparty), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_counterparty(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut input): ApiJson<CounterpartyInput>,
) -> ApiResult<(StatusCode, ApiJson<Counterparty>)> {
    caller.ensure(Action::WriteCrm)?;
    input.normalize_and_validate()?;
    let mut tx = state.db.begin().await?;
    check_refs(&mut tx.conn(), &caller, &input, None).await?;
    let mut cp = store::insert(&mut tx.conn(), caller.tenant_id, CounterpartyId::new(), &input).await?;
    let manual = super::enrichment::manual_fields(None, &input, &[]);
    if !manual.is_empty() {
        store::set_manual_fields(&mut tx.conn(), caller.tenant_id, cp.id, &manual).await?;
        cp.manual_fields = sqlx::types::Json(manual);
    }
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "counterparty", cp.id.0, AuditAction::Create, None, &cp).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(cp)))
}

/// The client card: requisites, contacts, the number of open deals, what the client
/// owes (the overdue part flagged for red) and its payer rating.
#[utoipa::path(get, path = "/counterparties/{id}", tag = "counterparties", params(("id" = CounterpartyId, Path)),
    responses((status = 200, body = CounterpartyCard), (status = 404, body = Problem)))]
pub(crate) async fn get_counterparty(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CounterpartyId>,
) -> ApiResult<ApiJson<CounterpartyCard>> {
    let mut conn = state.db.read().await?;
    Ok(ApiJson(card(&mut conn.conn(), &caller, id).await?))
}

/// The card of counterparty `id` as the caller sees it, read on connection `c` (the card
/// page reads it beside the card's lists on one connection).
pub(crate) async fn card(c: &mut Conn<'_>, caller: &Caller, id: CounterpartyId) -> ApiResult<CounterpartyCard> {
    let today = caller.today();
    let row = store::get_card(c, caller.tenant_id, id, today).await?.ok_or(ApiError::NotFound("counterparty"))?;
    let contacts = crate::contacts::store::list_for_counterparty(c, caller.tenant_id, id).await?;
    let registry_warning = super::model::registry_warning(&row.counterparty);
    let debt = crate::receivables::model::DebtSummary::from_sums(&row.debt, today);
    let payer_rating = match (row.rating_delay, row.rating_on_time, row.rating_as_of) {
        (Some(weighted_delay_days), Some(on_time_share), Some(as_of)) => {
            Some(crate::receivables::model::RatingBrief { stars: row.rating_stars, weighted_delay_days, on_time_share, as_of })
        }
        _ => None,
    };
    Ok(CounterpartyCard { counterparty: row.counterparty, contacts, open_deals_count: row.open_deals_count, registry_warning, debt, payer_rating })
}

/// Change a counterparty: a JSON merge patch (send the fields to change; `null` clears).
#[utoipa::path(patch, path = "/counterparties/{id}", tag = "counterparties", params(("id" = CounterpartyId, Path)),
    request_body(content = CounterpartyInput, content_type = "application/merge-patch+json", description = "Fields to change"),
    responses((status = 200, body = Counterparty), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_counterparty(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CounterpartyId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<Counterparty>> {
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    caller.ensure_owns(&[before.responsible_id], "counterparty")?;
    let mut input: CounterpartyInput = apply_patch(&CounterpartyInput::from(&before), &patch)?;
    input.normalize_and_validate()?;
    match input.responsible_id {
        Some(u) if input.responsible_id != before.responsible_id => ensure_user(&mut tx.conn(), caller.tenant_id, "responsible_id", u).await?,
        _ => {}
    }
    check_unique_inn(&mut tx.conn(), &caller, &input, Some(id)).await?;
    let mut after = store::update(&mut tx.conn(), caller.tenant_id, id, &input).await?;
    let manual = super::enrichment::manual_fields(Some(&CounterpartyInput::from(&before)), &input, &before.manual_fields);
    if manual != before.manual_fields.0 {
        store::set_manual_fields(&mut tx.conn(), caller.tenant_id, id, &manual).await?;
        after.manual_fields = sqlx::types::Json(manual);
    }
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "counterparty", id.0, AuditAction::Update, Some(&before), &after).await?;
    if after.payment_deferral_days != before.payment_deferral_days {
        // Documents without a contract deferral fall due by the client's own: their due
        // dates, balances and the rating follow the edit at once.
        let window = crate::receivables::store::settings(&mut tx.conn(), caller.tenant_id).await?.rating_window_days;
        crate::receivables::settle::settle(&mut tx.conn(), caller.tenant_id, &[id], caller.today(), u32::try_from(window).unwrap_or(365)).await?;
    }
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Archive a counterparty (undo with `restore`).
#[utoipa::path(post, path = "/counterparties/{id}/archive", tag = "counterparties", params(("id" = CounterpartyId, Path)),
    responses((status = 200, body = Counterparty), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_counterparty(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>) -> ApiResult<ApiJson<Counterparty>> {
    set_archived(state, caller, id, true).await
}

/// Restore an archived counterparty.
#[utoipa::path(post, path = "/counterparties/{id}/restore", tag = "counterparties", params(("id" = CounterpartyId, Path)),
    responses((status = 200, body = Counterparty), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn restore_counterparty(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>) -> ApiResult<ApiJson<Counterparty>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: CounterpartyId, archive: bool) -> ApiResult<ApiJson<Counterparty>> {
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    caller.ensure_owns(&[before.responsible_id], "counterparty")?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    if !archive {
        check_unique_inn(&mut tx.conn(), &caller, &CounterpartyInput::from(&before), Some(id)).await?;
    }
    let at = archive.then(chrono::Utc::now);
    let after = store::set_archived(&mut tx.conn(), caller.tenant_id, id, at).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "counterparty", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Which cards a bulk assignment takes: every criterion given must match (at least one,
/// or `all: true`). Archived cards are never taken.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignFilter {
    /// These cards.
    pub ids: Option<Vec<CounterpartyId>>,
    /// Search in names and ИНН, as in `GET /counterparties?q=`.
    pub q: Option<String>,
    pub inn: Option<String>,
    pub kind: Option<CounterpartyKind>,
    pub segment: Option<String>,
    /// Cards of this responsible now.
    pub responsible_id: Option<UserId>,
    /// Cards with no responsible.
    #[serde(default)]
    pub unassigned: bool,
    pub tag: Option<String>,
    /// Every card (when nothing narrower is meant).
    #[serde(default)]
    pub all: bool,
}

/// A bulk assignment of the responsible manager.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignResponsible {
    /// The user to make responsible; `null` leaves the cards without one.
    pub responsible_id: Option<UserId>,
    pub filter: AssignFilter,
}

/// What a bulk assignment did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assigned {
    /// Cards the filter took.
    pub matched: usize,
    /// Cards whose responsible changed (the others had it already).
    pub updated: usize,
}

/// Make a user responsible for every card a filter takes (heads and admins): e.g. the
/// cards of a segment with no manager yet. Each changed card is audited.
#[utoipa::path(post, path = "/counterparties/assign-responsible", tag = "counterparties", request_body = AssignResponsible,
    responses((status = 200, body = Assigned), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn assign_responsible(State(state): State<AppState>, caller: Caller, ApiJson(req): ApiJson<AssignResponsible>) -> ApiResult<ApiJson<Assigned>> {
    if !caller.is_lead() {
        return Err(ApiError::Forbidden("Only admins and heads assign managers in bulk; a manager changes the responsible of a card of their own.".into()));
    }
    let f = &req.filter;
    let text = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (q, inn, segment, tag) = (text(&f.q), text(&f.inn), text(&f.segment), text(&f.tag));
    let narrowed = f.ids.is_some() || q.is_some() || inn.is_some() || f.kind.is_some() || segment.is_some() || f.responsible_id.is_some() || f.unassigned || tag.is_some();
    if !narrowed && !f.all {
        return Err(ApiError::field("filter", "say which cards: ids, q, inn, kind, segment, responsible_id, unassigned or tag (or all: true for every card)"));
    }
    if f.ids.as_ref().is_some_and(|ids| ids.len() > 10_000) {
        return Err(ApiError::field("filter.ids", "at most 10000 ids at a time; use a filter for more"));
    }
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    if let Some(u) = req.responsible_id {
        ensure_user(&mut c, caller.tenant_id, "responsible_id", u).await?;
    }
    let filter = store::Filter {
        q: q.as_deref(),
        inn: inn.as_deref(),
        kind: f.kind,
        segment: segment.as_deref(),
        responsible_id: f.responsible_id,
        tag: tag.as_deref(),
        include_archived: false,
        // The debt-state filter is the list's; bulk assignment narrows by the card's own fields.
        debt: None,
    };
    let matched = store::matching(&mut c, caller.tenant_id, &filter, f.unassigned, f.ids.as_deref()).await?;
    let changing: Vec<(CounterpartyId, Option<UserId>)> = matched.iter().copied().filter(|(_, r)| *r != req.responsible_id).collect();
    let ids: Vec<CounterpartyId> = changing.iter().map(|(id, _)| *id).collect();
    store::set_responsible(&mut c, caller.tenant_id, &ids, req.responsible_id).await?;
    let audits: Vec<(uuid::Uuid, Option<serde_json::Value>, serde_json::Value)> = changing
        .iter()
        .map(|(id, before)| (id.0, Some(serde_json::json!({"responsible_id": before})), serde_json::json!({"responsible_id": req.responsible_id})))
        .collect();
    audit::record_many(&mut c, caller.tenant_id, &Actor::from(&caller), "counterparty", AuditAction::Update, &audits).await?;
    tx.commit().await?;
    Ok(ApiJson(Assigned { matched: matched.len(), updated: changing.len() }))
}
