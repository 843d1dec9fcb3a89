//! The jobs domain's errors. The HTTP layer (`routes.rs`) turns them into problem
//! documents; the CLI prints them.

use super::model::{JobId, JobKind, JobStatus};
use super::schedule::ScheduleError;

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// No kind of this name is registered (a typo, or a kind of a newer host version).
    #[error("unknown job kind `{name}`; the kinds are: {known}")]
    UnknownKind { name: String, known: String },
    #[error("no such job in this tenant")]
    NotFound,
    /// The job has ended: nothing to cancel.
    #[error("the job has already ended ({0}); there is nothing to cancel")]
    Finished(JobStatus),
    /// One job of a kind per tenant is queued or running at a time.
    #[error("a {kind} job is already queued or running{}", .id.map(|id| format!(" (job {id})")).unwrap_or_default())]
    AlreadyActive { kind: JobKind, id: Option<JobId> },
    /// A schedule field that does not parse.
    #[error("{field} {error}")]
    Schedule { field: &'static str, error: ScheduleError },
    #[error("give either daily_at or cron, not both")]
    TwoSchedules,
    #[error("job kind `{0}` has no default schedule: give daily_at or cron")]
    NoDefaultSchedule(JobKind),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl JobsError {
    /// The error for a kind name `name` that the registry does not know.
    pub fn unknown_kind(name: &str, registry: &super::Registry) -> JobsError {
        JobsError::UnknownKind { name: name.chars().take(80).collect(), known: registry.names().join(", ") }
    }
}
