use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::tenancy::{Action, Caller};

use super::manifest::Manifest;
use super::service::{self, Module, ModuleInput, module_uuid};
use super::store::{self, PluginRun, PluginVersion};

/// Largest accepted component.
const MAX_COMPONENT_BYTES: usize = 32 << 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_COMPONENT_BYTES + 64 * 1024))
        .routes(routes!(plugin_versions))
        .routes(routes!(list_modules))
        .routes(routes!(get_module, configure_module))
        .routes(routes!(disable_module))
        .routes(routes!(enable_module))
        .routes(routes!(rollback_module))
        .routes(routes!(list_runs))
}

/// Plugin versions available to your tenant (built-in and uploaded).
#[utoipa::path(get, path = "/plugins", tag = "plugins", responses((status = 200, body = Vec<PluginVersion>)))]
async fn list_plugins(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<PluginVersion>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::list_versions(&mut c.conn(), caller.tenant_id, None).await?))
}

/// The multipart form of a plugin upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PluginUpload {
    /// The `plugin.toml` text.
    manifest: String,
    /// The component built for `wasm32-wasip2`.
    #[schema(value_type = String, format = Binary)]
    component: Vec<u8>,
}

/// Upload a plugin version (admins): `manifest` (plugin.toml) and `component` (.wasm).
/// It is compiled and checked against its declared world before it is accepted.
#[utoipa::path(post, path = "/plugins", tag = "plugins", request_body(content = PluginUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = PluginVersion), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn upload_plugin(State(state): State<AppState>, caller: Caller, mut form: Multipart) -> ApiResult<(StatusCode, ApiJson<PluginVersion>)> {
    caller.ensure(Action::Configure)?;
    let bad = |e: axum::extract::multipart::MultipartError| ApiError::BadRequest(format!("The multipart body is malformed: {e}"));
    let (mut manifest, mut component) = (None, None);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "manifest" => manifest = Some(field.text().await.map_err(bad)?),
            "component" => component = Some(field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(format!("A component may be at most {} MiB.", MAX_COMPONENT_BYTES >> 20))
                } else {
                    bad(e)
                }
            })?),
            other => return Err(ApiError::field(other.to_string(), "is not a field of a plugin upload (send `manifest` and `component`)")),
        }
    }
    let manifest = Manifest::parse(&manifest.ok_or_else(|| ApiError::field("manifest", "send the plugin.toml text as the `manifest` part"))?)?;
    let component = component.ok_or_else(|| ApiError::field("component", "send the .wasm file as the `component` part"))?;
    let mut tx = state.db.begin().await?;
    let v = service::register(&state, &mut tx.conn(), caller.tenant_id, &Actor::from(&caller), &manifest, &component, false).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(v)))
}

/// Versions of one plugin, newest first.
#[utoipa::path(get, path = "/plugins/{id}", tag = "plugins", params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, body = Vec<PluginVersion>), (status = 404, body = Problem)))]
async fn plugin_versions(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Vec<PluginVersion>>> {
    let mut c = state.db.read().await?;
    let versions = store::list_versions(&mut c.conn(), caller.tenant_id, Some(&id)).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound("plugin"));
    }
    Ok(ApiJson(versions))
}

/// Plugins enabled (or disabled) for your tenant.
#[utoipa::path(get, path = "/modules", tag = "plugins", responses((status = 200, body = Vec<Module>)))]
async fn list_modules(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<Module>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let mut out = Vec::new();
    for m in store::list_modules(&mut c, caller.tenant_id).await? {
        let world = store::get_version(&mut c, caller.tenant_id, &m.plugin_id, &m.version).await?.ok_or(ApiError::NotFound("plugin version"))?.world;
        out.push(service::view(&m, world));
    }
    Ok(ApiJson(out))
}

async fn load_module(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Module> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let m = store::get_module(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("module"))?;
    let world = store::get_version(&mut c, caller.tenant_id, &m.plugin_id, &m.version).await?.ok_or(ApiError::NotFound("plugin version"))?.world;
    Ok(service::view(&m, world))
}

/// A module's configuration (secrets are never shown, only which are set).
#[utoipa::path(get, path = "/modules/{id}", tag = "plugins", params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, body = Module), (status = 404, body = Problem)))]
async fn get_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Module>> {
    Ok(ApiJson(load_module(&state, &caller, &id).await?))
}

/// Enable a plugin for your tenant, or change its version, settings, secrets or grants (admins).
#[utoipa::path(put, path = "/modules/{id}", tag = "plugins", params(("id" = String, Path, description = "Plugin id")), request_body = ModuleInput,
    responses((status = 200, body = Module), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn configure_module(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ModuleInput>,
) -> ApiResult<ApiJson<Module>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let m = service::configure(&state, &mut tx.conn(), caller.tenant_id, &Actor::from(&caller), &id, input).await?;
    tx.commit().await?;
    Ok(ApiJson(m))
}

async fn change(state: AppState, caller: Caller, id: String, f: impl FnOnce(&mut store::ModuleRow) -> ApiResult<()>) -> ApiResult<ApiJson<Module>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let mut m = store::get_module(&mut c, caller.tenant_id, &id).await?.ok_or(ApiError::NotFound("module"))?;
    let world_of = |v: Option<store::PluginVersion>| v.map(|v| v.world);
    let before = service::view(&m, world_of(store::get_version(&mut c, caller.tenant_id, &id, &m.version).await?).ok_or(ApiError::NotFound("plugin version"))?);
    f(&mut m)?;
    m.updated_at = chrono::Utc::now();
    let world = world_of(store::get_version(&mut c, caller.tenant_id, &id, &m.version).await?).ok_or(ApiError::NotFound("plugin version"))?;
    store::upsert_module(&mut c, caller.tenant_id, &m).await?;
    let after = service::view(&m, world);
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "module", module_uuid(&id), AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Stop calling a plugin for your tenant (its configuration is kept).
#[utoipa::path(post, path = "/modules/{id}/disable", tag = "plugins", params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, body = Module), (status = 404, body = Problem)))]
async fn disable_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Module>> {
    change(state, caller, id, |m| {
        m.enabled = false;
        Ok(())
    })
    .await
}

/// Start calling a disabled plugin again.
#[utoipa::path(post, path = "/modules/{id}/enable", tag = "plugins", params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, body = Module), (status = 404, body = Problem)))]
async fn enable_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Module>> {
    change(state, caller, id, |m| {
        m.enabled = true;
        Ok(())
    })
    .await
}

/// Go back to the version that ran before the last switch.
#[utoipa::path(post, path = "/modules/{id}/rollback", tag = "plugins", params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, body = Module), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn rollback_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Module>> {
    change(state, caller, id, |m| {
        let prev = m.previous_version.take().ok_or(ApiError::Conflict {
            detail: "This module has no earlier version to roll back to.".into(),
            field: None,
        })?;
        m.previous_version = Some(std::mem::replace(&mut m.version, prev));
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilter {
    /// Only runs of this plugin.
    pub plugin_id: Option<String>,
}

/// The plugin run log: every call with its duration, outcome and error, newest first.
#[utoipa::path(get, path = "/plugin-runs", tag = "plugins", params(RunFilter, PageParams), responses((status = 200, body = Page<PluginRun>)))]
async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<RunFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<PluginRun>>> {
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = store::list_runs(&mut c.conn(), caller.tenant_id, f.plugin_id.as_deref(), page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id)))
}
