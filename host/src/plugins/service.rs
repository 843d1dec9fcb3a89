//! Registry and module-instance operations shared by the API and the admin CLI, and
//! calling a tenant's module instance with its settings, secrets and grants. Every call
//! goes into the run log, in its own transaction, whatever the caller does next.

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
use crate::audit::{self, Actor, AuditAction};
use crate::db::Conn;
use crate::tenancy::TenantId;
use crate::validation::{FieldError, Invalid, Violations};

use super::capabilities::{self, Grants};
use super::contract::ContractVersion;
use super::host::log::LogLine;
use super::manifest::{Manifest, World};
use super::runtime::{CallContext, CallError, CallReport, Compiled, Timer};
use super::store::{self, ModuleRow, Outcome, PluginRun, PluginVersion};
use super::worlds::{self, Function};

/// Why a registry or module operation failed. The HTTP layer maps it to a status.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// No such plugin, plugin version or module instance in the tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Conflicts with what is stored (a version re-uploaded with other content).
    #[error("{detail}")]
    Conflict { detail: String, field: Option<String> },
    /// No module instance can answer: none enabled, or several and none chosen. The
    /// message says what an admin does about it.
    #[error("{0}")]
    NotConfigured(String),
    /// The plugin failed or could not be loaded.
    #[error("the {module} module failed: {error}")]
    Call { module: String, error: CallError },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ModuleResult<T> = Result<T, ModuleError>;

/// Where component files live: `<data dir>/plugins/<sha256>.wasm`.
pub fn component_path(state: &AppState, sha256: &str) -> PathBuf {
    state.config.data_dir.join("plugins").join(format!("{sha256}.wasm"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A component checked and stored, ready to be registered.
pub struct Prepared {
    manifest: Manifest,
    sha256: String,
    size: i64,
    contract: ContractVersion,
}

/// Checks an upload before anything is written to the database: the component must
/// compile, implement the world its manifest declares (world and contract version are
/// read from the component) and start. The file is stored content-addressed.
pub async fn prepare(state: &AppState, tenant: TenantId, manifest: &Manifest, bytes: &[u8]) -> ModuleResult<Prepared> {
    let sha = sha256_hex(bytes);
    let runtime = state.plugins.clone();
    let (sha_c, bytes_c, world) = (sha.clone(), bytes.to_vec(), manifest.world);
    // Compiling takes a while (Cranelift): off the async workers.
    let compiled = tokio::task::spawn_blocking(move || runtime.load(&sha_c, &bytes_c, world))
        .await
        .map_err(|e| anyhow::anyhow!("compiling a plugin: {e}"))?
        .map_err(|e| Invalid::field("component", e.to_string()))?;
    let trial = CallContext {
        tenant,
        module_id: format!("{}-trial", manifest.id),
        plugin_id: manifest.id.clone(),
        version: manifest.version.clone(),
        time_zone: "Europe/Moscow".into(),
        granted: Default::default(),
        outbox: None,
        capture_log: false,
    };
    state
        .plugins
        .try_instantiate(&compiled, Arc::new(trial))
        .await
        .map_err(|e| Invalid::field("component", format!("the component does not start: {e}")))?;
    let path = component_path(state, &sha);
    if !path.exists() {
        let dir = path.parent().unwrap_or(&path).to_path_buf();
        let tmp = dir.join(format!("{sha}.tmp-{}", Uuid::now_v7()));
        let write = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(&tmp, bytes).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        write.await.map_err(|e| anyhow::Error::new(e).context("storing a plugin component"))?;
    }
    Ok(Prepared { manifest: manifest.clone(), sha256: sha, size: bytes.len() as i64, contract: compiled.contract })
}

/// Registers a prepared plugin version for a tenant. Re-uploading the same version with
/// the same content is a no-op; with other content it is a conflict.
pub async fn register(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, p: &Prepared, builtin: bool) -> ModuleResult<PluginVersion> {
    let m = &p.manifest;
    if let Some(existing) = store::get_version(c, tenant, &m.id, &m.version).await? {
        if existing.sha256 == p.sha256 {
            return Ok(existing);
        }
        return Err(ModuleError::Conflict {
            detail: format!("{} {} is already registered with other content; give the new build a new version", m.id, m.version),
            field: Some("manifest.version".into()),
        });
    }
    let v = store::insert_version(c, tenant, m, p.contract, &p.sha256, p.size, builtin).await?;
    audit::record(c, tenant, actor, "plugin_version", audit_id(&format!("{}@{}", v.plugin_id, v.version)), AuditAction::Create, None, &v).await?;
    Ok(v)
}

/// A stable id for audit entries about things keyed by name (module instances, plugin
/// versions, settings).
pub fn audit_id(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

/// A module instance as the API shows it: never the secrets, only which are set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Module {
    /// The instance's id (`sms-main`), chosen when it was enabled.
    pub id: String,
    /// The plugin it runs.
    pub plugin_id: String,
    pub version: String,
    /// The version before the last switch, for `rollback`.
    pub previous_version: Option<String>,
    pub enabled: bool,
    pub world: World,
    /// The contract version of the running component.
    pub contract: ContractVersion,
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// Names of the secrets that are set.
    pub secrets_set: Vec<String>,
    pub grants: Grants,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

/// How a tenant's admin enables and configures a module instance.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleInput {
    /// The plugin the instance runs. Default: the plugin whose id is the instance's id
    /// (`PUT /modules/inn-dadata`). An existing instance keeps its plugin.
    pub plugin_id: Option<String>,
    /// The plugin version to run.
    #[schema(example = "0.2.0")]
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
    /// What the instance may do. Default: the hosts its manifest asks for, no mail.
    pub grants: Option<Grants>,
}

/// `a-z`, `0-9` and `-`, 1–64 characters, like plugin ids.
pub fn valid_module_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && !id.starts_with('-') && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Secrets are sealed bound to the tenant and the instance (an instance made before
/// instances existed has its plugin's id, which is what its secrets were bound to).
fn seal_context(tenant: TenantId, module: &str) -> Vec<u8> {
    format!("{tenant}/{module}").into_bytes()
}

fn open_secrets(state: &AppState, tenant: TenantId, m: &ModuleRow) -> ModuleResult<HashMap<String, String>> {
    let Some(sealed) = &m.secrets else { return Ok(HashMap::new()) };
    let plain = state.secrets.open(&seal_context(tenant, &m.id), sealed).map_err(|e| e.context(format!("opening the secrets of module {}", m.id)))?;
    serde_json::from_slice(&plain).map_err(|e| ModuleError::Internal(anyhow::Error::new(e).context("secrets are not a JSON object")))
}

pub fn view(m: &ModuleRow, v: &PluginVersion) -> Module {
    Module {
        id: m.id.clone(),
        plugin_id: m.plugin_id.clone(),
        version: m.version.clone(),
        previous_version: m.previous_version.clone(),
        enabled: m.enabled,
        world: v.world,
        contract: v.contract,
        settings: m.settings.0.clone(),
        secrets_set: m.secret_keys.0.clone(),
        grants: m.grants.0.clone(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// The instance as the API shows it, with its running version's world and contract.
pub async fn module_view(c: &mut Conn<'_>, tenant: TenantId, m: &ModuleRow) -> ModuleResult<Module> {
    let v = store::get_version(c, tenant, &m.plugin_id, &m.version).await?.ok_or(ModuleError::NotFound("plugin version"))?;
    Ok(view(m, &v))
}

/// Enables (or reconfigures, or switches the version of) module instance `id`.
pub async fn configure(state: &AppState, c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, id: &str, input: ModuleInput) -> ModuleResult<Module> {
    let before = store::get_module(c, tenant, id).await?;
    let plugin = match (&before, &input.plugin_id) {
        (Some(b), Some(p)) if *p != b.plugin_id => {
            return Err(Invalid::field("plugin_id", format!("module {id} runs plugin {}; enable another plugin as a new module id", b.plugin_id)).into());
        }
        (Some(b), _) => b.plugin_id.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => id.to_string(),
    };
    if before.is_none() && !valid_module_id(id) {
        return Err(Invalid::field("id", "a module id is 1–64 characters of a-z, 0-9 and -").into());
    }
    if store::list_versions(c, tenant, Some(&plugin)).await?.is_empty() {
        return Err(if input.plugin_id.is_some() {
            Invalid::field("plugin_id", format!("no plugin {plugin} is registered in your tenant")).into()
        } else {
            ModuleError::NotFound("plugin")
        });
    }
    let version = store::get_version(c, tenant, &plugin, &input.version)
        .await?
        .ok_or_else(|| Invalid::field("version", format!("no version {} of plugin {plugin} is registered", input.version)))?;
    let manifest = &version.manifest.0;
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
    let grants = input.grants.unwrap_or_else(|| capabilities::default_grants(manifest));
    v.extend(capabilities::check(manifest, &grants));
    v.finish()?;

    let mut secret_keys: Vec<String> = secrets.keys().cloned().collect();
    secret_keys.sort();
    let sealed = if secrets.is_empty() {
        None
    } else {
        let plain = serde_json::to_vec(&secrets).map_err(|e| anyhow::Error::new(e).context("sealing secrets"))?;
        Some(state.secrets.seal(&seal_context(tenant, id), &plain))
    };
    let now = Utc::now();
    let previous_version = match &before {
        Some(b) if b.version != input.version => Some(b.version.clone()),
        Some(b) => b.previous_version.clone(),
        None => None,
    };
    let row = ModuleRow {
        id: id.to_string(),
        plugin_id: plugin,
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
    let after = view(&row, &version);
    let before_view = match &before {
        Some(b) => Some(module_view(c, tenant, b).await?),
        None => None,
    };
    let action = if before.is_some() { AuditAction::Update } else { AuditAction::Create };
    audit::record(c, tenant, actor, "module", audit_id(id), action, before_view.as_ref(), &after).await?;
    Ok(after)
}

/// A module instance loaded for calls: its compiled component and what each call may use.
pub struct LoadedModule {
    compiled: Arc<Compiled>,
    ctx: Arc<CallContext>,
    pub module_id: String,
    pub plugin_id: String,
    pub version: String,
    pub world: World,
    pub contract: ContractVersion,
    /// When set, run-log entries are written in the background (see [`LoadedModule::defer_run_log`]).
    deferred: Option<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

/// Loads module instance `m` for calls: its component (compiled once per process), its
/// settings, opened secrets and grants, and the tenant's time zone.
pub async fn load(state: &AppState, tenant: TenantId, m: &ModuleRow, capture_log: bool) -> ModuleResult<LoadedModule> {
    let (version, time_zone) = {
        let mut conn = state.db.read().await?;
        let mut c = conn.conn();
        let v = store::get_version(&mut c, tenant, &m.plugin_id, &m.version).await?.ok_or(ModuleError::NotFound("plugin version"))?;
        let tz = crate::tenancy::store::get_tenant(&mut c, tenant).await?.map(|t| t.time_zone).unwrap_or_else(|| "Europe/Moscow".into());
        (v, tz)
    };
    // The component file is read only when this process has not compiled it yet.
    let compiled = match state.plugins.cached(&version.sha256) {
        Some(c) => c,
        None => {
            let bytes = tokio::fs::read(component_path(state, &version.sha256))
                .await
                .map_err(|e| anyhow::Error::new(e).context(format!("component of {} {} is missing", m.plugin_id, m.version)))?;
            let (runtime, sha, world) = (state.plugins.clone(), version.sha256.clone(), version.world);
            tokio::task::spawn_blocking(move || runtime.load(&sha, &bytes, world))
                .await
                .map_err(|e| anyhow::anyhow!("compiling a plugin: {e}"))?
                .map_err(|error| ModuleError::Call { module: m.id.clone(), error })?
        }
    };
    let manifest = &version.manifest.0;
    let granted = capabilities::grant(manifest, &m.grants.0, &m.settings.0, open_secrets(state, tenant, m)?);
    let ctx = CallContext {
        tenant,
        module_id: m.id.clone(),
        plugin_id: m.plugin_id.clone(),
        version: m.version.clone(),
        time_zone,
        granted,
        outbox: Some(state.db.clone()),
        capture_log,
    };
    Ok(LoadedModule {
        world: compiled.world,
        contract: compiled.contract,
        compiled,
        ctx: Arc::new(ctx),
        module_id: m.id.clone(),
        plugin_id: m.plugin_id.clone(),
        version: m.version.clone(),
        deferred: None,
    })
}

/// The instance of `world` a feature uses: the one it names (which must be enabled and of
/// that world), else the tenant's only enabled instance of the world. `hint` tells an
/// admin what to enable when there is none.
pub async fn resolve(state: &AppState, tenant: TenantId, world: World, named: Option<&str>, hint: &str) -> ModuleResult<LoadedModule> {
    let row = {
        let mut conn = state.db.read().await?;
        let mut c = conn.conn();
        match named {
            Some(id) => {
                let m = store::get_module(&mut c, tenant, id)
                    .await?
                    .ok_or_else(|| ModuleError::NotConfigured(format!("The module `{id}` chosen for this does not exist (any more). {hint}")))?;
                let v = store::get_version(&mut c, tenant, &m.plugin_id, &m.version).await?.ok_or(ModuleError::NotFound("plugin version"))?;
                if v.world != world {
                    return Err(ModuleError::NotConfigured(format!("The module `{id}` chosen for this is a {} plugin, not {world}. {hint}", v.world)));
                }
                if !m.enabled {
                    return Err(ModuleError::NotConfigured(format!("The module `{id}` is disabled; an admin enables it with POST /api/v1/modules/{id}/enable.")));
                }
                m
            }
            None => {
                let mut enabled = store::enabled_for_world(&mut c, tenant, world).await?;
                match enabled.len() {
                    0 => return Err(ModuleError::NotConfigured(hint.to_string())),
                    1 => enabled.remove(0),
                    _ => {
                        let ids: Vec<String> = enabled.iter().map(|m| m.id.clone()).collect();
                        return Err(ModuleError::NotConfigured(format!(
                            "Several {world} modules are enabled ({}); choose the one to use for this.",
                            ids.join(", ")
                        )));
                    }
                }
            }
        }
    };
    load(state, tenant, &row, false).await
}

impl LoadedModule {
    /// Writes this module's run-log entries in the background from now on: a caller that
    /// holds SQLite's one write connection meanwhile (the sync) must not wait on them.
    /// [`LoadedModule::flush_run_log`] waits for them.
    pub fn defer_run_log(mut self) -> Self {
        self.deferred = Some(Default::default());
        self
    }

    /// Calls `f` on a fresh instance and records the call in the run log.
    pub async fn call<F: Function>(&self, state: &AppState, f: F) -> Result<F::Output, CallError> {
        self.call_reported(state, f).await.0
    }

    /// [`LoadedModule::call`], also returning the call's report and run-log entry.
    pub async fn call_reported<F: Function>(&self, state: &AppState, f: F) -> (Result<F::Output, CallError>, CallReport, PluginRun) {
        let timer = Timer::start();
        let (result, report) = state.plugins.call(&self.compiled, self.ctx.clone(), f).await;
        let run = run_entry(&self.ctx, F::NAME, &timer, result.as_ref().err());
        match &self.deferred {
            None => write_run(state, &self.ctx, run.clone(), result.as_ref().err()).await,
            Some(pending) => {
                let (state, ctx, run, err) = (state.clone(), self.ctx.clone(), run.clone(), result.as_ref().err().cloned());
                let write = tokio::spawn(async move { write_run(&state, &ctx, run, err.as_ref()).await });
                let mut writes = pending.lock().unwrap_or_else(|e| e.into_inner());
                // Keep only the writes still running: a big sync makes thousands of calls.
                writes.retain(|w| !w.is_finished());
                writes.push(write);
            }
        }
        (result, report, run)
    }

    /// Keeps the plugin's log lines of each call for the caller
    /// ([`LoadedModule::call_reported`]): the sync reports what the plugin warned about.
    pub fn capture_log(mut self) -> Self {
        let mut ctx = (*self.ctx).clone();
        ctx.capture_log = true;
        self.ctx = Arc::new(ctx);
        self
    }

    /// Waits until every run-log entry of this module's calls is written.
    pub async fn flush_run_log(&self) {
        let Some(pending) = &self.deferred else { return };
        let writes: Vec<_> = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
        for write in writes {
            let _ = write.await;
        }
    }

    /// An instance kept for several calls (see `Runtime::session`); its calls are not
    /// logged one by one.
    pub async fn session(&self, state: &AppState) -> Result<super::runtime::Session, CallError> {
        state.plugins.session(&self.compiled, self.ctx.clone()).await
    }
}

fn run_entry(ctx: &CallContext, function: &str, timer: &Timer, err: Option<&CallError>) -> PluginRun {
    PluginRun {
        id: Uuid::now_v7(),
        module_id: Some(ctx.module_id.clone()),
        plugin_id: ctx.plugin_id.clone(),
        version: ctx.version.clone(),
        function: function.to_string(),
        started_at: Utc::now() - chrono::Duration::microseconds(timer.micros()),
        duration_us: timer.micros(),
        outcome: err.map_or(Outcome::Ok, CallError::outcome),
        error: err.map(ToString::to_string),
    }
}

async fn write_run(state: &AppState, ctx: &CallContext, run: PluginRun, err: Option<&CallError>) {
    let function = run.function.as_str();
    let result = async {
        let mut tx = state.db.begin().await?;
        store::insert_run(&mut tx.conn(), ctx.tenant, &run).await?;
        tx.commit().await
    };
    if let Err(e) = result.await {
        tracing::error!(error = %e, module = %ctx.module_id, "could not write the plugin run log");
    }
    if let Some(e) = err {
        tracing::warn!(module = %ctx.module_id, plugin = %ctx.plugin_id, version = %ctx.version, function, outcome = %run.outcome, error = %e, "plugin call failed");
    }
}

/// Why a `try` call did not produce an output.
#[derive(Debug, thiserror::Error)]
pub enum TryError {
    /// The sample input does not fit the function.
    #[error("{field}: {message}")]
    Input { field: String, message: String },
    /// The plugin failed (recorded in the run log like any call).
    #[error(transparent)]
    Call(CallError),
    #[error("{0}")]
    Internal(String),
}

/// What an admin sends to try a module instance.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TryInput {
    /// The function, `<interface>.<function>` (`enrichment.lookup`); optional when the
    /// world has one.
    pub function: Option<String>,
    /// The function's input, any JSON value (see `GET /modules/{id}/try` for examples).
    pub input: Value,
}

/// How a failed call ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TryFailure {
    pub outcome: Outcome,
    pub message: String,
    /// The plugin's own error, when it returned one.
    pub plugin_error: Option<worlds::PluginError>,
}

/// The result of trying a module instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TryResult {
    pub module_id: String,
    pub function: String,
    /// What the function returned, any JSON value; `null` when it failed.
    pub output: Option<Value>,
    pub failure: Option<TryFailure>,
    /// The plugin's log lines during the call.
    pub log: Vec<LogLine>,
    /// Fuel the call used, for worlds that run on fuel (fee rules).
    pub fuel_used: Option<u64>,
    /// The call's run-log entry.
    pub run: PluginRun,
}

/// A function an instance can be tried with, as the API lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TryableView {
    pub function: String,
    pub description: String,
    pub example: Value,
}

/// The functions module instance `id` can be tried with.
pub async fn tryable(state: &AppState, tenant: TenantId, id: &str) -> ModuleResult<Vec<TryableView>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let m = store::get_module(&mut c, tenant, id).await?.ok_or(ModuleError::NotFound("module"))?;
    let world = module_view(&mut c, tenant, &m).await?.world;
    Ok(worlds::tryable()
        .into_iter()
        .filter(|f| f.world == world)
        .map(|f| TryableView { function: f.name.to_string(), description: f.description.to_string(), example: (f.example)() })
        .collect())
}

/// Calls module instance `id` (enabled or not) with a sample input, capturing its log.
pub async fn try_module(state: &AppState, tenant: TenantId, id: &str, input: TryInput) -> ModuleResult<TryResult> {
    let row = {
        let mut conn = state.db.read().await?;
        store::get_module(&mut conn.conn(), tenant, id).await?.ok_or(ModuleError::NotFound("module"))?
    };
    let module = load(state, tenant, &row, true).await?;
    let functions: Vec<worlds::TryableFunction> = worlds::tryable().into_iter().filter(|f| f.world == module.world).collect();
    let function = match &input.function {
        Some(name) => functions.iter().find(|f| f.name == name).ok_or_else(|| {
            let names: Vec<&str> = functions.iter().map(|f| f.name).collect();
            Invalid::field("function", format!("module {id} ({}) has no function `{name}`; it has: {}", module.world, names.join(", ")))
        })?,
        None => match functions.as_slice() {
            [one] => one,
            _ => {
                let names: Vec<&str> = functions.iter().map(|f| f.name).collect();
                return Err(Invalid::field("function", format!("name the function to call: {}", names.join(", "))).into());
            }
        },
    };
    let worlds::TryOutcome { result, report, run } = (function.run)(&module, state, input.input).await;
    let (output, failure) = match result {
        Ok(v) => (Some(v), None),
        Err(TryError::Input { field, message }) => return Err(Invalid(vec![FieldError::new(field, message)]).into()),
        Err(TryError::Internal(m)) => return Err(ModuleError::Internal(anyhow::anyhow!(m))),
        Err(TryError::Call(e)) => {
            let plugin_error = match &e {
                CallError::Plugin(p) => Some(p.clone()),
                _ => None,
            };
            (None, Some(TryFailure { outcome: e.outcome(), message: e.to_string(), plugin_error }))
        }
    };
    Ok(TryResult {
        module_id: id.to_string(),
        function: function.name.to_string(),
        output,
        failure,
        log: report.log,
        fuel_used: report.fuel_used,
        run: run.ok_or_else(|| anyhow::anyhow!("a tried call left no run-log entry"))?,
    })
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
        let manifest = Manifest::parse(b.manifest).map_err(|e| anyhow::anyhow!("built-in plugin manifest: {e}"))?;
        for &tenant in &tenants {
            let prepared = prepare(state, tenant, &manifest, b.component).await.map_err(|e| anyhow::anyhow!("built-in plugin {}: {e}", manifest.id))?;
            let mut tx = state.db.begin().await?;
            register(&mut tx.conn(), tenant, &Actor::system("host start-up"), &prepared, true)
                .await
                .map_err(|e| anyhow::anyhow!("registering built-in plugin {}: {e}", manifest.id))?;
            tx.commit().await?;
        }
    }
    Ok(())
}
