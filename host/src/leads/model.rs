//! What a lead import is, what it reports, and the tenant's import settings.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::counterparties::CounterpartyId;
use crate::deals::DealId;
use crate::deals::pipelines::PipelineId;
use crate::jobs::JobId;
use crate::tenancy::UserId;
use crate::tenancy::model::str_enum;

crate::id_type!(
    /// An uploaded lead spreadsheet and its import.
    LeadImportId
);
crate::id_type!(
    /// A telemarketing batch: the clients of a bank's list one manager calls.
    LeadBatchId
);

/// Which list a spreadsheet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadMode {
    /// The company's existing clients: cards created or updated by ИНН, and a deal
    /// opened for the responsible manager when the row's status opens one («Готов»).
    Existing,
    /// Potential clients from a bank's list: cards created the same way, and one
    /// telemarketing batch per responsible manager.
    Potential,
}
str_enum!(LeadMode { Existing => "existing", Potential => "potential" });

/// A status a row may carry, and whether it opens a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadStatus {
    #[schema(example = "Готов")]
    pub name: String,
    /// A row of an existing client with this status opens a deal.
    #[serde(default)]
    pub opens_deal: bool,
}

/// How a tenant's spreadsheets are imported (data, edited through the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadSettings {
    /// The statuses a row may have (case does not matter); an empty status cell is
    /// the first one.
    pub statuses: Vec<LeadStatus>,
    /// The pipeline deals are opened in; `null`: the tenant's first active pipeline.
    #[serde(default)]
    pub pipeline_id: Option<PipelineId>,
    /// The stage (1 = the pipeline's first) a deal born from a telemarketing batch starts at.
    #[serde(default = "default_batch_stage")]
    pub batch_deal_stage: u32,
}

fn default_batch_stage() -> u32 {
    2
}

impl Default for LeadSettings {
    /// Russian defaults: «Новый», «В работе», «Готов» (opens a deal), «Отказ».
    fn default() -> Self {
        let s = |name: &str, opens_deal| LeadStatus { name: name.into(), opens_deal };
        LeadSettings {
            statuses: vec![s("Новый", false), s("В работе", false), s("Готов", true), s("Отказ", false)],
            pipeline_id: None,
            batch_deal_stage: default_batch_stage(),
        }
    }
}

/// A row that was not imported: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// The spreadsheet's row number.
    pub row: u32,
    /// The column's header, when one cell is at fault.
    pub column: Option<String>,
    /// What is wrong, in Russian, as the person who fills the spreadsheet reads it.
    pub reason: String,
}

/// A telemarketing batch the import made or filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchBrief {
    pub id: LeadBatchId,
    pub responsible_id: UserId,
    pub title: String,
    /// Clients the import put in it (re-imports count the ones already there).
    pub clients: u32,
}

/// The briefs of an import's batches, by responsible: `(batch, title, clients)`.
pub fn batch_briefs(batches: &std::collections::BTreeMap<UserId, (LeadBatchId, String, u32)>) -> Vec<BatchBrief> {
    batches.iter().map(|(u, (id, title, n))| BatchBrief { id: *id, responsible_id: *u, title: title.clone(), clients: *n }).collect()
}

/// What an import did, or (a preview) would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Data rows read (below the header, empty rows not counted).
    pub rows: u32,
    pub created: u32,
    pub updated: u32,
    /// Rows whose card already says everything the row says.
    pub unchanged: u32,
    pub rejected: u32,
    pub deals_opened: u32,
    pub contacts_added: u32,
    /// New cards filled from the company registry (when the tenant has an ИНН module).
    pub enriched: u32,
    pub batches: Vec<BatchBrief>,
    /// Every rejected row (the first 10,000; `errors_truncated` says when there were more).
    pub errors: Vec<RowError>,
    pub errors_truncated: bool,
    /// What went wrong after the rows were stored (a deal not opened, a card the
    /// registry could not fill): the rows themselves are in.
    pub warnings: Vec<String>,
}

/// The most rejected rows a report lists.
pub const MAX_ERRORS: usize = 10_000;

impl ImportReport {
    pub fn reject(&mut self, e: RowError) {
        self.rejected += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        } else {
            self.errors_truncated = true;
        }
    }
}

/// An uploaded spreadsheet and, once it ran, its report.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct LeadImport {
    pub id: LeadImportId,
    pub mode: LeadMode,
    pub file_name: String,
    pub sha256: String,
    /// The job that runs the import (follow its progress at `/jobs/{id}`).
    pub job_id: Option<JobId>,
    /// What the import would do, when it was uploaded for a preview first.
    #[schema(value_type = Option<ImportReport>)]
    pub preview: Option<sqlx::types::Json<ImportReport>>,
    #[schema(value_type = Option<ImportReport>)]
    pub report: Option<sqlx::types::Json<ImportReport>>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// A client in a telemarketing batch.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct BatchItem {
    pub counterparty_id: CounterpartyId,
    pub row_number: i32,
    /// When to call, from the list.
    pub call_on: Option<NaiveDate>,
    /// The deal opened from this item, if any.
    pub deal_id: Option<DealId>,
}

/// A telemarketing batch with its clients.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct LeadBatch {
    pub id: LeadBatchId,
    pub import_id: LeadImportId,
    pub responsible_id: UserId,
    pub title: String,
    pub created_at: DateTime<Utc>,
}
