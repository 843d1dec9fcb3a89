//! The lead-import API: preview a spreadsheet, import it as a job, read the report,
//! the telemarketing batches and the import settings.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::multipart::Multipart;
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::db::Conn;
use crate::deals::Deal;
use crate::jobs::{self, Job, JobsError};
use crate::tenancy::{Action, Caller, TenantId, UserId};

use super::import::{self, CHUNK, Context};
use super::model::{ImportReport, LeadBatch, LeadBatchId, LeadImport, LeadImportId, LeadMode, LeadSettings, BatchItem};
use super::rows::{Layout, Manager};
use super::sheet;
use super::{LEAD_IMPORT_JOB, store};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview_import))
        .routes(routes!(start_import, list_imports))
        .routes(routes!(get_import))
        .routes(routes!(run_import))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(open_batch_deal))
}

/// The multipart form of an import.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// The spreadsheet (XLSX, or CSV in UTF-8 or Windows-1251).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `existing` (the company's clients) or `potential` (a bank's list for telemarketing).
    mode: LeadMode,
    /// `true`: keep the file and report what the import would do, without running it
    /// (start it later with `POST /lead-imports/{id}/run`).
    preview: Option<bool>,
}

/// An uploaded spreadsheet, read from a multipart form.
pub(crate) struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub mode: LeadMode,
    pub preview: bool,
}

pub(crate) async fn read_form(state: &AppState, mut form: Multipart) -> ApiResult<Upload> {
    let bad_form = |e: axum::extract::multipart::MultipartError| ApiError::BadRequest(format!("The multipart body is malformed: {e}"));
    let max = state.config.max_upload_bytes();
    let (mut file, mut mode, mut preview) = (None, None, false);
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = field.file_name().unwrap_or("import.xlsx").to_string();
                let bytes = field.bytes().await.map_err(bad_form)?;
                if bytes.len() > max {
                    return Err(ApiError::PayloadTooLarge(format!("The file is larger than the {} MB limit (--max-upload-mb).", max / (1024 * 1024))));
                }
                file = Some((name, bytes.to_vec()));
            }
            "mode" => {
                let v = field.text().await.map_err(bad_form)?;
                mode = Some(v.trim().parse::<LeadMode>().map_err(|e| ApiError::field("mode", e))?);
            }
            "preview" => {
                let v = field.text().await.map_err(bad_form)?;
                preview = matches!(v.trim(), "true" | "1" | "on");
            }
            "_csrf" => {}
            other => return Err(ApiError::field(other.to_string(), "is not a field of an import: send `file` and `mode`")),
        }
    }
    let (file_name, bytes) = file.ok_or_else(|| ApiError::field("file", "attach the spreadsheet as a part named `file`"))?;
    let mode = mode.ok_or_else(|| ApiError::field("mode", "say which list this is: `existing` or `potential`"))?;
    Ok(Upload { file_name, bytes, mode, preview })
}

/// The users rows may name as responsible.
async fn managers(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<Manager>> {
    let users = crate::tenancy::store::list_users(c, tenant, uuid::Uuid::max(), 10_000, false).await?;
    Ok(users.into_iter().map(|u| Manager { id: u.id, email: u.email, full_name: u.full_name }).collect())
}

/// Reads the spreadsheet against the tenant's settings.
pub(crate) async fn context(state: &AppState, tenant: TenantId, user: UserId, actor: Actor, mode: LeadMode, bytes: &[u8], import_id: LeadImportId) -> ApiResult<(Context, sheet::Table)> {
    let table = sheet::read(bytes).map_err(|e| ApiError::field("file", e.to_string()))?;
    let layout = Layout::of(&table);
    import::check_layout(&layout).map_err(|e| ApiError::field("file", e))?;
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    let settings = store::settings(&mut c, tenant).await?;
    let managers = managers(&mut c, tenant).await?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let enrich = super::has_inn_module(state, tenant).await?;
    Ok((Context { tenant, actor, user, mode, settings, managers, layout, sha256, import_id, enrich }, table))
}

/// What importing a spreadsheet would do, without doing it: cards created, updated and
/// unchanged, deals opened, batches, and every rejected row with its reason.
#[utoipa::path(post, path = "/lead-imports/preview", tag = "leads", request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 200, body = ImportReport), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn preview_import(State(state): State<AppState>, caller: Caller, form: Multipart) -> ApiResult<ApiJson<ImportReport>> {
    caller.ensure(Action::WriteCrm)?;
    let up = read_form(&state, form).await?;
    Ok(ApiJson(dry_run(&state, &caller, &up, LeadImportId::new()).await?))
}

/// What importing `up` would do.
async fn dry_run(state: &AppState, caller: &Caller, up: &Upload, id: LeadImportId) -> ApiResult<ImportReport> {
    let (ctx, table) = context(state, caller.tenant_id, caller.user_id, Actor::from(caller), up.mode, &up.bytes, id).await?;
    let mut report = ImportReport::default();
    let leads = import::read_rows(&ctx, &table, &mut report);
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    let mut batches = BTreeMap::new();
    for part in leads.chunks(CHUNK) {
        let out = import::chunk(&mut c, &ctx, part, false, &mut report, &mut batches).await?;
        report.deals_opened += out.deals.len() as u32;
    }
    report.batches = super::model::batch_briefs(&batches);
    report.errors.sort_by_key(|e| e.row);
    Ok(report)
}


/// Import a spreadsheet: the file is kept and imported by a background job (follow it at
/// `/jobs/{job_id}`; the report lands on the import). Rejected rows are reported and
/// the good ones go in; importing the same file again creates nothing twice. With
/// `preview=true` the file is kept with what the import would do (201) and runs only
/// when `POST /lead-imports/{id}/run` says so.
#[utoipa::path(post, path = "/lead-imports", tag = "leads", request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Kept for a preview", body = LeadImport), (status = 202, description = "Queued", body = LeadImport),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn start_import(State(state): State<AppState>, caller: Caller, form: Multipart) -> ApiResult<(StatusCode, ApiJson<LeadImport>)> {
    caller.ensure(Action::WriteCrm)?;
    let up = read_form(&state, form).await?;
    keep(&state, &caller, up).await
}

/// Keeps an uploaded spreadsheet with its preview and, unless it is for a preview, queues it.
pub(crate) async fn keep(state: &AppState, caller: &Caller, up: Upload) -> ApiResult<(StatusCode, ApiJson<LeadImport>)> {
    caller.ensure(Action::WriteCrm)?;
    let (state, caller) = (state.clone(), caller.clone());
    // The file must read before it is kept: a wrong file is a 422 now, not a failed job.
    let id = LeadImportId::new();
    let preview = dry_run(&state, &caller, &up, id).await?;
    let sha256 = hex::encode(Sha256::digest(&up.bytes));
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    store::insert_import(&mut c, caller.tenant_id, &store::NewImport { id, mode: up.mode, file_name: &up.file_name, sha256: &sha256, content: &up.bytes, created_by: caller.user_id }).await?;
    store::set_preview(&mut c, caller.tenant_id, id, &preview).await?;
    if !up.preview {
        enqueue(&state, &mut c, &caller, id).await?;
    }
    let import = store::get_import(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("lead import"))?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "lead_import", id.0, AuditAction::Create, None, &import).await?;
    tx.commit().await?;
    if up.preview {
        return Ok((StatusCode::CREATED, ApiJson(import)));
    }
    state.jobs_wake.notify_one();
    Ok((StatusCode::ACCEPTED, ApiJson(import)))
}

async fn enqueue(state: &AppState, c: &mut Conn<'_>, caller: &Caller, id: LeadImportId) -> ApiResult<Job> {
    let job = match jobs::service::enqueue(c, &state.jobs, caller.tenant_id, &LEAD_IMPORT_JOB, serde_json::json!({ "import_id": id }), Some(caller.user_id)).await {
        Ok(job) => job,
        Err(JobsError::AlreadyActive { id, .. }) => {
            let id = id.map(|id| id.to_string()).unwrap_or_default();
            return Err(ApiError::Conflict { detail: format!("Another import is running (job {id}); wait for it to finish and start this one again."), field: None });
        }
        Err(e) => return Err(e.into()),
    };
    store::set_job(c, caller.tenant_id, id, job.id).await?;
    Ok(job)
}

/// Run an import that was kept for a preview.
#[utoipa::path(post, path = "/lead-imports/{id}/run", tag = "leads", params(("id" = LeadImportId, Path)),
    responses((status = 202, body = LeadImport), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn run_import(State(state): State<AppState>, caller: Caller, Path(id): Path<LeadImportId>) -> ApiResult<(StatusCode, ApiJson<LeadImport>)> {
    caller.ensure(Action::WriteCrm)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let import = store::get_import(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("lead import"))?;
    if let Some(job) = import.job_id {
        return Err(ApiError::Conflict { detail: format!("This import has already been started (job {job}); upload the file again to import it once more."), field: None });
    }
    enqueue(&state, &mut c, &caller, id).await?;
    let import = store::get_import(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("lead import"))?;
    tx.commit().await?;
    state.jobs_wake.notify_one();
    Ok((StatusCode::ACCEPTED, ApiJson(import)))
}

/// The latest imports, newest first.
#[utoipa::path(get, path = "/lead-imports", tag = "leads", responses((status = 200, body = Vec<LeadImport>)))]
pub(crate) async fn list_imports(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<LeadImport>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::list_imports(&mut c.conn(), caller.tenant_id, 100).await?))
}

/// An import and, once its job has run, its report.
#[utoipa::path(get, path = "/lead-imports/{id}", tag = "leads", params(("id" = LeadImportId, Path)),
    responses((status = 200, body = LeadImport), (status = 404, body = Problem)))]
pub(crate) async fn get_import(State(state): State<AppState>, caller: Caller, Path(id): Path<LeadImportId>) -> ApiResult<ApiJson<LeadImport>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get_import(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("lead import"))?))
}

/// The tenant's import settings: the statuses a row may have and which opens a deal,
/// the pipeline deals open in, and the stage deals from a batch start at.
#[utoipa::path(get, path = "/lead-imports/settings", tag = "leads", responses((status = 200, body = LeadSettings)))]
pub(crate) async fn get_settings(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<LeadSettings>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::settings(&mut c.conn(), caller.tenant_id).await?))
}

/// Change the import settings (admins).
#[utoipa::path(put, path = "/lead-imports/settings", tag = "leads", request_body = LeadSettings,
    responses((status = 200, body = LeadSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_settings(State(state): State<AppState>, caller: Caller, ApiJson(s): ApiJson<LeadSettings>) -> ApiResult<ApiJson<LeadSettings>> {
    caller.ensure(Action::Configure)?;
    let mut v = crate::validation::Violations::new();
    v.check(!s.statuses.is_empty(), "statuses", "list at least one status");
    for (i, st) in s.statuses.iter().enumerate() {
        v.check(!st.name.trim().is_empty(), &format!("statuses[{i}].name"), "must not be empty");
        v.check(!s.statuses[..i].iter().any(|o| o.name.trim().to_lowercase() == st.name.trim().to_lowercase()), &format!("statuses[{i}].name"), "is listed twice");
    }
    v.check(s.batch_deal_stage >= 1, "batch_deal_stage", "stages count from 1");
    v.finish()?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    if let Some(p) = s.pipeline_id {
        let pipeline = crate::deals::pipelines::get(&mut c, caller.tenant_id, p).await?.filter(|p| p.archived_at.is_none());
        let pipeline = pipeline.ok_or_else(|| ApiError::field("pipeline_id", "no active pipeline with this id in your tenant"))?;
        if s.batch_deal_stage as usize > pipeline.stages.len() {
            return Err(ApiError::field("batch_deal_stage", format!("the pipeline has {} stages", pipeline.stages.len())));
        }
    }
    let before = store::settings(&mut c, caller.tenant_id).await?;
    store::put_settings(&mut c, caller.tenant_id, &s).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "lead_import_settings", caller.tenant_id.0, AuditAction::Update, Some(&before), &s).await?;
    tx.commit().await?;
    Ok(ApiJson(s))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchFilter {
    /// Only this manager's batches.
    pub responsible_id: Option<UserId>,
}

/// Telemarketing batches, newest first.
#[utoipa::path(get, path = "/lead-batches", tag = "leads", params(BatchFilter), responses((status = 200, body = Vec<LeadBatch>)))]
pub(crate) async fn list_batches(State(state): State<AppState>, caller: Caller, Query(f): Query<BatchFilter>) -> ApiResult<ApiJson<Vec<LeadBatch>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::batches(&mut c.conn(), caller.tenant_id, f.responsible_id).await?))
}

/// A batch with its clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    #[serde(flatten)]
    pub batch: LeadBatch,
    pub items: Vec<BatchItem>,
}

#[utoipa::path(get, path = "/lead-batches/{id}", tag = "leads", params(("id" = LeadBatchId, Path)),
    responses((status = 200, body = BatchView), (status = 404, body = Problem)))]
pub(crate) async fn get_batch(State(state): State<AppState>, caller: Caller, Path(id): Path<LeadBatchId>) -> ApiResult<ApiJson<BatchView>> {
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    let batch = store::batch(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("lead batch"))?;
    let items = store::batch_items(&mut c, caller.tenant_id, id).await?;
    Ok(ApiJson(BatchView { batch, items }))
}

/// Open a deal for a batch's client after a successful call: it starts at the stage the
/// settings name (the second: «Переговоры»), for the batch's manager.
#[utoipa::path(post, path = "/lead-batches/{id}/items/{counterparty_id}/deal", tag = "leads",
    params(("id" = LeadBatchId, Path), ("counterparty_id" = CounterpartyId, Path)),
    responses((status = 201, body = Deal), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn open_batch_deal(State(state): State<AppState>, caller: Caller, Path((id, cp)): Path<(LeadBatchId, CounterpartyId)>) -> ApiResult<(StatusCode, ApiJson<Deal>)> {
    caller.ensure(Action::WriteCrm)?;
    let (batch, item, settings) = {
        let mut c = state.db.read().await?;
        let mut c = c.conn();
        let batch = store::batch(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("lead batch"))?;
        let item = store::batch_items(&mut c, caller.tenant_id, id).await?.into_iter().find(|i| i.counterparty_id == cp).ok_or(ApiError::NotFound("batch client"))?;
        (batch, item, store::settings(&mut c, caller.tenant_id).await?)
    };
    if let Some(d) = item.deal_id {
        return Err(ApiError::Conflict { detail: format!("A deal was already opened for this client from the batch: {d}."), field: None });
    }
    let deal = open_deal(&state, &caller, &settings, cp, batch.responsible_id, None, Some(settings.batch_deal_stage)).await?;
    let mut c = state.db.begin().await?;
    store::set_item_deal(&mut c.conn(), caller.tenant_id, id, cp, deal.id).await?;
    c.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(deal)))
}

/// Opens a deal through the deals service (its checks, history, timeline and audit),
/// in the settings' pipeline, at stage `stage` (1-based) or the first open one.
pub(crate) async fn open_deal(
    state: &AppState,
    caller: &Caller,
    settings: &LeadSettings,
    cp: CounterpartyId,
    responsible: UserId,
    amount: Option<rust_decimal::Decimal>,
    stage: Option<u32>,
) -> ApiResult<Deal> {
    let (pipeline, title) = {
        let mut c = state.db.read().await?;
        let mut c = c.conn();
        let pipeline = match settings.pipeline_id {
            Some(p) => crate::deals::pipelines::get(&mut c, caller.tenant_id, p).await?,
            None => crate::deals::pipelines::list(&mut c, caller.tenant_id, false).await?.into_iter().next(),
        };
        let pipeline = pipeline.ok_or_else(|| ApiError::Conflict { detail: "The tenant has no active pipeline to open deals in; create one or set pipeline_id in /lead-imports/settings.".into(), field: None })?;
        let card = crate::counterparties::store::get(&mut c, caller.tenant_id, cp).await?.ok_or(ApiError::NotFound("counterparty"))?;
        let name = crate::counterparties::model::display_name(&card.full_name, card.short_name.as_deref());
        let title = format!("{} — {name}", pipeline.name);
        (pipeline, title)
    };
    let stage_id = stage.and_then(|n| {
        let mut stages = pipeline.stages.clone();
        stages.sort_by_key(|s| s.position);
        stages.get(n.saturating_sub(1) as usize).map(|s| s.id)
    });
    let new: crate::deals::model::NewDeal = serde_json::from_value(serde_json::json!({
        "title": title,
        "pipeline_id": pipeline.id,
        "stage_id": stage_id,
        "counterparty_id": cp,
        "responsible_id": responsible,
        "amount": amount.map(|a| a.to_string()),
    }))
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("building a deal for an imported lead")))?;
    let (_, ApiJson(deal)) = crate::deals::routes::create_deal(State(state.clone()), caller.clone(), ApiJson(new)).await?;
    Ok(deal)
}
