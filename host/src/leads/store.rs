//! Lead-import queries, every one scoped by tenant.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sqlx::types::Json;

use crate::counterparties::CounterpartyId;
use crate::db::{Conn, Keys, fetch_keyed, in_list, on_conn};
use crate::deals::{DealId, PipelineId};
use crate::jobs::JobId;
use crate::tenancy::{TenantId, UserId};

use super::import::digits;
use super::model::{BatchItem, ImportReport, LeadBatch, LeadBatchId, LeadImport, LeadImportId, LeadMode, LeadSettings};

/// A contact as the import compares it: `(card, name, phones, e-mails)`.
type ContactRow = (CounterpartyId, String, Json<Vec<String>>, Json<Vec<String>>);

/// The contact people already on each of `ids`, as import keys (name|phone digits|e-mail).
pub async fn contact_keys(c: &mut Conn<'_>, tenant: TenantId, ids: &[CounterpartyId]) -> sqlx::Result<HashMap<CounterpartyId, Vec<String>>> {
    let mut out: HashMap<CounterpartyId, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT counterparty_id, full_name, phones, emails FROM contacts WHERE tenant_id = $1 AND archived_at IS NULL AND {}",
        in_list(c, "counterparty_id", 2, "uuid")
    );
    let rows: Vec<ContactRow> = fetch_keyed(c, &sql, tenant, Keys::ids(ids)).await?;
    for (cp, name, phones, emails) in rows {
        let phone = phones.0.first().map(|p| digits(p)).unwrap_or_default();
        let email = emails.0.first().map(|e| e.to_lowercase()).unwrap_or_default();
        out.entry(cp).or_default().push(format!("{}|{phone}|{email}", name.to_lowercase()));
    }
    Ok(out)
}

/// Which of `ids` have a deal at an open stage (of `pipeline`, when given).
pub async fn with_open_deal(c: &mut Conn<'_>, tenant: TenantId, pipeline: Option<PipelineId>, ids: &[CounterpartyId]) -> sqlx::Result<HashSet<CounterpartyId>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT d.counterparty_id, d.pipeline_id FROM deals d JOIN stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id \
         WHERE d.tenant_id = $1 AND d.archived_at IS NULL AND s.kind = 'open' AND {}",
        in_list(c, "d.counterparty_id", 2, "uuid")
    );
    let rows: Vec<(CounterpartyId, PipelineId)> = fetch_keyed(c, &sql, tenant, Keys::ids(ids)).await?;
    Ok(rows.into_iter().filter(|(_, p)| pipeline.is_none_or(|want| *p == want)).map(|(cp, _)| cp).collect())
}

/// The batch of list `sha256` for `responsible`, made when missing.
pub async fn batch_for(c: &mut Conn<'_>, tenant: TenantId, sha256: &str, import: LeadImportId, responsible: UserId, title: &str) -> sqlx::Result<LeadBatchId> {
    let insert = "INSERT INTO lead_batches (tenant_id, id, source_sha256, import_id, responsible_id, title, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                  ON CONFLICT (tenant_id, source_sha256, responsible_id) DO NOTHING";
    on_conn!(c, c => sqlx::query(insert).bind(tenant).bind(LeadBatchId::new()).bind(sha256).bind(import).bind(responsible).bind(title).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    let sql = "SELECT id FROM lead_batches WHERE tenant_id = $1 AND source_sha256 = $2 AND responsible_id = $3";
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(sha256).bind(responsible).fetch_one(c).await)
}

pub async fn add_batch_item(c: &mut Conn<'_>, tenant: TenantId, batch: LeadBatchId, cp: CounterpartyId, row: u32, call_on: Option<NaiveDate>) -> sqlx::Result<()> {
    let sql = "INSERT INTO lead_batch_items (tenant_id, batch_id, counterparty_id, row_number, call_on) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (tenant_id, batch_id, counterparty_id) DO NOTHING";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(batch).bind(cp).bind(row as i32).bind(call_on).execute(c).await.map(|_| ()))
}

const IMPORT_COLS: &str = "id, mode, file_name, sha256, job_id, preview, report, created_by, created_at";

pub struct NewImport<'a> {
    pub id: LeadImportId,
    pub mode: LeadMode,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
    pub created_by: UserId,
}

pub async fn insert_import(c: &mut Conn<'_>, tenant: TenantId, i: &NewImport<'_>) -> sqlx::Result<()> {
    let sql = "INSERT INTO lead_imports (tenant_id, id, mode, file_name, sha256, content, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(i.id).bind(i.mode).bind(i.file_name).bind(i.sha256).bind(i.content).bind(i.created_by).bind(Utc::now())
        .execute(c).await.map(|_| ()))
}

pub async fn set_job(c: &mut Conn<'_>, tenant: TenantId, id: LeadImportId, job: JobId) -> sqlx::Result<()> {
    on_conn!(c, c => sqlx::query("UPDATE lead_imports SET job_id = $3 WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).bind(job).execute(c).await.map(|_| ()))
}

pub async fn set_preview(c: &mut Conn<'_>, tenant: TenantId, id: LeadImportId, report: &ImportReport) -> sqlx::Result<()> {
    on_conn!(c, c => sqlx::query("UPDATE lead_imports SET preview = $3 WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).bind(Json(report)).execute(c).await.map(|_| ()))
}

pub async fn set_report(c: &mut Conn<'_>, tenant: TenantId, id: LeadImportId, report: &ImportReport) -> sqlx::Result<()> {
    on_conn!(c, c => sqlx::query("UPDATE lead_imports SET report = $3 WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).bind(Json(report)).execute(c).await.map(|_| ()))
}

pub async fn get_import(c: &mut Conn<'_>, tenant: TenantId, id: LeadImportId) -> sqlx::Result<Option<LeadImport>> {
    let sql = format!("SELECT {IMPORT_COLS} FROM lead_imports WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, LeadImport>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn content(c: &mut Conn<'_>, tenant: TenantId, id: LeadImportId) -> sqlx::Result<Option<Vec<u8>>> {
    on_conn!(c, c => sqlx::query_scalar("SELECT content FROM lead_imports WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn list_imports(c: &mut Conn<'_>, tenant: TenantId, limit: u32) -> sqlx::Result<Vec<LeadImport>> {
    let sql = format!("SELECT {IMPORT_COLS} FROM lead_imports WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2");
    on_conn!(c, c => sqlx::query_as::<_, LeadImport>(&sql).bind(tenant).bind(i64::from(limit)).fetch_all(c).await)
}

const BATCH_COLS: &str = "id, import_id, responsible_id, title, created_at";

pub async fn batches(c: &mut Conn<'_>, tenant: TenantId, responsible: Option<UserId>) -> sqlx::Result<Vec<LeadBatch>> {
    let sql = format!("SELECT {BATCH_COLS} FROM lead_batches WHERE tenant_id = $1 AND ($2 IS NULL OR responsible_id = $2) ORDER BY created_at DESC, id DESC");
    on_conn!(c, c => sqlx::query_as::<_, LeadBatch>(&sql).bind(tenant).bind(responsible).fetch_all(c).await)
}

pub async fn batch(c: &mut Conn<'_>, tenant: TenantId, id: LeadBatchId) -> sqlx::Result<Option<LeadBatch>> {
    let sql = format!("SELECT {BATCH_COLS} FROM lead_batches WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, LeadBatch>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn batch_items(c: &mut Conn<'_>, tenant: TenantId, id: LeadBatchId) -> sqlx::Result<Vec<BatchItem>> {
    let sql = "SELECT counterparty_id, row_number, call_on, deal_id FROM lead_batch_items WHERE tenant_id = $1 AND batch_id = $2 ORDER BY row_number";
    on_conn!(c, c => sqlx::query_as::<_, BatchItem>(sql).bind(tenant).bind(id).fetch_all(c).await)
}

pub async fn set_item_deal(c: &mut Conn<'_>, tenant: TenantId, batch: LeadBatchId, cp: CounterpartyId, deal: DealId) -> sqlx::Result<()> {
    let sql = "UPDATE lead_batch_items SET deal_id = $4 WHERE tenant_id = $1 AND batch_id = $2 AND counterparty_id = $3";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(batch).bind(cp).bind(deal).execute(c).await.map(|_| ()))
}

/// Refreshes PostgreSQL's statistics of the tables an import grows. A big import can
/// multiply the rows of a young tenant's tables within a minute; until autovacuum (which
/// may be off, or a minute behind) analyzes them, the planner takes them for empty and
/// reads a chunk's 500 ИНН by filtering every row of the tenant instead of through the
/// index. SQLite plans by its indexes without statistics: nothing to do there.
pub async fn refresh_statistics(c: &mut Conn<'_>) -> sqlx::Result<()> {
    match c {
        Conn::Postgres(c) => sqlx::query("ANALYZE counterparties, contacts, deals").execute(&mut **c).await.map(|_| ()),
        Conn::Sqlite(_) => Ok(()),
    }
}

pub async fn settings(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<LeadSettings> {
    let row: Option<Json<LeadSettings>> =
        on_conn!(c, c => sqlx::query_scalar("SELECT settings FROM lead_import_settings WHERE tenant_id = $1").bind(tenant).fetch_optional(c).await)?;
    Ok(row.map(|j| j.0).unwrap_or_default())
}

pub async fn put_settings(c: &mut Conn<'_>, tenant: TenantId, s: &LeadSettings) -> sqlx::Result<()> {
    let sql = "INSERT INTO lead_import_settings (tenant_id, settings, updated_at) VALUES ($1, $2, $3) \
               ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(Json(s)).bind(Utc::now()).execute(c).await.map(|_| ()))
}
