//! What the sales analytics answer: the forecast, the funnel, stuck deals, plans.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::deals::{DealId, StageId};
use crate::money::Money;
use crate::tenancy::UserId;

/// Open deals' amounts in one group: as they are, and weighted by their stage's win
/// probability.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ForecastLine {
    pub deals: i64,
    pub amount: Money,
    /// Σ amount × the stage's win probability.
    pub weighted: Money,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthForecast {
    /// `YYYY-MM` of the expected close date; `null`: deals without one.
    pub month: Option<String>,
    #[serde(flatten)]
    pub line: ForecastLine,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagerForecast {
    pub user_id: UserId,
    pub name: String,
    #[serde(flatten)]
    pub line: ForecastLine,
}

/// The forecast of a pipeline's open deals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Forecast {
    pub by_month: Vec<MonthForecast>,
    pub by_manager: Vec<ManagerForecast>,
    pub total: ForecastLine,
}

/// One stage of the funnel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageStats {
    pub stage_id: StageId,
    pub name: String,
    pub position: i32,
    pub kind: crate::deals::pipelines::StageKind,
    /// Deals that ever reached this stage (or a later open or won one).
    pub reached: i64,
    /// Of those, the share that went on to the next stage (`0.45` = 45 %); `null` for the
    /// last stage or when none reached this one.
    pub converted: Option<Decimal>,
    /// Median days a deal spent here (deals still here count up to now).
    pub median_days: Option<Decimal>,
    /// Deals here now.
    pub now: i64,
    /// How many days a deal may stay here before it is stuck; `null`: no norm.
    pub norm_days: Option<i32>,
    /// Deals here now for longer than the norm.
    pub stuck: i64,
}

/// A deal that has stayed at its stage past the norm.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StuckDeal {
    pub deal_id: DealId,
    pub title: String,
    pub stage_id: StageId,
    pub responsible_id: UserId,
    pub since: DateTime<Utc>,
    pub days: i64,
    pub norm_days: i32,
}

/// The funnel of a pipeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Funnel {
    pub stages: Vec<StageStats>,
    /// Stuck deals, the longest first (the first 200).
    pub stuck: Vec<StuckDeal>,
}

/// A stage's norm as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageNorm {
    pub stage_id: StageId,
    /// Days; `null` removes the norm.
    pub norm_days: Option<i32>,
}

/// A manager's plan for a month and how much of it is done.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanFulfilment {
    pub user_id: UserId,
    pub name: String,
    /// `YYYY-MM`
    pub month: String,
    /// `null`: no plan set.
    pub plan: Option<Money>,
    /// Amounts of the deals this manager won in the month (moved to a won stage).
    pub won: Money,
    pub won_deals: i64,
    /// won ÷ plan (`1.05` = 105 %); `null` without a plan.
    pub fulfilment: Option<Decimal>,
}

/// A plan as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub amount: Money,
}
