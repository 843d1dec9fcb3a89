//! The jobs API: jobs (list, read, cancel) and each kind's schedule. The only place the
//! jobs domain's errors become problem documents.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, FieldError, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::audit::Actor;
use crate::tenancy::{Action, Caller};

use super::error::JobsError;
use super::model::{Job, JobId, JobStatus};
use super::runner::StopReason;
use super::service::{self, Cancelled, JobSchedule, ScheduleInput};
use super::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(cancel_job))
        .routes(routes!(list_schedules))
        .routes(routes!(get_schedule, put_schedule))
}

impl From<JobsError> for ApiError {
    fn from(e: JobsError) -> ApiError {
        match e {
            JobsError::UnknownKind { .. } => ApiError::field("kind", e.to_string()),
            JobsError::NotFound => ApiError::NotFound("job"),
            JobsError::Finished(_) | JobsError::AlreadyActive { .. } => {
                let detail = e.to_string();
                let mut chars = detail.chars();
                let detail = chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default();
                ApiError::Conflict { detail: format!("{detail}."), field: None }
            }
            JobsError::Schedule { field, error } => ApiError::field(field, error.to_string()),
            JobsError::TwoSchedules => ApiError::Validation(vec![
                FieldError::new("daily_at", "give either daily_at or cron, not both"),
                FieldError::new("cron", "give either daily_at or cron, not both"),
            ]),
            JobsError::NoDefaultSchedule(kind) => {
                ApiError::field("daily_at", format!("job kind `{kind}` has no default schedule: give daily_at or cron, or send enabled: false"))
            }
            JobsError::Db(e) => e.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// A job kind, e.g. `receivables.sync` (`GET /job-schedules` lists them).
    pub kind: Option<String>,
    pub status: Option<JobStatus>,
}

/// List background jobs (syncs and others), newest first.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobFilter, PageParams),
    responses((status = 200, body = Page<Job>), (status = 422, body = Problem)))]
pub(crate) async fn list_jobs(State(state): State<AppState>, caller: Caller, Query(f): Query<JobFilter>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<Job>>> {
    let limit = page.limit()?;
    let kind = match f.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(name) => Some(service::kind(&state.jobs, name)?.kind.clone()),
        None => None,
    };
    let mut c = state.db.read().await?;
    let rows = store::list(&mut c.conn(), caller.tenant_id, kind.as_ref(), f.status, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |j| j.id.0)))
}

/// A job: its status, progress as it runs, and its report when it has finished.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 404, body = Problem)))]
pub(crate) async fn get_job(State(state): State<AppState>, caller: Caller, Path(id): Path<JobId>) -> ApiResult<ApiJson<Job>> {
    let mut c = state.db.read().await?;
    let job = store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("job"))?;
    Ok(ApiJson(job))
}

/// Cancel a job (admins). A queued job is cancelled at once (`200`); a running one is
/// asked to stop at its next save point (`202`, `cancel_requested_at` set) and ends
/// `cancelled` within seconds, keeping what it had committed. Who cancelled is kept in
/// the job and the audit log. A job that has ended is a `409`.
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 202, body = Job), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn cancel_job(State(state): State<AppState>, caller: Caller, Path(id): Path<JobId>) -> ApiResult<(StatusCode, ApiJson<Job>)> {
    caller.ensure(Action::ManageJobs)?;
    let mut tx = state.db.begin().await?;
    let done = service::cancel(&mut tx.conn(), caller.tenant_id, id, &Actor::from(&caller)).await?;
    tx.commit().await?;
    Ok(match done {
        Cancelled::Now(job) => (StatusCode::OK, ApiJson(job)),
        Cancelled::Requested(job) => {
            // Running here: stop now. Running on another instance: its worker sees the
            // request at its next save point, or within a second while it waits.
            state.job_control.stop(job.id, StopReason::Cancelled);
            (StatusCode::ACCEPTED, ApiJson(job))
        }
    })
}

/// Every job kind with its schedule for your tenant: the kind's default or your own,
/// a local time or a cron expression in the tenant's time zone, and when it runs next.
#[utoipa::path(get, path = "/job-schedules", tag = "jobs", responses((status = 200, body = Vec<JobSchedule>)))]
async fn list_schedules(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<JobSchedule>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(service::schedules(&mut c.conn(), &state.jobs, caller.tenant_id, &caller.time_zone).await?))
}

/// One job kind's schedule for your tenant. An unknown kind is a `422` naming it.
#[utoipa::path(get, path = "/job-schedules/{kind}", tag = "jobs", params(("kind" = String, Path, description = "A job kind, e.g. receivables.sync")),
    responses((status = 200, body = JobSchedule), (status = 422, body = Problem)))]
async fn get_schedule(State(state): State<AppState>, caller: Caller, Path(kind): Path<String>) -> ApiResult<ApiJson<JobSchedule>> {
    let spec = service::kind(&state.jobs, &kind)?.clone();
    let mut c = state.db.read().await?;
    Ok(ApiJson(service::schedule(&mut c.conn(), &spec, caller.tenant_id, &caller.time_zone).await?))
}

/// Set a job kind's schedule for your tenant (admins): `{"enabled": true, "daily_at":
/// "06:30"}`, `{"enabled": true, "cron": "0 7 * * 1-5"}`, `{"enabled": true}` for the
/// kind's default, or `{"enabled": false}` for on demand only. Times are the tenant's
/// local time. A run missed while no host was up is queued once when one comes back.
#[utoipa::path(put, path = "/job-schedules/{kind}", tag = "jobs", request_body = ScheduleInput,
    params(("kind" = String, Path, description = "A job kind, e.g. receivables.sync")),
    responses((status = 200, body = JobSchedule), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_schedule(State(state): State<AppState>, caller: Caller, Path(kind): Path<String>, ApiJson(input): ApiJson<ScheduleInput>) -> ApiResult<ApiJson<JobSchedule>> {
    caller.ensure(Action::ManageJobs)?;
    let spec = service::kind(&state.jobs, &kind)?.clone();
    let mut tx = state.db.begin().await?;
    let saved = service::set_schedule(&mut tx.conn(), &spec, caller.tenant_id, &caller.time_zone, &Actor::from(&caller), &input).await?;
    tx.commit().await?;
    Ok(ApiJson(saved))
}
