//! What reminders are made of: rules (scope and ordered steps), the tenant's settings (the
//! ФЗ-230 figures and the send window), per-client flags, promises to pay, and the messages
//! the daily plan decides on.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::counterparties::CounterpartyId;
use crate::counterparties::model::CounterpartyKind;
use crate::id_type;
use crate::legal_entities::LegalEntityId;
use crate::mail::MailId;
use crate::money::Money;
use crate::receivables::model::SalesDocumentId;
use crate::tasks::model::TaskId;
use crate::tenancy::model::str_enum;
use crate::validation::Violations;

id_type!(
    /// A reminder rule.
    RuleId
);
id_type!(
    /// A message the planner decided on (planned, queued or skipped).
    MessageId
);
id_type!(
    /// A client's promise to pay.
    PromiseId
);

/// How a step reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderChannel)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    /// An automated voice call.
    Voice,
    /// A task for the client's responsible manager.
    Task,
}
str_enum!(Channel { Email => "email", Sms => "sms", Voice => "voice", Task => "task" });

/// When a step fires, relative to a debt's due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderOffsetKind)]
#[serde(rename_all = "snake_case")]
pub enum OffsetKind {
    /// `days` working days (production calendar) before the due date.
    WorkingDaysBefore,
    /// On the due date (`days` is 0).
    DueDay,
    /// `days` calendar days after the due date.
    CalendarDaysAfter,
    /// `days` working days after the due date.
    WorkingDaysAfter,
}

/// A step's day relative to the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderOffset)]
#[serde(deny_unknown_fields)]
pub struct Offset {
    pub kind: OffsetKind,
    #[serde(default)]
    pub days: u32,
}

impl Offset {
    /// The day this step fires for a debt due on `due`.
    pub fn day_for(&self, due: NaiveDate) -> NaiveDate {
        use crate::receivables::calendar;
        match self.kind {
            OffsetKind::WorkingDaysBefore => calendar::sub_working_days(due, self.days),
            OffsetKind::DueDay => due,
            OffsetKind::CalendarDaysAfter => due + chrono::Days::new(u64::from(self.days)),
            OffsetKind::WorkingDaysAfter => calendar::add_working_days(due, self.days),
        }
    }

    /// In words, for explanations and the timeline.
    pub fn describe(&self) -> String {
        match self.kind {
            OffsetKind::WorkingDaysBefore => format!("за {} раб. дн. до срока оплаты", self.days),
            OffsetKind::DueDay => "в день оплаты".to_owned(),
            OffsetKind::CalendarDaysAfter => format!("через {} дн. после срока оплаты", self.days),
            OffsetKind::WorkingDaysAfter => format!("через {} раб. дн. после срока оплаты", self.days),
        }
    }
}

/// One step of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderStep)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable key of the step (kept across edits; a new step gets one). Messages are once
    /// per (rule, step, client, documents).
    #[serde(default)]
    pub id: String,
    pub offset: Offset,
    pub channel: Channel,
    /// The template kind the message is rendered from: `reminder_before`,
    /// `reminder_overdue`, `reminder_short` (SMS and voice) or `reminder_task`.
    pub template: String,
    /// Contact roles on the card that get it (`accountant`, `director`; `any`: every
    /// contact). Ignored for tasks.
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// Which clients and debts a rule applies to; an empty list or `null` does not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderScope)]
#[serde(deny_unknown_fields, default)]
pub struct Scope {
    /// Our legal entity that sold (debts of other entities are not chased by this rule).
    pub legal_entity_id: Option<LegalEntityId>,
    /// Client segments (the card's `segment`).
    pub segments: Vec<String>,
    /// Tags, any of which the card must have.
    pub tags: Vec<String>,
    pub client_kinds: Vec<CounterpartyKind>,
    /// The client's open debt (in scope) must be at least this.
    pub min_debt: Option<Money>,
    /// A debt must be overdue at least this many days on the step's day.
    pub min_days_overdue: Option<i32>,
}

/// A reminder rule.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = ReminderRule)]
pub struct Rule {
    pub id: RuleId,
    pub name: String,
    /// Rules are applied in this order.
    pub position: i32,
    pub active: bool,
    /// At most this many messages per debt under this rule; `null`: no limit.
    pub max_attempts: Option<i32>,
    #[schema(value_type = Scope)]
    pub scope: Json<Scope>,
    #[schema(value_type = Vec<Step>)]
    pub steps: Json<Vec<Step>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn yes() -> bool {
    true
}

/// A rule as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderRuleInput)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub name: String,
    #[serde(default)]
    pub position: i32,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub max_attempts: Option<i32>,
    #[serde(default)]
    pub scope: Scope,
    pub steps: Vec<Step>,
}

impl RuleInput {
    /// Checks what does not need the database (template kinds, figures).
    pub fn check(&self, v: &mut Violations) {
        v.check(!self.name.trim().is_empty(), "name", "укажите название правила");
        v.check(self.name.chars().count() <= 200, "name", "не длиннее 200 символов");
        v.check(self.max_attempts.is_none_or(|n| (1..=100).contains(&n)), "max_attempts", "от 1 до 100 или null");
        v.check(!self.steps.is_empty(), "steps", "в правиле нужен хотя бы один шаг");
        v.check(self.steps.len() <= 20, "steps", "не больше 20 шагов");
        if let Some(m) = self.scope.min_debt {
            v.check(!m.is_negative(), "scope.min_debt", "не может быть отрицательной");
        }
        v.check(self.scope.min_days_overdue.is_none_or(|d| (-365..=3650).contains(&d)), "scope.min_days_overdue", "от -365 до 3650 дней");
        let mut ids = std::collections::HashSet::new();
        for (i, s) in self.steps.iter().enumerate() {
            let p = format!("steps[{i}]");
            v.check(s.id.is_empty() || ids.insert(s.id.clone()), &format!("{p}.id"), "ключ шага повторяется");
            v.check(s.id.chars().count() <= 64, &format!("{p}.id"), "не длиннее 64 символов");
            match s.offset.kind {
                OffsetKind::DueDay => v.check(s.offset.days == 0, &format!("{p}.offset.days"), "в день оплаты смещение равно 0"),
                _ => v.check((1..=365).contains(&s.offset.days), &format!("{p}.offset.days"), "от 1 до 365 дней"),
            }
            match super::templates::kind_for(&s.template) {
                None => v.add(format!("{p}.template"), format!("нет шаблона «{}»; есть: {}", s.template, super::templates::KEYS.join(", "))),
                Some(kind) => v.check(
                    super::templates::fits(kind.key, s.channel),
                    &format!("{p}.template"),
                    "шаблон не подходит к каналу: для e-mail — reminder_before или reminder_overdue, для SMS и звонка — reminder_short, для задачи — reminder_task",
                ),
            }
            if s.channel != Channel::Task {
                v.check(!s.recipients.is_empty(), &format!("{p}.recipients"), "укажите роли контактов-получателей (например, accountant)");
            }
            for (j, r) in s.recipients.iter().enumerate() {
                v.check(!r.trim().is_empty() && r.chars().count() <= 50, &format!("{p}.recipients[{j}]"), "роль — непустое слово до 50 символов");
            }
        }
    }
}

/// `HH:MM` of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
#[schema(as = TimeOfDay, value_type = String, example = "09:00")]
pub struct Hm(pub u32);

impl Hm {
    pub fn parse(s: &str) -> Option<Hm> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(Hm(h * 60 + m))
    }
    pub fn minutes(self) -> u32 {
        self.0
    }
}

impl Serialize for Hm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}

impl<'de> Deserialize<'de> for Hm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hm::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a time HH:MM")))
    }
}

/// A stretch of a day, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = SendWindow)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub from: Hm,
    pub to: Hm,
}

/// How many contacts of a kind are allowed per day, week and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ContactCaps)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    pub day: u32,
    pub week: u32,
    pub month: u32,
}

/// Which cap a channel counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ContactCapClass)]
#[serde(rename_all = "snake_case")]
pub enum CapClass {
    /// Telephone conversations (ФЗ-230 art. 7 p. 3 b).
    Calls,
    /// Text, voice and other messages (art. 7 p. 3 c).
    Messages,
}

/// ФЗ-230 art. 7: how a natural person may be contacted about an overdue debt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ContactLaw)]
#[serde(deny_unknown_fields)]
pub struct LawSettings {
    /// Working days, in the debtor's local time.
    pub working_day: Window,
    /// Weekends and public holidays.
    pub day_off: Window,
    pub calls: Caps,
    pub messages: Caps,
    /// The cap each channel counts against; a channel not listed has none.
    pub cap_classes: BTreeMap<Channel, CapClass>,
}

/// The tenant's reminder settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderSettings)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The figures of the law for natural persons.
    pub law: LawSettings,
    /// When legal entities and sole proprietors are contacted: working days, this window, the
    /// tenant's time zone (or the card's).
    pub business_window: Window,
    /// Contact roles: a contact has a role when its position contains one of the words.
    pub roles: BTreeMap<String, Vec<String>>,
    /// The sender when the client has no responsible manager.
    pub sender_email: Option<String>,
    /// A missed day is caught up within this many days.
    pub catch_up_days: u32,
    /// The notification-channel module instance that sends SMS (`sms-ru`); `null`: the
    /// tenant's only enabled one.
    #[serde(default)]
    pub sms_module: Option<String>,
    /// The module instance that makes voice calls; `null`: voice steps are not sent.
    #[serde(default)]
    pub voice_module: Option<String>,
    /// The morning digest calls an overdue debt *forgotten* when its client had no
    /// interaction, task or reminder message in this many days.
    #[serde(default = "forgotten_days")]
    pub forgotten_days: u32,
}

fn forgotten_days() -> u32 {
    14
}

impl Default for Settings {
    /// The Russian defaults: ФЗ-230 art. 7 figures, weekdays 09:00–18:00 for companies.
    fn default() -> Self {
        let w = |a: u32, b: u32| Window { from: Hm(a * 60), to: Hm(b * 60) };
        Settings {
            law: LawSettings {
                working_day: w(8, 22),
                day_off: w(9, 20),
                calls: Caps { day: 1, week: 2, month: 8 },
                messages: Caps { day: 2, week: 4, month: 16 },
                cap_classes: BTreeMap::from([(Channel::Voice, CapClass::Calls), (Channel::Sms, CapClass::Messages)]),
            },
            business_window: w(9, 18),
            roles: BTreeMap::from([
                ("accountant".to_owned(), vec!["бухгалтер".to_owned()]),
                ("director".to_owned(), vec!["директор".to_owned(), "руководитель".to_owned()]),
            ]),
            sender_email: None,
            catch_up_days: 30,
            sms_module: None,
            voice_module: None,
            forgotten_days: forgotten_days(),
        }
    }
}

impl Settings {
    pub fn check(&self, v: &mut Violations) {
        for (name, w) in [("law.working_day", self.law.working_day), ("law.day_off", self.law.day_off), ("business_window", self.business_window)] {
            v.check(w.from < w.to, name, "начало окна должно быть раньше конца");
        }
        for (name, c) in [("law.calls", self.law.calls), ("law.messages", self.law.messages)] {
            v.check(c.day <= c.week && c.week <= c.month, name, "лимит за день не больше лимита за неделю, а тот — за месяц");
        }
        v.check(self.catch_up_days <= 90, "catch_up_days", "не больше 90 дней");
        v.check((1..=365).contains(&self.forgotten_days), "forgotten_days", "от 1 до 365 дней");
        if let Some(e) = &self.sender_email
            && let Err(e) = crate::mail::address::check_address(e)
        {
            v.add("sender_email", e);
        }
        for (role, words) in &self.roles {
            v.check(!words.is_empty() && words.iter().all(|w| !w.trim().is_empty()), &format!("roles.{role}"), "укажите слова, по которым должность контакта даёт роль");
        }
    }
}

/// Why a debtor may not be contacted at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = NoContactReason)]
#[serde(rename_all = "snake_case")]
pub enum NoContact {
    Bankrupt,
    Incapable,
    /// The debtor refused interaction (ФЗ-230 art. 8).
    Refused,
}
str_enum!(NoContact { Bankrupt => "bankrupt", Incapable => "incapable", Refused => "refused" });

/// A client's reminder flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[schema(as = ReminderFlags)]
#[serde(deny_unknown_fields)]
pub struct ClientFlags {
    /// The client asked not to get reminders.
    #[serde(default)]
    pub opted_out: bool,
    #[serde(default)]
    pub no_contact: Option<NoContact>,
    /// The debtor's IANA time zone; `null`: the tenant's.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A dispute on a debt, as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = DebtDisputeInput)]
#[serde(deny_unknown_fields)]
pub struct DisputeInput {
    pub disputed: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A debt's dispute state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DebtDispute)]
pub struct Dispute {
    pub document_id: SalesDocumentId,
    pub disputed: bool,
    pub reason: Option<String>,
    pub disputed_at: Option<DateTime<Utc>>,
}

/// Where a promise is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = PaymentPromiseStatus)]
#[serde(rename_all = "snake_case")]
pub enum PromiseStatus {
    /// Chasing of its debts is paused until the date.
    Open,
    /// Payments cover it by the date.
    Kept,
    /// Not covered by the date: chasing resumed, the manager got a task.
    Broken,
}
str_enum!(PromiseStatus { Open => "open", Kept => "kept", Broken => "broken" });

/// A promise to pay.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = PaymentPromise)]
pub struct Promise {
    pub id: PromiseId,
    pub counterparty_id: CounterpartyId,
    pub amount: Money,
    /// The day it was made (payments from this day count).
    pub made_on: NaiveDate,
    /// Pay by this day.
    pub promised_on: NaiveDate,
    #[sqlx(rename = "documents")]
    #[schema(value_type = Vec<String>)]
    pub document_ids: Json<Vec<SalesDocumentId>>,
    pub status: PromiseStatus,
    /// Paid from `made_on` to `promised_on` (as of the last evaluation).
    pub paid: Money,
    /// What is missing of the amount (a partly kept promise says how much).
    #[sqlx(skip)]
    pub missing: Money,
    pub resolved_on: Option<NaiveDate>,
    /// The manager's task when it was broken.
    pub task_id: Option<TaskId>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A promise as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = PaymentPromiseInput)]
#[serde(deny_unknown_fields)]
pub struct PromiseInput {
    pub amount: Money,
    #[serde(deserialize_with = "crate::dates::strict")]
    #[schema(value_type = String, format = Date)]
    pub promised_on: NaiveDate,
    /// The debts it covers (sales documents of this client).
    pub document_ids: Vec<SalesDocumentId>,
    /// Default: today.
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    #[schema(value_type = Option<String>, format = Date)]
    pub made_on: Option<NaiveDate>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Where a planned message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderMessageStatus)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Decided; waits for its time (`not_before`) or its channel (SMS, voice).
    Planned,
    /// Handed to the mail outbox.
    Queued,
    /// The manager's task was created.
    TaskCreated,
    /// Not sent; `reason` says why.
    Skipped,
}
str_enum!(MessageStatus { Planned => "planned", Queued => "queued", TaskCreated => "task_created", Skipped => "skipped" });

/// A debt listed in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderMessageDocument)]
pub struct MessageDoc {
    pub document_id: SalesDocumentId,
    pub number: String,
    #[schema(value_type = String, format = Date)]
    pub issued_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    pub open: Money,
    /// Negative: days left until the due date.
    pub days_overdue: i64,
}

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderRecipient)]
pub struct Recipient {
    pub name: String,
    /// An e-mail address or a phone number.
    pub address: String,
}

/// A decision of the planner.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = ReminderMessage)]
pub struct Message {
    pub id: MessageId,
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    pub rule_id: RuleId,
    pub step_id: String,
    /// The step's place in its rule, from 1.
    pub step_position: i32,
    pub counterparty_id: CounterpartyId,
    pub channel: Channel,
    pub status: MessageStatus,
    /// `disputed`, `promised`, `opted_out`, `no_contact`, `over_cap`, `max_attempts`,
    /// `no_address`, `template_error`.
    pub reason_code: Option<String>,
    /// Why it was skipped, in words.
    pub reason: Option<String>,
    #[schema(value_type = Vec<MessageDoc>)]
    pub documents: Json<Vec<MessageDoc>>,
    #[schema(value_type = Vec<Recipient>)]
    pub recipients: Json<Vec<Recipient>>,
    /// The From address of an e-mail.
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// Not before this moment (the legal window or the tenant's send window).
    pub not_before: Option<DateTime<Utc>>,
    pub mail_id: Option<MailId>,
    pub task_id: Option<TaskId>,
    /// SMS and voice: the provider's message ids (comma-separated, one per recipient).
    pub provider_ids: Option<String>,
    /// SMS and voice: the delivery state the provider reports — `queued`, `sent`,
    /// `delivered`, `failed`; e-mails (in the log): their outbox message's — `queued`,
    /// `sending`, `sent` (the mail server accepted it), `failed`.
    pub delivery: Option<String>,
    /// The provider's (or the mail server's) own words about the delivery (why it failed).
    pub delivery_detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a run of the planner did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = ReminderPlanReport)]
pub struct PlanReport {
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// The earliest step day this run looked at (a missed day is caught up).
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    pub planned: i64,
    pub skipped: i64,
    /// E-mails handed to the outbox by this run.
    pub queued: i64,
    /// SMS and voice reminders handed to their providers by this run.
    pub sent_by_providers: i64,
    pub tasks: i64,
    pub promises_kept: i64,
    pub promises_broken: i64,
    /// What the debt-control assistant did.
    pub control: super::control::ControlReport,
}

/// One line of an explanation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReminderExplanation)]
pub struct Explanation {
    pub rule_id: Option<RuleId>,
    pub rule: Option<String>,
    /// What was decided, in words.
    pub text: String,
}

/// Why a client did or did not get a reminder on a day.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReminderWhy)]
pub struct Why {
    pub counterparty_id: CounterpartyId,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// The rules, step by step, as the planner sees them now.
    pub explanation: Vec<Explanation>,
    /// What the planner stored for that day.
    pub messages: Vec<Message>,
}
