//! The one API error type. Every failure leaves the server as RFC 9457
//! `application/problem+json` naming what is wrong; internal errors are logged with
//! context and reach the client only as a request id to quote.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One offending input: a JSON pointer-like path (`inn`, `params.limit`, `checklist[2].text`)
/// and what is wrong with it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the offending field in the request (`inn`, `params.limit`).
    pub field: String,
    /// What is wrong and, where it helps, what to send instead.
    pub message: String,
    /// For a field holding text with lines (a template): the line at fault, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The column in that line, from 1, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), line: None, column: None }
    }

    /// The same error, placed at a line (and column) of the field's text.
    pub fn at(self, line: Option<usize>, column: Option<usize>) -> Self {
        Self { line, column, ..self }
    }
}

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

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if crate::db::is_unique_violation(&err) {
            return ApiError::Conflict {
                detail: "A record with the same unique values already exists.".into(),
                field: None,
            };
        }
        if let sqlx::Error::Database(e) = &err
            && e.is_foreign_key_violation() {
                return ApiError::Validation(vec![FieldError::new(
                    "body",
                    "refers to a record that does not exist in your tenant",
                )]);
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
        res
    }
}

/// Collects field errors from a validation pass; `finish` fails if any were found.
#[derive(Default, Debug)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.add(field, message);
        }
    }
    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.0)) }
    }
}
