//! «Почта», for admins: the tenant's SMTP server (the password is never shown; an empty
//! field keeps it), a test message sent at once, and the outbox — what waits, what went,
//! what the mail server refused and why — with a failed message queued again by a click.
//! Everything goes through the API's handlers, so the same checks apply.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::api::pagination::PageParams;
use crate::mail::MailId;
use crate::mail::outbox::MailStatus;
use crate::mail::routes::{MailTestInput, OutboxFilter};
use crate::mail::settings::{Security, SmtpSettingsInput};
use crate::tenancy::Action;

use super::auth::Viewer;
use super::clients::params;
use super::render::{PageResult, page};
use super::{Fields, refusal_of};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/mail", get(show).post(save))
        .route("/admin/mail/test", post(test))
        .route("/admin/mail/outbox/{id}/retry", post(retry))
}

#[derive(Debug, Default, Deserialize)]
struct MailQuery {
    status: Option<String>,
    saved: Option<String>,
    retried: Option<String>,
}

const STATUSES: [(MailStatus, &str); 4] = [(MailStatus::Queued, "в очереди"), (MailStatus::Sending, "отправляется"), (MailStatus::Sent, "отправлено"), (MailStatus::Failed, "не отправлено")];

fn status_label(s: MailStatus) -> &'static str {
    STATUSES.iter().find(|(k, _)| *k == s).map(|(_, l)| *l).unwrap_or("—")
}

struct Notice {
    refusal: Vec<String>,
    test: Option<(bool, String)>,
}

async fn render(state: &AppState, viewer: &Viewer, q: &MailQuery, notice: Notice, status: StatusCode) -> PageResult<Response> {
    let caller = viewer.caller();
    caller.ensure(Action::Configure)?;
    let (settings, counts) = {
        let mut c = state.db.read().await.map_err(ApiError::from)?;
        let mut c = c.conn();
        (crate::mail::settings::get(&mut c, caller.tenant_id).await.map_err(ApiError::from)?, crate::mail::outbox::counts(&mut c, caller.tenant_id).await.map_err(ApiError::from)?)
    };
    let filter: Option<MailStatus> = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| ApiError::field("status", "неизвестное состояние письма"))?),
        None => None,
    };
    let page_params: PageParams = params(&[("limit", "100".into())])?;
    let list = crate::mail::routes::list_outbox(State(state.clone()), caller.clone(), Query(OutboxFilter { status: filter, source: None }), Query(page_params)).await?.0;
    let rows: Vec<_> = list
        .items
        .iter()
        .map(|m| {
            serde_json::json!({ "id": m.id, "created_at": m.created_at, "sent_at": m.sent_at, "to": m.to.0.join(", "), "subject": m.subject, "status": m.status,
                "status_label": status_label(m.status), "attempts": m.attempts, "last_error": m.last_error, "next_attempt_at": m.next_attempt_at, "source": m.source })
        })
        .collect();
    let counts: Vec<_> = STATUSES
        .iter()
        .map(|(s, label)| serde_json::json!({ "key": s, "label": label, "count": counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n), "current": filter == Some(*s) }))
        .collect();
    let securities = [(Security::Starttls, "STARTTLS (порт 587)"), (Security::Tls, "TLS (порт 465)"), (Security::None, "без шифрования (порт 25)")];
    let chosen = settings.as_ref().map_or(Security::Starttls, |s| s.security);
    let securities: Vec<_> = securities.iter().map(|(k, l)| serde_json::json!({ "key": k, "label": l, "selected": *k == chosen })).collect();
    let mut res = page(
        viewer,
        "mail.html",
        "Почта",
        "mail",
        serde_json::json!({ "settings": settings, "securities": securities, "counts": counts, "mails": rows, "filtered": filter.is_some(),
            "refusal": notice.refusal, "test": notice.test.map(|(ok, reply)| serde_json::json!({ "ok": ok, "reply": reply })),
            "saved": q.saved.is_some(), "retried": q.retried.is_some() }),
    )?;
    *res.status_mut() = status;
    Ok(res)
}

async fn show(State(state): State<AppState>, viewer: Viewer, Query(q): Query<MailQuery>) -> PageResult<Response> {
    render(&state, &viewer, &q, Notice { refusal: vec![], test: None }, StatusCode::OK).await
}

/// Saves the SMTP server; an empty password field keeps the stored password.
async fn save(State(state): State<AppState>, viewer: Viewer, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let input = async {
        let security: Security = serde_json::from_value(serde_json::Value::String(f.one("security"))).map_err(|_| ApiError::field("security", "выберите защиту соединения"))?;
        let port = match f.one("port") {
            p if p.is_empty() => None,
            p => Some(p.parse::<u16>().map_err(|_| ApiError::field("port", "порт — число от 1 до 65535"))?),
        };
        let opt = |k: &str| Some(f.one(k)).filter(|v| !v.is_empty());
        let password = Some(f.raw("password")).filter(|p| !p.is_empty());
        Ok::<_, ApiError>(SmtpSettingsInput {
            host: f.one("host"),
            port,
            security,
            username: opt("username"),
            password,
            from: f.one("from"),
            ca_pem: opt("ca_pem"),
            enabled: f.one("enabled") == "on",
        })
    }
    .await;
    let result = match input {
        Ok(input) => crate::mail::routes::put_settings(State(state.clone()), viewer.caller(), ApiJson(input)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/mail?saved=1").into_response()),
        Err(e) => render(&state, &viewer, &MailQuery::default(), Notice { refusal: refusal_of(e)?, test: None }, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// Sends a test message now and shows what the server said.
async fn test(State(state): State<AppState>, viewer: Viewer, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    match crate::mail::routes::test_settings(State(state.clone()), viewer.caller(), ApiJson(MailTestInput { to: f.one("to") })).await {
        Ok(ApiJson(r)) => render(&state, &viewer, &MailQuery::default(), Notice { refusal: vec![], test: Some((r.ok, r.reply)) }, StatusCode::OK).await,
        Err(ApiError::NotFound(_)) => render(&state, &viewer, &MailQuery::default(), Notice { refusal: vec!["Сначала сохраните настройки SMTP-сервера.".into()], test: None }, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => render(&state, &viewer, &MailQuery::default(), Notice { refusal: refusal_of(e)?, test: None }, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

async fn retry(State(state): State<AppState>, viewer: Viewer, Path(id): Path<MailId>) -> PageResult<Response> {
    match crate::mail::routes::retry_outbox_mail(State(state.clone()), viewer.caller(), Path(id)).await {
        Ok(_) => Ok(Redirect::to("/admin/mail?retried=1").into_response()),
        Err(e) => render(&state, &viewer, &MailQuery::default(), Notice { refusal: refusal_of(e)?, test: None }, StatusCode::CONFLICT).await,
    }
}
