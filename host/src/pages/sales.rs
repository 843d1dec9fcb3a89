//! «Аналитика продаж»: a pipeline's forecast by month and by manager, the funnel with
//! stuck deals, and this month's plans — the sales-analytics API's answers as a page.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::AppState;
use crate::api::extract::{Path, Query};
use crate::deals::PipelineId;
use crate::sales::routes as api;

use super::auth::Viewer;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new().route("/deals/analytics", get(analytics))
}

#[derive(Deserialize, Default)]
struct AnalyticsQuery {
    #[serde(default)]
    pipeline: Option<PipelineId>,
    #[serde(default)]
    month: Option<String>,
}

async fn analytics(State(state): State<AppState>, viewer: Viewer, Query(q): Query<AnalyticsQuery>) -> PageResult<Response> {
    let caller = viewer.caller();
    let all = super::deals::pipelines(&state, &viewer).await?;
    let pipeline = super::deals::choose(&all, q.pipeline)?;
    let forecast = api::get_forecast(State(state.clone()), caller.clone(), Path(pipeline.id)).await?.0;
    let funnel = api::get_funnel(State(state.clone()), caller.clone(), Path(pipeline.id)).await?.0;
    let plans = api::list_plans(State(state.clone()), caller, Query(api::PlanQuery { month: q.month.filter(|m| !m.is_empty()) })).await?.0;
    let names = super::clients::users(&state, &viewer).await?;
    let stuck: Vec<_> = funnel
        .stuck
        .iter()
        .map(|d| {
            let stage = pipeline.stages.iter().find(|s| s.id == d.stage_id).map(|s| s.name.clone());
            let who = names.iter().find(|u| u.id == d.responsible_id).map(|u| u.full_name.clone());
            serde_json::json!({ "d": d, "stage": stage, "who": who })
        })
        .collect();
    page(
        &viewer,
        "sales.html",
        "Аналитика продаж",
        "deals",
        serde_json::json!({ "pipelines": all, "pipeline": pipeline, "forecast": forecast, "funnel": funnel, "stuck": stuck, "plans": plans }),
    )
}
