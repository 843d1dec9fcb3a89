//! The job-kind registry: each domain registers its kinds at start-up (a name, a title
//! for users, a handler, a retry policy, optionally a default schedule); the runner
//! dispatches by name and knows no domain.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::AppState;
use crate::tenancy::TenantId;

use super::model::JobKind;
use super::runner::{JobError, JobRun};
use super::schedule::Schedule;

/// What a handler's future yields: the job's report, or why it stopped.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, JobError>> + Send + 'static>>;

/// Runs one job (a first run, a retry or a resume from `JobRun::state`). The runner
/// runs it in a task of its own: a panic fails that job alone.
pub type Handler = Arc<dyn Fn(AppState, JobRun) -> HandlerFuture + Send + Sync>;

/// Whether the scheduler should queue the kind for a tenant now (say, the tenant has
/// the module the job needs). A slot that does not apply is looked at again on the next
/// round, so enabling the module later the same day still runs that day's job.
pub type Applies = Arc<dyn Fn(AppState, TenantId) -> Pin<Box<dyn Future<Output = anyhow::Result<bool>> + Send + 'static>> + Send + Sync>;

/// How a kind's transient failures ([`JobError::Retry`]) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs (first run, retries and resumes after an interruption) before the job is
    /// given up as failed.
    pub max_attempts: i32,
    /// The wait before the first retry; each further one waits `factor` times longer.
    pub first_delay: Duration,
    pub factor: u32,
}

impl Default for RetryPolicy {
    /// Three attempts, retried after 30 s and then 2 min.
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, first_delay: Duration::from_secs(30), factor: 4 }
    }
}

impl RetryPolicy {
    /// The wait before retrying after `attempt` (1 = the first run) failed.
    pub fn delay_after(&self, attempt: i32) -> Duration {
        let steps = u32::try_from(attempt - 1).unwrap_or(0).min(8);
        self.first_delay.saturating_mul(self.factor.max(1).saturating_pow(steps))
    }
}

/// A kind of job, as its domain registers it.
#[derive(Clone)]
pub struct JobKindSpec {
    pub kind: JobKind,
    /// What users see (Russian): «Синхронизация с 1С».
    pub title: &'static str,
    /// Older names of the kind still accepted in API filters (`receivables_sync`).
    pub aliases: &'static [&'static str],
    pub handler: Handler,
    pub retry: RetryPolicy,
    /// The schedule of tenants that have not set their own; `None`: on demand only
    /// unless a tenant sets one.
    pub default_schedule: Option<Schedule>,
    pub applies: Option<Applies>,
}

impl std::fmt::Debug for JobKindSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobKindSpec")
            .field("kind", &self.kind)
            .field("title", &self.title)
            .field("retry", &self.retry)
            .field("default_schedule", &self.default_schedule)
            .finish_non_exhaustive()
    }
}

impl JobKindSpec {
    /// A kind run by `handler`, with the default retry policy and no schedule.
    pub fn new<F, Fut>(kind: JobKind, title: &'static str, handler: F) -> JobKindSpec
    where
        F: Fn(AppState, JobRun) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
    {
        JobKindSpec {
            kind,
            title,
            aliases: &[],
            handler: Arc::new(move |state, run| Box::pin(handler(state, run))),
            retry: RetryPolicy::default(),
            default_schedule: None,
            applies: None,
        }
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn default_schedule(mut self, schedule: Schedule) -> Self {
        self.default_schedule = Some(schedule);
        self
    }

    pub fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// Queue scheduled runs only for tenants for which `applies` says yes.
    pub fn applies_when<F, Fut>(mut self, applies: F) -> Self
    where
        F: Fn(AppState, TenantId) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<bool>> + Send + 'static,
    {
        self.applies = Some(Arc::new(move |state, tenant| Box::pin(applies(state, tenant))));
        self
    }
}

/// Why a registration was refused (a programming error, found at start-up).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    InvalidName(#[from] super::model::InvalidKindName),
    #[error("job kind `{0}` is registered twice")]
    Duplicate(String),
}

/// Every job kind this process knows.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<JobKind, Arc<JobKindSpec>>,
    aliases: BTreeMap<&'static str, JobKind>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a kind; its name and aliases must be new.
    pub fn register(&mut self, spec: JobKindSpec) -> Result<(), RegistryError> {
        JobKind::parse(spec.kind.as_str())?;
        let taken = |r: &Registry, name: &str| r.kinds.keys().any(|k| k.as_str() == name) || r.aliases.contains_key(name);
        if taken(self, spec.kind.as_str()) {
            return Err(RegistryError::Duplicate(spec.kind.to_string()));
        }
        for alias in spec.aliases {
            if taken(self, alias) || *alias == spec.kind.as_str() {
                return Err(RegistryError::Duplicate((*alias).to_string()));
            }
            self.aliases.insert(alias, spec.kind.clone());
        }
        self.kinds.insert(spec.kind.clone(), Arc::new(spec));
        Ok(())
    }

    /// A registry of these kinds.
    pub fn with(specs: impl IntoIterator<Item = JobKindSpec>) -> Result<Registry, RegistryError> {
        let mut r = Registry::new();
        for s in specs {
            r.register(s)?;
        }
        Ok(r)
    }

    pub fn get(&self, kind: &JobKind) -> Option<&Arc<JobKindSpec>> {
        self.kinds.get(kind)
    }

    /// The kind a name (or an older alias) stands for.
    pub fn resolve(&self, name: &str) -> Option<&Arc<JobKindSpec>> {
        let name = name.trim();
        match self.aliases.get(name) {
            Some(kind) => self.kinds.get(kind),
            None => self.kinds.iter().find(|(k, _)| k.as_str() == name).map(|(_, s)| s),
        }
    }

    /// Every kind, by name.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<JobKindSpec>> {
        self.kinds.values()
    }

    /// The names of every kind, for messages and for claiming only what this process runs.
    pub fn names(&self) -> Vec<&str> {
        self.kinds.keys().map(JobKind::as_str).collect()
    }
}
