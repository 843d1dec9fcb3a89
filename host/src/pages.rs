//! The managers' web pages: server-rendered HTML in Russian, served by the host itself
//! (no separate front-end build, nothing loaded from the internet), signed in with a
//! password and a session cookie.
//!
//! One way to make a page: a handler in the page's module gathers its data **through the
//! same handlers and services as the REST API** (one source of truth, one set of role
//! rules), then [`render::Page`] renders a template from `assets/pages/` inside the one
//! layout. Forms work without JavaScript (POST, then a redirect); `app.js` only enhances
//! (drag and drop on the kanban, live job progress, lazy kanban columns).
//!
//! Every state-changing request carries the session's CSRF token (checked once, in
//! [`auth::csrf_guard`]); failures become a Russian error page with the request id
//! ([`render::error_pages`]).

pub mod account;
pub mod approvals;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod clients;
pub mod deals;
pub mod jobs;
pub mod leads;
pub mod mail;
pub mod receivables;
pub mod reminders;
pub mod render;
pub mod sales;
pub mod tasks;
pub mod users;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::AppState;

/// Every page route. Tests walk [`PAGE_PATHS`] for the cross-tenant probe.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tasks") }))
        .merge(auth::router())
        .merge(account::router())
        .merge(clients::router())
        .merge(deals::router())
        .merge(approvals::router())
        .merge(tasks::router())
        .merge(receivables::router())
        .merge(jobs::router())
        .merge(leads::router())
        .merge(sales::router())
        .merge(admin::router())
        .merge(users::router())
        .merge(reminders::router())
        .merge(mail::router())
        .layer(axum::middleware::from_fn_with_state(state, auth::csrf_guard))
        .layer(axum::middleware::from_fn(render::error_pages))
        .merge(assets::router())
}

/// The page routes that show one tenant's object by id (`{id}` is replaced by the probe),
/// for the cross-tenant probe: another tenant's object must be a 404 page.
pub const PAGE_PATHS: &[(&str, &str)] = &[
    ("counterparty", "/clients/{id}"),
    ("counterparty", "/clients/{id}/debts"),
    ("counterparty", "/clients/{id}/reminders"),
    ("reminder_rule", "/reminders/rules/{id}"),
    ("reminder_rule", "/reminders/rules/{id}/preview"),
    ("deal", "/deals/{id}"),
    ("deal", "/deals/{id}/credit-application"),
    ("approval", "/approvals/{id}"),
    ("committee_meeting", "/committee-meetings/{id}/protocol"),
    ("sales_document", "/debts/{id}"),
    ("job", "/jobs/{id}"),
    ("lead_import", "/leads/imports/{id}"),
    ("lead_batch", "/leads/batches/{id}"),
    ("module", "/admin/modules/{id}"),
    ("user", "/admin/users/{id}"),
];

/// Why the API refused what a form sent, in words the page shows above the form (`field:
/// message` for each invalid field); any other error becomes the error page.
pub(crate) fn refusal_of(e: crate::api::error::ApiError) -> Result<Vec<String>, crate::api::error::ApiError> {
    use crate::api::error::ApiError;
    match e {
        ApiError::Validation(errs) => Ok(errs.into_iter().map(|e| if e.field.is_empty() { e.message } else { format!("{}: {}", e.field, e.message) }).collect()),
        ApiError::Conflict { detail, .. } | ApiError::Forbidden(detail) | ApiError::BadRequest(detail) => Ok(vec![detail]),
        other => Err(other),
    }
}

/// A posted form's fields in order, repeated keys kept (checkboxes, table rows), for the
/// forms `axum::Form` cannot read into a struct.
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(crate) fn parse(body: &str) -> Fields {
        Fields(form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }
    /// The first value of `key`, trimmed; empty when absent.
    pub(crate) fn one(&self, key: &str) -> String {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    }
    /// As typed: a password keeps its spaces (the policy refuses them, it does not trim them).
    pub(crate) fn raw(&self, key: &str) -> String {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }
    /// Every value of `key` in order, trimmed.
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim().to_string()).collect()
    }
}

/// Query parameters of a page's filter form, read like the API's [`crate::api::extract::Query`]
/// but without the empty fields a form sends for "any" (`responsible_id=`).
pub struct Filters<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Filters<T> {
    type Rejection = render::PageError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let kept: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        for (k, v) in &kept {
            crate::validation::text_without_nul(k, v).map_err(crate::api::error::ApiError::from)?;
        }
        let q = form_urlencoded::Serializer::new(String::new()).extend_pairs(kept.iter()).finish();
        serde_urlencoded::from_str(&q).map(Filters).map_err(|e| crate::api::error::ApiError::field("query", e.to_string()).into())
    }
}
