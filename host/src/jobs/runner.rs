//! The worker pool: claims due jobs (several at once, across tenants), runs each kind's
//! handler in a task of its own, retries transient failures with back-off, stops jobs
//! an admin cancels, and runs the scheduler.
//!
//! Fault isolation: a handler that panics fails its own job, with the panic's message as
//! the reason, and is not retried (it would panic again); the worker goes on with the
//! other jobs. A handler asked to stop (a cancel, or the host shutting down) gets
//! [`RunnerOptions::stop_grace`] to reach its next save point and is then dropped where
//! it waits; what it had committed stays.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::db::Conn;
use crate::tenancy::TenantId;

use super::model::{Job, JobId, JobStatus};
use super::paging::CursorGuard;
use super::store::{self, Claimed, SaveRefused};

/// How the workers run. [`RunnerOptions::from_config`] takes the server's flags.
#[derive(Debug, Clone, Copy)]
pub struct RunnerOptions {
    /// Jobs this process runs at once (across tenants; one per tenant and kind).
    pub workers: usize,
    /// How often an idle worker looks for work.
    pub poll: Duration,
    /// How long a claim holds without being renewed (every save renews it); a job whose
    /// worker died is taken over after this.
    pub lease: Duration,
    /// How often the schedules are checked.
    pub schedule_every: Duration,
    /// How often a worker checks whether an admin (through any host) cancelled one of
    /// its running jobs.
    pub cancel_poll: Duration,
    /// How long a job asked to stop may take to reach its next save point before it is
    /// dropped where it waits.
    pub stop_grace: Duration,
    /// Pages one job may read from an outside system (see [`CursorGuard`]).
    pub max_pages: u64,
    /// Overrides the first retry delay of every kind (tests retry at once).
    pub retry_after: Option<Duration>,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            workers: 4,
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            schedule_every: Duration::from_secs(30),
            cancel_poll: Duration::from_secs(1),
            stop_grace: Duration::from_secs(5),
            max_pages: 100_000,
            retry_after: None,
        }
    }
}

impl RunnerOptions {
    /// The server's options: pool size, lease and page cap from its flags.
    pub fn from_config(config: &crate::Config) -> RunnerOptions {
        RunnerOptions {
            workers: config.job_workers.max(1),
            lease: Duration::from_secs(config.job_lease_secs.max(1)),
            max_pages: config.job_max_pages.max(1),
            ..RunnerOptions::default()
        }
    }
}

/// Why a job run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (the accounting system is down, a timeout); the job
    /// resumes from its last saved point.
    #[error("{0}")]
    Retry(String),
    /// Trying again will not help until someone changes something; the message says what.
    #[error("{0}")]
    Failed(String),
    /// Another worker took the job over (this one was presumed dead): stop quietly.
    #[error("the job's lease was lost to another worker")]
    LeaseLost,
    /// The job was asked to stop (an admin cancelled it, or the host is shutting down).
    /// What it committed stays.
    #[error("the job was asked to stop")]
    Stopped,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Internal(anyhow::Error::new(e).context("database error in a job"))
    }
}

/// Why a running job is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// An admin cancelled it: it ends `cancelled`.
    Cancelled,
    /// This host is shutting down: it goes back to the queue for another worker.
    Shutdown,
}

/// Tells a running job to stop; the first reason given wins.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    token: CancellationToken,
    reason: Arc<OnceLock<StopReason>>,
}

impl StopSignal {
    pub fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }

    /// Resolves once the job is asked to stop.
    pub async fn stopped(&self) {
        self.token.cancelled().await;
    }
}

/// The jobs this process is running, to stop them by id.
#[derive(Debug, Default)]
pub struct Control {
    running: Mutex<HashMap<JobId, StopSignal>>,
}

impl Control {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, StopSignal>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(self: &Arc<Self>, id: JobId) -> (StopSignal, RunningGuard) {
        let signal = StopSignal::default();
        self.running().insert(id, signal.clone());
        (signal, RunningGuard { control: self.clone(), id })
    }

    /// Asks the job to stop if it runs in this process; `false` if it does not.
    pub fn stop(&self, id: JobId, reason: StopReason) -> bool {
        match self.running().get(&id) {
            Some(s) => {
                s.stop(reason);
                true
            }
            None => false,
        }
    }

    fn stop_all(&self, reason: StopReason) {
        for s in self.running().values() {
            s.stop(reason);
        }
    }

    fn is_idle(&self) -> bool {
        self.running().is_empty()
    }
}

/// Forgets a job in [`Control`] when its run ends, however it ends.
struct RunningGuard {
    control: Arc<Control>,
    id: JobId,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.control.running().remove(&self.id);
    }
}

/// A job being run by a worker: what its handler gets.
pub struct JobRun {
    pub tenant: TenantId,
    pub job: Job,
    /// Where the job left off, as it last saved it (`{}` on the first run).
    pub state: Value,
    owner: String,
    lease: Duration,
    max_pages: u64,
    stop: StopSignal,
}

impl JobRun {
    /// Saves the resume point and the progress, in the caller's transaction, renewing
    /// the lease. This is the job's save point: it fails with [`JobError::Stopped`] when
    /// the job was asked to stop, and with [`JobError::LeaseLost`] when another worker
    /// has taken the job over; either way the caller rolls its transaction back and
    /// returns the error.
    pub async fn save(&self, c: &mut Conn<'_>, state: &Value, progress: &Value) -> Result<(), JobError> {
        if self.stop.is_stopped() {
            return Err(JobError::Stopped);
        }
        let until = Utc::now() + self.lease;
        match store::save(c, self.tenant, self.job.id, &self.owner, state, progress, until).await? {
            Ok(()) => Ok(()),
            Err(SaveRefused::CancelRequested) => {
                self.stop.stop(StopReason::Cancelled);
                Err(JobError::Stopped)
            }
            Err(SaveRefused::LeaseLost) => Err(JobError::LeaseLost),
        }
    }

    /// The job's `now`: the `now` parameter when one was given (tests and replays run a
    /// job as of a moment), else the clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.job.params.0.get("now").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()).unwrap_or_else(Utc::now)
    }

    /// Whether the job has been asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_stopped()
    }

    /// Runs `f` (a slow call to an outside system) unless the job is asked to stop
    /// first: then `f` is dropped where it waits and this returns [`JobError::Stopped`].
    pub async fn interruptible<F: Future>(&self, f: F) -> Result<F::Output, JobError> {
        tokio::select! {
            biased;
            () = self.stop.stopped() => Err(JobError::Stopped),
            out = f => Ok(out),
        }
    }

    /// A guard for paging by cursor, allowing the pages this host's configuration lets
    /// one job read; `pages_before` were read by earlier runs of the job.
    pub fn cursor_guard(&self, pages_before: u64) -> CursorGuard {
        CursorGuard::new(pages_before, self.max_pages)
    }
}

/// A name for this worker in leases: host, process and a random part.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Claims one due job of a kind this process knows, for `owner`.
async fn claim(state: &AppState, owner: &str, opts: &RunnerOptions) -> anyhow::Result<Option<Claimed>> {
    let kinds = state.jobs.names();
    let mut tx = state.db.begin().await?;
    let claimed = store::claim(&mut tx.conn(), owner, Utc::now() + opts.lease, &kinds).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Claims one due job and runs it to its end (or to a retry). `None` when nothing is due.
pub async fn run_once(state: &AppState, owner: &str, opts: RunnerOptions) -> anyhow::Result<Option<Job>> {
    match claim(state, owner, &opts).await? {
        Some(claimed) => execute(state, owner, &opts, claimed).await,
        None => Ok(None),
    }
}

/// How a run ended, before it is written down.
enum Outcome {
    Ran(Result<Value, JobError>),
    /// The handler panicked: the message.
    Panicked(String),
    /// Interrupted or failed too often already.
    GivenUp,
    /// Cancelled before it started this run (its last worker died after the request).
    CancelledBefore,
}

/// Runs a claimed job's handler in its own task and records how it ended.
async fn execute(state: &AppState, owner: &str, opts: &RunnerOptions, claimed: Claimed) -> anyhow::Result<Option<Job>> {
    let (tenant, job) = (claimed.tenant_id, claimed.job);
    let spec = state.jobs.get(&job.kind).cloned();
    let (stop, _running) = state.job_control.start(job.id);
    let max_attempts = spec.as_ref().map_or(1, |s| s.retry.max_attempts);
    let outcome = match &spec {
        _ if job.cancel_requested_at.is_some() => Outcome::CancelledBefore,
        // Claiming only takes registered kinds; this is a kind removed since.
        None => Outcome::Ran(Err(JobError::Failed(format!("This host has no handler for job kind `{}`.", job.kind)))),
        Some(_) if job.attempts > max_attempts => Outcome::GivenUp,
        Some(spec) => {
            tracing::info!(tenant = %tenant, job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
            let run = JobRun {
                tenant,
                job: job.clone(),
                state: claimed.state.0,
                owner: owner.to_string(),
                lease: opts.lease,
                max_pages: opts.max_pages,
                stop: stop.clone(),
            };
            // Its own task, so that a panic fails this job alone; aborted with this future,
            // so a worker that is dropped (its process dying) leaves no handler behind
            // that would keep renewing the lease.
            let mut task = tokio_util::task::AbortOnDropHandle::new(tokio::spawn((spec.handler)(state.clone(), run)));
            let joined = tokio::select! {
                r = &mut task => Some(r),
                () = stop.stopped() => None,
            };
            let joined = match joined {
                Some(r) => r,
                // Asked to stop: the handler gets a grace period to reach its save point,
                // then it is dropped where it waits.
                None => match tokio::time::timeout(opts.stop_grace, &mut task).await {
                    Ok(r) => r,
                    Err(_) => {
                        task.abort();
                        tracing::warn!(tenant = %tenant, job = %job.id, "job did not stop within its grace period; dropped");
                        task.await
                    }
                },
            };
            match joined {
                Ok(result) => Outcome::Ran(result),
                Err(e) if e.is_panic() => Outcome::Panicked(panic_message(e.into_panic())),
                Err(_) => Outcome::Ran(Err(JobError::Stopped)),
            }
        }
    };
    finish(state, tenant, &job, owner, opts, spec.as_deref(), &stop, outcome).await
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    msg.chars().take(500).collect()
}

/// Writes down how a run ended: the job's final status, a retry, or its return to the queue.
#[allow(clippy::too_many_arguments)] // one run: its job, its worker and how it ended
async fn finish(
    state: &AppState,
    tenant: TenantId,
    job: &Job,
    owner: &str,
    opts: &RunnerOptions,
    spec: Option<&super::JobKindSpec>,
    stop: &StopSignal,
    outcome: Outcome,
) -> anyhow::Result<Option<Job>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let current = store::get(&mut c, tenant, job.id).await?;
    let progress = current.as_ref().map_or_else(|| job.progress.0.clone(), |j| j.progress.0.clone());
    let cancelled = current.as_ref().filter(|j| j.cancel_requested_at.is_some());
    let (id, kind) = (job.id, &job.kind);
    let written = match outcome {
        Outcome::Ran(Ok(report)) => {
            tracing::info!(tenant = %tenant, job = %id, kind = %kind, "job succeeded");
            store::finish(&mut c, tenant, id, owner, JobStatus::Succeeded, &report, None).await?
        }
        Outcome::Ran(Err(JobError::LeaseLost)) => {
            tracing::warn!(tenant = %tenant, job = %id, kind = %kind, "job taken over by another worker");
            true
        }
        Outcome::Ran(Err(_)) | Outcome::CancelledBefore if cancelled.is_some() => {
            let j = cancelled.expect("checked");
            let who = j.cancelled_by_name.as_deref().unwrap_or("an admin");
            let at = j.cancel_requested_at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default();
            let note = format!("Cancelled by {who} at {at}. What the job had committed before it stopped stays.");
            tracing::info!(tenant = %tenant, job = %id, kind = %kind, by = who, "job cancelled");
            store::finish(&mut c, tenant, id, owner, JobStatus::Cancelled, &progress, Some(&note)).await?
        }
        Outcome::Ran(Err(_)) if stop.reason() == Some(StopReason::Shutdown) => {
            tracing::info!(tenant = %tenant, job = %id, kind = %kind, "job handed back to the queue: the host is shutting down");
            store::release(&mut c, tenant, id, owner).await?
        }
        Outcome::Ran(Err(JobError::Retry(msg))) if job.attempts < spec.map_or(1, |s| s.retry.max_attempts) => {
            let policy = spec.map(|s| s.retry).unwrap_or_default();
            let policy = super::RetryPolicy { first_delay: opts.retry_after.unwrap_or(policy.first_delay), ..policy };
            let wait = policy.delay_after(job.attempts);
            let at = Utc::now() + wait;
            let note = format!("{msg}. Attempt {} of {}; it resumes where it stopped at {}.", job.attempts, policy.max_attempts, at.format("%H:%M:%S UTC"));
            tracing::warn!(tenant = %tenant, job = %id, kind = %kind, error = %msg, "job will be retried");
            store::retry_later(&mut c, tenant, id, owner, at, &note).await?
        }
        Outcome::Panicked(msg) => {
            tracing::error!(tenant = %tenant, job = %id, kind = %kind, panic = %msg, "job panicked");
            let note = format!(
                "The job stopped on an internal error (it panicked: {msg}). It is not retried, as it would fail the same way; \
                 the error is logged. Start it again once the cause is fixed, or report the job id."
            );
            store::finish(&mut c, tenant, id, owner, JobStatus::Failed, &progress, Some(&note)).await?
        }
        Outcome::GivenUp => {
            let note = format!(
                "The job was interrupted or failed {} times; it is given up. Start it again when the cause is fixed.",
                job.attempts - 1
            );
            tracing::warn!(tenant = %tenant, job = %id, kind = %kind, "job given up");
            store::finish(&mut c, tenant, id, owner, JobStatus::Failed, &progress, Some(&note)).await?
        }
        Outcome::CancelledBefore => {
            // A cancel request whose record is gone: nothing to do but release.
            store::release(&mut c, tenant, id, owner).await?
        }
        Outcome::Ran(Err(e)) => {
            let msg = match e {
                JobError::Internal(err) => {
                    tracing::error!(tenant = %tenant, job = %id, kind = %kind, error = ?err, "job failed");
                    "The job failed on an internal error; it has been logged. Start it again; if it fails again, report the job id.".to_string()
                }
                JobError::Retry(msg) => format!("{msg}. Given up after {} attempts.", job.attempts),
                other => other.to_string(),
            };
            tracing::warn!(tenant = %tenant, job = %id, kind = %kind, error = %msg, "job failed");
            store::finish(&mut c, tenant, id, owner, JobStatus::Failed, &progress, Some(&msg)).await?
        }
    };
    if !written {
        tracing::warn!(tenant = %tenant, job = %id, kind = %kind, "the job's end was not recorded: another worker holds it now");
    }
    let finished = store::get(&mut c, tenant, id).await?;
    tx.commit().await?;
    Ok(finished)
}

/// Runs every job that is due now, one after another (tests and tools; the server uses
/// [`spawn`]). Returns the jobs as they ended.
pub async fn run_pending(state: &AppState, opts: RunnerOptions) -> anyhow::Result<Vec<Job>> {
    let owner = worker_name();
    let mut done = Vec::new();
    while let Some(job) = run_once(state, &owner, opts).await? {
        done.push(job);
    }
    Ok(done)
}

/// The server's workers: up to [`RunnerOptions::workers`] jobs at once, and the
/// scheduler, until `shutdown`. Then running jobs are asked to stop and handed back
/// to the queue for another instance (or the next start) to resume.
pub fn spawn(state: AppState, opts: RunnerOptions, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(pool(state, opts, shutdown))
}

async fn pool(state: AppState, opts: RunnerOptions, shutdown: CancellationToken) {
    let owner = worker_name();
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.workers.max(1)));
    let mut running: JoinSet<anyhow::Result<Option<Job>>> = JoinSet::new();
    let watch = tokio::spawn(watch_cancels(state.clone(), owner.clone(), opts.cancel_poll, shutdown.clone()));
    tracing::info!(worker = %owner, workers = opts.workers, kinds = ?state.jobs.names(), "job workers started");
    let mut last_schedule: Option<Instant> = None;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        if last_schedule.is_none_or(|t| t.elapsed() >= opts.schedule_every) {
            last_schedule = Some(Instant::now());
            if let Err(e) = super::scheduler::queue_due(&state, Utc::now()).await {
                tracing::error!(error = ?e, "scheduling jobs failed");
            }
        }
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            match claim(&state, &owner, &opts).await {
                Ok(Some(claimed)) => {
                    let (state, owner) = (state.clone(), owner.clone());
                    running.spawn(async move {
                        let _slot = permit;
                        execute(&state, &owner, &opts, claimed).await
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = ?e, "claiming a job failed");
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(opts.poll) => {}
            () = state.jobs_wake.notified() => {}
            Some(done) = running.join_next(), if !running.is_empty() => log_run(done),
            () = shutdown.cancelled() => break,
        }
    }
    state.job_control.stop_all(StopReason::Shutdown);
    let drained = tokio::time::timeout(opts.stop_grace + Duration::from_secs(5), async {
        while let Some(done) = running.join_next().await {
            log_run(done);
        }
    })
    .await;
    if drained.is_err() {
        // Whatever is still running keeps its lease and is resumed once it runs out.
        running.abort_all();
        tracing::warn!("some jobs did not stop in time; they resume once their lease runs out");
    }
    watch.abort();
}

fn log_run(done: Result<anyhow::Result<Option<Job>>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = ?e, "recording a job's end failed; it is resumed once its lease runs out"),
        Err(e) => tracing::error!(error = %e, "a job's worker task failed; the job is resumed once its lease runs out"),
    }
}

/// Stops this worker's running jobs that an admin cancelled through another host
/// instance (or the CLI); cancels made through this one reach the job at once.
async fn watch_cancels(state: AppState, owner: String, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        if state.job_control.is_idle() {
            continue;
        }
        let asked = async {
            let mut c = state.db.read().await?;
            store::cancel_requested(&mut c.conn(), &owner).await
        };
        match asked.await {
            Ok(ids) => {
                for (_, id) in ids {
                    state.job_control.stop(id, StopReason::Cancelled);
                }
            }
            Err(e) => tracing::warn!(error = %e, "checking for cancelled jobs failed"),
        }
    }
}
