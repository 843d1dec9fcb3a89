//! The sync from the accounting system (1C): a job that pulls counterparties,
//! contracts, sales documents and payments, page by page, through the tenant's
//! `accounting-sync` plugin, then settles balances and ratings.
//!
//! * **Resumable.** Pages are written in transactions together with the job's resume
//!   point (the plugin's next cursor) and its counts, so a sync killed at any moment
//!   resumes after the last page it committed, without duplicates. Fetched pages wait in
//!   memory until they hold [`COMMIT_RECORDS`] records or their oldest would wait past
//!   [`COMMIT_EVERY`], then are written in one short transaction: committing every page
//!   would cost a disk flush (PostgreSQL) or a rewrite of every index page it touched
//!   (SQLite's WAL) per page, and no write transaction is ever open while the plugin is
//!   asked for a page (SQLite has one writer: other tenants' writes would wait for 1C).
//! * **Idempotent.** Records are matched by the accounting system's id; a record that
//!   did not change is not written at all, so running a sync twice changes nothing.
//! * **Checked.** The plugin's output is input like any other: one bad record is
//!   rejected and reported with its reason, never silently dropped, and never stops the
//!   rest.
//! * **Incremental.** After a successful sync the next one asks for records changed
//!   since it started (the 1C plugin re-reads documents dated from then, minus its
//!   look-back window); catalogs are read whole. `{"full": true}` reads everything.
//! * **Pipelined.** The next page is fetched while the gathered ones are written.
//! * **Bounded.** A cursor the plugin hands back a second time (`a → b → a`) fails the
//!   job instead of reading the same pages forever, and so does a job that reads more
//!   pages than the host allows (`--job-max-pages`). A cancelled job stops at its next
//!   commit, or at once while it waits for the plugin.

mod apply;
pub mod report;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::jobs::paging::{CursorGuard, PagingError};
use crate::jobs::runner::{JobError, JobRun};
use crate::jobs::store as jobs;
use crate::plugins::manifest::World;
use crate::plugins::runtime::CallError;
use crate::plugins::service::{self as plugins, LoadedModule, ModuleError};
use crate::plugins::store::Outcome;
use crate::plugins::worlds::PluginError;
use crate::plugins::host::log::Level;
use crate::plugins::worlds::accounting::{EntityKind, FetchPage, Page as AccountingPage};

use super::settle;
use super::store;
use report::Progress;

/// Records gathered before they are written and committed.
pub const COMMIT_RECORDS: usize = 20_000;
/// Longest a fetched record waits before it is committed.
pub const COMMIT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

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
#[derive(Debug, Clone, Deserialize)]
struct Params {
    #[serde(default)]
    full: bool,
    /// Records a transaction takes before it commits (tests use small ones to stop a sync
    /// between commits).
    #[serde(default = "default_commit_records")]
    commit_records: usize,
}

fn default_commit_records() -> usize {
    COMMIT_RECORDS
}

impl Default for Params {
    fn default() -> Self {
        Params { full: false, commit_records: COMMIT_RECORDS }
    }
}

/// What an admin does when no accounting module can run the sync.
pub const NO_ACCOUNTING: &str = "No accounting-sync module is enabled for your tenant; an admin enables the 1C module with \
                                 PUT /api/v1/modules/accounting-1c (see docs/receivables.md).";

/// The accounting-sync module instance the sync uses: the one the receivables settings
/// name, else the tenant's only enabled one.
pub async fn accounting_module(state: &AppState, tenant: crate::tenancy::TenantId, named: Option<&str>) -> Result<LoadedModule, ModuleError> {
    plugins::resolve(state, tenant, World::AccountingSync, named, NO_ACCOUNTING).await.map_err(|e| match e {
        ModuleError::NotConfigured(detail) if detail.starts_with("Several") => {
            ModuleError::NotConfigured(format!("{detail} Name it in accounting_module with PUT /api/v1/receivables/settings."))
        }
        other => other,
    })
}

/// Runs (or resumes) a sync job. Returns its report.
pub async fn run(state: &AppState, job: &JobRun) -> Result<Value, JobError> {
    let tenant = job.tenant;
    let params: Params = serde_json::from_value(job.job.params.0.clone()).unwrap_or_default();
    let (settings, time_zone) = {
        let mut c = state.db.read().await?;
        let mut c = c.conn();
        let settings = store::settings(&mut c, tenant).await?;
        let tz = crate::tenancy::store::get_tenant(&mut c, tenant).await?.map(|t| t.time_zone).unwrap_or_else(|| "Europe/Moscow".into());
        (settings, tz)
    };
    let module = accounting_module(state, tenant, settings.accounting_module.as_deref()).await.map_err(|e| match e {
        ModuleError::NotConfigured(detail) => JobError::Failed(detail),
        ModuleError::Call { error, module } => plugin_error(&module, error),
        ModuleError::Db(e) => JobError::from(e),
        other => JobError::Internal(anyhow::anyhow!("{other}")),
    })?;
    // The plugin's warnings (a catalog the base does not publish, say) go into the report.
    let module = module.defer_run_log().capture_log();
    let mut st: SyncState = if job.state.as_object().is_some_and(|o| !o.is_empty()) {
        serde_json::from_value(job.state.clone()).map_err(|e| JobError::Internal(anyhow::Error::new(e).context("resuming a sync from its saved state")))?
    } else {
        let since = if params.full {
            None
        } else {
            let mut c = state.db.read().await?;
            jobs::last_success_started(&mut c.conn(), tenant, &super::SYNC_JOB).await?.map(|t| t.to_rfc3339())
        };
        SyncState { phase: 0, cursor: None, progress: Progress::new(&module.plugin_id, &module.version, since, params.full) }
    };
    let page_size = u32::try_from(settings.sync_page_size).unwrap_or(1000);
    let ctx = apply::Context {
        tenant,
        today: crate::tenancy::access::today_in(&time_zone),
        plugin: format!("{} {}", module.plugin_id, module.version),
        commit_records: params.commit_records.max(1),
    };

    let pulled = pull_all(state, job, &module, &ctx, &mut st, page_size).await;
    // The run log of every call is written before the job says how it ended.
    module.flush_run_log().await;
    pulled?;
    if st.phase == PHASES.len() {
        // The responsible managers 1C names, for the clients whose manager the admin mapped.
        let mut tx = state.db.begin().await?;
        let assigned = super::managers::apply(&mut tx.conn(), tenant, &super::managers::Assigner::Sync(ctx.plugin.clone()), None).await?;
        tx.commit().await?;
        st.progress.managers_assigned += assigned;
    }
    if st.phase == PHASES.len() {
        let started = std::time::Instant::now();
        settle_all(state, job, &ctx, &mut st, u32::try_from(settings.rating_window_days).unwrap_or(365)).await?;
        st.progress.took("settlement", started.elapsed().as_secs_f64());
    }
    st.progress.phase = "done".into();
    let p = &st.progress;
    let written: u64 = [&p.counterparties, &p.contracts, &p.sales_documents, &p.payments].iter().map(|c| c.created + c.updated).sum();
    if written >= STATISTICS_AFTER as u64 {
        refresh_statistics(state, None).await?;
    }
    Ok(st.progress.to_value())
}

/// Rows a phase writes before the planner's statistics on its tables are refreshed; the
/// next refresh comes after twice as many, and so on.
const STATISTICS_AFTER: usize = 10_000;

/// The tables each phase writes (and the settlement after them).
fn phase_tables(phase: usize) -> &'static str {
    match phase {
        0 => "counterparties, counterparty_refs",
        1 => "contracts",
        2 => "sales_documents, receivables_dirty",
        3 => "payments, receivables_dirty",
        _ => "open_items, open_spans, payer_ratings",
    }
}

/// Refreshes the query planner's statistics after a bulk write, rather than leaving it
/// to autovacuum (PostgreSQL) or the next restart (SQLite). Without them PostgreSQL
/// plans a lookup into a table that grew from empty to millions of rows in one sync as
/// if it held a handful, and the sync's own lookups slow to a crawl; "Owed to us" and
/// the card need them too. On PostgreSQL `tables` names the tables to analyze; `None`
/// (the end of a sync) analyzes them all and also vacuums the open items and spans, so "Owed to
/// us" reads them from the index alone. SQLite's planner does well without statistics
/// until the sync ends.
async fn refresh_statistics(state: &AppState, tables: Option<&str>) -> Result<(), JobError> {
    match &state.db {
        crate::db::Db::Postgres(pool) => {
            let sql = match tables {
                Some(t) => format!("ANALYZE {t}"),
                None => "ANALYZE counterparties, counterparty_refs, contracts, sales_documents, payments".to_string(),
            };
            sqlx::query(&sql).execute(pool).await?;
            if tables.is_none() {
                // VACUUM cannot run in a transaction: a pooled connection in autocommit.
                sqlx::query("VACUUM (ANALYZE) open_items, open_spans, payer_ratings").execute(pool).await?;
            }
        }
        crate::db::Db::Sqlite { .. } => {
            if tables.is_none() {
                let mut tx = state.db.begin().await?;
                if let crate::db::Conn::Sqlite(c) = &mut tx.conn() {
                    sqlx::query("PRAGMA optimize").execute(&mut **c).await?;
                }
                tx.commit().await?;
            }
        }
    }
    Ok(())
}

/// Pulls every remaining phase.
async fn pull_all(state: &AppState, job: &JobRun, module: &LoadedModule, ctx: &apply::Context, st: &mut SyncState, page_size: u32) -> Result<(), JobError> {
    let p = &st.progress;
    let mut guard = job.cursor_guard(p.counterparties.pages + p.contracts.pages + p.sales_documents.pages + p.payments.pages);
    while st.phase < PHASES.len() {
        let started = std::time::Instant::now();
        let name = report::entity_name(PHASES[st.phase]);
        guard.new_pass();
        pull_phase(state, job, module, ctx, st, page_size, &mut guard).await?;
        st.progress.took(name, started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Pulls every page of the current phase, writing each page as the next is fetched.
#[allow(clippy::too_many_arguments)] // one phase of one job, and where it reads from
async fn pull_phase(
    state: &AppState,
    job: &JobRun,
    module: &LoadedModule,
    ctx: &apply::Context,
    st: &mut SyncState,
    page_size: u32,
    guard: &mut CursorGuard,
) -> Result<(), JobError> {
    let kind = PHASES[st.phase];
    st.progress.phase = report::entity_name(kind).into();
    let since = st.progress.since.clone();
    let fetch = |cursor: Option<String>| {
        let since = since.clone();
        async move {
            let started = std::time::Instant::now();
            // A cancel stops the job at once even while the plugin waits on a slow 1C.
            let called = job.interruptible(async { module.call_reported(state, FetchPage { kind, since, cursor: cursor.clone(), page_size }).await }).await;
            let (page, warnings) = match called {
                Ok((result, report, _)) => {
                    let warnings: Vec<String> = report.log.into_iter().filter(|l| matches!(l.level, Level::Warn | Level::Error)).map(|l| l.message).collect();
                    (Ok(result), warnings)
                }
                Err(e) => (Err(e), Vec::new()),
            };
            (cursor, page, warnings, started.elapsed())
        }
    };
    // Contracts, documents and payments refer to the catalogs synced before them: read
    // those once.
    let catalogs = if matches!(kind, EntityKind::Contract | EntityKind::SalesDocument | EntityKind::Payment) {
        let mut c = state.db.read().await?;
        apply::Catalogs::load(&mut c.conn(), ctx.tenant).await?
    } else {
        apply::Catalogs::default()
    };
    let phase = st.phase;
    let mut pending = fetch(st.cursor.clone()).await;
    let mut buffer = Buffer::default();
    let (mut committed, mut analyze_at) = (0, STATISTICS_AFTER);
    loop {
        let (cursor, page, warnings, took) = pending;
        for w in &warnings {
            st.progress.plugin_warning(kind, w);
        }
        let page = page?.map_err(|e| in_phase(kind, plugin_error(&module.module_id, e)))?;
        check_cursor(cursor.as_deref(), &page, guard)?;
        let next = page.next_cursor.clone();
        buffer.push(page);
        // Wait for another page only if its records would still be committed in time:
        // the oldest buffered page must not wait past COMMIT_EVERY.
        let flush = next.is_none() || buffer.records >= ctx.commit_records || buffer.age() + took >= COMMIT_EVERY;
        let Some(n) = next else {
            committed += write_pages(state, job, ctx, &catalogs, st, kind, buffer.take()).await?;
            if committed >= STATISTICS_AFTER {
                refresh_statistics(state, Some(phase_tables(phase))).await?;
            }
            return Ok(());
        };
        if !flush {
            pending = fetch(Some(n)).await;
            continue;
        }
        // Fetch the next page while these are written: the write transaction never waits
        // for the plugin.
        let (written, fetched) = tokio::join!(write_pages(state, job, ctx, &catalogs, st, kind, buffer.take()), fetch(Some(n)));
        committed += written?;
        pending = fetched;
        if committed >= analyze_at {
            refresh_statistics(state, Some(phase_tables(phase))).await?;
            analyze_at = committed * 2;
        }
    }
}

/// A plugin whose cursors come back round would loop forever; one that never stops
/// would hold the tenant's syncs forever.
fn check_cursor(cursor: Option<&str>, page: &AccountingPage, guard: &mut CursorGuard) -> Result<(), JobError> {
    if page.next_cursor.as_ref().is_some_and(|next| next.len() > 1000) {
        return Err(JobError::Failed("The accounting plugin returned a cursor longer than 1000 characters.".into()));
    }
    guard.page(cursor, page.next_cursor.as_deref()).map_err(|e| match e {
        PagingError::Repeated { .. } => JobError::Failed(format!("The accounting plugin's paging goes round in a circle: {e}. Report this to the plugin's author.")),
        PagingError::TooManyPages { .. } => JobError::Failed(format!(
            "The sync stopped: {e}. If the accounting base really is this large, raise the limit or sync_page_size; otherwise report this to the plugin's author."
        )),
    })
}

/// Pages fetched and not written yet. No transaction is open while they wait: pages
/// are gathered in memory and written in one short transaction.
#[derive(Default)]
struct Buffer {
    pages: Vec<AccountingPage>,
    records: usize,
    since: Option<std::time::Instant>,
}

impl Buffer {
    fn push(&mut self, page: AccountingPage) {
        self.records += page.entries.len() + page.rejected.len();
        self.since.get_or_insert_with(std::time::Instant::now);
        self.pages.push(page);
    }

    /// How long the oldest page has waited.
    fn age(&self) -> std::time::Duration {
        self.since.map_or(std::time::Duration::ZERO, |t| t.elapsed())
    }

    fn take(&mut self) -> Vec<AccountingPage> {
        self.records = 0;
        self.since = None;
        std::mem::take(&mut self.pages)
    }
}

/// Writes fetched pages in one transaction, with the job's new resume point (the last
/// page's cursor, or the next phase after the last page), and commits. On an error the
/// transaction rolls back and `st` keeps the last committed state. Returns the records
/// written.
#[allow(clippy::too_many_arguments)] // the pages, their context and where they go
async fn write_pages(
    state: &AppState,
    job: &JobRun,
    ctx: &apply::Context,
    catalogs: &apply::Catalogs,
    st: &mut SyncState,
    kind: EntityKind,
    pages: Vec<AccountingPage>,
) -> Result<usize, JobError> {
    let mut next = st.clone();
    let mut records = 0;
    let mut tx = state.db.begin().await?;
    for page in pages {
        records += page.entries.len() + page.rejected.len();
        apply::page(&mut tx.conn(), ctx, catalogs, kind, page.entries, page.rejected, &mut next.progress).await?;
        match page.next_cursor {
            Some(cursor) => next.cursor = Some(cursor),
            None => {
                next.phase += 1;
                next.cursor = None;
                // The report says where the sync is: the phase it reads next.
                next.progress.phase = PHASES.get(next.phase).map_or("settlement", |k| report::entity_name(*k)).into();
            }
        }
    }
    job.save(&mut tx.conn(), &serde_json::to_value(&next).unwrap_or_default(), &next.progress.to_value()).await?;
    tx.commit().await?;
    *st = next;
    Ok(records)
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
    let (mut written, mut analyze_at) = (0, STATISTICS_AFTER);
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
        written += done.documents_changed;
        if written >= analyze_at {
            refresh_statistics(state, Some(phase_tables(PHASES.len()))).await?;
            analyze_at = written * 2;
        }
    }
}

/// A failure while reading `kind`, saying so.
fn in_phase(kind: EntityKind, e: JobError) -> JobError {
    let what = match kind {
        EntityKind::Counterparty => "counterparties",
        EntityKind::Contract => "contracts",
        EntityKind::SalesDocument => "sales documents",
        EntityKind::Payment => "payments",
    };
    match e {
        JobError::Failed(m) => JobError::Failed(format!("While reading {what}: {m}")),
        JobError::Retry(m) => JobError::Retry(format!("While reading {what}: {m}")),
        other => other,
    }
}

/// What a failed plugin call means for the job.
fn plugin_error(plugin: &str, e: CallError) -> JobError {
    match e {
        CallError::Plugin(PluginError::Unavailable(m)) => JobError::Retry(format!("The accounting system did not answer as expected: {m}")),
        CallError::Plugin(PluginError::AccessDenied(m)) => JobError::Failed(format!(
            "The {plugin} plugin was refused: {m}. An admin grants the accounting server's host with PUT /api/v1/modules/{plugin} \
             (grants.http_hosts, and grants.private_hosts for a server on the local network)."
        )),
        CallError::Plugin(PluginError::InvalidInput(m)) => JobError::Failed(format!("The {plugin} plugin's settings or request are invalid: {m}. Check the module's settings.")),
        CallError::Plugin(PluginError::Misconfigured(m)) => JobError::Failed(format!("The {plugin} module is not set up right: {m}")),
        CallError::Plugin(other) => JobError::Failed(format!("The {plugin} plugin failed: {other}")),
        CallError::Failed { outcome: Outcome::Timeout, message } => JobError::Retry(format!("The {plugin} plugin timed out: {message}")),
        CallError::Failed { message, .. } => JobError::Failed(format!(
            "The {plugin} plugin failed: {message}. If a page is too large, lower sync_page_size in PUT /api/v1/receivables/settings."
        )),
        CallError::Load(m) => JobError::Failed(format!("The {plugin} plugin could not be loaded: {m}")),
        CallError::Busy(m) => JobError::Retry(format!("The {plugin} plugin did not get its turn: {m}")),
    }
}
