//! The templates API: list the document kinds, read a kind's template with its documented
//! variables, replace it (admins; checked first), reset it to the shipped default, and
//! preview it (or a draft) with sample data as HTML or PDF. Also the one call other domains
//! make to render a tenant's document ([`tenant_document`]).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, FieldError, Problem};
use crate::api::extract::Path;
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, AuditAction};
use crate::tenancy::{Action, Caller, TenantId, UserId};

use super::engine::{self, Format, TemplateError};
use super::{KINDS, TemplateKind, Variable, filters, store};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates))
        .routes(routes!(get_template, replace_template))
        .routes(routes!(default_template))
        .routes(routes!(reset_template))
        .routes(routes!(preview_template))
}

impl From<TemplateError> for ApiError {
    /// A template sent by the caller is refused with every problem, each naming its line.
    fn from(e: TemplateError) -> ApiError {
        match e {
            TemplateError::UnknownKind(_) => ApiError::NotFound("template kind"),
            TemplateError::TooLarge { size, limit } => ApiError::Validation(vec![FieldError::new(
                "source",
                format!("the template is {} KiB; a template may be at most {} KiB", size.div_ceil(1024), limit / 1024),
            )]),
            TemplateError::Invalid(problems) => ApiError::Validation(
                problems.iter().map(|p| FieldError::new("source", p.to_string()).at(p.line, p.column)).collect(),
            ),
            TemplateError::Pdf(e) => ApiError::Internal(anyhow::anyhow!("rendering a PDF: {e}")),
        }
    }
}

/// A document kind and whether the tenant replaced its template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateSummary {
    /// The kind's key, e.g. `claim_letter`.
    pub key: String,
    /// Its Russian title.
    pub title: String,
    pub description: String,
    /// The tenant uses its own template (otherwise the shipped default).
    pub customised: bool,
    /// When the tenant's template was stored.
    pub updated_at: Option<DateTime<Utc>>,
    /// Who stored it.
    pub updated_by: Option<UserId>,
    pub updated_by_name: Option<String>,
}

/// A filter templates may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilterDoc {
    pub name: String,
    pub description: String,
}

/// Sample data a preview can use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SampleInfo {
    pub key: String,
    pub title: String,
}

/// A kind's template as the tenant's documents are made from it, with what it may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateView {
    pub key: String,
    pub title: String,
    pub description: String,
    /// The template text (Jinja syntax producing the document markup, see docs/templates.md).
    pub source: String,
    /// The text is the shipped default (the tenant has not replaced it).
    pub is_default: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<UserId>,
    pub updated_by_name: Option<String>,
    /// Every variable the template gets.
    pub variables: Vec<Variable>,
    /// The formatting filters every template may use.
    pub filters: Vec<FilterDoc>,
    /// Sample data for previews; the first is the default.
    pub samples: Vec<SampleInfo>,
}

/// The shipped default template of a kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DefaultTemplate {
    pub key: String,
    pub source: String,
}

/// A new template text for a kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The template text (at most 256 KiB).
    pub source: String,
}

/// What to preview.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A draft to preview instead of the stored template (admins); it is checked the same
    /// way as when it is stored, and not stored.
    pub source: Option<String>,
    /// Which sample data (default: the kind's first sample).
    pub sample: Option<String>,
    /// `html` (default) or `pdf`.
    pub format: Option<Format>,
}

/// How the audit log shows a kind's template.
#[derive(Debug, Serialize)]
struct Audited<'a> {
    kind: &'a str,
    source: &'a str,
    is_default: bool,
}

/// A stable id for audit entries about a kind's template (they are keyed by kind).
fn audit_id(kind: &TemplateKind) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("template:{}", kind.key).as_bytes())
}

fn summary(kind: &TemplateKind, stored: Option<&store::StoredTemplate>) -> TemplateSummary {
    TemplateSummary {
        key: kind.key.to_owned(),
        title: kind.title.to_owned(),
        description: kind.description.to_owned(),
        customised: stored.is_some(),
        updated_at: stored.map(|s| s.updated_at),
        updated_by: stored.and_then(|s| s.updated_by),
        updated_by_name: stored.and_then(|s| s.updated_by_name.clone()),
    }
}

fn view(kind: &TemplateKind, stored: Option<store::StoredTemplate>) -> TemplateView {
    let s = summary(kind, stored.as_ref());
    TemplateView {
        key: s.key,
        title: s.title,
        description: s.description,
        source: stored.map_or_else(|| kind.default_source.to_owned(), |t| t.source),
        is_default: !s.customised,
        updated_at: s.updated_at,
        updated_by: s.updated_by,
        updated_by_name: s.updated_by_name,
        variables: kind.variables.to_vec(),
        filters: filters::FILTERS.iter().map(|(n, d)| FilterDoc { name: (*n).to_owned(), description: (*d).to_owned() }).collect(),
        samples: (kind.samples)().iter().map(|s| SampleInfo { key: s.key.to_owned(), title: s.title.to_owned() }).collect(),
    }
}

/// The document kinds with templates, and which of them your tenant replaced.
#[utoipa::path(get, path = "/templates", tag = "templates", responses((status = 200, body = Vec<TemplateSummary>)))]
async fn list_templates(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<TemplateSummary>>> {
    let mut c = state.db.read().await?;
    let stored = store::list(&mut c.conn(), caller.tenant_id).await?;
    Ok(ApiJson(KINDS.iter().map(|k| summary(k, stored.iter().find(|s| s.kind == k.key))).collect()))
}

/// A kind's template as your tenant's documents are made from it: the text, whether it is
/// the shipped default, who changed it, the variables it gets and the filters it may use.
#[utoipa::path(get, path = "/templates/{key}", tag = "templates", params(("key" = String, Path, description = "the kind, e.g. `claim_letter`")),
    responses((status = 200, body = TemplateView), (status = 404, body = Problem)))]
async fn get_template(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<ApiJson<TemplateView>> {
    let kind = super::kind(&key)?;
    let mut c = state.db.read().await?;
    let stored = store::get(&mut c.conn(), caller.tenant_id, kind.key).await?;
    Ok(ApiJson(view(kind, stored)))
}

/// The shipped Russian default template of a kind (what `reset` goes back to).
#[utoipa::path(get, path = "/templates/{key}/default", tag = "templates", params(("key" = String, Path, description = "the kind")),
    responses((status = 200, body = DefaultTemplate), (status = 404, body = Problem)))]
async fn default_template(_caller: Caller, Path(key): Path<String>) -> ApiResult<ApiJson<DefaultTemplate>> {
    let kind = super::kind(&key)?;
    Ok(ApiJson(DefaultTemplate { key: kind.key.to_owned(), source: kind.default_source.to_owned() }))
}

/// Replace a kind's template for your tenant (admins). The text is checked first — syntax,
/// variables against the documented ones, filters, and a trial render of every sample into
/// valid markup; a template with problems is refused with each problem's line and never stored.
#[utoipa::path(put, path = "/templates/{key}", tag = "templates", params(("key" = String, Path, description = "the kind")),
    request_body = TemplateInput,
    responses((status = 200, body = TemplateView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn replace_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<ApiJson<TemplateView>> {
    let kind = super::kind(&key)?;
    caller.ensure(Action::Configure)?;
    let source = input.source;
    let source = tokio::task::spawn_blocking(move || engine::check(kind, &source).map(|()| source))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get(&mut c, caller.tenant_id, kind.key).await?;
    store::put(&mut c, caller.tenant_id, kind.key, &source, caller.user_id).await?;
    let before_audit = Audited {
        kind: kind.key,
        source: before.as_ref().map_or(kind.default_source, |b| b.source.as_str()),
        is_default: before.is_none(),
    };
    let after_audit = Audited { kind: kind.key, source: &source, is_default: false };
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "template", audit_id(kind), AuditAction::Update, Some(&before_audit), &after_audit)
        .await?;
    let stored = store::get(&mut c, caller.tenant_id, kind.key).await?;
    tx.commit().await?;
    Ok(ApiJson(view(kind, stored)))
}

/// Go back to the shipped default template of a kind (admins). Nothing happens when your
/// tenant uses the default already.
#[utoipa::path(post, path = "/templates/{key}/reset", tag = "templates", params(("key" = String, Path, description = "the kind")),
    responses((status = 200, body = TemplateView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reset_template(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<ApiJson<TemplateView>> {
    let kind = super::kind(&key)?;
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    if let Some(before) = store::get(&mut c, caller.tenant_id, kind.key).await? {
        store::delete(&mut c, caller.tenant_id, kind.key).await?;
        let before_audit = Audited { kind: kind.key, source: &before.source, is_default: false };
        let after_audit = Audited { kind: kind.key, source: kind.default_source, is_default: true };
        audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "template", audit_id(kind), AuditAction::Update, Some(&before_audit), &after_audit)
            .await?;
    }
    tx.commit().await?;
    Ok(ApiJson(view(kind, None)))
}

/// Preview a kind's document with sample data, as HTML (default) or PDF: your tenant's
/// template, or a draft sent as `source` (admins) before it is stored. A draft with problems
/// is refused like `PUT` refuses it.
#[utoipa::path(post, path = "/templates/{key}/preview", tag = "templates", params(("key" = String, Path, description = "the kind")),
    request_body = PreviewRequest,
    responses((status = 200, description = "The document: HTML, or PDF when asked for", content(("text/html"), ("application/pdf"))), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn preview_template(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> ApiResult<Response> {
    let kind = super::kind(&key)?;
    let sample = kind.sample(req.sample.as_deref()).ok_or_else(|| {
        let keys: Vec<String> = (kind.samples)().iter().map(|s| s.key.to_owned()).collect();
        ApiError::field("sample", format!("`{}` is not a sample of {}; use one of {}", req.sample.as_deref().unwrap_or(""), kind.key, keys.join(", ")))
    })?;
    let format = req.format.unwrap_or(Format::Html);
    let draft = req.source.is_some();
    let source = match req.source {
        Some(source) => {
            caller.ensure(Action::Configure)?;
            source
        }
        None => {
            let mut c = state.db.read().await?;
            store::source(&mut c.conn(), caller.tenant_id, kind).await?.0
        }
    };
    let bytes = tokio::task::spawn_blocking(move || {
        if draft {
            engine::check(kind, &source)?;
        }
        engine::render(kind, &source, engine::context(&sample.data), format)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let disposition = crate::api::download::content_disposition("inline", &format!("{}-preview.{}", kind.key, format.extension()));
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, format.content_type().to_owned())], [(header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

/// The format a document route was asked for (`format=pdf`, the default, or `html`); `what`
/// names the document in the error (`the protocol`).
pub fn document_format(asked: Option<&str>, what: &str) -> ApiResult<Format> {
    match asked.unwrap_or("pdf") {
        "pdf" => Ok(Format::Pdf),
        "html" => Ok(Format::Html),
        other => Err(ApiError::field("format", format!("`{other}` is not a format of {what}; use pdf or html"))),
    }
}

/// A rendered document as the answer of a route: its type, and shown inline as `<stem>.pdf|html`.
pub fn document_response(format: Format, stem: &str, bytes: Vec<u8>) -> Response {
    let disposition = crate::api::download::content_disposition("inline", &format!("{stem}.{}", format.extension()));
    (StatusCode::OK, [(header::CONTENT_TYPE, format.content_type().to_string())], [(header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
}

/// Renders a document of `kind` for the tenant from its template (its own, or the default),
/// as HTML or PDF: what a domain's route calls to serve a document. A tenant's own template
/// that fails on this data is the tenant's configuration to fix (409, naming the line);
/// the shipped default failing is a host bug.
pub async fn tenant_document(
    state: &AppState,
    tenant: TenantId,
    kind: &'static TemplateKind,
    data: minijinja::Value,
    format: Format,
) -> ApiResult<Vec<u8>> {
    let (source, customised) = {
        let mut c = state.db.read().await?;
        store::source(&mut c.conn(), tenant, kind).await?
    };
    let rendered = tokio::task::spawn_blocking(move || engine::render(kind, &source, data, format))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    rendered.map_err(|e| match e {
        TemplateError::Invalid(problems) if customised => ApiError::Conflict {
            detail: format!(
                "Your tenant's template «{}» cannot make this document: {}. Fix it with PUT /api/v1/templates/{key} \
                 (preview it first with POST /api/v1/templates/{key}/preview), or go back to the default with \
                 POST /api/v1/templates/{key}/reset.",
                kind.title,
                problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                key = kind.key
            ),
            field: None,
        },
        other => ApiError::Internal(anyhow::anyhow!("rendering the {} template: {other}", kind.key)),
    })
}
