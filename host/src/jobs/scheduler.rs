//! The scheduler: queues each tenant's scheduled runs of every registered kind.
//!
//! For each (tenant, kind) it takes the latest slot that has passed (in the tenant's time
//! zone) and queues it if it is later than the last slot queued. Only the latest slot is
//! ever looked at, so a host that was down over several slots catches up once. Every
//! instance runs the scheduler: a slot's job carries the dedupe key `schedule:<slot>`,
//! so whichever instance comes first queues it and the others find it taken.

use chrono::{DateTime, Utc};

use crate::AppState;

use super::error::JobsError;
use super::registry::JobKindSpec;
use super::schedule::{Schedule, slot_key, tenant_zone};
use super::store::{self, Candidate, NewJob};

/// The schedule in force for a stored row (or none) of a kind: `None` when it is off.
pub fn effective(spec: &JobKindSpec, enabled: Option<bool>, daily_at: Option<&str>, cron: Option<&str>) -> Option<Schedule> {
    if enabled == Some(false) {
        return None;
    }
    match (daily_at, cron) {
        (Some(at), _) => Schedule::daily(at).ok(),
        (None, Some(expr)) => Schedule::cron(expr).ok(),
        (None, None) => spec.default_schedule.clone(),
    }
}

/// Queues every scheduled run due at `now`. Returns how many jobs were queued.
pub async fn queue_due(state: &AppState, now: DateTime<Utc>) -> Result<usize, JobsError> {
    let mut queued = 0;
    for spec in state.jobs.kinds() {
        let candidates = {
            let mut c = state.db.read().await?;
            store::schedule_candidates(&mut c.conn(), &spec.kind, spec.default_schedule.is_some()).await?
        };
        for cand in candidates {
            if queue_slot(state, spec, &cand, now).await? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Queues the tenant's latest due slot of the kind, if it is new. `true` when a job was queued.
async fn queue_slot(state: &AppState, spec: &JobKindSpec, cand: &Candidate, now: DateTime<Utc>) -> Result<bool, JobsError> {
    let Some(schedule) = effective(spec, cand.enabled, cand.daily_at.as_deref(), cand.cron.as_deref()) else { return Ok(false) };
    let Some(slot) = schedule.latest_slot(tenant_zone(&cand.time_zone), now) else { return Ok(false) };
    if cand.last_slot_at.is_some_and(|last| last >= slot) {
        return Ok(false);
    }
    let tenant = cand.tenant_id;
    if let Some(applies) = &spec.applies {
        match applies(state.clone(), tenant).await {
            // Looked at again next round: enabling what the job needs later still runs it.
            Ok(false) => return Ok(false),
            Ok(true) => {}
            Err(e) => {
                tracing::warn!(tenant = %tenant, kind = %spec.kind, error = ?e, "could not tell whether a scheduled job applies; trying again");
                return Ok(false);
            }
        }
    }
    let key = slot_key(slot);
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let params = serde_json::json!({"scheduled": true, "slot": slot});
    let new = NewJob { kind: spec.kind.clone(), params, requested_by: None, dedupe_key: Some(&key) };
    let queued = store::enqueue(&mut c, tenant, &new).await?.is_some();
    // Refused because another instance queued this slot: done. Refused because a job of
    // the kind is still queued or running: try again next round, once it has ended.
    if queued || store::dedupe_taken(&mut c, tenant, &spec.kind, &key).await? {
        store::record_slot(&mut c, tenant, &spec.kind, slot).await?;
    }
    tx.commit().await?;
    if queued {
        tracing::info!(tenant = %tenant, kind = %spec.kind, slot = %slot, "scheduled job queued");
        state.jobs_wake.notify_one();
    }
    Ok(queued)
}

/// The next time a tenant's kind will be queued, for the API.
pub fn next_run(schedule: &Schedule, time_zone: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.next_slot(tenant_zone(time_zone), now)
}
