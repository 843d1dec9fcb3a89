//! Change of credit terms: a returning client's new terms start from a copy of the deal
//! being changed. The copy is a new deal in the tenant's `change_of_terms` pipeline, with
//! every parameter and linked party (with its limit), starting at that pipeline's first
//! open stage («Сбор документов»). The original's terms as they were when copied are kept
//! beside the new deal, so every term changed since is shown against them — with who
//! changed it and when, from the deal's audit trail — even if the original changes later.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::types::Json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::Path;
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, AuditAction, AuditEntry};
use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::money::Money;
use crate::tenancy::{Action, Caller, TenantId, UserId};
use crate::timeline::{self, EventKind, NewEvent};

use super::factoring::{DealParty, PartyRole, parties};
use super::model::{Deal, DealId, DealUpdate};
use super::params::FieldDef;
use super::pipelines::{self, Pipeline, PipelineId, PipelinePurpose, StageKind};

/// A linked party's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartyTerms {
    pub counterparty_id: CounterpartyId,
    pub counterparty_name: String,
    pub role: PartyRole,
    #[schema(value_type = Option<String>, example = "3000000")]
    pub limit: Option<Money>,
}

/// A deal's terms: what a change of terms compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Terms {
    #[schema(value_type = Option<String>)]
    pub amount: Option<Money>,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    pub parties: Vec<PartyTerms>,
}

impl Terms {
    fn of(deal: &Deal, linked: &[DealParty]) -> Terms {
        Terms {
            amount: deal.amount,
            currency: deal.currency.clone(),
            expected_close_date: deal.expected_close_date,
            params: deal.params.0.clone(),
            parties: linked.iter().map(party_terms).collect(),
        }
    }
}

fn party_terms(p: &DealParty) -> PartyTerms {
    PartyTerms { counterparty_id: p.counterparty_id, counterparty_name: p.counterparty_name.clone(), role: p.role, limit: p.limit }
}

/// What to open a change of terms with; everything else is copied from the deal.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeTerms {
    /// Default: the tenant's active `change_of_terms` pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// Default: «Изменение условий: <the deal's title>».
    pub title: Option<String>,
    /// Default: the deal's responsible manager.
    pub responsible_id: Option<UserId>,
}

/// One term: as it was on the original deal when copied, and as it is now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TermDiff {
    /// `amount`, `currency`, `expected_close_date`, `params.<key>`, or
    /// `parties.<role>.<counterparty id>` (a party's value is `{"limit": …}`, or null
    /// when it is not linked).
    pub key: String,
    /// What users see, in Russian.
    pub label: String,
    pub original: Value,
    pub current: Value,
    pub changed: bool,
}

/// One edit of a term on the new deal, from its audit trail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TermEdit {
    pub at: DateTime<Utc>,
    /// Who made it (the user's name, or the system part that did).
    pub by: String,
    pub key: String,
    pub label: String,
    pub before: Value,
    pub after: Value,
}

/// A change-of-terms deal against the deal it was copied from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TermsChanges {
    pub deal_id: DealId,
    pub origin_deal_id: DealId,
    pub origin_title: String,
    pub copied_at: DateTime<Utc>,
    /// The original's terms when copied.
    pub original: Terms,
    /// Every term of either side, the changed ones first.
    pub terms: Vec<TermDiff>,
    /// Every edit of a term since the copy, oldest first.
    pub history: Vec<TermEdit>,
}

// ---------------------------------------------------------------- store

#[derive(Debug, sqlx::FromRow)]
struct OriginRow {
    origin_deal_id: DealId,
    terms: Json<Terms>,
    created_at: DateTime<Utc>,
}

async fn origin(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Option<OriginRow>> {
    let sql = "SELECT origin_deal_id, terms, created_at FROM deal_origins WHERE tenant_id = $1 AND deal_id = $2";
    on_conn!(c, c => sqlx::query_as::<_, OriginRow>(sql).bind(tenant).bind(deal).fetch_optional(c).await)
}

/// The change-of-terms deals opened from `deal`, oldest first.
pub async fn changes_of(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Vec<DealId>> {
    let sql = "SELECT deal_id FROM deal_origins WHERE tenant_id = $1 AND origin_deal_id = $2 ORDER BY created_at, deal_id";
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(deal).fetch_all(c).await)
}

// ---------------------------------------------------------------- comparison

fn core_label(key: &str) -> Option<&'static str> {
    match key {
        "amount" => Some("Сумма сделки"),
        "currency" => Some("Валюта"),
        "expected_close_date" => Some("Ожидаемая дата закрытия"),
        _ => None,
    }
}

fn param_label(schema: &[FieldDef], key: &str) -> String {
    schema.iter().find(|f| f.key == key).map(|f| f.label.clone()).unwrap_or_else(|| key.to_string())
}

fn party_key(role: PartyRole, cp: CounterpartyId) -> String {
    format!("parties.{role}.{}", cp.0)
}

/// Every term as `key → (label, value)`, in a stable order: core fields, the schema's
/// parameters, other parameters, parties.
fn flatten(t: &Terms, schema: &[FieldDef]) -> BTreeMap<String, (String, Value)> {
    let mut out = BTreeMap::new();
    out.insert("amount".into(), (core_label("amount").unwrap_or_default().into(), json!(t.amount)));
    out.insert("currency".into(), (core_label("currency").unwrap_or_default().into(), json!(t.currency)));
    out.insert("expected_close_date".into(), (core_label("expected_close_date").unwrap_or_default().into(), json!(t.expected_close_date)));
    for (k, v) in &t.params {
        out.insert(format!("params.{k}"), (param_label(schema, k), v.clone()));
    }
    for p in &t.parties {
        out.insert(party_key(p.role, p.counterparty_id), (format!("{}: {}", p.role.label(), p.counterparty_name), json!({ "limit": p.limit })));
    }
    out
}

/// The original's and the current terms side by side, changed first.
fn compare(original: &Terms, current: &Terms, schema: &[FieldDef]) -> Vec<TermDiff> {
    let a = flatten(original, schema);
    let b = flatten(current, schema);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out: Vec<TermDiff> = keys
        .into_iter()
        .map(|k| {
            let (label, original) = a.get(k).cloned().unwrap_or_else(|| (b[k].0.clone(), Value::Null));
            let current = b.get(k).map(|x| x.1.clone()).unwrap_or(Value::Null);
            let changed = original != current;
            TermDiff { key: k.clone(), label, original, current, changed }
        })
        .collect();
    out.sort_by_key(|d| !d.changed);
    out
}

/// The term edits an audit entry of the deal holds: core fields, each parameter, each party.
fn edits_of(entry: &AuditEntry, schema: &[FieldDef]) -> Vec<TermEdit> {
    let mut out = Vec::new();
    let mut push = |key: String, label: String, before: Value, after: Value| {
        if before != after {
            out.push(TermEdit { at: entry.at, by: entry.actor_label.clone(), key, label, before, after });
        }
    };
    for ch in entry.changes.0.iter() {
        match ch.field.as_str() {
            f if core_label(f).is_some() => push(f.to_string(), core_label(f).unwrap_or_default().into(), ch.before.clone(), ch.after.clone()),
            "params" => {
                let empty = Map::new();
                let b = ch.before.as_object().unwrap_or(&empty);
                let a = ch.after.as_object().unwrap_or(&empty);
                let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    push(format!("params.{k}"), param_label(schema, k), b.get(k).cloned().unwrap_or(Value::Null), a.get(k).cloned().unwrap_or(Value::Null));
                }
            }
            "parties" => {
                let read = |v: &Value| -> BTreeMap<String, (String, Value)> {
                    serde_json::from_value::<Vec<PartyTerms>>(v.clone())
                        .unwrap_or_default()
                        .into_iter()
                        .map(|p| (party_key(p.role, p.counterparty_id), (format!("{}: {}", p.role.label(), p.counterparty_name), json!({ "limit": p.limit }))))
                        .collect()
                };
                let (b, a) = (read(&ch.before), read(&ch.after));
                let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let label = b.get(k).or_else(|| a.get(k)).map(|x| x.0.clone()).unwrap_or_default();
                    push(k.clone(), label, b.get(k).map(|x| x.1.clone()).unwrap_or(Value::Null), a.get(k).map(|x| x.1.clone()).unwrap_or(Value::Null));
                }
            }
            _ => {}
        }
    }
    out
}

/// Records a change of the deal's linked parties on the deal's own audit trail (as the
/// field `parties`), so the deal's history and its change of terms show it.
pub async fn record_parties_change(c: &mut Conn<'_>, caller: &Caller, deal: DealId, before: &[DealParty], after: &[DealParty]) -> sqlx::Result<()> {
    let terms = |xs: &[DealParty]| json!({ "parties": xs.iter().map(party_terms).collect::<Vec<_>>() });
    audit::record(c, caller.tenant_id, &Actor::from(caller), "deal", deal.0, AuditAction::Update, Some(&terms(before)), &terms(after)).await
}

/// The deal's terms against the deal it was copied from; `None` for a deal that is not a
/// change of terms.
pub async fn changes(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal) -> sqlx::Result<Option<TermsChanges>> {
    let Some(o) = origin(c, tenant, deal.id).await? else { return Ok(None) };
    let pipeline = pipelines::get(c, tenant, deal.pipeline_id).await?.ok_or(sqlx::Error::RowNotFound)?;
    let origin_deal = super::store::get(c, tenant, o.origin_deal_id).await?.ok_or(sqlx::Error::RowNotFound)?;
    let current = Terms::of(deal, &parties(c, tenant, deal.id).await?);
    let mut entries = audit::list(c, tenant, Some("deal"), Some(deal.id.0), uuid::Uuid::max(), 10_000).await?;
    entries.reverse();
    let history = entries.iter().filter(|e| e.action == AuditAction::Update).flat_map(|e| edits_of(e, &pipeline.field_schema)).collect();
    Ok(Some(TermsChanges {
        deal_id: deal.id,
        origin_deal_id: o.origin_deal_id,
        origin_title: origin_deal.title,
        copied_at: o.created_at,
        terms: compare(&o.terms.0, &current, &pipeline.field_schema),
        original: o.terms.0,
        history,
    }))
}

// ---------------------------------------------------------------- routes

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(change_terms)).routes(routes!(terms_changes))
}

/// The pipeline a change of terms goes to: the one asked for, else the tenant's first
/// active `change_of_terms` pipeline.
async fn target_pipeline(c: &mut Conn<'_>, tenant: TenantId, asked: Option<PipelineId>) -> ApiResult<Pipeline> {
    match asked {
        Some(id) => pipelines::get(c, tenant, id)
            .await?
            .filter(|p| p.archived_at.is_none() && p.purpose == PipelinePurpose::ChangeOfTerms)
            .ok_or_else(|| ApiError::field("pipeline_id", "no active pipeline for changes of terms (purpose change_of_terms) with this id in your tenant")),
        None => pipelines::list(c, tenant, false).await?.into_iter().find(|p| p.purpose == PipelinePurpose::ChangeOfTerms).ok_or_else(|| {
            ApiError::field(
                "pipeline_id",
                "Нет воронки для изменения условий: создайте воронку с назначением change_of_terms (POST /pipelines) или укажите её",
            )
        }),
    }
}

/// Open a change of the deal's credit terms: a new deal in the change-of-terms pipeline
/// with all the deal's parameters and linked parties, at that pipeline's first open stage.
#[utoipa::path(post, path = "/deals/{id}/change-terms", tag = "deals", params(("id" = DealId, Path)), request_body = ChangeTerms,
    responses((status = 201, body = Deal), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn change_terms(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>, ApiJson(input): ApiJson<ChangeTerms>) -> ApiResult<(StatusCode, ApiJson<Deal>)> {
    caller.ensure(Action::WriteCrm)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let original = super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    let pipeline = target_pipeline(&mut c, caller.tenant_id, input.pipeline_id).await?;
    let stage = pipeline.stages.iter().find(|s| s.kind == StageKind::Open).ok_or_else(|| ApiError::field("pipeline_id", "the pipeline has no open stage"))?;
    let linked = parties(&mut c, caller.tenant_id, id).await?;
    // Parameters the new pipeline does not know are left behind; the comparison still shows them.
    let params: Map<String, Value> = original.params.0.iter().filter(|(k, _)| pipeline.field_schema.iter().any(|f| &f.key == *k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let title = input.title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).unwrap_or_else(|| format!("Изменение условий: {}", original.title));
    let update = DealUpdate {
        title,
        counterparty_id: original.counterparty_id,
        responsible_id: input.responsible_id.unwrap_or(original.responsible_id),
        amount: original.amount,
        currency: original.currency.clone(),
        expected_close_date: original.expected_close_date,
        params: Value::Object(params),
    };
    let deal = super::routes::open_deal(&mut c, &caller, &pipeline, stage, update).await?;
    let now = Utc::now();
    for p in &linked {
        let sql = "INSERT INTO deal_parties (tenant_id, id, deal_id, counterparty_id, role, limit_amount, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(super::factoring::DealPartyId::new()).bind(deal.id).bind(p.counterparty_id).bind(p.role).bind(p.limit).bind(now).execute(c).await.map(|_| ()))?;
    }
    let terms = Json(Terms::of(&original, &linked));
    let sql = "INSERT INTO deal_origins (tenant_id, deal_id, origin_deal_id, terms, created_at) VALUES ($1, $2, $3, $4, $5)";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(deal.id).bind(id).bind(&terms).bind(now).execute(c).await.map(|_| ()))?;
    timeline::record(&mut c, caller.tenant_id, NewEvent {
        kind: EventKind::DealCreated,
        entity_type: "deal",
        entity_id: id.0,
        counterparty_id: Some(original.counterparty_id),
        deal_id: Some(id),
        summary: format!("По сделке «{}» открыто изменение условий: «{}» (этап «{}»)", original.title, deal.title, stage.name),
        actor_id: Some(caller.user_id),
        occurred_at: now,
    })
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(deal)))
}

/// A change-of-terms deal's terms against the deal it was copied from: every term as it
/// was and as it is, and every edit since with who made it and when.
#[utoipa::path(get, path = "/deals/{id}/terms-changes", tag = "deals", params(("id" = DealId, Path)),
    responses((status = 200, body = TermsChanges), (status = 404, body = Problem)))]
pub(crate) async fn terms_changes(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<TermsChanges>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let deal = super::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    changes(&mut c, caller.tenant_id, &deal).await?.map(ApiJson).ok_or(ApiError::NotFound("change of terms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(limit: &str, buyer_limit: Option<&str>) -> Terms {
        let mut params = Map::new();
        params.insert("limit".into(), json!(limit));
        params.insert("factoring_type".into(), json!("with_recourse"));
        Terms {
            amount: None,
            currency: "RUB".into(),
            expected_close_date: None,
            params,
            parties: buyer_limit
                .map(|l| PartyTerms { counterparty_id: CounterpartyId(uuid::Uuid::nil()), counterparty_name: "ООО «Покупатель»".into(), role: PartyRole::Buyer, limit: Some(l.parse().unwrap()) })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn comparison_puts_changed_terms_first_and_names_them() {
        let d = compare(&terms("5000000", Some("1000000")), &terms("7000000", None), &[]);
        let changed: Vec<&str> = d.iter().filter(|x| x.changed).map(|x| x.key.as_str()).collect();
        let party_key = format!("parties.buyer.{}", uuid::Uuid::nil());
        assert_eq!(changed, vec!["params.limit", party_key.as_str()]);
        assert!(d[0].changed && d[1].changed && !d[2].changed);
        let party = &d[1];
        assert_eq!(party.original, json!({"limit": "1000000.00"}));
        assert_eq!(party.current, Value::Null);
        assert!(party.label.contains("ООО «Покупатель»"));
    }
}
