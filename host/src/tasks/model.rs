use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::counterparties::CounterpartyId;
use crate::deals::DealId;
use crate::receivables::model::SalesDocumentId;
use crate::id_type;
use crate::tenancy::UserId;
use crate::tenancy::model::str_enum;

id_type!(
    /// A task.
    TaskId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
    Cancelled,
}
str_enum!(TaskStatus { Open => "open", InProgress => "in_progress", Done => "done", Cancelled => "cancelled" });

impl TaskStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Cancelled)
    }
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    #[schema(example = "Запросить выписку по счёту")]
    pub text: String,
    #[serde(default)]
    pub done: bool,
}

/// A task.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    pub description: Option<String>,
    pub status: TaskStatus,
    pub assignee_id: UserId,
    pub created_by: UserId,
    pub due_at: Option<DateTime<Utc>>,
    /// The task cannot be closed as done until a file is attached to it.
    pub requires_file: bool,
    #[schema(value_type = Vec<ChecklistItem>)]
    pub checklist: Json<Vec<ChecklistItem>>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    /// The debt (sales document) the task is about.
    pub sales_document_id: Option<SalesDocumentId>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A task as sent to create it, or as a PATCH merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    #[schema(example = "Позвонить должнику")]
    pub title: String,
    pub description: Option<String>,
    /// Default: open. Closing as `done` follows the same rule as `POST /tasks/{id}/complete`.
    pub status: Option<TaskStatus>,
    /// Default: the caller.
    pub assignee_id: Option<UserId>,
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub requires_file: bool,
    #[serde(default)]
    pub checklist: Vec<ChecklistItem>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    /// The debt (sales document) the task is about; implies its counterparty.
    pub sales_document_id: Option<SalesDocumentId>,
}

impl TaskInput {
    pub fn validate(&mut self) -> Result<(), Invalid> {
        self.title = self.title.trim().to_string();
        let mut v = Violations::new();
        v.check(!self.title.is_empty(), "title", "must not be empty");
        for (i, item) in self.checklist.iter_mut().enumerate() {
            item.text = item.text.trim().to_string();
            v.check(!item.text.is_empty(), &format!("checklist[{i}].text"), "must not be empty");
        }
        v.check(self.checklist.len() <= 100, "checklist", "at most 100 items");
        v.finish()
    }

    pub fn links(&self) -> crate::links::Links {
        crate::links::Links { counterparty_id: self.counterparty_id, deal_id: self.deal_id, sales_document_id: self.sales_document_id, ..Default::default() }
    }
}

impl From<&Task> for TaskInput {
    fn from(t: &Task) -> Self {
        TaskInput {
            title: t.title.clone(),
            description: t.description.clone(),
            status: Some(t.status),
            assignee_id: Some(t.assignee_id),
            due_at: t.due_at,
            requires_file: t.requires_file,
            checklist: t.checklist.0.clone(),
            counterparty_id: t.counterparty_id,
            deal_id: t.deal_id,
            sales_document_id: t.sales_document_id,
        }
    }
}
