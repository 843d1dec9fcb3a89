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
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::contacts::ContactId;
use crate::counterparties::CounterpartyId;
use crate::deals::DealId;
use crate::receivables::model::SalesDocumentId;
use crate::tenancy::{Action, Caller, UserId};
use crate::timeline::{self, EventKind, NewEvent};

use super::{Filter, Interaction, InteractionId, InteractionInput, InteractionKind};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_interactions, create_interaction))
        .routes(routes!(get_interaction, update_interaction))
        .routes(routes!(archive_interaction))
        .routes(routes!(restore_interaction))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionFilter {
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    /// Interactions about this debt (sales document).
    pub sales_document_id: Option<SalesDocumentId>,
    pub kind: Option<InteractionKind>,
    pub author_id: Option<UserId>,
    #[serde(default)]
    pub include_archived: bool,
}

/// List interactions, newest first.
#[utoipa::path(get, path = "/interactions", tag = "interactions", params(InteractionFilter, PageParams),
    responses((status = 200, body = Page<Interaction>)))]
pub(crate) async fn list_interactions(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<InteractionFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<Interaction>>> {
    let limit = page.limit()?;
    let filter = Filter {
        counterparty_id: f.counterparty_id,
        deal_id: f.deal_id,
        contact_id: f.contact_id,
        sales_document_id: f.sales_document_id,
        kind: f.kind,
        author_id: f.author_id,
        include_archived: f.include_archived,
    };
    let mut c = state.db.read().await?;
    let rows = super::list(&mut c.conn(), caller.tenant_id, &filter, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id.0)))
}

/// Log a call, meeting, e-mail or note.
#[utoipa::path(post, path = "/interactions", tag = "interactions", request_body = InteractionInput,
    responses((status = 201, body = Interaction), (status = 422, body = Problem)))]
async fn create_interaction(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut input): ApiJson<InteractionInput>,
) -> ApiResult<(StatusCode, ApiJson<Interaction>)> {
    caller.ensure(Action::WriteCrm)?;
    input.validate()?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let links = crate::links::resolve(&mut c, caller.tenant_id, input.links()).await?;
    input.counterparty_id = links.counterparty_id;
    let occurred_at = input.occurred_at.unwrap_or_else(Utc::now);
    let it = super::insert(&mut c, caller.tenant_id, caller.user_id, &input, occurred_at).await?;
    timeline::record(&mut c, caller.tenant_id, NewEvent {
        kind: EventKind::Interaction,
        entity_type: "interaction",
        entity_id: it.id.0,
        counterparty_id: it.counterparty_id,
        deal_id: it.deal_id,
        summary: format!("{}: {}", it.kind.label(), it.subject),
        actor_id: Some(caller.user_id),
        occurred_at,
    })
    .await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "interaction", it.id.0, AuditAction::Create, None, &it).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(it)))
}

/// Read an interaction.
#[utoipa::path(get, path = "/interactions/{id}", tag = "interactions", params(("id" = InteractionId, Path)),
    responses((status = 200, body = Interaction), (status = 404, body = Problem)))]
async fn get_interaction(State(state): State<AppState>, caller: Caller, Path(id): Path<InteractionId>) -> ApiResult<ApiJson<Interaction>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(super::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("interaction"))?))
}

/// Correct an interaction (JSON merge patch; authors, heads and admins).
#[utoipa::path(patch, path = "/interactions/{id}", tag = "interactions", params(("id" = InteractionId, Path)),
    request_body(content = InteractionInput, content_type = "application/merge-patch+json", description = "Fields to change"),
    responses((status = 200, body = Interaction), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_interaction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<InteractionId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<Interaction>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = super::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("interaction"))?;
    caller.ensure_owns(&[Some(before.author_id)], "interaction")?;
    let mut input: InteractionInput = apply_patch(&InteractionInput::from(&before), &patch)?;
    input.validate()?;
    if (input.counterparty_id, input.deal_id, input.contact_id, input.sales_document_id)
        != (before.counterparty_id, before.deal_id, before.contact_id, before.sales_document_id)
    {
        let links = crate::links::resolve(&mut c, caller.tenant_id, input.links()).await?;
        input.counterparty_id = links.counterparty_id;
    }
    let after = super::update(&mut c, caller.tenant_id, id, &input, input.occurred_at.unwrap_or(before.occurred_at)).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "interaction", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Archive an interaction (undo with `restore`).
#[utoipa::path(post, path = "/interactions/{id}/archive", tag = "interactions", params(("id" = InteractionId, Path)),
    responses((status = 200, body = Interaction), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_interaction(State(state): State<AppState>, caller: Caller, Path(id): Path<InteractionId>) -> ApiResult<ApiJson<Interaction>> {
    set_archived(state, caller, id, true).await
}

/// Restore an archived interaction.
#[utoipa::path(post, path = "/interactions/{id}/restore", tag = "interactions", params(("id" = InteractionId, Path)),
    responses((status = 200, body = Interaction), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn restore_interaction(State(state): State<AppState>, caller: Caller, Path(id): Path<InteractionId>) -> ApiResult<ApiJson<Interaction>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: InteractionId, archive: bool) -> ApiResult<ApiJson<Interaction>> {
    let mut tx = state.db.begin().await?;
    let before = super::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("interaction"))?;
    caller.ensure_owns(&[Some(before.author_id)], "interaction")?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    let after = super::set_archived(&mut tx.conn(), caller.tenant_id, id, archive.then(Utc::now)).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "interaction", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
