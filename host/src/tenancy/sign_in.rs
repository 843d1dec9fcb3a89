//! Signing in to the web pages with an e-mail and a password, setting and changing
//! passwords (shared by the API, the CLI and the pages), and the throttle on failures.
//!
//! The throttle counts failed sign-ins per login (the e-mail, lower-cased) in the
//! database, so every host process over one database sees the same count: after
//! [`MAX_FAILURES`] failures within [`WINDOW_MINUTES`] the login is locked for
//! [`LOCK_MINUTES`], whatever the password.

use chrono::{DateTime, Duration, Utc};

use crate::audit::{self, Actor, AuditAction};
use crate::db::{Conn, Db, on_conn};
use crate::validation::Invalid;

use super::model::{TenantId, UserId};
use super::password;
use super::service::TenancyError;
use super::session::{self, NewSession, SessionId};

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_MINUTES: i64 = 15;
pub const LOCK_MINUTES: i64 = 15;

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown e-mail, no password set, or a wrong password: one answer for all.
    #[error("wrong e-mail or password")]
    Wrong,
    /// Too many failures; try again after the time given.
    #[error("too many failed sign-ins; locked until {0}")]
    Locked(DateTime<Utc>),
    /// The password matches users of several tenants: the caller must choose one.
    #[error("choose the organisation")]
    ChooseTenant(Vec<(TenantId, String)>),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, sqlx::FromRow)]
struct Candidate {
    tenant_id: TenantId,
    user_id: UserId,
    tenant_name: String,
    password_hash: String,
}

/// The login as the throttle and the lookup see it.
pub fn normalise_login(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks the password of the user with this e-mail and opens a session. `tenant`
/// chooses among several tenants whose user has this e-mail and password.
pub async fn sign_in(db: &Db, email: &str, password: &str, tenant: Option<TenantId>, ttl: Duration) -> Result<(TenantId, UserId, NewSession), SignInError> {
    let login = normalise_login(email);
    let now = Utc::now();
    {
        let mut conn = db.read().await?;
        if let Some(until) = locked_until(&mut conn.conn(), &login, now).await? {
            return Err(SignInError::Locked(until));
        }
    }
    let candidates = {
        let mut conn = db.read().await?;
        let sql = "SELECT u.tenant_id, u.id AS user_id, tn.name AS tenant_name, u.password_hash FROM users u \
                   JOIN tenants tn ON tn.id = u.tenant_id \
                   WHERE u.email = $1 AND u.password_hash IS NOT NULL AND u.archived_at IS NULL AND tn.archived_at IS NULL \
                   ORDER BY tn.name";
        let mut c = conn.conn();
        on_conn!(&mut c, c => sqlx::query_as::<_, Candidate>(sql).bind(&login).fetch_all(c).await)?
    };
    let mut matching = Vec::new();
    for cand in candidates {
        if tenant.is_some_and(|t| t != cand.tenant_id) {
            continue;
        }
        if password::verify_blocking(password.to_owned(), cand.password_hash.clone()).await {
            matching.push(cand);
        }
    }
    match matching.len() {
        0 => {
            let mut tx = db.begin().await?;
            record_failure(&mut tx.conn(), &login, now).await?;
            tx.commit().await?;
            Err(SignInError::Wrong)
        }
        1 => {
            let who = &matching[0];
            let mut tx = db.begin().await?;
            clear_failures(&mut tx.conn(), &login).await?;
            let s = session::open(&mut tx.conn(), who.tenant_id, who.user_id, ttl).await?;
            tx.commit().await?;
            Ok((who.tenant_id, who.user_id, s))
        }
        _ => Err(SignInError::ChooseTenant(matching.into_iter().map(|m| (m.tenant_id, m.tenant_name)).collect())),
    }
}

async fn locked_until(c: &mut Conn<'_>, login: &str, now: DateTime<Utc>) -> sqlx::Result<Option<DateTime<Utc>>> {
    let sql = "SELECT locked_until FROM sign_in_failures WHERE login = $1";
    let until: Option<Option<DateTime<Utc>>> = on_conn!(c, c => sqlx::query_scalar(sql).bind(login).fetch_optional(c).await)?;
    Ok(until.flatten().filter(|u| *u > now))
}

async fn record_failure(c: &mut Conn<'_>, login: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    let window_start = now - Duration::minutes(WINDOW_MINUTES);
    let lock = now + Duration::minutes(LOCK_MINUTES);
    // A failure outside the window starts a new count; the one that reaches the limit locks.
    let sql = "INSERT INTO sign_in_failures (login, failures, window_start, locked_until) VALUES ($1, 1, $2, NULL) \
               ON CONFLICT (login) DO UPDATE SET \
                 failures = CASE WHEN sign_in_failures.window_start < $3 THEN 1 ELSE sign_in_failures.failures + 1 END, \
                 window_start = CASE WHEN sign_in_failures.window_start < $3 THEN $2 ELSE sign_in_failures.window_start END, \
                 locked_until = CASE WHEN sign_in_failures.window_start >= $3 AND sign_in_failures.failures + 1 >= $4 THEN $5 \
                                     ELSE sign_in_failures.locked_until END";
    on_conn!(c, c => sqlx::query(sql).bind(login).bind(now).bind(window_start).bind(MAX_FAILURES).bind(lock).execute(c).await.map(|_| ()))?;
    // Counts that can no longer lock anyone are forgotten, so guessed e-mails do not pile up.
    let sql = "DELETE FROM sign_in_failures WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $2)";
    on_conn!(c, c => sqlx::query(sql).bind(window_start).bind(now).execute(c).await.map(|_| ()))?;
    Ok(())
}

async fn clear_failures(c: &mut Conn<'_>, login: &str) -> sqlx::Result<()> {
    on_conn!(c, c => sqlx::query("DELETE FROM sign_in_failures WHERE login = $1").bind(login).execute(c).await.map(|_| ()))?;
    Ok(())
}

async fn store_password(c: &mut Conn<'_>, tenant: TenantId, user: UserId, phc: &str) -> sqlx::Result<bool> {
    let sql = "UPDATE users SET password_hash = $3, password_changed_at = $4 WHERE tenant_id = $1 AND id = $2";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(user).bind(phc).bind(Utc::now()).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

async fn stored_password(c: &mut Conn<'_>, tenant: TenantId, user: UserId) -> sqlx::Result<Option<String>> {
    let sql = "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2";
    let h: Option<Option<String>> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(user).fetch_optional(c).await)?;
    Ok(h.flatten())
}

/// Whether the user has a password (the API shows it; the hash never leaves the store).
pub async fn has_password(c: &mut Conn<'_>, tenant: TenantId, user: UserId) -> sqlx::Result<bool> {
    Ok(stored_password(c, tenant, user).await?.is_some())
}

/// An admin sets or resets a user's password (API and CLI): the user's sessions end.
/// `phc` comes from [`password::hash_blocking`] after [`password::check_policy`].
pub async fn set_password(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, user: UserId, phc: &str) -> Result<(), TenancyError> {
    if !store_password(c, tenant, user, phc).await? {
        return Err(TenancyError::NotFound("user"));
    }
    session::end_all_of(c, tenant, user, None).await?;
    audit::record(c, tenant, actor, "user", user.0, AuditAction::Update, None, &serde_json::json!({"password": "set"})).await?;
    Ok(())
}

/// A user changes their own password, proving the current one; their other sessions end.
pub async fn change_own_password(
    db: &Db,
    tenant: TenantId,
    actor: &Actor,
    user: UserId,
    current: &str,
    new: &str,
    keep_session: Option<SessionId>,
) -> Result<(), TenancyError> {
    password::check_policy("new_password", new)?;
    let stored = {
        let mut conn = db.read().await?;
        stored_password(&mut conn.conn(), tenant, user).await?
    };
    let ok = match stored {
        Some(phc) => password::verify_blocking(current.to_owned(), phc).await,
        None => false,
    };
    if !ok {
        return Err(Invalid::field("current_password", "does not match your current password").into());
    }
    let phc = password::hash_blocking(new.to_owned()).await;
    let mut tx = db.begin().await?;
    let c = &mut tx.conn();
    store_password(c, tenant, user, &phc).await?;
    session::end_all_of(c, tenant, user, keep_session).await?;
    audit::record(c, tenant, actor, "user", user.0, AuditAction::Update, None, &serde_json::json!({"password": "changed"})).await?;
    tx.commit().await?;
    Ok(())
}
