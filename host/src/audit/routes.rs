use axum::extract::State;
use crate::api::extract::Query;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::api::error::ApiResult;
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::tenancy::{Action, Caller};

use super::AuditEntry;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// `counterparty`, `deal`, `task`, … (see each entity's docs).
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
}

/// Read the audit log, newest first, optionally for one entity.
#[utoipa::path(get, path = "/audit", tag = "audit",
    params(AuditFilter, PageParams),
    responses((status = 200, body = Page<AuditEntry>), (status = 403, body = crate::api::error::Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(filter): Query<AuditFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<AuditEntry>>> {
    caller.ensure(Action::ReadAudit)?;
    let limit = page.limit()?;
    let mut conn = state.db.read().await?;
    let rows = super::list(
        &mut conn.conn(),
        caller.tenant_id,
        filter.entity_type.as_deref(),
        filter.entity_id,
        page.after()?,
        limit,
    )
    .await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |e| e.id)))
}
