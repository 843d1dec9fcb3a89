//! Registry, module and run-log queries, every one scoped by tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{Conn, on_conn};
use crate::tenancy::TenantId;
use crate::tenancy::model::str_enum;

pub use super::capabilities::Grants;
use super::contract::ContractVersion;
use super::manifest::{Manifest, World};

/// One uploaded (or built-in) version of a plugin.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PluginVersion {
    pub plugin_id: String,
    pub version: String,
    pub world: World,
    /// The `crm:plugin` contract version the component is built against, read from the
    /// component itself.
    pub contract: ContractVersion,
    #[schema(value_type = Manifest)]
    pub manifest: Json<Manifest>,
    /// SHA-256 of the component.
    pub sha256: String,
    pub size_bytes: i64,
    /// Shipped with the host.
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
}

/// A module instance: a plugin enabled (or disabled) for the tenant with its own settings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModuleRow {
    /// The instance's id, chosen by the admin (`sms-main`); for an instance made before
    /// instances existed, its plugin's id.
    pub id: String,
    pub plugin_id: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub enabled: bool,
    pub settings: Json<Map<String, Value>>,
    /// Sealed JSON object of secret settings.
    pub secrets: Option<String>,
    pub secret_keys: Json<Vec<String>>,
    pub grants: Json<Grants>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const VERSION_COLS: &str = "plugin_id, version, world, contract, manifest, sha256, size_bytes, builtin, created_at";
const MODULE_COLS: &str = "id, plugin_id, version, previous_version, enabled, settings, secrets, secret_keys, grants, created_at, updated_at";

pub async fn get_version(c: &mut Conn<'_>, tenant: TenantId, plugin: &str, version: &str) -> sqlx::Result<Option<PluginVersion>> {
    let sql = format!("SELECT {VERSION_COLS} FROM plugin_versions WHERE tenant_id = $1 AND plugin_id = $2 AND version = $3");
    on_conn!(c, c => sqlx::query_as::<_, PluginVersion>(&sql).bind(tenant).bind(plugin).bind(version).fetch_optional(c).await)
}

pub async fn list_versions(c: &mut Conn<'_>, tenant: TenantId, plugin: Option<&str>) -> sqlx::Result<Vec<PluginVersion>> {
    let sql = format!(
        "SELECT {VERSION_COLS} FROM plugin_versions WHERE tenant_id = $1 AND ($2 IS NULL OR plugin_id = $2) ORDER BY plugin_id, created_at DESC"
    );
    on_conn!(c, c => sqlx::query_as::<_, PluginVersion>(&sql).bind(tenant).bind(plugin).fetch_all(c).await)
}

/// Registers a version; a version is immutable, so the same id and version with other
/// content is refused by the caller before this runs.
#[allow(clippy::too_many_arguments)] // one row's columns
pub async fn insert_version(c: &mut Conn<'_>, tenant: TenantId, m: &Manifest, contract: ContractVersion, sha256: &str, size: i64, builtin: bool) -> sqlx::Result<PluginVersion> {
    let sql = format!(
        "INSERT INTO plugin_versions (tenant_id, plugin_id, version, world, contract, manifest, sha256, size_bytes, builtin, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {VERSION_COLS}"
    );
    let manifest = Json(m.clone());
    on_conn!(c, c => sqlx::query_as::<_, PluginVersion>(&sql)
        .bind(tenant).bind(&m.id).bind(&m.version).bind(m.world).bind(contract).bind(&manifest).bind(sha256).bind(size).bind(builtin).bind(Utc::now())
        .fetch_one(c).await)
}

pub async fn get_module(c: &mut Conn<'_>, tenant: TenantId, id: &str) -> sqlx::Result<Option<ModuleRow>> {
    let sql = format!("SELECT {MODULE_COLS} FROM modules WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, ModuleRow>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn list_modules(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<ModuleRow>> {
    let sql = format!("SELECT {MODULE_COLS} FROM modules WHERE tenant_id = $1 ORDER BY id");
    on_conn!(c, c => sqlx::query_as::<_, ModuleRow>(&sql).bind(tenant).fetch_all(c).await)
}

/// The tenant's enabled module instances implementing `world`, oldest first.
pub async fn enabled_for_world(c: &mut Conn<'_>, tenant: TenantId, world: World) -> sqlx::Result<Vec<ModuleRow>> {
    let sql = "SELECT m.id, m.plugin_id, m.version, m.previous_version, m.enabled, m.settings, m.secrets, m.secret_keys, m.grants, m.created_at, m.updated_at \
         FROM modules m JOIN plugin_versions v ON v.tenant_id = m.tenant_id AND v.plugin_id = m.plugin_id AND v.version = m.version \
         WHERE m.tenant_id = $1 AND m.enabled AND v.world = $2 ORDER BY m.created_at, m.id";
    on_conn!(c, c => sqlx::query_as::<_, ModuleRow>(sql).bind(tenant).bind(world).fetch_all(c).await)
}

pub async fn upsert_module(c: &mut Conn<'_>, tenant: TenantId, m: &ModuleRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO modules (tenant_id, id, plugin_id, version, previous_version, enabled, settings, secrets, secret_keys, grants, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
               ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, previous_version = EXCLUDED.previous_version, \
               enabled = EXCLUDED.enabled, settings = EXCLUDED.settings, secrets = EXCLUDED.secrets, secret_keys = EXCLUDED.secret_keys, \
               grants = EXCLUDED.grants, updated_at = EXCLUDED.updated_at";
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(&m.id).bind(&m.plugin_id).bind(&m.version).bind(&m.previous_version).bind(m.enabled).bind(&m.settings)
        .bind(&m.secrets).bind(&m.secret_keys).bind(&m.grants).bind(m.created_at).bind(m.updated_at)
        .execute(c).await.map(|_| ()))
}

/// Removes a module instance (its run log stays).
pub async fn delete_module(c: &mut Conn<'_>, tenant: TenantId, id: &str) -> sqlx::Result<bool> {
    let sql = "DELETE FROM modules WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).execute(c).await.map(|r| r.rows_affected() == 1))
}

/// How a plugin call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Returned normally (possibly a guest-visible error the plugin chose to return).
    Ok,
    /// The plugin returned an error value.
    Error,
    /// The plugin trapped (panic, invalid memory access, …).
    Trap,
    /// It ran past its time limit.
    Timeout,
    /// It exceeded its memory, output or fuel limit.
    Limit,
    /// It did not get its turn in time (its tenant's share or every slot in use); it
    /// never started.
    Busy,
}
str_enum!(Outcome { Ok => "ok", Error => "error", Trap => "trap", Timeout => "timeout", Limit => "limit", Busy => "busy" });

/// One entry of the plugin run log.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PluginRun {
    pub id: Uuid,
    /// The module instance that ran.
    pub module_id: Option<String>,
    pub plugin_id: String,
    pub version: String,
    pub function: String,
    pub started_at: DateTime<Utc>,
    pub duration_us: i64,
    pub outcome: Outcome,
    pub error: Option<String>,
}

pub async fn insert_run(c: &mut Conn<'_>, tenant: TenantId, r: &PluginRun) -> sqlx::Result<()> {
    let sql = "INSERT INTO plugin_runs (tenant_id, id, module_id, plugin_id, version, function, started_at, duration_us, outcome, error) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(r.id).bind(&r.module_id).bind(&r.plugin_id).bind(&r.version).bind(&r.function).bind(r.started_at).bind(r.duration_us)
        .bind(r.outcome).bind(&r.error)
        .execute(c).await.map(|_| ()))
}

pub async fn list_runs(c: &mut Conn<'_>, tenant: TenantId, plugin: Option<&str>, module: Option<&str>, after: Uuid, limit: u32) -> sqlx::Result<Vec<PluginRun>> {
    let sql = "SELECT id, module_id, plugin_id, version, function, started_at, duration_us, outcome, error FROM plugin_runs \
               WHERE tenant_id = $1 AND ($2 IS NULL OR plugin_id = $2) AND ($3 IS NULL OR module_id = $3) AND id < $4 ORDER BY id DESC LIMIT $5";
    on_conn!(c, c => sqlx::query_as::<_, PluginRun>(sql).bind(tenant).bind(plugin).bind(module).bind(after).bind(i64::from(limit) + 1).fetch_all(c).await)
}
