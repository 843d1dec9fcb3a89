//! Approvals: routes as data and the engine that runs deals' documents through them.
//!
//! * [`model`] — a route is ordered groups of steps; the steps of one group run in
//!   parallel, the groups in sequence; each step is a department role (legal, security,
//!   credit, risk) with a quorum (all / any / N), a document kind an approval needs
//!   attached («Заключение СБ») and an SLA in working days;
//! * [`service`] — starting a run, decisions (a rejection ends the run at once and tells
//!   the manager to put the deal on СТОП; a return tells the manager what to rework, and
//!   resubmission restarts from the returning step), delegation, the inbox, escalation;
//! * [`store`] — the queries; [`routes`] — the API;
//! * [`committee`] — collegial bodies by the deal's kind, meetings, votes and protocols;
//! * [`application`] — the printed application to the credit committee (заявка в КО);
//! * [`jobs`] — the SLA escalation job ([`ESCALATE_JOB`]), every 15 minutes.
//!
//! Deals' stage gates read this domain (an approval that must be complete); this domain
//! reads deals' store, never deals' routes.

pub mod application;
pub mod committee;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};

use crate::AppState;
use crate::db::Conn;
use crate::jobs::runner::JobRun;
use crate::jobs::{JobKind, JobKindSpec, RetryPolicy, Schedule};
use crate::tenancy::TenantId;

/// Escalation of approval steps past their SLA to the heads.
pub const ESCALATE_JOB: JobKind = JobKind::from_static("approvals.escalate");

/// The job kinds of this domain.
pub fn jobs() -> Vec<JobKindSpec> {
    let every_15_minutes = Schedule::cron("*/15 * * * *").ok();
    let spec = JobKindSpec::new(ESCALATE_JOB, "Эскалация просроченных согласований", |state: AppState, run| async move { escalate_job(&state, &run).await })
        .retry(RetryPolicy::default())
        .applies_when(|state: AppState, tenant: TenantId| async move { has_active_steps(&state, tenant).await });
    vec![match every_15_minutes {
        Some(s) => spec.default_schedule(s),
        None => spec,
    }]
}

async fn escalate_job(state: &AppState, run: &JobRun) -> Result<serde_json::Value, crate::jobs::runner::JobError> {
    // `now` in the job's parameters checks the SLA as of another moment (tests, replays).
    let now: DateTime<Utc> = run.job.params.0.get("now").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()).unwrap_or_else(Utc::now);
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    let n = service::escalate(&mut tx.conn(), run.tenant, now).await.map_err(anyhow::Error::from)?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(serde_json::json!({ "escalated": n }))
}

/// Escalation is queued only for tenants with a step waiting for a decision.
async fn has_active_steps(state: &AppState, tenant: TenantId) -> anyhow::Result<bool> {
    let mut c = state.db.read().await?;
    Ok(!store::active_steps(&mut c.conn(), tenant).await?.is_empty())
}

/// Seeds a new tenant's default routes and collegial bodies.
pub async fn seed_defaults(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<()> {
    for r in model::default_routes() {
        store::insert_route(c, tenant, &r).await?;
    }
    committee::seed_bodies(c, tenant).await
}
