//! Signing in and out of the pages, the [`Viewer`] extractor (the signed-in user of a
//! page request), and the CSRF check on every state-changing page request.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::AppState;
use crate::api::error::ApiError;
use crate::tenancy::TenantId;
use crate::tenancy::session::{self, COOKIE, LiveSession};
use crate::tenancy::sign_in::{self, SignInError};

use super::render::{self, PageError, PageResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_form).post(login)).route("/logout", post(logout))
}

/// The signed-in user of a page request. Without a live session the page redirects to
/// the sign-in page and back.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: LiveSession,
}

impl Viewer {
    pub fn caller(&self) -> crate::tenancy::Caller {
        self.session.caller.clone()
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn live_session(state: &AppState, headers: &HeaderMap) -> Result<Option<LiveSession>, ApiError> {
    let Some(value) = cookie_value(headers, COOKIE) else { return Ok(None) };
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut conn = state.db.read().await?;
    Ok(session::resolve(&mut conn.conn(), value, request_id).await?)
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        match live_session(state, &parts.headers).await? {
            Some(session) => Ok(Viewer { session }),
            None => {
                let next = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
                let next = if parts.method == Method::GET { next } else { "/".into() };
                Err(PageError::SignIn { next })
            }
        }
    }
}

/// The largest form body the CSRF check reads to find the token (file uploads carry the
/// token in the query string instead, so they are not read here).
const FORM_LIMIT: usize = 256 * 1024;

/// Every state-changing page request must carry the session's CSRF token: in the
/// `X-CSRF-Token` header (the page script), a `_csrf` form field, or a `_csrf` query
/// parameter (file upload forms). The sign-in form has no session yet; it is guarded by
/// the browser's `Origin` instead.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if req.uri().path() == "/login" {
        if !same_origin(req.headers()) {
            return PageError::Api(ApiError::Forbidden("Форма входа отправлена с другого сайта.".into())).into_response();
        }
        return next.run(req).await;
    }
    let session = match live_session(&state, req.headers()).await {
        Ok(Some(s)) => s,
        Ok(None) => return PageError::SignIn { next: "/".into() }.into_response(),
        Err(e) => return PageError::Api(e).into_response(),
    };
    let mut sent = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    if sent.is_none() {
        sent = req
            .uri()
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "_csrf").map(|(_, v)| v.into_owned()));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let req = if sent.is_none() && is_form {
        let (parts, body) = req.into_parts();
        let bytes = match to_bytes(body, FORM_LIMIT).await {
            Ok(b) => b,
            Err(_) => return PageError::Api(ApiError::PayloadTooLarge("Форма слишком большая.".into())).into_response(),
        };
        sent = form_urlencoded::parse(&bytes).find(|(k, _)| k == "_csrf").map(|(_, v)| v.into_owned());
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    match sent {
        Some(token) if session::csrf_matches(&session, &token) => {
            let mut req = req;
            req.extensions_mut().insert(Viewer { session });
            next.run(req).await
        }
        _ => PageError::Api(ApiError::Forbidden(
            "Форма устарела или отправлена не с этой страницы (нет проверочного кода). Обновите страницу и повторите.".into(),
        ))
        .into_response(),
    }
}

/// True unless the browser says the request comes from another origin.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin == "null" && host.is_empty() || origin.split_once("://").is_some_and(|(_, h)| h == host)
}

#[derive(Debug, Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

/// Only local paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n.to_owned(),
        _ => "/".into(),
    }
}

async fn login_form(State(state): State<AppState>, headers: HeaderMap, crate::api::extract::Query(q): crate::api::extract::Query<LoginQuery>) -> PageResult<Response> {
    if live_session(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    render::bare("login.html", serde_json::json!({ "next": safe_next(q.next.as_deref()), "email": "", "error": null, "tenants": [] }))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
}

async fn login(State(state): State<AppState>, headers: HeaderMap, axum::Form(form): axum::Form<LoginForm>) -> PageResult<Response> {
    let next = safe_next(form.next.as_deref());
    let tenant = form.tenant.as_deref().filter(|t| !t.is_empty()).and_then(|t| t.parse().ok()).map(TenantId);
    let ttl = chrono::Duration::hours(i64::from(state.config.session_hours.max(1)));
    let refused = |error: String, tenants: Vec<serde_json::Value>, status: StatusCode| -> PageResult<Response> {
        let mut res = render::bare("login.html", serde_json::json!({ "next": next, "email": form.email, "error": error, "tenants": tenants }))?;
        *res.status_mut() = status;
        Ok(res)
    };
    match sign_in::sign_in(&state.db, &form.email, &form.password, tenant, ttl).await {
        Ok((_, _, s)) => {
            let secure = state.config.secure_cookies
                || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
            let cookie = format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                s.cookie_value,
                (s.expires_at - chrono::Utc::now()).num_seconds().max(0),
                if secure { "; Secure" } else { "" }
            );
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.into()))?);
            Ok(res)
        }
        Err(SignInError::Wrong) => refused("Неверный e-mail или пароль.".into(), vec![], StatusCode::UNAUTHORIZED),
        Err(SignInError::Locked(until)) => {
            let minutes = ((until - chrono::Utc::now()).num_seconds() + 59) / 60;
            let word = crate::templates::format::plural(minutes.max(1) as u64, ["минуту", "минуты", "минут"]);
            refused(
                format!("Слишком много неудачных попыток входа. Повторите через {} {word} или попросите администратора сменить пароль.", minutes.max(1)),
                vec![],
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(SignInError::ChooseTenant(list)) => refused(
            "Этот e-mail и пароль подходят к нескольким организациям: выберите нужную.".into(),
            list.into_iter().map(|(id, name)| serde_json::json!({"id": id, "name": name})).collect(),
            StatusCode::OK,
        ),
        Err(SignInError::Db(e)) => Err(e.into()),
    }
}

async fn logout(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let mut tx = state.db.begin().await?;
    session::end(&mut tx.conn(), viewer.session.caller.tenant_id, viewer.session.id).await?;
    tx.commit().await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("crm_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/clients?q=1")), "/clients?q=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
