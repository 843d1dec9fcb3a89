//! Reminder pages: the rules (list, editor, a preview of whom a rule hits today), the
//! delivery log of the planner's decisions, and a client's reminders — flags (opted out, no
//! contact, time zone), promises to pay, and why the client did or did not get a reminder
//! today. Everything goes through the API's handlers, so the same checks apply.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::counterparties::CounterpartyId;
use crate::counterparties::model::CounterpartyKind;
use crate::reminders::model::{Channel, ClientFlags, Message, NoContact, Offset, OffsetKind, PromiseInput, Rule, RuleId, RuleInput, Scope, Step};
use crate::tenancy::Action;

use super::{Fields, Filters, refusal_of};
use super::auth::Viewer;
use super::clients::params;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reminders", get(rules))
        .route("/reminders/rules/new", get(new_rule).post(create_rule))
        .route("/reminders/rules/{id}", get(edit_rule).post(save_rule))
        .route("/reminders/rules/{id}/preview", get(preview))
        .route("/reminders/log", get(log))
        .route("/reminders/settings", post(save_settings))
        .route("/reminders/control-rules", post(create_control_rule))
        .route("/reminders/control-rules/{id}/delete", post(delete_control_rule))
        .route("/reminders/digest", get(digest))
        .route("/reminders/digest/chart.png", get(digest_chart))
        .route("/reminders/digest/subscription", post(digest_subscription))
        .route("/clients/{id}/reminders", get(client))
        .route("/clients/{id}/reminders/flags", post(save_flags))
        .route("/clients/{id}/reminders/promises", post(promise))
}

fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Email => "E-mail",
        Channel::Sms => "SMS",
        Channel::Voice => "Звонок",
        Channel::Task => "Задача менеджеру",
    }
}

fn status_label(m: &Message) -> &'static str {
    match m.status.as_str() {
        "planned" => "запланировано",
        "queued" => "передано на отправку",
        "task_created" => "задача создана",
        "skipped" => "пропущено",
        _ => "—",
    }
}

fn step_view(s: &Step) -> serde_json::Value {
    serde_json::json!({ "id": s.id, "when": s.offset.describe(), "channel": channel_label(s.channel), "template": s.template,
        "recipients": s.recipients.join(", "), "kind": s.offset.kind, "days": s.offset.days, "channel_key": s.channel })
}

fn rule_view(r: &Rule) -> serde_json::Value {
    let scope = &r.scope.0;
    let mut limits = Vec::new();
    if let Some(m) = scope.min_debt {
        limits.push(format!("долг от {}", super::render::rub(m)));
    }
    if let Some(d) = scope.min_days_overdue {
        limits.push(format!("просрочка от {d} дн."));
    }
    if !scope.segments.is_empty() {
        limits.push(format!("сегменты: {}", scope.segments.join(", ")));
    }
    if !scope.tags.is_empty() {
        limits.push(format!("теги: {}", scope.tags.join(", ")));
    }
    if !scope.client_kinds.is_empty() {
        limits.push(format!("клиенты: {}", scope.client_kinds.iter().map(|k| kind_label(*k)).collect::<Vec<_>>().join(", ")));
    }
    serde_json::json!({ "id": r.id, "name": r.name, "active": r.active, "position": r.position, "max_attempts": r.max_attempts,
        "scope": if limits.is_empty() { "все клиенты и долги".to_string() } else { limits.join("; ") },
        "steps": r.steps.0.iter().map(step_view).collect::<Vec<_>>() })
}

fn kind_label(k: CounterpartyKind) -> &'static str {
    match k {
        CounterpartyKind::LegalEntity => "юрлица",
        CounterpartyKind::SoleProprietor => "ИП",
        CounterpartyKind::NaturalPerson => "физлица",
    }
}

async fn rules(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    rules_page(&state, &viewer, vec![], StatusCode::OK).await
}

async fn rules_page(state: &AppState, viewer: &Viewer, refusal: Vec<String>, status: StatusCode) -> PageResult<Response> {
    let rules = crate::reminders::routes::list_reminder_rules(State(state.clone()), viewer.caller()).await?.0;
    let rows: Vec<_> = rules.iter().map(rule_view).collect();
    let settings = crate::reminders::routes::get_reminder_settings(State(state.clone()), viewer.caller()).await?.0;
    let can_edit = viewer.session.caller.ensure(Action::Configure).is_ok();
    // The notification-channel module instances an admin may pick for SMS and for calls.
    let channels: Vec<String> = if can_edit {
        let filter = params::<crate::plugins::routes::ModuleFilter>(&[("world", "notification-channel".into())])?;
        crate::plugins::routes::list_modules(State(state.clone()), viewer.caller(), Query(filter)).await?.0.into_iter().map(|m| m.id).collect()
    } else {
        vec![]
    };
    let control: Vec<serde_json::Value> =
        crate::reminders::routes::list_control_rules(State(state.clone()), viewer.caller()).await?.0.iter().map(control_view).collect();
    let mut res = page(
        viewer,
        "reminders.html",
        "Напоминания",
        "reminders",
        serde_json::json!({ "rules": rows, "can_edit": can_edit, "settings": settings, "channels": channels, "refusal": refusal, "control_rules": control }),
    )?;
    *res.status_mut() = status;
    Ok(res)
}

/// The sending settings admins change on the page: the sender, the SMS and voice modules,
/// the companies' send window; the rest (the law's figures, roles) stays as it is.
async fn save_settings(State(state): State<AppState>, viewer: Viewer, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let mut settings = crate::reminders::routes::get_reminder_settings(State(state.clone()), viewer.caller()).await?.0;
    let text = |k: &str| Some(f.one(k)).filter(|s| !s.is_empty());
    settings.sender_email = text("sender_email");
    settings.sms_module = text("sms_module");
    settings.voice_module = text("voice_module");
    let window: Result<crate::reminders::model::Window, ApiError> =
        serde_json::from_value(serde_json::json!({ "from": f.one("window_from"), "to": f.one("window_to") }))
            .map_err(|_| ApiError::field("business_window", "укажите время как ЧЧ:ММ, например 09:00"));
    let result = match window {
        Ok(w) => {
            settings.business_window = w;
            crate::reminders::routes::put_reminder_settings(State(state.clone()), viewer.caller(), ApiJson(settings)).await.map(drop)
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/reminders#settings").into_response()),
        Err(e) => rules_page(&state, &viewer, refusal_of(e)?, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// The editor's form values for a rule (or a new one), with one empty step row to add.
fn form_values(name: &str, active: bool, max_attempts: Option<i32>, scope: &Scope, steps: &[Step]) -> serde_json::Value {
    let mut rows: Vec<serde_json::Value> = steps.iter().map(step_view).collect();
    rows.push(serde_json::json!({ "id": "", "kind": "", "days": "", "channel_key": "email", "template": "reminder_overdue", "recipients": "accountant" }));
    let kinds = [CounterpartyKind::LegalEntity, CounterpartyKind::SoleProprietor, CounterpartyKind::NaturalPerson];
    serde_json::json!({
        "name": name, "active": active, "max_attempts": max_attempts,
        "min_debt": scope.min_debt.map(|m| m.to_string()), "min_days_overdue": scope.min_days_overdue,
        "segments": scope.segments.join(", "), "tags": scope.tags.join(", "),
        "kinds": kinds.iter().map(|k| serde_json::json!({ "key": k, "label": kind_label(*k), "checked": scope.client_kinds.contains(k) })).collect::<Vec<_>>(),
        "steps": rows,
        "offset_kinds": [
            {"key": "working_days_before", "label": "раб. дней до срока"}, {"key": "due_day", "label": "в день оплаты"},
            {"key": "calendar_days_after", "label": "дней после срока"}, {"key": "working_days_after", "label": "раб. дней после срока"}],
        "channels": [{"key": "email", "label": "E-mail"}, {"key": "sms", "label": "SMS"}, {"key": "voice", "label": "Звонок"}, {"key": "task", "label": "Задача менеджеру"}],
        "templates": crate::reminders::templates::KEYS,
    })
}

async fn editor(viewer: &Viewer, rule: Option<RuleId>, values: serde_json::Value, refusal: Vec<String>, status: StatusCode) -> PageResult<Response> {
    viewer.session.caller.ensure(Action::Configure)?;
    let title = if rule.is_some() { "Правило напоминаний" } else { "Новое правило напоминаний" };
    let mut res = page(viewer, "reminder_rule.html", title, "reminders", serde_json::json!({ "rule_id": rule, "f": values, "refusal": refusal }))?;
    *res.status_mut() = status;
    Ok(res)
}

async fn new_rule(viewer: Viewer) -> PageResult<Response> {
    editor(&viewer, None, form_values("", true, None, &Scope::default(), &[]), vec![], StatusCode::OK).await
}

async fn edit_rule(State(state): State<AppState>, viewer: Viewer, Path(id): Path<RuleId>) -> PageResult<Response> {
    let r = crate::reminders::routes::get_reminder_rule(State(state), viewer.caller(), Path(id)).await?.0;
    editor(&viewer, Some(id), form_values(&r.name, r.active, r.max_attempts, &r.scope.0, &r.steps.0), vec![], StatusCode::OK).await
}

fn list_of(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn enum_of<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// The rule a form describes; the editor's own mistakes (a number that is none) by field.
fn rule_from(f: &Fields) -> Result<RuleInput, ApiError> {
    let number = |field: &str, s: String| -> Result<Option<i64>, ApiError> {
        if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(|_| ApiError::field(field, format!("«{s}» — не число"))) }
    };
    let min_debt = f.one("min_debt").replace(' ', "").replace(',', ".");
    let min_debt = if min_debt.is_empty() { None } else { Some(min_debt.parse().map_err(|_| ApiError::field("scope.min_debt", format!("«{min_debt}» — не сумма")))?) };
    let scope = Scope {
        legal_entity_id: None,
        segments: list_of(&f.one("segments")),
        tags: list_of(&f.one("tags")),
        client_kinds: f.all("client_kinds").iter().filter_map(|k| enum_of(k)).collect(),
        min_debt,
        min_days_overdue: number("scope.min_days_overdue", f.one("min_days_overdue"))?.map(|d| d as i32),
    };
    let (ids, kinds, days, channels, templates, recipients) =
        (f.all("step_id"), f.all("step_kind"), f.all("step_days"), f.all("step_channel"), f.all("step_template"), f.all("step_recipients"));
    let mut steps = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        if kind.is_empty() {
            continue; // the empty row for a new step, left empty
        }
        let kind: OffsetKind = enum_of(kind).ok_or_else(|| ApiError::field(format!("steps[{i}].offset.kind"), "выберите, когда"))?;
        let d = number(&format!("steps[{i}].offset.days"), days.get(i).cloned().unwrap_or_default())?.unwrap_or(0);
        let channel: Channel = enum_of(channels.get(i).map(String::as_str).unwrap_or_default()).ok_or_else(|| ApiError::field(format!("steps[{i}].channel"), "выберите канал"))?;
        steps.push(Step {
            id: ids.get(i).cloned().unwrap_or_default(),
            offset: Offset { kind, days: d.max(0) as u32 },
            channel,
            template: templates.get(i).cloned().unwrap_or_default(),
            recipients: list_of(recipients.get(i).map(String::as_str).unwrap_or_default()),
        });
    }
    Ok(RuleInput {
        name: f.one("name"),
        position: 0,
        active: f.one("active") == "true",
        max_attempts: number("max_attempts", f.one("max_attempts"))?.map(|n| n as i32),
        scope,
        steps,
    })
}


async fn create_rule(State(state): State<AppState>, viewer: Viewer, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let result = match rule_from(&f) {
        Ok(input) => crate::reminders::routes::create_reminder_rule(State(state.clone()), viewer.caller(), ApiJson(input)).await.map(|(_, r)| r.0.id),
        Err(e) => Err(e),
    };
    saved(&viewer, None, &f, result).await
}

async fn save_rule(State(state): State<AppState>, viewer: Viewer, Path(id): Path<RuleId>, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let result = match rule_from(&f) {
        Ok(mut input) => {
            let current = crate::reminders::routes::get_reminder_rule(State(state.clone()), viewer.caller(), Path(id)).await?.0;
            input.position = current.position;
            crate::reminders::routes::update_reminder_rule(State(state.clone()), viewer.caller(), Path(id), ApiJson(input)).await.map(|r| r.0.id)
        }
        Err(e) => Err(e),
    };
    saved(&viewer, Some(id), &f, result).await
}

async fn saved(viewer: &Viewer, rule: Option<RuleId>, f: &Fields, result: Result<RuleId, ApiError>) -> PageResult<Response> {
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/reminders/rules/{id}")).into_response()),
        Err(e) => {
            let refusal = refusal_of(e)?;
            // The form comes back as typed, with what is wrong.
            let input = rule_from(f).unwrap_or_else(|_| RuleInput { name: f.one("name"), position: 0, active: true, max_attempts: None, scope: Scope::default(), steps: vec![] });
            editor(viewer, rule, form_values(&input.name, input.active, input.max_attempts, &input.scope, &input.steps), refusal, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Whom the rule would hit today: the planner's decisions for today, as a dry run that
/// writes nothing, for this rule.
async fn preview(State(state): State<AppState>, viewer: Viewer, Path(id): Path<RuleId>) -> PageResult<Response> {
    let rule = crate::reminders::routes::get_reminder_rule(State(state.clone()), viewer.caller(), Path(id)).await?.0;
    let caller = viewer.caller();
    let day = caller.today();
    let mut explanation = Vec::new();
    {
        let mut tx = state.db.snapshot().await.map_err(ApiError::from)?;
        let mut c = tx.conn();
        let now = crate::reminders::planner::start_of(day, crate::reminders::law::zone(None, &caller.time_zone));
        crate::reminders::planner::plan(&mut c, caller.tenant_id, day, now, None, Some(&mut explanation)).await.map_err(ApiError::Internal)?;
    }
    let lines: Vec<String> = explanation.into_iter().filter(|e| e.rule_id == Some(id)).map(|e| e.text).take(500).collect();
    page(&viewer, "reminder_preview.html", &rule.name, "reminders", serde_json::json!({ "rule": rule_view(&rule), "day": day, "lines": lines }))
}

#[derive(Deserialize, Default)]
struct LogQuery {
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    to: Option<NaiveDate>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

async fn message_rows(state: &AppState, viewer: &Viewer, messages: Vec<Message>) -> PageResult<Vec<serde_json::Value>> {
    let ids: Vec<CounterpartyId> = messages.iter().map(|m| m.counterparty_id).collect();
    let rules = crate::reminders::routes::list_reminder_rules(State(state.clone()), viewer.caller()).await?.0;
    let names = {
        let mut conn = state.db.read().await.map_err(ApiError::from)?;
        crate::counterparties::store::names(&mut conn.conn(), viewer.session.caller.tenant_id, &ids).await.map_err(ApiError::from)?
    };
    Ok(messages
        .iter()
        .map(|m| {
            let rule = rules.iter().find(|r| r.id == m.rule_id);
            serde_json::json!({ "day": m.day, "client": names.iter().find(|n| n.0 == m.counterparty_id).map(|n| n.1.clone()).unwrap_or_default(),
                "client_id": m.counterparty_id, "rule": rule.map(|r| r.name.clone()).unwrap_or_default(), "step": m.step_position,
                "channel": channel_label(m.channel), "status": status_label(m), "skipped": m.status.as_str() == "skipped", "reason": m.reason,
                "recipients": m.recipients.0.iter().map(|r| format!("{} <{}>", r.name, r.address)).collect::<Vec<_>>().join(", "),
                "documents": m.documents.0.iter().map(|d| d.number.clone()).collect::<Vec<_>>().join(", "),
                "not_before": m.not_before, "subject": m.subject,
                "delivery": m.delivery.as_deref().map(|d| match d {
                    "delivered" => "доставлено",
                    "sent" => "отправлено провайдером",
                    "failed" => "не доставлено",
                    _ => "в очереди у провайдера",
                }), "delivery_detail": m.delivery_detail })
        })
        .collect())
}

/// The delivery log: what the planner decided, per day, channel and status.
async fn log(State(state): State<AppState>, viewer: Viewer, Filters(q): Filters<LogQuery>) -> PageResult<Response> {
    let today = viewer.caller().today();
    let from = q.from.unwrap_or(today - chrono::Days::new(7));
    let to = q.to.unwrap_or(today);
    let filter = crate::reminders::routes::MessageFilter { counterparty_id: None, from: Some(from), to: Some(to) };
    let messages = crate::reminders::routes::list_reminder_messages(State(state.clone()), viewer.caller(), Query(filter)).await?.0;
    let messages: Vec<Message> = messages
        .into_iter()
        .filter(|m| q.status.as_deref().is_none_or(|s| m.status.as_str() == s))
        .filter(|m| q.channel.as_deref().is_none_or(|c| m.channel.as_str() == c))
        .collect();
    let rows = message_rows(&state, &viewer, messages).await?;
    page(&viewer, "reminder_log.html", "Журнал напоминаний", "reminders", serde_json::json!({ "rows": rows, "from": from, "to": to, "status": q.status, "channel": q.channel }))
}

async fn client_page(state: &AppState, viewer: &Viewer, id: CounterpartyId, refusal: Vec<String>, status: StatusCode) -> PageResult<Response> {
    let caller = viewer.caller();
    let card = {
        let mut conn = state.db.read().await.map_err(ApiError::from)?;
        crate::counterparties::routes::card(&mut conn.conn(), &caller, id).await?
    };
    let flags = crate::reminders::routes::get_reminder_flags(State(state.clone()), caller.clone(), Path(id)).await?.0;
    let promises = crate::reminders::routes::list_promises(State(state.clone()), caller.clone(), Path(id)).await?.0;
    let why = crate::reminders::routes::why_reminder(State(state.clone()), caller.clone(), Query(params(&[("client", id.to_string())])?)).await?.0;
    let debts = {
        let mut conn = state.db.read().await.map_err(ApiError::from)?;
        crate::reminders::store::open_debts(&mut conn.conn(), caller.tenant_id, Some(id)).await.map_err(ApiError::from)?
    };
    let messages = crate::reminders::routes::list_reminder_messages(
        State(state.clone()),
        caller.clone(),
        Query(crate::reminders::routes::MessageFilter { counterparty_id: Some(id), from: None, to: None }),
    )
    .await?
    .0;
    let messages = message_rows(state, viewer, messages.into_iter().take(100).collect()).await?;
    let promises: Vec<_> = promises
        .iter()
        .map(|p| serde_json::json!({ "amount": p.amount, "promised_on": p.promised_on, "made_on": p.made_on, "paid": p.paid, "missing": p.missing,
            "status": match p.status.as_str() { "open" => "ожидается", "kept" => "выполнено", _ => "нарушено" }, "broken": p.status.as_str() == "broken",
            "documents": p.document_ids.0.len(), "note": p.note }))
        .collect();
    let debts: Vec<_> = debts.iter().map(|d| serde_json::json!({ "id": d.document_id, "number": d.number, "due_on": d.due_on, "open": d.open_amount })).collect();
    let title = crate::counterparties::model::display_name(&card.counterparty.full_name, card.counterparty.short_name.as_deref());
    let no_contact = [("", "нет ограничений"), ("bankrupt", "банкрот"), ("incapable", "недееспособен"), ("refused", "отказался от взаимодействия")];
    let mut res = page(
        viewer,
        "client_reminders.html",
        &format!("Напоминания: {title}"),
        "clients",
        serde_json::json!({ "id": id, "name": title, "flags": flags, "promises": promises, "why": why.explanation.iter().map(|e| e.text.clone()).collect::<Vec<_>>(),
            "debts": debts, "messages": messages, "refusal": refusal, "today": why.date,
            "no_contact": no_contact.iter().map(|(k, l)| serde_json::json!({ "key": k, "label": l,
                "selected": flags.no_contact.map(|n| n.as_str()).unwrap_or("") == *k })).collect::<Vec<_>>() }),
    )?;
    *res.status_mut() = status;
    Ok(res)
}

/// A client's reminders: flags, promises, why today, the messages planned for it.
async fn client(State(state): State<AppState>, viewer: Viewer, Path(id): Path<CounterpartyId>) -> PageResult<Response> {
    client_page(&state, &viewer, id, vec![], StatusCode::OK).await
}

async fn after(state: &AppState, viewer: &Viewer, id: CounterpartyId, result: Result<(), ApiError>) -> PageResult<Response> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/clients/{id}/reminders")).into_response()),
        Err(e) => client_page(state, viewer, id, refusal_of(e)?, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

async fn save_flags(State(state): State<AppState>, viewer: Viewer, Path(id): Path<CounterpartyId>, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let no_contact: Option<NoContact> = enum_of(&f.one("no_contact"));
    let tz = f.one("time_zone");
    let input = ClientFlags { opted_out: f.one("opted_out") == "true", no_contact, time_zone: (!tz.is_empty()).then_some(tz) };
    let result = crate::reminders::routes::put_reminder_flags(State(state.clone()), viewer.caller(), Path(id), ApiJson(input)).await.map(drop);
    after(&state, &viewer, id, result).await
}

/// Records a promise to pay the debts ticked (by default every open one).
async fn promise(State(state): State<AppState>, viewer: Viewer, Path(id): Path<CounterpartyId>, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let result = async {
        let amount = f.one("amount").replace(' ', "").replace(',', ".");
        let amount = amount.parse().map_err(|_| ApiError::field("amount", format!("«{amount}» — не сумма: укажите, например, 150000,00")))?;
        let promised_on = NaiveDate::parse_from_str(&f.one("promised_on"), "%Y-%m-%d").map_err(|_| ApiError::field("promised_on", "укажите дату"))?;
        let document_ids = f.all("document_ids")
            .iter()
            .map(|s| s.parse::<uuid::Uuid>().map(crate::receivables::model::SalesDocumentId).map_err(|_| ApiError::field("document_ids", "неизвестный документ")))
            .collect::<Result<Vec<_>, _>>()?;
        let note = Some(f.one("note")).filter(|s| !s.is_empty());
        let input = PromiseInput { amount, promised_on, document_ids, made_on: None, note };
        crate::reminders::routes::create_promise(State(state.clone()), viewer.caller(), Path(id), ApiJson(input)).await.map(drop)
    }
    .await;
    after(&state, &viewer, id, result).await
}

// --- Debt control and the digest ------------------------------------------------------------------

fn control_view(r: &crate::reminders::control::ControlRule) -> serde_json::Value {
    let mut when = Vec::new();
    if let Some(m) = r.min_debt {
        when.push(format!("долг от {}", super::render::rub(m)));
    }
    if let Some(d) = r.min_days_overdue {
        when.push(format!("просрочка от {d} дн."));
    }
    if let Some(s) = r.max_stars {
        when.push(format!("рейтинг плательщика не выше {s} из 5"));
    }
    let days = if r.working_days { "раб. дн." } else { "дн." };
    serde_json::json!({ "id": r.id, "name": r.name, "active": r.active, "when": when.join(" и "), "control": format!("{} {days}", r.control_days) })
}

/// A debt-control rule from the page's form.
fn control_from(f: &Fields) -> Result<crate::reminders::control::ControlRuleInput, ApiError> {
    let money = |field: &str| -> Result<Option<crate::money::Money>, ApiError> {
        let s = f.one(field).replace([' ', '\u{a0}'], "").replace(',', ".");
        if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(|_| ApiError::field(field, format!("«{s}» — не сумма"))) }
    };
    let int = |field: &str| -> Result<Option<i32>, ApiError> {
        let s = f.one(field);
        if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(|_| ApiError::field(field, format!("«{s}» — не число"))) }
    };
    Ok(crate::reminders::control::ControlRuleInput {
        name: f.one("name"),
        active: true,
        position: 0,
        min_debt: money("min_debt")?,
        min_days_overdue: int("min_days_overdue")?,
        max_stars: int("max_stars")?,
        control_days: int("control_days")?.unwrap_or(0),
        working_days: f.one("working_days") == "true",
    })
}

async fn create_control_rule(State(state): State<AppState>, viewer: Viewer, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let result = match control_from(&f) {
        Ok(input) => crate::reminders::routes::create_control_rule(State(state.clone()), viewer.caller(), ApiJson(input)).await.map(drop),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/reminders#control").into_response()),
        Err(e) => rules_page(&state, &viewer, refusal_of(e)?, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

async fn delete_control_rule(State(state): State<AppState>, viewer: Viewer, Path(id): Path<crate::reminders::control::ControlRuleId>) -> PageResult<Response> {
    crate::reminders::routes::delete_control_rule(State(state), viewer.caller(), Path(id)).await?;
    Ok(Redirect::to("/reminders#control").into_response())
}

#[derive(Debug, Deserialize)]
struct DigestQuery {
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    date: Option<NaiveDate>,
}

/// Today's digest (or a day's) for the signed-in user: the content of the morning e-mail.
async fn digest(State(state): State<AppState>, viewer: Viewer, Filters(q): Filters<DigestQuery>) -> PageResult<Response> {
    let query = crate::reminders::routes::DigestQuery { date: q.date };
    let d = crate::reminders::routes::get_digest(State(state), viewer.caller(), Query(query)).await?.0;
    let rub = super::render::rub;
    let change = |m: Option<crate::money::Money>| m.map(|m| if m.minor() > 0 { format!("+{}", rub(m)) } else { rub(m) });
    let debt = |l: &crate::reminders::digest::DebtLine| {
        serde_json::json!({ "client": l.client, "client_id": l.counterparty_id, "document_id": l.document_id, "number": l.number,
            "due_on": l.due_on.format("%d.%m.%Y").to_string(), "open": rub(l.open), "days": l.days_overdue, "disputed": l.disputed })
    };
    let data = serde_json::json!({
        "day": d.day, "day_text": d.day.format("%d.%m.%Y").to_string(), "own": d.scope == crate::reminders::digest::Scope::Own, "subscribed": d.subscribed,
        "owed": rub(d.owed), "overdue": rub(d.overdue), "owed_change": change(d.owed_change), "overdue_change": change(d.overdue_change),
        "paid_total": rub(d.paid_total),
        "paid": d.paid.iter().map(|p| serde_json::json!({ "client": p.client, "client_id": p.counterparty_id, "amount": rub(p.amount) })).collect::<Vec<_>>(),
        "newly_overdue": d.newly_overdue.iter().map(debt).collect::<Vec<_>>(),
        "forgotten_days": d.forgotten_days,
        "forgotten": d.forgotten.iter().map(|f| serde_json::json!({ "client": f.client, "client_id": f.counterparty_id, "overdue": rub(f.overdue), "days": f.days_overdue })).collect::<Vec<_>>(),
        "promises_due": d.promises_due.iter().map(|p| serde_json::json!({ "client": p.client, "client_id": p.counterparty_id, "amount": rub(p.amount) })).collect::<Vec<_>>(),
        "promises_broken": d.promises_broken.iter().map(|p| serde_json::json!({ "client": p.client, "client_id": p.counterparty_id, "amount": rub(p.amount),
            "promised_on": p.promised_on.format("%d.%m.%Y").to_string(), "missing": rub(p.missing) })).collect::<Vec<_>>(),
        "top_overdue": d.top_overdue.iter().map(debt).collect::<Vec<_>>(),
        "buckets": d.buckets.iter().map(|b| serde_json::json!({ "label": b.label, "amount": rub(b.amount), "overdue": b.overdue })).collect::<Vec<_>>(),
    });
    page(&viewer, "reminder_digest.html", "Утренняя сводка", "reminders", data)
}

/// The digest's chart as the e-mail attaches it.
async fn digest_chart(State(state): State<AppState>, viewer: Viewer, Filters(q): Filters<DigestQuery>) -> PageResult<Response> {
    let query = crate::reminders::routes::DigestQuery { date: q.date };
    let d = crate::reminders::routes::get_digest(State(state), viewer.caller(), Query(query)).await?.0;
    let png = crate::reminders::digest::chart(&d).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "image/png"), (axum::http::header::CACHE_CONTROL, "private, no-store")], png).into_response())
}

async fn digest_subscription(State(state): State<AppState>, viewer: Viewer, body: String) -> PageResult<Response> {
    let f = Fields::parse(&body);
    let input = crate::reminders::routes::DigestSubscription { opted_in: f.one("opted_in") == "true" };
    crate::reminders::routes::put_digest_subscription(State(state), viewer.caller(), ApiJson(input)).await?;
    Ok(Redirect::to("/reminders/digest").into_response())
}
