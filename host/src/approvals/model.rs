//! Approval routes, their runs, steps, history and delegations.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::deals::DealId;
use crate::documents::DocumentId;
use crate::id_type;
use crate::legal_entities::LegalEntityId;
use crate::tenancy::model::str_enum;
use crate::tenancy::{Department, UserId};
use crate::validation::{Invalid, Violations};

id_type!(
    /// An approval route.
    RouteId
);
id_type!(
    /// One pass of a deal's document through a route.
    RunId
);
id_type!(
    /// A step of a run.
    StepId
);
id_type!(
    /// An approver's delegation to another user while away.
    DelegationId
);

/// How many of a step's approvers must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Quorum {
    /// Every user holding the department role.
    All,
    /// Any one of them.
    Any,
    /// `quorum_n` of them.
    N,
}

/// The Russian name of a department, as steps show it.
pub fn department_label(d: Department) -> &'static str {
    match d {
        Department::Legal => "Юридическая служба",
        Department::Security => "Служба безопасности",
        Department::Credit => "Кредитный отдел",
        Department::Risk => "Риск-менеджмент",
    }
}

/// A step of a route: who decides, how many must approve, what they attach, how long it may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    #[schema(example = "Служба безопасности")]
    pub name: String,
    /// The department role whose holders decide.
    pub department: Department,
    pub quorum: Quorum,
    /// For `quorum: n`: how many must approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_n: Option<i32>,
    /// The kind of document an approval needs attached to the deal (the service's
    /// conclusion, «Заключение СБ»); none: approving needs no document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Заключение СБ")]
    pub document_kind: Option<String>,
    /// Working days (by the Russian production calendar) to decide before the step is
    /// escalated to the head.
    #[schema(example = 2)]
    pub sla_days: i32,
    /// The step applies only to deals whose parameter has this value (the application's
    /// form depends on the factoring type: say, a debtor analysis for `without_recourse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<StepCondition>,
}

/// A condition on a deal parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepCondition {
    #[schema(example = "factoring_type")]
    pub field: String,
    #[schema(example = "without_recourse")]
    pub equals: String,
}

impl StepCondition {
    /// Whether the deal's parameters meet the condition.
    pub fn holds(&self, params: &serde_json::Map<String, serde_json::Value>) -> bool {
        params.get(&self.field).and_then(|v| v.as_str()) == Some(self.equals.as_str())
    }
}

/// A route as sent to create or replace it: groups run in sequence, the steps of one
/// group in parallel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteInput {
    /// What goes through the route (`application`, `draft_decision`): what stage gates name.
    #[schema(example = "application")]
    pub subject: String,
    #[schema(example = "Заявка в кредитный комитет")]
    pub name: String,
    /// A subject whose run must be approved before this route may start.
    #[serde(default)]
    pub after_subject: Option<String>,
    pub groups: Vec<Vec<StepDef>>,
}

impl RouteInput {
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut v = Violations::new();
        let key_ok = !self.subject.is_empty() && self.subject.len() <= 64 && self.subject.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        v.check(key_ok, "subject", "must be snake_case: a–z, 0–9, _");
        v.check(!self.name.trim().is_empty(), "name", "must not be empty");
        v.check(self.after_subject.as_deref() != Some(self.subject.as_str()), "after_subject", "must name another subject");
        v.check(!self.groups.is_empty(), "groups", "a route needs at least one group of steps");
        for (g, group) in self.groups.iter().enumerate() {
            v.check(!group.is_empty(), &format!("groups[{g}]"), "a group needs at least one step");
            for (i, s) in group.iter().enumerate() {
                let p = format!("groups[{g}][{i}]");
                v.check(!s.name.trim().is_empty(), &format!("{p}.name"), "must not be empty");
                v.check((0..=60).contains(&s.sla_days), &format!("{p}.sla_days"), "must be between 0 and 60 working days");
                match s.quorum {
                    Quorum::N => v.check(s.quorum_n.is_some_and(|n| n >= 1), &format!("{p}.quorum_n"), "quorum `n` needs quorum_n of 1 or more"),
                    _ => v.check(s.quorum_n.is_none(), &format!("{p}.quorum_n"), "only quorum `n` takes quorum_n"),
                }
                if let Some(k) = &s.document_kind {
                    v.check(!k.trim().is_empty(), &format!("{p}.document_kind"), "must not be empty (leave it out for none)");
                }
                if let Some(w) = &s.when {
                    v.check(!w.field.trim().is_empty() && !w.equals.trim().is_empty(), &format!("{p}.when"), "needs a field and the value it equals");
                }
            }
        }
        v.finish()
    }
}

/// A stored route.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Route {
    pub id: RouteId,
    pub subject: String,
    pub name: String,
    pub after_subject: Option<String>,
    #[schema(value_type = Vec<Vec<StepDef>>)]
    pub groups: Json<Vec<Vec<StepDef>>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    InProgress,
    Approved,
    /// A service rejected: the route ended at once.
    Rejected,
    /// A service sent it back for rework; resubmitting restarts from that step.
    Returned,
    Cancelled,
}
str_enum!(RunStatus { InProgress => "in_progress", Approved => "approved", Rejected => "rejected", Returned => "returned", Cancelled => "cancelled" });

impl RunStatus {
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::InProgress => "на согласовании",
            RunStatus::Approved => "согласовано",
            RunStatus::Rejected => "отклонено",
            RunStatus::Returned => "возвращено на доработку",
            RunStatus::Cancelled => "отменено",
        }
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Its group has not started yet.
    Pending,
    /// Waiting for its approvers.
    Active,
    Approved,
    Rejected,
    Returned,
    /// Ended without a decision (another step rejected or sent the run back).
    Cancelled,
}
str_enum!(StepStatus { Pending => "pending", Active => "active", Approved => "approved", Rejected => "rejected", Returned => "returned", Cancelled => "cancelled" });

impl StepStatus {
    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Pending => "ожидает очереди",
            StepStatus::Active => "на рассмотрении",
            StepStatus::Approved => "согласовано",
            StepStatus::Rejected => "отклонено",
            StepStatus::Returned => "возвращено",
            StepStatus::Cancelled => "отменено",
        }
    }
}

/// A step of a run.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Step {
    pub id: StepId,
    pub run_id: RunId,
    /// The group (0 = first); groups run in sequence.
    pub group_index: i32,
    pub step_index: i32,
    pub name: String,
    #[schema(value_type = Department)]
    #[sqlx(try_from = "String")]
    pub department: DepartmentText,
    /// Approvals needed (from the quorum and the approvers at activation).
    pub required: i32,
    /// Approvals so far in this round.
    pub approvals: i32,
    pub document_kind: Option<String>,
    pub sla_days: i32,
    pub status: StepStatus,
    /// 1 at the first activation; each resubmission after a return adds one.
    pub round: i32,
    pub activated_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A department stored as its text name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DepartmentText(pub Department);

impl TryFrom<String> for DepartmentText {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s)).map(DepartmentText).map_err(|e| e.to_string())
    }
}

pub fn department_key(d: Department) -> String {
    serde_json::to_value(d).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// What happened on a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Start,
    Approve,
    Reject,
    Return,
    Resubmit,
    Escalate,
    Cancel,
}
str_enum!(EventAction { Start => "start", Approve => "approve", Reject => "reject", Return => "return", Resubmit => "resubmit", Escalate => "escalate", Cancel => "cancel" });

impl EventAction {
    pub fn label(self) -> &'static str {
        match self {
            EventAction::Start => "Отправлено на согласование",
            EventAction::Approve => "Согласовано",
            EventAction::Reject => "Отклонено",
            EventAction::Return => "Возвращено на доработку",
            EventAction::Resubmit => "Отправлено повторно",
            EventAction::Escalate => "Просрочено, передано руководителю",
            EventAction::Cancel => "Отменено",
        }
    }
}

/// One entry of a run's history: who, when, what, with which remark and document.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Event {
    pub id: uuid::Uuid,
    pub step_id: Option<StepId>,
    pub round: i32,
    pub action: EventAction,
    pub user_id: Option<UserId>,
    /// The approver the user decided for (a delegation).
    pub on_behalf_of: Option<UserId>,
    pub remark: Option<String>,
    pub document_id: Option<DocumentId>,
    pub at: DateTime<Utc>,
}

/// A run as stored.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct RunRow {
    pub id: RunId,
    pub deal_id: DealId,
    pub route_id: RouteId,
    pub subject: String,
    pub name: String,
    pub status: RunStatus,
    pub started_by: UserId,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Which of our legal entities the document is for: only approvers serving it decide.
    pub legal_entity_id: Option<LegalEntityId>,
}

/// A run with its steps and its whole history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Run {
    #[serde(flatten)]
    pub run: RunRow,
    pub steps: Vec<Step>,
    pub history: Vec<Event>,
}

/// Starts a route on a deal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    #[schema(example = "application")]
    pub subject: String,
    /// Which of our legal entities the document is for (default: none in particular, so
    /// every holder of a step's department role may decide).
    #[serde(default)]
    pub legal_entity_id: Option<LegalEntityId>,
}

/// The legal entities an approver serves (none: every one).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproverScope {
    pub legal_entity_ids: Vec<LegalEntityId>,
}

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    /// Ends the route at once; the manager is told to put the deal on СТОП.
    Reject,
    /// Sends it back; the manager is told what to rework.
    Return,
}

/// A decision on a step.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: Decision,
    /// Required to reject or send back.
    #[serde(default)]
    pub remark: Option<String>,
    /// The conclusion attached to the deal (default: the latest document of the step's kind).
    #[serde(default)]
    pub document_id: Option<DocumentId>,
}

/// A step waiting for the caller (or for someone the caller stands in for).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxItem {
    pub step: Step,
    pub run_id: RunId,
    pub run_name: String,
    pub deal_id: DealId,
    pub deal_title: String,
    /// The approver the caller stands in for, when it is a delegation.
    pub on_behalf_of: Option<UserId>,
}

/// A delegation: `to_user_id` decides for `from_user_id` from `starts_on` to `ends_on`.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delegation {
    pub id: DelegationId,
    #[sqlx(rename = "from_user")]
    pub from_user_id: UserId,
    #[sqlx(rename = "to_user")]
    pub to_user_id: UserId,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// A delegation as sent to create it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationInput {
    /// Default: the caller.
    #[serde(default)]
    pub from_user_id: Option<UserId>,
    pub to_user_id: UserId,
    #[serde(deserialize_with = "crate::dates::strict")]
    #[schema(value_type = String, format = Date)]
    pub starts_on: NaiveDate,
    #[serde(deserialize_with = "crate::dates::strict")]
    #[schema(value_type = String, format = Date)]
    pub ends_on: NaiveDate,
}

/// The routes every tenant starts with (Russian names; the services of issue 16).
pub fn default_routes() -> Vec<RouteInput> {
    let step = |name: &str, department, quorum, document: Option<&str>| StepDef {
        name: name.into(),
        department,
        quorum,
        quorum_n: None,
        document_kind: document.map(str::to_owned),
        sla_days: 2,
        when: None,
    };
    vec![
        RouteInput {
            subject: "application".into(),
            name: "Заявка в кредитный комитет".into(),
            after_subject: None,
            groups: vec![
                vec![
                    step("Юридическая служба", Department::Legal, Quorum::Any, Some("Заключение юридической службы")),
                    step("Служба безопасности", Department::Security, Quorum::Any, Some("Заключение СБ")),
                ],
                vec![step("Кредитный отдел", Department::Credit, Quorum::Any, Some("Заключение кредитного отдела"))],
                vec![step("Риск-менеджмент", Department::Risk, Quorum::Any, Some("Заключение риск-менеджмента"))],
            ],
        },
        RouteInput {
            subject: "draft_decision".into(),
            name: "Проект решения".into(),
            after_subject: Some("application".into()),
            groups: vec![vec![
                step("Юридическая служба", Department::Legal, Quorum::Any, None),
                step("Служба безопасности", Department::Security, Quorum::Any, None),
                step("Кредитный отдел", Department::Credit, Quorum::Any, None),
                step("Риск-менеджмент", Department::Risk, Quorum::Any, None),
            ]],
        },
    ]
}
