//! Receivables: what clients owe and since when, synced from the accounting system.
//!
//! * [`sync`] — the job that pulls counterparties, contracts, sales documents and payments
//!   through the tenant's `accounting-sync` plugin (1C), page by page, resumably;
//! * [`allocation`], [`ledger`], [`settle`] — payments allocated to documents (named
//!   first, then oldest due first), open balances, and their settlement after changes;
//! * [`rating`] — the 1–5 star payer rating;
//! * [`aging`] — "Owed to us" by aging bucket, with drill-down and export;
//! * [`penalties`], [`key_rates`], [`calendar`] — contractual penalties, art. 395 and 1/300
//!   of the key rate, with per-period breakdowns; the production calendar for due dates;
//! * [`claim`] — the claim letter (претензия): its figures per contract; [`claim_letter`] —
//!   its data and its template kind, rendered as HTML and PDF by `crate::templates`;
//! * [`routes`] — the API;
//! * [`jobs`] — the job kinds this domain registers: the sync ([`SYNC_JOB`]), daily at
//!   06:00 unless a tenant sets its own time (`PUT /receivables/settings` or
//!   `PUT /job-schedules/receivables.sync`).

pub mod aging;
pub mod allocation;
pub mod calendar;
pub mod claim;
pub mod claim_letter;
pub mod export;
pub mod key_rates;
pub mod letters;
pub mod managers;
pub mod ledger;
pub mod model;
pub mod penalties;
pub mod rating;
pub mod routes;
pub mod settle;
pub mod store;
pub mod sync;

use crate::AppState;
use crate::jobs::{JobKind, JobKindSpec, RetryPolicy, Schedule};
use crate::tenancy::TenantId;

/// The sync from the accounting system (stored as `receivables_sync` before 0006).
pub const SYNC_JOB: JobKind = JobKind::from_static("receivables.sync");

/// The job kinds of the receivables domain.
pub fn jobs() -> Vec<JobKindSpec> {
    vec![
        JobKindSpec::new(SYNC_JOB, "Синхронизация с учётной системой (1С)", |state: AppState, run| async move { sync::run(&state, &run).await })
            .aliases(&["receivables_sync"])
            .retry(RetryPolicy::default())
            .default_schedule(Schedule::daily_at(chrono::NaiveTime::MIN + chrono::Duration::hours(6)))
            .applies_when(|state: AppState, tenant: TenantId| async move { has_accounting_module(&state, tenant).await }),
    ]
}

/// Scheduled syncs run only for tenants with an enabled accounting-sync module.
async fn has_accounting_module(state: &AppState, tenant: TenantId) -> anyhow::Result<bool> {
    let mut c = state.db.read().await?;
    let enabled = crate::plugins::store::enabled_for_world(&mut c.conn(), tenant, crate::plugins::manifest::World::AccountingSync).await?;
    Ok(!enabled.is_empty())
}
