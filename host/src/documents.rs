//! Documents: files uploaded with a kind and attached to a counterparty, deal, task or
//! interaction. Content lives under the data directory, addressed by its SHA-256, one
//! folder per tenant; the rows that describe it live in the database.

pub mod blobs;
pub mod routes;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use blobs::BlobStore;

use crate::counterparties::CounterpartyId;
use crate::deals::DealId;
use crate::id_type;
use crate::interactions::InteractionId;
use crate::tasks::TaskId;
use crate::tenancy::UserId;

id_type!(
    /// A document.
    DocumentId
);

/// An uploaded file and what it is attached to.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Document {
    pub id: DocumentId,
    /// What the document is (`contract`, `conclusion`, `claim`, …): free text the tenant agrees on.
    pub kind: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub task_id: Option<TaskId>,
    pub interaction_id: Option<InteractionId>,
    pub uploaded_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// The editable fields of a document, as a PATCH merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentUpdate {
    pub kind: String,
    pub file_name: String,
}
