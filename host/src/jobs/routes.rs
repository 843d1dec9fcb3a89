use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::tenancy::Caller;

use super::model::{Job, JobId, JobKind, JobStatus};
use super::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_jobs)).routes(routes!(get_job))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    pub kind: Option<JobKind>,
    pub status: Option<JobStatus>,
}

/// List background jobs (syncs), newest first.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobFilter, PageParams),
    responses((status = 200, body = Page<Job>), (status = 422, body = Problem)))]
async fn list_jobs(State(state): State<AppState>, caller: Caller, Query(f): Query<JobFilter>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<Job>>> {
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = store::list(&mut c.conn(), caller.tenant_id, f.kind, f.status, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |j| j.id.0)))
}

/// A job: its status, progress as it runs, and its report when it has finished.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 404, body = Problem)))]
async fn get_job(State(state): State<AppState>, caller: Caller, Path(id): Path<JobId>) -> ApiResult<ApiJson<Job>> {
    let mut c = state.db.read().await?;
    let job = store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("job"))?;
    Ok(ApiJson(job))
}
