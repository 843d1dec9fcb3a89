//! «Согласования»: the approver's inbox (what waits for their decision, the conclusion
//! attached and the decision taken on the page, through the same handlers as the API),
//! and a route's printable history.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::approvals::model::{Decision, DecisionInput, InboxItem, RunId, StepId, department_label};

use super::auth::Viewer;
use super::clients::users;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/approvals", get(inbox))
        .route("/approvals/{id}", get(history))
        .route("/approvals/steps/{id}/attach", post(attach).layer(DefaultBodyLimit::disable()))
        .route("/approvals/steps/{id}/decide", post(decide))
        .route("/committee-meetings/{id}/protocol", get(protocol))
        .route("/deals/{id}/credit-application", get(credit_application))
        .route("/approvals/delegations", post(delegate))
        .route("/approvals/delegations/{id}/end", post(end_delegation))
}

/// The deal's application to the credit committee as a page (the API's HTML rendering).
async fn credit_application(State(state): State<AppState>, viewer: Viewer, Path(id): Path<crate::deals::DealId>) -> PageResult<Response> {
    let params = crate::approvals::committee::ProtocolParams { format: Some("html".into()) };
    Ok(crate::approvals::application::credit_application(State(state), viewer.caller(), Path(id), Query(params)).await?)
}

/// A meeting's protocol as a page (the API's HTML rendering, under the session).
async fn protocol(State(state): State<AppState>, viewer: Viewer, Path(id): Path<crate::approvals::committee::MeetingId>) -> PageResult<Response> {
    let params = crate::approvals::committee::ProtocolParams { format: Some("html".into()) };
    Ok(crate::approvals::committee::protocol(State(state), viewer.caller(), Path(id), Query(params)).await?)
}

#[derive(Deserialize, Default)]
struct InboxQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    attached: Option<StepId>,
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    item: InboxItem,
    department: &'static str,
    on_behalf_of_name: Option<String>,
    overdue: bool,
    has_document: bool,
    refusal: Vec<String>,
}

async fn rows(state: &AppState, viewer: &Viewer, refused: Option<(StepId, Vec<String>)>) -> PageResult<Vec<Row>> {
    let items = crate::approvals::routes::inbox(State(state.clone()), viewer.caller()).await?.0;
    let people = users(state, viewer).await?;
    let now = chrono::Utc::now();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let has_document = match &item.step.document_kind {
            None => true,
            Some(kind) => {
                let mut conn = state.db.read().await.map_err(ApiError::from)?;
                crate::approvals::store::latest_document_of_kind(&mut conn.conn(), viewer.session.caller.tenant_id, item.deal_id, kind).await?.is_some()
            }
        };
        out.push(Row {
            department: department_label(item.step.department.0),
            on_behalf_of_name: item.on_behalf_of.and_then(|u| people.iter().find(|p| p.id == u)).map(|p| p.full_name.clone()),
            overdue: item.step.due_at.is_some_and(|d| d < now),
            has_document,
            refusal: refused.as_ref().filter(|(s, _)| *s == item.step.id).map(|(_, r)| r.clone()).unwrap_or_default(),
            item,
        });
    }
    Ok(out)
}

async fn inbox_page(state: &AppState, viewer: &Viewer, q: InboxQuery, refused: Option<(StepId, Vec<String>)>) -> PageResult<Response> {
    inbox_with(state, viewer, q, refused, vec![]).await
}

async fn inbox_with(state: &AppState, viewer: &Viewer, q: InboxQuery, refused: Option<(StepId, Vec<String>)>, delegation_refusal: Vec<String>) -> PageResult<Response> {
    let rows = rows(state, viewer, refused).await?;
    // Stand-ins while an approver is away: the viewer's own (given or taken); heads and admins see all.
    let me = viewer.session.caller.user_id;
    let lead = viewer.session.caller.is_lead();
    let people = users(state, viewer).await?;
    let name = |u: crate::tenancy::UserId| people.iter().find(|p| p.id == u).map(|p| p.full_name.clone()).unwrap_or_default();
    let delegations: Vec<_> = crate::approvals::routes::list_delegations(State(state.clone()), viewer.caller())
        .await?
        .0
        .into_iter()
        .filter(|d| lead || d.from_user_id == me || d.to_user_id == me)
        .map(|d| serde_json::json!({ "id": d.id, "from": name(d.from_user_id), "to": name(d.to_user_id), "starts_on": d.starts_on, "ends_on": d.ends_on,
            "can_end": lead || d.from_user_id == me }))
        .collect();
    let others: Vec<_> = people.iter().filter(|p| p.id != me).map(|p| serde_json::json!({ "id": p.id, "name": p.full_name })).collect();
    let everyone: Vec<_> = people.iter().map(|p| serde_json::json!({ "id": p.id, "name": p.full_name, "me": p.id == me })).collect();
    page(
        viewer,
        "approvals.html",
        "Согласования",
        "approvals",
        serde_json::json!({ "rows": rows, "done": q.done, "attached": q.attached, "delegations": delegations, "others": others,
            "everyone": everyone, "lead": lead, "delegation_refusal": delegation_refusal }),
    )
}

#[derive(Deserialize)]
struct DelegateForm {
    #[serde(default)]
    from_user_id: Option<crate::tenancy::UserId>,
    to_user_id: crate::tenancy::UserId,
    starts_on: String,
    ends_on: String,
}

/// Lets another user decide for an approver away (the approver themself, or a head).
async fn delegate(State(state): State<AppState>, viewer: Viewer, axum::Form(form): axum::Form<DelegateForm>) -> PageResult<Response> {
    let date = |field: &str, s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ApiError::field(field, "укажите дату"));
    let result = match (date("starts_on", &form.starts_on), date("ends_on", &form.ends_on)) {
        (Ok(starts_on), Ok(ends_on)) => {
            let input = crate::approvals::model::DelegationInput { from_user_id: form.from_user_id, to_user_id: form.to_user_id, starts_on, ends_on };
            crate::approvals::routes::create_delegation(State(state.clone()), viewer.caller(), ApiJson(input)).await.map(drop)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    delegation_done(&state, &viewer, result).await
}

/// Ends a stand-in early.
async fn end_delegation(State(state): State<AppState>, viewer: Viewer, Path(id): Path<crate::approvals::model::DelegationId>) -> PageResult<Response> {
    let result = crate::approvals::routes::delete_delegation(State(state.clone()), viewer.caller(), Path(id)).await.map(drop);
    delegation_done(&state, &viewer, result).await
}

async fn delegation_done(state: &AppState, viewer: &Viewer, result: Result<(), ApiError>) -> PageResult<Response> {
    let refusal = match result {
        Ok(()) => return Ok(Redirect::to("/approvals#delegations").into_response()),
        Err(ApiError::Validation(errs)) => errs.into_iter().map(|e| e.message).collect(),
        Err(ApiError::Forbidden(detail)) => vec![detail],
        Err(e) => return Err(e.into()),
    };
    let mut res = inbox_with(state, viewer, InboxQuery::default(), None, refusal).await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

async fn inbox(State(state): State<AppState>, viewer: Viewer, Query(q): Query<InboxQuery>) -> PageResult<Response> {
    inbox_page(&state, &viewer, q, None).await
}

/// Attaches the step's conclusion to the deal (the form carries `deal_id`, `kind` and
/// `file`, as the API's upload does).
async fn attach(State(state): State<AppState>, viewer: Viewer, Path(id): Path<StepId>, req: Request) -> PageResult<Response> {
    let form = <crate::api::multipart::Multipart as axum::extract::FromRequest<AppState>>::from_request(req, &state).await?;
    match crate::documents::routes::upload_document(State(state.clone()), viewer.caller(), form).await {
        Ok(_) => Ok(Redirect::to(&format!("/approvals?attached={id}#step-{id}")).into_response()),
        Err(ApiError::Validation(errs)) => {
            let mut res = inbox_page(&state, &viewer, InboxQuery::default(), Some((id, errs.into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect()))).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct DecideForm {
    decision: Decision,
    #[serde(default)]
    remark: Option<String>,
}

async fn decide(State(state): State<AppState>, viewer: Viewer, Path(id): Path<StepId>, axum::Form(form): axum::Form<DecideForm>) -> PageResult<Response> {
    let input = DecisionInput { decision: form.decision, remark: form.remark, document_id: None };
    let refusal = match crate::approvals::routes::decide_step(State(state.clone()), viewer.caller(), Path(id), ApiJson(input)).await {
        Ok(_) => return Ok(Redirect::to(&format!("/approvals?done={id}")).into_response()),
        Err(ApiError::Validation(errs)) => errs.into_iter().map(|e| e.message).collect(),
        Err(ApiError::Conflict { detail, .. }) => vec![detail],
        Err(ApiError::Forbidden(detail)) => vec![detail],
        Err(e) => return Err(e.into()),
    };
    let mut res = inbox_page(&state, &viewer, InboxQuery::default(), Some((id, refusal))).await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

/// A route's whole history, printable: each step with its state, then every event (who,
/// when, decision, remark, document).
async fn history(State(state): State<AppState>, viewer: Viewer, Path(id): Path<RunId>) -> PageResult<Response> {
    let run = crate::approvals::routes::get_run(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let deal = crate::deals::routes::get_deal(State(state.clone()), viewer.caller(), Path(run.run.deal_id)).await?.0;
    let people = users(&state, &viewer).await?;
    let name = |u: Option<crate::tenancy::UserId>| u.and_then(|u| people.iter().find(|p| p.id == u)).map(|p| p.full_name.clone());
    let steps: Vec<_> = run
        .steps
        .iter()
        .map(|s| serde_json::json!({
            "group": s.group_index + 1, "name": s.name, "department": department_label(s.department.0), "status": s.status.label(),
            "required": s.required, "approvals": s.approvals, "document_kind": s.document_kind, "due_at": s.due_at, "round": s.round,
        }))
        .collect();
    let events: Vec<_> = run
        .history
        .iter()
        .map(|e| serde_json::json!({
            "at": e.at, "action": e.action.label(), "who": name(e.user_id), "for": name(e.on_behalf_of), "remark": e.remark,
            "step": e.step_id.and_then(|s| run.steps.iter().find(|x| x.id == s)).map(|x| x.name.clone()), "document_id": e.document_id, "round": e.round,
        }))
        .collect();
    let title = format!("{}: {}", run.run.name, deal.title);
    page(
        &viewer,
        "approval.html",
        &title,
        "approvals",
        serde_json::json!({ "run": run.run, "status": run.run.status.label(), "deal": deal, "steps": steps, "events": events, "started_by": name(Some(run.run.started_by)) }),
    )
}
