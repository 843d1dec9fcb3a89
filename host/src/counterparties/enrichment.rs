//! Filling a counterparty card from a company registry by ИНН, through the tenant's
//! inn-enrichment plugin: "create by ИНН" and "refresh from registry". The ИНН's check
//! digits are verified before any outbound call; a field a person edited is kept
//! unless the refresh is asked to overwrite it; the audit log names the plugin.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::Path;
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, ActorKind, AuditAction};
use crate::plugins::manifest::World;
use crate::plugins::runtime::CallError;
use crate::plugins::service as plugins;
use crate::plugins::worlds::PluginError;
use crate::plugins::worlds::enrichment::{Company, CompanyStatus, Lookup, PartyKind};
use crate::tenancy::{Action, Caller, UserId};

use super::model::{Counterparty, CounterpartyId, CounterpartyInput, CounterpartyKind};
use super::{requisites, store};

/// Requisites the registry provides and a person may also edit.
pub const REGISTRY_FIELDS: &[&str] = &["kpp", "ogrn", "full_name", "short_name", "legal_address"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_by_inn)).routes(routes!(refresh_from_registry))
}

/// The registry fields a person has set by hand after this edit.
pub fn manual_fields(before: Option<&CounterpartyInput>, after: &CounterpartyInput, previous: &[String]) -> Vec<String> {
    let a = serde_json::to_value(after).unwrap_or_default();
    let b = before.map(|b| serde_json::to_value(b).unwrap_or_default());
    let mut out: Vec<String> = previous.to_vec();
    for f in REGISTRY_FIELDS {
        let changed = match &b {
            None => !a[*f].is_null(),
            Some(b) => b[*f] != a[*f],
        };
        if changed && !out.iter().any(|x| x == f) {
            out.push((*f).to_string());
        }
    }
    out.sort();
    out
}

fn status_str(s: CompanyStatus) -> &'static str {
    match s {
        CompanyStatus::Active => "active",
        CompanyStatus::Liquidating => "liquidating",
        CompanyStatus::Liquidated => "liquidated",
        CompanyStatus::Bankrupt => "bankrupt",
        CompanyStatus::Reorganizing => "reorganizing",
        CompanyStatus::Unknown => "unknown",
    }
}

fn date(field: &str, v: &Option<String>) -> ApiResult<Option<NaiveDate>> {
    v.as_deref()
        .map(crate::dates::parse)
        .transpose()
        .map_err(|_| ApiError::Upstream(format!("The registry plugin returned an invalid {field} date")))
}

/// The plugin's answer, checked like any other input.
fn input_from(co: &Company, base: Option<&CounterpartyInput>) -> ApiResult<CounterpartyInput> {
    let mut input = base.cloned().unwrap_or(CounterpartyInput {
        kind: CounterpartyKind::LegalEntity,
        inn: None,
        kpp: None,
        ogrn: None,
        full_name: String::new(),
        short_name: None,
        legal_address: None,
        postal_address: None,
        bank_name: None,
        bank_bic: None,
        bank_account: None,
        bank_corr_account: None,
        segment: None,
        responsible_id: None,
        payment_deferral_days: 0,
        tags: vec![],
    });
    input.kind = match co.kind {
        PartyKind::LegalEntity => CounterpartyKind::LegalEntity,
        PartyKind::SoleProprietor => CounterpartyKind::SoleProprietor,
    };
    input.inn = Some(co.inn.clone());
    input.kpp = co.kpp.clone();
    input.ogrn = co.ogrn.clone();
    input.full_name = co.full_name.clone();
    input.short_name = co.short_name.clone();
    input.legal_address = co.legal_address.clone();
    input.normalize_and_validate().map_err(|e| {
        ApiError::Upstream(format!(
            "The registry plugin returned invalid data ({})",
            e.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
        ))
    })?;
    Ok(input)
}

/// Which module instance answered, for the audit log.
struct Answer {
    module_id: String,
    plugin_id: String,
    version: String,
}

fn plugin_actor(caller: &Caller, answer: &Answer) -> Actor {
    let instance = if answer.module_id == answer.plugin_id { String::new() } else { format!(", модуль {}", answer.module_id) };
    Actor {
        kind: ActorKind::Plugin,
        id: Some(caller.user_id.0),
        label: format!("{} {}{instance} (по запросу: {})", answer.plugin_id, answer.version, caller.name),
        request_id: caller.request_id.clone(),
    }
}

const NO_REGISTRY: &str = "No company-registry (inn-enrichment) module is enabled for your tenant; an admin enables one with \
                           PUT /api/v1/modules/inn-dadata.";

/// Asks the tenant's company-registry module (the one named, else the only one enabled).
async fn ask(state: &AppState, caller: &Caller, inn: &str, kpp: Option<&str>, module: Option<&str>) -> ApiResult<(Company, Answer)> {
    if let Err(e) = requisites::check_inn(inn) {
        return Err(ApiError::field("inn", format!("ИНН {e}")));
    }
    let m = plugins::resolve(state, caller.tenant_id, World::InnEnrichment, module, NO_REGISTRY).await.map_err(|e| match e {
        plugins::ModuleError::NotConfigured(detail) if detail.starts_with("Several") => {
            ApiError::Conflict { detail: format!("{detail} Name it in `module`."), field: Some("module".into()) }
        }
        other => other.into(),
    })?;
    let answer = Answer { module_id: m.module_id.clone(), plugin_id: m.plugin_id.clone(), version: m.version.clone() };
    let company = match m.call(state, Lookup { inn: inn.to_string(), kpp: kpp.map(str::to_string) }).await {
        Ok(c) => c,
        Err(CallError::Plugin(PluginError::NotFound(_))) => None,
        Err(CallError::Busy(why)) => return Err(ApiError::Busy(why)),
        // The module's settings or grants are wrong: retrying will not help, an admin
        // changes them; the message says what (the exact host to allow, say).
        Err(CallError::Plugin(PluginError::AccessDenied(why) | PluginError::Misconfigured(why) | PluginError::InvalidInput(why))) => {
            return Err(ApiError::Conflict {
                detail: format!("The {} module is not set up to answer: {why}. An admin fixes it with PUT /api/v1/modules/{}.", m.module_id, m.module_id),
                field: None,
            });
        }
        Err(e) => return Err(ApiError::Upstream(format!("The {} module failed: {e}", m.module_id))),
    };
    let company = company.ok_or_else(|| ApiError::field("inn", "the company registry has no company with this ИНН"))?;
    if company.inn != inn {
        return Err(ApiError::Upstream(format!("The registry plugin answered about ИНН {} instead of {inn}", company.inn)));
    }
    Ok((company, answer))
}

/// Create a counterparty from its ИНН alone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ByInn {
    #[schema(example = "7719402047")]
    pub inn: String,
    /// Picks a branch.
    pub kpp: Option<String>,
    pub responsible_id: Option<UserId>,
    pub segment: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub payment_deferral_days: i32,
    /// The company-registry module instance to ask; needed only when several are enabled.
    pub module: Option<String>,
}

/// Create a counterparty from nothing but its ИНН: the tenant's company-registry plugin
/// fills in the names, КПП, ОГРН, address, head, status and ОКВЭД.
#[utoipa::path(post, path = "/counterparties/by-inn", tag = "counterparties", request_body = ByInn,
    responses((status = 201, body = Counterparty), (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)))]
async fn create_by_inn(State(state): State<AppState>, caller: Caller, ApiJson(req): ApiJson<ByInn>) -> ApiResult<(StatusCode, ApiJson<Counterparty>)> {
    caller.ensure(Action::WriteCrm)?;
    let inn = req.inn.trim().to_string();
    let kpp = req.kpp.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let (company, answer) = ask(&state, &caller, &inn, kpp, req.module.as_deref()).await?;
    // Asked for a branch, the registry may answer with the head office: that is not the
    // card asked for (and creating it would clash with the head office's own card).
    if let Some(kpp) = kpp
        && company.kpp.as_deref() != Some(kpp)
    {
        let answered = match (&company.branch_type, company.kpp.as_deref()) {
            (Some(crate::plugins::worlds::enrichment::BranchType::Branch), Some(k)) => format!("a branch with КПП {k}"),
            (_, Some(k)) => format!("the head office (КПП {k})"),
            (_, None) => "a company without a КПП".to_string(),
        };
        return Err(ApiError::field(
            "kpp",
            format!(
                "the company registry has no branch with КПП {kpp} for ИНН {inn}: it answered with {answered}. Create the branch's card by hand \
                 (POST /api/v1/counterparties with its КПП), or leave kpp out to take the head office"
            ),
        ));
    }
    let mut input = input_from(&company, None)?;
    input.responsible_id = req.responsible_id;
    input.segment = req.segment;
    input.tags = req.tags;
    input.payment_deferral_days = req.payment_deferral_days;
    input.normalize_and_validate()?;
    // The outbound call is done: only now take the write transaction.
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    super::routes::check_refs(&mut c, &caller, &input, None).await?;
    let id = CounterpartyId::new();
    store::insert(&mut c, caller.tenant_id, id, &input).await?;
    let cp = store::set_registry(&mut c, caller.tenant_id, id, &registry(&company)?).await?;
    audit::record(&mut c, caller.tenant_id, &plugin_actor(&caller, &answer), "counterparty", id.0, AuditAction::Create, None, &cp).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(cp)))
}

fn registry(co: &Company) -> ApiResult<store::RegistryData<'_>> {
    Ok(store::RegistryData {
        status: status_str(co.status),
        head_name: co.head_name.as_deref(),
        head_post: co.head_post.as_deref(),
        okved: co.okved.as_deref(),
        registered_on: date("registered-on", &co.registered_on)?,
        liquidated_on: date("liquidated-on", &co.liquidated_on)?,
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Also replace requisites a person edited by hand (listed in `manual_fields`).
    #[serde(default)]
    pub overwrite: bool,
    /// The company-registry module instance to ask; needed only when several are enabled.
    pub module: Option<String>,
}

/// What a refresh changed and what it kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshReport {
    pub counterparty: Counterparty,
    /// Requisites replaced with the registry's values.
    pub updated: Vec<String>,
    /// Requisites that differ in the registry but were kept because a person set them.
    pub kept: Vec<String>,
}

/// Fills card `id` from the company registry as the caller (a spreadsheet import's new cards).
pub(crate) async fn refresh(state: &AppState, caller: &Caller, id: CounterpartyId) -> ApiResult<()> {
    let req = RefreshRequest { overwrite: false, module: None };
    refresh_from_registry(State(state.clone()), caller.clone(), Path(id), ApiJson(req)).await.map(|_| ())
}

/// Refresh a counterparty from the company registry. Fields a person edited are kept
/// unless `overwrite` is true; registry status, head and ОКВЭД are always refreshed.
#[utoipa::path(post, path = "/counterparties/{id}/refresh", tag = "counterparties", params(("id" = CounterpartyId, Path)),
    request_body = RefreshRequest,
    responses((status = 200, body = RefreshReport), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)))]
async fn refresh_from_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CounterpartyId>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<RefreshReport>> {
    let before = {
        let mut c = state.db.read().await?;
        store::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?
    };
    caller.ensure_owns(&[before.responsible_id], "counterparty")?;
    let inn = before.inn.clone().ok_or_else(|| ApiError::field("inn", "this counterparty has no ИНН to look up; set one first"))?;
    let (company, answer) = ask(&state, &caller, &inn, before.kpp.as_deref(), req.module.as_deref()).await?;
    let current = CounterpartyInput::from(&before);
    let registry_view = serde_json::to_value(input_from(&company, Some(&current))?).unwrap_or_default();
    let current_view = serde_json::to_value(&current).unwrap_or_default();
    let mut next_view = current_view.clone();
    let (mut updated, mut kept) = (Vec::new(), Vec::new());
    for f in REGISTRY_FIELDS {
        if registry_view[*f] == current_view[*f] {
            continue;
        }
        if before.manual_fields.iter().any(|m| m == f) && !req.overwrite {
            kept.push((*f).to_string());
        } else {
            next_view[*f] = registry_view[*f].clone();
            updated.push((*f).to_string());
        }
    }
    let mut next: CounterpartyInput = serde_json::from_value(next_view).map_err(|e| ApiError::Internal(e.into()))?;
    next.normalize_and_validate().map_err(|e| ApiError::Conflict {
        detail: format!(
            "The registry's data does not fit with the fields kept by hand ({}); refresh with overwrite: true or fix the card",
            e.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
        ),
        field: None,
    })?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let fresh = store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    if fresh.updated_at != before.updated_at {
        return Err(ApiError::Conflict { detail: "The card changed while the registry was being asked; refresh again.".into(), field: None });
    }
    super::routes::check_refs(&mut c, &caller, &next, Some(id)).await.or_else(|e| match e {
        // The responsible user may have left since; the refresh does not touch them.
        ApiError::Validation(ref errs) if errs.iter().all(|x| x.field == "responsible_id") => Ok(()),
        other => Err(other),
    })?;
    store::update(&mut c, caller.tenant_id, id, &next).await?;
    if req.overwrite {
        let manual: Vec<String> = before.manual_fields.iter().filter(|f| !updated.contains(f)).cloned().collect();
        store::set_manual_fields(&mut c, caller.tenant_id, id, &manual).await?;
    }
    let after = store::set_registry(&mut c, caller.tenant_id, id, &registry(&company)?).await?;
    audit::record(&mut c, caller.tenant_id, &plugin_actor(&caller, &answer), "counterparty", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(RefreshReport { counterparty: after, updated, kept }))
}
