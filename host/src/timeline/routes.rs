use axum::extract::State;
use crate::api::extract::{Path, Query};
use chrono::{DateTime, Utc};
use uuid::Uuid;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::counterparties::{self, CounterpartyId};
use crate::deals::{self, DealId};
use crate::tenancy::Caller;

use super::{Subject, TimelineEvent};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(counterparty_timeline)).routes(routes!(deal_timeline))
}

/// Timeline cursors carry the time and id of the last event shown.
fn parse_cursor(page: &PageParams) -> ApiResult<Option<(DateTime<Utc>, Uuid)>> {
    let Some(c) = &page.cursor else { return Ok(None) };
    let bad = || ApiError::field("cursor", "is not a cursor returned by this timeline");
    let (at, id) = c.split_once('~').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?.with_timezone(&Utc);
    Ok(Some((at, id.parse().map_err(|_| bad())?)))
}

fn page_of(rows: Vec<TimelineEvent>, limit: u32) -> Page<TimelineEvent> {
    let more = rows.len() > limit as usize;
    let mut items = rows;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|e| format!("{}~{}", e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true), e.id))
    } else {
        None
    };
    Page { items, next_cursor }
}

/// What happened with a counterparty and its deals, newest first.
#[utoipa::path(get, path = "/counterparties/{id}/timeline", tag = "timeline", params(("id" = CounterpartyId, Path), PageParams),
    responses((status = 200, body = Page<TimelineEvent>), (status = 404, body = Problem)))]
pub(crate) async fn counterparty_timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CounterpartyId>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<TimelineEvent>>> {
    timeline_of(&state, &caller, Subject::Counterparty(id), &page).await
}

/// What happened with a deal, newest first.
#[utoipa::path(get, path = "/deals/{id}/timeline", tag = "timeline", params(("id" = DealId, Path), PageParams),
    responses((status = 200, body = Page<TimelineEvent>), (status = 404, body = Problem)))]
pub(crate) async fn deal_timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<DealId>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<TimelineEvent>>> {
    timeline_of(&state, &caller, Subject::Deal(id), &page).await
}

/// A page of the subject's timeline; 404 when the subject is not the caller's.
async fn timeline_of(state: &AppState, caller: &Caller, subject: Subject, page: &PageParams) -> ApiResult<ApiJson<Page<TimelineEvent>>> {
    let limit = page.limit()?;
    let before = parse_cursor(page)?;
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let exists = match subject {
        Subject::Counterparty(id) => counterparties::store::get(&mut c, caller.tenant_id, id).await?.is_some(),
        Subject::Deal(id) => deals::store::get(&mut c, caller.tenant_id, id).await?.is_some(),
    };
    if !exists {
        return Err(ApiError::NotFound(match subject {
            Subject::Counterparty(_) => "counterparty",
            Subject::Deal(_) => "deal",
        }));
    }
    let rows = super::list(&mut c, caller.tenant_id, subject, before, limit).await?;
    Ok(ApiJson(page_of(rows, limit)))
}
