//! The sales-analytics API: a pipeline's forecast and funnel, stage norms, and the
//! managers' monthly plans with their fulfilment.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, AuditAction};
use crate::deals::pipelines::{self, Pipeline};
use crate::deals::{PipelineId, StageId};
use crate::money::Money;
use crate::tenancy::{Caller, UserId};

use super::funnel::funnel;
use super::model::{Forecast, ForecastLine, Funnel, ManagerForecast, MonthForecast, PlanFulfilment, PlanInput, StageNorm};
use super::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_forecast))
        .routes(routes!(get_funnel))
        .routes(routes!(put_norms))
        .routes(routes!(list_plans))
        .routes(routes!(put_plan))
}

async fn pipeline(state: &AppState, caller: &Caller, id: PipelineId) -> ApiResult<Pipeline> {
    let mut c = state.db.read().await?;
    pipelines::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("pipeline"))
}

async fn names(state: &AppState, caller: &Caller) -> ApiResult<HashMap<UserId, String>> {
    let mut c = state.db.read().await?;
    let users = crate::tenancy::store::list_users(&mut c.conn(), caller.tenant_id, uuid::Uuid::max(), 10_000, true).await?;
    Ok(users.into_iter().map(|u| (u.id, u.full_name)).collect())
}

/// Kopecks × percent ÷ 100, rounded half up (kopecks stay exact).
fn weighted(kopecks: i64, percent: i32) -> i64 {
    let v = i128::from(kopecks) * i128::from(percent);
    i64::try_from((v + 50).div_euclid(100)).unwrap_or(i64::MAX)
}

fn add(line: &mut ForecastLine, deals: i64, amount: i64, weighted: i64) {
    line.deals += deals;
    line.amount = Money::from_minor(line.amount.minor() + amount);
    line.weighted = Money::from_minor(line.weighted.minor() + weighted);
}

/// The forecast of a pipeline's open deals by month of the expected close date and by
/// manager: amounts as they are and weighted by each stage's win probability.
#[utoipa::path(get, path = "/pipelines/{id}/forecast", tag = "pipelines", params(("id" = PipelineId, Path)),
    responses((status = 200, body = Forecast), (status = 404, body = Problem)))]
pub(crate) async fn get_forecast(State(state): State<AppState>, caller: Caller, Path(id): Path<PipelineId>) -> ApiResult<ApiJson<Forecast>> {
    let p = pipeline(&state, &caller, id).await?;
    let groups = {
        let mut c = state.db.read().await?;
        store::open_groups(&mut c.conn(), caller.tenant_id, id).await?
    };
    let prob: HashMap<StageId, i32> = p.stages.iter().map(|s| (s.id, s.win_probability)).collect();
    let mut months: BTreeMap<Option<String>, ForecastLine> = BTreeMap::new();
    let mut managers: HashMap<UserId, ForecastLine> = HashMap::new();
    let mut total = ForecastLine::default();
    for (month, who, stage, deals, amount) in groups {
        let w = weighted(amount, prob.get(&stage).copied().unwrap_or(0));
        add(months.entry(month).or_default(), deals, amount, w);
        add(managers.entry(who).or_default(), deals, amount, w);
        add(&mut total, deals, amount, w);
    }
    let names = names(&state, &caller).await?;
    let mut by_manager: Vec<ManagerForecast> =
        managers.into_iter().map(|(u, line)| ManagerForecast { user_id: u, name: names.get(&u).cloned().unwrap_or_default(), line }).collect();
    by_manager.sort_by(|a, b| b.line.weighted.cmp(&a.line.weighted).then(a.name.cmp(&b.name)));
    // Months in order, deals without a date last.
    let mut by_month: Vec<MonthForecast> = months.into_iter().map(|(month, line)| MonthForecast { month, line }).collect();
    by_month.sort_by_key(|m| (m.month.is_none(), m.month.clone()));
    Ok(ApiJson(Forecast { by_month, by_manager, total }))
}

/// The funnel of a pipeline: deals that reached each stage and the share that went on,
/// the median days at each stage, deals there now and those stuck past the stage's norm.
#[utoipa::path(get, path = "/pipelines/{id}/funnel", tag = "pipelines", params(("id" = PipelineId, Path)),
    responses((status = 200, body = Funnel), (status = 404, body = Problem)))]
pub(crate) async fn get_funnel(State(state): State<AppState>, caller: Caller, Path(id): Path<PipelineId>) -> ApiResult<ApiJson<Funnel>> {
    let p = pipeline(&state, &caller, id).await?;
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    let history = store::history(&mut c, caller.tenant_id, id).await?;
    let current = store::current(&mut c, caller.tenant_id, id).await?;
    let norms: HashMap<StageId, i32> = store::norms(&mut c, caller.tenant_id).await?.into_iter().collect();
    let (stages, stuck) = funnel(&p.stages, &history, &current, &norms, Utc::now());
    Ok(ApiJson(Funnel { stages, stuck }))
}

/// Set how many days a deal may stay at each stage before it counts as stuck (heads and
/// admins); `norm_days: null` removes a stage's norm.
#[utoipa::path(put, path = "/pipelines/{id}/stage-norms", tag = "pipelines", params(("id" = PipelineId, Path)), request_body = Vec<StageNorm>,
    responses((status = 200, body = Funnel), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_norms(State(state): State<AppState>, caller: Caller, Path(id): Path<PipelineId>, ApiJson(norms): ApiJson<Vec<StageNorm>>) -> ApiResult<ApiJson<Funnel>> {
    if !caller.is_lead() {
        return Err(ApiError::Forbidden("Only heads and admins set stage norms.".into()));
    }
    let p = pipeline(&state, &caller, id).await?;
    let mut v = crate::validation::Violations::new();
    for (i, n) in norms.iter().enumerate() {
        v.check(p.stages.iter().any(|s| s.id == n.stage_id), &format!("[{i}].stage_id"), "is not a stage of this pipeline");
        v.check(n.norm_days.is_none_or(|d| (1..=3650).contains(&d)), &format!("[{i}].norm_days"), "must be between 1 and 3650 days");
    }
    v.finish()?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    for n in &norms {
        store::set_norm(&mut c, caller.tenant_id, n.stage_id, n.norm_days).await?;
    }
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "pipeline", id.0, AuditAction::Update, None, &serde_json::json!({ "stage_norms": norms })).await?;
    tx.commit().await?;
    get_funnel(State(state), caller, Path(id)).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// `YYYY-MM`; default: this month in the tenant's time zone.
    pub month: Option<String>,
}

fn parse_month(field: &str, s: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").map_err(|_| ApiError::field(field.to_string(), "is not a month: write YYYY-MM, e.g. 2026-12"))
}

/// Each manager's plan for a month and the deals they won in it (moved to a won stage in
/// that month, by the tenant's calendar).
#[utoipa::path(get, path = "/sales-plans", tag = "pipelines", params(PlanQuery), responses((status = 200, body = Vec<PlanFulfilment>), (status = 422, body = Problem)))]
pub(crate) async fn list_plans(State(state): State<AppState>, caller: Caller, Query(q): Query<PlanQuery>) -> ApiResult<ApiJson<Vec<PlanFulfilment>>> {
    let first = match &q.month {
        Some(m) => parse_month("month", m)?,
        None => caller.today().with_day(1).unwrap_or(caller.today()),
    };
    let next = first.checked_add_months(chrono::Months::new(1)).ok_or_else(|| ApiError::field("month", "is out of range"))?;
    let tz: chrono_tz::Tz = caller.time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    let midnight = |d: NaiveDate| tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|t| t.with_timezone(&Utc));
    let (from, to) = (midnight(first).unwrap_or_default(), midnight(next).unwrap_or_default());
    let month = first.format("%Y-%m").to_string();
    let (plans, won, users) = {
        let mut c = state.db.read().await?;
        let mut c = c.conn();
        let plans: HashMap<UserId, i64> = store::plans(&mut c, caller.tenant_id, &month).await?.into_iter().collect();
        let won: HashMap<UserId, (i64, i64)> = store::won(&mut c, caller.tenant_id, from, to).await?.into_iter().map(|(u, n, a)| (u, (n, a))).collect();
        let users = crate::tenancy::store::list_users(&mut c, caller.tenant_id, uuid::Uuid::max(), 10_000, false).await?;
        (plans, won, users)
    };
    let mut out: Vec<PlanFulfilment> = users
        .into_iter()
        .filter(|u| plans.contains_key(&u.id) || won.contains_key(&u.id))
        .map(|u| {
            let plan = plans.get(&u.id).copied();
            let (won_deals, won_amount) = won.get(&u.id).copied().unwrap_or((0, 0));
            let fulfilment = plan.filter(|p| *p > 0).map(|p| (Decimal::from(won_amount) / Decimal::from(p)).round_dp(4).normalize());
            PlanFulfilment { user_id: u.id, name: u.full_name, month: month.clone(), plan: plan.map(Money::from_minor), won: Money::from_minor(won_amount), won_deals, fulfilment }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ApiJson(out))
}

/// Set a manager's sales plan for a month (heads and admins).
#[utoipa::path(put, path = "/sales-plans/{user_id}/{month}", tag = "pipelines", params(("user_id" = UserId, Path), ("month" = String, Path, description = "YYYY-MM")),
    request_body = PlanInput, responses((status = 200, body = Vec<PlanFulfilment>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_plan(State(state): State<AppState>, caller: Caller, Path((user, month)): Path<(UserId, String)>, ApiJson(input): ApiJson<PlanInput>) -> ApiResult<ApiJson<Vec<PlanFulfilment>>> {
    if !caller.is_lead() {
        return Err(ApiError::Forbidden("Only heads and admins set sales plans.".into()));
    }
    let first = parse_month("month", &month)?;
    if input.amount.minor() < 0 {
        return Err(ApiError::field("amount", "a plan cannot be negative"));
    }
    let month = first.format("%Y-%m").to_string();
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    crate::tenancy::store::get_user(&mut c, caller.tenant_id, user).await?.ok_or(ApiError::NotFound("user"))?;
    store::set_plan(&mut c, caller.tenant_id, user, &month, input.amount.minor(), caller.user_id).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "sales_plan", user.0, AuditAction::Update, None, &serde_json::json!({ "month": month, "amount": input.amount })).await?;
    tx.commit().await?;
    list_plans(State(state), caller, Query(PlanQuery { month: Some(month) })).await
}
