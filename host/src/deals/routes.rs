use axum::extract::State;
use crate::api::extract::{Path, Query};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem, Violations};
use crate::api::json::{ApiJson, apply_patch};
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::{self, CounterpartyId};
use crate::db::Conn;
use crate::tenancy::service::ensure_user;
use crate::tenancy::{Action, Caller, UserId};
use crate::timeline::{self, EventKind, NewEvent};

use super::model::{Deal, DealId, DealUpdate, MoveDeal, NewDeal, StageChange};
use super::pipelines::{self, Pipeline, PipelineId, PipelineInput, PipelineUpdate, Stage, StageId, StageInput, StageKind};
use super::store::{self, DealRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pipelines, create_pipeline))
        .routes(routes!(get_pipeline, update_pipeline))
        .routes(routes!(archive_pipeline))
        .routes(routes!(restore_pipeline))
        .routes(routes!(add_stage))
        .routes(routes!(update_stage))
        .routes(routes!(list_deals, create_deal))
        .routes(routes!(get_deal, update_deal))
        .routes(routes!(move_deal))
        .routes(routes!(deal_stage_history))
        .routes(routes!(archive_deal))
        .routes(routes!(restore_deal))
}

// ---------------------------------------------------------------- pipelines

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PipelineFilter {
    #[serde(default)]
    pub include_archived: bool,
}

/// List pipelines with their stages.
#[utoipa::path(get, path = "/pipelines", tag = "pipelines", params(PipelineFilter), responses((status = 200, body = Vec<Pipeline>)))]
pub(crate) async fn list_pipelines(State(state): State<AppState>, caller: Caller, Query(f): Query<PipelineFilter>) -> ApiResult<ApiJson<Vec<Pipeline>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(pipelines::list(&mut c.conn(), caller.tenant_id, f.include_archived).await?))
}

/// Create a pipeline with its stages and custom field schema (admins).
#[utoipa::path(post, path = "/pipelines", tag = "pipelines", request_body = PipelineInput,
    responses((status = 201, body = Pipeline), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_pipeline(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<PipelineInput>) -> ApiResult<(StatusCode, ApiJson<Pipeline>)> {
    caller.ensure(Action::Configure)?;
    input.validate()?;
    let mut tx = state.db.begin().await?;
    let p = pipelines::insert(&mut tx.conn(), caller.tenant_id, &input).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "pipeline", p.id.0, AuditAction::Create, None, &p).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(p)))
}

/// Read a pipeline.
#[utoipa::path(get, path = "/pipelines/{id}", tag = "pipelines", params(("id" = PipelineId, Path)),
    responses((status = 200, body = Pipeline), (status = 404, body = Problem)))]
pub(crate) async fn get_pipeline(State(state): State<AppState>, caller: Caller, Path(id): Path<PipelineId>) -> ApiResult<ApiJson<Pipeline>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(pipelines::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))?))
}

/// Rename a pipeline or change its field schema (admins; JSON merge patch). Existing
/// deals keep their parameters; they are checked against the new schema on their next change.
#[utoipa::path(patch, path = "/pipelines/{id}", tag = "pipelines", params(("id" = PipelineId, Path)),
    request_body(content = PipelineUpdate, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Pipeline), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<PipelineId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<Pipeline>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let before = pipelines::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    let current = PipelineUpdate { name: before.name.clone(), purpose: before.purpose, field_schema: before.field_schema.clone() };
    let update: PipelineUpdate = apply_patch(&current, &patch)?;
    let mut v = Violations::new();
    v.check(!update.name.trim().is_empty(), "name", "must not be empty");
    super::params::validate_schema(&mut v, &update.field_schema);
    v.finish()?;
    let after = pipelines::update(&mut tx.conn(), caller.tenant_id, id, &update).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "pipeline", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Archive a pipeline: no new deals in it; existing deals stay.
#[utoipa::path(post, path = "/pipelines/{id}/archive", tag = "pipelines", params(("id" = PipelineId, Path)),
    responses((status = 200, body = Pipeline), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_pipeline(State(state): State<AppState>, caller: Caller, Path(id): Path<PipelineId>) -> ApiResult<ApiJson<Pipeline>> {
    set_pipeline_archived(state, caller, id, true).await
}

/// Restore an archived pipeline.
#[utoipa::path(post, path = "/pipelines/{id}/restore", tag = "pipelines", params(("id" = PipelineId, Path)),
    responses((status = 200, body = Pipeline), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn restore_pipeline(State(state): State<AppState>, caller: Caller, Path(id): Path<PipelineId>) -> ApiResult<ApiJson<Pipeline>> {
    set_pipeline_archived(state, caller, id, false).await
}

async fn set_pipeline_archived(state: AppState, caller: Caller, id: PipelineId, archive: bool) -> ApiResult<ApiJson<Pipeline>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let before = pipelines::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    let after = pipelines::set_archived(&mut tx.conn(), caller.tenant_id, id, archive.then(Utc::now)).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "pipeline", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Add a stage to a pipeline (admins).
#[utoipa::path(post, path = "/pipelines/{id}/stages", tag = "pipelines", params(("id" = PipelineId, Path)), request_body = StageInput,
    responses((status = 201, body = Stage), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_stage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<PipelineId>,
    ApiJson(input): ApiJson<StageInput>,
) -> ApiResult<(StatusCode, ApiJson<Stage>)> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let pipeline = pipelines::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    let mut v = Violations::new();
    input.validate(&mut v, "");
    input.validate_gate_fields(&mut v, "", &pipeline.field_schema);
    v.finish()?;
    let stage = pipelines::add_stage(&mut tx.conn(), caller.tenant_id, &pipeline, &input).await?;
    let after = pipelines::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "pipeline", id.0, AuditAction::Update, Some(&pipeline), &after).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(stage)))
}

/// Change a stage: name, kind, win probability, position (admins).
#[utoipa::path(put, path = "/pipelines/{id}/stages/{stage_id}", tag = "pipelines",
    params(("id" = PipelineId, Path), ("stage_id" = StageId, Path)), request_body = StageInput,
    responses((status = 200, body = Stage), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_stage(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, stage_id)): Path<(PipelineId, StageId)>,
    ApiJson(input): ApiJson<StageInput>,
) -> ApiResult<ApiJson<Stage>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let pipeline = pipelines::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    if !pipeline.stages.iter().any(|s| s.id == stage_id) {
        return Err(ApiError::NotFound("stage"));
    }
    let mut v = Violations::new();
    input.validate(&mut v, "");
    input.validate_gate_fields(&mut v, "", &pipeline.field_schema);
    let open_left = pipeline.stages.iter().any(|s| s.kind == StageKind::Open && s.id != stage_id) || input.kind == StageKind::Open;
    v.check(open_left, "kind", "a pipeline needs at least one open stage");
    v.finish()?;
    let stage = pipelines::update_stage(&mut tx.conn(), caller.tenant_id, &pipeline, stage_id, &input).await?;
    let after = pipelines::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "pipeline", id.0, AuditAction::Update, Some(&pipeline), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(stage))
}

// ---------------------------------------------------------------- deals

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DealFilter {
    /// Search in the title.
    pub q: Option<String>,
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    /// open, won or lost.
    pub status: Option<StageKind>,
    pub counterparty_id: Option<CounterpartyId>,
    pub responsible_id: Option<UserId>,
    #[serde(default)]
    pub include_archived: bool,
}

/// List deals, newest first.
#[utoipa::path(get, path = "/deals", tag = "deals", params(DealFilter, PageParams), responses((status = 200, body = Page<Deal>)))]
pub(crate) async fn list_deals(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<DealFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<Deal>>> {
    let limit = page.limit()?;
    let filter = store::Filter {
        q: f.q.as_deref().filter(|q| !q.trim().is_empty()),
        pipeline_id: f.pipeline_id,
        stage_id: f.stage_id,
        stage_kind: f.status,
        counterparty_id: f.counterparty_id,
        responsible_id: f.responsible_id,
        include_archived: f.include_archived,
    };
    let mut c = state.db.read().await?;
    let rows = store::list(&mut c.conn(), caller.tenant_id, &filter, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |d| d.id.0)))
}

async fn check_counterparty(c: &mut Conn<'_>, caller: &Caller, id: CounterpartyId) -> ApiResult<()> {
    if counterparties::store::exists(c, caller.tenant_id, id).await? {
        Ok(())
    } else {
        Err(ApiError::field("counterparty_id", "no counterparty with this id in your tenant"))
    }
}

/// Open a deal. Without `stage_id` it starts at the pipeline's first open stage.
#[utoipa::path(post, path = "/deals", tag = "deals", request_body = NewDeal,
    responses((status = 201, body = Deal), (status = 422, body = Problem)))]
pub(crate) async fn create_deal(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<NewDeal>) -> ApiResult<(StatusCode, ApiJson<Deal>)> {
    caller.ensure(Action::WriteCrm)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let pipeline = pipelines::get(&mut c, caller.tenant_id, input.pipeline_id)
        .await?
        .filter(|p| p.archived_at.is_none())
        .ok_or_else(|| ApiError::field("pipeline_id", "no active pipeline with this id in your tenant"))?;
    let stage = match input.stage_id {
        Some(sid) => pipeline.stages.iter().find(|s| s.id == sid).ok_or_else(|| ApiError::field("stage_id", "is not a stage of this pipeline"))?,
        None => pipeline.stages.iter().find(|s| s.kind == StageKind::Open).ok_or_else(|| ApiError::field("pipeline_id", "the pipeline has no open stage"))?,
    };
    let update = DealUpdate {
        title: input.title,
        counterparty_id: input.counterparty_id,
        responsible_id: input.responsible_id.unwrap_or(caller.user_id),
        amount: input.amount,
        currency: input.currency.unwrap_or_else(|| "RUB".into()),
        expected_close_date: input.expected_close_date,
        params: input.params,
    };
    let deal = open_deal(&mut c, &caller, &pipeline, stage, update).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(deal)))
}

/// Opens a deal at `stage` of `pipeline` in the caller's transaction: checks the fields,
/// stores it with its first stage-history entry, timeline event and audit entry.
pub(crate) async fn open_deal(c: &mut Conn<'_>, caller: &Caller, pipeline: &Pipeline, stage: &Stage, mut update: DealUpdate) -> ApiResult<Deal> {
    let params = update.validate(&pipeline.field_schema)?;
    check_counterparty(c, caller, update.counterparty_id).await?;
    ensure_user(c, caller.tenant_id, "responsible_id", update.responsible_id).await?;
    let now = Utc::now();
    let id = DealId::new();
    let row = DealRow {
        title: &update.title,
        pipeline_id: pipeline.id,
        stage_id: stage.id,
        counterparty_id: update.counterparty_id,
        responsible_id: update.responsible_id,
        amount: update.amount,
        currency: &update.currency,
        expected_close_date: update.expected_close_date,
        params: &params,
    };
    let deal = store::insert(c, caller.tenant_id, id, &row).await?;
    store::record_stage_change(c, caller.tenant_id, id, None, stage.id, caller.user_id, now, store::MoveNote::default()).await?;
    timeline::record(c, caller.tenant_id, NewEvent {
        kind: EventKind::DealCreated,
        entity_type: "deal",
        entity_id: id.0,
        counterparty_id: Some(deal.counterparty_id),
        deal_id: Some(id),
        summary: format!("Сделка «{}» создана на этапе «{}»", deal.title, stage.name),
        actor_id: Some(caller.user_id),
        occurred_at: now,
    })
    .await?;
    audit::record(c, caller.tenant_id, &Actor::from(caller), "deal", id.0, AuditAction::Create, None, &deal).await?;
    Ok(deal)
}

/// Read a deal.
#[utoipa::path(get, path = "/deals/{id}", tag = "deals", params(("id" = DealId, Path)),
    responses((status = 200, body = Deal), (status = 404, body = Problem)))]
pub(crate) async fn get_deal(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Deal>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?))
}

/// Change a deal (JSON merge patch; `params` are merged key by key, `null` removes one).
#[utoipa::path(patch, path = "/deals/{id}", tag = "deals", params(("id" = DealId, Path)),
    request_body(content = DealUpdate, content_type = "application/merge-patch+json", description = "Fields to change"),
    responses((status = 200, body = Deal), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_deal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<DealId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<Deal>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    caller.ensure_owns(&[Some(before.responsible_id)], "deal")?;
    let pipeline = pipelines::get(&mut c, caller.tenant_id, before.pipeline_id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    let mut update: DealUpdate = apply_patch(&DealUpdate::from(&before), &patch)?;
    let params = update.validate(&pipeline.field_schema)?;
    if update.counterparty_id != before.counterparty_id {
        check_counterparty(&mut c, &caller, update.counterparty_id).await?;
    }
    if update.responsible_id != before.responsible_id {
        ensure_user(&mut c, caller.tenant_id, "responsible_id", update.responsible_id).await?;
    }
    let row = DealRow {
        title: &update.title,
        pipeline_id: before.pipeline_id,
        stage_id: before.stage_id,
        counterparty_id: update.counterparty_id,
        responsible_id: update.responsible_id,
        amount: update.amount,
        currency: &update.currency,
        expected_close_date: update.expected_close_date,
        params: &params,
    };
    let after = store::update(&mut c, caller.tenant_id, id, &row).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "deal", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Move a deal to another stage of its pipeline; the move is kept in its stage history
/// and timeline.
#[utoipa::path(post, path = "/deals/{id}/stage", tag = "deals", params(("id" = DealId, Path)), request_body = MoveDeal,
    responses((status = 200, body = Deal), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn move_deal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<DealId>,
    ApiJson(input): ApiJson<MoveDeal>,
) -> ApiResult<ApiJson<Deal>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    caller.ensure_owns(&[Some(before.responsible_id)], "deal")?;
    if before.archived_at.is_some() {
        return Err(ApiError::BadRequest("The deal is archived; restore it before moving it.".into()));
    }
    let stage = pipelines::get_stage(&mut c, caller.tenant_id, input.stage_id)
        .await?
        .filter(|s| s.pipeline_id == before.pipeline_id)
        .ok_or_else(|| ApiError::field("stage_id", "is not a stage of this deal's pipeline"))?;
    if stage.id == before.stage_id {
        return Ok(ApiJson(before));
    }
    let comment = input.comment.as_deref().map(str::trim).filter(|s| !s.is_empty());
    // A stage that asks for a reason (СТОП) gets one from the tenant's list, whichever way.
    let reason = if stage.gate.0.reason_required {
        let found = match input.reason_id {
            Some(r) => super::factoring::get_stop_reason(&mut c, caller.tenant_id, r).await?.filter(|r| r.archived_at.is_none()),
            None => None,
        };
        match found {
            Some(r) => Some(r.name),
            None => {
                let listed = super::factoring::list_stop_reasons(&mut c, caller.tenant_id, false).await?;
                let names: Vec<String> = listed.iter().map(|r| format!("«{}»", r.name)).collect();
                return Err(ApiError::field(
                    "reason_id",
                    format!("Укажите причину перевода на этап «{}» из списка: {}", stage.name, names.join(", ")),
                ));
            }
        }
    } else {
        None
    };
    let from = pipelines::get_stage(&mut c, caller.tenant_id, before.stage_id).await?;
    let pipeline = pipelines::get(&mut c, caller.tenant_id, before.pipeline_id).await?.ok_or(ApiError::NotFound("pipeline"))?;
    let missing = super::gate::missing(&mut c, caller.tenant_id, &before, from.as_ref(), &stage, &pipeline).await?;
    if !missing.is_empty() {
        return Err(ApiError::Validation(missing));
    }
    let back = from.as_ref().is_some_and(|f| stage.position < f.position && stage.kind != StageKind::Lost && f.kind != StageKind::Lost);
    let now = Utc::now();
    let after = store::set_stage(&mut c, caller.tenant_id, id, stage.id, now).await?;
    store::record_stage_change(&mut c, caller.tenant_id, id, Some(before.stage_id), stage.id, caller.user_id, now, store::MoveNote { reason: reason.as_deref(), comment }).await?;
    let mut summary = format!("Этап сделки «{}»: «{}» → «{}»", after.title, before.stage_name, stage.name);
    if back {
        summary.push_str(" (возврат на предыдущий этап)");
    }
    if let Some(r) = &reason {
        summary.push_str(&format!(". Причина: {r}"));
    }
    if let Some(t) = comment {
        summary.push_str(&format!(". Комментарий: {t}"));
    }
    timeline::record(&mut c, caller.tenant_id, NewEvent {
        kind: EventKind::StageChanged,
        entity_type: "deal",
        entity_id: id.0,
        counterparty_id: Some(after.counterparty_id),
        deal_id: Some(id),
        summary,
        actor_id: Some(caller.user_id),
        occurred_at: now,
    })
    .await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "deal", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Every stage the deal has been at, oldest first, with who moved it and when.
#[utoipa::path(get, path = "/deals/{id}/stage-history", tag = "deals", params(("id" = DealId, Path)),
    responses((status = 200, body = Vec<StageChange>), (status = 404, body = Problem)))]
pub(crate) async fn deal_stage_history(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Vec<StageChange>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    Ok(ApiJson(store::stage_history(&mut c, caller.tenant_id, id).await?))
}

/// Archive a deal (undo with `restore`).
#[utoipa::path(post, path = "/deals/{id}/archive", tag = "deals", params(("id" = DealId, Path)),
    responses((status = 200, body = Deal), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_deal(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Deal>> {
    set_archived(state, caller, id, true).await
}

/// Restore an archived deal.
#[utoipa::path(post, path = "/deals/{id}/restore", tag = "deals", params(("id" = DealId, Path)),
    responses((status = 200, body = Deal), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn restore_deal(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Deal>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: DealId, archive: bool) -> ApiResult<ApiJson<Deal>> {
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    caller.ensure_owns(&[Some(before.responsible_id)], "deal")?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    let after = store::set_archived(&mut tx.conn(), caller.tenant_id, id, archive.then(Utc::now)).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "deal", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
