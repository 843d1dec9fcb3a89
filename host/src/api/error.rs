//! The one API error type. Every failure leaves the server as RFC 9457
//! `application/problem+json` naming what is wrong; internal errors are logged with
//! context and reach the client only as a request id to quote.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::validation::{FieldError, Violations};

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What happened in this occurrence and what to do about it.
    pub detail: String,
    /// The offending fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthenticated(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("no such route")]
    NoSuchRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("conflict: {detail}")]
    Conflict { detail: String, field: Option<String> },
    #[error("{0}")]
    BadRequest(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// A plugin or an outside service it talks to failed.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// Temporarily unable to serve (plugin calls all in use); try again shortly.
    #[error("busy: {0}")]
    Busy(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A validation error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NoSuchRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let (kind, title, detail, errors) = match self {
            ApiError::Unauthenticated(why) => (
                "unauthenticated",
                "Authentication required",
                format!("{why}. Send `Authorization: Bearer <token>`; an admin issues tokens with `crm admin issue-token`."),
                vec![],
            ),
            ApiError::Forbidden(why) => ("forbidden", "Not allowed for your role", why.clone(), vec![]),
            ApiError::NotFound(what) => (
                "not-found",
                "Not found",
                format!("No {what} with this id exists in your tenant."),
                vec![],
            ),
            ApiError::NoSuchRoute => (
                "not-found",
                "Not found",
                "No such route; the API is described at /api/v1/docs.".to_string(),
                vec![],
            ),
            ApiError::MethodNotAllowed => (
                "method-not-allowed",
                "Method not allowed",
                "This route does not take this HTTP method; the API is described at /api/v1/docs.".to_string(),
                vec![],
            ),
            ApiError::Validation(errors) => {
                let mut names: Vec<&str> = Vec::new();
                for e in errors {
                    if !names.contains(&e.field.as_str()) {
                        names.push(&e.field);
                    }
                }
                (
                    "validation",
                    "Invalid input",
                    format!("Fix the listed fields and send again: {}.", names.join(", ")),
                    errors.clone(),
                )
            }
            ApiError::Conflict { detail, field } => (
                "conflict",
                "Conflicts with existing data",
                detail.clone(),
                field.iter().map(|f| FieldError::new(f.clone(), detail.clone())).collect(),
            ),
            ApiError::BadRequest(detail) => ("bad-request", "Bad request", detail.clone(), vec![]),
            ApiError::PayloadTooLarge(detail) => ("payload-too-large", "Payload too large", detail.clone(), vec![]),
            ApiError::Upstream(detail) => (
                "upstream",
                "A plugin or outside service failed",
                format!("{detail}. Nothing was changed; try again later, and see GET /api/v1/plugin-runs for details."),
                vec![],
            ),
            ApiError::Busy(detail) => ("busy", "Busy, try again shortly", detail.clone(), vec![]),
            ApiError::Internal(_) => (
                "internal",
                "Internal error",
                "The server failed to handle this request. It has been logged; quote the x-request-id header when reporting it.".to_string(),
                vec![],
            ),
        };
        Problem { kind: format!("/problems/{kind}"), title: title.into(), status: status.as_u16(), detail, errors }
    }
}

/// Fields of named constraints whose columns are not the API's field names.
const CONSTRAINT_FIELDS: &[(&str, &str)] = &[
    ("counterparties_inn_key", "inn"),
    ("our_legal_entities_accounting_ref", "accounting_ref"),
    ("users_email_key", "email"),
    ("modules_pkey", "id"),
];

/// The API field a unique or foreign-key violation is about: by the constraint's name
/// where it is known, else from the columns the database names (PostgreSQL's
/// `Key (tenant_id, inn)=…`, SQLite's `UNIQUE constraint failed: t.tenant_id, t.inn`),
/// leaving out `tenant_id`, which no request sends.
fn constraint_field(e: &dyn sqlx::error::DatabaseError) -> Option<String> {
    if let Some(name) = e.constraint()
        && let Some((_, field)) = CONSTRAINT_FIELDS.iter().find(|(c, _)| *c == name)
    {
        return Some((*field).to_string());
    }
    let columns: Vec<String> = if let Some(pg) = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let detail = pg.detail().unwrap_or_default();
        let inner = detail.strip_prefix("Key (").and_then(|d| d.split_once(")=")).map(|(cols, _)| cols).unwrap_or_default();
        inner.split(',').map(|c| c.trim().to_string()).collect()
    } else {
        // SQLite: "UNIQUE constraint failed: t.a, t.b", or a trigger's "FOREIGN KEY constraint failed: t.a".
        let message = e.message();
        let list = message.split_once("failed: ").map(|(_, l)| l).unwrap_or_default();
        list.split(',').map(|c| c.trim().rsplit('.').next().unwrap_or_default().to_string()).collect()
    };
    let fields: Vec<String> = columns.into_iter().filter(|c| !c.is_empty() && c != "tenant_id" && !c.starts_with("COALESCE")).collect();
    (!fields.is_empty()).then(|| fields.join(", "))
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(e) = &err {
            if e.is_unique_violation() {
                let field = constraint_field(e.as_ref());
                let detail = match &field {
                    Some(f) => format!("A record with the same {f} already exists in your tenant."),
                    None => "A record with the same unique values already exists.".into(),
                };
                return ApiError::Conflict { detail, field };
            }
            if e.is_foreign_key_violation() {
                let field = constraint_field(e.as_ref()).unwrap_or_else(|| "body".into());
                return ApiError::Validation(vec![FieldError::new(field, "refers to a record that does not exist in your tenant")]);
            }
        }
        ApiError::Internal(anyhow::Error::new(err).context("database error"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            tracing::error!(error = ?err, "request failed");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

impl From<crate::validation::Invalid> for ApiError {
    fn from(e: crate::validation::Invalid) -> Self {
        ApiError::Validation(e.0)
    }
}

impl From<crate::validation::CheckError> for ApiError {
    fn from(e: crate::validation::CheckError) -> Self {
        match e {
            crate::validation::CheckError::Invalid(i) => i.into(),
            crate::validation::CheckError::Db(e) => e.into(),
        }
    }
}
