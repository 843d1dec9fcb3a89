//! The sync from the accounting system (1C): a job that pulls counterparties,
//! contracts, sales documents and payments, page by page, through the tenant's
//! `accounting-sync` plugin, then settles balances and ratings.
//!
//! * **Resumable.** Each page is written in one transaction together with the job's
//!   resume point (the plugin's next cursor) and its counts, so a sync killed at any
//!   moment resumes after the last page it committed, without duplicates.
//! * **Idempotent.** Records are matched by the accounting system's id; a record that
//!   did not change is not written at all, so running a sync twice changes nothing.
//! * **Checked.** The plugin's output is input like any other: one bad record is
//!   rejected and reported with its reason, never silently dropped, and never stops the
//!   rest.
//! * **Incremental.** After a successful sync the next one asks for records changed
//!   since it started (the 1C plugin re-reads documents dated from then, minus its
//!   look-back window); catalogs are read whole. `{"full": true}` reads everything.
//! * **Pipelined.** The next page is fetched while the current one is written.

mod apply;
pub mod report;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::api::error::ApiError;
use crate::jobs::runner::{JobError, JobRun};
use crate::jobs::{JobKind, store as jobs};
use crate::plugins::bindings::{AccountingPage, EntityKind, WitError};
use crate::plugins::runtime::CallError;
use crate::plugins::service::AccountingModule;

use super::settle;
use super::store;
use report::Progress;

/// The phases of a sync, in order; settlement follows the last.
pub const PHASES: [EntityKind; 4] = [EntityKind::Counterparty, EntityKind::Contract, EntityKind::SalesDocument, EntityKind::Payment];

/// Where a sync is: saved with every page, restored when a job resumes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SyncState {
    /// 0–3: pulling `PHASES[phase]`; 4: settling; 5: done.
    phase: usize,
    /// The plugin's cursor for the next page of the current phase.
    cursor: Option<String>,
    progress: Progress,
}

/// What a sync job was asked to do.
#[derive(Debug, Clone, Default, Deserialize)]
struct Params {
    #[serde(default)]
    full: bool,
}

/// Runs (or resumes) a sync job. Returns its report.
pub async fn run(state: &AppState, job: &JobRun) -> Result<Value, JobError> {
    let tenant = job.tenant;
    let params: Params = serde_json::from_value(job.job.params.0.clone()).unwrap_or_default();
    let module = crate::plugins::service::accounting(state, tenant).await.map_err(|e| match e {
        ApiError::Conflict { detail, .. } => JobError::Failed(detail),
        ApiError::Upstream(detail) => JobError::Retry(detail),
        other => JobError::Internal(anyhow::anyhow!("{other}")),
    })?;
    let (settings, time_zone) = {
        let mut c = state.db.read().await?;
        let mut c = c.conn();
        let settings = store::settings(&mut c, tenant).await?;
        let tz = crate::tenancy::store::get_tenant(&mut c, tenant).await?.map(|t| t.time_zone).unwrap_or_else(|| "Europe/Moscow".into());
        (settings, tz)
    };
    let mut st: SyncState = if job.state.as_object().is_some_and(|o| !o.is_empty()) {
        serde_json::from_value(job.state.clone()).map_err(|e| JobError::Internal(anyhow::Error::new(e).context("resuming a sync from its saved state")))?
    } else {
        let since = if params.full {
            None
        } else {
            let mut c = state.db.read().await?;
            jobs::last_success_started(&mut c.conn(), tenant, JobKind::ReceivablesSync).await?.map(|t| t.to_rfc3339())
        };
        SyncState { phase: 0, cursor: None, progress: Progress::new(&module.plugin_id, &module.version, since, params.full) }
    };
    let page_size = u32::try_from(settings.sync_page_size).unwrap_or(1000);
    let ctx = apply::Context { tenant, today: crate::tenancy::access::today_in(&time_zone), plugin: format!("{} {}", module.plugin_id, module.version) };

    while st.phase < PHASES.len() {
        pull_phase(state, job, &module, &ctx, &mut st, page_size).await?;
    }
    if st.phase == PHASES.len() {
        settle_all(state, job, &ctx, &mut st, u32::try_from(settings.rating_window_days).unwrap_or(365)).await?;
    }
    st.progress.phase = "done".into();
    Ok(st.progress.to_value())
}

/// Pulls every page of the current phase, writing each page as the next is fetched.
async fn pull_phase(
    state: &AppState,
    job: &JobRun,
    module: &AccountingModule,
    ctx: &apply::Context,
    st: &mut SyncState,
    page_size: u32,
) -> Result<(), JobError> {
    let kind = PHASES[st.phase];
    st.progress.phase = report::entity_name(kind).into();
    let since = st.progress.since.clone();
    let fetch = |cursor: Option<String>| {
        let since = since.clone();
        async move {
            let page = module.fetch_page(state, kind, since.as_deref(), cursor.as_deref(), page_size).await;
            (cursor, page)
        }
    };
    let mut pending = fetch(st.cursor.clone()).await;
    loop {
        let (cursor, page) = pending;
        let page = page.map_err(|e| plugin_error(&module.plugin_id, e))?;
        check_cursor(cursor.as_deref(), &page)?;
        let next = page.next_cursor.clone();
        let write = write_page(state, job, ctx, st, kind, page);
        if let Some(n) = next.clone() {
            // Fetch the next page while this one is written.
            let (written, fetched) = tokio::join!(write, fetch(Some(n)));
            written?;
            pending = fetched;
        } else {
            write.await?;
            return Ok(());
        }
    }
}

/// A plugin that hands back the cursor it was given would loop forever.
fn check_cursor(cursor: Option<&str>, page: &AccountingPage) -> Result<(), JobError> {
    match (&page.next_cursor, cursor) {
        (Some(next), Some(cur)) if next == cur => Err(JobError::Failed(format!(
            "The accounting plugin returned the same cursor `{cur}` twice; it would read the same page forever. Report this to the plugin's author."
        ))),
        (Some(next), _) if next.len() > 1000 => Err(JobError::Failed("The accounting plugin returned a cursor longer than 1000 characters.".into())),
        _ => Ok(()),
    }
}

/// Writes one page and the job's new resume point in one transaction.
async fn write_page(state: &AppState, job: &JobRun, ctx: &apply::Context, st: &mut SyncState, kind: EntityKind, page: AccountingPage) -> Result<(), JobError> {
    let mut next = st.clone();
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    apply::page(&mut c, ctx, kind, page.entries, page.rejected, &mut next.progress).await?;
    match page.next_cursor {
        Some(cursor) => next.cursor = Some(cursor),
        None => {
            next.phase += 1;
            next.cursor = None;
        }
    }
    job.save(&mut c, &serde_json::to_value(&next).unwrap_or_default(), &next.progress.to_value()).await?;
    tx.commit().await?;
    *st = next;
    Ok(())
}

/// Settles every client the pull changed (and refreshes ratings older than today).
async fn settle_all(state: &AppState, job: &JobRun, ctx: &apply::Context, st: &mut SyncState, window_days: u32) -> Result<(), JobError> {
    st.progress.phase = "settlement".into();
    {
        let mut tx = state.db.begin().await?;
        let mut c = tx.conn();
        store::mark_stale_ratings(&mut c, ctx.tenant, ctx.today).await?;
        st.progress.settlement.pending = store::dirty_count(&mut c, ctx.tenant).await?;
        job.save(&mut c, &serde_json::to_value(&*st).unwrap_or_default(), &st.progress.to_value()).await?;
        tx.commit().await?;
    }
    loop {
        let mut next = st.clone();
        let mut tx = state.db.begin().await?;
        let mut c = tx.conn();
        let done = settle::settle_batch(&mut c, ctx.tenant, ctx.today, window_days, settle::SETTLE_BATCH).await?;
        let s = &mut next.progress.settlement;
        s.settled += done.counterparties;
        s.documents_changed += done.documents_changed;
        s.ratings_changed += done.ratings_changed;
        if done.counterparties == 0 {
            next.phase += 1;
        }
        job.save(&mut c, &serde_json::to_value(&next).unwrap_or_default(), &next.progress.to_value()).await?;
        tx.commit().await?;
        *st = next;
        if done.counterparties == 0 {
            return Ok(());
        }
    }
}

/// What a failed plugin call means for the job.
fn plugin_error(plugin: &str, e: CallError) -> JobError {
    match e {
        CallError::Plugin(WitError::Unavailable(m)) => JobError::Retry(format!("The accounting system did not answer as expected: {m}")),
        CallError::Plugin(WitError::AccessDenied(m)) => JobError::Failed(format!(
            "The {plugin} plugin was refused: {m}. An admin grants the accounting server's host with PUT /api/v1/modules/{plugin} \
             (grants.http_hosts, and grants.private_hosts for a server on the local network)."
        )),
        CallError::Plugin(WitError::InvalidInput(m)) => JobError::Failed(format!("The {plugin} plugin's settings or request are invalid: {m}. Check the module's settings.")),
        CallError::Plugin(other) => JobError::Failed(format!("The {plugin} plugin failed: {}", crate::plugins::runtime::describe_wit(&other))),
        CallError::Failed { outcome: crate::plugins::store::Outcome::Timeout, message } => JobError::Retry(format!("The {plugin} plugin timed out: {message}")),
        CallError::Failed { message, .. } => JobError::Failed(format!(
            "The {plugin} plugin failed: {message}. If a page is too large, lower sync_page_size in PUT /api/v1/receivables/settings."
        )),
        CallError::Load(m) => JobError::Failed(format!("The {plugin} plugin could not be loaded: {m}")),
    }
}
