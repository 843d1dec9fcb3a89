//! Approval queries, every one scoped by tenant.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Conn, on_conn};
use crate::deals::DealId;
use crate::documents::DocumentId;
use crate::legal_entities::LegalEntityId;
use crate::tenancy::{Department, TenantId, UserId};

use super::model::{
    Delegation, DelegationId, Event, EventAction, Route, RouteId, RouteInput, RunId, RunRow, RunStatus, Step, StepDef, StepId, StepStatus, department_key,
};

const ROUTE_COLS: &str = "id, subject, name, after_subject, groups, created_at, updated_at";
const RUN_COLS: &str = "id, deal_id, route_id, subject, name, status, started_by, started_at, finished_at, legal_entity_id";
const STEP_COLS: &str = "id, run_id, group_index, step_index, name, department, required, approvals, document_kind, sla_days, status, round, \
    activated_at, due_at, escalated_at, finished_at";

pub async fn routes(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<Route>> {
    let sql = format!("SELECT {ROUTE_COLS} FROM approval_routes WHERE tenant_id = $1 ORDER BY created_at, id");
    on_conn!(c, c => sqlx::query_as::<_, Route>(&sql).bind(tenant).fetch_all(c).await)
}

/// Every route's subject and name (the gates' messages name routes).
pub async fn route_names(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(String, String)>> {
    let sql = "SELECT subject, name FROM approval_routes WHERE tenant_id = $1";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)
}

pub async fn route(c: &mut Conn<'_>, tenant: TenantId, id: RouteId) -> sqlx::Result<Option<Route>> {
    let sql = format!("SELECT {ROUTE_COLS} FROM approval_routes WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Route>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn route_by_subject(c: &mut Conn<'_>, tenant: TenantId, subject: &str) -> sqlx::Result<Option<Route>> {
    let sql = format!("SELECT {ROUTE_COLS} FROM approval_routes WHERE tenant_id = $1 AND subject = $2");
    on_conn!(c, c => sqlx::query_as::<_, Route>(&sql).bind(tenant).bind(subject).fetch_optional(c).await)
}

pub async fn insert_route(c: &mut Conn<'_>, tenant: TenantId, r: &RouteInput) -> sqlx::Result<Route> {
    let id = RouteId::new();
    let now = Utc::now();
    let groups = Json(r.groups.clone());
    let sql = "INSERT INTO approval_routes (tenant_id, id, subject, name, after_subject, groups, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(&r.subject).bind(r.name.trim()).bind(r.after_subject.as_deref()).bind(&groups).bind(now)
        .execute(c).await.map(|_| ()))?;
    route(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn update_route(c: &mut Conn<'_>, tenant: TenantId, id: RouteId, r: &RouteInput) -> sqlx::Result<Route> {
    let groups = Json(r.groups.clone());
    let sql = "UPDATE approval_routes SET subject = $3, name = $4, after_subject = $5, groups = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(&r.subject).bind(r.name.trim()).bind(r.after_subject.as_deref()).bind(&groups).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    route(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn run(c: &mut Conn<'_>, tenant: TenantId, id: RunId) -> sqlx::Result<Option<RunRow>> {
    let sql = format!("SELECT {RUN_COLS} FROM approval_runs WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, RunRow>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// The deal's runs, newest first.
pub async fn runs_of_deal(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Vec<RunRow>> {
    let sql = format!("SELECT {RUN_COLS} FROM approval_runs WHERE tenant_id = $1 AND deal_id = $2 ORDER BY id DESC");
    on_conn!(c, c => sqlx::query_as::<_, RunRow>(&sql).bind(tenant).bind(deal).fetch_all(c).await)
}

/// The latest run of each subject on the deal.
pub async fn latest_runs_of_deal(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Vec<RunRow>> {
    let mut out: Vec<RunRow> = Vec::new();
    for r in runs_of_deal(c, tenant, deal).await? {
        if !out.iter().any(|o| o.subject == r.subject) {
            out.push(r);
        }
    }
    Ok(out)
}

pub async fn insert_run(c: &mut Conn<'_>, tenant: TenantId, deal: DealId, route: &Route, entity: Option<LegalEntityId>, by: UserId, at: DateTime<Utc>) -> sqlx::Result<RunId> {
    let id = RunId::new();
    let sql = "INSERT INTO approval_runs (tenant_id, id, deal_id, route_id, subject, name, status, started_by, started_at, legal_entity_id) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(deal).bind(route.id).bind(&route.subject).bind(&route.name).bind(RunStatus::InProgress).bind(by).bind(at)
        .bind(entity).execute(c).await.map(|_| ()))?;
    Ok(id)
}

/// Takes the run's row lock for the rest of the transaction (a no-op update, on either
/// engine), so decisions on its parallel steps are applied one after another and each sees
/// the others' outcome.
pub async fn lock_run(c: &mut Conn<'_>, tenant: TenantId, id: RunId) -> sqlx::Result<()> {
    let sql = "UPDATE approval_runs SET status = status WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).execute(c).await.map(|_| ()))
}

pub async fn set_run_status(c: &mut Conn<'_>, tenant: TenantId, id: RunId, status: RunStatus, finished_at: Option<DateTime<Utc>>) -> sqlx::Result<()> {
    let sql = "UPDATE approval_runs SET status = $3, finished_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(status).bind(finished_at).execute(c).await.map(|_| ()))
}

pub async fn insert_step(c: &mut Conn<'_>, tenant: TenantId, run: RunId, group: i32, index: i32, def: &StepDef, required: i32) -> sqlx::Result<StepId> {
    let id = StepId::new();
    let sql = "INSERT INTO approval_steps (tenant_id, id, run_id, group_index, step_index, name, department, required, approvals, document_kind, sla_days, status, round) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, 0)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(run).bind(group).bind(index).bind(def.name.trim()).bind(department_key(def.department))
        .bind(required).bind(def.document_kind.as_deref()).bind(def.sla_days).bind(StepStatus::Pending).execute(c).await.map(|_| ()))?;
    Ok(id)
}

pub async fn steps(c: &mut Conn<'_>, tenant: TenantId, run: RunId) -> sqlx::Result<Vec<Step>> {
    let sql = format!("SELECT {STEP_COLS} FROM approval_steps WHERE tenant_id = $1 AND run_id = $2 ORDER BY group_index, step_index");
    on_conn!(c, c => sqlx::query_as::<_, Step>(&sql).bind(tenant).bind(run).fetch_all(c).await)
}

pub async fn step(c: &mut Conn<'_>, tenant: TenantId, id: StepId) -> sqlx::Result<Option<Step>> {
    let sql = format!("SELECT {STEP_COLS} FROM approval_steps WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Step>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// Makes a step wait for its approvers: a new round, its approvals counted from zero.
pub async fn activate_step(c: &mut Conn<'_>, tenant: TenantId, id: StepId, at: DateTime<Utc>, due: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE approval_steps SET status = $3, approvals = 0, round = round + 1, activated_at = $4, due_at = $5, \
               escalated_at = NULL, finished_at = NULL WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(StepStatus::Active).bind(at).bind(due).execute(c).await.map(|_| ()))
}

pub async fn finish_step(c: &mut Conn<'_>, tenant: TenantId, id: StepId, status: StepStatus, at: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE approval_steps SET status = $3, finished_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(status).bind(at).execute(c).await.map(|_| ()))
}

pub async fn count_approval(c: &mut Conn<'_>, tenant: TenantId, id: StepId) -> sqlx::Result<()> {
    let sql = "UPDATE approval_steps SET approvals = approvals + 1 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).execute(c).await.map(|_| ()))
}

pub async fn mark_escalated(c: &mut Conn<'_>, tenant: TenantId, id: StepId, at: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE approval_steps SET escalated_at = $3 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(at).execute(c).await.map(|_| ()))
}

/// Active steps past their due time and not yet escalated.
pub async fn overdue_steps(c: &mut Conn<'_>, tenant: TenantId, now: DateTime<Utc>) -> sqlx::Result<Vec<Step>> {
    let sql = format!(
        "SELECT {STEP_COLS} FROM approval_steps WHERE tenant_id = $1 AND status = $2 AND due_at < $3 AND escalated_at IS NULL ORDER BY due_at, id LIMIT 1000"
    );
    on_conn!(c, c => sqlx::query_as::<_, Step>(&sql).bind(tenant).bind(StepStatus::Active).bind(now).fetch_all(c).await)
}

/// Every active step of runs in progress.
pub async fn active_steps(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<Step>> {
    let sql = format!("SELECT {STEP_COLS} FROM approval_steps WHERE tenant_id = $1 AND status = $2 ORDER BY activated_at, id LIMIT 5000");
    on_conn!(c, c => sqlx::query_as::<_, Step>(&sql).bind(tenant).bind(StepStatus::Active).fetch_all(c).await)
}

pub struct NewEvent<'a> {
    pub run: RunId,
    pub step: Option<StepId>,
    pub round: i32,
    pub action: EventAction,
    pub user: Option<UserId>,
    pub on_behalf_of: Option<UserId>,
    pub remark: Option<&'a str>,
    pub document: Option<DocumentId>,
    pub at: DateTime<Utc>,
}

pub async fn record(c: &mut Conn<'_>, tenant: TenantId, e: &NewEvent<'_>) -> sqlx::Result<()> {
    let sql = "INSERT INTO approval_events (tenant_id, id, run_id, step_id, round, action, user_id, on_behalf_of, remark, document_id, at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(Uuid::now_v7()).bind(e.run).bind(e.step).bind(e.round).bind(e.action).bind(e.user).bind(e.on_behalf_of)
        .bind(e.remark).bind(e.document).bind(e.at).execute(c).await.map(|_| ()))
}

pub async fn history(c: &mut Conn<'_>, tenant: TenantId, run: RunId) -> sqlx::Result<Vec<Event>> {
    let sql = "SELECT id, step_id, round, action, user_id, on_behalf_of, remark, document_id, at FROM approval_events WHERE tenant_id = $1 AND run_id = $2 ORDER BY id";
    on_conn!(c, c => sqlx::query_as::<_, Event>(sql).bind(tenant).bind(run).fetch_all(c).await)
}

/// Whether `user` (in person or through a delegate) already approved the step in this round.
pub async fn approved_by(c: &mut Conn<'_>, tenant: TenantId, step: StepId, round: i32, user: UserId) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM approval_events WHERE tenant_id = $1 AND step_id = $2 AND round = $3 AND action = $4 \
               AND (COALESCE(on_behalf_of, user_id) = $5)";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(step).bind(round).bind(EventAction::Approve).bind(user).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Active users holding a department role and serving the legal entity (when one is
/// named): those with no legal entities assigned serve every one.
pub async fn users_in(c: &mut Conn<'_>, tenant: TenantId, department: Department, entity: Option<LegalEntityId>) -> sqlx::Result<Vec<UserId>> {
    let sql = "SELECT id, departments FROM users WHERE tenant_id = $1 AND archived_at IS NULL ORDER BY id";
    let rows: Vec<(UserId, Json<Vec<Department>>)> = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)?;
    let holders: Vec<UserId> = rows.into_iter().filter(|(_, d)| d.0.contains(&department)).map(|(id, _)| id).collect();
    let Some(entity) = entity else { return Ok(holders) };
    let sql = "SELECT user_id, legal_entity_id FROM approver_legal_entities WHERE tenant_id = $1";
    let scopes: Vec<(UserId, LegalEntityId)> = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)?;
    Ok(holders.into_iter().filter(|u| !scopes.iter().any(|(s, _)| s == u) || scopes.iter().any(|(s, e)| s == u && *e == entity)).collect())
}

/// Every approver's legal entities.
pub async fn scopes(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(UserId, LegalEntityId)>> {
    let sql = "SELECT user_id, legal_entity_id FROM approver_legal_entities WHERE tenant_id = $1 ORDER BY user_id, legal_entity_id";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)
}

/// Replaces the legal entities an approver serves.
pub async fn set_scope(c: &mut Conn<'_>, tenant: TenantId, user: UserId, entities: &[LegalEntityId]) -> sqlx::Result<()> {
    let sql = "DELETE FROM approver_legal_entities WHERE tenant_id = $1 AND user_id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(user).execute(c).await.map(|_| ()))?;
    for e in entities {
        let sql = "INSERT INTO approver_legal_entities (tenant_id, user_id, legal_entity_id) VALUES ($1, $2, $3)";
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(user).bind(*e).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

/// Active heads of the tenant with their department roles.
pub async fn heads_with_departments(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(UserId, Vec<Department>)>> {
    let sql = "SELECT id, departments FROM users WHERE tenant_id = $1 AND archived_at IS NULL AND role = 'head' ORDER BY id";
    let rows: Vec<(UserId, Json<Vec<Department>>)> = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(id, d)| (id, d.0)).collect())
}

/// Who an overdue step of `department` escalates to: the heads of that department (heads
/// holding its role); else the heads with no department (the general management); else
/// every head; admins when there is no head at all.
pub async fn heads_for(c: &mut Conn<'_>, tenant: TenantId, department: Department) -> sqlx::Result<Vec<UserId>> {
    let heads = heads_with_departments(c, tenant).await?;
    let of_department: Vec<UserId> = heads.iter().filter(|(_, d)| d.contains(&department)).map(|(id, _)| *id).collect();
    if !of_department.is_empty() {
        return Ok(of_department);
    }
    let general: Vec<UserId> = heads.iter().filter(|(_, d)| d.is_empty()).map(|(id, _)| *id).collect();
    if !general.is_empty() {
        return Ok(general);
    }
    heads_or_admins(c, tenant).await
}

/// Active heads of the tenant (admins when there is none).
pub async fn heads_or_admins(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<UserId>> {
    let sql = "SELECT id FROM users WHERE tenant_id = $1 AND archived_at IS NULL AND role = 'head' ORDER BY id";
    let heads: Vec<UserId> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).fetch_all(c).await)?;
    if !heads.is_empty() {
        return Ok(heads);
    }
    let sql = "SELECT id FROM users WHERE tenant_id = $1 AND archived_at IS NULL AND role = 'admin' ORDER BY id";
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).fetch_all(c).await)
}

const DELEGATION_COLS: &str = "id, from_user, to_user, starts_on, ends_on, created_at";

pub async fn delegations(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<Delegation>> {
    let sql = format!("SELECT {DELEGATION_COLS} FROM approval_delegations WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1000");
    on_conn!(c, c => sqlx::query_as::<_, Delegation>(&sql).bind(tenant).fetch_all(c).await)
}

pub async fn delegation(c: &mut Conn<'_>, tenant: TenantId, id: DelegationId) -> sqlx::Result<Option<Delegation>> {
    let sql = format!("SELECT {DELEGATION_COLS} FROM approval_delegations WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Delegation>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// The users `to` stands in for on `day`.
pub async fn standing_in_for(c: &mut Conn<'_>, tenant: TenantId, to: UserId, day: NaiveDate) -> sqlx::Result<Vec<UserId>> {
    let sql = "SELECT from_user FROM approval_delegations WHERE tenant_id = $1 AND to_user = $2 AND starts_on <= $3 AND ends_on >= $3";
    on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(to).bind(day).fetch_all(c).await)
}

pub async fn insert_delegation(c: &mut Conn<'_>, tenant: TenantId, from: UserId, to: UserId, starts: NaiveDate, ends: NaiveDate) -> sqlx::Result<Delegation> {
    let id = DelegationId::new();
    let sql = "INSERT INTO approval_delegations (tenant_id, id, from_user, to_user, starts_on, ends_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(from).bind(to).bind(starts).bind(ends).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    delegation(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn delete_delegation(c: &mut Conn<'_>, tenant: TenantId, id: DelegationId) -> sqlx::Result<()> {
    let sql = "DELETE FROM approval_delegations WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).execute(c).await.map(|_| ()))
}

/// The latest document of `kind` attached to the deal (kinds compared as the gates do).
pub async fn latest_document_of_kind(c: &mut Conn<'_>, tenant: TenantId, deal: DealId, kind: &str) -> sqlx::Result<Option<(DocumentId, String)>> {
    let sql = "SELECT id, kind FROM documents WHERE tenant_id = $1 AND deal_id = $2 AND archived_at IS NULL ORDER BY id DESC";
    let rows: Vec<(DocumentId, String)> = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(deal).fetch_all(c).await)?;
    Ok(rows.into_iter().find(|(_, k)| k.trim().to_lowercase() == kind.trim().to_lowercase()))
}

