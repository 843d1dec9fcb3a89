//! The reminders API: rules and settings (admins), client flags, disputes and promises
//! (managers), the plan of a day, its messages and the explanation of a decision.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{ClientFlags, Dispute, DisputeInput, Message, PlanReport, Promise, PromiseId, PromiseInput, Rule, RuleId, RuleInput, Settings, Why};
use super::{planner, store};
use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::db::Conn;
use crate::receivables::model::SalesDocumentId;
use crate::tenancy::{Action, Caller, TenantId};
use crate::validation::Violations;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reminder_rules, create_reminder_rule))
        .routes(routes!(get_reminder_rule, update_reminder_rule, delete_reminder_rule))
        .routes(routes!(get_reminder_settings, put_reminder_settings))
        .routes(routes!(get_reminder_flags, put_reminder_flags))
        .routes(routes!(get_dispute, put_dispute))
        .routes(routes!(list_promises, create_promise))
        .routes(routes!(run_reminder_plan))
        .routes(routes!(list_reminder_messages))
        .routes(routes!(why_reminder))
        .routes(routes!(list_control_rules, create_control_rule))
        .routes(routes!(update_control_rule, delete_control_rule))
        .routes(routes!(list_client_controls))
        .routes(routes!(get_digest))
        .routes(routes!(put_digest_subscription))
}

async fn check_rule(c: &mut Conn<'_>, tenant: TenantId, input: &RuleInput) -> ApiResult<()> {
    let mut v = Violations::new();
    input.check(&mut v);
    if let Some(id) = input.scope.legal_entity_id
        && store::legal_entity(c, tenant, id).await?.is_none()
    {
        v.add("scope.legal_entity_id", "нет такого юрлица у тенанта");
    }
    v.finish()?;
    Ok(())
}

/// The reminder rules, in the order they are applied.
#[utoipa::path(get, path = "/reminder-rules", tag = "reminders", responses((status = 200, body = Vec<Rule>)))]
pub(crate) async fn list_reminder_rules(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<Rule>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::list_rules(&mut c.conn(), caller.tenant_id).await?))
}

/// Create a reminder rule (admins): its scope and ordered steps.
#[utoipa::path(post, path = "/reminder-rules", tag = "reminders", request_body = RuleInput,
    responses((status = 201, body = Rule), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn create_reminder_rule(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<RuleInput>) -> ApiResult<(StatusCode, ApiJson<Rule>)> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    check_rule(&mut c, caller.tenant_id, &input).await?;
    let r = store::insert_rule(&mut c, caller.tenant_id, RuleId::new(), &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "reminder_rule", r.id.0, AuditAction::Create, None, &r).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(r)))
}

#[utoipa::path(get, path = "/reminder-rules/{id}", tag = "reminders", params(("id" = RuleId, Path)),
    responses((status = 200, body = Rule), (status = 404, body = Problem)))]
pub(crate) async fn get_reminder_rule(State(state): State<AppState>, caller: Caller, Path(id): Path<RuleId>) -> ApiResult<ApiJson<Rule>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::get_rule(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("reminder rule"))?))
}

/// Replace a rule (admins). Steps keep their keys (`id`) so what was sent is not sent again.
#[utoipa::path(put, path = "/reminder-rules/{id}", tag = "reminders", params(("id" = RuleId, Path)), request_body = RuleInput,
    responses((status = 200, body = Rule), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn update_reminder_rule(State(state): State<AppState>, caller: Caller, Path(id): Path<RuleId>, ApiJson(input): ApiJson<RuleInput>) -> ApiResult<ApiJson<Rule>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get_rule(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("reminder rule"))?;
    check_rule(&mut c, caller.tenant_id, &input).await?;
    let after = store::update_rule(&mut c, caller.tenant_id, id, &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "reminder_rule", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Delete a rule that has sent nothing (admins); one with messages is deactivated instead.
#[utoipa::path(delete, path = "/reminder-rules/{id}", tag = "reminders", params(("id" = RuleId, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_reminder_rule(State(state): State<AppState>, caller: Caller, Path(id): Path<RuleId>) -> ApiResult<StatusCode> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = store::get_rule(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("reminder rule"))?;
    if !store::delete_rule(&mut c, caller.tenant_id, id).await? {
        return Err(ApiError::Conflict { detail: "По правилу уже есть сообщения: выключите его (active: false) вместо удаления.".into(), field: Some("active".into()) });
    }
    audit::record_delete(&mut c, caller.tenant_id, &Actor::from(&caller), "reminder_rule", id.0, &before).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's reminder settings: the ФЗ-230 figures, the companies' send window, contact roles.
#[utoipa::path(get, path = "/reminder-settings", tag = "reminders", responses((status = 200, body = Settings)))]
pub(crate) async fn get_reminder_settings(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Settings>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::settings(&mut c.conn(), caller.tenant_id).await?))
}

/// Replace the reminder settings (admins).
#[utoipa::path(put, path = "/reminder-settings", tag = "reminders", request_body = Settings,
    responses((status = 200, body = Settings), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn put_reminder_settings(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<Settings>) -> ApiResult<ApiJson<Settings>> {
    caller.ensure(Action::Configure)?;
    let mut v = Violations::new();
    input.check(&mut v);
    v.finish()?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    // A module named for SMS or calls must be one of the tenant's notification channels.
    for (field, named) in [("sms_module", &input.sms_module), ("voice_module", &input.voice_module)] {
        let Some(id) = named else { continue };
        let m = crate::plugins::store::get_module(&mut c, caller.tenant_id, id).await?;
        let world = match &m {
            Some(m) => crate::plugins::store::get_version(&mut c, caller.tenant_id, &m.plugin_id, &m.version).await?.map(|v| v.world),
            None => None,
        };
        if world != Some(crate::plugins::manifest::World::NotificationChannel) {
            return Err(ApiError::field(field, format!("нет модуля отправки сообщений «{id}»: подключите его в «Модули» (плагин мира notification-channel)")));
        }
    }
    let before = store::settings(&mut c, caller.tenant_id).await?;
    store::put_settings(&mut c, caller.tenant_id, &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "reminder_settings", caller.tenant_id.0, AuditAction::Update, Some(&before), &input).await?;
    tx.commit().await?;
    Ok(ApiJson(input))
}

async fn client_exists(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId) -> ApiResult<()> {
    if crate::counterparties::store::exists(c, tenant, id).await? { Ok(()) } else { Err(ApiError::NotFound("counterparty")) }
}

/// A client's reminder flags: opted out, no contact (bankrupt, incapable, refused), time zone.
#[utoipa::path(get, path = "/counterparties/{id}/reminder-flags", tag = "reminders", params(("id" = CounterpartyId, Path)),
    responses((status = 200, body = ClientFlags), (status = 404, body = Problem)))]
pub(crate) async fn get_reminder_flags(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>) -> ApiResult<ApiJson<ClientFlags>> {
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    client_exists(&mut c, caller.tenant_id, id).await?;
    Ok(ApiJson(store::flags(&mut c, caller.tenant_id, id).await?))
}

/// Set a client's reminder flags.
#[utoipa::path(put, path = "/counterparties/{id}/reminder-flags", tag = "reminders", params(("id" = CounterpartyId, Path)), request_body = ClientFlags,
    responses((status = 200, body = ClientFlags), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn put_reminder_flags(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>, ApiJson(input): ApiJson<ClientFlags>) -> ApiResult<ApiJson<ClientFlags>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    client_exists(&mut c, caller.tenant_id, id).await?;
    if let Some(tz) = &input.time_zone
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        return Err(ApiError::field("time_zone", format!("«{}» — не часовой пояс IANA (например, Asia/Vladivostok)", tz.chars().take(60).collect::<String>())));
    }
    let before = store::flags(&mut c, caller.tenant_id, id).await?;
    store::put_flags(&mut c, caller.tenant_id, id, &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "reminder_flags", id.0, AuditAction::Update, Some(&before), &input).await?;
    tx.commit().await?;
    Ok(ApiJson(input))
}

async fn dispute_of(c: &mut Conn<'_>, tenant: TenantId, id: SalesDocumentId) -> ApiResult<Dispute> {
    store::document_client(c, tenant, id).await?.ok_or(ApiError::NotFound("sales document"))?;
    let d = store::dispute(c, tenant, id).await?;
    Ok(Dispute { document_id: id, disputed: d.is_some(), reason: d.as_ref().map(|d| d.0.clone()), disputed_at: d.map(|d| d.1) })
}

/// Whether a debt is disputed (out of chasing, still in every report).
#[utoipa::path(get, path = "/sales-documents/{id}/dispute", tag = "reminders", params(("id" = SalesDocumentId, Path)),
    responses((status = 200, body = Dispute), (status = 404, body = Problem)))]
async fn get_dispute(State(state): State<AppState>, caller: Caller, Path(id): Path<SalesDocumentId>) -> ApiResult<ApiJson<Dispute>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(dispute_of(&mut c.conn(), caller.tenant_id, id).await?))
}

/// Mark a debt disputed (with the reason) or lift the dispute.
#[utoipa::path(put, path = "/sales-documents/{id}/dispute", tag = "reminders", params(("id" = SalesDocumentId, Path)), request_body = DisputeInput,
    responses((status = 200, body = Dispute), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_dispute(State(state): State<AppState>, caller: Caller, Path(id): Path<SalesDocumentId>, ApiJson(input): ApiJson<DisputeInput>) -> ApiResult<ApiJson<Dispute>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = dispute_of(&mut c, caller.tenant_id, id).await?;
    let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if input.disputed && reason.is_none() {
        return Err(ApiError::field("reason", "укажите, что клиент оспаривает"));
    }
    store::set_dispute(&mut c, caller.tenant_id, id, if input.disputed { reason } else { None }, caller.user_id).await?;
    let after = dispute_of(&mut c, caller.tenant_id, id).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "sales_document", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// A client's promises to pay, the latest first.
#[utoipa::path(get, path = "/counterparties/{id}/promises", tag = "reminders", params(("id" = CounterpartyId, Path)),
    responses((status = 200, body = Vec<Promise>), (status = 404, body = Problem)))]
pub(crate) async fn list_promises(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>) -> ApiResult<ApiJson<Vec<Promise>>> {
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    client_exists(&mut c, caller.tenant_id, id).await?;
    Ok(ApiJson(store::promises_of(&mut c, caller.tenant_id, id).await?))
}

/// Record a client's promise to pay an amount by a date for some of its debts: chasing of
/// those debts pauses until the promise is kept or broken.
#[utoipa::path(post, path = "/counterparties/{id}/promises", tag = "reminders", params(("id" = CounterpartyId, Path)), request_body = PromiseInput,
    responses((status = 201, body = Promise), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn create_promise(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>, ApiJson(input): ApiJson<PromiseInput>) -> ApiResult<(StatusCode, ApiJson<Promise>)> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    client_exists(&mut c, caller.tenant_id, id).await?;
    let made_on = input.made_on.unwrap_or_else(|| caller.today());
    let mut v = Violations::new();
    v.check(input.amount.minor() > 0, "amount", "сумма обещания должна быть больше нуля");
    v.check(input.promised_on >= made_on, "promised_on", "дата оплаты не может быть раньше дня обещания");
    v.check(!input.document_ids.is_empty(), "document_ids", "укажите долги, которые клиент обещает оплатить");
    v.check(input.document_ids.len() <= crate::validation::MAX_LIST_ITEMS, "document_ids", "слишком много документов");
    for (i, doc) in input.document_ids.iter().enumerate() {
        if store::document_client(&mut c, caller.tenant_id, *doc).await? != Some(id) {
            v.add(format!("document_ids[{i}]"), "это не документ этого клиента");
        }
    }
    v.finish()?;
    let new = store::NewPromise {
        id: PromiseId::new(),
        counterparty_id: id,
        amount: input.amount,
        made_on,
        promised_on: input.promised_on,
        documents: &input.document_ids,
        note: input.note.as_deref(),
        by: caller.user_id,
    };
    let p = store::insert_promise(&mut c, caller.tenant_id, &new).await?;
    let summary = format!("Клиент обещал оплатить {} руб. до {}", p.amount, p.promised_on.format("%d.%m.%Y"));
    crate::timeline::record(&mut c, caller.tenant_id, crate::timeline::NewEvent {
        kind: crate::timeline::EventKind::Promise,
        entity_type: "promise",
        entity_id: p.id.0,
        counterparty_id: Some(id),
        deal_id: None,
        summary,
        actor_id: Some(caller.user_id),
        occurred_at: Utc::now(),
    })
    .await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "promise", p.id.0, AuditAction::Create, None, &p).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(p)))
}

/// What to plan.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = ReminderPlanInput)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The day to plan; default: today in the tenant's time zone.
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
    /// The moment of planning (messages wait for their window from then on); default: now,
    /// or the start of `date` when it is not today.
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
}

/// Run the plan of a day now (heads and admins): the same work as the daily job — promises
/// evaluated, messages planned or skipped once, e-mails whose window is open queued.
#[utoipa::path(post, path = "/reminders/plan", tag = "reminders", request_body = PlanInput,
    responses((status = 200, body = PlanReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn run_reminder_plan(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<PlanInput>) -> ApiResult<ApiJson<PlanReport>> {
    if !caller.is_lead() {
        return Err(ApiError::Forbidden("Запускать план напоминаний могут руководители и администраторы.".into()));
    }
    let today = caller.today();
    let day = input.date.unwrap_or(today);
    let now = match input.now {
        Some(now) => now,
        None if day == today => Utc::now(),
        None => planner::start_of(day, super::law::zone(None, &caller.time_zone)),
    };
    Ok(ApiJson(super::run_day(&state, caller.tenant_id, day, now).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageFilter {
    pub counterparty_id: Option<CounterpartyId>,
    /// First day (inclusive).
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last day (inclusive).
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// The planner's decisions (planned, queued, task created, skipped with the reason), the
/// latest first (at most 1000).
#[utoipa::path(get, path = "/reminders/messages", tag = "reminders", params(MessageFilter), responses((status = 200, body = Vec<Message>), (status = 422, body = Problem)))]
pub(crate) async fn list_reminder_messages(State(state): State<AppState>, caller: Caller, Query(f): Query<MessageFilter>) -> ApiResult<ApiJson<Vec<Message>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::messages(&mut c.conn(), caller.tenant_id, f.counterparty_id, f.from, f.to, 1000).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhyQuery {
    /// The client.
    pub client: Option<CounterpartyId>,
    /// The day; default: today.
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
}

/// Why a client did or did not get a reminder on a day: the rules applied to its debts step
/// by step (as they stand now, nothing is written), and what the planner stored that day.
#[utoipa::path(get, path = "/reminders/why", tag = "reminders", params(WhyQuery),
    responses((status = 200, body = Why), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn why_reminder(State(state): State<AppState>, caller: Caller, Query(q): Query<WhyQuery>) -> ApiResult<ApiJson<Why>> {
    let Some(client) = q.client else { return Err(ApiError::field("client", "укажите клиента (id карточки)")) };
    let day = q.date.unwrap_or_else(|| caller.today());
    let mut tx = state.db.snapshot().await?;
    let mut c = tx.conn();
    client_exists(&mut c, caller.tenant_id, client).await?;
    let mut explanation = Vec::new();
    let now = planner::start_of(day, super::law::zone(None, &caller.time_zone));
    planner::plan(&mut c, caller.tenant_id, day, now, Some(client), Some(&mut explanation)).await?;
    let messages = planner::stored(&mut c, caller.tenant_id, client, day).await?;
    Ok(ApiJson(Why { counterparty_id: client, date: day, explanation, messages }))
}

// --- Debt control ---------------------------------------------------------------------------------

use super::control::{self, Control, ControlRule, ControlRuleId, ControlRuleInput};
use super::digest::{self, Digest};

fn check_control_rule(input: &ControlRuleInput) -> ApiResult<()> {
    let mut v = Violations::new();
    input.check(&mut v);
    v.finish()?;
    Ok(())
}

/// The debt-control rules: which clients get a control task for their manager (debt ≥ X,
/// overdue ≥ N days, payer rating ≤ k stars; every condition given must hold).
#[utoipa::path(get, path = "/reminders/control-rules", tag = "reminders", responses((status = 200, body = Vec<ControlRule>)))]
pub(crate) async fn list_control_rules(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<ControlRule>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(control::list_rules(&mut c.conn(), caller.tenant_id).await?))
}

/// Create a debt-control rule (admins).
#[utoipa::path(post, path = "/reminders/control-rules", tag = "reminders", request_body = ControlRuleInput,
    responses((status = 201, body = ControlRule), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn create_control_rule(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<ControlRuleInput>) -> ApiResult<(StatusCode, ApiJson<ControlRule>)> {
    caller.ensure(Action::Configure)?;
    check_control_rule(&input)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let r = control::insert_rule(&mut c, caller.tenant_id, ControlRuleId::new(), &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "debt_control_rule", r.id.0, AuditAction::Create, None, &r).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(r)))
}

/// Replace a debt-control rule (admins). Open controls stay; they close when the client no
/// longer matches the rule as it now is.
#[utoipa::path(put, path = "/reminders/control-rules/{id}", tag = "reminders", params(("id" = ControlRuleId, Path)), request_body = ControlRuleInput,
    responses((status = 200, body = ControlRule), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn update_control_rule(State(state): State<AppState>, caller: Caller, Path(id): Path<ControlRuleId>, ApiJson(input): ApiJson<ControlRuleInput>) -> ApiResult<ApiJson<ControlRule>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = control::get_rule(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("debt control rule"))?;
    check_control_rule(&input)?;
    let after = control::update_rule(&mut c, caller.tenant_id, id, &input).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "debt_control_rule", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Delete a debt-control rule (admins); the tasks it gave stay with their assignees.
#[utoipa::path(delete, path = "/reminders/control-rules/{id}", tag = "reminders", params(("id" = ControlRuleId, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(crate) async fn delete_control_rule(State(state): State<AppState>, caller: Caller, Path(id): Path<ControlRuleId>) -> ApiResult<StatusCode> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = control::get_rule(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("debt control rule"))?;
    control::delete_rule(&mut c, caller.tenant_id, id).await?;
    audit::record_delete(&mut c, caller.tenant_id, &Actor::from(&caller), "debt_control_rule", id.0, &before).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A client's debt controls (open and closed, the latest first): the manager's task, its
/// control date, the head's escalation, why it closed.
#[utoipa::path(get, path = "/counterparties/{id}/debt-controls", tag = "reminders", params(("id" = CounterpartyId, Path)),
    responses((status = 200, body = Vec<Control>), (status = 404, body = Problem)))]
pub(crate) async fn list_client_controls(State(state): State<AppState>, caller: Caller, Path(id): Path<CounterpartyId>) -> ApiResult<ApiJson<Vec<Control>>> {
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    client_exists(&mut c, caller.tenant_id, id).await?;
    Ok(ApiJson(control::controls(&mut c, caller.tenant_id, Some(id)).await?))
}

// --- The morning digest ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DigestQuery {
    /// The day; default: today.
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
}

/// The caller's morning digest of a day (the content of the e-mail): heads and admins see
/// every client, managers their own.
#[utoipa::path(get, path = "/reminders/digest", tag = "reminders", params(DigestQuery), responses((status = 200, body = Digest), (status = 422, body = Problem)))]
pub(crate) async fn get_digest(State(state): State<AppState>, caller: Caller, Query(q): Query<DigestQuery>) -> ApiResult<ApiJson<Digest>> {
    let day = q.date.unwrap_or_else(|| caller.today());
    let scope = if caller.is_lead() { digest::Scope::All } else { digest::Scope::Own };
    let mut c = state.db.snapshot().await?;
    let base = digest::base_url(&state.config);
    Ok(ApiJson(digest::compute(&mut c.conn(), caller.tenant_id, (caller.user_id, &caller.name), scope, day, &base).await?))
}

/// Whether a manager gets the morning digest of their clients by e-mail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestSubscription {
    pub opted_in: bool,
}

/// Opt in to (or out of) the morning digest of one's own clients by e-mail (managers; heads
/// always get the digest of every client).
#[utoipa::path(put, path = "/reminders/digest/subscription", tag = "reminders", request_body = DigestSubscription,
    responses((status = 200, body = DigestSubscription), (status = 422, body = Problem)))]
pub(crate) async fn put_digest_subscription(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<DigestSubscription>) -> ApiResult<ApiJson<DigestSubscription>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    digest::subscribe(&mut c, caller.tenant_id, caller.user_id, input.opted_in).await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "digest_subscription", caller.user_id.0, AuditAction::Update, None, &input).await?;
    tx.commit().await?;
    Ok(ApiJson(input))
}
