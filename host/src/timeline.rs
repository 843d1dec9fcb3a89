//! Timeline: what happened on a counterparty or a deal (interactions, tasks, stage
//! changes, documents), newest first. Events are written in the same transaction as
//! the change they describe, so the timeline never disagrees with the records.

pub mod routes;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::deals::DealId;
use crate::tenancy::model::str_enum;
use crate::tenancy::{TenantId, UserId};

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    DealCreated,
    StageChanged,
    Interaction,
    TaskCreated,
    TaskCompleted,
    TaskCancelled,
    DocumentAttached,
    /// An approval route started, decided, sent back or escalated.
    Approval,
    /// A collegial body's meeting or decision.
    Committee,
    /// A reminder planned, queued or skipped (and why).
    Reminder,
    /// A promise to pay made, kept or broken.
    Promise,
}
str_enum!(EventKind {
    DealCreated => "deal_created",
    StageChanged => "stage_changed",
    Interaction => "interaction",
    TaskCreated => "task_created",
    TaskCompleted => "task_completed",
    TaskCancelled => "task_cancelled",
    DocumentAttached => "document_attached",
    Approval => "approval",
    Committee => "committee",
    Reminder => "reminder",
    Promise => "promise",
});

/// One entry of a timeline.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct TimelineEvent {
    pub id: Uuid,
    pub kind: EventKind,
    /// `deal`, `interaction`, `task` or `document`: what `entity_id` names.
    pub entity_type: String,
    pub entity_id: Uuid,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    /// A one-line description in the tenant's language.
    pub summary: String,
    pub actor_id: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
}

/// An event to add to the timelines of its counterparty and deal.
pub struct NewEvent<'a> {
    pub kind: EventKind,
    pub entity_type: &'a str,
    pub entity_id: Uuid,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub summary: String,
    pub actor_id: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
}

pub async fn record(c: &mut Conn<'_>, tenant: TenantId, e: NewEvent<'_>) -> sqlx::Result<()> {
    if e.counterparty_id.is_none() && e.deal_id.is_none() {
        return Ok(());
    }
    let sql = "INSERT INTO timeline_events (tenant_id, id, counterparty_id, deal_id, kind, entity_type, entity_id, summary, actor_id, occurred_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(Uuid::now_v7()).bind(e.counterparty_id).bind(e.deal_id).bind(e.kind).bind(e.entity_type)
        .bind(e.entity_id).bind(&e.summary).bind(e.actor_id).bind(e.occurred_at)
        .execute(c).await.map(|_| ()))
}

/// Whose timeline to read.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Counterparty(CounterpartyId),
    Deal(DealId),
}

/// A page of a timeline, newest first; `before` is the (occurred_at, id) of the last
/// event of the previous page.
pub async fn list(
    c: &mut Conn<'_>,
    tenant: TenantId,
    subject: Subject,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u32,
) -> sqlx::Result<Vec<TimelineEvent>> {
    let (col, id) = match subject {
        Subject::Counterparty(id) => ("counterparty_id", id.0),
        Subject::Deal(id) => ("deal_id", id.0),
    };
    let sql = format!(
        "SELECT id, kind, entity_type, entity_id, counterparty_id, deal_id, summary, actor_id, occurred_at FROM timeline_events \
         WHERE tenant_id = $1 AND {col} = $2 AND ($3 IS NULL OR occurred_at < $3 OR (occurred_at = $3 AND id < $4)) \
         ORDER BY occurred_at DESC, id DESC LIMIT $5"
    );
    let (at, last) = match before {
        Some((at, id)) => (Some(at), id),
        None => (None, Uuid::max()),
    };
    on_conn!(c, c => sqlx::query_as::<_, TimelineEvent>(&sql)
        .bind(tenant).bind(id).bind(at).bind(last).bind(i64::from(limit) + 1)
        .fetch_all(c).await)
}
