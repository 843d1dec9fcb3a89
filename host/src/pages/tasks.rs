//! The task inbox: the user's open tasks, overdue first, closed from the page — with the
//! file a task demands attached in the same form (uploaded and checked by the same
//! handlers as `POST /documents` and `POST /tasks/{id}/complete`).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::tasks::{Task, TaskId};

use super::auth::Viewer;
use super::clients::{params, users};
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(inbox))
        .route("/tasks/{id}/complete", post(complete).layer(DefaultBodyLimit::disable()))
}

#[derive(Deserialize, Default)]
struct InboxQuery {
    /// `all` shows everyone's tasks (heads and admins).
    #[serde(default)]
    who: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    refused: Option<String>,
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    task: Task,
    overdue: bool,
    assignee: Option<String>,
}

async fn inbox(State(state): State<AppState>, viewer: Viewer, Query(q): Query<InboxQuery>) -> PageResult<Response> {
    let c = viewer.caller();
    let everyone = q.who.as_deref() == Some("all") && c.is_lead();
    let mut filter = vec![("limit", "500".to_string())];
    if !everyone {
        filter.push(("assignee_id", c.user_id.to_string()));
    }
    let mut tasks = Vec::new();
    for status in ["open", "in_progress"] {
        let mut f = filter.clone();
        f.push(("status", status.into()));
        let (f, pg): (Vec<_>, Vec<_>) = f.into_iter().partition(|(k, _)| *k != "limit");
        let list = crate::tasks::routes::list_tasks(State(state.clone()), c.clone(), Query(params(&f)?), Query(params(&pg)?)).await?.0;
        tasks.extend(list.items);
    }
    let now = chrono::Utc::now();
    // Overdue first (oldest due first), then by due time, tasks without a due time last.
    tasks.sort_by_key(|t| (t.due_at.is_none_or(|d| d >= now), t.due_at.is_none(), t.due_at, t.id));
    let users = users(&state, &viewer).await?;
    let rows: Vec<Row> = tasks
        .into_iter()
        .map(|t| Row {
            overdue: t.due_at.is_some_and(|d| d < now),
            assignee: users.iter().find(|u| u.id == t.assignee_id).map(|u| u.full_name.clone()),
            task: t,
        })
        .collect();
    let overdue = rows.iter().filter(|r| r.overdue).count();
    page(
        &viewer,
        "tasks.html",
        "Задачи",
        "tasks",
        serde_json::json!({ "rows": rows, "overdue": overdue, "everyone": everyone, "done": q.done, "refused": q.refused }),
    )
}

/// Closes a task; a multipart form first attaches its file to the task.
async fn complete(State(state): State<AppState>, viewer: Viewer, Path(id): Path<TaskId>, req: Request) -> PageResult<Response> {
    let caller = viewer.caller();
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if multipart {
        let form = <crate::api::multipart::Multipart as axum::extract::FromRequest<AppState>>::from_request(req, &state).await?;
        // The form carries `task_id`, `kind` and `file`, as the API's upload does; an empty
        // file input means no file was chosen.
        match crate::documents::routes::upload_document(State(state.clone()), caller.clone(), form).await {
            Ok(_) => {}
            Err(ApiError::Validation(errs)) if errs.iter().any(|e| e.field == "file") => {
                return Ok(Redirect::to(&format!("/tasks?refused={id}#task-{id}")).into_response());
            }
            Err(e) => return Err(e.into()),
        }
    }
    match crate::tasks::routes::complete_task(State(state), caller, Path(id)).await {
        Ok(_) => Ok(Redirect::to(&format!("/tasks?done={id}")).into_response()),
        Err(ApiError::Validation(_)) => Ok(Redirect::to(&format!("/tasks?refused={id}#task-{id}")).into_response()),
        Err(e) => Err(e.into()),
    }
}
