//! Background jobs: the list, starting a 1C sync, and a job's page whose progress
//! refreshes itself until the job ends (the same job record as `GET /jobs/{id}`).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::PageParams;
use crate::jobs::JobId;

use super::auth::Viewer;
use super::clients::params;
use super::render::{PageResult, bare, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(list))
        .route("/jobs/sync", post(start_sync))
        .route("/jobs/{id}", get(job))
        .route("/jobs/{id}/progress", get(progress))
        .route("/jobs/{id}/cancel", post(cancel))
}

/// Russian names of the statuses and phases a job page shows.
fn status_label(s: &str) -> &'static str {
    match s {
        "queued" => "в очереди",
        "running" => "выполняется",
        "succeeded" => "завершено",
        "failed" => "ошибка",
        "cancelled" => "отменено",
        _ => "—",
    }
}

/// What users call a job kind: the title its domain registered.
fn kind_label(registry: &crate::jobs::Registry, k: &str) -> String {
    crate::jobs::service::kind(registry, k).map(|s| s.title.to_string()).unwrap_or_else(|_| k.into())
}

fn job_view(registry: &crate::jobs::Registry, j: &crate::jobs::model::Job) -> serde_json::Value {
    let mut v = serde_json::to_value(j).unwrap_or_default();
    v["status_label"] = status_label(j.status.as_str()).into();
    v["kind_label"] = kind_label(registry, j.kind.as_str()).into();
    v["finished"] = matches!(j.status.as_str(), "succeeded" | "failed" | "cancelled").into();
    v
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    refused: Option<String>,
}

async fn list(State(state): State<AppState>, viewer: Viewer, Query(q): Query<ListQuery>, Query(pg): Query<PageParams>) -> PageResult<Response> {
    let jobs = crate::jobs::routes::list_jobs(State(state.clone()), viewer.caller(), Query(params(&[])?), Query(pg)).await?.0;
    let rows: Vec<_> = jobs.items.iter().map(|j| job_view(&state.jobs, j)).collect();
    let next_url = jobs.next_cursor.map(|c| format!("/jobs?cursor={c}"));
    page(&viewer, "jobs.html", "Фоновые задания", "jobs", serde_json::json!({ "jobs": rows, "next_url": next_url, "refused": q.refused }))
}

#[derive(Deserialize, Default)]
struct SyncForm {
    #[serde(default)]
    full: Option<String>,
}

async fn start_sync(State(state): State<AppState>, viewer: Viewer, axum::Form(form): axum::Form<SyncForm>) -> PageResult<Response> {
    let req: crate::receivables::routes::SyncRequest = serde_json::from_value(serde_json::json!({ "full": form.full.is_some() })).map_err(|e| ApiError::Internal(e.into()))?;
    match crate::receivables::routes::start_sync(State(state), viewer.caller(), ApiJson(req)).await {
        Ok((_, ApiJson(job))) => Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response()),
        Err(ApiError::Conflict { detail, .. }) => {
            // Already running: show that one.
            let id = detail.split("job ").nth(1).and_then(|s| s.split(')').next()).unwrap_or("");
            Ok(Redirect::to(&if id.is_empty() { "/jobs".to_string() } else { format!("/jobs/{id}") }).into_response())
        }
        Err(ApiError::Validation(errs)) => {
            let text = errs.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ");
            Ok(Redirect::to(&format!("/jobs?refused={}", form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>())).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn job(State(state): State<AppState>, viewer: Viewer, Path(id): Path<JobId>) -> PageResult<Response> {
    let j = crate::jobs::routes::get_job(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let title = format!("{} — {}", kind_label(&state.jobs, j.kind.as_str()), status_label(j.status.as_str()));
    page(&viewer, "job.html", &title, "jobs", serde_json::json!({ "job": job_view(&state.jobs, &j) }))
}

/// The progress box alone, which the job page reloads every second while the job runs.
async fn progress(State(state): State<AppState>, viewer: Viewer, Path(id): Path<JobId>) -> PageResult<Response> {
    let j = crate::jobs::routes::get_job(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    bare("job_progress.html", serde_json::json!({ "job": job_view(&state.jobs, &j) }))
}

async fn cancel(State(state): State<AppState>, viewer: Viewer, Path(id): Path<JobId>) -> PageResult<Response> {
    crate::jobs::routes::cancel_job(State(state), viewer.caller(), Path(id)).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}
