//! The outbox: queueing (idempotent by source and key) and listing, scoped by tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{Conn, Db, on_conn};
use crate::id_type;
use crate::tenancy::TenantId;
use crate::tenancy::model::str_enum;
use crate::validation::{Invalid, Violations};

use super::address::{check_address, parse_mailbox};

id_type!(
    /// A message in the outbox.
    MailId
);

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// Waiting to be delivered.
    Queued,
    /// Handed to the mail server.
    Sent,
    /// Gave up; `last_error` says why.
    Failed,
}
str_enum!(MailStatus { Queued => "queued", Sent => "sent", Failed => "failed" });

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Who queues it, e.g. `module:sms-main`: the idempotency key is unique per source.
    pub source: String,
    pub idempotency_key: Option<String>,
    pub from: String,
    pub reply_to: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// Largest total size of a message's attachments.
pub const MAX_ATTACHMENT_BYTES: usize = 10 << 20;
/// Most recipients (`to` and `cc` together) of one message.
pub const MAX_RECIPIENTS: usize = 50;

impl OutgoingEmail {
    /// Checks what a mail server would refuse, or a reader would not want.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut v = Violations::new();
        if let Err(e) = parse_mailbox(&self.from) {
            v.add("from", e);
        }
        if let Some(r) = &self.reply_to
            && let Err(e) = parse_mailbox(r)
        {
            v.add("reply_to", e);
        }
        v.check(!self.to.is_empty(), "to", "needs at least one recipient");
        v.check(self.to.len() + self.cc.len() <= MAX_RECIPIENTS, "to", &format!("at most {MAX_RECIPIENTS} recipients in all"));
        for (field, list) in [("to", &self.to), ("cc", &self.cc)] {
            for (i, a) in list.iter().enumerate() {
                if let Err(e) = check_address(a) {
                    v.add(format!("{field}[{i}]"), e);
                }
            }
        }
        v.check(!self.subject.trim().is_empty(), "subject", "must not be empty");
        v.check(!self.subject.chars().any(char::is_control), "subject", "must not contain line breaks");
        v.check(self.subject.chars().count() <= 500, "subject", "must be at most 500 characters");
        let size: usize = self.attachments.iter().map(|a| a.content.len()).sum();
        v.check(size <= MAX_ATTACHMENT_BYTES, "attachments", &format!("must be at most {} MiB in all", MAX_ATTACHMENT_BYTES >> 20));
        for (i, a) in self.attachments.iter().enumerate() {
            v.check(!a.filename.trim().is_empty() && !a.filename.contains(['/', '\\']), &format!("attachments[{i}].filename"), "must be a file name");
            v.check(a.content_type.contains('/'), &format!("attachments[{i}].content_type"), "must be a MIME type such as application/pdf");
        }
        v.finish()
    }
}

/// A message as the API shows it (bodies and attachments are not listed).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct OutboxMail {
    pub id: MailId,
    pub source: String,
    pub idempotency_key: Option<String>,
    #[sqlx(rename = "from_addr")]
    pub from: String,
    pub reply_to: Option<String>,
    #[sqlx(rename = "to_addrs")]
    #[schema(value_type = Vec<String>)]
    pub to: Json<Vec<String>>,
    #[sqlx(rename = "cc_addrs")]
    #[schema(value_type = Vec<String>)]
    pub cc: Json<Vec<String>>,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, source, idempotency_key, from_addr, reply_to, to_addrs, cc_addrs, subject, status, attempts, last_error, created_at, sent_at";

/// Queues `mail` for the tenant, in its own transaction; with an idempotency key already
/// queued by the same source, returns that message's id and queues nothing.
pub async fn queue(db: &Db, tenant: TenantId, mail: &OutgoingEmail) -> Result<MailId, QueueError> {
    mail.validate()?;
    let mut tx = db.begin().await?;
    let id = MailId::new();
    let inserted = {
        let mut c = tx.conn();
        if let Some(key) = &mail.idempotency_key
            && let Some(existing) = by_key(&mut c, tenant, &mail.source, key).await?
        {
            return Ok(existing);
        }
        insert(&mut c, tenant, id, mail).await
    };
    match inserted {
        Ok(()) => {
            tx.commit().await?;
            Ok(id)
        }
        // Two racing calls with one key: the other one queued it first.
        Err(e) if crate::db::is_unique_violation(&e) => {
            drop(tx);
            let key = mail.idempotency_key.as_deref().unwrap_or_default();
            let mut conn = db.read().await?;
            by_key(&mut conn.conn(), tenant, &mail.source, key).await?.ok_or(QueueError::Db(e))
        }
        Err(e) => Err(QueueError::Db(e)),
    }
}

/// Queues `mail` inside the caller's transaction (a domain that decides and queues in one
/// commit, such as the reminders' dispatch); with an idempotency key already queued by the
/// same source, returns that message's id and queues nothing.
pub async fn queue_on(c: &mut Conn<'_>, tenant: TenantId, mail: &OutgoingEmail) -> Result<MailId, QueueError> {
    mail.validate()?;
    if let Some(key) = &mail.idempotency_key
        && let Some(existing) = by_key(c, tenant, &mail.source, key).await?
    {
        return Ok(existing);
    }
    let id = MailId::new();
    insert(c, tenant, id, mail).await?;
    Ok(id)
}

async fn insert(c: &mut Conn<'_>, tenant: TenantId, id: MailId, mail: &OutgoingEmail) -> sqlx::Result<()> {
    let now = Utc::now();
    let sql = "INSERT INTO mail_outbox (tenant_id, id, source, idempotency_key, from_addr, reply_to, to_addrs, cc_addrs, subject, text_body, html_body, status, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', $12)";
    let (to, cc) = (Json(&mail.to), Json(&mail.cc));
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(&mail.source).bind(&mail.idempotency_key).bind(&mail.from).bind(&mail.reply_to).bind(to).bind(cc)
        .bind(&mail.subject).bind(&mail.text).bind(&mail.html).bind(now)
        .execute(c).await.map(|_| ()))?;
    for (n, a) in mail.attachments.iter().enumerate() {
        let sql = "INSERT INTO mail_attachments (tenant_id, mail_id, n, filename, content_type, content) VALUES ($1, $2, $3, $4, $5, $6)";
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(n).bind(&a.filename).bind(&a.content_type).bind(&a.content).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

async fn by_key(c: &mut Conn<'_>, tenant: TenantId, source: &str, key: &str) -> sqlx::Result<Option<MailId>> {
    let sql = "SELECT id FROM mail_outbox WHERE tenant_id = $1 AND source = $2 AND idempotency_key = $3";
    on_conn!(c, c => sqlx::query_scalar::<_, MailId>(sql).bind(tenant).bind(source).bind(key).fetch_optional(c).await)
}

/// Why a message was not queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("database error while queueing mail: {0}")]
    Db(#[from] sqlx::Error),
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: MailId) -> sqlx::Result<Option<OutboxMail>> {
    let sql = format!("SELECT {COLS} FROM mail_outbox WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, OutboxMail>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, status: Option<MailStatus>, source: Option<&str>, after: Uuid, limit: u32) -> sqlx::Result<Vec<OutboxMail>> {
    let sql = format!(
        "SELECT {COLS} FROM mail_outbox WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR source = $3) AND id < $4 \
         ORDER BY id DESC LIMIT $5"
    );
    on_conn!(c, c => sqlx::query_as::<_, OutboxMail>(&sql).bind(tenant).bind(status).bind(source).bind(after).bind(i64::from(limit) + 1).fetch_all(c).await)
}
