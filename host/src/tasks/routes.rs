use axum::extract::State;
use crate::api::extract::{Path, Query};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::json::{ApiJson, apply_patch};
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::db::Conn;
use crate::deals::DealId;
use crate::receivables::model::SalesDocumentId;
use crate::tenancy::service::ensure_user;
use crate::tenancy::{Action, Caller, UserId};
use crate::timeline::{self, EventKind, NewEvent};

use super::model::{Task, TaskId, TaskInput, TaskStatus};
use super::store::{self, TaskRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, update_task))
        .routes(routes!(complete_task))
        .routes(routes!(cancel_task))
        .routes(routes!(reopen_task))
        .routes(routes!(archive_task))
        .routes(routes!(restore_task))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Search in the title.
    pub q: Option<String>,
    pub assignee_id: Option<UserId>,
    pub status: Option<TaskStatus>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    /// Tasks about this debt (sales document).
    pub sales_document_id: Option<SalesDocumentId>,
    /// Only open tasks past their due time.
    #[serde(default)]
    pub overdue: bool,
    #[serde(default)]
    pub include_archived: bool,
}

/// List tasks, newest first.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(TaskFilter, PageParams), responses((status = 200, body = Page<Task>)))]
pub(crate) async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<TaskFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<Task>>> {
    let limit = page.limit()?;
    let filter = store::Filter {
        q: f.q.as_deref().filter(|q| !q.trim().is_empty()),
        assignee_id: f.assignee_id,
        status: f.status,
        counterparty_id: f.counterparty_id,
        deal_id: f.deal_id,
        sales_document_id: f.sales_document_id,
        overdue_at: f.overdue.then(Utc::now),
        include_archived: f.include_archived,
    };
    let mut c = state.db.read().await?;
    let rows = store::list(&mut c.conn(), caller.tenant_id, &filter, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |t| t.id.0)))
}

/// The rule of `requires_file`: a task that needs a file cannot be done without one.
async fn ensure_can_finish(c: &mut Conn<'_>, caller: &Caller, task: TaskId, requires_file: bool) -> ApiResult<()> {
    if requires_file && store::attached_files(c, caller.tenant_id, task).await? == 0 {
        return Err(ApiError::field(
            "status",
            format!(
                "this task needs an attached file before it can be closed: upload one with POST /api/v1/documents \
                 (multipart, task_id={task}), then complete the task"
            ),
        ));
    }
    Ok(())
}

fn status_event(status: TaskStatus) -> Option<EventKind> {
    match status {
        TaskStatus::Done => Some(EventKind::TaskCompleted),
        TaskStatus::Cancelled => Some(EventKind::TaskCancelled),
        _ => None,
    }
}

async fn task_event(c: &mut Conn<'_>, caller: &Caller, t: &Task, kind: EventKind) -> ApiResult<()> {
    let verb = match kind {
        EventKind::TaskCreated => "Задача поставлена",
        EventKind::TaskCompleted => "Задача выполнена",
        _ => "Задача отменена",
    };
    timeline::record(c, caller.tenant_id, NewEvent {
        kind,
        entity_type: "task",
        entity_id: t.id.0,
        counterparty_id: t.counterparty_id,
        deal_id: t.deal_id,
        summary: format!("{verb}: {}", t.title),
        actor_id: Some(caller.user_id),
        occurred_at: Utc::now(),
    })
    .await?;
    Ok(())
}

/// Create a task.
#[utoipa::path(post, path = "/tasks", tag = "tasks", request_body = TaskInput,
    responses((status = 201, body = Task), (status = 422, body = Problem)))]
async fn create_task(State(state): State<AppState>, caller: Caller, ApiJson(mut input): ApiJson<TaskInput>) -> ApiResult<(StatusCode, ApiJson<Task>)> {
    caller.ensure(Action::WriteCrm)?;
    input.validate()?;
    let status = input.status.unwrap_or(TaskStatus::Open);
    if status.is_closed() {
        return Err(ApiError::field("status", "a new task is open or in_progress"));
    }
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let links = crate::links::resolve(&mut c, caller.tenant_id, input.links()).await?;
    let assignee = input.assignee_id.unwrap_or(caller.user_id);
    ensure_user(&mut c, caller.tenant_id, "assignee_id", assignee).await?;
    let row = TaskRow::new(&input, status, assignee, &links, None);
    let task = store::insert(&mut c, caller.tenant_id, caller.user_id, &row).await?;
    task_event(&mut c, &caller, &task, EventKind::TaskCreated).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "task", task.id.0, AuditAction::Create, None, &task).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(task)))
}

/// Read a task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks", params(("id" = TaskId, Path)),
    responses((status = 200, body = Task), (status = 404, body = Problem)))]
pub(crate) async fn get_task(State(state): State<AppState>, caller: Caller, Path(id): Path<TaskId>) -> ApiResult<ApiJson<Task>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("task"))?))
}

/// Applies a complete change to a task: checks, the write, timeline and audit.
async fn save(c: &mut Conn<'_>, caller: &Caller, before: &Task, mut input: TaskInput) -> ApiResult<Task> {
    caller.ensure_owns(&[Some(before.assignee_id), Some(before.created_by)], "task")?;
    input.validate()?;
    let status = input.status.unwrap_or(before.status);
    // Links are checked when they change, so a task on a since-archived deal can still be closed.
    let links = if (input.counterparty_id, input.deal_id, input.sales_document_id) == (before.counterparty_id, before.deal_id, before.sales_document_id) {
        input.links()
    } else {
        crate::links::resolve(c, caller.tenant_id, input.links()).await?
    };
    let assignee = input.assignee_id.unwrap_or(before.assignee_id);
    if assignee != before.assignee_id {
        ensure_user(c, caller.tenant_id, "assignee_id", assignee).await?;
    }
    if status == TaskStatus::Done && before.status != TaskStatus::Done {
        ensure_can_finish(c, caller, before.id, input.requires_file).await?;
    }
    let completed_at = match (status.is_closed(), before.completed_at) {
        (true, Some(at)) if before.status == status => Some(at),
        (true, _) => Some(Utc::now()),
        (false, _) => None,
    };
    let row = TaskRow::new(&input, status, assignee, &links, completed_at);
    let after = store::update(c, caller.tenant_id, before.id, &row).await?;
    if status != before.status
        && let Some(kind) = status_event(status) {
            task_event(c, caller, &after, kind).await?;
        }
    audit::record(c, caller.tenant_id, &Actor::from(caller), "task", before.id.0, AuditAction::Update, Some(before), &after).await?;
    Ok(after)
}

/// Change a task (JSON merge patch). Setting `status` to `done` follows the
/// `requires_file` rule.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "tasks", params(("id" = TaskId, Path)),
    request_body(content = TaskInput, content_type = "application/merge-patch+json", description = "Fields to change"),
    responses((status = 200, body = Task), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_task(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<TaskId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<Task>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("task"))?;
    let input: TaskInput = apply_patch(&TaskInput::from(&before), &patch)?;
    let after = save(&mut c, &caller, &before, input).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

async fn set_status(state: AppState, caller: Caller, id: TaskId, status: TaskStatus) -> ApiResult<ApiJson<Task>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("task"))?;
    caller.ensure_owns(&[Some(before.assignee_id), Some(before.created_by)], "task")?;
    if before.status == status {
        return Ok(ApiJson(before));
    }
    let mut input = TaskInput::from(&before);
    input.status = Some(status);
    let after = save(&mut c, &caller, &before, input).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Close a task as done. A task with `requires_file` is refused until a file is attached.
#[utoipa::path(post, path = "/tasks/{id}/complete", tag = "tasks", params(("id" = TaskId, Path)),
    responses((status = 200, body = Task), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn complete_task(State(state): State<AppState>, caller: Caller, Path(id): Path<TaskId>) -> ApiResult<ApiJson<Task>> {
    set_status(state, caller, id, TaskStatus::Done).await
}

/// Cancel a task.
#[utoipa::path(post, path = "/tasks/{id}/cancel", tag = "tasks", params(("id" = TaskId, Path)),
    responses((status = 200, body = Task), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn cancel_task(State(state): State<AppState>, caller: Caller, Path(id): Path<TaskId>) -> ApiResult<ApiJson<Task>> {
    set_status(state, caller, id, TaskStatus::Cancelled).await
}

/// Reopen a done or cancelled task.
#[utoipa::path(post, path = "/tasks/{id}/reopen", tag = "tasks", params(("id" = TaskId, Path)),
    responses((status = 200, body = Task), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reopen_task(State(state): State<AppState>, caller: Caller, Path(id): Path<TaskId>) -> ApiResult<ApiJson<Task>> {
    set_status(state, caller, id, TaskStatus::Open).await
}

/// Archive a task (undo with `restore`).
#[utoipa::path(post, path = "/tasks/{id}/archive", tag = "tasks", params(("id" = TaskId, Path)),
    responses((status = 200, body = Task), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_task(State(state): State<AppState>, caller: Caller, Path(id): Path<TaskId>) -> ApiResult<ApiJson<Task>> {
    set_archived(state, caller, id, true).await
}

/// Restore an archived task.
#[utoipa::path(post, path = "/tasks/{id}/restore", tag = "tasks", params(("id" = TaskId, Path)),
    responses((status = 200, body = Task), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn restore_task(State(state): State<AppState>, caller: Caller, Path(id): Path<TaskId>) -> ApiResult<ApiJson<Task>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: TaskId, archive: bool) -> ApiResult<ApiJson<Task>> {
    let mut tx = state.db.begin().await?;
    let before = store::get(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("task"))?;
    caller.ensure_owns(&[Some(before.assignee_id), Some(before.created_by)], "task")?;
    if before.archived_at.is_some() == archive {
        return Ok(ApiJson(before));
    }
    let after = store::set_archived(&mut tx.conn(), caller.tenant_id, id, archive.then(Utc::now)).await?;
    let action = if archive { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "task", id.0, action, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
