//! Clients: the list (search by name or ИНН, filters by segment, manager and debt), the
//! card (debt with its overdue part in red, payer rating, contacts, timeline, documents,
//! open tasks and deals), and the drill-down into a client's debts and one debt with
//! the work done on it. Every figure comes from the API's own handlers.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::extract::{Path, Query};
use crate::api::pagination::PageParams;
use crate::counterparties::CounterpartyId;
use crate::counterparties::routes::CounterpartyFilter;
use crate::receivables::model::SalesDocumentId;

use super::Filters;
use super::auth::Viewer;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list))
        .route("/clients/{id}", get(card))
        .route("/clients/{id}/debts", get(debts))
        .route("/debts/{id}", get(debt))
        .route("/documents/{id}/content", get(download))
}

/// A document's file, as `GET /documents/{id}/content` gives it.
async fn download(State(state): State<AppState>, viewer: Viewer, Path(id): Path<crate::documents::DocumentId>) -> PageResult<Response> {
    Ok(crate::documents::routes::download_document(State(state), viewer.caller(), Path(id)).await?)
}

/// Query parameters built the way the API reads them (so pages and API parse alike).
pub fn params<T: serde::de::DeserializeOwned>(pairs: &[(&str, String)]) -> PageResult<T> {
    let q = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).finish();
    serde_urlencoded::from_str(&q).map_err(|e| crate::api::error::ApiError::Internal(anyhow::anyhow!("page parameters: {e}")).into())
}

/// The users of the tenant, to pick a manager from and to show names.
pub async fn users(state: &AppState, viewer: &Viewer) -> PageResult<Vec<crate::tenancy::model::User>> {
    let page = crate::tenancy::routes::list_users(State(state.clone()), viewer.caller(), Query(params(&[])?), Query(params(&[("limit", "500".into())])?)).await?;
    Ok(page.0.items)
}

#[derive(Serialize)]
struct ClientRow {
    #[serde(flatten)]
    counterparty: crate::counterparties::model::Counterparty,
    name: String,
    debt_total: Option<String>,
    debt_overdue: Option<String>,
    manager: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    segment: Option<String>,
    #[serde(default)]
    responsible_id: Option<String>,
    #[serde(default)]
    debt: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(shown): Query<ListQuery>,
    Filters(f): Filters<CounterpartyFilter>,
    Filters(pg): Filters<PageParams>,
) -> PageResult<Response> {
    let result = crate::counterparties::routes::list_counterparties(State(state.clone()), viewer.caller(), Query(f), Query(pg)).await?.0;
    let ids: Vec<CounterpartyId> = result.items.iter().map(|c| c.id).collect();
    let sums = {
        let mut conn = state.db.read().await?;
        crate::counterparties::store::debt_sums(&mut conn.conn(), viewer.session.caller.tenant_id, &ids, viewer.session.caller.today()).await?
    };
    let users = users(&state, &viewer).await?;
    let name_of = |id: Option<crate::tenancy::UserId>| id.and_then(|id| users.iter().find(|u| u.id == id)).map(|u| u.full_name.clone());
    let rows: Vec<ClientRow> = result
        .items
        .into_iter()
        .map(|c| {
            let s = sums.iter().find(|s| s.0 == c.id);
            ClientRow {
                debt_total: s.map(|s| crate::money::Money::from_minor(s.1).to_string()),
                debt_overdue: s.filter(|s| s.2 > 0).map(|s| crate::money::Money::from_minor(s.2).to_string()),
                manager: name_of(c.responsible_id),
                name: crate::counterparties::model::display_name(&c.full_name, c.short_name.as_deref()),
                counterparty: c,
            }
        })
        .collect();
    let next_url = result.next_cursor.map(|cur| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("q", &shown.q), ("segment", &shown.segment), ("responsible_id", &shown.responsible_id), ("debt", &shown.debt)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                pairs.append_pair(k, v);
            }
        }
        pairs.append_pair("cursor", &cur);
        format!("/clients?{}", pairs.finish())
    });
    page(&viewer, "clients.html", "Клиенты", "clients", serde_json::json!({ "rows": rows, "filter": shown, "users": users, "next_url": next_url }))
}

/// The card: its own reads run at once (each on its own pooled connection).
async fn card(State(state): State<AppState>, viewer: Viewer, Path(id): Path<CounterpartyId>) -> PageResult<Response> {
    // The card and its lists are read on one connection, one after another: the same
    // store reads and filters the API's list routes use, without a pool round per list.
    let caller = viewer.caller();
    let tenant = caller.tenant_id;
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let card = crate::counterparties::routes::card(&mut c, &caller, id).await?;
    let first = uuid::Uuid::max();
    let timeline = crate::timeline::list(&mut c, tenant, crate::timeline::Subject::Counterparty(id), None, TIMELINE_ROWS).await?;
    let documents = crate::documents::store::list(&mut c, tenant, &crate::documents::store::Filter { counterparty_id: Some(id), ..Default::default() }, first, LIST_ROWS).await?;
    let tasks = crate::tasks::store::list(&mut c, tenant, &crate::tasks::store::Filter { counterparty_id: Some(id), ..Default::default() }, first, TASK_ROWS).await?;
    let deals = crate::deals::store::list(&mut c, tenant, &crate::deals::store::Filter { counterparty_id: Some(id), ..Default::default() }, first, LIST_ROWS).await?;
    let manager = match card.counterparty.responsible_id {
        Some(u) if u == viewer.session.caller.user_id => Some(viewer.session.caller.name.clone()),
        Some(u) => crate::tenancy::store::get_user(&mut c, tenant, u).await?.map(|u| u.full_name),
        None => None,
    };
    // The connection goes back to the pool before rendering.
    drop(conn);
    let open_tasks: Vec<_> = tasks.into_iter().take(TASK_ROWS as usize).filter(|t| !t.status.is_closed()).collect();
    let timeline = &timeline[..timeline.len().min(TIMELINE_ROWS as usize)];
    let documents = &documents[..documents.len().min(LIST_ROWS as usize)];
    let deals = &deals[..deals.len().min(LIST_ROWS as usize)];
    let title = crate::counterparties::model::display_name(&card.counterparty.full_name, card.counterparty.short_name.as_deref());
    let overdue_red = card.debt.overdue.minor() > 0;
    page(&viewer, "client.html", &title, "clients", Card { c: &card, manager, timeline, documents, tasks: &open_tasks, deals, overdue_red })
}

/// How many rows of each list the card shows (the lists' own pages show the rest).
const TIMELINE_ROWS: u32 = 30;
const LIST_ROWS: u32 = 50;
const TASK_ROWS: u32 = 100;

/// What the card's template reads.
#[derive(Serialize)]
struct Card<'a> {
    c: &'a crate::counterparties::model::CounterpartyCard,
    manager: Option<String>,
    timeline: &'a [crate::timeline::TimelineEvent],
    documents: &'a [crate::documents::Document],
    tasks: &'a [crate::tasks::Task],
    deals: &'a [crate::deals::Deal],
    overdue_red: bool,
}

async fn debts(State(state): State<AppState>, viewer: Viewer, Path(id): Path<CounterpartyId>) -> PageResult<Response> {
    let card = crate::counterparties::routes::get_counterparty(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let r = crate::receivables::routes::counterparty_receivables(State(state.clone()), viewer.caller(), Path(id), Query(params(&[("include_paid", "true".into())])?)).await?.0;
    let name = crate::counterparties::model::display_name(&card.counterparty.full_name, card.counterparty.short_name.as_deref());
    let title = format!("Долги: {name}");
    page(&viewer, "client_debts.html", &title, "receivables", serde_json::json!({ "c": card, "r": r, "name": name }))
}

async fn debt(State(state): State<AppState>, viewer: Viewer, Path(id): Path<SalesDocumentId>) -> PageResult<Response> {
    let doc = crate::receivables::routes::get_document(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let cp = doc.counterparty_id;
    let card = crate::counterparties::routes::get_counterparty(State(state.clone()), viewer.caller(), Path(cp)).await?.0;
    let r = crate::receivables::routes::counterparty_receivables(State(state.clone()), viewer.caller(), Path(cp), Query(params(&[("include_paid", "true".into())])?)).await?.0;
    let entry = r.documents.iter().find(|d| d.document.id == id);
    let title = format!("Долг по документу № {}", doc.number);
    let name = crate::counterparties::model::display_name(&card.counterparty.full_name, card.counterparty.short_name.as_deref());
    page(&viewer, "debt.html", &title, "receivables", serde_json::json!({ "c": card, "doc": doc, "entry": entry, "name": name }))
}
