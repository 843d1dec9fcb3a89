//! The daily plan: for a day, which client gets which message under which rule and step.
//!
//! * A step fires for a debt on its day (N working days before the due date, the due day,
//!   N calendar or working days after). The plan of a day looks at every step day since the
//!   last day planned (at most `catch_up_days` back), so a day the host missed is caught up
//!   once; of several steps of one rule missed for a debt only the latest is sent.
//! * One message per (rule, step, client) lists all of that client's debts due for it that
//!   day. Each decision is stored under a unique key — (rule, step, client, documents) for a
//!   message, with the day added for a skip — so running a day twice plans it once.
//! * Skipped, with the reason stored and shown on the client's timeline: disputed debts,
//!   debts under an open promise to pay, clients opted out or not to be contacted, a rule's
//!   maximum of attempts, the law's caps for natural persons, a contact without an address,
//!   a template that does not render. The rest of the plan goes on.
//! * E-mails wait for the allowed window ([`super::law`]) and are handed to the mail outbox
//!   by [`dispatch`], idempotently by the same key; SMS and voice stay planned; a task step
//!   creates the manager's task at once.
//! * Promises are evaluated first: kept when payments cover them by the date, broken the day
//!   after (chasing of their debts resumes at the step where it paused, and the manager gets
//!   a task).
//!
//! [`plan`] with an explanation sink is a dry run that writes nothing: the "why" endpoint.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;
use sha2::Digest;

use super::law;
use super::model::{Channel, Explanation, Message, MessageDoc, MessageStatus, PlanReport, PromiseStatus, Recipient, Rule, RuleId, Settings, Step};
use super::store::{self, NewMessage, OpenDebt};
use crate::counterparties::CounterpartyId;
use crate::counterparties::model::CounterpartyKind;
use crate::db::Conn;
use crate::mail::OutgoingEmail;
use crate::mail::outbox::{self, QueueError};
use crate::money::Money;
use crate::receivables::model::SalesDocumentId;
use crate::tasks::model::TaskStatus;
use crate::tenancy::{TenantId, UserId};
use crate::timeline::{self, EventKind, NewEvent};

/// The outbox source of reminder e-mails: their idempotency keys are unique within it.
pub const MAIL_SOURCE: &str = "reminders";

/// The key of a message: once per (rule, step, client, documents).
pub fn message_key(rule: RuleId, step: &str, cp: CounterpartyId, docs: &[SalesDocumentId]) -> String {
    let mut ids: Vec<String> = docs.iter().map(ToString::to_string).collect();
    ids.sort();
    let digest = hex::encode(sha2::Sha256::digest(ids.join(",").as_bytes()));
    format!("{rule}:{step}:{cp}:{}", &digest[..32])
}

/// Midnight of `day` in `tz`.
pub fn start_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_time(chrono::NaiveTime::MIN)).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN).and_utc())
}

fn channel_words(ch: Channel) -> &'static str {
    match ch {
        Channel::Email => "e-mail",
        Channel::Sms => "SMS",
        Channel::Voice => "звонок",
        Channel::Task => "задача менеджеру",
    }
}

fn numbers(docs: &[MessageDoc]) -> String {
    docs.iter().map(|d| format!("№ {}", d.number)).collect::<Vec<_>>().join(", ")
}

/// Each client's open debt (kopecks) by our legal entity's reference.
type Totals = HashMap<CounterpartyId, Vec<(Option<String>, i64)>>;

/// What one plan works with.
struct Plan<'e> {
    tenant: TenantId,
    day: NaiveDate,
    now: DateTime<Utc>,
    settings: Settings,
    tenant_name: String,
    tenant_zone: String,
    disputed: HashSet<SalesDocumentId>,
    /// Debts under an open promise → the promise's date.
    promised: HashMap<SalesDocumentId, NaiveDate>,
    /// Debts of a promise broken today → the day chasing paused (the step days since then count).
    resumed: HashMap<SalesDocumentId, NaiveDate>,
    from: NaiveDate,
    explain: Option<&'e mut Vec<Explanation>>,
    report: PlanReport,
    /// Looked up once a plan: template sources by kind, managers (name, e-mail; `None`:
    /// archived or gone), the tenant's first admin.
    sources: HashMap<&'static str, String>,
    managers: HashMap<UserId, Option<(String, String)>>,
    first_admin: Option<Option<String>>,
    /// Each client's open debt by our legal entity, when the plan read only some documents
    /// and a rule has a minimum debt.
    totals: Option<Totals>,
}

impl Plan<'_> {
    fn dry(&self) -> bool {
        self.explain.is_some()
    }

    /// Adds a line to the explanation; the text is only made when a plan is explained (a
    /// real plan over a million documents makes none of them).
    fn note(&mut self, rule: Option<&Rule>, text: impl FnOnce() -> String) {
        if let Some(out) = self.explain.as_deref_mut() {
            out.push(Explanation { rule_id: rule.map(|r| r.id), rule: rule.map(|r| r.name.clone()), text: text() });
        }
    }
}

/// Plans `day` for the tenant (or explains it for one client, writing nothing, when
/// `explain` is given). `now` is the moment of planning: messages wait for their window from
/// then on.
pub async fn plan(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate, now: DateTime<Utc>, only: Option<CounterpartyId>, explain: Option<&mut Vec<Explanation>>) -> anyhow::Result<PlanReport> {
    let settings = store::settings(c, tenant).await?;
    let (tenant_name, tenant_zone) = store::tenant(c, tenant).await?;
    let prev = store::last_run_before(c, tenant, day).await?;
    let earliest = day - Days::new(u64::from(settings.catch_up_days));
    let from = prev.map_or(day, |p| (p + Days::new(1)).max(earliest));
    let mut p = Plan {
        tenant,
        day,
        now,
        settings,
        tenant_name,
        tenant_zone,
        disputed: store::disputed(c, tenant).await?.into_iter().collect(),
        promised: HashMap::new(),
        resumed: HashMap::new(),
        from,
        explain,
        report: PlanReport { day, from, ..PlanReport::default() },
        sources: HashMap::new(),
        managers: HashMap::new(),
        first_admin: None,
        totals: None,
    };
    if p.from < p.day {
        let text = format!("Планирование на {day} учитывает и пропущенные дни с {from}: шаг, день которого прошёл, пока планирование не запускалось, отправляется один раз.");
        p.note(None, || text);
    }
    promises(c, &mut p).await?;
    let rules: Vec<Rule> = store::list_rules(c, tenant).await?.into_iter().filter(|r| r.active).collect();
    if rules.is_empty() {
        p.note(None, || "У тенанта нет включённых правил напоминаний.".into());
    }
    // A real plan reads only the documents a step falls on (and then each such client's
    // totals for the rules' minimum debt); an explanation reads all of one client's.
    let (debts, totals) = match only {
        Some(_) => (store::open_debts(c, tenant, only).await?, None),
        None => {
            let since = p.resumed.values().copied().fold(p.from, NaiveDate::min);
            let debts = store::open_debts_due(c, tenant, None, Some(&candidate_due_dates(&rules, since, day))).await?;
            let totals = if rules.iter().any(|r| r.scope.min_debt.is_some()) {
                let mut t: Totals = HashMap::new();
                for (cp, entity, sum) in store::open_totals(c, tenant).await? {
                    t.entry(cp).or_default().push((entity, sum));
                }
                Some(t)
            } else {
                None
            };
            (debts, totals)
        }
    };
    p.totals = totals;
    if debts.is_empty() && only.is_some() {
        p.note(None, || "У клиента нет открытой задолженности: напоминать не о чем.".into());
    }
    let mut by_client: BTreeMap<CounterpartyId, Vec<OpenDebt>> = BTreeMap::new();
    for d in debts {
        by_client.entry(d.counterparty_id).or_default().push(d);
    }
    let mut entities: HashMap<RuleId, Option<(Option<String>, String)>> = HashMap::new();
    for r in &rules {
        let e = match r.scope.legal_entity_id {
            Some(id) => store::legal_entity(c, tenant, id).await?,
            None => None,
        };
        entities.insert(r.id, e);
    }
    for (cp, debts) in &by_client {
        for rule in &rules {
            client_rule(c, &mut p, *cp, debts, rule, entities.get(&rule.id).cloned().flatten()).await?;
        }
    }
    if !p.dry() {
        store::record_run(c, tenant, day, p.report.planned, p.report.skipped).await?;
    }
    Ok(p.report)
}

/// Evaluates the promises open on the day, and finds the debts they pause or release.
async fn promises(c: &mut Conn<'_>, p: &mut Plan<'_>) -> anyhow::Result<()> {
    for promise in store::promises_around(c, p.tenant, p.day).await? {
        let mut status = promise.status;
        if status == PromiseStatus::Open && !p.dry() {
            let paid = store::paid_between(c, p.tenant, promise.counterparty_id, promise.made_on, p.day.min(promise.promised_on)).await?;
            if paid >= promise.amount {
                status = PromiseStatus::Kept;
                store::resolve_promise(c, p.tenant, promise.id, status, paid, p.day, None).await?;
                p.report.promises_kept += 1;
                let summary = format!("Обещание об оплате выполнено: обещано {} до {}, оплачено {}", promise.amount, promise.promised_on.format("%d.%m.%Y"), paid);
                event(c, p.tenant, EventKind::Promise, "promise", promise.id.0, promise.counterparty_id, summary, p.now).await?;
            } else if p.day > promise.promised_on {
                status = PromiseStatus::Broken;
                let missing = Money::from_minor(promise.amount.minor() - paid.minor());
                let title = format!("Клиент не выполнил обещание об оплате: не хватает {missing} руб.");
                let description = format!(
                    "Обещано {} руб. до {}, оплачено {} руб., не хватает {} руб. Напоминания по долгам возобновлены.",
                    promise.amount,
                    promise.promised_on.format("%d.%m.%Y"),
                    paid,
                    missing
                );
                let task = manager_task(c, p, promise.counterparty_id, &title, &description, promise.document_ids.first().copied()).await?;
                store::resolve_promise(c, p.tenant, promise.id, status, paid, p.day, Some(task)).await?;
                p.report.promises_broken += 1;
                p.report.tasks += 1;
                let summary = format!("Обещание об оплате нарушено: {description}");
                event(c, p.tenant, EventKind::Promise, "promise", promise.id.0, promise.counterparty_id, summary, p.now).await?;
            }
        }
        for doc in promise.document_ids.iter() {
            match status {
                PromiseStatus::Open => {
                    p.promised.insert(*doc, promise.promised_on);
                }
                PromiseStatus::Broken if promise.resolved_on.unwrap_or(p.day) == p.day => {
                    p.resumed.insert(*doc, promise.made_on);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The due dates whose documents have a step day in `from..=day` under some rule: the plan
/// reads only those documents (of a million open ones, a few thousand fall on a step a day).
fn candidate_due_dates(rules: &[Rule], from: NaiveDate, day: NaiveDate) -> Vec<NaiveDate> {
    use super::model::OffsetKind;
    let mut out = std::collections::BTreeSet::new();
    for s in rules.iter().flat_map(|r| r.steps.iter()) {
        // N working days stretch over weekends and holidays: at most 2N + 30 calendar days.
        let span = Days::new(u64::from(s.offset.days) * 2 + 30);
        let (lo, hi) = match s.offset.kind {
            OffsetKind::WorkingDaysBefore => (from, day + span),
            OffsetKind::DueDay => (from, day),
            OffsetKind::CalendarDaysAfter | OffsetKind::WorkingDaysAfter => (from - span, day),
        };
        let mut due = lo;
        while due <= hi {
            let at = s.offset.day_for(due);
            if at >= from && at <= day {
                out.insert(due);
            }
            due = due + Days::new(1);
        }
    }
    out.into_iter().collect()
}

/// Whether a client is in a rule's scope.
fn in_scope(rule: &Rule, d: &OpenDebt) -> bool {
    let s = &rule.scope;
    (s.client_kinds.is_empty() || s.client_kinds.contains(&d.kind))
        && (s.segments.is_empty() || d.segment.as_ref().is_some_and(|seg| s.segments.contains(seg)))
        && (s.tags.is_empty() || d.tags.iter().any(|t| s.tags.contains(t)))
}

/// Why a client is not in a rule's scope, in words.
fn scope_miss(rule: &Rule, d: &OpenDebt) -> String {
    let s = &rule.scope;
    if !s.client_kinds.is_empty() && !s.client_kinds.contains(&d.kind) {
        return format!("вид клиента «{}» не входит в правило", d.kind);
    }
    if !s.segments.is_empty() && !d.segment.as_ref().is_some_and(|seg| s.segments.contains(seg)) {
        return format!("сегмент клиента «{}» не входит в правило", d.segment.as_deref().unwrap_or("—"));
    }
    "у клиента нет ни одного из тегов правила".into()
}

fn doc_of(d: &OpenDebt, day: NaiveDate) -> MessageDoc {
    MessageDoc { document_id: d.document_id, number: d.number.clone(), issued_on: d.issued_on, due_on: d.due_on, open: d.open_amount, days_overdue: (day - d.due_on).num_days() }
}

/// One client under one rule.
async fn client_rule(c: &mut Conn<'_>, p: &mut Plan<'_>, cp: CounterpartyId, debts: &[OpenDebt], rule: &Rule, entity: Option<(Option<String>, String)>) -> anyhow::Result<()> {
    let Some(first) = debts.first() else { return Ok(()) };
    if !in_scope(rule, first) {
        p.note(Some(rule), || format!("Правило не применяется: {}.", scope_miss(rule, first)));
        return Ok(());
    }
    let scoped: Vec<&OpenDebt> = match (&rule.scope.legal_entity_id, &entity) {
        (None, _) => debts.iter().collect(),
        (Some(_), Some((Some(r), _))) => debts.iter().filter(|d| d.legal_entity_ref.as_deref() == Some(r.as_str())).collect(),
        (Some(_), _) => Vec::new(),
    };
    if scoped.is_empty() {
        p.note(Some(rule), || "Правило не применяется: нет долгов перед юрлицом правила.".into());
        return Ok(());
    }
    let total: i64 = match p.totals.as_ref().map(|t| t.get(&cp).map(Vec::as_slice).unwrap_or_default()) {
        // All of the client's open documents, not only those due for a step today.
        Some(sums) => match (&rule.scope.legal_entity_id, &entity) {
            (None, _) => sums.iter().map(|(_, s)| s).sum(),
            (Some(_), Some((Some(r), _))) => sums.iter().filter(|(e, _)| e.as_deref() == Some(r.as_str())).map(|(_, s)| s).sum(),
            (Some(_), _) => 0,
        },
        None => scoped.iter().map(|d| d.open_amount.minor()).sum(),
    };
    if let Some(min) = rule.scope.min_debt
        && total < min.minor()
    {
        p.note(Some(rule), || format!("Правило не применяется: долг клиента {} меньше порога {}.", Money::from_minor(total), min));
        return Ok(());
    }
    // For each debt, the latest step whose day falls in the window.
    let mut due: BTreeMap<usize, Vec<&OpenDebt>> = BTreeMap::new();
    for &d in &scoped {
        let from = p.resumed.get(&d.document_id).map_or(p.from, |paused| (*paused).min(p.from));
        if let Some(min) = rule.scope.min_days_overdue
            && (p.day - d.due_on).num_days() < i64::from(min)
        {
            p.note(Some(rule), || format!("Документ № {}: просрочка меньше {min} дн.", d.number));
            continue;
        }
        let hit = rule.steps.iter().enumerate().map(|(i, s)| (i, s.offset.day_for(d.due_on))).filter(|(_, at)| *at >= from && *at <= p.day).max_by_key(|(i, at)| (*at, *i));
        match hit {
            Some((i, _)) => due.entry(i).or_default().push(d),
            None => {
                let day = p.day;
                p.note(Some(rule), || match rule.steps.iter().map(|s| s.offset.day_for(d.due_on)).filter(|at| *at > day).min() {
                    Some(at) => format!("Документ № {} (срок {}): сегодня шагов нет, следующий — {}.", d.number, d.due_on.format("%d.%m.%Y"), at.format("%d.%m.%Y")),
                    None => format!("Документ № {} (срок {}): все шаги правила пройдены.", d.number, d.due_on.format("%d.%m.%Y")),
                });
            }
        }
    }
    for (i, docs) in due {
        step(c, p, cp, rule, i, &docs, entity.as_ref().map(|e| e.1.clone())).await?;
    }
    Ok(())
}

/// A decision not to send, stored once per day and key.
#[allow(clippy::too_many_arguments)]
async fn skip(c: &mut Conn<'_>, p: &mut Plan<'_>, cp: CounterpartyId, rule: &Rule, i: usize, docs: &[MessageDoc], code: &str, reason: String) -> anyhow::Result<()> {
    let s = &rule.steps[i];
    p.note(Some(rule), || format!("Шаг {} ({}, {}): не отправляется — {reason}", i + 1, channel_words(s.channel), s.offset.describe()));
    if p.dry() {
        return Ok(());
    }
    let ids: Vec<SalesDocumentId> = docs.iter().map(|d| d.document_id).collect();
    let key = format!("skip:{}:{code}:{}", p.day, message_key(rule.id, &s.id, cp, &ids));
    let m = NewMessage {
        dedupe_key: key,
        day: p.day,
        rule_id: rule.id,
        step_id: &s.id,
        step_position: i32::try_from(i + 1).unwrap_or(i32::MAX),
        counterparty_id: cp,
        channel: s.channel,
        status: MessageStatus::Skipped,
        reason_code: Some(code),
        reason: Some(reason.clone()),
        documents: docs,
        recipients: &[],
        sender: None,
        subject: None,
        body: None,
        html: None,
        not_before: None,
        task_id: None,
    };
    if let Some(id) = store::insert_message(c, p.tenant, &m).await? {
        p.report.skipped += 1;
        let summary = format!("Напоминание не отправлено ({}, правило «{}», шаг {}; {}): {reason}", channel_words(s.channel), rule.name, i + 1, numbers(docs));
        event(c, p.tenant, EventKind::Reminder, "reminder", id.0, cp, summary, p.now).await?;
    }
    Ok(())
}

/// One step of a rule for one client's debts due for it.
async fn step(c: &mut Conn<'_>, p: &mut Plan<'_>, cp: CounterpartyId, rule: &Rule, i: usize, debts: &[&OpenDebt], our: Option<String>) -> anyhow::Result<()> {
    let s: &Step = &rule.steps[i];
    let first = debts[0];
    let all: Vec<MessageDoc> = debts.iter().map(|d| doc_of(d, p.day)).collect();
    // Debts out of chasing: disputed, promised, past the rule's attempts.
    let disputed: Vec<MessageDoc> = all.iter().filter(|d| p.disputed.contains(&d.document_id)).cloned().collect();
    if !disputed.is_empty() {
        skip(c, p, cp, rule, i, &disputed, "disputed", format!("долг оспаривается клиентом ({})", numbers(&disputed))).await?;
    }
    let promised: Vec<MessageDoc> = all.iter().filter(|d| !p.disputed.contains(&d.document_id) && p.promised.contains_key(&d.document_id)).cloned().collect();
    if !promised.is_empty() {
        let until = promised.iter().filter_map(|d| p.promised.get(&d.document_id)).max().copied().unwrap_or(p.day);
        skip(c, p, cp, rule, i, &promised, "promised", format!("клиент обещал оплатить до {} — напоминания приостановлены", until.format("%d.%m.%Y"))).await?;
    }
    let mut docs: Vec<MessageDoc> = Vec::new();
    let mut exhausted: Vec<MessageDoc> = Vec::new();
    for d in all.into_iter().filter(|d| !p.disputed.contains(&d.document_id) && !p.promised.contains_key(&d.document_id)) {
        match rule.max_attempts {
            Some(max) if store::attempts(c, p.tenant, rule.id, cp, d.document_id).await? >= i64::from(max) => exhausted.push(d),
            _ => docs.push(d),
        }
    }
    if !exhausted.is_empty() {
        let max = rule.max_attempts.unwrap_or_default();
        skip(c, p, cp, rule, i, &exhausted, "max_attempts", format!("по правилу уже было {max} напоминаний — больше не отправляем")).await?;
    }
    if docs.is_empty() {
        return Ok(());
    }
    let ids: Vec<SalesDocumentId> = docs.iter().map(|d| d.document_id).collect();
    let key = message_key(rule.id, &s.id, cp, &ids);
    if store::key_exists(c, p.tenant, &key).await? {
        p.note(Some(rule), || format!("Шаг {} ({}): уже запланирован по документам {} — второй раз не отправляется.", i + 1, channel_words(s.channel), numbers(&docs)));
        return Ok(());
    }
    let flags = store::flags(c, p.tenant, cp).await?;
    if flags.opted_out {
        return skip(c, p, cp, rule, i, &docs, "opted_out", "клиент отказался от напоминаний".into()).await;
    }
    if let Some(no) = flags.no_contact {
        let why = match no {
            super::model::NoContact::Bankrupt => "должник признан банкротом",
            super::model::NoContact::Incapable => "должник признан недееспособным",
            super::model::NoContact::Refused => "должник отказался от взаимодействия",
        };
        return skip(c, p, cp, rule, i, &docs, "no_contact", format!("{why}: контакты запрещены (ФЗ-230)")).await;
    }
    let natural = first.kind == CounterpartyKind::NaturalPerson;
    if natural && let Some((class, caps, channels)) = law::cap_of(&p.settings, s.channel) {
        for (n, (from, to)) in law::periods(p.day).into_iter().enumerate() {
            let used = store::contacts_between(c, p.tenant, cp, &channels, from, to).await?;
            let limit = [caps.day, caps.week, caps.month][n];
            if used >= i64::from(limit) {
                return skip(c, p, cp, rule, i, &docs, "over_cap", format!("лимит ФЗ-230 исчерпан: {}", law::cap_words(class, caps, n))).await;
            }
        }
    }
    // Who it is from.
    let manager = match first.responsible_id {
        Some(u) => match p.managers.get(&u) {
            Some(m) => m.clone(),
            None => {
                let m = crate::tenancy::store::get_user(c, p.tenant, u).await?.filter(|u| u.archived_at.is_none()).map(|u| (u.full_name, u.email));
                p.managers.insert(u, m.clone());
                m
            }
        },
        None => None,
    };
    let (sender_name, sender_email) = match (manager, &p.settings.sender_email) {
        (Some(m), _) => m,
        (None, Some(email)) => (p.tenant_name.clone(), email.clone()),
        (None, None) => {
            if p.first_admin.is_none() {
                p.first_admin = Some(store::first_admin(c, p.tenant).await?.map(|a| a.2));
            }
            (p.tenant_name.clone(), p.first_admin.clone().flatten().unwrap_or_default())
        }
    };
    // Who it is to.
    let recipients = if s.channel == Channel::Task {
        Vec::new()
    } else {
        match recipients(c, p, cp, s).await? {
            Ok(r) => r,
            Err(reason) => return skip(c, p, cp, rule, i, &docs, "no_address", reason).await,
        }
    };
    // What it says.
    let Some(kind) = super::templates::kind_for(&s.template) else {
        return skip(c, p, cp, rule, i, &docs, "template_error", format!("нет шаблона «{}»", s.template)).await;
    };
    let (upcoming, overdue): (Vec<&MessageDoc>, Vec<&MessageDoc>) = docs.iter().partition(|d| d.days_overdue <= 0);
    let sum = |list: &[&MessageDoc]| Money::from_minor(list.iter().map(|d| d.open.minor()).sum());
    let data = json!({
        "client": {"name": first.name, "inn": first.inn},
        "sender": {"name": sender_name},
        "our": our,
        "day": p.day,
        "upcoming": upcoming,
        "overdue": overdue,
        "total_upcoming": sum(&upcoming),
        "total_overdue": sum(&overdue),
    });
    if !p.sources.contains_key(kind.key) {
        let (source, _) = crate::templates::store::source(c, p.tenant, kind).await?;
        p.sources.insert(kind.key, source);
    }
    let source = p.sources.get(kind.key).map(String::as_str).unwrap_or_default();
    let doc = match crate::templates::engine::document(kind, source, crate::templates::engine::context(&data)) {
        Ok(doc) => doc,
        Err(e) => return skip(c, p, cp, rule, i, &docs, "template_error", format!("шаблон «{}» не сработал: {e}", kind.key)).await,
    };
    let subject = doc.title.clone();
    let paragraphs: Vec<String> = doc.texts().into_iter().skip(1).collect();
    let (body, html) = match s.channel {
        Channel::Email => (paragraphs.join("\n\n"), Some(crate::templates::html::to_html(&doc))),
        _ => (paragraphs.join(" "), None),
    };
    let not_before = match s.channel {
        Channel::Task => None,
        _ => {
            let zone = law::zone(flags.time_zone.as_deref(), &p.tenant_zone);
            let at = p.now.max(start_of(p.day, zone));
            Some(law::next_allowed(&p.settings, natural, zone, at))
        }
    };
    let when = not_before.map(|t| format!(", не раньше {}", t.format("%d.%m.%Y %H:%M UTC"))).unwrap_or_default();
    p.note(Some(rule), || format!("Шаг {} ({}, {}): «{subject}» по документам {}{when}.", i + 1, channel_words(s.channel), s.offset.describe(), numbers(&docs)));
    if p.dry() {
        return Ok(());
    }
    let m = NewMessage {
        dedupe_key: key,
        day: p.day,
        rule_id: rule.id,
        step_id: &s.id,
        step_position: i32::try_from(i + 1).unwrap_or(i32::MAX),
        counterparty_id: cp,
        channel: s.channel,
        status: if s.channel == Channel::Task { MessageStatus::TaskCreated } else { MessageStatus::Planned },
        reason_code: None,
        reason: None,
        documents: &docs,
        recipients: &recipients,
        sender: (s.channel == Channel::Email).then(|| sender_email.clone()),
        subject: Some(subject.clone()),
        body: Some(body.clone()),
        html,
        not_before,
        task_id: None,
    };
    let Some(id) = store::insert_message(c, p.tenant, &m).await? else { return Ok(()) };
    p.report.planned += 1;
    if s.channel == Channel::Task {
        let task = manager_task(c, p, cp, &subject, &body, docs.first().map(|d| d.document_id)).await?;
        store::set_task(c, p.tenant, id, task).await?;
        p.report.tasks += 1;
    }
    let to = recipients.iter().map(|r| r.address.clone()).collect::<Vec<_>>().join(", ");
    let summary = format!(
        "Напоминание запланировано ({}, правило «{}», шаг {}: {}): «{subject}»{}; {}{when}",
        channel_words(s.channel),
        rule.name,
        i + 1,
        s.offset.describe(),
        if to.is_empty() { String::new() } else { format!(" → {to}") },
        numbers(&docs),
    );
    event(c, p.tenant, EventKind::Reminder, "reminder", id.0, cp, summary, p.now).await?;
    Ok(())
}

/// The contacts of the client with the step's roles and an address for its channel; `Err`
/// says, in words, why nobody can get it.
async fn recipients(c: &mut Conn<'_>, p: &Plan<'_>, cp: CounterpartyId, s: &Step) -> anyhow::Result<Result<Vec<Recipient>, String>> {
    let contacts = crate::contacts::store::list_for_counterparty(c, p.tenant, cp).await?;
    let has_role = |position: &str, role: &str| {
        let position = position.to_lowercase();
        if role == "any" {
            return true;
        }
        match p.settings.roles.get(role) {
            Some(words) => words.iter().any(|w| position.contains(&w.to_lowercase())),
            None => position.contains(&role.to_lowercase()),
        }
    };
    let mut out = Vec::new();
    let mut without = Vec::new();
    for contact in &contacts {
        let position = contact.position.as_deref().unwrap_or_default();
        if !s.recipients.iter().any(|r| has_role(position, r)) {
            continue;
        }
        let addresses: Vec<String> = match s.channel {
            Channel::Email => contact.emails.iter().filter(|e| !e.trim().is_empty()).cloned().collect(),
            _ => contact.phones.iter().filter(|e| !e.trim().is_empty()).cloned().collect(),
        };
        match addresses.first() {
            Some(a) => out.push(Recipient { name: contact.full_name.clone(), address: a.clone() }),
            None => without.push(contact.full_name.clone()),
        }
    }
    if !out.is_empty() {
        return Ok(Ok(out));
    }
    let what = if s.channel == Channel::Email { "e-mail" } else { "телефона" };
    Ok(Err(if without.is_empty() {
        format!("на карточке нет контакта с ролью {}", s.recipients.join(" / "))
    } else {
        format!("у контакта {} нет {what}", without.iter().map(|n| format!("«{n}»")).collect::<Vec<_>>().join(", "))
    }))
}

/// A task for the client's responsible manager (the tenant's first admin when it has none).
async fn manager_task(c: &mut Conn<'_>, p: &Plan<'_>, cp: CounterpartyId, title: &str, description: &str, doc: Option<SalesDocumentId>) -> anyhow::Result<crate::tasks::TaskId> {
    let responsible: Option<UserId> = crate::counterparties::store::get(c, p.tenant, cp).await?.and_then(|card| card.responsible_id);
    let assignee = match responsible {
        Some(u) => Some(u),
        None => store::first_admin(c, p.tenant).await?.map(|a| a.0),
    };
    let Some(assignee) = assignee else { anyhow::bail!("the tenant has no user to give the task to") };
    let title: String = title.chars().take(200).collect();
    let row = crate::tasks::store::TaskRow {
        title: &title,
        description: Some(description),
        status: TaskStatus::Open,
        assignee_id: assignee,
        due_at: Some(start_of(p.day + Days::new(1), law::zone(None, &p.tenant_zone))),
        requires_file: false,
        checklist: &[],
        counterparty_id: Some(cp),
        deal_id: None,
        sales_document_id: doc,
        completed_at: None,
    };
    let t = crate::tasks::store::insert(c, p.tenant, assignee, &row).await?;
    event(c, p.tenant, EventKind::TaskCreated, "task", t.id.0, cp, format!("Задача «{title}»"), p.now).await?;
    Ok(t.id)
}

#[allow(clippy::too_many_arguments)]
async fn event(c: &mut Conn<'_>, tenant: TenantId, kind: EventKind, entity_type: &str, entity_id: uuid::Uuid, cp: CounterpartyId, summary: String, at: DateTime<Utc>) -> sqlx::Result<()> {
    timeline::record(c, tenant, NewEvent { kind, entity_type, entity_id, counterparty_id: Some(cp), deal_id: None, summary, actor_id: None, occurred_at: at }).await
}

/// Hands the planned e-mails whose time has come to the mail outbox, once each (the outbox
/// key is the message's key). Returns how many were queued.
pub async fn dispatch(c: &mut Conn<'_>, tenant: TenantId, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let mut queued = 0;
    for m in store::due_emails(c, tenant, now).await? {
        let ids: Vec<SalesDocumentId> = m.documents.iter().map(|d| d.document_id).collect();
        let mail = OutgoingEmail {
            source: MAIL_SOURCE.into(),
            idempotency_key: Some(message_key(m.rule_id, &m.step_id, m.counterparty_id, &ids)),
            from: m.sender.clone().unwrap_or_default(),
            reply_to: None,
            to: m.recipients.iter().map(|r| r.address.clone()).collect(),
            cc: Vec::new(),
            subject: m.subject.clone().unwrap_or_default(),
            text: m.body.clone().unwrap_or_default(),
            html: store::html_of(c, tenant, m.id).await?,
            attachments: Vec::new(),
        };
        match outbox::queue_on(c, tenant, &mail).await {
            Ok(id) => {
                store::mark_queued(c, tenant, m.id, id).await?;
                queued += 1;
            }
            Err(QueueError::Invalid(e)) => {
                let reason = format!("письмо не принято: {e}");
                store::mark_skipped(c, tenant, m.id, "bad_address", &reason).await?;
                event(c, tenant, EventKind::Reminder, "reminder", m.id.0, m.counterparty_id, format!("Напоминание не отправлено: {reason}"), now).await?;
            }
            Err(QueueError::Db(e)) => return Err(e.into()),
        }
    }
    Ok(queued)
}

/// Messages of one client on one day (for the "why" endpoint).
pub async fn stored(c: &mut Conn<'_>, tenant: TenantId, cp: CounterpartyId, day: NaiveDate) -> sqlx::Result<Vec<Message>> {
    store::messages(c, tenant, Some(cp), Some(day), Some(day), 500).await
}
