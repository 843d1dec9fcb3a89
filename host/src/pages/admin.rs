//! Administration pages: module instances (enable, configure, secrets write-only) and
//! the plugin run log — through the API's module handlers, so the same checks apply.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::PageParams;
use crate::plugins::manifest::SettingType;
use crate::plugins::store::PluginVersion;
use crate::tenancy::Action;

use super::Filters;
use super::auth::Viewer;
use super::clients::params;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/modules", get(modules))
        .route("/admin/modules/new", get(new_module))
        .route("/admin/modules/{id}", get(module).post(save_module))
        .route("/admin/plugin-runs", get(runs))
}

fn admin_only(viewer: &Viewer) -> PageResult<()> {
    Ok(viewer.session.caller.ensure(Action::Configure)?)
}

async fn plugins(state: &AppState, viewer: &Viewer) -> PageResult<Vec<PluginVersion>> {
    Ok(crate::plugins::routes::list_plugins(State(state.clone()), viewer.caller()).await?.0)
}

async fn modules(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    admin_only(&viewer)?;
    let modules = crate::plugins::routes::list_modules(State(state.clone()), viewer.caller(), Query(params(&[])?)).await?.0;
    let mut plugins = plugins(&state, &viewer).await?;
    plugins.dedup_by(|a, b| a.plugin_id == b.plugin_id);
    page(&viewer, "modules.html", "Модули", "admin", serde_json::json!({ "modules": modules, "plugins": plugins }))
}

#[derive(Deserialize)]
struct NewQuery {
    plugin: String,
}

/// The form to enable a plugin as a new module instance (its id defaults to the plugin's).
async fn new_module(State(state): State<AppState>, viewer: Viewer, Query(q): Query<NewQuery>) -> PageResult<Response> {
    admin_only(&viewer)?;
    form(&state, &viewer, None, &q.plugin, None, vec![], StatusCode::OK).await
}

async fn module(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>, Query(q): Query<SavedQuery>) -> PageResult<Response> {
    admin_only(&viewer)?;
    let m = crate::plugins::routes::get_module(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let plugin = m.plugin_id.clone();
    form(&state, &viewer, Some(m), &plugin, q.saved, vec![], StatusCode::OK).await
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn form(
    state: &AppState,
    viewer: &Viewer,
    module: Option<crate::plugins::service::Module>,
    plugin: &str,
    saved: Option<String>,
    errors: Vec<String>,
    status: StatusCode,
) -> PageResult<Response> {
    let versions: Vec<PluginVersion> = plugins(state, viewer).await?.into_iter().filter(|v| v.plugin_id == plugin).collect();
    let Some(latest) = versions.first().cloned() else { return Err(ApiError::NotFound("plugin").into()) };
    let current = module.as_ref().and_then(|m| versions.iter().find(|v| v.version == m.version)).unwrap_or(&latest);
    let settings: Vec<Value> = current
        .manifest
        .settings
        .iter()
        .map(|s| {
            let value = module.as_ref().and_then(|m| m.settings.get(&s.key)).or(s.default.as_ref()).cloned();
            let is_set = module.as_ref().is_some_and(|m| m.secrets_set.contains(&s.key));
            serde_json::json!({
                "key": s.key, "label": s.label, "secret": s.secret, "required": s.required, "is_set": is_set,
                "kind": match s.kind { SettingType::String => "string", SettingType::Integer => "integer", SettingType::Boolean => "boolean" },
                "value": value.map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())),
                "checked": value_is_true(module.as_ref().and_then(|m| m.settings.get(&s.key)).or(s.default.as_ref())),
            })
        })
        .collect();
    let hosts_of = |f: fn(&crate::plugins::capabilities::Grants) -> &Vec<String>| module.as_ref().map(|m| f(&m.grants).join("\n")).unwrap_or_default();
    let http_hosts = hosts_of(|g| &g.http_hosts);
    let private_hosts = hosts_of(|g| &g.private_hosts);
    let asked = current.manifest.capabilities.http.join(", ");
    let title = match &module {
        Some(m) => format!("Модуль {}", m.id),
        None => format!("Подключить модуль {plugin}"),
    };
    let mut res = page(
        viewer,
        "module.html",
        &title,
        "admin",
        serde_json::json!({
            "module": module, "plugin": plugin, "versions": versions, "current": current, "settings": settings,
            "saved": saved.is_some(), "errors": errors, "http_hosts": http_hosts, "private_hosts": private_hosts, "asked_hosts": asked,
        }),
    )?;
    *res.status_mut() = status;
    Ok(res)
}

fn value_is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

/// Saves a module instance from its form: empty secret fields keep the stored secret.
async fn save_module(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>, axum::Form(fields): axum::Form<Vec<(String, String)>>) -> PageResult<Response> {
    admin_only(&viewer)?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let plugin = get("plugin_id").unwrap_or_else(|| id.clone());
    let version = get("version").unwrap_or_default();
    let existing = crate::plugins::routes::get_module(State(state.clone()), viewer.caller(), Path(id.clone())).await.ok().map(|m| m.0);
    let defs = plugins(&state, &viewer)
        .await?
        .into_iter()
        .find(|v| v.plugin_id == plugin && v.version == version)
        .map(|v| v.manifest.0.settings)
        .ok_or_else(|| ApiError::field("version", "no such version of this plugin"))?;
    let mut settings = Map::new();
    let mut secrets = Map::new();
    let mut errors = Vec::new();
    for d in &defs {
        let raw = get(&format!("setting.{}", d.key));
        if d.secret {
            if let Some(v) = raw.filter(|v| !v.is_empty()) {
                secrets.insert(d.key.clone(), Value::String(v));
            }
            continue;
        }
        let value = match d.kind {
            SettingType::Boolean => Some(Value::Bool(raw.is_some())),
            SettingType::Integer => match raw.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => None,
                Some(v) => match v.parse::<i64>() {
                    Ok(n) => Some(Value::from(n)),
                    Err(_) => {
                        errors.push(format!("«{}»: нужно целое число", d.label));
                        None
                    }
                },
            },
            SettingType::String => raw.filter(|v| !v.trim().is_empty()).map(Value::String),
        };
        if let Some(v) = value {
            settings.insert(d.key.clone(), v);
        }
    }
    // Hosts, one per line; left empty on a new module, the manifest's own hosts apply.
    let hosts = |k: &str| -> Vec<String> { get(k).unwrap_or_default().split(['\n', ',', ' ']).map(str::trim).filter(|h| !h.is_empty()).map(String::from).collect() };
    let (http_hosts, private_hosts) = (hosts("http_hosts"), hosts("private_hosts"));
    let grants = match &existing {
        None if http_hosts.is_empty() && private_hosts.is_empty() => None,
        _ => Some(crate::plugins::capabilities::Grants { http_hosts, private_hosts, mail: existing.as_ref().and_then(|m| m.grants.mail.clone()) }),
    };
    let input = serde_json::json!({
        "plugin_id": plugin, "version": version, "enabled": get("enabled").is_some(),
        "settings": settings, "secrets": secrets, "grants": grants,
    });
    let input: crate::plugins::service::ModuleInput = serde_json::from_value(input).map_err(|e| ApiError::Internal(e.into()))?;
    if errors.is_empty() {
        match crate::plugins::routes::configure_module(State(state.clone()), viewer.caller(), Path(id.clone()), ApiJson(input)).await {
            Ok(_) => return Ok(Redirect::to(&format!("/admin/modules/{id}?saved=1")).into_response()),
            Err(ApiError::Validation(errs)) => errors.extend(errs.into_iter().map(|e| {
                let label = e.field.strip_prefix("settings.").or_else(|| e.field.strip_prefix("secrets.")).and_then(|k| defs.iter().find(|d| d.key == k)).map(|d| d.label.clone());
                format!("«{}»: {}", label.unwrap_or(e.field), e.message)
            })),
            Err(e) => return Err(e.into()),
        }
    }
    form(&state, &viewer, existing, &plugin, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn runs(State(state): State<AppState>, viewer: Viewer, Filters(f): Filters<crate::plugins::routes::RunFilter>, Filters(pg): Filters<PageParams>) -> PageResult<Response> {
    admin_only(&viewer)?;
    let module = f.module_id.clone();
    let list = crate::plugins::routes::list_runs(State(state), viewer.caller(), Query(f), Query(pg)).await?.0;
    let next_url = list.next_cursor.map(|c| match &module {
        Some(m) => format!("/admin/plugin-runs?module_id={m}&cursor={c}"),
        None => format!("/admin/plugin-runs?cursor={c}"),
    });
    page(&viewer, "plugin_runs.html", "Журнал вызовов модулей", "admin", serde_json::json!({ "runs": list.items, "module": module, "next_url": next_url }))
}
