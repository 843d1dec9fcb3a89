//! The worker: claims due jobs one at a time, runs them, retries transient failures
//! with back-off, and queues each tenant's daily sync at its local time.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::db::Conn;
use crate::tenancy::TenantId;

use super::model::{Job, JobKind, JobStatus};
use super::store::{self, NewJob};

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct RunnerOptions {
    /// How often an idle worker looks for work.
    pub poll: Duration,
    /// How long a claim holds without being renewed; a job whose worker died is taken
    /// over after this.
    pub lease: Duration,
    /// Runs (first run, retries and resumes) before a job is given up as failed.
    pub max_attempts: i32,
    /// How often the daily schedule is checked.
    pub schedule_every: Duration,
    /// The first retry of a transient failure waits this long; each further one four
    /// times longer.
    pub retry_after: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            max_attempts: 3,
            schedule_every: Duration::from_secs(30),
            retry_after: Duration::from_secs(30),
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
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Internal(anyhow::Error::new(e).context("database error in a job"))
    }
}

/// A job being run by this worker.
pub struct JobRun {
    pub tenant: TenantId,
    pub job: Job,
    /// Where the job left off, as it last saved it (`{}` on the first run).
    pub state: Value,
    owner: String,
    lease: Duration,
}

impl JobRun {
    /// Saves the resume point and the progress, in the caller's transaction, renewing the
    /// lease. Fails with [`JobError::LeaseLost`] when another worker has taken the job over,
    /// so the caller rolls its transaction back.
    pub async fn save(&self, c: &mut Conn<'_>, state: &Value, progress: &Value) -> Result<(), JobError> {
        let until = Utc::now() + self.lease;
        if store::save(c, self.tenant, self.job.id, &self.owner, state, progress, until).await? {
            Ok(())
        } else {
            Err(JobError::LeaseLost)
        }
    }
}

/// A name for this worker in leases: host, process and a random part.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Claims one due job and runs it to its end (or to a retry). `None` when nothing is due.
pub async fn run_once(state: &AppState, owner: &str, opts: RunnerOptions) -> anyhow::Result<Option<Job>> {
    let claimed = {
        let mut tx = state.db.begin().await?;
        let claimed = store::claim(&mut tx.conn(), owner, Utc::now() + opts.lease).await?;
        tx.commit().await?;
        claimed
    };
    let Some(claimed) = claimed else { return Ok(None) };
    let (tenant, job) = (claimed.tenant_id, claimed.job);
    tracing::info!(tenant = %tenant, job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let run = JobRun { tenant, job: job.clone(), state: claimed.state.0, owner: owner.to_string(), lease: opts.lease };
    let result = if job.attempts > opts.max_attempts {
        Err(JobError::Failed(format!(
            "The job was interrupted or failed {} times; it is given up. Start it again when the cause is fixed.",
            job.attempts - 1
        )))
    } else {
        match job.kind {
            JobKind::ReceivablesSync => crate::receivables::sync::run(state, &run).await,
        }
    };
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let progress = current_progress(&mut c, tenant, &job).await?;
    match &result {
        Ok(report) => {
            store::finish(&mut c, tenant, job.id, owner, JobStatus::Succeeded, report, None).await?;
            tracing::info!(tenant = %tenant, job = %job.id, "job succeeded");
        }
        Err(JobError::LeaseLost) => tracing::warn!(tenant = %tenant, job = %job.id, "job taken over by another worker"),
        Err(JobError::Retry(msg)) if job.attempts < opts.max_attempts => {
            let factor = 4_u32.pow(u32::try_from(job.attempts - 1).unwrap_or(0).min(4));
            let wait = chrono::Duration::from_std(opts.retry_after * factor).unwrap_or(chrono::Duration::seconds(30));
            let note = format!("{msg}. Attempt {} of {}; it resumes where it stopped at {}.", job.attempts, opts.max_attempts, (Utc::now() + wait).format("%H:%M:%S UTC"));
            store::retry_later(&mut c, tenant, job.id, owner, Utc::now() + wait, &note).await?;
            tracing::warn!(tenant = %tenant, job = %job.id, error = %msg, "job will be retried");
        }
        Err(e) => {
            if let JobError::Internal(err) = e {
                tracing::error!(tenant = %tenant, job = %job.id, error = ?err, "job failed");
            }
            let msg = match e {
                JobError::Internal(_) => "The job failed on an internal error; it has been logged. Start it again; if it fails again, report the job id.".to_string(),
                other => other.to_string(),
            };
            store::finish(&mut c, tenant, job.id, owner, JobStatus::Failed, &progress, Some(&msg)).await?;
            tracing::warn!(tenant = %tenant, job = %job.id, error = %msg, "job failed");
        }
    }
    let finished = store::get(&mut c, tenant, job.id).await?;
    tx.commit().await?;
    Ok(finished)
}

async fn current_progress(c: &mut Conn<'_>, tenant: TenantId, job: &Job) -> sqlx::Result<Value> {
    Ok(store::get(c, tenant, job.id).await?.map_or_else(|| job.progress.0.clone(), |j| j.progress.0))
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

/// Queues today's daily sync for every tenant whose local time has passed its daily
/// time. Safe to run on every instance: the dedupe key `daily:<local date>` lets one
/// through per tenant and day.
pub async fn schedule_daily(state: &AppState) -> anyhow::Result<usize> {
    let due = {
        let mut c = state.db.read().await?;
        store::daily_syncs(&mut c.conn()).await?
    };
    let mut queued = 0;
    for d in due {
        let tz: chrono_tz::Tz = d.time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
        let local = Utc::now().with_timezone(&tz);
        let Ok(at) = chrono::NaiveTime::parse_from_str(&d.daily_at, "%H:%M") else { continue };
        if local.time() < at {
            continue;
        }
        let key = format!("daily:{}", local.date_naive());
        let mut tx = state.db.begin().await?;
        let job = NewJob { kind: JobKind::ReceivablesSync, params: serde_json::json!({"full": false, "scheduled": true}), requested_by: None, dedupe_key: Some(&key) };
        if store::enqueue(&mut tx.conn(), d.tenant_id, &job).await?.is_some() {
            queued += 1;
            tracing::info!(tenant = %d.tenant_id, "daily sync queued");
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// The server's worker: runs due jobs and the daily schedule until `shutdown`.
pub fn spawn(state: AppState, opts: RunnerOptions, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = worker_name();
        let mut last_schedule = std::time::Instant::now() - opts.schedule_every;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            if last_schedule.elapsed() >= opts.schedule_every {
                last_schedule = std::time::Instant::now();
                if let Err(e) = schedule_daily(&state).await {
                    tracing::error!(error = ?e, "scheduling daily jobs failed");
                }
            }
            let ran = tokio::select! {
                r = run_once(&state, &owner, opts) => r,
                () = shutdown.cancelled() => break,
            };
            match ran {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::error!(error = ?e, "job worker error"),
            }
            tokio::select! {
                () = tokio::time::sleep(opts.poll) => {}
                () = state.jobs_wake.notified() => {}
                () = shutdown.cancelled() => break,
            }
        }
    })
}
