use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::tenancy::{Action, Caller};

use super::delivery;
use super::outbox::{self, MailId, MailStatus, OutboxMail, QueueError};
use super::settings::{self, SmtpSettings, SmtpSettingsInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_outbox))
        .routes(routes!(get_outbox_mail))
        .routes(routes!(retry_outbox_mail))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(test_settings))
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
pub(crate) async fn list_outbox(State(state): State<AppState>, caller: Caller, Query(f): Query<OutboxFilter>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<OutboxMail>>> {
    caller.ensure(Action::Configure)?;
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = outbox::list(&mut c.conn(), caller.tenant_id, f.status, f.source.as_deref(), page.after()?, limit).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |m| m.id.0)))
}

/// One queued or sent message.
#[utoipa::path(get, path = "/mail/outbox/{id}", tag = "mail", params(("id" = MailId, Path)),
    responses((status = 200, body = OutboxMail), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(crate) async fn get_outbox_mail(State(state): State<AppState>, caller: Caller, Path(id): Path<MailId>) -> ApiResult<ApiJson<OutboxMail>> {
    caller.ensure(Action::Configure)?;
    let mut c = state.db.read().await?;
    Ok(ApiJson(outbox::get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("message"))?))
}

/// Queues a failed message again, once its cause is fixed (admins).
#[utoipa::path(post, path = "/mail/outbox/{id}/retry", tag = "mail", params(("id" = MailId, Path)),
    responses((status = 200, body = OutboxMail), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn retry_outbox_mail(State(state): State<AppState>, caller: Caller, Path(id): Path<MailId>) -> ApiResult<ApiJson<OutboxMail>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mail = {
        let mut c = tx.conn();
        let mail = outbox::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("message"))?;
        if !outbox::requeue(&mut c, caller.tenant_id, id).await? {
            return Err(ApiError::Conflict { detail: format!("the message is {}: only a failed message is queued again", mail.status.as_str()), field: None });
        }
        outbox::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("message"))?
    };
    tx.commit().await?;
    Ok(ApiJson(mail))
}

/// The tenant's SMTP server (admins); 404 until one is set. The password is never shown.
#[utoipa::path(get, path = "/mail/settings", tag = "mail",
    responses((status = 200, body = SmtpSettings), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(crate) async fn get_settings(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<SmtpSettings>> {
    caller.ensure(Action::Configure)?;
    let mut c = state.db.read().await?;
    Ok(ApiJson(settings::get(&mut c.conn(), caller.tenant_id).await?.ok_or(ApiError::NotFound("SMTP settings"))?))
}

/// Sets the tenant's SMTP server; an absent password keeps the stored one.
#[utoipa::path(put, path = "/mail/settings", tag = "mail", request_body = SmtpSettingsInput,
    responses((status = 200, body = SmtpSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn put_settings(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<SmtpSettingsInput>) -> ApiResult<ApiJson<SmtpSettings>> {
    caller.ensure(Action::Configure)?;
    input.validate()?;
    let mut tx = state.db.begin().await?;
    let saved = {
        let mut c = tx.conn();
        settings::put(&mut c, &state.secrets, caller.tenant_id, &input).await?;
        settings::get(&mut c, caller.tenant_id).await?.ok_or(ApiError::NotFound("SMTP settings"))?
    };
    tx.commit().await?;
    Ok(ApiJson(saved))
}

/// Where to send a test message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailTestInput {
    pub to: String,
}

/// What the server said to a test message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailTestResult {
    pub ok: bool,
    /// The server's reply, or why the message did not go.
    pub reply: String,
}

/// Sends a test message through the stored settings now, outside the outbox.
#[utoipa::path(post, path = "/mail/settings/test", tag = "mail", request_body = MailTestInput,
    responses((status = 200, body = MailTestResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn test_settings(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<MailTestInput>) -> ApiResult<ApiJson<MailTestResult>> {
    caller.ensure(Action::Configure)?;
    super::address::check_address(&input.to).map_err(|e| crate::validation::Invalid::field("to", e))?;
    let server = {
        let mut c = state.db.read().await?;
        settings::server(&mut c.conn(), &state.secrets, caller.tenant_id).await.map_err(ApiError::Internal)?.ok_or(ApiError::NotFound("SMTP settings"))?
    };
    Ok(ApiJson(match delivery::send_test(&server, &input.to).await {
        Ok(reply) => MailTestResult { ok: true, reply },
        Err(reply) => MailTestResult { ok: false, reply },
    }))
}
