use axum::extract::State;
use crate::api::extract::{Path, Query};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::json::{ApiJson, apply_patch};
use crate::audit::{self, Actor, AuditAction};
use crate::tenancy::{Action, Caller};

use super::{LegalEntity, LegalEntityId, LegalEntityInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entities, create_entity))
        .routes(routes!(get_entity, update_entity))
        .routes(routes!(archive_entity))
        .routes(routes!(restore_entity))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityFilter {
    #[serde(default)]
    pub include_archived: bool,
}

/// The tenant's own legal entities.
#[utoipa::path(get, path = "/legal-entities", tag = "legal-entities", params(EntityFilter), responses((status = 200, body = Vec<LegalEntity>)))]
pub(crate) async fn list_entities(State(state): State<AppState>, caller: Caller, Query(f): Query<EntityFilter>) -> ApiResult<ApiJson<Vec<LegalEntity>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(super::list(&mut c.conn(), caller.tenant_id, f.include_archived).await?))
}

/// Add one of the tenant's own legal entities (admins).
#[utoipa::path(post, path = "/legal-entities", tag = "legal-entities", request_body = LegalEntityInput,
    responses((status = 201, body = LegalEntity), (status = 403, body = Problem),
        (status = 409, description = "Another legal entity has this `accounting_ref`", body = Problem), (status = 422, body = Problem)))]
async fn create_entity(State(state): State<AppState>, caller: Caller, ApiJson(mut input): ApiJson<LegalEntityInput>) -> ApiResult<(StatusCode, ApiJson<LegalEntity>)> {
    caller.ensure(Action::Configure)?;
    input.validate()?;
    let mut tx = state.db.begin().await?;
    let e = super::insert(&mut tx.conn(), caller.tenant_id, &input).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "legal_entity", e.id.0, AuditAction::Create, None, &e).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(e)))
}

/// Read one of the tenant's legal entities.
#[utoipa::path(get, path = "/legal-entities/{id}", tag = "legal-entities", params(("id" = LegalEntityId, Path)),
    responses((status = 200, body = LegalEntity), (status = 404, body = Problem)))]
async fn get_entity(State(state): State<AppState>, caller: Caller, Path(id): Path<LegalEntityId>) -> ApiResult<ApiJson<LegalEntity>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(super::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("legal entity"))?))
}

/// Change one of the tenant's legal entities (admins; JSON merge patch).
#[utoipa::path(patch, path = "/legal-entities/{id}", tag = "legal-entities", params(("id" = LegalEntityId, Path)),
    request_body(content = LegalEntityInput, content_type = "application/merge-patch+json"),
    responses((status = 200, body = LegalEntity), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Another legal entity has this `accounting_ref`", body = Problem), (status = 422, body = Problem)))]
async fn update_entity(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LegalEntityId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<LegalEntity>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let before = super::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("legal entity"))?;
    let mut input: LegalEntityInput = apply_patch(&LegalEntityInput::from(&before), &patch)?;
    input.validate()?;
    let after = super::update(&mut tx.conn(), caller.tenant_id, id, &input).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "legal_entity", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Archive a legal entity (undo with `restore`).
#[utoipa::path(post, path = "/legal-entities/{id}/archive", tag = "legal-entities", params(("id" = LegalEntityId, Path)),
    responses((status = 200, body = LegalEntity), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_entity(State(state): State<AppState>, caller: Caller, Path(id): Path<LegalEntityId>) -> ApiResult<ApiJson<LegalEntity>> {
    set_archived(state, caller, id, true).await
}

/// Restore an archived legal entity.
#[utoipa::path(post, path = "/legal-entities/{id}/restore", tag = "legal-entities", params(("id" = LegalEntityId, Path)),
    responses((status = 200, body = LegalEntity), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn restore_entity(State(state): State<AppState>, caller: Caller, Path(id): Path<LegalEntityId>) -> ApiResult<ApiJson<LegalEntity>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: LegalEntityId, archive: bool) -> ApiResult<ApiJson<LegalEntity>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let before = super::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("legal entity"))?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    let after = super::set_archived(&mut tx.conn(), caller.tenant_id, id, archive.then(Utc::now)).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "legal_entity", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
