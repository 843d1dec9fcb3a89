//! Browser sessions of the web pages: a cookie `crm_session=<tenant>.<session>.<secret>`
//! (the ids make the lookup a primary-key read in the tenant; only the secret's SHA-256
//! is stored), an absolute expiry, sign-out, and a CSRF token per session that every
//! state-changing form and request must send back.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Conn, on_conn};
use crate::id_type;

use super::access::Caller;
use super::model::{Department, Role, TenantId, UserId};

id_type!(
    /// A browser session.
    SessionId
);

/// The cookie's name.
pub const COOKIE: &str = "crm_session";

/// A session just opened: the cookie value is shown to the browser once.
pub struct NewSession {
    pub id: SessionId,
    pub cookie_value: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Splits a cookie value into the tenant, the session and the secret.
pub fn parse_cookie(value: &str) -> Option<(TenantId, SessionId, &str)> {
    let mut parts = value.splitn(3, '.');
    let tenant = parts.next()?.parse::<Uuid>().ok()?;
    let id = parts.next()?.parse::<Uuid>().ok()?;
    let secret = parts.next()?;
    (secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())).then_some((TenantId(tenant), SessionId(id), secret))
}

/// Opens a session for a user for `ttl`.
pub async fn open(c: &mut Conn<'_>, tenant: TenantId, user: UserId, ttl: Duration) -> sqlx::Result<NewSession> {
    let id = SessionId::new();
    let secret = random_hex();
    let csrf_token = random_hex();
    let now = Utc::now();
    let expires_at = now + ttl;
    let hash = Sha256::digest(secret.as_bytes()).to_vec();
    let sql = "INSERT INTO sessions (tenant_id, id, user_id, secret_hash, csrf_token, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(user).bind(&hash).bind(&csrf_token).bind(now).bind(expires_at).execute(c).await.map(|_| ()))?;
    let cookie_value = format!("{}.{}.{}", tenant.0.simple(), id.0.simple(), secret);
    Ok(NewSession { id, cookie_value, csrf_token, expires_at })
}

/// Ends one session (sign-out).
pub async fn end(c: &mut Conn<'_>, tenant: TenantId, id: SessionId) -> sqlx::Result<()> {
    let sql = "UPDATE sessions SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    Ok(())
}

/// Ends every session of a user but `except` (a password change or reset).
pub async fn end_all_of(c: &mut Conn<'_>, tenant: TenantId, user: UserId, except: Option<SessionId>) -> sqlx::Result<u64> {
    let sql = "UPDATE sessions SET ended_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND ended_at IS NULL AND ($3 IS NULL OR id <> $3)";
    let done = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(user).bind(except).bind(Utc::now()).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

#[derive(Debug, sqlx::FromRow)]
struct SessionOwner {
    secret_hash: Vec<u8>,
    csrf_token: String,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    user_id: UserId,
    role: Role,
    departments: Json<Vec<Department>>,
    full_name: String,
    user_archived_at: Option<DateTime<Utc>>,
    time_zone: String,
}

/// A live session: who it is and the token its forms carry.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub id: SessionId,
    pub caller: Caller,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The live session a cookie names, if any (unknown, ended, expired, a wrong secret, an
/// archived user or tenant all answer `None`).
pub async fn resolve(c: &mut Conn<'_>, cookie_value: &str, request_id: Option<String>) -> sqlx::Result<Option<LiveSession>> {
    let Some((tenant, id, secret)) = parse_cookie(cookie_value) else { return Ok(None) };
    let sql = "SELECT s.secret_hash, s.csrf_token, s.expires_at, s.ended_at, u.id AS user_id, u.role, u.departments, u.full_name, \
               u.archived_at AS user_archived_at, tn.time_zone \
               FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id \
               JOIN tenants tn ON tn.id = s.tenant_id \
               WHERE s.tenant_id = $1 AND s.id = $2 AND tn.archived_at IS NULL";
    let owner = on_conn!(c, c => sqlx::query_as::<_, SessionOwner>(sql).bind(tenant).bind(id).fetch_optional(c).await)?;
    let Some(o) = owner else { return Ok(None) };
    let hash = Sha256::digest(secret.as_bytes());
    let secret_ok = super::auth::constant_time_eq(&hash, &o.secret_hash);
    if !secret_ok || o.ended_at.is_some() || o.expires_at <= Utc::now() || o.user_archived_at.is_some() {
        return Ok(None);
    }
    Ok(Some(LiveSession {
        id,
        caller: Caller {
            tenant_id: tenant,
            user_id: o.user_id,
            role: o.role,
            departments: o.departments.0,
            name: o.full_name,
            time_zone: o.time_zone,
            request_id,
        },
        csrf_token: o.csrf_token,
        expires_at: o.expires_at,
    }))
}

/// Compares a CSRF token sent with a request to the session's, in constant time.
pub fn csrf_matches(session: &LiveSession, sent: &str) -> bool {
    super::auth::constant_time_eq(session.csrf_token.as_bytes(), sent.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_names_tenant_session_and_secret() {
        let t = Uuid::now_v7();
        let s = Uuid::now_v7();
        let secret = "a".repeat(64);
        let v = format!("{}.{}.{}", t.simple(), s.simple(), secret);
        let (tenant, id, sec) = parse_cookie(&v).expect("parses");
        assert_eq!((tenant.0, id.0, sec), (t, s, secret.as_str()));
        assert!(parse_cookie(&format!("{}.{}.{}", t.simple(), s.simple(), "zz")).is_none());
        assert!(parse_cookie("garbage").is_none());
    }
}
