//! Task queries, every one scoped by tenant.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::api::pagination::{like_pattern, search_key};
use crate::counterparties::CounterpartyId;
use crate::db::{Arg, Conn, Where, bind_args, on_conn};
use crate::deals::DealId;
use crate::receivables::model::SalesDocumentId;
use crate::tenancy::{TenantId, UserId};

use super::model::{ChecklistItem, Task, TaskId, TaskStatus};

const COLS: &str = "id, title, description, status, assignee_id, created_by, due_at, requires_file, checklist, counterparty_id, deal_id, \
    sales_document_id, completed_at, created_at, updated_at, archived_at";

/// The stored, editable fields of a task.
pub struct TaskRow<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub status: TaskStatus,
    pub assignee_id: UserId,
    pub due_at: Option<DateTime<Utc>>,
    pub requires_file: bool,
    pub checklist: &'a [ChecklistItem],
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub sales_document_id: Option<SalesDocumentId>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl<'a> TaskRow<'a> {
    /// The row for an input, with what the handler decided: status, assignee, resolved
    /// links and completion time.
    pub fn new(
        input: &'a super::model::TaskInput,
        status: TaskStatus,
        assignee_id: UserId,
        links: &crate::links::Links,
        completed_at: Option<DateTime<Utc>>,
    ) -> TaskRow<'a> {
        TaskRow {
            title: &input.title,
            description: input.description.as_deref(),
            status,
            assignee_id,
            due_at: input.due_at,
            requires_file: input.requires_file,
            checklist: &input.checklist,
            counterparty_id: links.counterparty_id,
            deal_id: links.deal_id,
            sales_document_id: links.sales_document_id,
            completed_at,
        }
    }
}

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, created_by: UserId, t: &TaskRow<'_>) -> sqlx::Result<Task> {
    let sql = format!(
        "INSERT INTO tasks (tenant_id, id, title, description, status, assignee_id, created_by, due_at, requires_file, checklist, \
         counterparty_id, deal_id, completed_at, search_key, created_at, updated_at, sales_document_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) RETURNING {COLS}"
    );
    let checklist = Json(t.checklist.to_vec());
    on_conn!(c, c => sqlx::query_as::<_, Task>(&sql)
        .bind(tenant).bind(TaskId::new()).bind(t.title).bind(t.description).bind(t.status).bind(t.assignee_id).bind(created_by)
        .bind(t.due_at).bind(t.requires_file).bind(&checklist).bind(t.counterparty_id).bind(t.deal_id).bind(t.completed_at)
        .bind(search_key(&[Some(t.title)])).bind(Utc::now()).bind(t.sales_document_id)
        .fetch_one(c).await)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: TaskId, t: &TaskRow<'_>) -> sqlx::Result<Task> {
    let sql = format!(
        "UPDATE tasks SET title = $3, description = $4, status = $5, assignee_id = $6, due_at = $7, requires_file = $8, checklist = $9, \
         counterparty_id = $10, deal_id = $11, completed_at = $12, search_key = $13, updated_at = $14, sales_document_id = $15 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    let checklist = Json(t.checklist.to_vec());
    on_conn!(c, c => sqlx::query_as::<_, Task>(&sql)
        .bind(tenant).bind(id).bind(t.title).bind(t.description).bind(t.status).bind(t.assignee_id).bind(t.due_at)
        .bind(t.requires_file).bind(&checklist).bind(t.counterparty_id).bind(t.deal_id).bind(t.completed_at)
        .bind(search_key(&[Some(t.title)])).bind(Utc::now()).bind(t.sales_document_id)
        .fetch_one(c).await)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: TaskId, at: Option<DateTime<Utc>>) -> sqlx::Result<Task> {
    let sql = format!("UPDATE tasks SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}");
    on_conn!(c, c => sqlx::query_as::<_, Task>(&sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).fetch_one(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: TaskId) -> sqlx::Result<Option<Task>> {
    let sql = format!("SELECT {COLS} FROM tasks WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Task>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn exists(c: &mut Conn<'_>, tenant: TenantId, id: TaskId) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM tasks WHERE tenant_id = $1 AND id = $2 AND archived_at IS NULL";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Live documents attached to the task.
pub async fn attached_files(c: &mut Conn<'_>, tenant: TenantId, id: TaskId) -> sqlx::Result<i64> {
    let sql = "SELECT COUNT(*) FROM documents WHERE tenant_id = $1 AND task_id = $2 AND archived_at IS NULL";
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_one(c).await)
}

#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub q: Option<&'a str>,
    pub assignee_id: Option<UserId>,
    pub status: Option<TaskStatus>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub sales_document_id: Option<SalesDocumentId>,
    /// Only open tasks whose due time has passed.
    pub overdue_at: Option<DateTime<Utc>>,
    pub include_archived: bool,
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, f: &Filter<'_>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Task>> {
    let mut w = Where::new("tenant_id = $?", Arg::Uuid(tenant.0));
    w.and("id < $?", Arg::Uuid(after))
        .and_opt("search_key LIKE $? ESCAPE '\\'", f.q.map(like_pattern), Arg::Text)
        .and_opt("assignee_id = $?", f.assignee_id, |v| Arg::Uuid(v.0))
        .and_opt("status = $?", f.status, |v| Arg::Text(v.as_str().into()))
        .and_opt("counterparty_id = $?", f.counterparty_id, |v| Arg::Uuid(v.0))
        .and_opt("deal_id = $?", f.deal_id, |v| Arg::Uuid(v.0))
        .and_opt("due_at < $? AND status IN ('open', 'in_progress')", f.overdue_at, Arg::Time)
        .and_opt("sales_document_id = $?", f.sales_document_id, |v| Arg::Uuid(v.0));
    if !f.include_archived {
        w.and_sql("archived_at IS NULL");
    }
    let sql = format!("SELECT {COLS} FROM tasks WHERE {} ORDER BY id DESC LIMIT ${}", w.sql, w.next());
    on_conn!(c, c => bind_args!(sqlx::query_as::<_, Task>(&sql), &w.args).bind(i64::from(limit) + 1).fetch_all(c).await)
}
