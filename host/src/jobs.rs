//! Durable background jobs, open to every domain: the 1C sync first, reminders,
//! digests, mail polling and fee runs later.
//!
//! * [`registry`]: a domain registers each kind it runs at start-up (a name such as
//!   `receivables.sync`, a Russian title, a handler, a retry policy, optionally a
//!   default schedule); the runner dispatches by name and knows no domain.
//! * [`store`]: a job is a row in `jobs`, queued by a user, a domain or the scheduler;
//!   at most one job per tenant and kind is queued or running.
//! * [`runner`]: a pool of workers in every `crm serve` process claims due jobs under a
//!   lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances share the
//!   queue; SQLite's single writer serialises claims), runs each handler in its own task
//!   (a panic fails that job alone) and stops jobs an admin cancels. A job saves where it
//!   is (`state`) in the same transaction as the work it has done, fenced by the lease,
//!   so a job whose process died is claimed again once its lease runs out and resumes
//!   exactly where its last commit left it.
//! * [`schedule`], [`scheduler`]: per-tenant schedules as data (`job_schedules`), a local
//!   time or a cron expression in the tenant's time zone; a missed run is caught up once.
//! * [`paging`]: the cursor guard every paging job uses (cycles, the page cap).
//! * [`service`], [`routes`]: what users do (list, cancel, schedules); [`error`]: the
//!   domain's errors.

pub mod error;
pub mod model;
pub mod paging;
pub mod registry;
pub mod routes;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod service;
pub mod store;

pub use error::JobsError;
pub use model::{Job, JobId, JobKind, JobStatus};
pub use registry::{JobKindSpec, Registry, RetryPolicy};
pub use schedule::Schedule;
