//! The approvals API: routes as data, runs on deals, decisions, the inbox, delegations.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::Path;
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, AuditAction};
use crate::deals::DealId;
use crate::tenancy::{Action, Caller, Role};

use super::model::{ApproverScope, Delegation, DelegationId, DelegationInput, DecisionInput, InboxItem, Route, RouteId, RouteInput, Run, RunId, StartRun, StepId};
use super::{service, store};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_routes, create_route))
        .routes(routes!(replace_route))
        .routes(routes!(deal_runs, start_run))
        .routes(routes!(get_run))
        .routes(routes!(resubmit_run))
        .routes(routes!(decide_step))
        .routes(routes!(inbox))
        .routes(routes!(list_delegations, create_delegation))
        .routes(routes!(delete_delegation))
        .routes(routes!(list_scopes))
        .routes(routes!(set_scope))
        .routes(routes!(super::application::credit_application))
        .merge(super::committee::router())
}

/// The approval routes: ordered groups of steps (steps of one group in parallel).
#[utoipa::path(get, path = "/approval-routes", tag = "approvals", responses((status = 200, body = Vec<Route>)))]
pub(crate) async fn list_routes(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<Route>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::routes(&mut c.conn(), caller.tenant_id).await?))
}

/// Create a route for a subject (admins); one route per subject.
#[utoipa::path(post, path = "/approval-routes", tag = "approvals", request_body = RouteInput,
    responses((status = 201, body = Route), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_route(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<RouteInput>) -> ApiResult<(StatusCode, ApiJson<Route>)> {
    caller.ensure(Action::Configure)?;
    input.validate()?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    if store::route_by_subject(&mut c, caller.tenant_id, &input.subject).await?.is_some() {
        return Err(ApiError::Conflict { detail: format!("A route for `{}` exists; replace it with PUT.", input.subject), field: Some("subject".into()) });
    }
    let r = store::insert_route(&mut c, caller.tenant_id, &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "approval_route", r.id.0, AuditAction::Create, None, &r).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(r)))
}

/// Replace a route (admins). Runs already started keep the steps they started with.
#[utoipa::path(put, path = "/approval-routes/{id}", tag = "approvals", params(("id" = RouteId, Path)), request_body = RouteInput,
    responses((status = 200, body = Route), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_route(State(state): State<AppState>, caller: Caller, Path(id): Path<RouteId>, ApiJson(input): ApiJson<RouteInput>) -> ApiResult<ApiJson<Route>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::route(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("approval route"))?;
    input.validate()?;
    if store::route_by_subject(&mut c, caller.tenant_id, &input.subject).await?.is_some_and(|r| r.id != id) {
        return Err(ApiError::Conflict { detail: format!("Another route has the subject `{}`.", input.subject), field: Some("subject".into()) });
    }
    let after = store::update_route(&mut c, caller.tenant_id, id, &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "approval_route", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// The deal's approval runs, newest first, each with its steps and history.
#[utoipa::path(get, path = "/deals/{id}/approvals", tag = "approvals", params(("id" = DealId, Path)),
    responses((status = 200, body = Vec<Run>), (status = 404, body = Problem)))]
pub(crate) async fn deal_runs(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Vec<Run>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    crate::deals::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    let mut out = Vec::new();
    for r in store::runs_of_deal(&mut c, caller.tenant_id, id).await? {
        out.push(service::view(&mut c, caller.tenant_id, r).await?);
    }
    Ok(ApiJson(out))
}

/// Send a deal's document (`application`, then `draft_decision`) through its route.
#[utoipa::path(post, path = "/deals/{id}/approvals", tag = "approvals", params(("id" = DealId, Path)), request_body = StartRun,
    responses((status = 201, body = Run), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn start_run(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>, ApiJson(input): ApiJson<StartRun>) -> ApiResult<(StatusCode, ApiJson<Run>)> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let deal = crate::deals::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    caller.ensure_owns(&[Some(deal.responsible_id)], "deal")?;
    let run = service::start(&mut c, &caller, &deal, &input.subject, input.legal_entity_id, Utc::now()).await?;
    let row = store::run(&mut c, caller.tenant_id, run).await?.ok_or(ApiError::NotFound("approval"))?;
    let view = service::view(&mut c, caller.tenant_id, row).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// A run with its steps and its whole history (who, when, decision, remark, document).
#[utoipa::path(get, path = "/approvals/{id}", tag = "approvals", params(("id" = RunId, Path)),
    responses((status = 200, body = Run), (status = 404, body = Problem)))]
pub(crate) async fn get_run(State(state): State<AppState>, caller: Caller, Path(id): Path<RunId>) -> ApiResult<ApiJson<Run>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let row = store::run(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("approval"))?;
    Ok(ApiJson(service::view(&mut c, caller.tenant_id, row).await?))
}

/// What the manager says when resubmitting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resubmission {
    #[serde(default)]
    pub remark: Option<String>,
}

/// Resubmit a run sent back for rework: it restarts from the step that returned it, and
/// every later step follows in turn.
#[utoipa::path(post, path = "/approvals/{id}/resubmit", tag = "approvals", params(("id" = RunId, Path)), request_body = Resubmission,
    responses((status = 200, body = Run), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn resubmit_run(State(state): State<AppState>, caller: Caller, Path(id): Path<RunId>, ApiJson(input): ApiJson<Resubmission>) -> ApiResult<ApiJson<Run>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let run = store::run(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("approval"))?;
    let deal = crate::deals::store::get(&mut c, caller.tenant_id, run.deal_id).await?.ok_or(ApiError::NotFound("approval"))?;
    caller.ensure_owns(&[Some(deal.responsible_id)], "deal")?;
    let remark = input.remark.as_deref().map(str::trim).filter(|s| !s.is_empty());
    service::resubmit(&mut c, &caller, &run, remark, Utc::now()).await?;
    let row = store::run(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("approval"))?;
    let view = service::view(&mut c, caller.tenant_id, row).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Decide on a step: approve (with the step's document attached to the deal), reject (the
/// route ends at once; the manager gets «Поставить сделку на СТОП») or send back (the
/// manager gets «Доработать с учетом замечания службы»).
#[utoipa::path(post, path = "/approval-steps/{id}/decision", tag = "approvals", params(("id" = StepId, Path)), request_body = DecisionInput,
    responses((status = 200, body = Run), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn decide_step(State(state): State<AppState>, caller: Caller, Path(id): Path<StepId>, ApiJson(input): ApiJson<DecisionInput>) -> ApiResult<ApiJson<Run>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let run = service::decide(&mut c, &caller, id, &input, Utc::now()).await?;
    let row = store::run(&mut c, caller.tenant_id, run).await?.ok_or(ApiError::NotFound("approval"))?;
    let view = service::view(&mut c, caller.tenant_id, row).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// What waits for the caller's decision: steps of their department, and of approvers they
/// stand in for today.
#[utoipa::path(get, path = "/approval-inbox", tag = "approvals", responses((status = 200, body = Vec<InboxItem>)))]
pub(crate) async fn inbox(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<InboxItem>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(service::inbox(&mut c.conn(), &caller).await?))
}

/// Delegations of approvers away.
#[utoipa::path(get, path = "/approval-delegations", tag = "approvals", responses((status = 200, body = Vec<Delegation>)))]
pub(crate) async fn list_delegations(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<Delegation>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::delegations(&mut c.conn(), caller.tenant_id).await?))
}

/// Let another user decide for an approver from `starts_on` to `ends_on` (the approver
/// themself, or a head or admin).
#[utoipa::path(post, path = "/approval-delegations", tag = "approvals", request_body = DelegationInput,
    responses((status = 201, body = Delegation), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn create_delegation(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<DelegationInput>) -> ApiResult<(StatusCode, ApiJson<Delegation>)> {
    let from = input.from_user_id.unwrap_or(caller.user_id);
    if from != caller.user_id && caller.role == Role::Manager {
        return Err(ApiError::Forbidden("Only the approver themself, a head or an admin may delegate an approver's decisions.".into()));
    }
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    crate::tenancy::service::ensure_user(&mut c, caller.tenant_id, "from_user_id", from).await?;
    crate::tenancy::service::ensure_user(&mut c, caller.tenant_id, "to_user_id", input.to_user_id).await?;
    let mut v = crate::validation::Violations::new();
    v.check(input.to_user_id != from, "to_user_id", "must be another user");
    v.check(input.ends_on >= input.starts_on, "ends_on", "must not be before starts_on");
    v.finish()?;
    let d = store::insert_delegation(&mut c, caller.tenant_id, from, input.to_user_id, input.starts_on, input.ends_on).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "approval_delegation", d.id.0, AuditAction::Create, None, &d).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(d)))
}

/// End a delegation.
#[utoipa::path(delete, path = "/approval-delegations/{id}", tag = "approvals", params(("id" = DelegationId, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(crate) async fn delete_delegation(State(state): State<AppState>, caller: Caller, Path(id): Path<DelegationId>) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let d = store::delegation(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("delegation"))?;
    if d.from_user_id != caller.user_id && caller.role == Role::Manager {
        return Err(ApiError::Forbidden("Only the approver, a head or an admin may end this delegation.".into()));
    }
    store::delete_delegation(&mut c, caller.tenant_id, id).await?;
    audit::record_delete(&mut c, caller.tenant_id, &Actor::from(&caller), "approval_delegation", id.0, &d).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An approver's legal entities, as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApproverScopeView {
    pub user_id: crate::tenancy::UserId,
    pub legal_entity_ids: Vec<crate::legal_entities::LegalEntityId>,
}

/// Which of our legal entities each approver serves (approvers not listed serve every one).
#[utoipa::path(get, path = "/approval-scopes", tag = "approvals", responses((status = 200, body = Vec<ApproverScopeView>)))]
pub(crate) async fn list_scopes(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<ApproverScopeView>>> {
    let mut c = state.db.read().await?;
    let mut out: Vec<ApproverScopeView> = Vec::new();
    for (user, entity) in store::scopes(&mut c.conn(), caller.tenant_id).await? {
        match out.iter_mut().find(|s| s.user_id == user) {
            Some(s) => s.legal_entity_ids.push(entity),
            None => out.push(ApproverScopeView { user_id: user, legal_entity_ids: vec![entity] }),
        }
    }
    Ok(ApiJson(out))
}

/// Set the legal entities an approver serves (admins); an empty list: every one.
#[utoipa::path(put, path = "/approval-scopes/{id}", tag = "approvals", params(("id" = crate::tenancy::UserId, Path, description = "The approver (a user)")),
    request_body = ApproverScope,
    responses((status = 200, body = ApproverScopeView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn set_scope(State(state): State<AppState>, caller: Caller, Path(id): Path<crate::tenancy::UserId>, ApiJson(input): ApiJson<ApproverScope>) -> ApiResult<ApiJson<ApproverScopeView>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    crate::tenancy::store::get_user(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("user"))?;
    let mut entities = Vec::new();
    for (i, e) in input.legal_entity_ids.iter().enumerate() {
        if crate::legal_entities::get(&mut c, caller.tenant_id, *e).await?.is_none() {
            return Err(ApiError::field(format!("legal_entity_ids[{i}]"), "no legal entity of yours with this id"));
        }
        if !entities.contains(e) {
            entities.push(*e);
        }
    }
    let before: Vec<_> = store::scopes(&mut c, caller.tenant_id).await?.into_iter().filter(|(u, _)| *u == id).map(|(_, e)| e).collect();
    store::set_scope(&mut c, caller.tenant_id, id, &entities).await?;
    let after = ApproverScopeView { user_id: id, legal_entity_ids: entities };
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "approval_scope", id.0, AuditAction::Update, Some(&before), &after.legal_entity_ids).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
