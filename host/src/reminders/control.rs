//! The debt-control assistant: rules as data (a client's debt ≥ X, a debt overdue ≥ N days,
//! the payer rating ≤ k stars; every condition a rule gives must hold) give the client's
//! responsible manager ONE control task per (rule, client) with a control date; a task not
//! done by then is escalated once to the head of the manager's department; the control (and
//! its open tasks) closes itself when the client no longer matches — the debt paid, below
//! the threshold, nothing overdue that long.
//!
//! It runs inside the daily reminders plan ([`super::run_day`]), so it works every day
//! without anyone. Decisions:
//! * Disputed debts do not count towards a rule (the dispute is its own work; chasing a
//!   disputed debt through a control task would be the wrong instruction), but they stay in
//!   every report and in the digest. Clients opted out of reminders and debts under a
//!   promise still get control tasks: the task is internal work, nobody is contacted.
//! * A manager who closes the task before the control date is not escalated; the control
//!   stays open (no second task for the same rule and client) until the client no longer
//!   matches, when it closes with the reason.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::id_type;
use crate::money::Money;
use crate::tasks::TaskId;
use crate::tasks::model::TaskStatus;
use crate::tenancy::model::{Department, str_enum};
use crate::tenancy::{TenantId, UserId};
use crate::timeline::{self, EventKind, NewEvent};
use crate::validation::Violations;

id_type!(
    /// A debt-control rule.
    ControlRuleId
);
id_type!(
    /// A control given under a rule to a client (its task, control date, escalation).
    ControlId
);

/// A debt-control rule.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ControlRule {
    pub id: ControlRuleId,
    pub name: String,
    pub active: bool,
    /// Rules are listed (and applied) in this order.
    pub position: i32,
    /// The client's open debt (disputed debts left out) is at least this.
    pub min_debt: Option<Money>,
    /// One of the client's debts is overdue at least this many days.
    pub min_days_overdue: Option<i32>,
    /// The client's payer rating is at most this many stars (1–5), with a debt open.
    pub max_stars: Option<i32>,
    /// The control date is this many days after the task is given.
    pub control_days: i32,
    /// `control_days` counts working days (production calendar), else calendar days.
    pub working_days: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn yes() -> bool {
    true
}

/// A debt-control rule as sent. At least one condition must be given; all given must hold.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlRuleInput {
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub position: i32,
    #[serde(default)]
    pub min_debt: Option<Money>,
    #[serde(default)]
    pub min_days_overdue: Option<i32>,
    #[serde(default)]
    pub max_stars: Option<i32>,
    pub control_days: i32,
    #[serde(default)]
    pub working_days: bool,
}

impl ControlRuleInput {
    pub fn check(&self, v: &mut Violations) {
        v.check(!self.name.trim().is_empty(), "name", "укажите название правила");
        v.check(self.name.chars().count() <= 200, "name", "не длиннее 200 символов");
        v.check(
            self.min_debt.is_some() || self.min_days_overdue.is_some() || self.max_stars.is_some(),
            "min_debt",
            "укажите хотя бы одно условие: сумма долга, дни просрочки или рейтинг плательщика",
        );
        v.check(self.min_debt.is_none_or(|m| m.minor() > 0), "min_debt", "сумма долга больше нуля");
        v.check(self.min_days_overdue.is_none_or(|d| (1..=3650).contains(&d)), "min_days_overdue", "от 1 до 3650 дней");
        v.check(self.max_stars.is_none_or(|s| (1..=5).contains(&s)), "max_stars", "от 1 до 5 звёзд");
        v.check((1..=365).contains(&self.control_days), "control_days", "от 1 до 365 дней");
    }
}

/// Where a control is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = DebtControlStatus)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    /// The client matches the rule; the task (and maybe its escalation) is live.
    Open,
    /// The client no longer matches; `close_reason` says why.
    Closed,
}
str_enum!(ControlStatus { Open => "open", Closed => "closed" });

/// A control given to a client under a rule.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = DebtControl)]
pub struct Control {
    pub id: ControlId,
    pub rule_id: ControlRuleId,
    pub counterparty_id: CounterpartyId,
    pub status: ControlStatus,
    pub opened_on: NaiveDate,
    /// The manager's task must be done by this day, else the head gets a task.
    pub control_on: NaiveDate,
    pub task_id: Option<TaskId>,
    pub escalation_task_id: Option<TaskId>,
    pub escalated_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub close_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a run of the assistant did.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
#[schema(as = DebtControlReport)]
pub struct ControlReport {
    /// Control tasks given to managers.
    pub opened: i64,
    /// Escalation tasks given to heads.
    pub escalated: i64,
    /// Controls closed because the client no longer matches.
    pub closed: i64,
}

/// The rules a new tenant starts with: «Крупный долг» (500 000 ₽ and more) and «Долгая
/// просрочка» (30 days and more), each with a control date 3 working days on.
pub fn default_rules() -> Vec<ControlRuleInput> {
    let rule = |name: &str, position: i32, min_debt: Option<Money>, min_days: Option<i32>| ControlRuleInput {
        name: name.into(),
        active: true,
        position,
        min_debt,
        min_days_overdue: min_days,
        max_stars: None,
        control_days: 3,
        working_days: true,
    };
    vec![rule("Крупный долг", 0, Some(Money::from_minor(50_000_000)), None), rule("Долгая просрочка", 1, None, Some(30))]
}

// --- Store ----------------------------------------------------------------------------------

const RULE_COLS: &str = "id, name, active, position, min_debt, min_days_overdue, max_stars, control_days, working_days, created_at, updated_at";

pub async fn list_rules(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<ControlRule>> {
    let sql = format!("SELECT {RULE_COLS} FROM debt_control_rules WHERE tenant_id = $1 ORDER BY position, created_at, id");
    on_conn!(c, c => sqlx::query_as::<_, ControlRule>(&sql).bind(tenant).fetch_all(c).await)
}

pub async fn get_rule(c: &mut Conn<'_>, tenant: TenantId, id: ControlRuleId) -> sqlx::Result<Option<ControlRule>> {
    let sql = format!("SELECT {RULE_COLS} FROM debt_control_rules WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, ControlRule>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn insert_rule(c: &mut Conn<'_>, tenant: TenantId, id: ControlRuleId, r: &ControlRuleInput) -> sqlx::Result<ControlRule> {
    let sql = "INSERT INTO debt_control_rules (tenant_id, id, name, active, position, min_debt, min_days_overdue, max_stars, control_days, working_days, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)";
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(r.name.trim()).bind(r.active).bind(r.position).bind(r.min_debt).bind(r.min_days_overdue).bind(r.max_stars)
        .bind(r.control_days).bind(r.working_days).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    get_rule(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn update_rule(c: &mut Conn<'_>, tenant: TenantId, id: ControlRuleId, r: &ControlRuleInput) -> sqlx::Result<ControlRule> {
    let sql = "UPDATE debt_control_rules SET name = $3, active = $4, position = $5, min_debt = $6, min_days_overdue = $7, max_stars = $8, control_days = $9, \
               working_days = $10, updated_at = $11 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(id).bind(r.name.trim()).bind(r.active).bind(r.position).bind(r.min_debt).bind(r.min_days_overdue).bind(r.max_stars)
        .bind(r.control_days).bind(r.working_days).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    get_rule(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Deletes a rule and its controls (the tasks it gave stay with their assignees).
pub async fn delete_rule(c: &mut Conn<'_>, tenant: TenantId, id: ControlRuleId) -> sqlx::Result<()> {
    on_conn!(c, c => sqlx::query("DELETE FROM debt_control_tasks WHERE tenant_id = $1 AND rule_id = $2").bind(tenant).bind(id).execute(c).await.map(|_| ()))?;
    on_conn!(c, c => sqlx::query("DELETE FROM debt_control_rules WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).execute(c).await.map(|_| ()))
}

/// Seeds a new tenant's default rules.
pub async fn seed_defaults(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<()> {
    for r in default_rules() {
        insert_rule(c, tenant, ControlRuleId::new(), &r).await?;
    }
    Ok(())
}

const CONTROL_COLS: &str = "id, rule_id, counterparty_id, status, opened_on, control_on, task_id, escalation_task_id, escalated_on, closed_on, close_reason, created_at";

/// The tenant's open controls, or a client's controls (open and closed, the latest first).
pub async fn controls(c: &mut Conn<'_>, tenant: TenantId, client: Option<CounterpartyId>) -> sqlx::Result<Vec<Control>> {
    let sql = match client {
        None => format!("SELECT {CONTROL_COLS} FROM debt_control_tasks WHERE tenant_id = $1 AND status = 'open' AND $2 IS NULL ORDER BY id"),
        Some(_) => format!("SELECT {CONTROL_COLS} FROM debt_control_tasks WHERE tenant_id = $1 AND counterparty_id = $2 ORDER BY opened_on DESC, id DESC LIMIT 1000"),
    };
    on_conn!(c, c => sqlx::query_as::<_, Control>(&sql).bind(tenant).bind(client).fetch_all(c).await)
}

/// Takes the (rule, client) control for the day, before its task is made: `None` when an
/// open one exists (another run took it), so racing runs give one task.
async fn insert_control(c: &mut Conn<'_>, tenant: TenantId, rule: ControlRuleId, cp: CounterpartyId, day: NaiveDate, control_on: NaiveDate) -> sqlx::Result<Option<ControlId>> {
    let id = ControlId::new();
    let sql = "INSERT INTO debt_control_tasks (tenant_id, id, rule_id, counterparty_id, status, opened_on, control_on, created_at) \
               VALUES ($1, $2, $3, $4, 'open', $5, $6, $7) ON CONFLICT DO NOTHING";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(rule).bind(cp).bind(day).bind(control_on).bind(Utc::now())
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok((n > 0).then_some(id))
}

async fn set_task(c: &mut Conn<'_>, tenant: TenantId, id: ControlId, task: TaskId) -> sqlx::Result<()> {
    on_conn!(c, c => sqlx::query("UPDATE debt_control_tasks SET task_id = $3 WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).bind(task).execute(c).await.map(|_| ()))
}

async fn set_escalated(c: &mut Conn<'_>, tenant: TenantId, id: ControlId, task: TaskId, day: NaiveDate) -> sqlx::Result<()> {
    let sql = "UPDATE debt_control_tasks SET escalation_task_id = $3, escalated_on = $4 WHERE tenant_id = $1 AND id = $2 AND escalation_task_id IS NULL";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(task).bind(day).execute(c).await.map(|_| ()))
}

async fn set_closed(c: &mut Conn<'_>, tenant: TenantId, id: ControlId, day: NaiveDate, reason: &str) -> sqlx::Result<()> {
    let sql = "UPDATE debt_control_tasks SET status = 'closed', closed_on = $3, close_reason = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'open'";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(day).bind(reason).execute(c).await.map(|_| ()))
}

/// Closes a task that is still open as done (the debt it was about is paid).
async fn finish_task(c: &mut Conn<'_>, tenant: TenantId, id: TaskId, at: DateTime<Utc>) -> sqlx::Result<bool> {
    let sql = "UPDATE tasks SET status = 'done', completed_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND status IN ('open', 'in_progress')";
    let n = on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

async fn task_status(c: &mut Conn<'_>, tenant: TenantId, id: TaskId) -> sqlx::Result<Option<TaskStatus>> {
    on_conn!(c, c => sqlx::query_scalar("SELECT status FROM tasks WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).fetch_optional(c).await)
}

async fn departments_of(c: &mut Conn<'_>, tenant: TenantId, user: UserId) -> sqlx::Result<Vec<Department>> {
    let row: Option<Json<Vec<Department>>> = on_conn!(c, c => sqlx::query_scalar("SELECT departments FROM users WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(user).fetch_optional(c).await)?;
    Ok(row.map(|j| j.0).unwrap_or_default())
}

/// The head an escalation goes to, as approvals escalate: a head holding one of the
/// manager's department roles; else a head of no department (the general management); else
/// any head; else an admin. The first by id, so the choice is stable.
pub async fn head_of(c: &mut Conn<'_>, tenant: TenantId, manager: Option<UserId>) -> sqlx::Result<Option<UserId>> {
    let departments = match manager {
        Some(m) => departments_of(c, tenant, m).await?,
        None => Vec::new(),
    };
    let heads = crate::approvals::store::heads_with_departments(c, tenant).await?;
    let others = |id: &UserId| Some(*id) != manager;
    if let Some((id, _)) = heads.iter().find(|(id, d)| others(id) && d.iter().any(|x| departments.contains(x))) {
        return Ok(Some(*id));
    }
    if let Some((id, _)) = heads.iter().find(|(id, d)| others(id) && d.is_empty()) {
        return Ok(Some(*id));
    }
    Ok(crate::approvals::store::heads_or_admins(c, tenant).await?.into_iter().find(others))
}

// --- The daily run ---------------------------------------------------------------------------

/// What a rule looks at of a client.
#[derive(Debug, Clone)]
struct Figures {
    name: String,
    responsible: Option<UserId>,
    owed: Money,
    max_days_overdue: i64,
    stars: Option<i32>,
}

/// Whether the client matches the rule; `Ok` with the words for the task, `Err` with why not.
fn matches(rule: &ControlRule, f: &Figures) -> Result<String, String> {
    if f.owed.minor() <= 0 {
        return Err("долг оплачен".into());
    }
    let mut why = Vec::new();
    if let Some(min) = rule.min_debt {
        if f.owed < min {
            return Err(format!("долг {} руб. меньше порога {} руб.", f.owed, min));
        }
        why.push(format!("долг {} руб. (порог {} руб.)", f.owed, min));
    }
    if let Some(days) = rule.min_days_overdue {
        if f.max_days_overdue < i64::from(days) {
            return Err(if f.max_days_overdue > 0 { format!("просрочка {} дн. меньше {days} дн.", f.max_days_overdue) } else { "просроченных долгов нет".into() });
        }
        why.push(format!("просрочка {} дн. (порог {days} дн.)", f.max_days_overdue));
    }
    if let Some(k) = rule.max_stars {
        match f.stars {
            Some(s) if s <= k => why.push(format!("рейтинг плательщика {s} из 5 (порог {k})")),
            Some(s) => return Err(format!("рейтинг плательщика {s} выше {k}")),
            None => return Err("у клиента нет рейтинга плательщика".into()),
        }
    }
    Ok(why.join(", "))
}

/// The control date of a task given on `day`.
fn control_date(rule: &ControlRule, day: NaiveDate) -> NaiveDate {
    let n = u32::try_from(rule.control_days.max(1)).unwrap_or(1);
    if rule.working_days { crate::receivables::calendar::add_working_days(day, n) } else { day + Days::new(u64::from(n)) }
}

#[allow(clippy::too_many_arguments)]
async fn give_task(c: &mut Conn<'_>, tenant: TenantId, to: UserId, cp: CounterpartyId, title: &str, description: &str, due: DateTime<Utc>, now: DateTime<Utc>) -> anyhow::Result<TaskId> {
    let title: String = title.chars().take(200).collect();
    let row = crate::tasks::store::TaskRow {
        title: &title,
        description: Some(description),
        status: TaskStatus::Open,
        assignee_id: to,
        due_at: Some(due),
        requires_file: false,
        checklist: &[],
        counterparty_id: Some(cp),
        deal_id: None,
        sales_document_id: None,
        completed_at: None,
    };
    let t = crate::tasks::store::insert(c, tenant, to, &row).await?;
    event(c, tenant, "task", t.id.0, cp, format!("Задача «{title}»"), EventKind::TaskCreated, now).await?;
    Ok(t.id)
}

#[allow(clippy::too_many_arguments)]
async fn event(c: &mut Conn<'_>, tenant: TenantId, entity_type: &str, entity_id: uuid::Uuid, cp: CounterpartyId, summary: String, kind: EventKind, at: DateTime<Utc>) -> sqlx::Result<()> {
    timeline::record(c, tenant, NewEvent { kind, entity_type, entity_id, counterparty_id: Some(cp), deal_id: None, summary, actor_id: None, occurred_at: at }).await
}

/// Runs the assistant for `day`: closes the controls of clients that no longer match,
/// escalates tasks past their control date, gives new control tasks. Idempotent: a second
/// run of a day changes nothing.
pub async fn run(c: &mut Conn<'_>, tenant: TenantId, day: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<ControlReport> {
    let mut report = ControlReport::default();
    let rules: BTreeMap<ControlRuleId, ControlRule> = list_rules(c, tenant).await?.into_iter().map(|r| (r.id, r)).collect();
    let open = controls(c, tenant, None).await?;
    if rules.is_empty() && open.is_empty() {
        return Ok(report);
    }
    // Summed in the database: a million open documents are not carried into the host.
    let mut figures: HashMap<CounterpartyId, Figures> = HashMap::new();
    for d in super::store::client_debts(c, tenant).await? {
        let max_days_overdue = d.oldest_due.map_or(0, |due| (day - due).num_days().max(0));
        figures.insert(d.counterparty_id, Figures { name: d.name, responsible: d.responsible_id, owed: Money::from_minor(d.owed), max_days_overdue, stars: None });
    }
    let cps: Vec<CounterpartyId> = figures.keys().copied().collect();
    for (cp, r) in crate::receivables::store::ratings_of(c, tenant, &cps).await? {
        if let Some(f) = figures.get_mut(&cp) {
            f.stars = r.stars;
        }
    }
    let zone = super::law::zone(None, &super::store::tenant(c, tenant).await?.1);
    let mut live: HashSet<(ControlRuleId, CounterpartyId)> = HashSet::new();
    // Open controls: closed when the client no longer matches, escalated past the date.
    for ctl in open {
        let Some(rule) = rules.get(&ctl.rule_id) else { continue };
        let paid = Figures { name: String::new(), responsible: None, owed: Money::ZERO, max_days_overdue: 0, stars: None };
        let f = figures.get(&ctl.counterparty_id).unwrap_or(&paid);
        if let Err(why) = matches(rule, f) {
            set_closed(c, tenant, ctl.id, day, &why).await?;
            for t in ctl.task_id.into_iter().chain(ctl.escalation_task_id) {
                finish_task(c, tenant, t, now).await?;
            }
            report.closed += 1;
            let summary = format!("Контроль долга «{}» снят: {why}; задачи закрыты", rule.name);
            event(c, tenant, "debt_control", ctl.id.0, ctl.counterparty_id, summary, EventKind::Reminder, now).await?;
            continue;
        }
        live.insert((ctl.rule_id, ctl.counterparty_id));
        let Some(task_id) = ctl.task_id else { continue };
        if ctl.escalation_task_id.is_some() || day <= ctl.control_on {
            continue;
        }
        if task_status(c, tenant, task_id).await?.is_some_and(TaskStatus::is_closed) {
            continue;
        }
        let manager = crate::tasks::store::get(c, tenant, task_id).await?.map(|t| t.assignee_id);
        let Some(head) = head_of(c, tenant, manager).await? else { continue };
        let manager_name = match manager {
            Some(m) => crate::tenancy::store::get_user(c, tenant, m).await?.map(|u| u.full_name).unwrap_or_default(),
            None => String::new(),
        };
        let title = format!("Эскалация: контроль долга «{}» — {} не выполнил задачу к {}", rule.name, f.name, ctl.control_on.format("%d.%m.%Y"));
        let title = if manager_name.is_empty() { title } else { format!("{title} ({manager_name})") };
        let description = format!(
            "Задача менеджера по клиенту {} не выполнена к контрольной дате {}. {}. Проверьте работу с долгом.",
            f.name,
            ctl.control_on.format("%d.%m.%Y"),
            matches(rule, f).unwrap_or_default()
        );
        let due = super::planner::start_of(day + Days::new(1), zone);
        let task = give_task(c, tenant, head, ctl.counterparty_id, &title, &description, due, now).await?;
        set_escalated(c, tenant, ctl.id, task, day).await?;
        report.escalated += 1;
        let summary = format!("Контроль долга «{}»: задача не выполнена к {}, передано руководителю", rule.name, ctl.control_on.format("%d.%m.%Y"));
        event(c, tenant, "debt_control", ctl.id.0, ctl.counterparty_id, summary, EventKind::Reminder, now).await?;
    }
    // New controls.
    let mut clients: Vec<(&CounterpartyId, &Figures)> = figures.iter().collect();
    clients.sort_by_key(|(cp, _)| **cp);
    for rule in rules.values().filter(|r| r.active) {
        for (cp, f) in &clients {
            if live.contains(&(rule.id, **cp)) {
                continue;
            }
            let Ok(why) = matches(rule, f) else { continue };
            let assignee = match f.responsible {
                Some(u) => Some(u),
                None => super::store::first_admin(c, tenant).await?.map(|a| a.0),
            };
            let Some(assignee) = assignee else { continue };
            let control_on = control_date(rule, day);
            let title = format!("Контроль долга: {} — {}", f.name, rule.name);
            let description = format!(
                "Клиент попал под правило «{}»: {why}. Свяжитесь с клиентом и договоритесь об оплате до {}; не выполненная к этому дню задача передаётся руководителю.",
                rule.name,
                control_on.format("%d.%m.%Y")
            );
            let due = super::planner::start_of(control_on + Days::new(1), zone);
            let Some(id) = insert_control(c, tenant, rule.id, **cp, day, control_on).await? else { continue };
            let task = give_task(c, tenant, assignee, **cp, &title, &description, due, now).await?;
            set_task(c, tenant, id, task).await?;
            report.opened += 1;
            let summary = format!("Контроль долга «{}»: {why}; задача менеджеру до {}", rule.name, control_on.format("%d.%m.%Y"));
            event(c, tenant, "debt_control", id.0, **cp, summary, EventKind::Reminder, now).await?;
        }
    }
    Ok(report)
}
