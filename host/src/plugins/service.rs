//! Registry and module operations shared by the API and the admin CLI, and calling a
//! tenant's enabled plugin with its settings, secrets and grants (every call goes into
//! the run log, in its own transaction, whatever the caller does next).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Violations};
use crate::audit::{self, Actor, AuditAction};
use crate::db::Conn;
use crate::tenancy::TenantId;

use super::bindings::{AccountingPage, Company, EntityKind};
use super::http::HttpLimits;
use super::manifest::{Manifest, World, valid_host};
use super::runtime::{CallContext, CallError, Compiled, Timer};
use super::store::{self, Grants, ModuleRow, Outcome, PluginRun, PluginVersion};

/// Where component files live: `<data dir>/plugins/<sha256>.wasm`.
pub fn component_path(state: &AppState, sha256: &str) -> PathBuf {
    state.config.data_dir.join("plugins").join(format!("{sha256}.wasm"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Validates and registers a plugin version for a tenant: the manifest must parse, the
/// component must compile and implement the declared world. Re-uploading the same
/// version with the same content is a no-op; with other content it is a conflict.
pub async fn register(state: &AppState, c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, manifest: &Manifest, bytes: &[u8], builtin: bool) -> ApiResult<PluginVersion> {
    let sha = sha256_hex(bytes);
    if let Some(existing) = store::get_version(c, tenant, &manifest.id, &manifest.version).await? {
        if existing.sha256 == sha {
            return Ok(existing);
        }
        return Err(ApiError::Conflict {
            detail: format!("{} {} is already registered with other content; give the new build a new version", manifest.id, manifest.version),
            field: Some("manifest.version".into()),
        });
    }
    let compiled = state.plugins.load(&sha, bytes, manifest.world).map_err(|e| ApiError::field("component", e.to_string()))?;
    let trial = CallContext {
        tenant,
        plugin_id: manifest.id.clone(),
        version: manifest.version.clone(),
        manifest: manifest.clone(),
        settings: Map::new(),
        secrets: HashMap::new(),
        grants: Grants::default(),
        time_zone: "Europe/Moscow".into(),
        http_limits: HttpLimits::default(),
    };
    state
        .plugins
        .try_instantiate(&compiled, Arc::new(trial))
        .await
        .map_err(|e| ApiError::field("component", format!("the component does not start: {e}")))?;
    let path = component_path(state, &sha);
    if !path.exists() {
        let dir = path.parent().unwrap_or(&path).to_path_buf();
        let tmp = dir.join(format!("{sha}.tmp-{}", Uuid::now_v7()));
        let write = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(&tmp, bytes).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        write.await.map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("storing a plugin component")))?;
    }
    let v = store::insert_version(c, tenant, manifest, &sha, bytes.len() as i64, builtin).await?;
    audit::record(c, tenant, actor, "plugin_version", module_uuid(&format!("{}@{}", v.plugin_id, v.version)), AuditAction::Create, None, &v).await?;
    Ok(v)
}

/// A stable id for audit entries about a module or plugin version (they are keyed by name).
pub fn module_uuid(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

/// A module as the API shows it: never the secrets, only which are set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Module {
    pub plugin_id: String,
    pub version: String,
    /// The version before the last switch, for `rollback`.
    pub previous_version: Option<String>,
    pub enabled: bool,
    pub world: World,
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// Names of the secrets that are set.
    pub secrets_set: Vec<String>,
    pub grants: Grants,
    pub updated_at: chrono::DateTime<Utc>,
}

/// How a tenant's admin enables and configures a plugin.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleInput {
    /// The plugin version to run.
    #[schema(example = "0.1.0")]
    pub version: String,
    /// Default: true.
    pub enabled: Option<bool>,
    /// Non-secret settings, by key, per the manifest.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// Secret settings. Write-only: omitted keys keep their stored value, `null` removes one.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub secrets: Map<String, Value>,
    /// What the plugin may do. Default: the hosts its manifest asks for.
    pub grants: Option<Grants>,
}

fn context_of(tenant: TenantId, plugin: &str) -> Vec<u8> {
    format!("{tenant}/{plugin}").into_bytes()
}

fn open_secrets(state: &AppState, tenant: TenantId, m: &ModuleRow) -> ApiResult<HashMap<String, String>> {
    let Some(sealed) = &m.secrets else { return Ok(HashMap::new()) };
    let plain = state
        .secrets
        .open(&context_of(tenant, &m.plugin_id), sealed)
        .map_err(|e| ApiError::Internal(e.context(format!("opening the secrets of module {}", m.plugin_id))))?;
    serde_json::from_slice(&plain).map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("secrets are not a JSON object")))
}

pub fn view(m: &ModuleRow, world: World) -> Module {
    Module {
        plugin_id: m.plugin_id.clone(),
        version: m.version.clone(),
        previous_version: m.previous_version.clone(),
        enabled: m.enabled,
        world,
        settings: m.settings.0.clone(),
        secrets_set: m.secret_keys.0.clone(),
        grants: m.grants.0.clone(),
        updated_at: m.updated_at,
    }
}

/// Enables (or reconfigures, or switches the version of) a plugin for the tenant.
pub async fn configure(state: &AppState, c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, plugin: &str, input: ModuleInput) -> ApiResult<Module> {
    if store::list_versions(c, tenant, Some(plugin)).await?.is_empty() {
        return Err(ApiError::NotFound("plugin"));
    }
    let version = store::get_version(c, tenant, plugin, &input.version)
        .await?
        .ok_or_else(|| ApiError::field("version", format!("no version {} of plugin {plugin} is registered", input.version)))?;
    let manifest = &version.manifest.0;
    let before = store::get_module(c, tenant, plugin).await?;
    let mut secrets = match &before {
        Some(m) => open_secrets(state, tenant, m)?,
        None => HashMap::new(),
    };
    let mut v = Violations::new();
    for (k, value) in &input.settings {
        match manifest.setting(k) {
            None => v.add(format!("settings.{k}"), "is not a setting of this plugin"),
            Some(d) if d.secret => v.add(format!("settings.{k}"), "is a secret: send it in `secrets`"),
            Some(d) if !value.is_null() && !d.kind.accepts(value) => v.add(format!("settings.{k}"), format!("must be a {:?}", d.kind).to_lowercase()),
            Some(_) => {}
        }
    }
    for (k, value) in &input.secrets {
        match manifest.setting(k) {
            Some(d) if d.secret => match value {
                Value::Null => {
                    secrets.remove(k);
                }
                Value::String(s) => {
                    secrets.insert(k.clone(), s.clone());
                }
                _ => v.add(format!("secrets.{k}"), "must be a string"),
            },
            _ => v.add(format!("secrets.{k}"), "is not a secret setting of this plugin"),
        }
    }
    let settings: Map<String, Value> = input.settings.into_iter().filter(|(_, v)| !v.is_null()).collect();
    let enabled = input.enabled.unwrap_or(true);
    if enabled {
        for d in manifest.settings.iter().filter(|d| d.required) {
            let present = if d.secret { secrets.contains_key(&d.key) } else { settings.contains_key(&d.key) || d.default.is_some() };
            let field = if d.secret { format!("secrets.{}", d.key) } else { format!("settings.{}", d.key) };
            v.check(present, &field, &format!("is required ({})", d.label));
        }
    }
    let grants = input.grants.unwrap_or_else(|| Grants { http_hosts: manifest.capabilities.http.clone(), private_hosts: vec![] });
    for (i, h) in grants.http_hosts.iter().enumerate() {
        let field = format!("grants.http_hosts[{i}]");
        if !valid_host(h) {
            v.add(field, "must be a host name or host:port, without scheme or path");
        } else if !manifest.capabilities.tenant_hosts && !manifest.capabilities.http.iter().any(|r| r.eq_ignore_ascii_case(h)) {
            v.add(field, "the plugin's manifest does not ask for this host");
        }
    }
    for (i, h) in grants.private_hosts.iter().enumerate() {
        v.check(grants.http_hosts.iter().any(|g| g.eq_ignore_ascii_case(h)), &format!("grants.private_hosts[{i}]"), "must also be in http_hosts");
    }
    v.finish()?;

    let mut secret_keys: Vec<String> = secrets.keys().cloned().collect();
    secret_keys.sort();
    let sealed = if secrets.is_empty() {
        None
    } else {
        let plain = serde_json::to_vec(&secrets).map_err(|e| ApiError::Internal(e.into()))?;
        Some(state.secrets.seal(&context_of(tenant, plugin), &plain))
    };
    let now = Utc::now();
    let previous_version = match &before {
        Some(b) if b.version != input.version => Some(b.version.clone()),
        Some(b) => b.previous_version.clone(),
        None => None,
    };
    let row = ModuleRow {
        plugin_id: plugin.to_string(),
        version: input.version.clone(),
        previous_version,
        enabled,
        settings: Json(settings),
        secrets: sealed,
        secret_keys: Json(secret_keys),
        grants: Json(grants),
        created_at: before.as_ref().map_or(now, |b| b.created_at),
        updated_at: now,
    };
    store::upsert_module(c, tenant, &row).await?;
    let after = view(&row, version.world);
    let before_view = match &before {
        Some(b) => Some(view(b, store::get_version(c, tenant, plugin, &b.version).await?.map_or(version.world, |v| v.world))),
        None => None,
    };
    let action = if before.is_some() { AuditAction::Update } else { AuditAction::Create };
    audit::record(c, tenant, actor, "module", module_uuid(plugin), action, before_view.as_ref(), &after).await?;
    Ok(after)
}

/// Loads a module's component for a call.
async fn prepare(state: &AppState, tenant: TenantId, m: &ModuleRow, version: &PluginVersion, time_zone: String) -> ApiResult<(Arc<Compiled>, Arc<CallContext>)> {
    // The component file is read only when this process has not compiled it yet.
    let compiled = match state.plugins.cached(&version.sha256, version.world) {
        Some(c) => c,
        None => {
            let bytes = tokio::fs::read(component_path(state, &version.sha256)).await.map_err(|e| {
                ApiError::Internal(anyhow::Error::new(e).context(format!("component of {} {} is missing", m.plugin_id, m.version)))
            })?;
            state.plugins.load(&version.sha256, &bytes, version.world).map_err(|e| ApiError::Upstream(e.to_string()))?
        }
    };
    let ctx = CallContext {
        tenant,
        plugin_id: m.plugin_id.clone(),
        version: m.version.clone(),
        manifest: version.manifest.0.clone(),
        settings: m.settings.0.clone(),
        secrets: open_secrets(state, tenant, m)?,
        grants: m.grants.0.clone(),
        time_zone,
        http_limits: HttpLimits::default(),
    };
    Ok((compiled, Arc::new(ctx)))
}

/// Writes a run-log entry in its own transaction.
async fn log_run(state: &AppState, tenant: TenantId, ctx: &CallContext, function: &str, timer: &Timer, err: Option<&CallError>) {
    write_run(state, tenant, ctx, run_entry(ctx, function, timer, err), err).await;
}

fn run_entry(ctx: &CallContext, function: &str, timer: &Timer, err: Option<&CallError>) -> PluginRun {
    PluginRun {
        id: Uuid::now_v7(),
        plugin_id: ctx.plugin_id.clone(),
        version: ctx.version.clone(),
        function: function.to_string(),
        started_at: Utc::now() - chrono::Duration::microseconds(timer.micros()),
        duration_us: timer.micros(),
        outcome: err.map_or(Outcome::Ok, CallError::outcome),
        error: err.map(ToString::to_string),
    }
}

async fn write_run(state: &AppState, tenant: TenantId, ctx: &CallContext, run: PluginRun, err: Option<&CallError>) {
    let function = run.function.as_str();
    let result = async {
        let mut tx = state.db.begin().await?;
        store::insert_run(&mut tx.conn(), tenant, &run).await?;
        tx.commit().await
    };
    if let Err(e) = result.await {
        tracing::error!(error = %e, plugin = %ctx.plugin_id, "could not write the plugin run log");
    }
    if let Some(e) = err {
        tracing::warn!(plugin = %ctx.plugin_id, version = %ctx.version, function, outcome = %run.outcome, error = %e, "plugin call failed");
    }
}

/// The module that answers `lookup` for the tenant, and who it is (for the audit log).
pub struct Answer<T> {
    pub value: T,
    pub plugin_id: String,
    pub version: String,
}

/// The tenant's enabled module for `world`, its version and the tenant's time zone; a
/// conflict saying what to enable (`hint`) when there is none.
async fn enabled_module(state: &AppState, tenant: TenantId, world: World, hint: &str) -> ApiResult<(ModuleRow, PluginVersion, String)> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let m = store::enabled_for_world(&mut c, tenant, world).await?.ok_or_else(|| ApiError::Conflict { detail: hint.to_string(), field: None })?;
    let v = store::get_version(&mut c, tenant, &m.plugin_id, &m.version).await?.ok_or(ApiError::NotFound("plugin version"))?;
    let tz = crate::tenancy::store::get_tenant(&mut c, tenant).await?.map(|t| t.time_zone).unwrap_or_else(|| "Europe/Moscow".into());
    Ok((m, v, tz))
}

/// Asks the tenant's enabled inn-enrichment plugin about an ИНН.
pub async fn lookup(state: &AppState, tenant: TenantId, inn: &str, kpp: Option<&str>) -> ApiResult<Answer<Option<Company>>> {
    let hint = "No company-registry (inn-enrichment) plugin is enabled for your tenant; an admin enables one with PUT /api/v1/modules/inn-dadata.";
    let (module, version, time_zone) = enabled_module(state, tenant, World::InnEnrichment, hint).await?;
    let (compiled, ctx) = prepare(state, tenant, &module, &version, time_zone).await?;
    let timer = Timer::start();
    let result = state.plugins.lookup(&compiled, ctx.clone(), inn, kpp).await;
    log_run(state, tenant, &ctx, "enrichment.lookup", &timer, result.as_ref().err()).await;
    match result {
        Ok(value) => Ok(Answer { value, plugin_id: module.plugin_id, version: module.version }),
        Err(CallError::Plugin(super::bindings::WitError::NotFound(_))) => Ok(Answer { value: None, plugin_id: module.plugin_id, version: module.version }),
        Err(e) => Err(ApiError::Upstream(format!("The {} plugin failed: {e}", module.plugin_id))),
    }
}

/// The tenant's enabled accounting-sync plugin, loaded once for the many page calls of
/// a sync. Each call is a fresh instance under the usual limits, and goes to the run log.
pub struct AccountingModule {
    compiled: Arc<Compiled>,
    ctx: Arc<CallContext>,
    pub plugin_id: String,
    pub version: String,
    /// Run-log writes still in flight (see [`AccountingModule::fetch_page`]).
    log_writes: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Loads the tenant's enabled accounting-sync plugin.
pub async fn accounting(state: &AppState, tenant: TenantId) -> ApiResult<AccountingModule> {
    let hint = "No accounting-sync plugin is enabled for your tenant; an admin enables the 1C module with PUT /api/v1/modules/accounting-1c \
                (see docs/receivables.md).";
    let (module, version, time_zone) = enabled_module(state, tenant, World::AccountingSync, hint).await?;
    let (compiled, ctx) = prepare(state, tenant, &module, &version, time_zone).await?;
    Ok(AccountingModule { compiled, ctx, plugin_id: module.plugin_id, version: module.version, log_writes: Default::default() })
}

impl AccountingModule {
    /// One page of `kind` from the accounting system. The call's run-log entry is written
    /// in its own transaction in the background: the sync may hold SQLite's one write
    /// connection in an open transaction meanwhile. [`AccountingModule::flush_log`] waits
    /// for those writes.
    pub async fn fetch_page(
        &self,
        state: &AppState,
        kind: EntityKind,
        since: Option<&str>,
        cursor: Option<&str>,
        page_size: u32,
    ) -> Result<AccountingPage, CallError> {
        let timer = Timer::start();
        let result = state.plugins.fetch_page(&self.compiled, self.ctx.clone(), kind, since, cursor, page_size).await;
        let run = run_entry(&self.ctx, "accounting.fetch-page", &timer, result.as_ref().err());
        let (state, ctx, err) = (state.clone(), self.ctx.clone(), result.as_ref().err().cloned());
        let write = tokio::spawn(async move { write_run(&state, ctx.tenant, &ctx, run, err.as_ref()).await });
        let mut writes = self.log_writes.lock().unwrap_or_else(|e| e.into_inner());
        // Keep only the writes still running: a big sync makes thousands of calls.
        writes.retain(|w| !w.is_finished());
        writes.push(write);
        result
    }

    /// Waits until every run-log entry of this module's calls is written.
    pub async fn flush_log(&self) {
        let pending: Vec<_> = std::mem::take(&mut *self.log_writes.lock().unwrap_or_else(|e| e.into_inner()));
        for write in pending {
            let _ = write.await;
        }
    }
}

/// Plugins that ship with the host: manifest text and component bytes.
pub struct Builtin {
    pub manifest: &'static str,
    pub component: &'static [u8],
}

/// Registers the built-in plugins for every tenant (idempotent; run at start-up and
/// when a tenant is created).
pub async fn register_builtins(state: &AppState, builtins: &[Builtin], only: Option<TenantId>) -> anyhow::Result<()> {
    let tenants = {
        let mut c = state.db.read().await?;
        match only {
            Some(t) => vec![t],
            None => crate::tenancy::store::list_tenants(&mut c.conn()).await?.into_iter().map(|t| t.id).collect(),
        }
    };
    for b in builtins {
        let manifest = Manifest::parse(b.manifest).map_err(|e| anyhow::anyhow!("built-in plugin manifest: {e:?}"))?;
        for &tenant in &tenants {
            let mut tx = state.db.begin().await?;
            register(state, &mut tx.conn(), tenant, &Actor::system("host start-up"), &manifest, b.component, true)
                .await
                .map_err(|e| anyhow::anyhow!("registering built-in plugin {}: {e:?}", manifest.id))?;
            tx.commit().await?;
        }
    }
    Ok(())
}
