use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::multipart::Multipart;
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::tenancy::{Action, Caller};

use super::manifest::Manifest;
use super::runtime::CallError;
use super::service::{self, Module, ModuleError, ModuleInput, TryInput, TryResult, TryableView, audit_id};
use super::store::{self, PluginRun, PluginVersion};

/// No upload body is read past this, whatever `--max-plugin-mb` says; the configured
/// limit is checked while the component streams in.
const UPLOAD_CEILING_BYTES: usize = 1 << 30;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_CEILING_BYTES))
        .routes(routes!(plugin_versions))
        .routes(routes!(list_modules))
        .routes(routes!(get_module, configure_module, delete_module))
        .routes(routes!(disable_module))
        .routes(routes!(enable_module))
        .routes(routes!(rollback_module))
        .routes(routes!(tryable_functions, try_module))
        .routes(routes!(list_runs))
}

/// The HTTP face of registry and module errors.
impl From<ModuleError> for ApiError {
    fn from(e: ModuleError) -> Self {
        match e {
            ModuleError::NotFound(what) => ApiError::NotFound(what),
            ModuleError::Invalid(i) => i.into(),
            ModuleError::Conflict { detail, field } => ApiError::Conflict { detail, field },
            ModuleError::NotConfigured(detail) => ApiError::Conflict { detail, field: None },
            ModuleError::Call { module, error: CallError::Load(m) } => ApiError::Upstream(format!("The {module} module could not be loaded: {m}")),
            ModuleError::Call { error: CallError::Busy(m), .. } => ApiError::Busy(m),
            ModuleError::Call { module, error } => ApiError::Upstream(format!("The {module} module failed: {error}")),
            ModuleError::Db(e) => e.into(),
            ModuleError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// Plugin versions available to your tenant (built-in and uploaded).
#[utoipa::path(get, path = "/plugins", tag = "plugins", responses((status = 200, body = Vec<PluginVersion>)))]
pub(crate) async fn list_plugins(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<PluginVersion>>> {
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
    responses((status = 201, body = PluginVersion), (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn upload_plugin(State(state): State<AppState>, caller: Caller, mut form: Multipart) -> ApiResult<(StatusCode, ApiJson<PluginVersion>)> {
    caller.ensure(Action::Configure)?;
    let bad = |e: axum::extract::multipart::MultipartError| ApiError::BadRequest(format!("The multipart body is malformed: {e}"));
    let (mut manifest, mut component) = (None, None);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "manifest" => manifest = Some(field.text().await.map_err(bad)?),
            "component" => {
                let max = state.config.max_plugin_bytes();
                let too_large = || ApiError::PayloadTooLarge(format!("A component may be at most {} MiB (the server's --max-plugin-mb).", max >> 20));
                let mut bytes = Vec::new();
                let mut field = field;
                while let Some(chunk) = field.chunk().await.map_err(|e| if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { bad(e) })? {
                    if bytes.len() + chunk.len() > max {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                component = Some(bytes);
            }
            other => return Err(ApiError::field(other.to_string(), "is not a field of a plugin upload (send `manifest` and `component`)")),
        }
    }
    let manifest = Manifest::parse(&manifest.ok_or_else(|| ApiError::field("manifest", "send the plugin.toml text as the `manifest` part"))?)?;
    let component = component.ok_or_else(|| ApiError::field("component", "send the .wasm file as the `component` part"))?;
    // Compile and trial-start the component before taking the write transaction.
    let prepared = service::prepare(&state, caller.tenant_id, &manifest, &component).await?;
    let mut tx = state.db.begin().await?;
    let v = service::register(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), &prepared, false).await?;
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ModuleFilter {
    /// Only instances of this world.
    pub world: Option<super::manifest::World>,
    /// Only instances of this plugin.
    pub plugin_id: Option<String>,
}

/// Module instances of your tenant: plugins enabled (or disabled), each with its own
/// settings, secrets and grants.
#[utoipa::path(get, path = "/modules", tag = "plugins", params(ModuleFilter), responses((status = 200, body = Vec<Module>), (status = 422, body = Problem)))]
pub(crate) async fn list_modules(State(state): State<AppState>, caller: Caller, Query(f): Query<ModuleFilter>) -> ApiResult<ApiJson<Vec<Module>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let mut out = Vec::new();
    for m in store::list_modules(&mut c, caller.tenant_id).await? {
        if f.plugin_id.as_ref().is_some_and(|p| *p != m.plugin_id) {
            continue;
        }
        let view = service::module_view(&mut c, caller.tenant_id, &m).await?;
        if f.world.is_some_and(|w| w != view.world) {
            continue;
        }
        out.push(view);
    }
    Ok(ApiJson(out))
}

async fn load_module(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Module> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let m = store::get_module(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("module"))?;
    Ok(service::module_view(&mut c, caller.tenant_id, &m).await?)
}

/// A module instance's configuration (secrets are never shown, only which are set).
#[utoipa::path(get, path = "/modules/{id}", tag = "plugins", params(("id" = String, Path, description = "Module instance id")),
    responses((status = 200, body = Module), (status = 404, body = Problem)))]
pub(crate) async fn get_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Module>> {
    Ok(ApiJson(load_module(&state, &caller, &id).await?))
}

/// Enable a module instance (admins), or change its version, settings, secrets or grants.
/// The id is yours to choose (`sms-main`, `sms-backup`); `plugin_id` says which plugin it
/// runs (default: the plugin with the same id). One plugin may run as several instances.
#[utoipa::path(put, path = "/modules/{id}", tag = "plugins", params(("id" = String, Path, description = "Module instance id")), request_body = ModuleInput,
    responses((status = 200, body = Module), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn configure_module(
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

/// Remove a module instance (admins). Its run log is kept; a feature that named it must
/// be pointed at another instance.
#[utoipa::path(delete, path = "/modules/{id}", tag = "plugins", params(("id" = String, Path, description = "Module instance id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let m = store::get_module(&mut c, caller.tenant_id, &id).await?.ok_or(ApiError::NotFound("module"))?;
    let before = service::module_view(&mut c, caller.tenant_id, &m).await?;
    store::delete_module(&mut c, caller.tenant_id, &id).await?;
    audit::record_delete(&mut c, caller.tenant_id, &Actor::from(&caller), "module", audit_id(&id), &before).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change(state: AppState, caller: Caller, id: String, f: impl FnOnce(&mut store::ModuleRow) -> ApiResult<()>) -> ApiResult<ApiJson<Module>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let mut m = store::get_module(&mut c, caller.tenant_id, &id).await?.ok_or(ApiError::NotFound("module"))?;
    let before = service::module_view(&mut c, caller.tenant_id, &m).await?;
    f(&mut m)?;
    m.updated_at = chrono::Utc::now();
    let after = service::module_view(&mut c, caller.tenant_id, &m).await?;
    store::upsert_module(&mut c, caller.tenant_id, &m).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "module", audit_id(&id), AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Stop calling a module instance (its configuration is kept).
#[utoipa::path(post, path = "/modules/{id}/disable", tag = "plugins", params(("id" = String, Path, description = "Module instance id")),
    responses((status = 200, body = Module), (status = 404, body = Problem)))]
pub(crate) async fn disable_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Module>> {
    change(state, caller, id, |m| {
        m.enabled = false;
        Ok(())
    })
    .await
}

/// Start calling a disabled module instance again.
#[utoipa::path(post, path = "/modules/{id}/enable", tag = "plugins", params(("id" = String, Path, description = "Module instance id")),
    responses((status = 200, body = Module), (status = 404, body = Problem)))]
pub(crate) async fn enable_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Module>> {
    change(state, caller, id, |m| {
        m.enabled = true;
        Ok(())
    })
    .await
}

/// Go back to the version that ran before the last switch.
#[utoipa::path(post, path = "/modules/{id}/rollback", tag = "plugins", params(("id" = String, Path, description = "Module instance id")),
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

/// The functions a module instance can be tried with, each with an example input.
#[utoipa::path(get, path = "/modules/{id}/try", tag = "plugins", params(("id" = String, Path, description = "Module instance id")),
    responses((status = 200, body = Vec<TryableView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn tryable_functions(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Vec<TryableView>>> {
    caller.ensure(Action::Configure)?;
    Ok(ApiJson(service::tryable(&state, caller.tenant_id, &id).await?))
}

/// Call a module instance with a sample input (admins), enabled or not: its output (or
/// how it failed), its log lines and its run-log entry. The way to try a plugin whose
/// feature is not built yet. The call is real: a channel really sends, mail is queued.
#[utoipa::path(post, path = "/modules/{id}/try", tag = "plugins", params(("id" = String, Path, description = "Module instance id")), request_body = TryInput,
    responses((status = 200, body = TryResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn try_module(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, ApiJson(input): ApiJson<TryInput>) -> ApiResult<ApiJson<TryResult>> {
    caller.ensure(Action::Configure)?;
    Ok(ApiJson(service::try_module(&state, caller.tenant_id, &id, input).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilter {
    /// Only runs of this plugin.
    pub plugin_id: Option<String>,
    /// Only runs of this module instance.
    pub module_id: Option<String>,
}

/// The plugin run log: every call with its duration, outcome and error, newest first.
#[utoipa::path(get, path = "/plugin-runs", tag = "plugins", params(RunFilter, PageParams), responses((status = 200, body = Page<PluginRun>)))]
pub(crate) async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<RunFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<PluginRun>>> {
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = store::list_runs(&mut c.conn(), caller.tenant_id, f.plugin_id.as_deref(), f.module_id.as_deref(), page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id)))
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn a_call_that_did_not_get_its_turn_is_a_503_to_retry() {
        let e = ModuleError::Call { module: "sms-main".into(), error: CallError::Busy("your tenant already runs 16 plugin calls at once".into()) };
        let res = ApiError::from(e).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[axum::http::header::RETRY_AFTER], "5");
    }
}
