//! Durable background jobs: the daily 1C sync first, reminders and digests later.
//!
//! A job is a row in `jobs`: queued by a user (`POST /receivables/sync`) or by the
//! scheduler (each tenant's daily time, in its time zone), claimed by one worker at a
//! time under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several host
//! instances share the work), run, and finished with its progress and report. A job
//! saves where it is (`state`) in the same transaction as the work it has done, with
//! the lease as a fence, so a job whose process died is claimed again once its lease
//! runs out and resumes exactly where its last commit left it.

pub mod model;
pub mod routes;
pub mod runner;
pub mod store;

pub use model::{Job, JobId, JobKind, JobStatus};
