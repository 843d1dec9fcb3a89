//! The application to the credit committee (заявка в КО): the document that goes through
//! the `application` approval route at «На службах», printed from the tenant's
//! `credit_application` template. Its form depends on the deal's factoring type: the
//! shipped template has a section per type (the buyers' assessment without recourse, the
//! notification of debtors for agency factoring, …), and a tenant may replace it.

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Serialize;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::db::{Conn, on_conn};
use crate::deals::{Deal, DealId};
use crate::deals::factoring::{PartyRole, parties};
use crate::money::Money;
use crate::templates::{Sample, TemplateKind, Variable, var};
use crate::tenancy::{Caller, TenantId};

use super::committee::{ProtocolParams, factoring_type_label};

#[derive(Serialize)]
struct Client {
    name: String,
    inn: Option<String>,
    kpp: Option<String>,
    ogrn: Option<String>,
    address: Option<String>,
    head: Option<String>,
}

#[derive(Serialize)]
struct AppDeal {
    title: String,
    factoring_type: Option<String>,
    factoring_type_key: Option<String>,
    kind: Option<String>,
    limit: Option<Money>,
    term_days: Option<i64>,
    deferral_days: Option<i64>,
}

#[derive(Serialize)]
struct Buyer {
    name: String,
    inn: Option<String>,
    limit: Option<Money>,
}

#[derive(Serialize)]
struct ApplicationData {
    date: NaiveDate,
    manager: String,
    client: Client,
    deal: AppDeal,
    buyers: Vec<Buyer>,
    documents: Vec<String>,
}

fn deal_kind_label(key: &str) -> &str {
    match key {
        "flow" => "поточная",
        "individual" => "индивидуальная",
        other => other,
    }
}

async fn application_data(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal, date: NaiveDate) -> ApiResult<ApplicationData> {
    let cp = crate::counterparties::store::get(c, tenant, deal.counterparty_id).await?.ok_or(ApiError::NotFound("deal"))?;
    let manager = crate::tenancy::store::get_user(c, tenant, deal.responsible_id).await?.map(|u| u.full_name).unwrap_or_default();
    let mut buyers = Vec::new();
    for p in parties(c, tenant, deal.id).await?.into_iter().filter(|p| p.role == PartyRole::Buyer) {
        let inn = crate::counterparties::store::get(c, tenant, p.counterparty_id).await?.and_then(|b| b.inn);
        buyers.push(Buyer { name: p.counterparty_name, inn, limit: p.limit });
    }
    let sql = "SELECT DISTINCT kind FROM documents WHERE tenant_id = $1 AND deal_id = $2 AND archived_at IS NULL ORDER BY kind";
    let documents: Vec<String> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(deal.id).fetch_all(c).await)?;
    let text = |k: &str| deal.params.0.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let int = |k: &str| deal.params.0.get(k).and_then(|v| v.as_i64());
    Ok(ApplicationData {
        date,
        manager,
        client: Client {
            name: cp.short_name.clone().unwrap_or_else(|| cp.full_name.clone()),
            inn: cp.inn,
            kpp: cp.kpp,
            ogrn: cp.ogrn,
            address: cp.legal_address,
            head: cp.head_name.map(|n| match &cp.head_post {
                Some(post) => format!("{post} {n}"),
                None => n,
            }),
        },
        deal: AppDeal {
            title: deal.title.clone(),
            factoring_type: text("factoring_type").map(|k| factoring_type_label(&k).to_string()),
            factoring_type_key: text("factoring_type"),
            kind: text("deal_kind").map(|k| deal_kind_label(&k).to_string()),
            limit: text("limit").and_then(|s| s.parse().ok()),
            term_days: int("term_days"),
            deferral_days: int("deferral_days"),
        },
        buyers,
        documents,
    })
}

/// The deal's application to the credit committee (заявка в КО) from the tenant's
/// `credit_application` template, its sections by the deal's factoring type (PDF, or HTML).
#[utoipa::path(get, path = "/deals/{id}/credit-application", tag = "approvals", params(("id" = DealId, Path), ProtocolParams),
    responses((status = 200, description = "The application: PDF, or HTML with `format=html`", content(("application/pdf"), ("text/html"))),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn credit_application(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>, Query(p): Query<ProtocolParams>) -> ApiResult<Response> {
    let format = crate::templates::routes::document_format(p.format.as_deref(), "the application")?;
    let data = {
        let mut conn = state.db.read().await?;
        let mut c = conn.conn();
        let deal = crate::deals::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
        application_data(&mut c, caller.tenant_id, &deal, caller.today()).await?
    };
    let bytes = crate::templates::routes::tenant_document(&state, caller.tenant_id, &APPLICATION, crate::templates::engine::context(&data), format).await?;
    Ok(crate::templates::routes::document_response(format, "zayavka-ko", bytes))
}

/// The application to the credit committee.
pub const APPLICATION: TemplateKind = TemplateKind {
    key: "credit_application",
    title: "Заявка в кредитный комитет",
    description: "The application to the credit committee for a factoring deal (GET /deals/{id}/credit-application): the client's \
                  requisites, the deal's parameters, the buyers with their limits, a section by factoring type and the documents attached.",
    default_source: include_str!("../../assets/templates/credit_application.xml.j2"),
    variables: VARIABLES,
    samples,
};

/// The variables of the application's template.
pub const VARIABLES: &[Variable] = &[
    var!("date", Date, "the application's date (today)"),
    var!("manager", Text, "the deal's responsible manager"),
    var!("client", Object, "the client (supplier)"),
    var!("client.name", Text, "its name"),
    var!("client.inn", Text?, "ИНН"),
    var!("client.kpp", Text?, "КПП"),
    var!("client.ogrn", Text?, "ОГРН"),
    var!("client.address", Text?, "the legal address"),
    var!("client.head", Text?, "the head's post and name"),
    var!("deal", Object, "the deal"),
    var!("deal.title", Text, "its title"),
    var!("deal.factoring_type", Text?, "the factoring type in Russian (с регрессом, без регресса, агентский, неагентский)"),
    var!("deal.factoring_type_key", Text?, "the factoring type's key: with_recourse, without_recourse, agency, non_agency"),
    var!("deal.kind", Text?, "поточная or индивидуальная"),
    var!("deal.limit", Money?, "the deal's limit"),
    var!("deal.term_days", Integer?, "the term in days"),
    var!("deal.deferral_days", Integer?, "the deferral in days"),
    var!("buyers", List, "the buyers (debtors) linked to the deal"),
    var!("buyers[].name", Text, "the buyer's name"),
    var!("buyers[].inn", Text?, "its ИНН"),
    var!("buyers[].limit", Money?, "the limit on the buyer"),
    var!("documents", List, "the kinds of documents attached to the deal"),
];

fn samples() -> Vec<Sample> {
    let with = |key: &str, label: &str| {
        serde_json::json!({
            "date": "2026-03-10",
            "manager": "Иванова Мария Петровна",
            "client": {"name": "ООО «Моторика»", "inn": "7707083893", "kpp": "770701001", "ogrn": "1027700132195",
                       "address": "г. Москва, ул. Тверская, д. 1", "head": "Генеральный директор Петров Пётр Петрович"},
            "deal": {"title": "Факторинг для ООО «Моторика»", "factoring_type": label, "factoring_type_key": key, "kind": "поточная",
                     "limit": "5000000.00", "term_days": 90, "deferral_days": 60},
            "buyers": [{"name": "АО «Покупатель»", "inn": "7736050003", "limit": "3000000.00"}],
            "documents": ["Анкета клиента", "Бухгалтерская отчётность"]
        })
    };
    vec![
        Sample { key: "with_recourse", title: "С регрессом", data: with("with_recourse", "с регрессом") },
        Sample { key: "without_recourse", title: "Без регресса", data: with("without_recourse", "без регресса") },
        Sample { key: "agency", title: "Агентский", data: with("agency", "агентский") },
    ]
}
