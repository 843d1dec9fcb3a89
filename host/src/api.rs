//! The HTTP surface: `/api/v1` routes from every domain module, the OpenAPI 3.1
//! document generated from the same route list, the docs page, health probes, and the
//! layers every request passes (request id, tracing, body limit, panic guard).

pub mod download;
pub mod error;
pub mod extract;
pub mod json;
pub mod multipart;
pub mod pagination;
pub mod responses;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_scalar::{Scalar, Servable};

use crate::AppState;
use error::ApiError;
use responses::ErrorResponses;

pub const API_PREFIX: &str = "/api/v1";
const JSON_BODY_LIMIT: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Receivables & deals CRM API",
        description = "Tenant-scoped CRM for finance companies. Authenticate with `Authorization: Bearer <token>`; \
                       errors are RFC 9457 problem documents; money is a decimal string; lists use `limit`/`cursor`.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    // Schemas named only by query parameters (`IntoParams` refers to them by `$ref`).
    components(schemas(crate::receivables::aging::AgingSort, crate::receivables::routes::ExportFormat, crate::counterparties::store::DebtState)),
    tags(
        (name = "tenancy", description = "The tenant, users, roles and API tokens"),
        (name = "counterparties", description = "Clients and other counterparties"),
        (name = "legal-entities", description = "The tenant's own legal entities"),
        (name = "contacts", description = "People and relationships"),
        (name = "pipelines", description = "Deal pipelines and stages"),
        (name = "deals", description = "Deals and their stage history, stop reasons, suppliers and buyers, checklists"),
        (name = "approvals", description = "Approval routes through the services (legal, security, credit, risk), the approver's inbox, delegations, collegial bodies and their protocols"),
        (name = "interactions", description = "Calls, meetings, e-mails, notes"),
        (name = "tasks", description = "Tasks with checklists"),
        (name = "documents", description = "Uploaded files"),
        (name = "timeline", description = "What happened on a counterparty or deal"),
        (name = "audit", description = "Who changed what"),
        (name = "plugins", description = "Plugin registry, per-tenant modules and the plugin run log"),
        (name = "receivables", description = "Debts synced from the accounting system (1C): \"Owed to us\", payer ratings, penalties, claim letters"),
        (name = "reminders", description = "Dunning: reminder rules and settings (ФЗ-230 figures), the daily plan and its messages, disputes, promises to pay, why a client got a reminder"),
        (name = "jobs", description = "Background jobs such as the 1C sync: progress and reports"),
        (name = "mail", description = "Outgoing e-mail queued by plugins and the host"),
        (name = "leads", description = "Clients and leads imported from spreadsheets (XLSX/CSV): preview, import job, telemarketing batches"),
        (name = "templates", description = "Document templates per tenant (claim letters and every other print form): shipped Russian defaults, their variables, replace, reset, preview"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("crm token").build()),
        );
    }
}

/// Every `/api/v1` route, with its OpenAPI description. Tests walk this list (the
/// cross-tenant probe), so a route added here is probed without anyone remembering.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(crate::tenancy::routes::router())
        .merge(crate::counterparties::routes::router())
        .merge(crate::legal_entities::routes::router())
        .merge(crate::contacts::routes::router())
        .merge(crate::deals::routes::router())
        .merge(crate::deals::factoring::router())
        .merge(crate::deals::terms::router())
        .merge(crate::approvals::routes::router())
        .merge(crate::interactions::routes::router())
        .merge(crate::tasks::routes::router())
        .merge(crate::documents::routes::router())
        .merge(crate::timeline::routes::router())
        .merge(crate::audit::routes::router())
        .merge(crate::plugins::routes::router())
        .merge(crate::receivables::routes::router())
        .merge(crate::reminders::routes::router())
        .merge(crate::jobs::routes::router())
        .merge(crate::mail::routes::router())
        .merge(crate::templates::routes::router())
        .merge(crate::leads::routes::router())
        .merge(crate::sales::routes::router())
}

/// The routes and their OpenAPI document, with the error responses every operation
/// shares added by [`ErrorResponses`] (they depend on the operations, so they are added
/// once all routes are in).
fn routes_and_document() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut api) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest(API_PREFIX, api_routes())
        .split_for_parts();
    ErrorResponses.modify(&mut api);
    (router, api)
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes_and_document().1
}

/// The whole application: what `crm serve` runs and what tests drive in-process.
pub fn app(state: AppState) -> Router {
    let (api_router, api) = routes_and_document();
    let spec = std::sync::Arc::new(api.clone());
    Router::new()
        .merge(api_router)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let spec = spec.clone();
                async move { axum::Json((*spec).clone()) }
            }),
        )
        .merge(Scalar::with_url("/api/v1/docs", api).custom_html(include_str!("../assets/scalar/docs.html")))
        .route("/api/v1/docs/scalar.js", get(scalar_js))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(crate::pages::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let rid = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %rid)
                        })
                        .on_request(())
                        .on_response(|res: &axum::http::Response<_>, latency: Duration, _span: &tracing::Span| {
                            tracing::debug!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1e3, "response");
                        }),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
                })),
        )
}

/// The API docs page's script, served from the binary (see `host/assets/scalar/README.md`).
async fn scalar_js() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (axum::http::header::CACHE_CONTROL, "public, max-age=86400")],
        include_str!("../assets/scalar/standalone.js"),
    )
}

/// An unknown API path is a problem document; any other path is the pages' Russian 404.
async fn not_found(req: Request<axum::body::Body>) -> Response {
    if req.uri().path().starts_with("/api/") {
        return ApiError::NoSuchRoute.into_response();
    }
    let rid = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    crate::pages::render::not_found_page(rid)
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
