use std::borrow::Cow;

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

/// What a job does: the name its domain registered it under (`receivables.sync`).
///
/// Names are open: any domain registers its own (see [`super::registry`]). A name is
/// lower-case ASCII words of letters, digits and `_`, joined by dots, the first word
/// being the domain: `receivables.sync`, `reminders.dispatch`, `digest.morning`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "receivables.sync")]
pub struct JobKind(Cow<'static, str>);

/// A job kind name that does not follow the rules of [`JobKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a job kind name: use lower-case words of letters, digits and _, joined by dots (e.g. receivables.sync)")]
pub struct InvalidKindName(pub String);

impl JobKind {
    /// The longest name accepted.
    pub const MAX_LEN: usize = 64;

    /// A kind named by a constant (domains name their kinds this way). The name is
    /// checked when the kind is registered.
    pub const fn from_static(name: &'static str) -> JobKind {
        JobKind(Cow::Borrowed(name))
    }

    /// Checks a name's syntax; whether such a kind is registered is the registry's call.
    pub fn parse(name: &str) -> Result<JobKind, InvalidKindName> {
        if Self::is_valid(name) { Ok(JobKind(Cow::Owned(name.to_string()))) } else { Err(InvalidKindName(name.chars().take(80).collect())) }
    }

    pub fn is_valid(name: &str) -> bool {
        let word = |w: &str| {
            w.as_bytes().first().is_some_and(|b| b.is_ascii_lowercase()) && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        name.len() <= Self::MAX_LEN && name.contains('.') && name.split('.').all(word)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for JobKind {
    type Err = InvalidKindName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobKind::parse(s)
    }
}

impl TryFrom<String> for JobKind {
    type Error = InvalidKindName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if JobKind::is_valid(&s) { Ok(JobKind(Cow::Owned(s))) } else { Err(InvalidKindName(s)) }
    }
}

impl From<JobKind> for String {
    fn from(k: JobKind) -> String {
        k.0.into_owned()
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for JobKind
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for JobKind
where
    String: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, DB>>::encode(self.0.to_string(), buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for JobKind
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        // Stored names are taken as they are: a kind registered by a newer host version
        // must still list and show.
        Ok(JobKind(Cow::Owned(<String as sqlx::Decode<'r, DB>>::decode(value)?)))
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (also between retries).
    Queued,
    Running,
    Succeeded,
    Failed,
    /// Stopped by an admin; what it had committed stays.
    Cancelled,
}
str_enum!(JobStatus { Queued => "queued", Running => "running", Succeeded => "succeeded", Failed => "failed", Cancelled => "cancelled" });

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
    /// What was asked (e.g. `{"full": true}`; scheduled runs carry `scheduled` and `slot`).
    #[schema(value_type = Object)]
    pub params: Json<Value>,
    /// What the job has done so far; when it has finished, its report.
    #[schema(value_type = Object)]
    pub progress: Json<Value>,
    /// Why it failed or stopped, and what to do about it.
    pub error: Option<String>,
    /// Runs started (a retry or a resume after an interruption starts another).
    pub attempts: i32,
    /// Who asked; `null` for the scheduler.
    pub requested_by: Option<UserId>,
    /// `schedule:<slot, UTC>` for scheduled runs: one job per slot.
    pub dedupe_key: Option<String>,
    pub run_after: DateTime<Utc>,
    /// The worker (host, process) that ran it last.
    pub worker: Option<String>,
    /// When an admin asked to cancel it.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// The user who cancelled it (`null` with a name: the admin CLI).
    pub cancelled_by: Option<UserId>,
    /// Who cancelled it, as the audit log names them.
    pub cancelled_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_dotted_lower_case_words() {
        for ok in ["receivables.sync", "digest.morning_heads", "mail.poll2", "a.b.c"] {
            assert!(JobKind::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["receivables_sync", "Receivables.sync", "receivables.", ".sync", "a..b", "a.1b", "a.b-c", "", &"a.".repeat(40)] {
            assert!(JobKind::parse(bad).is_err(), "{bad}");
        }
    }
}
