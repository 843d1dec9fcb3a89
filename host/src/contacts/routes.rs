use axum::extract::State;
use crate::api::extract::{Path, Query};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::json::{ApiJson, apply_patch};
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::{self, CounterpartyId};
use crate::db::Conn;
use crate::tenancy::{Action, Caller};

use super::model::{Contact, ContactId, ContactInput, Party, Relationship, RelationshipId, RelationshipInput};
use super::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, update_contact))
        .routes(routes!(archive_contact))
        .routes(routes!(restore_contact))
        .routes(routes!(contact_relationships))
        .routes(routes!(counterparty_relationships))
        .routes(routes!(create_relationship))
        .routes(routes!(get_relationship))
        .routes(routes!(archive_relationship))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactFilter {
    /// Search in name, position, phones and e-mails.
    pub q: Option<String>,
    pub counterparty_id: Option<CounterpartyId>,
    #[serde(default)]
    pub include_archived: bool,
}

/// List contacts, newest first.
#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ContactFilter, PageParams),
    responses((status = 200, body = Page<Contact>)))]
pub(crate) async fn list_contacts(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<ContactFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<Contact>>> {
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let q = f.q.as_deref().filter(|q| !q.trim().is_empty());
    let rows = store::list(&mut c.conn(), caller.tenant_id, q, f.counterparty_id, f.include_archived, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id.0)))
}

async fn check_counterparty(c: &mut Conn<'_>, caller: &Caller, field: &str, id: Option<CounterpartyId>) -> ApiResult<()> {
    if let Some(id) = id
        && !counterparties::store::exists(c, caller.tenant_id, id).await? {
            return Err(ApiError::field(field, "no counterparty with this id in your tenant"));
        }
    Ok(())
}

/// Create a contact.
#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = ContactInput,
    responses((status = 201, body = Contact), (status = 422, body = Problem)))]
async fn create_contact(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut input): ApiJson<ContactInput>,
) -> ApiResult<(StatusCode, ApiJson<Contact>)> {
    caller.ensure(Action::WriteCrm)?;
    input.normalize_and_validate()?;
    let mut tx = state.db.begin().await?;
    check_counterparty(&mut tx.conn(), &caller, "counterparty_id", input.counterparty_id).await?;
    let contact = store::insert(&mut tx.conn(), caller.tenant_id, &input).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "contact", contact.id.0, AuditAction::Create, None, &contact).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(contact)))
}

/// Read a contact.
#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem)))]
async fn get_contact(State(state): State<AppState>, caller: Caller, Path(id): Path<ContactId>) -> ApiResult<ApiJson<Contact>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("contact"))?))
}

/// Change a contact (JSON merge patch).
#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)),
    request_body(content = ContactInput, content_type = "application/merge-patch+json", description = "Fields to change"),
    responses((status = 200, body = Contact), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ContactId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<Contact>> {
    caller.ensure(Action::WriteCrm)?;
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("contact"))?;
    let mut input: ContactInput = apply_patch(&ContactInput::from(&before), &patch)?;
    input.normalize_and_validate()?;
    if input.counterparty_id != before.counterparty_id {
        check_counterparty(&mut tx.conn(), &caller, "counterparty_id", input.counterparty_id).await?;
    }
    let after = store::update(&mut tx.conn(), caller.tenant_id, id, &input).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "contact", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Archive a contact (undo with `restore`).
#[utoipa::path(post, path = "/contacts/{id}/archive", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem)))]
async fn archive_contact(State(state): State<AppState>, caller: Caller, Path(id): Path<ContactId>) -> ApiResult<ApiJson<Contact>> {
    set_archived(state, caller, id, true).await
}

/// Restore an archived contact.
#[utoipa::path(post, path = "/contacts/{id}/restore", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem)))]
async fn restore_contact(State(state): State<AppState>, caller: Caller, Path(id): Path<ContactId>) -> ApiResult<ApiJson<Contact>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: ContactId, archive: bool) -> ApiResult<ApiJson<Contact>> {
    caller.ensure(Action::WriteCrm)?;
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("contact"))?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    let after = store::set_archived(&mut tx.conn(), caller.tenant_id, id, archive.then(chrono::Utc::now)).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "contact", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Relationships of a contact.
#[utoipa::path(get, path = "/contacts/{id}/relationships", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 200, body = Vec<Relationship>), (status = 404, body = Problem)))]
async fn contact_relationships(State(state): State<AppState>, caller: Caller, Path(id): Path<ContactId>) -> ApiResult<ApiJson<Vec<Relationship>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("contact"))?;
    Ok(ApiJson(store::relationships_of(&mut c, caller.tenant_id, Party::Contact(id)).await?))
}

/// Relationships of a counterparty (holding structure, employees, related parties).
#[utoipa::path(get, path = "/counterparties/{id}/relationships", tag = "contacts", params(("id" = CounterpartyId, Path)),
    responses((status = 200, body = Vec<Relationship>), (status = 404, body = Problem)))]
async fn counterparty_relationships(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>) -> ApiResult<ApiJson<Vec<Relationship>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    counterparties::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    Ok(ApiJson(store::relationships_of(&mut c, caller.tenant_id, Party::Counterparty(id)).await?))
}

async fn check_party(c: &mut Conn<'_>, caller: &Caller, field: &str, p: Party) -> ApiResult<()> {
    let ok = match p {
        Party::Counterparty(id) => counterparties::store::exists(c, caller.tenant_id, id).await?,
        Party::Contact(id) => store::exists(c, caller.tenant_id, id).await?,
    };
    if ok { Ok(()) } else { Err(ApiError::field(field, "no such counterparty or contact in your tenant")) }
}

/// Relate two parties, e.g. `{"kind":"employee_of","from":{"type":"contact","id":…},"to":{"type":"counterparty","id":…}}`.
#[utoipa::path(post, path = "/relationships", tag = "contacts", request_body = RelationshipInput,
    responses((status = 201, body = Relationship), (status = 422, body = Problem)))]
async fn create_relationship(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<RelationshipInput>,
) -> ApiResult<(StatusCode, ApiJson<Relationship>)> {
    caller.ensure(Action::WriteCrm)?;
    if input.from == input.to {
        return Err(ApiError::field("to", "a party cannot be related to itself"));
    }
    if input.kind == super::model::RelationshipKind::EmployeeOf
        && !(matches!(input.from, Party::Contact(_)) && matches!(input.to, Party::Counterparty(_)))
    {
        return Err(ApiError::field("kind", "employee_of goes from a contact to a counterparty"));
    }
    let mut tx = state.db.begin().await?;
    check_party(&mut tx.conn(), &caller, "from", input.from).await?;
    check_party(&mut tx.conn(), &caller, "to", input.to).await?;
    let rel = store::insert_relationship(&mut tx.conn(), caller.tenant_id, &input).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "relationship", rel.id.0, AuditAction::Create, None, &rel).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(rel)))
}

/// Read a relationship.
#[utoipa::path(get, path = "/relationships/{id}", tag = "contacts", params(("id" = RelationshipId, Path)),
    responses((status = 200, body = Relationship), (status = 404, body = Problem)))]
async fn get_relationship(State(state): State<AppState>, caller: Caller, Path(id): Path<RelationshipId>) -> ApiResult<ApiJson<Relationship>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get_relationship(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("relationship"))?))
}

/// End a relationship (it stays in the audit log).
#[utoipa::path(post, path = "/relationships/{id}/archive", tag = "contacts", params(("id" = RelationshipId, Path)),
    responses((status = 200, body = Relationship), (status = 404, body = Problem)))]
async fn archive_relationship(State(state): State<AppState>, caller: Caller, Path(id): Path<RelationshipId>) -> ApiResult<ApiJson<Relationship>> {
    caller.ensure(Action::WriteCrm)?;
    let mut tx = state.db.begin().await?;
    let before = store::get_relationship(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("relationship"))?;
    let after = store::archive_relationship(&mut tx.conn(), caller.tenant_id, id).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "relationship", id.0, AuditAction::Archive, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
