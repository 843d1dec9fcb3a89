//! Leads from spreadsheets: a company's existing clients or a bank's list of potential
//! clients, in one XLSX/CSV template, become cards (found or created by ИНН and filled
//! from the company registry), deals for the rows that are ready, and telemarketing
//! batches per manager. A preview shows what would happen; the import runs as a job.

pub mod import;
pub mod job;
pub mod model;
pub mod routes;
pub mod rows;
pub mod sheet;
pub mod store;

use crate::AppState;
use crate::jobs::{JobKind, JobKindSpec, RetryPolicy};
use crate::tenancy::TenantId;

pub const LEAD_IMPORT_JOB: JobKind = JobKind::from_static("leads.import");

pub fn jobs() -> Vec<JobKindSpec> {
    vec![JobKindSpec::new(LEAD_IMPORT_JOB, "Импорт клиентов из таблицы", |state: AppState, run| async move { job::run(&state, &run).await }).retry(RetryPolicy::default())]
}

/// Whether new cards can be filled from the company registry.
async fn has_inn_module(state: &AppState, tenant: TenantId) -> sqlx::Result<bool> {
    let mut c = state.db.read().await?;
    let enabled = crate::plugins::store::enabled_for_world(&mut c.conn(), tenant, crate::plugins::manifest::World::InnEnrichment).await?;
    Ok(!enabled.is_empty())
}
