//! «Импорт клиентов»: upload a spreadsheet, see what it would do, run it and follow the
//! job; the telemarketing batches and opening a deal after a call. Every action is the
//! lead-import API's.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::counterparties::CounterpartyId;
use crate::leads::model::{LeadBatchId, LeadImportId};
use crate::leads::routes as api;

use super::auth::Viewer;
use super::clients::users;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/leads", get(index).post(upload).layer(DefaultBodyLimit::disable()))
        .route("/leads/imports/{id}", get(import_page))
        .route("/leads/imports/{id}/run", post(run))
        .route("/leads/batches/{id}", get(batch_page))
        .route("/leads/batches/{id}/items/{cp}/deal", post(open_deal))
}

async fn index(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let caller = viewer.caller();
    let imports = api::list_imports(State(state.clone()), caller.clone()).await?.0;
    let batches = api::list_batches(State(state.clone()), caller, Query(api::BatchFilter { responsible_id: None })).await?.0;
    let people = users(&state, &viewer).await?;
    let batches: Vec<_> = batches
        .into_iter()
        .map(|b| {
            let who = people.iter().find(|u| u.id == b.responsible_id).map(|u| u.full_name.clone());
            serde_json::json!({ "b": b, "who": who })
        })
        .collect();
    page(&viewer, "leads.html", "Импорт клиентов", "leads", serde_json::json!({ "imports": imports, "batches": batches, "refused": null }))
}

/// The upload form: the file is kept with its preview, and the preview page offers to run it.
async fn upload(State(state): State<AppState>, viewer: Viewer, req: Request) -> PageResult<Response> {
    let form = <crate::api::multipart::Multipart as axum::extract::FromRequest<AppState>>::from_request(req, &state).await?;
    let up = api::read_form(&state, form).await;
    let up = match up {
        Ok(mut up) => {
            up.preview = true;
            up
        }
        Err(e) => return refused(&state, &viewer, e).await,
    };
    match api::keep(&state, &viewer.caller(), up).await {
        Ok((_, import)) => Ok(Redirect::to(&format!("/leads/imports/{}", import.0.id)).into_response()),
        Err(e) => refused(&state, &viewer, e).await,
    }
}

/// The form again with what is wrong with the file.
async fn refused(state: &AppState, viewer: &Viewer, e: ApiError) -> PageResult<Response> {
    let message = match &e {
        ApiError::Validation(errs) => errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" "),
        ApiError::PayloadTooLarge(m) | ApiError::BadRequest(m) => m.clone(),
        _ => return Err(e.into()),
    };
    let caller = viewer.caller();
    let imports = api::list_imports(State(state.clone()), caller.clone()).await?.0;
    page(viewer, "leads.html", "Импорт клиентов", "leads", serde_json::json!({ "imports": imports, "batches": [], "refused": message }))
}

async fn import_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<LeadImportId>) -> PageResult<Response> {
    let import = api::get_import(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let title = format!("Импорт «{}»", import.file_name);
    page(&viewer, "lead_import.html", &title, "leads", serde_json::json!({ "i": import }))
}

async fn run(State(state): State<AppState>, viewer: Viewer, Path(id): Path<LeadImportId>) -> PageResult<Response> {
    let (_, import) = api::run_import(State(state), viewer.caller(), Path(id)).await?;
    let job = import.0.job_id.map(|j| format!("/jobs/{j}")).unwrap_or_else(|| format!("/leads/imports/{id}"));
    Ok(Redirect::to(&job).into_response())
}

async fn batch_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<LeadBatchId>) -> PageResult<Response> {
    let caller = viewer.caller();
    let view = api::get_batch(State(state.clone()), caller, Path(id)).await?.0;
    let ids: Vec<CounterpartyId> = view.items.iter().map(|i| i.counterparty_id).collect();
    let names = {
        let mut c = state.db.read().await?;
        crate::counterparties::store::names(&mut c.conn(), viewer.session.caller.tenant_id, &ids).await?
    };
    let items: Vec<_> = view
        .items
        .iter()
        .map(|i| serde_json::json!({ "i": i, "name": names.iter().find(|(id, _)| *id == i.counterparty_id).map(|(_, n)| n.clone()) }))
        .collect();
    let title = view.batch.title.clone();
    page(&viewer, "lead_batch.html", &title, "leads", serde_json::json!({ "b": view.batch, "items": items }))
}

async fn open_deal(State(state): State<AppState>, viewer: Viewer, Path((id, cp)): Path<(LeadBatchId, CounterpartyId)>) -> PageResult<Response> {
    let (_, deal) = api::open_batch_deal(State(state), viewer.caller(), Path((id, cp))).await?;
    Ok(Redirect::to(&format!("/deals/{}", deal.0.id)).into_response())
}
