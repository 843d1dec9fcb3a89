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
    /// Waiting to be delivered (again, after `next_attempt_at`, when a try failed for a
    /// reason that passes).
    Queued,
    /// Being handed to the mail server right now.
    Sending,
    /// The mail server accepted it.
    Sent,
    /// Gave up; `last_error` says why (the server's own words).
    Failed,
}
str_enum!(MailStatus { Queued => "queued", Sending => "sending", Sent => "sent", Failed => "failed" });

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
    /// Shown inside the HTML part, which refers to it as `cid:<content_id>` (a chart).
    pub content_id: Option<String>,
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
            if let Some(cid) = &a.content_id {
                v.check(!cid.is_empty() && cid.len() <= 200 && cid.chars().all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c)), &format!("attachments[{i}].content_id"), "must be letters, digits, `.`, `-`, `_` or `@`");
            }
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
    /// When a message that failed for a passing reason is tried again.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The `Message-ID` it was sent with (the same on every try).
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, source, idempotency_key, from_addr, reply_to, to_addrs, cc_addrs, subject, status, attempts, last_error, next_attempt_at, message_id, created_at, sent_at";

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
        let sql = "INSERT INTO mail_attachments (tenant_id, mail_id, n, filename, content_type, content, content_id) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(n).bind(&a.filename).bind(&a.content_type).bind(&a.content).bind(&a.content_id).execute(c).await.map(|_| ()))?;
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

// --- Delivery ---------------------------------------------------------------------------------

/// Messages to hand to the mail server now, oldest first: queued ones whose time has come,
/// and ones left `sending` by a delivery run that died (only one run per tenant works at a
/// time, so any such message is abandoned).
pub async fn due(c: &mut Conn<'_>, tenant: TenantId, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<MailId>> {
    let sql = "SELECT id FROM mail_outbox WHERE tenant_id = $1 AND (status = 'sending' OR (status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= $2))) \
               ORDER BY created_at, id LIMIT $3";
    on_conn!(c, c => sqlx::query_scalar::<_, MailId>(sql).bind(tenant).bind(now).bind(limit).fetch_all(c).await)
}

/// Whether anything waits to be delivered now.
pub async fn any_due(c: &mut Conn<'_>, tenant: TenantId, now: DateTime<Utc>) -> sqlx::Result<bool> {
    Ok(!due(c, tenant, now, 1).await?.is_empty())
}

/// A message with its bodies and attachments: what is handed to the server.
#[derive(Debug, Clone)]
pub struct FullMail {
    pub head: OutboxMail,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

pub async fn full(c: &mut Conn<'_>, tenant: TenantId, id: MailId) -> sqlx::Result<Option<FullMail>> {
    let Some(head) = get(c, tenant, id).await? else { return Ok(None) };
    let sql = "SELECT text_body, html_body FROM mail_outbox WHERE tenant_id = $1 AND id = $2";
    let (text, html): (String, Option<String>) = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(id).fetch_one(c).await)?;
    let sql = "SELECT filename, content_type, content, content_id FROM mail_attachments WHERE tenant_id = $1 AND mail_id = $2 ORDER BY n";
    let rows: Vec<(String, String, Vec<u8>, Option<String>)> = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(id).fetch_all(c).await)?;
    let attachments = rows.into_iter().map(|(filename, content_type, content, content_id)| Attachment { filename, content_type, content, content_id }).collect();
    Ok(Some(FullMail { head, text, html, attachments }))
}

/// The message is about to be handed to the server: one more attempt, under its id.
pub async fn mark_sending(c: &mut Conn<'_>, tenant: TenantId, id: MailId, message_id: &str) -> sqlx::Result<()> {
    let sql = "UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1, message_id = $3 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(message_id).execute(c).await.map(|_| ()))
}

pub async fn mark_sent(c: &mut Conn<'_>, tenant: TenantId, id: MailId, at: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE mail_outbox SET status = 'sent', sent_at = $3, last_error = NULL, next_attempt_at = NULL WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(at).execute(c).await.map(|_| ()))
}

/// A failure that passes: queued again for `next`, with the reason.
pub async fn mark_retry(c: &mut Conn<'_>, tenant: TenantId, id: MailId, next: DateTime<Utc>, error: &str) -> sqlx::Result<()> {
    let sql = "UPDATE mail_outbox SET status = 'queued', next_attempt_at = $3, last_error = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(next).bind(error).execute(c).await.map(|_| ()))
}

pub async fn mark_failed(c: &mut Conn<'_>, tenant: TenantId, id: MailId, error: &str) -> sqlx::Result<()> {
    let sql = "UPDATE mail_outbox SET status = 'failed', next_attempt_at = NULL, last_error = $3 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(error).execute(c).await.map(|_| ()))
}

/// Queues a failed message again (an admin fixed the cause); `false` when it is not failed.
pub async fn requeue(c: &mut Conn<'_>, tenant: TenantId, id: MailId) -> sqlx::Result<bool> {
    let sql = "UPDATE mail_outbox SET status = 'queued', next_attempt_at = NULL, attempts = 0 WHERE tenant_id = $1 AND id = $2 AND status = 'failed'";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).execute(c).await.map(|r| r.rows_affected() == 1))
}

/// Messages by status: what the outbox page shows at its top.
pub async fn counts(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(MailStatus, i64)>> {
    let sql = "SELECT status, COUNT(*) FROM mail_outbox WHERE tenant_id = $1 GROUP BY status ORDER BY status";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)
}
