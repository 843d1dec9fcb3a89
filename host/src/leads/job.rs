//! The import job: reads the kept file, writes it chunk by chunk (each chunk and the
//! job's save point in one transaction, so a restart resumes after the last written
//! chunk), opens the deals the rows ask for, asks the company registry about new cards
//! when the tenant has an ИНН module, and leaves the report on the import.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::audit::{Actor, ActorKind};
use crate::jobs::runner::{JobError, JobRun};
use crate::tenancy::{Caller, TenantId, UserId};

use super::import::{self, CHUNK};
use super::model::{ImportReport, LeadBatchId, LeadImportId};
use super::routes::open_deal;
use super::store;

/// Deals opened at once after a chunk.
const DEALS_AT_ONCE: usize = 4;
/// Registry look-ups in flight at once: the provider's round trip, not the host, sets the pace.
const ENRICH_AT_ONCE: usize = 8;

#[derive(Deserialize)]
struct Params {
    import_id: LeadImportId,
}

/// Where a run left off.
#[derive(Default, Serialize, Deserialize)]
struct Resume {
    next_chunk: usize,
    report: ImportReport,
    batches: BTreeMap<UserId, (LeadBatchId, String, u32)>,
}

async fn caller_of(state: &AppState, tenant: TenantId, user: UserId) -> Result<Caller, JobError> {
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    let u = crate::tenancy::store::get_user(&mut c, tenant, user).await?.ok_or_else(|| JobError::Failed("the user who started the import no longer exists".into()))?;
    let t = crate::tenancy::store::get_tenant(&mut c, tenant).await?.ok_or_else(|| JobError::Failed("the tenant no longer exists".into()))?;
    Ok(Caller { tenant_id: tenant, user_id: u.id, role: u.role, departments: u.departments.0, name: u.full_name, time_zone: t.time_zone, request_id: None })
}

pub async fn run(state: &AppState, job: &JobRun) -> Result<Value, JobError> {
    let tenant = job.tenant;
    let params: Params = serde_json::from_value(job.job.params.0.clone()).map_err(|e| JobError::Failed(format!("bad job parameters: {e}")))?;
    let (import, content) = {
        let mut c = state.db.read().await?;
        let mut c = c.conn();
        let import = store::get_import(&mut c, tenant, params.import_id).await?.ok_or_else(|| JobError::Failed("the import is gone".into()))?;
        let content = store::content(&mut c, tenant, params.import_id).await?.unwrap_or_default();
        (import, content)
    };
    let caller = caller_of(state, tenant, import.created_by).await?;
    let actor = Actor { kind: ActorKind::User, id: Some(caller.user_id.0), label: format!("{} (импорт «{}»)", caller.name, import.file_name), request_id: None };
    let (ctx, table) = super::routes::context(state, tenant, caller.user_id, actor, import.mode, &content, import.id).await.map_err(|e| JobError::Failed(e.to_string()))?;
    let mut resume: Resume = if job.state.as_object().is_some_and(|o| !o.is_empty()) {
        serde_json::from_value(job.state.clone()).map_err(|e| JobError::Internal(anyhow::Error::new(e).context("resuming a lead import")))?
    } else {
        Resume::default()
    };
    // Rows are read again on a resume; the report's row counts come from the first read.
    let mut scratch = ImportReport::default();
    let leads = import::read_rows(&ctx, &table, &mut scratch);
    if resume.next_chunk == 0 {
        resume.report = scratch;
    }
    let total = leads.len();
    let enrich = ctx.enrich;
    let chunks: Vec<_> = leads.chunks(CHUNK).collect();
    while resume.next_chunk < chunks.len() {
        let part = chunks[resume.next_chunk];
        let mut tx = state.db.begin().await?;
        let out = import::chunk(&mut tx.conn(), &ctx, part, true, &mut resume.report, &mut resume.batches).await?;
        resume.next_chunk += 1;
        let done = (resume.next_chunk * CHUNK).min(total);
        job.save(&mut tx.conn(), &serde_json::to_value(&resume).unwrap_or_default(), &progress(done, total, &resume.report)).await?;
        tx.commit().await?;
        // Each time the import has doubled what it wrote, the planner learns the new sizes.
        if resume.next_chunk.is_power_of_two() {
            let mut c = state.db.read().await?;
            store::refresh_statistics(&mut c.conn()).await?;
        }
        // Deals open through the deals service, a few at a time (each is its own transaction).
        let opened: Vec<_> = futures::stream::iter(out.deals)
            .map(|d| {
                let (caller, settings) = (&caller, &ctx.settings);
                async move { (open_deal(state, caller, settings, d.counterparty_id, d.responsible, d.amount, None).await, d.title) }
            })
            .buffer_unordered(DEALS_AT_ONCE)
            .collect()
            .await;
        for (result, title) in opened {
            match result {
                Ok(_) => resume.report.deals_opened += 1,
                Err(e) => resume.report.warnings.push(format!("Сделка для клиента {title} не открыта: {e}")),
            }
        }
        if enrich {
            let enriched: Vec<_> = futures::stream::iter(out.created)
                .map(|id| {
                    let caller = &caller;
                    async move { (id, crate::counterparties::enrichment::refresh(state, caller, id).await) }
                })
                .buffer_unordered(ENRICH_AT_ONCE)
                .collect()
                .await;
            for (id, result) in enriched {
                match result {
                    Ok(()) => resume.report.enriched += 1,
                    Err(e) => resume.report.warnings.push(format!("Карточка {id} не дополнена из реестра: {e}")),
                }
            }
        }
    }
    resume.report.batches = super::model::batch_briefs(&resume.batches);
    resume.report.errors.sort_by_key(|e| e.row);
    let mut tx = state.db.begin().await?;
    store::set_report(&mut tx.conn(), tenant, import.id, &resume.report).await?;
    job.save(&mut tx.conn(), &serde_json::to_value(&resume).unwrap_or_default(), &progress(total, total, &resume.report)).await?;
    tx.commit().await?;
    // The finished job's progress is its report: the counts and where the full report is.
    let mut out = progress(total, total, &resume.report);
    out["import_id"] = json!(import.id);
    Ok(out)
}

fn progress(done: usize, total: usize, r: &ImportReport) -> Value {
    json!({
        "rows_done": done,
        "rows_total": total,
        "created": r.created,
        "updated": r.updated,
        "unchanged": r.unchanged,
        "rejected_rows": r.rejected,
        "deals_opened": r.deals_opened,
    })
}
