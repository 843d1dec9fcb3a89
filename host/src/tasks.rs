//! Tasks: an assignee, a due time, a status, a checklist, and optionally the rule that
//! a file must be attached before the task can be closed.

pub mod model;
pub mod routes;
pub mod store;

pub use model::{Task, TaskId};
