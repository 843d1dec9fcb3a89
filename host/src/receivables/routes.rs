//! The receivables API: the sync, settings, "Owed to us" with drill-down and export,
//! contracts (penalty terms), documents, payments, the payer rating's explanation,
//! penalties and the claim letter.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::{ApiJson, apply_patch};
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::interactions::Interaction;
use crate::jobs::{Job, JobsError, service as jobs};
use crate::money::Money;
use crate::tasks::model::Task;
use crate::tenancy::{Action, Caller};
use crate::templates::Format;

use super::aging::{self, AgingParams, AgingReport};
use super::claim::{self, PenaltyReport};
use super::ledger;
use super::model::{Contract, ContractId, DebtSummary, Payment, PaymentId, PenaltyTerms, SalesDocument, SalesDocumentId, Settings};
use super::rating::{self, Rating};
use super::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_sync))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(aging_report))
        .routes(routes!(aging_export))
        .routes(routes!(counterparty_receivables))
        .routes(routes!(counterparty_rating))
        .routes(routes!(counterparty_penalties))
        .routes(routes!(claim_letter))
        .routes(routes!(list_contracts))
        .routes(routes!(get_contract, update_contract))
        .routes(routes!(list_documents))
        .routes(routes!(get_document))
        .routes(routes!(list_payments))
        .routes(routes!(get_payment))
        .routes(routes!(list_key_rates, add_key_rate))
        .routes(routes!(get_key_rate_status))
        .routes(routes!(confirm_key_rates))
        .merge(super::letters::router())
        .merge(super::managers::router())
}

// ---------------------------------------------------------------------------------
// Sync and settings

/// What to sync.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Read everything, not only what changed since the last successful sync.
    #[serde(default)]
    pub full: bool,
}

/// Start a sync from the accounting system now. It runs in the background: follow it
/// at `GET /jobs/{id}` (progress while it runs, the report when it ends). Admins and heads.
#[utoipa::path(post, path = "/receivables/sync", tag = "receivables", request_body = SyncRequest,
    responses((status = 202, body = Job), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn start_sync(State(state): State<AppState>, caller: Caller, ApiJson(req): ApiJson<SyncRequest>) -> ApiResult<(StatusCode, ApiJson<Job>)> {
    if !caller.is_lead() {
        return Err(ApiError::Forbidden("Only admins and heads start a sync; the daily one runs by itself.".into()));
    }
    let named = {
        let mut c = state.db.read().await?;
        store::settings(&mut c.conn(), caller.tenant_id).await?.accounting_module
    };
    super::sync::accounting_module(&state, caller.tenant_id, named.as_deref()).await?;
    let mut tx = state.db.begin().await?;
    let params = serde_json::json!({"full": req.full});
    let job = match jobs::enqueue(&mut tx.conn(), &state.jobs, caller.tenant_id, &super::SYNC_JOB, params, Some(caller.user_id)).await {
        Ok(job) => job,
        Err(JobsError::AlreadyActive { id, .. }) => {
            let id = id.map(|id| id.to_string()).unwrap_or_default();
            return Err(ApiError::Conflict { detail: format!("A sync is already queued or running (job {id}); follow it at GET /api/v1/jobs/{id}."), field: None });
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    state.jobs_wake.notify_one();
    Ok((StatusCode::ACCEPTED, ApiJson(job)))
}

/// The settings with the sync's daily time, which is the `receivables.sync` job
/// schedule: its local time when the schedule is a daily one, `null` when it is off or
/// a cron expression (`GET /job-schedules/receivables.sync` shows that).
async fn settings_with_schedule(c: &mut crate::db::Conn<'_>, state: &AppState, caller: &Caller) -> ApiResult<Settings> {
    let mut s = store::settings(c, caller.tenant_id).await?;
    let spec = jobs::kind(&state.jobs, super::SYNC_JOB.as_str())?;
    let schedule = jobs::schedule(c, spec, caller.tenant_id, &caller.time_zone).await?;
    s.sync_daily_at = if schedule.enabled { schedule.daily_at } else { None };
    Ok(s)
}

/// The tenant's receivables settings: aging buckets, the daily sync time, page size,
/// the rating window, the claim deadline.
#[utoipa::path(get, path = "/receivables/settings", tag = "receivables", responses((status = 200, body = Settings)))]
async fn get_settings(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Settings>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(settings_with_schedule(&mut c.conn(), &state, &caller).await?))
}

/// Change the receivables settings (admins). Send all fields. `sync_daily_at` sets the
/// sync's job schedule to that daily time (`null`: on demand only); sent unchanged, it
/// leaves the schedule as it is, a cron expression included.
#[utoipa::path(put, path = "/receivables/settings", tag = "receivables", request_body = Settings,
    responses((status = 200, body = Settings), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_settings(State(state): State<AppState>, caller: Caller, ApiJson(mut s): ApiJson<Settings>) -> ApiResult<ApiJson<Settings>> {
    caller.ensure(Action::Configure)?;
    s.validate()?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    if let Some(id) = &s.accounting_module {
        let m = crate::plugins::store::get_module(&mut c, caller.tenant_id, id)
            .await?
            .ok_or_else(|| ApiError::field("accounting_module", format!("no module `{id}` in your tenant (see GET /api/v1/modules?world=accounting-sync)")))?;
        let world = crate::plugins::service::module_view(&mut c, caller.tenant_id, &m).await?.world;
        if world != crate::plugins::manifest::World::AccountingSync {
            return Err(ApiError::field("accounting_module", format!("module `{id}` is a {world} plugin, not accounting-sync")));
        }
    }
    let before = settings_with_schedule(&mut c, &state, &caller).await?;
    store::save_settings(&mut c, caller.tenant_id, &s).await?;
    if s.sync_daily_at != before.sync_daily_at {
        let spec = jobs::kind(&state.jobs, super::SYNC_JOB.as_str())?;
        let input = jobs::ScheduleInput { enabled: s.sync_daily_at.is_some(), daily_at: s.sync_daily_at.clone(), cron: None };
        let saved = jobs::set_schedule(&mut c, spec, caller.tenant_id, &caller.time_zone, &Actor::from(&caller), &input)
            .await
            .map_err(|e| match e {
                JobsError::Schedule { error, .. } => ApiError::field("sync_daily_at", error.to_string()),
                other => other.into(),
            })?;
        s.sync_daily_at = if saved.enabled { saved.daily_at } else { None };
    }
    let id = crate::plugins::service::audit_id("receivables-settings");
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "receivables_settings", id, AuditAction::Update, Some(&before), &s).await?;
    tx.commit().await?;
    Ok(ApiJson(s))
}

// ---------------------------------------------------------------------------------
// "Owed to us"

/// The earliest day a report may be computed for.
const EARLIEST_AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The day a report or document is computed for: `as_of` when given, else today (in the
/// tenant's time zone). It shows the world at the end of that day, which has not ended
/// yet for a day in the future: that, or a day before 1990, is a 422 that says what is
/// allowed.
pub(crate) fn as_of(given: Option<NaiveDate>, today: NaiveDate) -> ApiResult<NaiveDate> {
    let Some(day) = given else { return Ok(today) };
    if day > today {
        return Err(ApiError::field(
            "as_of",
            format!(
                "{day} is in the future: a report shows the world as it was at the end of a day that has passed, or of today ({today}); \
                 give a day from {EARLIEST_AS_OF} to {today}"
            ),
        ));
    }
    if day < EARLIEST_AS_OF {
        return Err(ApiError::field("as_of", format!("{day} is too early: give a day from {EARLIEST_AS_OF} to {today}")));
    }
    Ok(day)
}

async fn aging_query<'a>(c: &mut crate::db::Conn<'_>, caller: &Caller, p: &'a AgingParams, settings: &'a Settings, le_ref: &'a mut Option<String>) -> ApiResult<aging::Query<'a>> {
    if let Some(id) = p.legal_entity_id {
        let le = crate::legal_entities::get(c, caller.tenant_id, id).await?.ok_or_else(|| ApiError::field("legal_entity_id", "no such legal entity in your tenant"))?;
        *le_ref = Some(le.accounting_ref.ok_or_else(|| {
            ApiError::field("legal_entity_id", "this legal entity has no accounting_ref: set its 1C id with PATCH /api/v1/legal-entities/{id}")
        })?);
    }
    Ok(aging::Query {
        as_of: as_of(p.as_of, caller.today())?,
        bounds: &settings.aging_buckets.0,
        legal_entity_ref: le_ref.as_deref(),
        segment: p.segment.as_deref().filter(|s| !s.trim().is_empty()),
        responsible_id: p.responsible_id,
        sort: p.sort,
        offset: 0,
        limit: None,
    })
}

/// "Owed to us": what each client owes by aging bucket, with totals over everything
/// the filters let through. `cursor` continues from `next_cursor`.
#[utoipa::path(get, path = "/receivables/aging", tag = "receivables", params(AgingParams, PageParams),
    responses((status = 200, body = AgingReport), (status = 422, body = Problem)))]
pub(crate) async fn aging_report(State(state): State<AppState>, caller: Caller, Query(p): Query<AgingParams>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<AgingReport>> {
    let limit = page.limit()?;
    let offset = match page.cursor.as_deref() {
        None => 0,
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| ApiError::field("cursor", "is not a cursor returned by this report"))?,
    };
    // The page and its totals from one snapshot, even while a sync commits.
    let mut snapshot = state.db.snapshot().await?;
    let mut c = snapshot.conn();
    let settings = store::settings(&mut c, caller.tenant_id).await?;
    let mut le = None;
    let mut q = aging_query(&mut c, &caller, &p, &settings, &mut le).await?;
    q.offset = offset;
    q.limit = Some(i64::from(limit));
    Ok(ApiJson(aging::report(&mut c, caller.tenant_id, &q).await?))
}

/// Export format.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Xlsx,
    /// `;`-separated, decimal comma, UTF-8 with BOM: opens as is in Excel with Russian settings.
    Csv,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    #[serde(default)]
    pub format: ExportFormat,
}

/// "Owed to us" as a spreadsheet (every row, with totals): XLSX or CSV.
#[utoipa::path(get, path = "/receivables/aging/export", tag = "receivables", params(AgingParams, ExportParams),
    responses((status = 200, description = "The file: XLSX, or CSV with `format=csv`", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))), (status = 422, body = Problem)))]
pub(crate) async fn aging_export(State(state): State<AppState>, caller: Caller, Query(p): Query<AgingParams>, Query(e): Query<ExportParams>) -> ApiResult<Response> {
    let report = {
        let mut snapshot = state.db.snapshot().await?;
        let mut c = snapshot.conn();
        let settings = store::settings(&mut c, caller.tenant_id).await?;
        let mut le = None;
        let q = aging_query(&mut c, &caller, &p, &settings, &mut le).await?;
        aging::report(&mut c, caller.tenant_id, &q).await?
    };
    let name = format!("debitorka-{}", report.as_of);
    let (bytes, ctype, ext) = match e.format {
        ExportFormat::Xlsx => {
            let bytes = tokio::task::spawn_blocking(move || super::export::xlsx(&report))
                .await
                .map_err(|e| ApiError::Internal(e.into()))?
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing the XLSX: {e}")))?;
            (bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
        }
        ExportFormat::Csv => (super::export::csv(&report).into_bytes(), "text/csv; charset=utf-8", "csv"),
    };
    Ok(file_response(bytes, ctype, &format!("{name}.{ext}")))
}

fn file_response(bytes: Vec<u8>, content_type: &str, file_name: &str) -> Response {
    let disposition = crate::api::download::content_disposition("attachment", file_name);
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type.to_string())], [(header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
}

// ---------------------------------------------------------------------------------
// A client's receivables

/// A payment applied to a document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppliedPaymentView {
    pub payment_id: PaymentId,
    pub number: String,
    pub paid_on: NaiveDate,
    pub amount: Money,
    /// The accounting system named this document (rather than oldest-due-first).
    pub named: bool,
}

/// One debt with the work done on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DebtDocument {
    #[serde(flatten)]
    pub document: SalesDocument,
    /// `null` without a contract.
    pub contract: Option<String>,
    pub paid: Money,
    pub days_overdue: i64,
    /// The aging bucket's key (`not_due`, `1_30`, …; `paid` once paid off).
    pub bucket: String,
    /// The date of the payment that paid it off.
    pub settled_on: Option<NaiveDate>,
    pub payments: Vec<AppliedPaymentView>,
    /// Tasks about this document.
    pub tasks: Vec<Task>,
    /// Interactions about this document.
    pub interactions: Vec<Interaction>,
}

/// A client's debts, each with its payments and the work on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientReceivables {
    pub counterparty_id: CounterpartyId,
    pub summary: DebtSummary,
    /// Open documents, oldest due first (and, with `include_paid`, the paid ones after them).
    pub documents: Vec<DebtDocument>,
    /// Payments (or parts) no document took.
    pub advances: Vec<Payment>,
    /// Open tasks on the client not tied to one document.
    pub tasks: Vec<Task>,
    /// The latest interactions with the client not tied to one document.
    pub interactions: Vec<Interaction>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceivablesParams {
    /// Also list documents already paid.
    #[serde(default)]
    pub include_paid: bool,
    /// Show the client as at the end of this day: documents issued by then, payments made
    /// by then, allocated as they stood; ages counted to it (default: today; a day in the
    /// future is refused).
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub as_of: Option<NaiveDate>,
}

fn bucket_key(days: i64, bounds: &[i32]) -> String {
    let mut all = aging::buckets(bounds);
    all.swap_remove(aging::bucket_of(days, bounds)).key
}

/// Drill-down of "Owed to us": a client's debts, the payments on each, and the tasks
/// and interactions on each (and on the client as a whole).
#[utoipa::path(get, path = "/counterparties/{id}/receivables", tag = "receivables", params(("id" = CounterpartyId, Path), ReceivablesParams),
    responses((status = 200, body = ClientReceivables), (status = 404, body = Problem)))]
pub(crate) async fn counterparty_receivables(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CounterpartyId>,
    Query(p): Query<ReceivablesParams>,
) -> ApiResult<ApiJson<ClientReceivables>> {
    let as_of = as_of(p.as_of, caller.today())?;
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    crate::counterparties::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    let settings = store::settings(&mut c, caller.tenant_id).await?;
    let (ledger, contracts) = ledger::load(&mut c, caller.tenant_id, id).await?;
    // The documents and payments as the API shows them (the ledger keeps lean copies).
    let mut full_docs: HashMap<SalesDocumentId, SalesDocument> = store::documents_of(&mut c, caller.tenant_id, &[id]).await?.into_iter().map(|d| (d.id, d)).collect();
    let mut full_pays: HashMap<PaymentId, Payment> = store::payments_of(&mut c, caller.tenant_id, &[id]).await?.into_iter().map(|p| (p.id, p)).collect();
    let work = WorkOn::load(&mut c, &caller, id).await?;
    let mut sums = super::model::DebtSums::default();
    let mut documents = Vec::new();
    let at = ledger.at(as_of);
    for i in 0..ledger.docs.len() {
        let Some((open, settled_on)) = at.balance(i) else { continue };
        let d = &ledger.docs[i];
        if open == Money::ZERO && !p.include_paid {
            continue;
        }
        let days_overdue = if open > Money::ZERO { (as_of - d.due_on).num_days().max(0) } else { 0 };
        if open > Money::ZERO {
            *sums.total.get_or_insert(0) += open.minor();
            *sums.open_documents.get_or_insert(0) += 1;
            if d.due_on < as_of {
                *sums.overdue.get_or_insert(0) += open.minor();
                *sums.overdue_documents.get_or_insert(0) += 1;
                sums.oldest_overdue_due_on = Some(sums.oldest_overdue_due_on.map_or(d.due_on, |x| x.min(d.due_on)));
            }
        }
        let applied = at.applied_to(i);
        let paid = applied.iter().fold(Money::ZERO, |a, x| a.checked_add(x.amount).unwrap_or(a));
        let Some(mut document) = full_docs.remove(&d.id) else { continue };
        // As of the day asked, not as of the last settlement.
        document.open_amount = open;
        document.due_on = d.due_on;
        documents.push(DebtDocument {
            settled_on,
            contract: d.contract_id.and_then(|k| contracts.get(&k)).map(claim::contract_label),
            paid,
            days_overdue,
            bucket: if open > Money::ZERO { bucket_key((as_of - d.due_on).num_days(), &settings.aging_buckets.0) } else { "paid".into() },
            payments: applied
                .iter()
                .map(|a| AppliedPaymentView { payment_id: a.payment.id, number: a.payment.number.clone(), paid_on: a.payment.paid_on, amount: a.amount, named: a.named })
                .collect(),
            tasks: work.tasks.get(&d.id).cloned().unwrap_or_default(),
            interactions: work.interactions.get(&d.id).cloned().unwrap_or_default(),
            document,
        });
    }
    documents.sort_by(|a, b| {
        (a.document.open_amount == Money::ZERO, a.document.due_on, &a.document.number).cmp(&(b.document.open_amount == Money::ZERO, b.document.due_on, &b.document.number))
    });
    let mut advances = Vec::new();
    for (i, left) in at.unapplied() {
        if left > Money::ZERO {
            let Some(mut pay) = full_pays.remove(&ledger.payments[i].id) else { continue };
            pay.unapplied = left;
            sums.advance = Some(sums.advance.unwrap_or(0) + left.minor());
            advances.push(pay);
        }
    }
    Ok(ApiJson(ClientReceivables {
        counterparty_id: id,
        summary: DebtSummary::from_sums(&sums, as_of),
        documents,
        advances,
        tasks: work.client_tasks,
        interactions: work.client_interactions,
    }))
}

/// Tasks and interactions on a client, by the document they are about.
struct WorkOn {
    tasks: HashMap<SalesDocumentId, Vec<Task>>,
    interactions: HashMap<SalesDocumentId, Vec<Interaction>>,
    client_tasks: Vec<Task>,
    client_interactions: Vec<Interaction>,
}

impl WorkOn {
    async fn load(c: &mut crate::db::Conn<'_>, caller: &Caller, cp: CounterpartyId) -> ApiResult<WorkOn> {
        let filter = crate::tasks::store::Filter { counterparty_id: Some(cp), ..Default::default() };
        let all_tasks = crate::tasks::store::list(c, caller.tenant_id, &filter, uuid::Uuid::max(), 500).await?;
        let ifilter = crate::interactions::Filter { counterparty_id: Some(cp), ..Default::default() };
        let all_interactions = crate::interactions::list(c, caller.tenant_id, &ifilter, uuid::Uuid::max(), 200).await?;
        let mut w = WorkOn { tasks: HashMap::new(), interactions: HashMap::new(), client_tasks: Vec::new(), client_interactions: Vec::new() };
        for t in all_tasks {
            match t.sales_document_id {
                Some(d) => w.tasks.entry(d).or_default().push(t),
                None if !t.status.is_closed() => w.client_tasks.push(t),
                None => {}
            }
        }
        for i in all_interactions {
            match i.sales_document_id {
                Some(d) => w.interactions.entry(d).or_default().push(i),
                None if w.client_interactions.len() < 20 => w.client_interactions.push(i),
                None => {}
            }
        }
        Ok(w)
    }
}

/// A payer rating with everything behind it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatingExplanation {
    pub counterparty_id: CounterpartyId,
    #[serde(flatten)]
    pub rating: Rating,
    /// Upper bounds of the weighted delay (days) for 5, 4, 3 and 2 stars.
    pub thresholds: Vec<StarThreshold>,
    /// The formula in words (Russian).
    pub formula: String,
}

/// Up to `max_delay_days` of weighted delay earns `stars`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StarThreshold {
    pub stars: u8,
    pub max_delay_days: i64,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// The day to compute for (default: today in the tenant's time zone).
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub as_of: Option<NaiveDate>,
}

/// Why a client has the stars it has: every payment and overdue balance that counted,
/// with its delay, the weighted delay and the thresholds.
#[utoipa::path(get, path = "/counterparties/{id}/rating", tag = "receivables", params(("id" = CounterpartyId, Path), AsOfParams),
    responses((status = 200, body = RatingExplanation), (status = 404, body = Problem)))]
async fn counterparty_rating(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>, Query(p): Query<AsOfParams>) -> ApiResult<ApiJson<RatingExplanation>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    crate::counterparties::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    let settings = store::settings(&mut c, caller.tenant_id).await?;
    let (ledger, _) = ledger::load(&mut c, caller.tenant_id, id).await?;
    let window = u32::try_from(settings.rating_window_days).unwrap_or(365);
    let rating = ledger.rating(as_of(p.as_of, caller.today())?, window);
    Ok(ApiJson(RatingExplanation {
        counterparty_id: id,
        rating,
        thresholds: rating::THRESHOLDS.iter().map(|&(stars, max)| StarThreshold { stars, max_delay_days: max }).collect(),
        formula: format!(
            "Учитываются оплаты за последние {window} дн. и всё, что просрочено и не оплачено на дату расчёта. Для каждой оплаты задержка — \
             дней от срока оплаты документа (с учётом индивидуальной отсрочки) до даты оплаты, не меньше нуля; для неоплаченного остатка — \
             дней от срока до даты расчёта. Средневзвешенная задержка = Σ(сумма × задержка) / Σ сумма. \
             ★★★★★ — до 1 дня, ★★★★ — до 7, ★★★ — до 30, ★★ — до 90, ★ — больше 90 дней."
        ),
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PenaltyParams {
    /// Penalties run to this day inclusive, on the world as it was at its end: documents
    /// issued and payments made by then (default: today in the tenant's time zone; a day
    /// in the future is refused).
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub as_of: Option<NaiveDate>,
}

/// Penalties on a client's documents overdue by `as_of` — still owed past the due date,
/// or paid after it (the penalty stays due after the principal is paid) — each by its
/// contract's terms (art. 395 of the Civil Code when a document has no contract), with a
/// breakdown by period, and a warning when a key-rate calculation runs past the day the
/// key-rate table is known to be current through.
#[utoipa::path(get, path = "/counterparties/{id}/penalties", tag = "receivables", params(("id" = CounterpartyId, Path), PenaltyParams),
    responses((status = 200, body = PenaltyReport), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn counterparty_penalties(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>, Query(p): Query<PenaltyParams>) -> ApiResult<ApiJson<PenaltyReport>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    crate::counterparties::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    let (ledger, contracts) = ledger::load(&mut c, caller.tenant_id, id).await?;
    let rates = claim::tenant_rates(&mut c, caller.tenant_id).await?;
    Ok(ApiJson(claim::penalties(&ledger, &contracts, &rates, as_of(p.as_of, caller.today())?, None)?))
}

/// How the claim letter is made.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimParams {
    /// `pdf` (default) or `html`.
    pub format: Option<String>,
    /// The letter's date; the debts are those of the end of that day and penalties run to
    /// it (default: today; a day in the future is refused).
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub as_of: Option<NaiveDate>,
    /// Our legal entity that claims; needed when the client's debts are to several.
    pub legal_entity_id: Option<crate::legal_entities::LegalEntityId>,
    /// Calendar days to pay (default: the tenant's `claim_deadline_days`).
    pub deadline_days: Option<u32>,
    /// How the deadline is worded (default: the tenant's `claim_deadline_mode`).
    #[param(inline)]
    pub deadline_mode: Option<super::model::DeadlineMode>,
    /// Who signs: `attorney` (the representative by power of attorney, the default when the
    /// legal entity has one) or `head`.
    #[param(inline)]
    pub signer: Option<claim::Signer>,
    /// Outgoing number printed on the letter.
    pub number: Option<String>,
    /// Store the letter as a document on the client, with a timeline entry, and answer
    /// `201` with the stored letter (`GET /claim-letters/{id}`; record the day it was sent
    /// with `PATCH /claim-letters/{id}`). Managers may save letters only to their own clients.
    #[serde(default)]
    pub save: bool,
}

/// The claim letter (претензия) for a client's debts overdue by `as_of`: both parties'
/// requisites, the documents (still owed, or paid late for a penalties-only claim), the
/// penalty breakdown, the demand and the deadline, signed for our legal entity — in
/// Russian, as PDF or HTML. With `save=true` the letter is stored on the client.
#[utoipa::path(get, path = "/counterparties/{id}/claim-letter", tag = "receivables", params(("id" = CounterpartyId, Path), ClaimParams),
    responses((status = 200, description = "The letter: PDF, or HTML with `format=html`", content(("application/pdf"), ("text/html"))),
        (status = 201, description = "With `save=true`: the letter as stored on the client", body = super::letters::StoredLetter),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn claim_letter(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>, Query(p): Query<ClaimParams>) -> ApiResult<Response> {
    let html = crate::templates::routes::document_format(p.format.as_deref(), "the letter")? == crate::templates::Format::Html;
    let as_of = as_of(p.as_of, caller.today())?;
    let built = super::claim::letter(&state, &caller, id, as_of, &p).await?;
    if p.save {
        caller.ensure_owns(&[built.counterparty.responsible_id], "counterparty")?;
    }
    let format = if html { Format::Html } else { Format::Pdf };
    // The tenant's own template of the letter, or the shipped default.
    let bytes = crate::templates::routes::tenant_document(&state, caller.tenant_id, &super::claim_letter::TEMPLATE, built.letter.context(), format).await?;
    let file_name = format!("pretenziya-{as_of}.{}", format.extension());
    if p.save {
        let stored = super::letters::store_letter(&state, &caller, &built, bytes, format.content_type(), &file_name).await?;
        return Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/claim-letters/{}", stored.id))], ApiJson(stored)).into_response());
    }
    Ok(file_response(bytes, format.content_type(), &file_name))
}

// ---------------------------------------------------------------------------------
// Contracts, documents, payments, key rates

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByCounterparty {
    pub counterparty_id: Option<CounterpartyId>,
}

/// List contracts (synced from the accounting system), newest first.
#[utoipa::path(get, path = "/contracts", tag = "receivables", params(ByCounterparty, PageParams), responses((status = 200, body = Page<Contract>)))]
async fn list_contracts(State(state): State<AppState>, caller: Caller, Query(f): Query<ByCounterparty>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<Contract>>> {
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = store::list_contracts(&mut c.conn(), caller.tenant_id, f.counterparty_id, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id.0)))
}

/// Read a contract.
#[utoipa::path(get, path = "/contracts/{id}", tag = "receivables", params(("id" = ContractId, Path)),
    responses((status = 200, body = Contract), (status = 404, body = Problem)))]
async fn get_contract(State(state): State<AppState>, caller: Caller, Path(id): Path<ContractId>) -> ApiResult<ApiJson<Contract>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get_contract(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("contract"))?))
}

/// Set a contract's penalty terms (a JSON merge patch of `penalty_kind`, `penalty_rate`,
/// `penalty_cap_percent`). Everything else comes from the accounting system.
#[utoipa::path(patch, path = "/contracts/{id}", tag = "receivables", params(("id" = ContractId, Path)),
    request_body(content = PenaltyTerms, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Contract), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_contract(State(state): State<AppState>, caller: Caller, Path(id): Path<ContractId>, ApiJson(patch): ApiJson<serde_json::Value>) -> ApiResult<ApiJson<Contract>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get_contract(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("contract"))?;
    if !caller.is_lead() {
        return Err(ApiError::Forbidden("Only admins and heads set a contract's penalty terms.".into()));
    }
    let mut terms: PenaltyTerms = apply_patch(&PenaltyTerms::from(&before), &patch)?;
    terms.validate()?;
    let after = store::set_penalty_terms(&mut c, caller.tenant_id, id, &terms).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "contract", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentFilter {
    pub counterparty_id: Option<CounterpartyId>,
    /// Only documents still owed.
    #[serde(default)]
    pub open: bool,
    /// Only documents owed past their due date.
    #[serde(default)]
    pub overdue: bool,
}

/// List sales documents, newest first.
#[utoipa::path(get, path = "/sales-documents", tag = "receivables", params(DocumentFilter, PageParams), responses((status = 200, body = Page<SalesDocument>)))]
async fn list_documents(State(state): State<AppState>, caller: Caller, Query(f): Query<DocumentFilter>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<SalesDocument>>> {
    let limit = page.limit()?;
    let filter = store::DocFilter { counterparty_id: f.counterparty_id, open: f.open, overdue_on: f.overdue.then(|| caller.today()) };
    let mut c = state.db.read().await?;
    let rows = store::list_documents(&mut c.conn(), caller.tenant_id, filter, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id.0)))
}

/// Read a sales document.
#[utoipa::path(get, path = "/sales-documents/{id}", tag = "receivables", params(("id" = SalesDocumentId, Path)),
    responses((status = 200, body = SalesDocument), (status = 404, body = Problem)))]
pub(crate) async fn get_document(State(state): State<AppState>, caller: Caller, Path(id): Path<SalesDocumentId>) -> ApiResult<ApiJson<SalesDocument>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get_document(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("sales document"))?))
}

/// List incoming payments, newest first.
#[utoipa::path(get, path = "/payments", tag = "receivables", params(ByCounterparty, PageParams), responses((status = 200, body = Page<Payment>)))]
async fn list_payments(State(state): State<AppState>, caller: Caller, Query(f): Query<ByCounterparty>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<Payment>>> {
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = store::list_payments(&mut c.conn(), caller.tenant_id, f.counterparty_id, page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id.0)))
}

/// Read a payment.
#[utoipa::path(get, path = "/payments/{id}", tag = "receivables", params(("id" = PaymentId, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem)))]
async fn get_payment(State(state): State<AppState>, caller: Caller, Path(id): Path<PaymentId>) -> ApiResult<ApiJson<Payment>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get_payment(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("payment"))?))
}

/// One key-rate decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyRate {
    pub effective_from: NaiveDate,
    /// Percent per annum, with two decimals.
    #[schema(example = "16.00")]
    pub rate: String,
    /// `operator` (the server's table, shared by every tenant) or `tenant` (added by your
    /// admin; it applies to your tenant only).
    pub source: String,
}

/// A rate as shown: percent per annum with two decimals (`16.50`).
pub fn rate_text(rate: &str) -> String {
    rate.parse::<rust_decimal::Decimal>().map_or_else(|_| rate.to_string(), |r| format!("{:.2}", r.round_dp(2)))
}

/// The Bank of Russia key-rate table your penalties use: the operator's decisions (added
/// with `crm admin set-key-rate`) and your admin's own (`POST /key-rates`).
#[utoipa::path(get, path = "/key-rates", tag = "receivables", responses((status = 200, body = Vec<KeyRate>)))]
async fn list_key_rates(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<KeyRate>>> {
    let mut c = state.db.read().await?;
    let rows = store::key_rates_of(&mut c.conn(), caller.tenant_id).await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|r| KeyRate { effective_from: r.effective_from, rate: rate_text(&r.rate), source: if r.tenant_own { "tenant" } else { "operator" }.into() })
            .collect(),
    ))
}

/// How current the key-rate table is known to be.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyRateStatus {
    /// The table is known to be current through this day: the later of the operator's
    /// confirmation and your admin's. A penalty calculated past it carries a warning.
    pub current_through: Option<NaiveDate>,
    /// The operator's confirmation (`crm admin set-key-rate`, `crm admin confirm-key-rates`).
    pub operator_current_through: Option<NaiveDate>,
    pub operator_confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Your admin's confirmation (`POST /key-rates`, `POST /key-rates/confirm`).
    pub tenant_current_through: Option<NaiveDate>,
    pub tenant_confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub tenant_confirmed_by: Option<crate::tenancy::UserId>,
    /// The latest decision in the table.
    pub latest: Option<KeyRate>,
    /// Days from `current_through` to today (0 when confirmed today).
    pub days_since_confirmed: Option<i64>,
}

async fn key_rate_status(c: &mut crate::db::Conn<'_>, caller: &Caller) -> ApiResult<KeyRateStatus> {
    let operator = store::key_rates_status(c).await?;
    let own = store::tenant_key_rates_status(c, caller.tenant_id).await?;
    let rows = store::key_rates_of(c, caller.tenant_id).await?;
    let current = operator.as_ref().map(|o| o.0).max(own.as_ref().map(|o| o.0));
    Ok(KeyRateStatus {
        current_through: current,
        operator_current_through: operator.as_ref().map(|o| o.0),
        operator_confirmed_at: operator.as_ref().map(|o| o.1),
        tenant_current_through: own.as_ref().map(|o| o.0),
        tenant_confirmed_at: own.as_ref().map(|o| o.1),
        tenant_confirmed_by: own.as_ref().map(|o| o.2),
        latest: rows.last().map(|r| KeyRate { effective_from: r.effective_from, rate: rate_text(&r.rate), source: if r.tenant_own { "tenant" } else { "operator" }.into() }),
        days_since_confirmed: current.map(|d| (caller.today() - d).num_days().max(0)),
    })
}

/// The day through which the key-rate table is known to be current, and who said so.
#[utoipa::path(get, path = "/key-rates/status", tag = "receivables", responses((status = 200, body = KeyRateStatus)))]
async fn get_key_rate_status(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<KeyRateStatus>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(key_rate_status(&mut c.conn(), &caller).await?))
}

/// A key-rate decision an admin adds for the tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRateInput {
    /// The first day the rate applies.
    #[serde(deserialize_with = "crate::dates::strict")]
    pub effective_from: NaiveDate,
    /// Percent per annum, e.g. `"16.5"`.
    #[schema(example = "16.5")]
    pub rate: String,
}

/// Add (or correct) a Bank of Russia key-rate decision for your tenant (admins); it also
/// confirms the table is current through today. It applies to your tenant's penalties
/// only, on top of the operator's table.
#[utoipa::path(post, path = "/key-rates", tag = "receivables", request_body = KeyRateInput,
    responses((status = 200, body = KeyRateStatus), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_key_rate(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<KeyRateInput>) -> ApiResult<ApiJson<KeyRateStatus>> {
    caller.ensure(Action::Configure)?;
    let rate = input
        .rate
        .trim()
        .replace(',', ".")
        .parse::<rust_decimal::Decimal>()
        .ok()
        .filter(|r| !r.is_sign_negative() && *r <= rust_decimal::Decimal::from(100) && r.scale() <= 2)
        .ok_or_else(|| ApiError::field("rate", "must be a percent per annum from 0 to 100 with at most two decimals, written as a string, e.g. \"16.5\""))?;
    let today = caller.today();
    if input.effective_from > today + chrono::Days::new(366) || input.effective_from < EARLIEST_AS_OF {
        return Err(ApiError::field("effective_from", format!("must be from {EARLIEST_AS_OF} to a year after today")));
    }
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    store::set_tenant_key_rate(&mut c, caller.tenant_id, input.effective_from, &format!("{rate:.2}"), caller.user_id).await?;
    store::confirm_tenant_key_rates(&mut c, caller.tenant_id, today, caller.user_id).await?;
    let after = serde_json::json!({"effective_from": input.effective_from, "rate": format!("{rate:.2}"), "current_through": today});
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "key_rate", crate::plugins::service::audit_id("key-rates"), AuditAction::Update, None, &after).await?;
    let status = key_rate_status(&mut c, &caller).await?;
    tx.commit().await?;
    Ok(ApiJson(status))
}

/// Confirm the table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRateConfirm {
    /// The table is current through this day (default: today; not after today).
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub through: Option<NaiveDate>,
}

/// Confirm that the key-rate table is current (no decision since its latest) through a
/// day, today by default (admins): penalties calculated up to that day carry no warning.
#[utoipa::path(post, path = "/key-rates/confirm", tag = "receivables", request_body = KeyRateConfirm,
    responses((status = 200, body = KeyRateStatus), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn confirm_key_rates(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<KeyRateConfirm>) -> ApiResult<ApiJson<KeyRateStatus>> {
    caller.ensure(Action::Configure)?;
    let today = caller.today();
    let through = input.through.unwrap_or(today);
    if through > today {
        return Err(ApiError::field("through", format!("{through} is in the future: the table can be confirmed up to today ({today})")));
    }
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    store::confirm_tenant_key_rates(&mut c, caller.tenant_id, through, caller.user_id).await?;
    let after = serde_json::json!({"current_through": through});
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "key_rate", crate::plugins::service::audit_id("key-rates"), AuditAction::Update, None, &after).await?;
    let status = key_rate_status(&mut c, &caller).await?;
    tx.commit().await?;
    Ok(ApiJson(status))
}
