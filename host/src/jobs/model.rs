use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::id_type;
use crate::tenancy::UserId;
use crate::tenancy::model::str_enum;

id_type!(
    /// A background job.
    JobId
);

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Pull counterparties, contracts, sales documents and payments from the accounting
    /// system (the tenant's `accounting-sync` plugin), then settle balances and ratings.
    ReceivablesSync,
}
str_enum!(JobKind { ReceivablesSync => "receivables_sync" });

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (also between retries).
    Queued,
    Running,
    Succeeded,
    Failed,
}
str_enum!(JobStatus { Queued => "queued", Running => "running", Succeeded => "succeeded", Failed => "failed" });

impl JobStatus {
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub status: JobStatus,
    /// What was asked (e.g. `{"full": true}`).
    #[schema(value_type = Object)]
    pub params: Json<Value>,
    /// What the job has done so far; when it has finished, its report.
    #[schema(value_type = Object)]
    pub progress: Json<Value>,
    /// Why it failed, and what to do about it.
    pub error: Option<String>,
    /// Runs started (a retry or a resume after an interruption starts another).
    pub attempts: i32,
    /// Who asked; `null` for the scheduler.
    pub requested_by: Option<UserId>,
    /// `daily:<date>` for scheduled runs.
    pub dedupe_key: Option<String>,
    pub run_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}
