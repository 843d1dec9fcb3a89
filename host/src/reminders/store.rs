//! Reminder queries, every one scoped by tenant.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;

use super::model::{Channel, ClientFlags, Message, MessageDoc, MessageId, MessageStatus, Promise, PromiseId, PromiseStatus, Recipient, Rule, RuleId, RuleInput, Settings, Step};
use crate::counterparties::CounterpartyId;
use crate::counterparties::model::CounterpartyKind;
use crate::db::{Conn, on_conn};
use crate::legal_entities::LegalEntityId;
use crate::mail::MailId;
use crate::money::Money;
use crate::receivables::model::SalesDocumentId;
use crate::tasks::TaskId;
use crate::tenancy::{TenantId, UserId};

// --- Settings ---------------------------------------------------------------------------------

/// The tenant's settings, or the defaults.
pub async fn settings(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Settings> {
    let sql = "SELECT settings FROM reminder_settings WHERE tenant_id = $1";
    let row: Option<Json<Settings>> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).fetch_optional(c).await)?;
    Ok(row.map(|j| j.0).unwrap_or_default())
}

pub async fn put_settings(c: &mut Conn<'_>, tenant: TenantId, s: &Settings) -> sqlx::Result<()> {
    let sql = "INSERT INTO reminder_settings (tenant_id, settings, updated_at) VALUES ($1, $2, $3) \
               ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(Json(s)).bind(Utc::now()).execute(c).await.map(|_| ()))
}

// --- Rules ------------------------------------------------------------------------------------

const RULE_COLS: &str = "id, name, position, active, max_attempts, scope, steps, created_at, updated_at";

pub async fn list_rules(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<Rule>> {
    let sql = format!("SELECT {RULE_COLS} FROM reminder_rules WHERE tenant_id = $1 ORDER BY position, created_at, id");
    on_conn!(c, c => sqlx::query_as::<_, Rule>(&sql).bind(tenant).fetch_all(c).await)
}

pub async fn get_rule(c: &mut Conn<'_>, tenant: TenantId, id: RuleId) -> sqlx::Result<Option<Rule>> {
    let sql = format!("SELECT {RULE_COLS} FROM reminder_rules WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Rule>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// Gives every step without a key a new one.
fn keyed(steps: &[Step]) -> Vec<Step> {
    steps.iter().map(|s| Step { id: if s.id.is_empty() { uuid::Uuid::now_v7().to_string() } else { s.id.clone() }, ..s.clone() }).collect()
}

pub async fn insert_rule(c: &mut Conn<'_>, tenant: TenantId, id: RuleId, r: &RuleInput) -> sqlx::Result<Rule> {
    let now = Utc::now();
    let sql = "INSERT INTO reminder_rules (tenant_id, id, name, position, active, max_attempts, scope, steps, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
    let steps = keyed(&r.steps);
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(r.name.trim()).bind(r.position).bind(r.active).bind(r.max_attempts).bind(Json(&r.scope)).bind(Json(&steps)).bind(now)
        .execute(c).await.map(|_| ()))?;
    get_rule(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn update_rule(c: &mut Conn<'_>, tenant: TenantId, id: RuleId, r: &RuleInput) -> sqlx::Result<Rule> {
    let sql = "UPDATE reminder_rules SET name = $3, position = $4, active = $5, max_attempts = $6, scope = $7, steps = $8, updated_at = $9 \
               WHERE tenant_id = $1 AND id = $2";
    let steps = keyed(&r.steps);
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(r.name.trim()).bind(r.position).bind(r.active).bind(r.max_attempts).bind(Json(&r.scope)).bind(Json(&steps)).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    get_rule(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Deletes a rule that has no messages; `Ok(false)` when it has some (deactivate it instead).
pub async fn delete_rule(c: &mut Conn<'_>, tenant: TenantId, id: RuleId) -> sqlx::Result<bool> {
    let used: i64 = on_conn!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM reminder_messages WHERE tenant_id = $1 AND rule_id = $2").bind(tenant).bind(id).fetch_one(c).await)?;
    if used > 0 {
        return Ok(false);
    }
    on_conn!(c, c => sqlx::query("DELETE FROM reminder_rules WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).execute(c).await.map(|_| true))
}

/// Our legal entity's 1C id and name.
pub async fn legal_entity(c: &mut Conn<'_>, tenant: TenantId, id: LegalEntityId) -> sqlx::Result<Option<(Option<String>, String)>> {
    let sql = "SELECT accounting_ref, COALESCE(short_name, full_name) FROM our_legal_entities WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(id).fetch_optional(c).await)
}

// --- Client flags and disputes -----------------------------------------------------------------

pub async fn flags(c: &mut Conn<'_>, tenant: TenantId, cp: CounterpartyId) -> sqlx::Result<ClientFlags> {
    let sql = "SELECT opted_out, no_contact, time_zone FROM reminder_client_flags WHERE tenant_id = $1 AND counterparty_id = $2";
    Ok(on_conn!(c, c => sqlx::query_as::<_, ClientFlags>(sql).bind(tenant).bind(cp).fetch_optional(c).await)?.unwrap_or_default())
}

pub async fn put_flags(c: &mut Conn<'_>, tenant: TenantId, cp: CounterpartyId, f: &ClientFlags) -> sqlx::Result<()> {
    let sql = "INSERT INTO reminder_client_flags (tenant_id, counterparty_id, opted_out, no_contact, time_zone, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (tenant_id, counterparty_id) DO UPDATE SET opted_out = excluded.opted_out, no_contact = excluded.no_contact, \
               time_zone = excluded.time_zone, updated_at = excluded.updated_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(cp).bind(f.opted_out).bind(f.no_contact).bind(&f.time_zone).bind(Utc::now()).execute(c).await.map(|_| ()))
}

/// A debt's dispute: `(reason, since)`.
pub async fn dispute(c: &mut Conn<'_>, tenant: TenantId, doc: SalesDocumentId) -> sqlx::Result<Option<(String, DateTime<Utc>)>> {
    let sql = "SELECT reason, disputed_at FROM debt_disputes WHERE tenant_id = $1 AND document_id = $2";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(doc).fetch_optional(c).await)
}

pub async fn set_dispute(c: &mut Conn<'_>, tenant: TenantId, doc: SalesDocumentId, reason: Option<&str>, by: UserId) -> sqlx::Result<()> {
    match reason {
        Some(reason) => {
            let sql = "INSERT INTO debt_disputes (tenant_id, document_id, reason, disputed_by, disputed_at) VALUES ($1, $2, $3, $4, $5) \
                       ON CONFLICT (tenant_id, document_id) DO UPDATE SET reason = excluded.reason, disputed_by = excluded.disputed_by, disputed_at = excluded.disputed_at";
            on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(doc).bind(reason).bind(by).bind(Utc::now()).execute(c).await.map(|_| ()))
        }
        None => on_conn!(c, c => sqlx::query("DELETE FROM debt_disputes WHERE tenant_id = $1 AND document_id = $2").bind(tenant).bind(doc).execute(c).await.map(|_| ())),
    }
}

/// The disputed documents of the tenant.
pub async fn disputed(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<SalesDocumentId>> {
    on_conn!(c, c => sqlx::query_scalar("SELECT document_id FROM debt_disputes WHERE tenant_id = $1").bind(tenant).fetch_all(c).await)
}

/// A sales document's client (and whether it exists in the tenant).
pub async fn document_client(c: &mut Conn<'_>, tenant: TenantId, doc: SalesDocumentId) -> sqlx::Result<Option<CounterpartyId>> {
    on_conn!(c, c => sqlx::query_scalar("SELECT counterparty_id FROM sales_documents WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(doc).fetch_optional(c).await)
}

// --- Promises ------------------------------------------------------------------------------------

const PROMISE_COLS: &str = "id, counterparty_id, amount, made_on, promised_on, documents, status, paid, resolved_on, task_id, note, created_at";

fn with_missing(mut p: Promise) -> Promise {
    p.missing = Money::from_minor((p.amount.minor() - p.paid.minor()).max(0));
    p
}

pub struct NewPromise<'a> {
    pub id: PromiseId,
    pub counterparty_id: CounterpartyId,
    pub amount: Money,
    pub made_on: NaiveDate,
    pub promised_on: NaiveDate,
    pub documents: &'a [SalesDocumentId],
    pub note: Option<&'a str>,
    pub by: UserId,
}

pub async fn insert_promise(c: &mut Conn<'_>, tenant: TenantId, p: &NewPromise<'_>) -> sqlx::Result<Promise> {
    let sql = "INSERT INTO payment_promises (tenant_id, id, counterparty_id, amount, made_on, promised_on, documents, status, paid, note, created_by, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', 0, $8, $9, $10)";
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(p.id).bind(p.counterparty_id).bind(p.amount).bind(p.made_on).bind(p.promised_on).bind(Json(p.documents)).bind(p.note).bind(p.by).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    get_promise(c, tenant, p.id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn get_promise(c: &mut Conn<'_>, tenant: TenantId, id: PromiseId) -> sqlx::Result<Option<Promise>> {
    let sql = format!("SELECT {PROMISE_COLS} FROM payment_promises WHERE tenant_id = $1 AND id = $2");
    Ok(on_conn!(c, c => sqlx::query_as::<_, Promise>(&sql).bind(tenant).bind(id).fetch_optional(c).await)?.map(with_missing))
}

pub async fn promises_of(c: &mut Conn<'_>, tenant: TenantId, cp: CounterpartyId) -> sqlx::Result<Vec<Promise>> {
    let sql = format!("SELECT {PROMISE_COLS} FROM payment_promises WHERE tenant_id = $1 AND counterparty_id = $2 ORDER BY made_on DESC, id DESC");
    Ok(on_conn!(c, c => sqlx::query_as::<_, Promise>(&sql).bind(tenant).bind(cp).fetch_all(c).await)?.into_iter().map(with_missing).collect())
}

/// Promises open on `day` (made by then) and those resolved on it.
pub async fn promises_around(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate) -> sqlx::Result<Vec<Promise>> {
    let sql = format!("SELECT {PROMISE_COLS} FROM payment_promises WHERE tenant_id = $1 AND made_on <= $2 AND (status = 'open' OR resolved_on = $2) ORDER BY id");
    Ok(on_conn!(c, c => sqlx::query_as::<_, Promise>(&sql).bind(tenant).bind(day).fetch_all(c).await)?.into_iter().map(with_missing).collect())
}

pub async fn resolve_promise(c: &mut Conn<'_>, tenant: TenantId, id: PromiseId, status: PromiseStatus, paid: Money, on: NaiveDate, task: Option<TaskId>) -> sqlx::Result<()> {
    let sql = "UPDATE payment_promises SET status = $3, paid = $4, resolved_on = $5, task_id = $6 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(status).bind(paid).bind(on).bind(task).execute(c).await.map(|_| ()))
}

/// Σ of the client's live payments dated `from..=to`.
pub async fn paid_between(c: &mut Conn<'_>, tenant: TenantId, cp: CounterpartyId, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Money> {
    let sql = "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE tenant_id = $1 AND counterparty_id = $2 AND posted AND NOT deleted AND paid_on >= $3 AND paid_on <= $4";
    let sum: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(cp).bind(from).bind(to).fetch_one(c).await)?;
    Ok(Money::from_minor(sum))
}

// --- What the planner reads ----------------------------------------------------------------------

/// An open debt with what the planner needs of its client.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenDebt {
    pub document_id: SalesDocumentId,
    pub counterparty_id: CounterpartyId,
    pub due_on: NaiveDate,
    pub open_amount: Money,
    pub legal_entity_ref: Option<String>,
    pub number: String,
    pub issued_on: NaiveDate,
    pub kind: CounterpartyKind,
    pub segment: Option<String>,
    pub tags: Json<Vec<String>>,
    pub name: String,
    pub inn: Option<String>,
    pub responsible_id: Option<UserId>,
}

/// The open debts of the tenant (or of one client), by client and due date.
pub async fn open_debts(c: &mut Conn<'_>, tenant: TenantId, only: Option<CounterpartyId>) -> sqlx::Result<Vec<OpenDebt>> {
    open_debts_due(c, tenant, only, None).await
}

/// The open debts due on one of `due` (all when `None`): the daily plan reads only the
/// documents some step falls on, not the whole ledger.
pub async fn open_debts_due(c: &mut Conn<'_>, tenant: TenantId, only: Option<CounterpartyId>, due: Option<&[NaiveDate]>) -> sqlx::Result<Vec<OpenDebt>> {
    let mut filter = if only.is_some() { "AND o.counterparty_id = $2".to_owned() } else { "AND $2 IS NULL".to_owned() };
    if let Some(days) = due {
        if days.is_empty() {
            return Ok(Vec::new());
        }
        // Dates formatted by chrono (digits and dashes), so they are safe to inline.
        let list = days.iter().map(|d| format!("'{}'", d.format("%Y-%m-%d"))).collect::<Vec<_>>().join(",");
        filter.push_str(&format!(" AND o.due_on IN ({list})"));
    }
    let sql = format!(
        "SELECT o.document_id, o.counterparty_id, o.due_on, o.open_amount, o.legal_entity_ref, d.number, d.issued_on, \
                cp.kind, cp.segment, cp.tags, COALESCE(cp.short_name, cp.full_name) AS name, cp.inn, cp.responsible_id \
         FROM open_items o \
         JOIN sales_documents d ON d.tenant_id = o.tenant_id AND d.id = o.document_id \
         JOIN counterparties cp ON cp.tenant_id = o.tenant_id AND cp.id = o.counterparty_id \
         WHERE o.tenant_id = $1 AND cp.archived_at IS NULL {filter} \
         ORDER BY o.counterparty_id, o.due_on, d.number"
    );
    on_conn!(c, c => sqlx::query_as::<_, OpenDebt>(&sql).bind(tenant).bind(only).fetch_all(c).await)
}

/// Each client's open debt by our legal entity (`legal_entity_ref`), in kopecks: what a
/// rule's minimum debt is compared with when the plan reads only the documents due for a step.
pub async fn open_totals(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(CounterpartyId, Option<String>, i64)>> {
    let sql = "SELECT counterparty_id, legal_entity_ref, CAST(SUM(open_amount) AS BIGINT) FROM open_items WHERE tenant_id = $1 GROUP BY counterparty_id, legal_entity_ref";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)
}

/// A client's open debt as debt control sees it: undisputed documents only.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientDebt {
    pub counterparty_id: CounterpartyId,
    pub name: String,
    pub responsible_id: Option<UserId>,
    /// Kopecks, disputed documents left out.
    pub owed: i64,
    /// The earliest due date of an undisputed document.
    pub oldest_due: Option<NaiveDate>,
}

/// Every client with open debt, summed in the database.
pub async fn client_debts(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<ClientDebt>> {
    let sql = "SELECT o.counterparty_id, COALESCE(cp.short_name, cp.full_name) AS name, cp.responsible_id, \
                      CAST(COALESCE(SUM(CASE WHEN dd.document_id IS NULL THEN o.open_amount END), 0) AS BIGINT) AS owed, \
                      MIN(CASE WHEN dd.document_id IS NULL THEN o.due_on END) AS oldest_due \
               FROM open_items o \
               JOIN counterparties cp ON cp.tenant_id = o.tenant_id AND cp.id = o.counterparty_id \
               LEFT JOIN debt_disputes dd ON dd.tenant_id = o.tenant_id AND dd.document_id = o.document_id \
               WHERE o.tenant_id = $1 AND cp.archived_at IS NULL \
               GROUP BY o.counterparty_id, cp.short_name, cp.full_name, cp.responsible_id";
    on_conn!(c, c => sqlx::query_as::<_, ClientDebt>(sql).bind(tenant).fetch_all(c).await)
}

/// The tenant's name and time zone.
pub async fn tenant(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<(String, String)> {
    on_conn!(c, c => sqlx::query_as("SELECT name, time_zone FROM tenants WHERE id = $1").bind(tenant).fetch_one(c).await)
}

/// The tenant's first admin: who system tasks fall to when a client has no manager.
pub async fn first_admin(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Option<(UserId, String, String)>> {
    let sql = "SELECT id, full_name, email FROM users WHERE tenant_id = $1 AND role = 'admin' AND archived_at IS NULL ORDER BY created_at, id LIMIT 1";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_optional(c).await)
}

// --- Runs and messages ---------------------------------------------------------------------------

/// The last day planned before `day`.
pub async fn last_run_before(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate) -> sqlx::Result<Option<NaiveDate>> {
    on_conn!(c, c => sqlx::query_scalar("SELECT MAX(day) FROM reminder_runs WHERE tenant_id = $1 AND day < $2").bind(tenant).bind(day).fetch_one(c).await)
}

pub async fn record_run(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate, planned: i64, skipped: i64) -> sqlx::Result<()> {
    let sql = "INSERT INTO reminder_runs (tenant_id, day, planned, skipped, ran_at) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (tenant_id, day) DO UPDATE SET planned = reminder_runs.planned + excluded.planned, skipped = reminder_runs.skipped + excluded.skipped, ran_at = excluded.ran_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(day).bind(planned).bind(skipped).bind(Utc::now()).execute(c).await.map(|_| ()))
}

/// A decision to store.
pub struct NewMessage<'a> {
    pub dedupe_key: String,
    pub day: NaiveDate,
    pub rule_id: RuleId,
    pub step_id: &'a str,
    pub step_position: i32,
    pub counterparty_id: CounterpartyId,
    pub channel: Channel,
    pub status: MessageStatus,
    pub reason_code: Option<&'a str>,
    pub reason: Option<String>,
    pub documents: &'a [MessageDoc],
    pub recipients: &'a [Recipient],
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub html: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub task_id: Option<TaskId>,
}

/// Stores a decision once: `None` when its key is already there.
pub async fn insert_message(c: &mut Conn<'_>, tenant: TenantId, m: &NewMessage<'_>) -> sqlx::Result<Option<MessageId>> {
    let id = MessageId::new();
    let sql = "INSERT INTO reminder_messages (tenant_id, id, dedupe_key, day, rule_id, step_id, step_position, counterparty_id, channel, status, reason_code, reason, \
               documents, recipients, sender, subject, body, html, not_before, task_id, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) ON CONFLICT (tenant_id, dedupe_key) DO NOTHING";
    let done = on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(&m.dedupe_key).bind(m.day).bind(m.rule_id).bind(m.step_id).bind(m.step_position).bind(m.counterparty_id)
        .bind(m.channel).bind(m.status).bind(m.reason_code).bind(&m.reason).bind(Json(m.documents)).bind(Json(m.recipients)).bind(&m.sender).bind(&m.subject).bind(&m.body).bind(&m.html)
        .bind(m.not_before).bind(m.task_id).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok((done > 0).then_some(id))
}

pub async fn key_exists(c: &mut Conn<'_>, tenant: TenantId, key: &str) -> sqlx::Result<bool> {
    let n: i64 = on_conn!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM reminder_messages WHERE tenant_id = $1 AND dedupe_key = $2").bind(tenant).bind(key).fetch_one(c).await)?;
    Ok(n > 0)
}

pub async fn set_task(c: &mut Conn<'_>, tenant: TenantId, id: MessageId, task: TaskId) -> sqlx::Result<()> {
    on_conn!(c, c => sqlx::query("UPDATE reminder_messages SET task_id = $3 WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).bind(task).execute(c).await.map(|_| ()))
}

pub async fn mark_queued(c: &mut Conn<'_>, tenant: TenantId, id: MessageId, mail: MailId) -> sqlx::Result<()> {
    let sql = "UPDATE reminder_messages SET status = 'queued', mail_id = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'planned'";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(mail).execute(c).await.map(|_| ()))
}

pub async fn mark_skipped(c: &mut Conn<'_>, tenant: TenantId, id: MessageId, code: &str, reason: &str) -> sqlx::Result<()> {
    let sql = "UPDATE reminder_messages SET status = 'skipped', reason_code = $3, reason = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(code).bind(reason).execute(c).await.map(|_| ()))
}

/// The HTML part of a planned e-mail.
pub async fn html_of(c: &mut Conn<'_>, tenant: TenantId, id: MessageId) -> sqlx::Result<Option<String>> {
    let sql = "SELECT html FROM reminder_messages WHERE tenant_id = $1 AND id = $2";
    Ok(on_conn!(c, c => sqlx::query_scalar::<_, Option<String>>(sql).bind(tenant).bind(id).fetch_optional(c).await)?.flatten())
}

const MESSAGE_COLS: &str = "id, day, rule_id, step_id, step_position, counterparty_id, channel, status, reason_code, reason, documents, recipients, sender, subject, body, \
                            not_before, mail_id, task_id, provider_ids, delivery, delivery_detail, created_at";

/// Planned e-mails whose time has come.
pub async fn due_emails(c: &mut Conn<'_>, tenant: TenantId, now: DateTime<Utc>) -> sqlx::Result<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM reminder_messages WHERE tenant_id = $1 AND channel = 'email' AND status = 'planned' AND (not_before IS NULL OR not_before <= $2) ORDER BY id"
    );
    on_conn!(c, c => sqlx::query_as::<_, Message>(&sql).bind(tenant).bind(now).fetch_all(c).await)
}

/// Planned messages of `channel` whose time has come.
pub async fn due_on(c: &mut Conn<'_>, tenant: TenantId, channel: Channel, now: DateTime<Utc>) -> sqlx::Result<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM reminder_messages WHERE tenant_id = $1 AND channel = $3 AND status = 'planned' AND (not_before IS NULL OR not_before <= $2) ORDER BY id LIMIT 1000"
    );
    on_conn!(c, c => sqlx::query_as::<_, Message>(&sql).bind(tenant).bind(now).bind(channel).fetch_all(c).await)
}

/// Whether any message other than a task waits to be sent now.
pub async fn any_due(c: &mut Conn<'_>, tenant: TenantId, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM reminder_messages WHERE tenant_id = $1 AND channel <> 'task' AND status = 'planned' AND (not_before IS NULL OR not_before <= $2)";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(now).fetch_one(c).await)?;
    Ok(n > 0)
}

/// A message handed to its provider: its ids there and the delivery state it reported.
pub async fn mark_sent(c: &mut Conn<'_>, tenant: TenantId, id: MessageId, provider_ids: &str, delivery: &str, detail: Option<&str>) -> sqlx::Result<()> {
    let sql = "UPDATE reminder_messages SET status = 'queued', provider_ids = $3, delivery = $4, delivery_detail = $5 WHERE tenant_id = $1 AND id = $2 AND status = 'planned'";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(provider_ids).bind(delivery).bind(detail).execute(c).await.map(|_| ()))
}

/// Messages of `channel` handed to a provider whose delivery is not known yet (of the last
/// week: a provider forgets older ids).
pub async fn awaiting_delivery(c: &mut Conn<'_>, tenant: TenantId, channel: Channel, since: DateTime<Utc>) -> sqlx::Result<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM reminder_messages WHERE tenant_id = $1 AND channel = $2 AND status = 'queued' AND delivery IN ('queued', 'sent') \
         AND provider_ids IS NOT NULL AND provider_ids <> '' AND created_at >= $3 ORDER BY id LIMIT 1000"
    );
    on_conn!(c, c => sqlx::query_as::<_, Message>(&sql).bind(tenant).bind(channel).bind(since).fetch_all(c).await)
}

/// The delivery state a provider reported.
pub async fn set_delivery(c: &mut Conn<'_>, tenant: TenantId, id: MessageId, delivery: &str, detail: Option<&str>) -> sqlx::Result<()> {
    let sql = "UPDATE reminder_messages SET delivery = $3, delivery_detail = COALESCE($4, delivery_detail) WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(delivery).bind(detail).execute(c).await.map(|_| ()))
}

/// A provider's failure: the message stays planned (the next dispatch tries again with the
/// same keys) and says why it has not gone yet.
pub async fn note_retry(c: &mut Conn<'_>, tenant: TenantId, id: MessageId, detail: &str) -> sqlx::Result<()> {
    let sql = "UPDATE reminder_messages SET delivery_detail = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'planned'";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(detail).execute(c).await.map(|_| ()))
}

/// Tenants with planned e-mails waiting.
pub async fn tenants_with_planned_emails(c: &mut Conn<'_>) -> sqlx::Result<Vec<TenantId>> {
    on_conn!(c, c => sqlx::query_scalar("SELECT DISTINCT tenant_id FROM reminder_messages WHERE channel = 'email' AND status = 'planned'").fetch_all(c).await)
}

/// An e-mail's delivery is its outbox message's: queued, sending, sent or failed, with the
/// mail server's words.
const EMAIL_DELIVERY: &str = "CASE WHEN r.channel = 'email' THEN (SELECT o.status FROM mail_outbox o WHERE o.tenant_id = r.tenant_id AND o.id = r.mail_id) ELSE r.delivery END AS delivery, \
                              CASE WHEN r.channel = 'email' THEN (SELECT o.last_error FROM mail_outbox o WHERE o.tenant_id = r.tenant_id AND o.id = r.mail_id) ELSE r.delivery_detail END AS delivery_detail";

/// Messages by client and day range (inclusive), newest first.
pub async fn messages(c: &mut Conn<'_>, tenant: TenantId, cp: Option<CounterpartyId>, from: Option<NaiveDate>, to: Option<NaiveDate>, limit: i64) -> sqlx::Result<Vec<Message>> {
    let cols = MESSAGE_COLS.replace("delivery, delivery_detail", EMAIL_DELIVERY);
    let sql = format!(
        "SELECT {cols} FROM reminder_messages r WHERE tenant_id = $1 AND ($2 IS NULL OR counterparty_id = $2) AND ($3 IS NULL OR day >= $3) AND ($4 IS NULL OR day <= $4) \
         ORDER BY day DESC, id DESC LIMIT $5"
    );
    on_conn!(c, c => sqlx::query_as::<_, Message>(&sql).bind(tenant).bind(cp).bind(from).bind(to).bind(limit).fetch_all(c).await)
}

/// Messages that reached (or will reach) the client over `channels` on days `from..=to`.
pub async fn contacts_between(c: &mut Conn<'_>, tenant: TenantId, cp: CounterpartyId, channels: &[Channel], from: NaiveDate, to: NaiveDate) -> sqlx::Result<i64> {
    if channels.is_empty() {
        return Ok(0);
    }
    let list = channels.iter().map(|ch| format!("'{}'", ch.as_str())).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT COUNT(*) FROM reminder_messages WHERE tenant_id = $1 AND counterparty_id = $2 AND status IN ('planned', 'queued') \
         AND channel IN ({list}) AND day >= $3 AND day <= $4"
    );
    on_conn!(c, c => sqlx::query_scalar(&sql).bind(tenant).bind(cp).bind(from).bind(to).fetch_one(c).await)
}

/// Messages sent under a rule that list a document (for the rule's maximum of attempts).
pub async fn attempts(c: &mut Conn<'_>, tenant: TenantId, rule: RuleId, cp: CounterpartyId, doc: SalesDocumentId) -> sqlx::Result<i64> {
    let sql = "SELECT COUNT(*) FROM reminder_messages WHERE tenant_id = $1 AND rule_id = $2 AND counterparty_id = $3 \
               AND status IN ('planned', 'queued', 'task_created') AND CAST(documents AS TEXT) LIKE $4";
    let pattern = format!("%{doc}%");
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(rule).bind(cp).bind(pattern).fetch_one(c).await)
}
