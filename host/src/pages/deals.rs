//! Deals: the kanban of a pipeline and the deal page.
//!
//! The kanban's column heads (count and sum) are computed by the server over every deal
//! of the pipeline; each column shows its first cards and loads more on demand, so a
//! pipeline with thousands of deals opens fast. A move (drag and drop, or the card's own
//! form without JavaScript) goes through the API's move handler: when the stage's gate
//! refuses, the card shows what is missing, in Russian.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::deals::pipelines::{Pipeline, PipelineId, StageId};
use crate::deals::{Deal, DealId};
use crate::money::Money;
use crate::tenancy::Role;

use super::auth::Viewer;
use super::clients::params;
use super::render::{PageResult, bare, page, rub};

/// Cards a column shows before "more".
pub const CARDS_PER_COLUMN: u32 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deals", get(kanban))
        .route("/deals/column", get(column))
        .route("/deals/totals", get(totals))
        .route("/deals/{id}", get(deal_page))
        .route("/deals/{id}/move", post(move_deal))
        .route("/deals/{id}/approvals/start", post(start_approval))
        .route("/deals/{id}/approvals/resubmit", post(resubmit))
        .route("/deals/{id}/checklist", post(check))
        .route("/deals/{id}/committee", post(call_meeting))
        .route("/deals/{id}/committee/vote", post(vote))
        .route("/deals/{id}/change-terms", post(change_terms))
        .route("/deals/{id}/parties", post(add_party))
        .route("/deals/{id}/parties/{party_id}", post(change_party))
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    #[serde(default)]
    pipeline: Option<PipelineId>,
}

#[derive(Serialize, Clone)]
struct Card {
    #[serde(flatten)]
    deal: Deal,
    client: String,
    can_move: bool,
    refusal: Vec<String>,
}

#[derive(Serialize)]
struct Column {
    id: StageId,
    name: String,
    kind: String,
    count_text: String,
    sum_text: String,
    cards: Vec<Card>,
    more_url: Option<String>,
}

pub(super) async fn pipelines(state: &AppState, viewer: &Viewer) -> PageResult<Vec<Pipeline>> {
    Ok(crate::deals::routes::list_pipelines(State(state.clone()), viewer.caller(), Query(params(&[])?)).await?.0)
}

pub(super) fn choose(pipelines: &[Pipeline], wanted: Option<PipelineId>) -> PageResult<Pipeline> {
    match wanted {
        Some(id) => pipelines.iter().find(|p| p.id == id).cloned().ok_or_else(|| ApiError::NotFound("pipeline").into()),
        None => pipelines.first().cloned().ok_or_else(|| ApiError::NotFound("pipeline").into()),
    }
}

fn count_text(n: i64) -> String {
    format!("{n} {}", crate::templates::format::plural(n.unsigned_abs(), ["сделка", "сделки", "сделок"]))
}

/// A stage's cards after `cursor`, with the names of their clients.
async fn cards(state: &AppState, viewer: &Viewer, stage: StageId, cursor: Option<&str>) -> PageResult<(Vec<Card>, Option<String>)> {
    let mut pg = vec![("limit", CARDS_PER_COLUMN.to_string())];
    if let Some(c) = cursor {
        pg.push(("cursor", c.to_owned()));
    }
    let list = crate::deals::routes::list_deals(State(state.clone()), viewer.caller(), Query(params(&[("stage_id", stage.to_string())])?), Query(params(&pg)?)).await?.0;
    let cards = to_cards(state, viewer, list.items).await?;
    Ok((cards, list.next_cursor))
}

async fn to_cards(state: &AppState, viewer: &Viewer, deals: Vec<Deal>) -> PageResult<Vec<Card>> {
    let c = &viewer.session.caller;
    let ids: Vec<_> = deals.iter().map(|d| d.counterparty_id).collect();
    let names: HashMap<_, _> = {
        let mut conn = state.db.read().await.map_err(ApiError::from)?;
        crate::counterparties::store::names(&mut conn.conn(), c.tenant_id, &ids).await?.into_iter().collect()
    };
    Ok(deals
        .into_iter()
        .map(|d| Card {
            client: names.get(&d.counterparty_id).cloned().unwrap_or_default(),
            can_move: c.role != Role::Manager || d.responsible_id == c.user_id,
            refusal: vec![],
            deal: d,
        })
        .collect())
}

async fn board(state: &AppState, viewer: &Viewer, wanted: Option<PipelineId>, refused: Option<Card>) -> PageResult<(Vec<Pipeline>, Pipeline, Vec<Column>)> {
    let all = pipelines(state, viewer).await?;
    let pipeline = choose(&all, wanted)?;
    let sums: HashMap<StageId, (i64, i64)> = {
        let mut conn = state.db.read().await.map_err(ApiError::from)?;
        crate::deals::store::stage_totals(&mut conn.conn(), viewer.session.caller.tenant_id, pipeline.id).await?.into_iter().map(|(s, n, a)| (s, (n, a))).collect()
    };
    let mut columns = Vec::with_capacity(pipeline.stages.len());
    for s in &pipeline.stages {
        let (n, sum) = sums.get(&s.id).copied().unwrap_or((0, 0));
        let (mut cards, next) = if n > 0 { cards(state, viewer, s.id, None).await? } else { (vec![], None) };
        if let Some(r) = refused.as_ref().filter(|r| r.deal.stage_id == s.id) {
            match cards.iter_mut().find(|c| c.deal.id == r.deal.id) {
                Some(c) => c.refusal = r.refusal.clone(),
                None => cards.insert(0, r.clone()),
            }
        }
        columns.push(Column {
            id: s.id,
            name: s.name.clone(),
            kind: s.kind.as_str().into(),
            count_text: count_text(n),
            sum_text: rub(Money::from_minor(sum)),
            cards,
            more_url: next.map(|cur| format!("/deals/column?stage={}&cursor={cur}", s.id)),
        });
    }
    Ok((all, pipeline, columns))
}

async fn kanban(State(state): State<AppState>, viewer: Viewer, Query(q): Query<BoardQuery>) -> PageResult<Response> {
    let (all, pipeline, columns) = board(&state, &viewer, q.pipeline, None).await?;
    page(&viewer, "kanban.html", "Сделки", "deals", serde_json::json!({ "pipelines": all, "pipeline": pipeline, "columns": columns }))
}

#[derive(Deserialize)]
struct ColumnQuery {
    stage: StageId,
    #[serde(default)]
    cursor: Option<String>,
}

/// More cards of one column (an HTML fragment the kanban appends).
async fn column(State(state): State<AppState>, viewer: Viewer, Query(q): Query<ColumnQuery>) -> PageResult<Response> {
    let (cards, next) = cards(&state, &viewer, q.stage, q.cursor.as_deref()).await?;
    let stages = stages_of_stage(&state, &viewer, q.stage).await?;
    bare(
        "kanban_cards.html",
        serde_json::json!({ "cards": cards, "stages": stages, "csrf": viewer.session.csrf_token, "more_url": next.map(|cur| format!("/deals/column?stage={}&cursor={cur}", q.stage)) }),
    )
}

/// The stages of the pipeline a stage belongs to (the move form's choices).
async fn stages_of_stage(state: &AppState, viewer: &Viewer, stage: StageId) -> PageResult<Vec<crate::deals::pipelines::Stage>> {
    let all = pipelines(state, viewer).await?;
    all.into_iter().find(|p| p.stages.iter().any(|s| s.id == stage)).map(|p| p.stages).ok_or_else(|| ApiError::NotFound("stage").into())
}

#[derive(Serialize)]
struct TotalsRow {
    stage_id: StageId,
    count_text: String,
    sum_text: String,
}

/// The column heads, for the kanban script after a move.
async fn totals(State(state): State<AppState>, viewer: Viewer, Query(q): Query<BoardQuery>) -> PageResult<Response> {
    let all = pipelines(&state, &viewer).await?;
    let pipeline = choose(&all, q.pipeline)?;
    let mut conn = state.db.read().await.map_err(ApiError::from)?;
    let sums = crate::deals::store::stage_totals(&mut conn.conn(), viewer.session.caller.tenant_id, pipeline.id).await?;
    let rows: Vec<TotalsRow> = pipeline
        .stages
        .iter()
        .map(|s| {
            let (n, sum) = sums.iter().find(|t| t.0 == s.id).map(|t| (t.1, t.2)).unwrap_or((0, 0));
            TotalsRow { stage_id: s.id, count_text: count_text(n), sum_text: rub(Money::from_minor(sum)) }
        })
        .collect();
    Ok(axum::Json(rows).into_response())
}

#[derive(Deserialize)]
struct MoveForm {
    stage_id: StageId,
    #[serde(default)]
    fragment: Option<String>,
    #[serde(default)]
    reason_id: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

async fn move_deal(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>, axum::Form(form): axum::Form<MoveForm>) -> PageResult<Response> {
    let result = crate::deals::routes::move_deal(State(state.clone()), viewer.caller(), Path(id), ApiJson(crate::deals::model::MoveDeal {
        stage_id: form.stage_id,
        // An empty choice is no reason (the form's «—»).
        reason_id: form.reason_id.as_deref().filter(|s| !s.is_empty()).and_then(|s| s.parse::<uuid::Uuid>().ok()).map(crate::deals::factoring::StopReasonId),
        comment: form.comment,
    }))
    .await;
    let fragment = form.fragment.is_some();
    let (deal, refusal, status) = match result {
        Ok(ApiJson(deal)) => (deal, vec![], StatusCode::OK),
        Err(ApiError::Validation(errs)) => {
            let deal = crate::deals::routes::get_deal(State(state.clone()), viewer.caller(), Path(id)).await?.0;
            (deal, errs.into_iter().map(|e| e.message).collect(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return Err(e.into()),
    };
    let mut card = to_cards(&state, &viewer, vec![deal]).await?.remove(0);
    card.refusal = refusal;
    if fragment {
        let stages = stages_of_stage(&state, &viewer, card.deal.stage_id).await?;
        let mut res = bare("kanban_cards.html", serde_json::json!({ "cards": [card], "stages": stages, "csrf": viewer.session.csrf_token, "more_url": null }))?;
        *res.status_mut() = status;
        return Ok(res);
    }
    if status == StatusCode::OK {
        return Ok(Redirect::to(&format!("/deals?pipeline={}#deal-{}", card.deal.pipeline_id, card.deal.id)).into_response());
    }
    let pipeline = card.deal.pipeline_id;
    let (all, pipeline, columns) = board(&state, &viewer, Some(pipeline), Some(card)).await?;
    let mut res = page(&viewer, "kanban.html", "Сделки", "deals", serde_json::json!({ "pipelines": all, "pipeline": pipeline, "columns": columns }))?;
    *res.status_mut() = status;
    Ok(res)
}

async fn deal_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>) -> PageResult<Response> {
    deal_view(&state, &viewer, id, vec![]).await
}

/// After an action on the deal page: back to the page, or the page again with why not.
async fn after_action<T>(state: &AppState, viewer: &Viewer, id: DealId, result: Result<T, ApiError>) -> PageResult<Response> {
    let refusal = match result {
        Ok(_) => return Ok(Redirect::to(&format!("/deals/{id}")).into_response()),
        Err(ApiError::Validation(errs)) => errs.into_iter().map(|e| e.message).collect(),
        Err(ApiError::Conflict { detail, .. } | ApiError::Forbidden(detail)) => vec![detail],
        Err(e) => return Err(e.into()),
    };
    let mut res = deal_view(state, viewer, id, refusal).await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

#[derive(Deserialize)]
struct StartForm {
    subject: String,
}

/// Sends one of the deal's documents through its approval route.
async fn start_approval(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>, axum::Form(form): axum::Form<StartForm>) -> PageResult<Response> {
    let input = crate::approvals::model::StartRun { subject: form.subject, legal_entity_id: None };
    let result = crate::approvals::routes::start_run(State(state.clone()), viewer.caller(), Path(id), ApiJson(input)).await;
    after_action(&state, &viewer, id, result).await
}

#[derive(Deserialize)]
struct ResubmitForm {
    run_id: crate::approvals::model::RunId,
    #[serde(default)]
    remark: Option<String>,
}

/// Resubmits a run sent back for rework.
async fn resubmit(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>, axum::Form(form): axum::Form<ResubmitForm>) -> PageResult<Response> {
    let input = crate::approvals::routes::Resubmission { remark: form.remark };
    let result = crate::approvals::routes::resubmit_run(State(state.clone()), viewer.caller(), Path(form.run_id), ApiJson(input)).await;
    after_action(&state, &viewer, id, result).await
}

#[derive(Deserialize)]
struct CheckForm {
    key: String,
    done: String,
}

/// Marks a checklist item done or not.
async fn check(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>, axum::Form(form): axum::Form<CheckForm>) -> PageResult<Response> {
    let input = crate::deals::factoring::ChecklistMark { done: form.done == "true", comment: None };
    let result = crate::deals::factoring::mark_checklist(State(state.clone()), viewer.caller(), Path((id, form.key)), ApiJson(input)).await;
    after_action(&state, &viewer, id, result).await
}

/// Calls the meeting of the collegial body for the deal's kind.
async fn call_meeting(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>) -> PageResult<Response> {
    let result = crate::approvals::committee::call_meeting(State(state.clone()), viewer.caller(), Path(id), ApiJson(Default::default())).await;
    after_action(&state, &viewer, id, result).await
}

#[derive(Deserialize)]
struct VoteForm {
    meeting_id: crate::approvals::committee::MeetingId,
    vote: crate::approvals::committee::Vote,
    #[serde(default)]
    comment: Option<String>,
}

/// A member's vote, from the deal page.
async fn vote(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>, axum::Form(form): axum::Form<VoteForm>) -> PageResult<Response> {
    let input = crate::approvals::committee::VoteInput { vote: form.vote, comment: form.comment };
    let result = crate::approvals::committee::vote(State(state.clone()), viewer.caller(), Path(form.meeting_id), ApiJson(input)).await;
    after_action(&state, &viewer, id, result).await
}

#[derive(Deserialize)]
struct PartyForm {
    role: crate::deals::factoring::PartyRole,
    inn: String,
    #[serde(default)]
    limit: Option<String>,
}

/// A limit typed on a form: empty is none; `3 000 000,50` is read as the API reads `3000000.50`.
fn form_limit(text: Option<&str>) -> Result<Option<crate::money::Money>, ApiError> {
    let t: String = text.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect::<String>().replace(',', ".");
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| ApiError::field("limit", format!("Лимит «{t}» — не сумма: укажите, например, 3000000,00")))
}

/// Links a supplier or buyer found by its ИНН among the tenant's clients.
async fn add_party(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>, axum::Form(form): axum::Form<PartyForm>) -> PageResult<Response> {
    let inn = form.inn.trim().to_string();
    let found = {
        let mut conn = state.db.read().await.map_err(ApiError::from)?;
        crate::counterparties::store::by_inns(&mut conn.conn(), viewer.session.caller.tenant_id, std::slice::from_ref(&inn)).await.map_err(ApiError::from)?
    };
    let result = match (found.first(), form_limit(form.limit.as_deref())) {
        (_, Err(e)) => Err(e),
        (None, _) => Err(ApiError::field("inn", format!("Клиента с ИНН «{inn}» нет в базе: сначала создайте его карточку («Клиенты» → «Новый клиент»)"))),
        (Some(cp), Ok(limit)) => {
            let input = crate::deals::factoring::NewDealParty { counterparty_id: cp.id, role: form.role, limit };
            crate::deals::factoring::add_party(State(state.clone()), viewer.caller(), Path(id), ApiJson(input)).await.map(drop)
        }
    };
    after_action(&state, &viewer, id, result).await
}

#[derive(Deserialize)]
struct ChangePartyForm {
    #[serde(default)]
    limit: Option<String>,
    /// `remove` unlinks the party; otherwise the limit is set.
    #[serde(default)]
    action: Option<String>,
}

/// Changes a linked party's limit, or unlinks it.
async fn change_party(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, party)): Path<(DealId, crate::deals::factoring::DealPartyId)>,
    axum::Form(form): axum::Form<ChangePartyForm>,
) -> PageResult<Response> {
    let result = if form.action.as_deref() == Some("remove") {
        crate::deals::factoring::remove_party(State(state.clone()), viewer.caller(), Path((id, party))).await.map(drop)
    } else {
        match form_limit(form.limit.as_deref()) {
            Ok(limit) => {
                let input = crate::deals::factoring::PartyUpdate { limit };
                crate::deals::factoring::update_party(State(state.clone()), viewer.caller(), Path((id, party)), ApiJson(input)).await.map(drop)
            }
            Err(e) => Err(e),
        }
    };
    after_action(&state, &viewer, id, result).await
}

/// Opens a change of the deal's terms and shows the new deal.
async fn change_terms(State(state): State<AppState>, viewer: Viewer, Path(id): Path<DealId>) -> PageResult<Response> {
    match crate::deals::terms::change_terms(State(state.clone()), viewer.caller(), Path(id), ApiJson(Default::default())).await {
        Ok((_, ApiJson(deal))) => Ok(Redirect::to(&format!("/deals/{}", deal.id)).into_response()),
        Err(e) => after_action::<()>(&state, &viewer, id, Err(e)).await,
    }
}

async fn deal_view(state: &AppState, viewer: &Viewer, id: DealId, refusal: Vec<String>) -> PageResult<Response> {
    let state = state.clone();
    let deal = crate::deals::routes::get_deal(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let history = crate::deals::routes::deal_stage_history(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let pipeline = crate::deals::routes::get_pipeline(State(state.clone()), viewer.caller(), Path(deal.pipeline_id)).await?.0;
    let timeline = crate::timeline::routes::deal_timeline(State(state.clone()), viewer.caller(), Path(id), Query(params(&[("limit", "30".into())])?)).await?.0;
    let documents = crate::documents::routes::list_documents(State(state.clone()), viewer.caller(), Query(params(&[("deal_id", id.to_string())])?), Query(params(&[])?)).await?.0;
    let card = to_cards(&state, viewer, vec![deal]).await?.remove(0);
    let users = super::clients::users(&state, viewer).await?;
    let name_of = |u: Option<crate::tenancy::UserId>| u.and_then(|u| users.iter().find(|x| x.id == u)).map(|x| x.full_name.clone()).unwrap_or_default();
    let stage_name = |s: Option<StageId>| s.and_then(|s| pipeline.stages.iter().find(|x| x.id == s)).map(|x| x.name.clone()).unwrap_or_default();
    let history: Vec<_> = history
        .iter()
        .map(|h| serde_json::json!({ "at": h.changed_at, "from": stage_name(h.from_stage_id), "to": stage_name(Some(h.to_stage_id)), "by": name_of(Some(h.changed_by)),
            "reason": h.reason, "comment": h.comment }))
        .collect();
    let parties = crate::deals::factoring::list_parties(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let parties: Vec<_> = parties
        .iter()
        .map(|p| serde_json::json!({ "name": p.counterparty_name, "role": p.role.label(), "limit": p.limit, "id": p.counterparty_id, "party_id": p.id,
            "limit_text": p.limit.map(|l| l.to_string().replace('.', ",")) }))
        .collect();
    let checklist = crate::deals::factoring::get_checklist(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let runs = crate::approvals::routes::deal_runs(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let latest: Vec<&crate::approvals::model::Run> = runs.iter().fold(Vec::new(), |mut acc, r| {
        if !acc.iter().any(|x: &&crate::approvals::model::Run| x.run.subject == r.run.subject) {
            acc.push(r);
        }
        acc
    });
    // The routes a manager may send the deal through now (none running, none approved).
    let startable: Vec<_> = crate::approvals::routes::list_routes(State(state.clone()), viewer.caller())
        .await?
        .0
        .into_iter()
        .filter(|route| {
            latest.iter().find(|r| r.run.subject == route.subject).is_none_or(|r| {
                matches!(r.run.status, crate::approvals::model::RunStatus::Rejected | crate::approvals::model::RunStatus::Cancelled)
            })
        })
        .map(|route| serde_json::json!({ "subject": route.subject, "name": route.name }))
        .collect();
    let runs: Vec<_> = runs
        .iter()
        .map(|r| serde_json::json!({ "id": r.run.id, "name": r.run.name, "status": r.run.status.label(),
            "returned": r.run.status == crate::approvals::model::RunStatus::Returned }))
        .collect();
    let meetings = crate::approvals::committee::deal_meetings(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let meetings: Vec<_> = meetings
        .iter()
        .map(|m| serde_json::json!({ "id": m.meeting.id, "body": m.meeting.body_name, "held_on": m.meeting.held_on, "status": m.meeting.status.label(),
            "my_turn": m.meeting.status == crate::approvals::committee::MeetingStatus::Voting
                && m.votes.iter().any(|v| v.user_id == viewer.session.caller.user_id && v.vote.is_none()),
            "votes": m.votes.iter().map(|v| serde_json::json!({ "name": v.full_name, "vote": v.vote.map(|x| x.label()), "comment": v.comment })).collect::<Vec<_>>() }))
        .collect();
    let reasons = crate::deals::factoring::list_reasons(State(state.clone()), viewer.caller()).await?.0;
    let stop_stage = pipeline.stages.iter().find(|s| s.gate.0.reason_required).map(|s| s.id);
    // What the next stage needs, so the manager sees every missing item before moving.
    let current = pipeline.stages.iter().position(|s| s.id == card.deal.stage_id);
    let next = current.and_then(|i| pipeline.stages.get(i + 1)).filter(|s| s.kind != crate::deals::pipelines::StageKind::Lost);
    let next_needs: Vec<String> = match next {
        Some(s) => {
            let mut conn = state.db.read().await.map_err(ApiError::from)?;
            crate::deals::gate::required(&mut conn.conn(), viewer.session.caller.tenant_id, &card.deal, s, &pipeline.field_schema).await?.into_iter().map(|e| e.message).collect()
        }
        None => vec![],
    };
    let params_shown: Vec<_> = pipeline
        .field_schema
        .iter()
        .map(|f| serde_json::json!({ "label": f.label, "value": card.deal.params.0.get(&f.key).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())) }))
        .collect();
    // A change of terms shows each term against the deal it was copied from.
    let (terms, changes_opened) = {
        let mut conn = state.db.read().await.map_err(ApiError::from)?;
        let mut c = conn.conn();
        let terms = crate::deals::terms::changes(&mut c, viewer.session.caller.tenant_id, &card.deal).await?;
        let opened = crate::deals::terms::changes_of(&mut c, viewer.session.caller.tenant_id, id).await?;
        (terms, opened)
    };
    let title = card.deal.title.clone();
    page(
        viewer,
        "deal.html",
        &title,
        "deals",
        serde_json::json!({
            "card": card, "pipeline": pipeline, "history": history, "params": params_shown, "timeline": timeline.items,
            "documents": documents.items, "responsible": name_of(Some(card.deal.responsible_id)),
            "parties": parties, "checklist": checklist, "runs": runs, "meetings": meetings, "reasons": reasons, "stop_stage": stop_stage,
            "next_stage": next.map(|s| s.name.clone()), "next_needs": next_needs, "startable": startable, "refusal": refusal,
            "terms": terms, "changes_opened": changes_opened,
        }),
    )
}
