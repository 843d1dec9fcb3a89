//! Rendering pages: the template environment (templates compiled into the binary,
//! auto-escaped, strict about undefined variables), the layout context every page gets,
//! Russian formatting filters, and the Russian error page with the request id.

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::api::error::ApiError;
use crate::money::Money;
use crate::templates::format;
use crate::tenancy::Role;

use super::auth::Viewer;

/// The page templates, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../assets/pages/layout.html")),
    ("macros.html", include_str!("../../assets/pages/macros.html")),
    ("error.html", include_str!("../../assets/pages/error.html")),
    ("login.html", include_str!("../../assets/pages/login.html")),
    ("account.html", include_str!("../../assets/pages/account.html")),
    ("clients.html", include_str!("../../assets/pages/clients.html")),
    ("client.html", include_str!("../../assets/pages/client.html")),
    ("client_debts.html", include_str!("../../assets/pages/client_debts.html")),
    ("debt.html", include_str!("../../assets/pages/debt.html")),
    ("kanban.html", include_str!("../../assets/pages/kanban.html")),
    ("kanban_cards.html", include_str!("../../assets/pages/kanban_cards.html")),
    ("deal.html", include_str!("../../assets/pages/deal.html")),
    ("approvals.html", include_str!("../../assets/pages/approvals.html")),
    ("approval.html", include_str!("../../assets/pages/approval.html")),
    ("tasks.html", include_str!("../../assets/pages/tasks.html")),
    ("aging.html", include_str!("../../assets/pages/aging.html")),
    ("jobs.html", include_str!("../../assets/pages/jobs.html")),
    ("job.html", include_str!("../../assets/pages/job.html")),
    ("job_progress.html", include_str!("../../assets/pages/job_progress.html")),
    ("modules.html", include_str!("../../assets/pages/modules.html")),
    ("module.html", include_str!("../../assets/pages/module.html")),
    ("plugin_runs.html", include_str!("../../assets/pages/plugin_runs.html")),
    ("leads.html", include_str!("../../assets/pages/leads.html")),
    ("sales.html", include_str!("../../assets/pages/sales.html")),
    ("lead_import.html", include_str!("../../assets/pages/lead_import.html")),
    ("lead_batch.html", include_str!("../../assets/pages/lead_batch.html")),
    ("users.html", include_str!("../../assets/pages/users.html")),
    ("reminders.html", include_str!("../../assets/pages/reminders.html")),
    ("reminder_rule.html", include_str!("../../assets/pages/reminder_rule.html")),
    ("reminder_preview.html", include_str!("../../assets/pages/reminder_preview.html")),
    ("reminder_log.html", include_str!("../../assets/pages/reminder_log.html")),
    ("reminder_digest.html", include_str!("../../assets/pages/reminder_digest.html")),
    ("client_reminders.html", include_str!("../../assets/pages/client_reminders.html")),
    ("user.html", include_str!("../../assets/pages/user.html")),
    ("mail.html", include_str!("../../assets/pages/mail.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("page template {name}: {e:#}"));
        }
        crate::templates::filters::register(&mut env);
        env.add_filter("rub", |v: Value| money_text(&v).map(rub));
        env.add_filter("datetime", |v: Value, tz: String| timestamp(&v, &tz, "%d.%m.%Y %H:%M"));
        env.add_filter("role_label", |v: String| role_label(&v).to_string());
        env.add_filter("share", share);
        env.add_function("term_value", term_value);
        env
    })
}

/// A share (`"0.3333"`) as a percentage the Russian way: `33,3 %`; `—` for none.
fn share(v: Value) -> Result<String, minijinja::Error> {
    if v.is_none() || v.is_undefined() {
        return Ok("—".into());
    }
    let s = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    let d: rust_decimal::Decimal = s.parse().map_err(|_| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("share: `{s}` is not a number")))?;
    Ok(crate::templates::format::percent((d * rust_decimal::Decimal::ONE_HUNDRED).round_dp(1)))
}

/// A deal term as users read it: `—` for none; a party's limit (`{"limit": …}`) in rubles or
/// «без лимита»; an amount (`"7000000.00"`) in rubles; anything else as it is.
fn term_value(v: Value) -> String {
    if v.is_none() || v.is_undefined() {
        return "—".into();
    }
    if v.kind() == minijinja::value::ValueKind::Map {
        return match v.get_attr("limit").ok().filter(|l| !l.is_none() && !l.is_undefined()) {
            Some(l) => money_text(&l).map(rub).unwrap_or_else(|_| l.to_string()),
            None => "без лимита".into(),
        };
    }
    match v.as_str() {
        Some(s) if s.split_once('.').is_some_and(|(r, k)| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) && k.len() == 2 && k.bytes().all(|b| b.is_ascii_digit())) => {
            money_text(&v).map(rub).unwrap_or_else(|_| s.to_string())
        }
        Some(s) => s.to_string(),
        None => v.to_string(),
    }
}

fn money_text(v: &Value) -> Result<Money, minijinja::Error> {
    let s = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    Money::parse_stored(&s).map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("rub: `{s}` {e}")))
}

/// `1 638 297,15 ₽` (NO-BREAK SPACEs inside, so it never wraps).
pub fn rub(m: Money) -> String {
    format!("{}{}₽", format::amount(m), format::NBSP)
}

fn timestamp(v: &Value, tz: &str, pattern: &str) -> Result<String, minijinja::Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let s = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    let at: DateTime<Utc> = s
        .parse()
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("datetime: `{s}`: {e}")))?;
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Europe::Moscow);
    Ok(at.with_timezone(&zone).format(pattern).to_string())
}

/// The Russian name of a role.
pub fn role_label(role: &str) -> &'static str {
    match role {
        "admin" => "Администратор",
        "head" => "Руководитель",
        "manager" => "Менеджер",
        _ => "—",
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page, then back to `next`.
    SignIn { next: String },
    /// What the API would have answered; shown as a Russian error page.
    Api(ApiError),
}

pub type PageResult<T> = Result<T, PageError>;

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError::Api(e.into())
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> Self {
        PageError::Api(ApiError::Internal(anyhow::anyhow!("rendering a page: {e:#}")))
    }
}

/// What went wrong, carried from a failed handler to [`error_pages`], which knows the
/// request id and renders the page.
#[derive(Debug, Clone)]
struct Failure {
    title: &'static str,
    detail: String,
    fields: Vec<(String, String)>,
}

fn failure(e: &ApiError) -> Failure {
    let (title, detail) = match e {
        ApiError::Unauthenticated(_) => ("Требуется вход", "Войдите в систему, чтобы продолжить.".to_string()),
        ApiError::Forbidden(why) => ("Недостаточно прав", format!("Ваша роль не позволяет это действие. {why}")),
        ApiError::NotFound(_) | ApiError::NoSuchRoute => (
            "Не найдено",
            "Такой страницы или записи нет в вашей организации. Проверьте адрес или вернитесь к списку.".to_string(),
        ),
        ApiError::MethodNotAllowed => ("Действие недоступно", "Эта страница не принимает такой запрос.".to_string()),
        ApiError::Validation(_) => ("Проверьте данные", "Исправьте отмеченные поля и повторите.".to_string()),
        ApiError::Conflict { detail, .. } => ("Конфликт с сохранёнными данными", detail.clone()),
        ApiError::BadRequest(detail) => ("Неверный запрос", detail.clone()),
        ApiError::PayloadTooLarge(detail) => ("Файл слишком большой", detail.clone()),
        ApiError::Upstream(detail) => (
            "Ошибка модуля или внешней системы",
            format!("{detail}. Ничего не изменено; повторите позже, подробности — в журнале вызовов модулей."),
        ),
        ApiError::Busy(_) => ("Сервер занят", "Все обработчики заняты. Повторите через несколько секунд.".to_string()),
        ApiError::Internal(_) => (
            "Внутренняя ошибка",
            "Сервер не смог выполнить запрос. Ошибка записана в журнал; сообщите администратору номер запроса.".to_string(),
        ),
    };
    let fields = match e {
        ApiError::Validation(errs) => errs.iter().map(|f| (f.field.clone(), f.message.clone())).collect(),
        _ => vec![],
    };
    Failure { title, detail, fields }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let to = format!("/login?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
                Redirect::to(&to).into_response()
            }
            PageError::Api(e) => {
                if let ApiError::Internal(err) = &e {
                    tracing::error!(error = ?err, "page failed");
                }
                let status = e.status();
                let mut res = status.into_response();
                res.extensions_mut().insert(failure(&e));
                res
            }
        }
    }
}

/// Renders the error page of a failed page handler, with the request id to quote.
pub async fn error_pages(req: Request, next: Next) -> Response {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut res = next.run(req).await;
    let failure = match res.extensions_mut().remove::<Failure>() {
        Some(f) => Some(f),
        // An extractor's rejection (a malformed id in the path) is the API's problem
        // document: the page shows it the same way as a handler's failure.
        None if is_problem(&res) => {
            let status = res.status();
            let (parts, body) = res.into_parts();
            let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
            let detail = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| v["detail"].as_str().map(str::to_owned)).unwrap_or_default();
            res = Response::from_parts(parts, axum::body::Body::empty());
            Some(failure_of_status(status, detail))
        }
        None => None,
    };
    if let Some(f) = failure {
        let status = res.status();
        let html = env()
            .get_template("error.html")
            .and_then(|t| {
                t.render(context! {
                    title => f.title, detail => f.detail, fields => f.fields, request_id => &request_id, status => status.as_u16(),
                })
            })
            .unwrap_or_else(|e| format!("<!doctype html><title>Ошибка</title><p>Ошибка {}; запрос {request_id}. ({e})</p>", status.as_u16()));
        return (status, html_headers(), html).into_response();
    }
    res
}

/// The error page for a path no page or API route serves.
pub fn not_found_page(request_id: &str) -> Response {
    let f = failure(&ApiError::NoSuchRoute);
    let html = env()
        .get_template("error.html")
        .and_then(|t| t.render(context! { title => f.title, detail => f.detail, fields => f.fields, request_id => request_id, status => 404 }))
        .unwrap_or_default();
    (StatusCode::NOT_FOUND, html_headers(), html).into_response()
}

fn is_problem(res: &Response) -> bool {
    res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/problem+json"))
}

/// A failure known only by its status and the API's detail.
fn failure_of_status(status: StatusCode, detail: String) -> Failure {
    let e = match status {
        StatusCode::BAD_REQUEST => ApiError::BadRequest(detail),
        StatusCode::NOT_FOUND => ApiError::NoSuchRoute,
        StatusCode::FORBIDDEN => ApiError::Forbidden(detail),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(detail),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Validation(vec![]),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Busy(detail),
        _ => ApiError::Internal(anyhow::anyhow!("{detail}")),
    };
    failure(&e)
}

fn html_headers() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// The signed-in user as the layout shows them.
#[derive(Serialize)]
struct Me<'a> {
    name: &'a str,
    role: &'a str,
    role_label: &'static str,
    is_lead: bool,
    is_admin: bool,
}

/// Renders `template` inside the layout for `viewer`: `data` is the page's own context
/// (a struct or a `context!`), `active` names the menu item to highlight.
pub fn page(viewer: &Viewer, template: &str, title: &str, active: &str, data: impl Serialize) -> PageResult<Response> {
    let c = &viewer.session.caller;
    let me = Me {
        name: &c.name,
        role: c.role.as_str(),
        role_label: role_label(c.role.as_str()),
        is_lead: c.is_lead(),
        is_admin: c.role == Role::Admin,
    };
    let html = env().get_template(template)?.render(context! {
        me => Value::from(minijinja::value::Serde(&me)), csrf => &viewer.session.csrf_token, title => title, active => active, tz => &c.time_zone,
        today => c.today().to_string(), ..Value::from(minijinja::value::Serde(&data))
    })?;
    Ok((html_headers(), Html(html)).into_response())
}

/// Renders a template without the signed-in layout (the sign-in page, fragments).
pub fn bare(template: &str, data: impl Serialize) -> PageResult<Response> {
    let html = env().get_template(template)?.render(Value::from(minijinja::value::Serde(&data)))?;
    Ok((html_headers(), Html(html)).into_response())
}

/// Every page template parses (checked by a unit test, so a typo fails `cargo test`).
pub fn check_templates() -> Result<(), String> {
    for (name, _) in TEMPLATES {
        env().get_template(name).map_err(|e| format!("{name}: {e:#}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_template_parses() {
        check_templates().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn money_is_shown_the_russian_way() {
        let m = Money::parse_stored("1638297.15").unwrap_or(Money::ZERO);
        assert_eq!(rub(m), "1\u{a0}638\u{a0}297,15\u{a0}₽");
    }
}
