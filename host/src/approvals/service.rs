//! The route engine: starting a run, decisions (approve with the step's document, reject
//! ending the run at once, send back), resubmission from the returning step, the inbox,
//! and SLA escalation. Handlers own the transaction; every function takes the connection.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::api::error::{ApiError, ApiResult};
use crate::db::Conn;
use crate::deals::{Deal, DealId};
use crate::legal_entities::LegalEntityId;
use crate::tasks::model::TaskStatus;
use crate::tasks::store::TaskRow;
use crate::tenancy::{Caller, TenantId, UserId};
use crate::timeline::{self, EventKind, NewEvent as TimelineEvent};

use super::model::{
    Decision, DecisionInput, EventAction, InboxItem, Quorum, Run, RunId, RunRow, RunStatus, Step, StepId, StepStatus, department_label,
};
use super::store::{self, NewEvent};

/// When a step activated `now` with `sla_days` working days is due: the last second of the
/// `sla_days`-th working day after today (of today for 0), in the tenant's time zone.
pub fn due_at(now: DateTime<Utc>, time_zone: &str, sla_days: i32) -> DateTime<Utc> {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    let today = now.with_timezone(&tz).date_naive();
    let day = crate::receivables::calendar::add_working_days(today, u32::try_from(sla_days).unwrap_or(0));
    let next = day.succ_opt().unwrap_or(day);
    tz.from_local_datetime(&next.and_time(chrono::NaiveTime::MIN)).earliest().map(|t| t.with_timezone(&Utc) - Duration::seconds(1)).unwrap_or(now + Duration::days(1))
}

async fn deal_of(c: &mut Conn<'_>, tenant: TenantId, id: DealId) -> ApiResult<Deal> {
    crate::deals::store::get(c, tenant, id).await?.ok_or(ApiError::NotFound("deal"))
}

/// A run with its steps and history.
pub async fn view(c: &mut Conn<'_>, tenant: TenantId, run: RunRow) -> sqlx::Result<Run> {
    let steps = store::steps(c, tenant, run.id).await?;
    let history = store::history(c, tenant, run.id).await?;
    Ok(Run { run, steps, history })
}

/// Starts the route of `subject` on the deal: its first group waits for its approvers.
pub async fn start(c: &mut Conn<'_>, caller: &Caller, deal: &Deal, subject: &str, entity: Option<LegalEntityId>, now: DateTime<Utc>) -> ApiResult<RunId> {
    let tenant = caller.tenant_id;
    let route = store::route_by_subject(c, tenant, subject).await?.ok_or_else(|| {
        ApiError::field("subject", format!("no approval route for `{subject}` in your tenant; see GET /api/v1/approval-routes"))
    })?;
    let latest = store::latest_runs_of_deal(c, tenant, deal.id).await?;
    if let Some(r) = latest.iter().find(|r| r.subject == route.subject)
        && matches!(r.status, RunStatus::InProgress | RunStatus::Returned | RunStatus::Approved)
    {
        return Err(ApiError::Conflict {
            detail: format!("«{}» по этой сделке уже {}.", route.name, r.status.label()),
            field: Some("subject".into()),
        });
    }
    if let Some(after) = &route.after_subject
        && !latest.iter().any(|r| &r.subject == after && r.status == RunStatus::Approved)
    {
        let names = store::route_names(c, tenant).await?;
        let name = names.iter().find(|(s, _)| s == after).map(|(_, n)| n.clone()).unwrap_or_else(|| after.clone());
        return Err(ApiError::field("subject", format!("Сначала завершите согласование «{name}»")));
    }
    if let Some(e) = entity
        && crate::legal_entities::get(c, tenant, e).await?.is_none()
    {
        return Err(ApiError::field("legal_entity_id", "no legal entity of yours with this id"));
    }
    // Steps whose condition the deal does not meet are left out, and so are the groups
    // left empty: the run's groups are numbered without gaps.
    let groups: Vec<Vec<&super::model::StepDef>> = route
        .groups
        .0
        .iter()
        .map(|g| g.iter().filter(|s| s.when.as_ref().is_none_or(|w| w.holds(&deal.params.0))).collect::<Vec<_>>())
        .filter(|g| !g.is_empty())
        .collect();
    if groups.is_empty() {
        return Err(ApiError::field("subject", format!("Ни один этап маршрута «{}» не относится к этой сделке (условия этапов по параметрам сделки)", route.name)));
    }
    let run = store::insert_run(c, tenant, deal.id, &route, entity, caller.user_id, now).await?;
    for (g, group) in groups.iter().enumerate() {
        for (i, def) in group.iter().enumerate() {
            let eligible = store::users_in(c, tenant, def.department, entity).await?.len() as i32;
            let required = match def.quorum {
                Quorum::All => eligible.max(1),
                Quorum::Any => 1,
                Quorum::N => def.quorum_n.unwrap_or(1).max(1),
            };
            store::insert_step(c, tenant, run, g as i32, i as i32, def, required).await?;
        }
    }
    store::record(c, tenant, &NewEvent { run, step: None, round: 1, action: EventAction::Start, user: Some(caller.user_id), on_behalf_of: None, remark: None, document: None, at: now })
        .await?;
    activate_group(c, tenant, run, 0, &caller.time_zone, now).await?;
    note(c, tenant, deal, caller.user_id, format!("«{}» отправлено на согласование", route.name), now).await?;
    Ok(run)
}

/// Activates the steps of `group` not yet approved; returns false when there is no such group.
async fn activate_group(c: &mut Conn<'_>, tenant: TenantId, run: RunId, group: i32, time_zone: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let steps: Vec<Step> = store::steps(c, tenant, run).await?.into_iter().filter(|s| s.group_index == group).collect();
    if steps.is_empty() {
        return Ok(false);
    }
    for s in steps.iter().filter(|s| s.status != StepStatus::Approved) {
        store::activate_step(c, tenant, s.id, now, due_at(now, time_zone, s.sla_days)).await?;
    }
    Ok(true)
}

/// Whom the caller decides for on a step: `Some(None)` for themself, `Some(Some(user))`
/// standing in for an approver away, `None` when the step is not theirs.
/// Approvers are the holders of the step's department role who serve the run's legal entity.
pub async fn acting_for(c: &mut Conn<'_>, caller: &Caller, run: &RunRow, step: &Step) -> sqlx::Result<Option<Option<UserId>>> {
    let holders = store::users_in(c, caller.tenant_id, step.department.0, run.legal_entity_id).await?;
    if holders.contains(&caller.user_id) {
        return Ok(Some(None));
    }
    let absent = store::standing_in_for(c, caller.tenant_id, caller.user_id, caller.today()).await?;
    Ok(absent.into_iter().find(|u| holders.contains(u)).map(Some))
}

/// A decision on a step; returns the run.
pub async fn decide(c: &mut Conn<'_>, caller: &Caller, step_id: StepId, input: &DecisionInput, now: DateTime<Utc>) -> ApiResult<RunId> {
    let tenant = caller.tenant_id;
    let found = store::step(c, tenant, step_id).await?.ok_or(ApiError::NotFound("approval step"))?;
    store::lock_run(c, tenant, found.run_id).await?;
    // Read again under the lock: a decision on a parallel step may have just been committed.
    let step = store::step(c, tenant, step_id).await?.ok_or(ApiError::NotFound("approval step"))?;
    let run = store::run(c, tenant, step.run_id).await?.ok_or(ApiError::NotFound("approval step"))?;
    let Some(on_behalf_of) = acting_for(c, caller, &run, &step).await? else {
        return Err(ApiError::Forbidden(format!(
            "Этот этап согласует «{}»{}; у вас нет этой роли и вы никого в ней не замещаете.",
            department_label(step.department.0),
            if run.legal_entity_id.is_some() { " нашего юрлица по этой заявке" } else { "" }
        )));
    };
    if run.status != RunStatus::InProgress || step.status != StepStatus::Active {
        return Err(ApiError::Conflict {
            detail: format!("Этап «{}» не ждёт решения: он {}, согласование {}.", step.name, step.status.label(), run.status.label()),
            field: None,
        });
    }
    let approver = on_behalf_of.unwrap_or(caller.user_id);
    let remark = input.remark.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let deal = deal_of(c, tenant, run.deal_id).await?;
    let event = |action, document| NewEvent { run: run.id, step: Some(step.id), round: step.round, action, user: Some(caller.user_id), on_behalf_of, remark, document, at: now };
    match input.decision {
        Decision::Approve => {
            if store::approved_by(c, tenant, step.id, step.round, approver).await? {
                return Err(ApiError::Conflict { detail: format!("Этап «{}» уже согласован этим согласующим.", step.name), field: None });
            }
            let document = match &step.document_kind {
                None => input.document_id,
                Some(kind) => Some(conclusion(c, tenant, &deal, kind, input).await?),
            };
            store::record(c, tenant, &event(EventAction::Approve, document)).await?;
            store::count_approval(c, tenant, step.id).await?;
            if step.approvals + 1 >= step.required {
                store::finish_step(c, tenant, step.id, StepStatus::Approved, now).await?;
                let group_done = store::steps(c, tenant, run.id).await?.iter().filter(|s| s.group_index == step.group_index).all(|s| s.status == StepStatus::Approved);
                if group_done && !activate_group(c, tenant, run.id, step.group_index + 1, &caller.time_zone, now).await? {
                    store::set_run_status(c, tenant, run.id, RunStatus::Approved, Some(now)).await?;
                    note(c, tenant, &deal, caller.user_id, format!("«{}» согласовано всеми службами", run.name), now).await?;
                }
            }
        }
        Decision::Reject | Decision::Return => {
            let Some(remark) = remark else {
                return Err(ApiError::field("remark", "Укажите замечание: без него менеджер не узнает, что не так"));
            };
            let reject = input.decision == Decision::Reject;
            let (action, step_status, run_status) =
                if reject { (EventAction::Reject, StepStatus::Rejected, RunStatus::Rejected) } else { (EventAction::Return, StepStatus::Returned, RunStatus::Returned) };
            store::record(c, tenant, &event(action, input.document_id)).await?;
            store::finish_step(c, tenant, step.id, step_status, now).await?;
            // A rejection ends the whole route at once; a return stops the other steps of
            // the group, which start again on resubmission.
            for other in store::steps(c, tenant, run.id).await? {
                let stop = other.id != step.id
                    && match other.status {
                        StepStatus::Active => reject || other.group_index == step.group_index,
                        StepStatus::Pending => reject,
                        _ => false,
                    };
                if stop {
                    store::finish_step(c, tenant, other.id, StepStatus::Cancelled, now).await?;
                }
            }
            store::set_run_status(c, tenant, run.id, run_status, reject.then_some(now)).await?;
            let (title, summary) = if reject {
                ("Поставить сделку на СТОП", format!("«{}»: «{}» — отказ. Замечание: {remark}", run.name, step.name))
            } else {
                ("Доработать с учетом замечания службы", format!("«{}»: «{}» вернула на доработку. Замечание: {remark}", run.name, step.name))
            };
            task(c, tenant, &deal, deal.responsible_id, caller.user_id, &format!("{title}: {}", deal.title), &summary, now).await?;
            note(c, tenant, &deal, caller.user_id, summary, now).await?;
        }
    }
    Ok(run.id)
}

/// The document an approval rests on: the one named (of the deal, of the step's kind) or
/// the latest of that kind on the deal; none is a refusal naming the kind.
async fn conclusion(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal, kind: &str, input: &DecisionInput) -> ApiResult<crate::documents::DocumentId> {
    match input.document_id {
        Some(id) => {
            let doc = crate::documents::store::get(c, tenant, id).await?.filter(|d| d.deal_id == Some(deal.id) && d.archived_at.is_none());
            match doc {
                Some(d) if d.kind.trim().to_lowercase() == kind.trim().to_lowercase() => Ok(d.id),
                Some(d) => Err(ApiError::field("document_id", format!("Для согласования нужен документ «{kind}», а приложен «{}»", d.kind))),
                None => Err(ApiError::field("document_id", "no document with this id on this deal")),
            }
        }
        None => store::latest_document_of_kind(c, tenant, deal.id, kind)
            .await?
            .map(|(id, _)| id)
            .ok_or_else(|| ApiError::field("document_id", format!("Для согласования приложите к сделке документ «{kind}»"))),
    }
}

/// Resubmits a run sent back: the returning step's group starts again (steps already
/// approved in it stay approved), and every later group follows in turn.
pub async fn resubmit(c: &mut Conn<'_>, caller: &Caller, run: &RunRow, remark: Option<&str>, now: DateTime<Utc>) -> ApiResult<()> {
    let tenant = caller.tenant_id;
    store::lock_run(c, tenant, run.id).await?;
    let run = &store::run(c, tenant, run.id).await?.ok_or(ApiError::NotFound("approval"))?;
    if run.status != RunStatus::Returned {
        return Err(ApiError::Conflict { detail: format!("«{}» не возвращено на доработку: оно {}.", run.name, run.status.label()), field: None });
    }
    let steps = store::steps(c, tenant, run.id).await?;
    let group = steps.iter().filter(|s| s.status == StepStatus::Returned).map(|s| s.group_index).max().unwrap_or(0);
    let round = steps.iter().map(|s| s.round).max().unwrap_or(1) + 1;
    store::set_run_status(c, tenant, run.id, RunStatus::InProgress, None).await?;
    for s in steps.iter().filter(|s| s.group_index == group && matches!(s.status, StepStatus::Returned | StepStatus::Cancelled)) {
        store::activate_step(c, tenant, s.id, now, due_at(now, &caller.time_zone, s.sla_days)).await?;
    }
    store::record(c, tenant, &NewEvent { run: run.id, step: None, round, action: EventAction::Resubmit, user: Some(caller.user_id), on_behalf_of: None, remark, document: None, at: now })
        .await?;
    let deal = deal_of(c, tenant, run.deal_id).await?;
    note(c, tenant, &deal, caller.user_id, format!("«{}» отправлено на согласование повторно", run.name), now).await?;
    Ok(())
}

/// The steps waiting for the caller: their department's, and those of approvers the
/// caller stands in for today, not yet approved by them in this round.
pub async fn inbox(c: &mut Conn<'_>, caller: &Caller) -> sqlx::Result<Vec<InboxItem>> {
    let tenant = caller.tenant_id;
    let mut out = Vec::new();
    for step in store::active_steps(c, tenant).await? {
        let Some(run) = store::run(c, tenant, step.run_id).await?.filter(|r| r.status == RunStatus::InProgress) else { continue };
        let Some(on_behalf_of) = acting_for(c, caller, &run, &step).await? else { continue };
        if store::approved_by(c, tenant, step.id, step.round, on_behalf_of.unwrap_or(caller.user_id)).await? {
            continue;
        }
        let Some(deal) = crate::deals::store::get(c, tenant, run.deal_id).await? else { continue };
        out.push(InboxItem { run_id: run.id, run_name: run.name, deal_id: deal.id, deal_title: deal.title, on_behalf_of, step });
    }
    Ok(out)
}

/// Escalates every step past its due time to the heads (a task each), once; returns how
/// many steps were escalated.
pub async fn escalate(c: &mut Conn<'_>, tenant: TenantId, now: DateTime<Utc>) -> sqlx::Result<usize> {
    let overdue = store::overdue_steps(c, tenant, now).await?;
    for step in &overdue {
        let Some(run) = store::run(c, tenant, step.run_id).await? else { continue };
        let Some(deal) = crate::deals::store::get(c, tenant, run.deal_id).await? else { continue };
        for head in &store::heads_for(c, tenant, step.department.0).await? {
            let title = format!("Просрочено согласование: «{}» по сделке «{}»", step.name, deal.title);
            let due = step.due_at.map(|d| d.format("%d.%m.%Y %H:%M UTC").to_string()).unwrap_or_default();
            let text = format!("«{}», этап «{}» ({}): срок {} истёк {due}. Поторопите службу или примите решение.", run.name, step.name, department_label(step.department.0), step.sla_days);
            task(c, tenant, &deal, *head, *head, &title, &text, now).await.map_err(|e| match e {
                ApiError::Internal(e) => sqlx::Error::Protocol(e.to_string()),
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
        }
        store::mark_escalated(c, tenant, step.id, now).await?;
        store::record(c, tenant, &NewEvent { run: run.id, step: Some(step.id), round: step.round, action: EventAction::Escalate, user: None, on_behalf_of: None, remark: None, document: None, at: now })
            .await?;
    }
    Ok(overdue.len())
}

#[allow(clippy::too_many_arguments)]
async fn task(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal, assignee: UserId, by: UserId, title: &str, description: &str, now: DateTime<Utc>) -> ApiResult<()> {
    let row = TaskRow {
        title,
        description: Some(description),
        status: TaskStatus::Open,
        assignee_id: assignee,
        due_at: None,
        requires_file: false,
        checklist: &[],
        counterparty_id: Some(deal.counterparty_id),
        deal_id: Some(deal.id),
        sales_document_id: None,
        completed_at: None,
    };
    let t = crate::tasks::store::insert(c, tenant, by, &row).await?;
    timeline::record(c, tenant, TimelineEvent {
        kind: EventKind::TaskCreated,
        entity_type: "task",
        entity_id: t.id.0,
        counterparty_id: Some(deal.counterparty_id),
        deal_id: Some(deal.id),
        summary: format!("Задача «{title}»"),
        actor_id: Some(by),
        occurred_at: now,
    })
    .await?;
    Ok(())
}

/// A line in the deal's timeline about its approvals.
async fn note(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal, by: UserId, summary: String, now: DateTime<Utc>) -> sqlx::Result<()> {
    timeline::record(c, tenant, TimelineEvent {
        kind: EventKind::Approval,
        entity_type: "deal",
        entity_id: deal.id.0,
        counterparty_id: Some(deal.counterparty_id),
        deal_id: Some(deal.id),
        summary,
        actor_id: Some(by),
        occurred_at: now,
    })
    .await
    .map(|_| ())
}

/// Today's date for the caller (delegations are by day).
pub fn today(caller: &Caller) -> NaiveDate {
    caller.today()
}
