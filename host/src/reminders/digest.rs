//! The morning digest: at the tenant's digest time ([`super::DIGEST_JOB`], 08:00 in the
//! tenant's zone unless the tenant sets another schedule) every head gets ONE e-mail about
//! all receivables — and every manager who opted in, about their own clients:
//!
//! * owed and overdue now, with the change since yesterday's snapshot (each digest run keeps
//!   one snapshot a day of every client's owed and overdue totals, `debt_snapshots`);
//! * paid off yesterday: the payments dated yesterday, by client;
//! * newly overdue: open debts whose due date was the day before yesterday or yesterday
//!   (overdue since yesterday or since today);
//! * forgotten: clients with an overdue debt and no interaction, no task and no reminder
//!   message (planned or sent) in the last `forgotten_days` days (a tenant setting, 14);
//! * promises to pay due today, and promises found broken yesterday or today;
//! * the 10 biggest overdue debts; the aging buckets as a table and as a PNG chart.
//!
//! Disputed debts stay in every figure (they are marked), as in every report. The e-mail is
//! rendered from the tenant's `reminder_digest` template (HTML and plain text), the chart is
//! an inline PNG part the HTML shows by its content id (`cid:`), and it
//! is queued to the mail outbox under the key `digest:{user}:{date}`, so two runs or two
//! processes queue it once. `GET /reminders/digest` and the page `/reminders/digest` show the
//! same content to the signed-in user.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::PromiseStatus;
use super::store::OpenDebt;
use crate::AppState;
use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::mail::MailId;
use crate::mail::outbox::{self, Attachment, OutgoingEmail};
use crate::money::Money;
use crate::receivables::model::SalesDocumentId;
use crate::tenancy::model::Role;
use crate::tenancy::{TenantId, UserId};

/// The outbox source of digests: their keys are `digest:{user}:{date}`.
pub const MAIL_SOURCE: &str = "digest";
/// The chart's file name in the e-mail.
pub const CHART_FILE: &str = "digest-chart.png";
/// The chart's content id, by which the HTML part shows it inline.
pub const CHART_CID: &str = "digest-chart";
/// How many of the biggest overdue debts are listed.
pub const TOP: usize = 10;

/// Whose clients a digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = DigestScope)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every client (heads and admins).
    All,
    /// The clients the user is responsible for (managers).
    Own,
}

/// A debt in the digest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DigestDebt)]
pub struct DebtLine {
    pub document_id: SalesDocumentId,
    pub counterparty_id: CounterpartyId,
    pub client: String,
    pub number: String,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    pub open: Money,
    pub days_overdue: i64,
    /// The client disputes it (it is out of chasing, still counted).
    pub disputed: bool,
}

/// A client's payments of yesterday.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DigestPayment)]
pub struct PaidLine {
    pub counterparty_id: CounterpartyId,
    pub client: String,
    pub amount: Money,
}

/// A client with overdue debt nobody has worked on.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DigestForgotten)]
pub struct ForgottenLine {
    pub counterparty_id: CounterpartyId,
    pub client: String,
    pub overdue: Money,
    /// Of its oldest overdue debt.
    pub days_overdue: i64,
}

/// A promise to pay due today or broken.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DigestPromise)]
pub struct PromiseLine {
    pub promise_id: super::model::PromiseId,
    pub counterparty_id: CounterpartyId,
    pub client: String,
    pub amount: Money,
    #[schema(value_type = String, format = Date)]
    pub promised_on: NaiveDate,
    /// What is missing of the amount (broken promises; the amount for those due today).
    pub missing: Money,
}

/// An aging bucket.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DigestBucket)]
pub struct BucketLine {
    pub label: String,
    /// The label drawn on the chart (digits only).
    pub chart_label: String,
    pub amount: Money,
    pub overdue: bool,
}

/// Links to the host's pages.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DigestLinks)]
pub struct Links {
    pub receivables: String,
    pub digest: String,
    pub log: String,
}

/// The morning digest of one user for one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Digest {
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    pub user_id: UserId,
    pub user_name: String,
    pub scope: Scope,
    /// Whether the user gets it by e-mail (heads always; managers who opted in).
    pub subscribed: bool,
    /// Σ open debts now.
    pub owed: Money,
    /// Σ open debts past their due date.
    pub overdue: Money,
    /// Change of `owed` since yesterday's snapshot; `null` without one.
    pub owed_change: Option<Money>,
    pub overdue_change: Option<Money>,
    pub paid_total: Money,
    pub paid: Vec<PaidLine>,
    pub newly_overdue: Vec<DebtLine>,
    pub forgotten_days: u32,
    pub forgotten: Vec<ForgottenLine>,
    pub promises_due: Vec<PromiseLine>,
    pub promises_broken: Vec<PromiseLine>,
    /// The 10 biggest overdue debts.
    pub top_overdue: Vec<DebtLine>,
    pub buckets: Vec<BucketLine>,
    pub links: Links,
}

/// What a run of the digest did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = DigestReport)]
pub struct Report {
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// The outbox messages of the day's digests (a second run finds the same ones).
    pub mails: Vec<MailId>,
    /// Users whose digest could not be made, with why.
    pub failed: Vec<String>,
}

/// The host's address for links in mail: `--public-url`, else the listen address.
pub fn base_url(config: &crate::Config) -> String {
    match &config.public_url {
        Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_owned(),
        _ => format!("http://{}", config.listen),
    }
}

fn sum(m: impl Iterator<Item = Money>) -> Money {
    Money::from_minor(m.map(Money::minor).sum())
}

// --- Store ------------------------------------------------------------------------------------

/// Keeps the day's snapshot of every client's owed and overdue totals, once (the first run of
/// the day wins). Returns whether it was taken now.
pub async fn snapshot(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate, debts: &[OpenDebt]) -> sqlx::Result<bool> {
    let sql = "INSERT INTO debt_snapshot_days (tenant_id, day, taken_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(day).bind(Utc::now()).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(false);
    }
    let mut by_client: BTreeMap<CounterpartyId, (i64, i64)> = BTreeMap::new();
    for d in debts {
        let e = by_client.entry(d.counterparty_id).or_default();
        e.0 += d.open_amount.minor();
        if d.due_on < day {
            e.1 += d.open_amount.minor();
        }
    }
    for (cp, (owed, overdue)) in by_client {
        let sql = "INSERT INTO debt_snapshots (tenant_id, day, counterparty_id, owed, overdue) VALUES ($1, $2, $3, $4, $5)";
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(day).bind(cp).bind(owed).bind(overdue).execute(c).await.map(|_| ()))?;
    }
    Ok(true)
}

/// A day's snapshot, `(client, owed, overdue, its responsible now)`; `None` when none was taken.
async fn snapshot_of(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate) -> sqlx::Result<Option<Vec<(CounterpartyId, i64, i64, Option<UserId>)>>> {
    let n: i64 = on_conn!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM debt_snapshot_days WHERE tenant_id = $1 AND day = $2").bind(tenant).bind(day).fetch_one(c).await)?;
    if n == 0 {
        return Ok(None);
    }
    let sql = "SELECT s.counterparty_id, s.owed, s.overdue, cp.responsible_id FROM debt_snapshots s \
               JOIN counterparties cp ON cp.tenant_id = s.tenant_id AND cp.id = s.counterparty_id WHERE s.tenant_id = $1 AND s.day = $2";
    Ok(Some(on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(day).fetch_all(c).await)?))
}

/// Whether a manager opted in to the digest of their clients.
pub async fn subscribed(c: &mut Conn<'_>, tenant: TenantId, user: UserId) -> sqlx::Result<bool> {
    let sql = "SELECT opted_in FROM digest_subscriptions WHERE tenant_id = $1 AND user_id = $2";
    Ok(on_conn!(c, c => sqlx::query_scalar::<_, bool>(sql).bind(tenant).bind(user).fetch_optional(c).await)?.unwrap_or(false))
}

pub async fn subscribe(c: &mut Conn<'_>, tenant: TenantId, user: UserId, opted_in: bool) -> sqlx::Result<()> {
    let sql = "INSERT INTO digest_subscriptions (tenant_id, user_id, opted_in, updated_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (tenant_id, user_id) DO UPDATE SET opted_in = excluded.opted_in, updated_at = excluded.updated_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(user).bind(opted_in).bind(Utc::now()).execute(c).await.map(|_| ()))
}

/// Who gets the digest by e-mail: active heads (all clients) and active managers who opted
/// in (their own clients): `(user, name, e-mail, scope)`.
pub async fn recipients(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(UserId, String, String, Scope)>> {
    let sql = "SELECT u.id, u.full_name, u.email, u.role FROM users u LEFT JOIN digest_subscriptions s ON s.tenant_id = u.tenant_id AND s.user_id = u.id \
               WHERE u.tenant_id = $1 AND u.archived_at IS NULL AND (u.role = 'head' OR (u.role = 'manager' AND s.opted_in)) ORDER BY u.id";
    let rows: Vec<(UserId, String, String, Role)> = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(id, name, email, role)| (id, name, email, if role == Role::Manager { Scope::Own } else { Scope::All })).collect())
}

/// Clients with any work since `since`: an interaction, a task created or completed, a
/// reminder message planned or sent.
async fn worked_on(c: &mut Conn<'_>, tenant: TenantId, since_day: NaiveDate, since: DateTime<Utc>) -> sqlx::Result<HashSet<CounterpartyId>> {
    let interactions = "SELECT DISTINCT counterparty_id FROM interactions WHERE tenant_id = $1 AND counterparty_id IS NOT NULL AND archived_at IS NULL AND occurred_at >= $2";
    let tasks = "SELECT DISTINCT counterparty_id FROM tasks WHERE tenant_id = $1 AND counterparty_id IS NOT NULL AND (created_at >= $2 OR completed_at >= $2)";
    let messages = "SELECT DISTINCT counterparty_id FROM reminder_messages WHERE tenant_id = $1 AND day >= $2 AND status <> 'skipped'";
    let mut out: HashSet<CounterpartyId> = HashSet::new();
    for sql in [interactions, tasks] {
        let rows: Vec<CounterpartyId> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(since).fetch_all(c).await)?;
        out.extend(rows);
    }
    let rows: Vec<CounterpartyId> = on_conn!(c, c => sqlx::query_scalar(messages).bind(tenant).bind(since_day).fetch_all(c).await)?;
    out.extend(rows);
    Ok(out)
}

/// Payments dated `day`, by client: `(client, name, responsible, Σ)`.
async fn paid_on(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate) -> sqlx::Result<Vec<(CounterpartyId, String, Option<UserId>, i64)>> {
    let sql = "SELECT p.counterparty_id, COALESCE(cp.short_name, cp.full_name), cp.responsible_id, CAST(SUM(p.amount) AS BIGINT) FROM payments p \
               JOIN counterparties cp ON cp.tenant_id = p.tenant_id AND cp.id = p.counterparty_id \
               WHERE p.tenant_id = $1 AND p.posted AND NOT p.deleted AND p.paid_on = $2 \
               GROUP BY p.counterparty_id, cp.short_name, cp.full_name, cp.responsible_id ORDER BY 4 DESC, 2";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(day).fetch_all(c).await)
}

type PromiseRow = (super::model::PromiseId, CounterpartyId, String, Option<UserId>, Money, NaiveDate, Money, PromiseStatus);

/// Promises open and due on `day`, and promises found broken on `day` or the day before.
async fn promises(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate) -> sqlx::Result<Vec<PromiseRow>> {
    let sql = "SELECT p.id, p.counterparty_id, COALESCE(cp.short_name, cp.full_name), cp.responsible_id, p.amount, p.promised_on, p.paid, p.status \
               FROM payment_promises p JOIN counterparties cp ON cp.tenant_id = p.tenant_id AND cp.id = p.counterparty_id \
               WHERE p.tenant_id = $1 AND ((p.status = 'open' AND p.promised_on = $2) OR (p.status = 'broken' AND p.resolved_on >= $3 AND p.resolved_on <= $2)) \
               ORDER BY p.promised_on, p.id";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(day).bind(day - Days::new(1)).fetch_all(c).await)
}

// --- The digest -------------------------------------------------------------------------------

/// The aging buckets of the digest: not due, 1–30, 31–60, 61–90, over 90 days overdue.
const BUCKETS: [(&str, &str, i64, i64); 5] =
    [("Срок не наступил", "0", i64::MIN, 0), ("1–30 дн.", "1-30", 1, 30), ("31–60 дн.", "31-60", 31, 60), ("61–90 дн.", "61-90", 61, 90), ("Более 90 дн.", "91+", 91, i64::MAX)];

/// Computes the digest of `day` for a user: every client (`Scope::All`) or the user's own.
pub async fn compute(c: &mut Conn<'_>, tenant: TenantId, user: (UserId, &str), scope: Scope, day: NaiveDate, base: &str) -> anyhow::Result<Digest> {
    let (user_id, user_name) = user;
    let mine = |responsible: Option<UserId>| scope == Scope::All || responsible == Some(user_id);
    let settings = super::store::settings(c, tenant).await?;
    let zone = super::law::zone(None, &super::store::tenant(c, tenant).await?.1);
    let disputed: HashSet<SalesDocumentId> = super::store::disputed(c, tenant).await?.into_iter().collect();
    let debts: Vec<OpenDebt> = super::store::open_debts(c, tenant, None).await?.into_iter().filter(|d| mine(d.responsible_id)).collect();
    let days = |d: &OpenDebt| (day - d.due_on).num_days();
    let line = |d: &OpenDebt| DebtLine {
        document_id: d.document_id,
        counterparty_id: d.counterparty_id,
        client: d.name.clone(),
        number: d.number.clone(),
        due_on: d.due_on,
        open: d.open_amount,
        days_overdue: days(d),
        disputed: disputed.contains(&d.document_id),
    };
    let owed = sum(debts.iter().map(|d| d.open_amount));
    let overdue_debts: Vec<&OpenDebt> = debts.iter().filter(|d| d.due_on < day).collect();
    let overdue = sum(overdue_debts.iter().map(|d| d.open_amount));
    let (owed_change, overdue_change) = match snapshot_of(c, tenant, day - Days::new(1)).await? {
        Some(rows) => {
            let mine: Vec<_> = rows.into_iter().filter(|r| mine(r.3)).collect();
            let (o, od): (i64, i64) = (mine.iter().map(|r| r.1).sum(), mine.iter().map(|r| r.2).sum());
            (Some(Money::from_minor(owed.minor() - o)), Some(Money::from_minor(overdue.minor() - od)))
        }
        None => (None, None),
    };
    let paid: Vec<PaidLine> = paid_on(c, tenant, day - Days::new(1))
        .await?
        .into_iter()
        .filter(|r| mine(r.2))
        .map(|(cp, client, _, amount)| PaidLine { counterparty_id: cp, client, amount: Money::from_minor(amount) })
        .collect();
    let paid_total = sum(paid.iter().map(|p| p.amount));
    let mut newly_overdue: Vec<DebtLine> = debts.iter().filter(|d| d.due_on >= day - Days::new(2) && d.due_on < day).map(line).collect();
    newly_overdue.sort_by(|a, b| b.open.cmp(&a.open).then(a.number.cmp(&b.number)));
    // Forgotten: overdue clients without any work in the last N days.
    let since_day = day - Days::new(u64::from(settings.forgotten_days));
    let worked = worked_on(c, tenant, since_day, super::planner::start_of(since_day, zone)).await?;
    let mut by_client: BTreeMap<CounterpartyId, ForgottenLine> = BTreeMap::new();
    for d in &overdue_debts {
        if worked.contains(&d.counterparty_id) {
            continue;
        }
        let e = by_client.entry(d.counterparty_id).or_insert_with(|| ForgottenLine { counterparty_id: d.counterparty_id, client: d.name.clone(), overdue: Money::ZERO, days_overdue: 0 });
        e.overdue = Money::from_minor(e.overdue.minor() + d.open_amount.minor());
        e.days_overdue = e.days_overdue.max(days(d));
    }
    let mut forgotten: Vec<ForgottenLine> = by_client.into_values().collect();
    forgotten.sort_by(|a, b| b.overdue.cmp(&a.overdue).then(a.client.cmp(&b.client)));
    let mut promises_due = Vec::new();
    let mut promises_broken = Vec::new();
    for (id, cp, client, responsible, amount, promised_on, paid, status) in promises(c, tenant, day).await? {
        if !mine(responsible) {
            continue;
        }
        let missing = Money::from_minor((amount.minor() - paid.minor()).max(0));
        let l = PromiseLine { promise_id: id, counterparty_id: cp, client, amount, promised_on, missing };
        if status == PromiseStatus::Open { promises_due.push(l) } else { promises_broken.push(l) }
    }
    let mut top: Vec<&OpenDebt> = overdue_debts.clone();
    top.sort_by(|a, b| b.open_amount.cmp(&a.open_amount).then(a.due_on.cmp(&b.due_on)).then(a.number.cmp(&b.number)));
    let top_overdue: Vec<DebtLine> = top.into_iter().take(TOP).map(line).collect();
    let buckets = BUCKETS
        .iter()
        .map(|(label, chart, from, to)| BucketLine {
            label: (*label).into(),
            chart_label: (*chart).into(),
            amount: sum(debts.iter().filter(|d| (*from..=*to).contains(&days(d))).map(|d| d.open_amount)),
            overdue: *from > 0,
        })
        .collect();
    let subscribed = match scope {
        Scope::All => true,
        Scope::Own => subscribed(c, tenant, user_id).await?,
    };
    Ok(Digest {
        day,
        user_id,
        user_name: user_name.to_owned(),
        scope,
        subscribed,
        owed,
        overdue,
        owed_change,
        overdue_change,
        paid_total,
        paid,
        newly_overdue,
        forgotten_days: settings.forgotten_days,
        forgotten,
        promises_due,
        promises_broken,
        top_overdue,
        buckets,
        links: Links {
            receivables: format!("{base}/receivables"),
            digest: format!("{base}/reminders/digest?date={day}"),
            log: format!("{base}/reminders/log"),
        },
    })
}

/// The digest's chart: the aging buckets as bars, as PNG.
pub fn chart(d: &Digest) -> Result<Vec<u8>, crate::charts::ChartError> {
    let bars: Vec<crate::charts::Bar> = d
        .buckets
        .iter()
        .map(|b| crate::charts::Bar {
            label: b.chart_label.clone(),
            value: b.amount.minor(),
            text: crate::templates::format::amount(b.amount),
            color: if b.overdue { crate::charts::RED } else { crate::charts::GREEN },
        })
        .collect();
    crate::charts::bar_chart_png(&bars, 560)
}

/// The rendered e-mail: subject, plain text, HTML.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders the digest through the tenant's `reminder_digest` template.
pub async fn render(c: &mut Conn<'_>, tenant: TenantId, d: &Digest) -> anyhow::Result<Rendered> {
    let kind = &super::templates::DIGEST;
    let (source, _) = crate::templates::store::source(c, tenant, kind).await?;
    let data = super::templates::digest_data(d);
    let doc = crate::templates::engine::document(kind, &source, crate::templates::engine::context(&data)).map_err(|e| anyhow::anyhow!("шаблон «{}» не сработал: {e}", kind.key))?;
    let mut html = crate::templates::html::to_html(&doc);
    // Links as links (the document markup has none), and the chart, attached.
    for url in [&d.links.receivables, &d.links.digest, &d.links.log] {
        let e = crate::templates::html::escape(url);
        html = html.replace(&e, &format!("<a href=\"{e}\">{e}</a>"));
    }
    let note = format!("<p><img src=\"cid:{CHART_CID}\" alt=\"График задолженности по срокам просрочки\" width=\"560\"></p>\n</main>");
    html = html.replacen("</main>", &note, 1);
    Ok(Rendered { subject: doc.title.clone(), text: plain_text(&doc), html })
}

/// The plain-text part: headings, paragraphs, tables as lines of cells.
fn plain_text(doc: &crate::templates::markup::Document) -> String {
    use crate::templates::markup::Block;
    let mut out: Vec<String> = vec![doc.title.clone(), String::new()];
    let spans = |s: &crate::templates::markup::Spans| s.iter().map(|s| s.text.as_str()).collect::<String>();
    for block in &doc.blocks {
        match block {
            Block::Title(t) | Block::Subtitle(t) | Block::Heading(t) => {
                out.push(String::new());
                out.push(t.clone());
            }
            Block::Para(s) | Block::Note(s) => out.push(spans(s)),
            Block::Table(t) => {
                out.extend(t.caption_text());
                out.push(t.columns.iter().map(|c| c.title.as_str()).collect::<Vec<_>>().join(" | "));
                for r in &t.rows {
                    out.push(r.cells.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" | "));
                }
            }
            _ => out.extend(doc_texts(block)),
        }
    }
    out.join("\n").replace(crate::templates::format::NBSP, " ")
}

fn doc_texts(block: &crate::templates::markup::Block) -> Vec<String> {
    let d = crate::templates::markup::Document { title: String::new(), blocks: vec![block.clone()] };
    d.texts().into_iter().skip(1).collect()
}

/// The sender of digests: the tenant's reminder sender, else its first admin.
async fn sender(c: &mut Conn<'_>, tenant: TenantId) -> anyhow::Result<Option<String>> {
    if let Some(s) = super::store::settings(c, tenant).await?.sender_email {
        return Ok(Some(s));
    }
    Ok(super::store::first_admin(c, tenant).await?.map(|a| a.2))
}

/// Takes the day's snapshot and queues the digest of every recipient, once per user and day.
pub async fn send_all(state: &AppState, tenant: TenantId, day: NaiveDate) -> anyhow::Result<Report> {
    {
        let mut tx = state.db.begin().await?;
        let debts = super::store::open_debts(&mut tx.conn(), tenant, None).await?;
        snapshot(&mut tx.conn(), tenant, day, &debts).await?;
        tx.commit().await?;
    }
    let base = base_url(&state.config);
    let mut report = Report { day, ..Report::default() };
    let (people, from) = {
        let mut conn = state.db.read().await?;
        let mut c = conn.conn();
        (recipients(&mut c, tenant).await?, sender(&mut c, tenant).await?)
    };
    let Some(from) = from else {
        report.failed.push("у тенанта нет адреса отправителя: укажите его в настройках напоминаний".into());
        return Ok(report);
    };
    let mut made: HashSet<UserId> = HashSet::new();
    for (user, name, email, scope) in people {
        if !made.insert(user) {
            continue;
        }
        let mail = {
            let mut conn = state.db.read().await?;
            let mut c = conn.conn();
            let d = compute(&mut c, tenant, (user, &name), scope, day, &base).await?;
            let rendered = match render(&mut c, tenant, &d).await {
                Ok(r) => r,
                Err(e) => {
                    report.failed.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let attachments = match chart(&d) {
                Ok(png) => vec![Attachment { filename: CHART_FILE.into(), content_type: "image/png".into(), content: png, content_id: Some(CHART_CID.into()) }],
                Err(e) => {
                    tracing::warn!(error = %e, "digest chart not drawn");
                    Vec::new()
                }
            };
            OutgoingEmail {
                source: MAIL_SOURCE.into(),
                idempotency_key: Some(format!("digest:{user}:{day}")),
                from: from.clone(),
                reply_to: None,
                to: vec![email.clone()],
                cc: Vec::new(),
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
                attachments,
            }
        };
        match outbox::queue(&state.db, tenant, &mail).await {
            Ok(id) => report.mails.push(id),
            Err(outbox::QueueError::Invalid(e)) => report.failed.push(format!("{name}: письмо не принято: {e}")),
            Err(outbox::QueueError::Db(e)) => return Err(e.into()),
        }
    }
    Ok(report)
}
