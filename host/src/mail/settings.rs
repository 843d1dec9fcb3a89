//! The tenant's SMTP server: where the outbox is delivered. The password is sealed with the
//! server key, bound to the tenant, and never leaves the host (the API says only whether
//! one is set).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{Conn, on_conn};
use crate::plugins::secrets::SecretBox;
use crate::tenancy::TenantId;
use crate::tenancy::model::str_enum;
use crate::validation::{Invalid, Violations};

use super::address::parse_mailbox;

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or a closed network (port 25).
    None,
}
str_enum!(Security { Starttls => "starttls", Tls => "tls", None => "none" });

/// The SMTP settings as the API shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    /// Whether a password is stored (it is never shown).
    pub password_set: bool,
    /// The envelope sender, and the `From` of messages that name none.
    pub from: String,
    /// A CA certificate (PEM) trusted besides the public roots.
    pub ca_pem: Option<String>,
    /// Off: messages wait in the outbox.
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// What an admin sends to set the SMTP server.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettingsInput {
    pub host: String,
    /// Default: 587 for STARTTLS, 465 for TLS, 25 without encryption.
    pub port: Option<u16>,
    pub security: Security,
    pub username: Option<String>,
    /// A new password; absent keeps the stored one, an empty string removes it.
    pub password: Option<String>,
    pub from: String,
    pub ca_pem: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl SmtpSettingsInput {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        })
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        let mut v = Violations::new();
        let host = self.host.trim();
        v.check(!host.is_empty() && host.len() <= 253 && !host.contains(|c: char| c.is_whitespace() || c == '/' || c == ':'), "host", "must be a host name or an IP address, such as smtp.example.ru");
        v.check(self.port() != 0, "port", "must be between 1 and 65535");
        if let Err(e) = parse_mailbox(&self.from) {
            v.add("from", e);
        }
        if let Some(u) = &self.username {
            v.check(!u.trim().is_empty() && !u.chars().any(char::is_control), "username", "must not be empty or contain line breaks");
        }
        v.check(self.password.as_deref().is_none_or(|p| !p.contains(['\r', '\n'])), "password", "must not contain line breaks");
        v.check(self.password.as_deref().is_none_or(str::is_empty) || self.username.is_some(), "password", "needs a username");
        if let Some(pem) = &self.ca_pem {
            v.check(pem.contains("-----BEGIN CERTIFICATE-----"), "ca_pem", "must be a PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        v.finish()
    }
}

/// The settings with the password opened: what the delivery connects with.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub ca_pem: Option<String>,
    pub enabled: bool,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer").field("host", &self.host).field("port", &self.port).field("security", &self.security).field("username", &self.username).finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    host: String,
    port: i32,
    security: Security,
    username: Option<String>,
    password_sealed: Option<String>,
    from_addr: String,
    ca_pem: Option<String>,
    enabled: bool,
    updated_at: DateTime<Utc>,
}

fn seal_context(tenant: TenantId) -> Vec<u8> {
    format!("{tenant}:mail.smtp").into_bytes()
}

async fn row(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Option<Row>> {
    let sql = "SELECT host, port, security, username, password_sealed, from_addr, ca_pem, enabled, updated_at FROM mail_settings WHERE tenant_id = $1";
    on_conn!(c, c => sqlx::query_as::<_, Row>(sql).bind(tenant).fetch_optional(c).await)
}

/// The tenant's settings as shown, if set.
pub async fn get(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Option<SmtpSettings>> {
    Ok(row(c, tenant).await?.map(|r| SmtpSettings {
        host: r.host,
        port: u16::try_from(r.port).unwrap_or(25),
        security: r.security,
        username: r.username,
        password_set: r.password_sealed.is_some(),
        from: r.from_addr,
        ca_pem: r.ca_pem,
        enabled: r.enabled,
        updated_at: r.updated_at,
    }))
}

/// The server to deliver through, its password opened; `None` when not set.
pub async fn server(c: &mut Conn<'_>, secrets: &SecretBox, tenant: TenantId) -> anyhow::Result<Option<SmtpServer>> {
    let Some(r) = row(c, tenant).await? else { return Ok(None) };
    let password = match &r.password_sealed {
        Some(sealed) => Some(String::from_utf8(secrets.open(&seal_context(tenant), sealed)?)?),
        None => None,
    };
    Ok(Some(SmtpServer {
        host: r.host,
        port: u16::try_from(r.port).unwrap_or(25),
        security: r.security,
        username: r.username,
        password,
        from: r.from_addr,
        ca_pem: r.ca_pem,
        enabled: r.enabled,
    }))
}

/// Stores the settings (validated by the caller); the password is sealed, kept when absent.
pub async fn put(c: &mut Conn<'_>, secrets: &SecretBox, tenant: TenantId, input: &SmtpSettingsInput) -> sqlx::Result<()> {
    let kept = row(c, tenant).await?.and_then(|r| r.password_sealed);
    let sealed = match input.password.as_deref() {
        None => kept,
        Some("") => None,
        Some(p) => Some(secrets.seal(&seal_context(tenant), p.as_bytes())),
    };
    let sql = "INSERT INTO mail_settings (tenant_id, host, port, security, username, password_sealed, from_addr, ca_pem, enabled, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
               ON CONFLICT (tenant_id) DO UPDATE SET host = excluded.host, port = excluded.port, security = excluded.security, username = excluded.username, \
               password_sealed = excluded.password_sealed, from_addr = excluded.from_addr, ca_pem = excluded.ca_pem, enabled = excluded.enabled, updated_at = excluded.updated_at";
    let username = input.username.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let ca = input.ca_pem.as_deref().map(str::trim).filter(|p| !p.is_empty());
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(input.host.trim()).bind(i32::from(input.port())).bind(input.security).bind(username).bind(&sealed)
        .bind(input.from.trim()).bind(ca).bind(input.enabled).bind(Utc::now())
        .execute(c).await.map(|_| ()))
}
