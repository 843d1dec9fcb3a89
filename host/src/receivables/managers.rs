//! Responsible managers from the accounting system. 1C names a user responsible for a
//! client (УТ 11: the partner's main manager) or for a contract; the sync records each
//! such user (`accounting_managers`) and which clients and contracts name them. The admin
//! maps each 1C user to a CRM user (`PUT /receivables/managers/{external_id}`), and every
//! client whose 1C manager is mapped gets that CRM user as its responsible manager — on
//! the next sync and at once when the mapping is saved — unless a person has given the
//! card another responsible since (the sync never overrides a person's choice).
//!
//! Which 1C manager a client gets: its own (the partner's), else the one most of its
//! contracts name.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::Path;
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, ActorKind, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::tenancy::{Action, Caller, TenantId, UserId};

/// Who assigns managers: the sync, or a person saving the mapping.
pub enum Assigner {
    /// `<plugin> <version>`.
    Sync(String),
    Person(Actor),
}

impl Assigner {
    fn actor(&self) -> Actor {
        match self {
            Assigner::Sync(plugin) => Actor { kind: ActorKind::Plugin, id: None, label: format!("{plugin} (синхронизация с учётной системой)"), request_id: None },
            Assigner::Person(actor) => actor.clone(),
        }
    }
}

/// A user of the accounting system named as responsible, and the CRM user they are.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AccountingManager {
    /// The accounting system's id of the user (1C: `Catalog_Пользователи` reference).
    pub external_id: String,
    /// Their name in the accounting system (empty when it did not say).
    pub name: String,
    /// The CRM user they are; `null` until the admin maps them.
    pub user_id: Option<UserId>,
    /// Clients whose cards name them (directly or through their contracts).
    #[sqlx(skip)]
    pub clients: i64,
    /// Last named by a sync.
    pub seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which client each 1C manager is the manager of: the client's own first, else the one
/// most of its contracts name (ties: the smallest id).
async fn managers_by_card(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<HashMap<CounterpartyId, String>> {
    let own: Vec<(CounterpartyId, String)> = on_conn!(c, c => sqlx::query_as(
        "SELECT counterparty_id, manager_ref FROM counterparty_refs WHERE tenant_id = $1 AND manager_ref IS NOT NULL AND NOT deleted ORDER BY manager_ref")
        .bind(tenant).fetch_all(c).await)?;
    let by_contract: Vec<(CounterpartyId, String)> = on_conn!(c, c => sqlx::query_as(
        "SELECT counterparty_id, manager_ref FROM contracts WHERE tenant_id = $1 AND manager_ref IS NOT NULL AND NOT deleted")
        .bind(tenant).fetch_all(c).await)?;
    let mut votes: HashMap<CounterpartyId, BTreeMap<String, usize>> = HashMap::new();
    for (cp, m) in by_contract {
        *votes.entry(cp).or_default().entry(m).or_default() += 1;
    }
    let mut out: HashMap<CounterpartyId, String> = votes
        .into_iter()
        .filter_map(|(cp, v)| {
            let best = v.values().copied().max()?;
            v.into_iter().find(|(_, n)| *n == best).map(|(m, _)| (cp, m))
        })
        .collect();
    for (cp, m) in own {
        // The first (smallest) of a card's own managers wins over its contracts'.
        out.entry(cp).and_modify(|x| *x = m.clone()).or_insert(m);
    }
    Ok(out)
}

/// Gives every client whose 1C manager is mapped to a CRM user that user as its
/// responsible manager, unless a person has given it another one (only `only` — a 1C
/// user's id — when given). Returns how many cards changed. Each change is audited.
pub async fn apply(c: &mut Conn<'_>, tenant: TenantId, by: &Assigner, only: Option<&str>) -> sqlx::Result<u64> {
    let mapped: HashMap<String, UserId> = on_conn!(c, c => sqlx::query_as::<_, (String, UserId)>(
        "SELECT m.external_id, m.user_id FROM accounting_managers m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.user_id IS NOT NULL AND u.archived_at IS NULL")
        .bind(tenant).fetch_all(c).await)?
    .into_iter()
    .filter(|(m, _)| only.is_none_or(|o| o == m))
    .collect();
    if mapped.is_empty() {
        return Ok(0);
    }
    let wanted: Vec<(CounterpartyId, UserId)> =
        managers_by_card(c, tenant).await?.into_iter().filter_map(|(cp, m)| mapped.get(&m).map(|u| (cp, *u))).collect();
    // What the sync assigned before: a card still with that responsible has not been
    // changed by a person.
    let assigned: HashMap<CounterpartyId, Option<UserId>> = on_conn!(c, c => sqlx::query_as::<_, (CounterpartyId, Option<UserId>)>(
        "SELECT counterparty_id, assigned_user_id FROM counterparty_refs WHERE tenant_id = $1 AND assigned_user_id IS NOT NULL")
        .bind(tenant).fetch_all(c).await)?
    .into_iter()
    .collect();
    let actor = by.actor();
    let mut changed = 0;
    for (cp, user) in wanted {
        let Some(card) = crate::counterparties::store::get(c, tenant, cp).await? else { continue };
        if card.archived_at.is_some() || card.responsible_id == Some(user) {
            continue;
        }
        let untouched = card.responsible_id.is_none() || assigned.get(&cp).copied().flatten() == card.responsible_id;
        if !untouched {
            continue;
        }
        let now = Utc::now();
        on_conn!(c, c => sqlx::query("UPDATE counterparties SET responsible_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant).bind(cp).bind(user).bind(now).execute(c).await.map(|_| ()))?;
        on_conn!(c, c => sqlx::query("UPDATE counterparty_refs SET assigned_user_id = $3 WHERE tenant_id = $1 AND counterparty_id = $2")
            .bind(tenant).bind(cp).bind(user).execute(c).await.map(|_| ()))?;
        if let Some(after) = crate::counterparties::store::get(c, tenant, cp).await? {
            audit::record(c, tenant, &actor, "counterparty", cp.0, AuditAction::Update, Some(&card), &after).await?;
        }
        changed += 1;
    }
    Ok(changed)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_managers)).routes(routes!(map_manager))
}

async fn list(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<AccountingManager>> {
    let mut rows: Vec<AccountingManager> = on_conn!(c, c => sqlx::query_as(
        "SELECT external_id, name, user_id, seen_at, updated_at FROM accounting_managers WHERE tenant_id = $1 ORDER BY name, external_id LIMIT 5000")
        .bind(tenant).fetch_all(c).await)?;
    let mut clients: HashMap<String, i64> = HashMap::new();
    for m in managers_by_card(c, tenant).await?.into_values() {
        *clients.entry(m).or_default() += 1;
    }
    for r in &mut rows {
        r.clients = clients.get(&r.external_id).copied().unwrap_or(0);
    }
    Ok(rows)
}

/// The accounting system's users named as responsible for clients or contracts, with the
/// CRM user each is mapped to and how many clients name them. Unmapped ones (`user_id`
/// null) are what an admin has left to map.
#[utoipa::path(get, path = "/receivables/managers", tag = "receivables", responses((status = 200, body = Vec<AccountingManager>)))]
async fn list_managers(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<AccountingManager>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(list(&mut c.conn(), caller.tenant_id).await?))
}

/// The CRM user a 1C manager is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagerMapping {
    /// The CRM user; `null` removes the mapping (cards keep their responsible).
    pub user_id: Option<UserId>,
}

/// A mapping saved, and what it did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MappingSaved {
    pub manager: AccountingManager,
    /// Clients given this manager's CRM user as their responsible now.
    pub clients_assigned: u64,
}

/// Map a 1C manager to a CRM user (admins). Their clients get that user as responsible
/// manager at once (and after every sync), unless a person has given a card another one.
#[utoipa::path(put, path = "/receivables/managers/{external_id}", tag = "receivables", params(("external_id" = String, Path, description = "The 1C user's id")),
    request_body = ManagerMapping,
    responses((status = 200, body = MappingSaved), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn map_manager(State(state): State<AppState>, caller: Caller, Path(external_id): Path<String>, ApiJson(m): ApiJson<ManagerMapping>) -> ApiResult<ApiJson<MappingSaved>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let external_id = external_id.trim().to_string();
    let found: Option<(String, Option<UserId>)> = on_conn!(&mut c, c => sqlx::query_as(
        "SELECT name, user_id FROM accounting_managers WHERE tenant_id = $1 AND external_id = $2").bind(caller.tenant_id).bind(&external_id).fetch_optional(c).await)?;
    let Some((name, before)) = found else {
        return Err(ApiError::NotFound("accounting manager (the accounting system has not named this user as responsible; GET /api/v1/receivables/managers lists those it has)"));
    };
    if let Some(u) = m.user_id {
        crate::tenancy::service::ensure_user(&mut c, caller.tenant_id, "user_id", u).await?;
    }
    on_conn!(&mut c, c => sqlx::query("UPDATE accounting_managers SET user_id = $3, updated_at = $4 WHERE tenant_id = $1 AND external_id = $2")
        .bind(caller.tenant_id).bind(&external_id).bind(m.user_id).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    let id = crate::plugins::service::audit_id(&format!("accounting-manager:{external_id}"));
    let before = serde_json::json!({"external_id": external_id, "name": name, "user_id": before});
    let after = serde_json::json!({"external_id": external_id, "name": name, "user_id": m.user_id});
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "accounting_manager", id, AuditAction::Update, Some(&before), &after).await?;
    let clients_assigned = if m.user_id.is_some() { apply(&mut c, caller.tenant_id, &Assigner::Person(Actor::from(&caller)), Some(&external_id)).await? } else { 0 };
    let manager = list(&mut c, caller.tenant_id).await?.into_iter().find(|r| r.external_id == external_id).ok_or(ApiError::NotFound("accounting manager"))?;
    tx.commit().await?;
    Ok(ApiJson(MappingSaved { manager, clients_assigned }))
}
