use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use crate::api::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem, Violations};
use crate::api::json::{ApiJson, apply_patch};
use crate::api::multipart::Multipart;
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::deals::DealId;
use crate::interactions::InteractionId;
use crate::links::Links;
use crate::tasks::TaskId;
use crate::tenancy::{Action, Caller};
use crate::timeline::{self, EventKind, NewEvent};

use super::blobs::StageError;
use super::store::{self, NewDocument};
use super::{Document, DocumentId, DocumentUpdate};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_documents, upload_document))
        // Uploads stream to disk and enforce `--max-upload-mb` themselves.
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(get_document, update_document))
        .routes(routes!(download_document))
        .routes(routes!(archive_document))
        .routes(routes!(restore_document))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentFilter {
    /// Search in file name and kind.
    pub q: Option<String>,
    pub kind: Option<String>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub task_id: Option<TaskId>,
    pub interaction_id: Option<InteractionId>,
    #[serde(default)]
    pub include_archived: bool,
}

/// List and search documents, newest first.
#[utoipa::path(get, path = "/documents", tag = "documents", params(DocumentFilter, PageParams),
    responses((status = 200, body = Page<Document>)))]
pub(crate) async fn list_documents(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<DocumentFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<Document>>> {
    let limit = page.limit()?;
    let filter = store::Filter {
        q: f.q.as_deref().filter(|q| !q.trim().is_empty()),
        kind: f.kind.as_deref(),
        counterparty_id: f.counterparty_id,
        deal_id: f.deal_id,
        task_id: f.task_id,
        interaction_id: f.interaction_id,
        include_archived: f.include_archived,
    };
    let mut c = state.db.read().await?;
    let rows = store::list(&mut c.conn(), caller.tenant_id, &filter, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |d| d.id.0)))
}

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file (its name and content type are taken from the part).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the document is, e.g. `contract`, `conclusion`, `claim`.
    kind: String,
    counterparty_id: Option<CounterpartyId>,
    deal_id: Option<DealId>,
    task_id: Option<TaskId>,
    interaction_id: Option<InteractionId>,
}

fn parse_id<T: std::str::FromStr>(field: &str, value: &str) -> ApiResult<T> {
    value.trim().parse().map_err(|_| ApiError::field(field.to_string(), "is not an id"))
}

/// Upload a file (`multipart/form-data`: `file`, `kind`, and at least one of
/// `counterparty_id`, `deal_id`, `task_id`, `interaction_id`).
#[utoipa::path(post, path = "/documents", tag = "documents", request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Document), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn upload_document(State(state): State<AppState>, caller: Caller, mut form: Multipart) -> ApiResult<(StatusCode, ApiJson<Document>)> {
    caller.ensure(Action::WriteCrm)?;
    let max = state.config.max_upload_bytes() as u64;
    let mut staged = None;
    let mut file_name = String::new();
    let mut explicit_name: Option<String> = None;
    let mut content_type = String::from("application/octet-stream");
    let mut kind = String::new();
    let mut links = Links::default();
    let bad_form = |e: axum::extract::multipart::MultipartError| ApiError::BadRequest(format!("The multipart body is malformed: {e}"));
    let result: ApiResult<()> = async {
        while let Some(field) = form.next_field().await.map_err(bad_form)? {
            let name = field.name().unwrap_or_default().to_string();
            match name.as_str() {
                "file" => {
                    file_name = field.file_name().unwrap_or_default().to_string();
                    crate::validation::text_without_nul("file", &file_name)?;
                    if let Some(ct) = field.content_type() {
                        content_type = ct.to_string();
                    }
                    let s = state.blobs.stage(field, max).await.map_err(|e| match e {
                        StageError::TooLarge(n) => ApiError::PayloadTooLarge(format!(
                            "The file is larger than the {} MB limit (--max-upload-mb).",
                            n / (1024 * 1024)
                        )),
                        StageError::Read(m) => ApiError::BadRequest(format!("The upload was cut short: {m}")),
                        StageError::Io(e) => ApiError::Internal(anyhow::Error::new(e).context("staging upload")),
                    })?;
                    if let Some(old) = staged.replace(s) {
                        state.blobs.discard(old).await;
                        return Err(ApiError::field("file", "send exactly one file per upload"));
                    }
                }
                other => {
                    let value = field.text().await.map_err(bad_form)?;
                    crate::validation::text_without_nul(other, &value)?;
                    match other {
                        "kind" => kind = value.trim().to_string(),
                        "name" | "file_name" => explicit_name = Some(value.trim().to_string()),
                        "counterparty_id" => links.counterparty_id = Some(parse_id("counterparty_id", &value)?),
                        "deal_id" => links.deal_id = Some(parse_id("deal_id", &value)?),
                        "task_id" => links.task_id = Some(parse_id("task_id", &value)?),
                        "interaction_id" => links.interaction_id = Some(parse_id("interaction_id", &value)?),
                        unknown => return Err(ApiError::field(unknown.to_string(), "is not a field of a document upload")),
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    if let Some(name) = explicit_name.filter(|n| !n.is_empty()) {
        file_name = name;
    }
    let Some(staged) = staged else {
        result?;
        return Err(ApiError::field("file", "attach the file as a part named `file`"));
    };
    let outcome = store_upload(&state, &caller, &staged, result, kind, file_name, content_type, links).await;
    match outcome {
        Ok(doc) => {
            state.blobs.commit(caller.tenant_id, staged).await.map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("storing upload")))?;
            // The row becomes visible only now that its content is in place.
            doc.1.commit().await?;
            Ok((StatusCode::CREATED, ApiJson(doc.0)))
        }
        Err(e) => {
            state.blobs.discard(staged).await;
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn store_upload(
    state: &AppState,
    caller: &Caller,
    staged: &super::blobs::Staged,
    form_result: ApiResult<()>,
    kind: String,
    file_name: String,
    content_type: String,
    links: Links,
) -> ApiResult<(Document, crate::db::Tx)> {
    form_result?;
    let mut v = Violations::new();
    v.check(!kind.is_empty(), "kind", "say what the document is, e.g. contract");
    v.check(!file_name.is_empty(), "file", "the file part needs a file name (or send `name`)");
    v.finish()?;
    crate::links::require_any(&links, "counterparty_id", "attach the document to a counterparty, deal, task or interaction")?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let mut links = crate::links::resolve(&mut c, caller.tenant_id, links).await?;
    // A file on a task or interaction shows in the timeline of what those are about.
    if let Some(task) = links.task_id
        && let Some(t) = crate::tasks::store::get(&mut c, caller.tenant_id, task).await? {
            links.counterparty_id = links.counterparty_id.or(t.counterparty_id);
            links.deal_id = links.deal_id.or(t.deal_id);
        }
    if let Some(it) = links.interaction_id
        && let Some(i) = crate::interactions::get(&mut c, caller.tenant_id, it).await? {
            links.counterparty_id = links.counterparty_id.or(i.counterparty_id);
            links.deal_id = links.deal_id.or(i.deal_id);
        }
    let doc = store::insert(&mut c, caller.tenant_id, caller.user_id, &NewDocument {
        kind: &kind,
        file_name: &file_name,
        content_type: &content_type,
        size_bytes: staged.size as i64,
        sha256: &staged.sha256,
        links,
    })
    .await?;
    timeline::record(&mut c, caller.tenant_id, NewEvent {
        kind: EventKind::DocumentAttached,
        entity_type: "document",
        entity_id: doc.id.0,
        counterparty_id: doc.counterparty_id,
        deal_id: doc.deal_id,
        summary: format!("Документ загружен: {} ({})", doc.file_name, doc.kind),
        actor_id: Some(caller.user_id),
        occurred_at: doc.created_at,
    })
    .await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(caller), "document", doc.id.0, AuditAction::Create, None, &doc).await?;
    Ok((doc, tx))
}

/// Read a document's description.
#[utoipa::path(get, path = "/documents/{id}", tag = "documents", params(("id" = DocumentId, Path)),
    responses((status = 200, body = Document), (status = 404, body = Problem)))]
async fn get_document(State(state): State<AppState>, caller: Caller, Path(id): Path<DocumentId>) -> ApiResult<ApiJson<Document>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("document"))?))
}

/// Download a document's content.
#[utoipa::path(get, path = "/documents/{id}/content", tag = "documents", params(("id" = DocumentId, Path)),
    responses((status = 200, description = "The file, with the media type it was uploaded with", content_type = "*/*"), (status = 404, body = Problem)))]
pub(crate) async fn download_document(State(state): State<AppState>, caller: Caller, Path(id): Path<DocumentId>) -> ApiResult<Response> {
    let doc = {
        let mut c = state.db.read().await?;
        store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("document"))?
    };
    let file = state
        .blobs
        .open(caller.tenant_id, &doc.sha256)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context(format!("content of document {id} is missing"))))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&doc.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(doc.size_bytes as u64));
    h.insert(header::CONTENT_DISPOSITION, crate::api::download::content_disposition("attachment", &doc.file_name));
    Ok(res)
}

/// Rename a document or change its kind (JSON merge patch).
#[utoipa::path(patch, path = "/documents/{id}", tag = "documents", params(("id" = DocumentId, Path)),
    request_body(content = DocumentUpdate, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Document), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<DocumentId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<Document>> {
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("document"))?;
    caller.ensure_owns(&[Some(before.uploaded_by)], "document")?;
    let current = DocumentUpdate { kind: before.kind.clone(), file_name: before.file_name.clone() };
    let u: DocumentUpdate = apply_patch(&current, &patch)?;
    let mut v = Violations::new();
    v.check(!u.kind.trim().is_empty(), "kind", "must not be empty");
    v.check(!u.file_name.trim().is_empty(), "file_name", "must not be empty");
    v.finish()?;
    let after = store::update(&mut tx.conn(), caller.tenant_id, id, u.kind.trim(), u.file_name.trim()).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "document", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Archive a document (undo with `restore`). Its content is kept.
#[utoipa::path(post, path = "/documents/{id}/archive", tag = "documents", params(("id" = DocumentId, Path)),
    responses((status = 200, body = Document), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_document(State(state): State<AppState>, caller: Caller, Path(id): Path<DocumentId>) -> ApiResult<ApiJson<Document>> {
    set_archived(state, caller, id, true).await
}

/// Restore an archived document.
#[utoipa::path(post, path = "/documents/{id}/restore", tag = "documents", params(("id" = DocumentId, Path)),
    responses((status = 200, body = Document), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn restore_document(State(state): State<AppState>, caller: Caller, Path(id): Path<DocumentId>) -> ApiResult<ApiJson<Document>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: DocumentId, archive: bool) -> ApiResult<ApiJson<Document>> {
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("document"))?;
    caller.ensure_owns(&[Some(before.uploaded_by)], "document")?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    let after = store::set_archived(&mut tx.conn(), caller.tenant_id, id, archive.then(Utc::now)).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "document", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
