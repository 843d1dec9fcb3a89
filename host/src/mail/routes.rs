use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::tenancy::{Action, Caller};

use super::outbox::{self, MailId, MailStatus, OutboxMail, QueueError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_outbox)).routes(routes!(get_outbox_mail))
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Invalid(i) => i.into(),
            QueueError::Db(e) => e.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    pub status: Option<MailStatus>,
    /// Only messages queued by this source, e.g. `module:sms-main`.
    pub source: Option<String>,
}

/// The outgoing mail queue (admins): what plugins and the host queued, newest first.
#[utoipa::path(get, path = "/mail/outbox", tag = "mail", params(OutboxFilter, PageParams),
    responses((status = 200, body = Page<OutboxMail>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_outbox(State(state): State<AppState>, caller: Caller, Query(f): Query<OutboxFilter>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<OutboxMail>>> {
    caller.ensure(Action::Configure)?;
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = outbox::list(&mut c.conn(), caller.tenant_id, f.status, f.source.as_deref(), page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |m| m.id.0)))
}

/// One queued or sent message.
#[utoipa::path(get, path = "/mail/outbox/{id}", tag = "mail", params(("id" = MailId, Path)),
    responses((status = 200, body = OutboxMail), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_outbox_mail(State(state): State<AppState>, caller: Caller, Path(id): Path<MailId>) -> ApiResult<ApiJson<OutboxMail>> {
    caller.ensure(Action::Configure)?;
    let mut c = state.db.read().await?;
    Ok(ApiJson(outbox::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("message"))?))
}
