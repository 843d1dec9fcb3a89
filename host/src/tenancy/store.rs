//! Tenant, user and token queries. Every function but tenant creation takes the tenant id.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::types::Json;

use crate::db::{Conn, on_conn};

use super::model::{ApiToken, Department, IssuedToken, Role, Tenant, TenantId, TokenId, User, UserId};

const TENANT_COLS: &str = "id, name, time_zone, created_at";
const USER_COLS: &str = "id, email, full_name, role, departments, created_at, updated_at, archived_at";
const TOKEN_COLS: &str = "id, user_id, name, created_at, revoked_at";

pub async fn insert_tenant(c: &mut Conn<'_>, name: &str, time_zone: &str) -> sqlx::Result<Tenant> {
    let sql = format!("INSERT INTO tenants (id, name, time_zone, created_at) VALUES ($1, $2, $3, $4) RETURNING {TENANT_COLS}");
    let id = TenantId::new();
    let now = Utc::now();
    on_conn!(c, c => sqlx::query_as::<_, Tenant>(&sql).bind(id).bind(name).bind(time_zone).bind(now).fetch_one(c).await)
}

/// Tenants whose shipped defaults are older than `version`, with the version they have.
pub async fn tenants_behind(c: &mut Conn<'_>, version: i32) -> sqlx::Result<Vec<(TenantId, i32)>> {
    let sql = "SELECT id, defaults_version FROM tenants WHERE defaults_version < $1 ORDER BY id";
    on_conn!(c, c => sqlx::query_as(sql).bind(version).fetch_all(c).await)
}

/// Moves a tenant's defaults from version `from` to `to`; `false` when it was not at `from`
/// (another process upgraded it first).
pub async fn set_defaults_version(c: &mut Conn<'_>, tenant: TenantId, from: i32, to: i32) -> sqlx::Result<bool> {
    let sql = "UPDATE tenants SET defaults_version = $3 WHERE id = $1 AND defaults_version = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(from).bind(to).execute(c).await.map(|r| r.rows_affected() == 1))
}

pub async fn get_tenant(c: &mut Conn<'_>, id: TenantId) -> sqlx::Result<Option<Tenant>> {
    let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1 AND archived_at IS NULL");
    on_conn!(c, c => sqlx::query_as::<_, Tenant>(&sql).bind(id).fetch_optional(c).await)
}

pub async fn list_tenants(c: &mut Conn<'_>) -> sqlx::Result<Vec<Tenant>> {
    let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE archived_at IS NULL ORDER BY id");
    on_conn!(c, c => sqlx::query_as::<_, Tenant>(&sql).fetch_all(c).await)
}

pub async fn update_tenant(c: &mut Conn<'_>, id: TenantId, name: &str, time_zone: &str) -> sqlx::Result<Tenant> {
    let sql = format!("UPDATE tenants SET name = $2, time_zone = $3 WHERE id = $1 RETURNING {TENANT_COLS}");
    on_conn!(c, c => sqlx::query_as::<_, Tenant>(&sql).bind(id).bind(name).bind(time_zone).fetch_one(c).await)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub full_name: &'a str,
    pub role: Role,
    pub departments: &'a [Department],
}

pub async fn insert_user(c: &mut Conn<'_>, tenant: TenantId, u: &NewUser<'_>) -> sqlx::Result<User> {
    let sql = format!(
        "INSERT INTO users (tenant_id, id, email, full_name, role, departments, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {USER_COLS}"
    );
    let now = Utc::now();
    let deps = Json(u.departments.to_vec());
    on_conn!(c, c => sqlx::query_as::<_, User>(&sql)
        .bind(tenant).bind(UserId::new()).bind(u.email.trim().to_lowercase()).bind(u.full_name).bind(u.role).bind(&deps).bind(now)
        .fetch_one(c).await)
}

pub async fn get_user(c: &mut Conn<'_>, tenant: TenantId, id: UserId) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, User>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// A user of the tenant by e-mail (case-insensitive).
pub async fn user_by_email(c: &mut Conn<'_>, tenant: TenantId, email: &str) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND email = $2");
    on_conn!(c, c => sqlx::query_as::<_, User>(&sql).bind(tenant).bind(email.trim().to_lowercase()).fetch_optional(c).await)
}

/// True when the id names an active (not archived) user of the tenant.
pub async fn user_is_active(c: &mut Conn<'_>, tenant: TenantId, id: UserId) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND id = $2 AND archived_at IS NULL";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Active admins of the tenant other than `except`.
pub async fn count_active_admins(c: &mut Conn<'_>, tenant: TenantId, except: UserId) -> sqlx::Result<i64> {
    let sql = "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'admin' AND archived_at IS NULL AND id <> $2";
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(except).fetch_one(c).await)
}

pub async fn email_taken(c: &mut Conn<'_>, tenant: TenantId, email: &str, except: Option<UserId>) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND email = $2 AND ($3 IS NULL OR id <> $3)";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(email.trim().to_lowercase()).bind(except).fetch_one(c).await)?;
    Ok(n > 0)
}

pub async fn list_users(c: &mut Conn<'_>, tenant: TenantId, after: uuid::Uuid, limit: u32, include_archived: bool) -> sqlx::Result<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND id < $2 AND ($3 OR archived_at IS NULL) ORDER BY id DESC LIMIT $4"
    );
    on_conn!(c, c => sqlx::query_as::<_, User>(&sql).bind(tenant).bind(after).bind(include_archived).bind(i64::from(limit) + 1).fetch_all(c).await)
}

pub async fn update_user(c: &mut Conn<'_>, tenant: TenantId, u: &User) -> sqlx::Result<User> {
    let sql = format!(
        "UPDATE users SET email = $3, full_name = $4, role = $5, departments = $6, updated_at = $7, archived_at = $8 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {USER_COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, User>(&sql)
        .bind(tenant).bind(u.id).bind(&u.email).bind(&u.full_name).bind(u.role).bind(&u.departments).bind(Utc::now()).bind(u.archived_at)
        .fetch_one(c).await)
}

/// Issues a token for a user. The secret part is random (256 bits) and only its SHA-256
/// is stored; the tenant and token ids ride in the token so lookup is by primary key.
pub async fn issue_token(c: &mut Conn<'_>, tenant: TenantId, user: UserId, name: &str) -> sqlx::Result<IssuedToken> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret_hex = hex::encode(secret);
    let id = TokenId::new();
    let token = format!("crm_{}_{}_{}", tenant.0.simple(), id.0.simple(), secret_hex);
    let hash = Sha256::digest(secret_hex.as_bytes()).to_vec();
    let sql = format!(
        "INSERT INTO api_tokens (tenant_id, id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLS}"
    );
    let info = on_conn!(c, c => sqlx::query_as::<_, ApiToken>(&sql)
        .bind(tenant).bind(id).bind(user).bind(name).bind(&hash).bind(Utc::now())
        .fetch_one(c).await)?;
    Ok(IssuedToken { info, token })
}

pub async fn list_tokens(c: &mut Conn<'_>, tenant: TenantId, user: Option<UserId>) -> sqlx::Result<Vec<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE tenant_id = $1 AND ($2 IS NULL OR user_id = $2) ORDER BY id DESC");
    on_conn!(c, c => sqlx::query_as::<_, ApiToken>(&sql).bind(tenant).bind(user).fetch_all(c).await)
}

pub async fn get_token(c: &mut Conn<'_>, tenant: TenantId, id: TokenId) -> sqlx::Result<Option<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, ApiToken>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn revoke_token(c: &mut Conn<'_>, tenant: TenantId, id: TokenId) -> sqlx::Result<Option<ApiToken>> {
    let sql = format!(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2 RETURNING {TOKEN_COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, ApiToken>(&sql).bind(tenant).bind(id).bind(Utc::now()).fetch_optional(c).await)
}

/// What a token resolves to, if it is live.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenOwner {
    pub token_hash: Vec<u8>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub user_id: UserId,
    pub role: Role,
    pub departments: Json<Vec<Department>>,
    pub full_name: String,
    pub user_archived_at: Option<DateTime<Utc>>,
    pub time_zone: String,
}

pub async fn token_owner(c: &mut Conn<'_>, tenant: TenantId, id: TokenId) -> sqlx::Result<Option<TokenOwner>> {
    let sql = "SELECT t.token_hash, t.revoked_at, u.id AS user_id, u.role, u.departments, u.full_name, u.archived_at AS user_archived_at, tn.time_zone \
               FROM api_tokens t JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id \
               JOIN tenants tn ON tn.id = t.tenant_id \
               WHERE t.tenant_id = $1 AND t.id = $2 AND tn.archived_at IS NULL";
    on_conn!(c, c => sqlx::query_as::<_, TokenOwner>(sql).bind(tenant).bind(id).fetch_optional(c).await)
}
