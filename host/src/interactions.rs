//! Interactions: calls, meetings, e-mails and notes with a counterparty, on a deal or
//! with a contact. Each one shows in the timelines it belongs to.

pub mod routes;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::validation::{Invalid, Violations};
use crate::contacts::ContactId;
use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::deals::DealId;
use crate::receivables::model::SalesDocumentId;
use crate::id_type;
use crate::tenancy::model::str_enum;
use crate::tenancy::{TenantId, UserId};

id_type!(
    /// An interaction.
    InteractionId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Call,
    Meeting,
    Email,
    Note,
}
str_enum!(InteractionKind { Call => "call", Meeting => "meeting", Email => "email", Note => "note" });

impl InteractionKind {
    /// How the timeline names it (users read Russian).
    pub fn label(self) -> &'static str {
        match self {
            InteractionKind::Call => "Звонок",
            InteractionKind::Meeting => "Встреча",
            InteractionKind::Email => "Письмо",
            InteractionKind::Note => "Заметка",
        }
    }
}

/// A logged interaction.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Interaction {
    pub id: InteractionId,
    pub kind: InteractionKind,
    pub subject: String,
    pub body: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    /// The debt (sales document) it was about.
    pub sales_document_id: Option<SalesDocumentId>,
    pub author_id: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// An interaction as sent to log it, or as a PATCH merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    pub kind: InteractionKind,
    #[schema(example = "Обсудили лимит и отсрочку")]
    pub subject: String,
    pub body: Option<String>,
    /// Default: now.
    pub occurred_at: Option<DateTime<Utc>>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    /// The debt (sales document) it was about; implies its counterparty.
    pub sales_document_id: Option<SalesDocumentId>,
}

impl InteractionInput {
    pub fn validate(&mut self) -> Result<(), Invalid> {
        self.subject = self.subject.trim().to_string();
        let mut v = Violations::new();
        v.check(!self.subject.is_empty(), "subject", "must not be empty");
        v.finish()?;
        crate::links::require_any(&self.links(), "counterparty_id", "give the counterparty, deal or contact the interaction was with")
    }
}

impl InteractionInput {
    pub fn links(&self) -> crate::links::Links {
        crate::links::Links {
            counterparty_id: self.counterparty_id,
            deal_id: self.deal_id,
            contact_id: self.contact_id,
            sales_document_id: self.sales_document_id,
            ..Default::default()
        }
    }
}

impl From<&Interaction> for InteractionInput {
    fn from(i: &Interaction) -> Self {
        InteractionInput {
            kind: i.kind,
            subject: i.subject.clone(),
            body: i.body.clone(),
            occurred_at: Some(i.occurred_at),
            counterparty_id: i.counterparty_id,
            deal_id: i.deal_id,
            contact_id: i.contact_id,
            sales_document_id: i.sales_document_id,
        }
    }
}

const COLS: &str = "id, kind, subject, body, occurred_at, counterparty_id, deal_id, contact_id, sales_document_id, author_id, created_at, updated_at, archived_at";

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, author: UserId, i: &InteractionInput, occurred_at: DateTime<Utc>) -> sqlx::Result<Interaction> {
    let sql = format!(
        "INSERT INTO interactions (tenant_id, id, kind, subject, body, occurred_at, counterparty_id, deal_id, contact_id, author_id, created_at, updated_at, sales_document_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, Interaction>(&sql)
        .bind(tenant).bind(InteractionId::new()).bind(i.kind).bind(&i.subject).bind(&i.body).bind(occurred_at)
        .bind(i.counterparty_id).bind(i.deal_id).bind(i.contact_id).bind(author).bind(Utc::now()).bind(i.sales_document_id)
        .fetch_one(c).await)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: InteractionId, i: &InteractionInput, occurred_at: DateTime<Utc>) -> sqlx::Result<Interaction> {
    let sql = format!(
        "UPDATE interactions SET kind = $3, subject = $4, body = $5, occurred_at = $6, counterparty_id = $7, deal_id = $8, contact_id = $9, updated_at = $10, sales_document_id = $11 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, Interaction>(&sql)
        .bind(tenant).bind(id).bind(i.kind).bind(&i.subject).bind(&i.body).bind(occurred_at)
        .bind(i.counterparty_id).bind(i.deal_id).bind(i.contact_id).bind(Utc::now()).bind(i.sales_document_id)
        .fetch_one(c).await)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: InteractionId, at: Option<DateTime<Utc>>) -> sqlx::Result<Interaction> {
    let sql = format!("UPDATE interactions SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}");
    on_conn!(c, c => sqlx::query_as::<_, Interaction>(&sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).fetch_one(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: InteractionId) -> sqlx::Result<Option<Interaction>> {
    let sql = format!("SELECT {COLS} FROM interactions WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Interaction>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn exists(c: &mut Conn<'_>, tenant: TenantId, id: InteractionId) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM interactions WHERE tenant_id = $1 AND id = $2 AND archived_at IS NULL";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_one(c).await)?;
    Ok(n > 0)
}

#[derive(Debug, Default)]
pub struct Filter {
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    pub sales_document_id: Option<SalesDocumentId>,
    pub kind: Option<InteractionKind>,
    pub author_id: Option<UserId>,
    pub include_archived: bool,
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, f: &Filter, after: Uuid, limit: u32) -> sqlx::Result<Vec<Interaction>> {
    let sql = format!(
        "SELECT {COLS} FROM interactions WHERE tenant_id = $1 AND id < $2 AND ($3 IS NULL OR counterparty_id = $3) \
         AND ($4 IS NULL OR deal_id = $4) AND ($5 IS NULL OR contact_id = $5) AND ($6 IS NULL OR kind = $6) \
         AND ($7 IS NULL OR author_id = $7) AND ($8 OR archived_at IS NULL) AND ($10 IS NULL OR sales_document_id = $10) ORDER BY id DESC LIMIT $9"
    );
    on_conn!(c, c => sqlx::query_as::<_, Interaction>(&sql)
        .bind(tenant).bind(after).bind(f.counterparty_id).bind(f.deal_id).bind(f.contact_id).bind(f.kind).bind(f.author_id)
        .bind(f.include_archived).bind(i64::from(limit) + 1).bind(f.sales_document_id)
        .fetch_all(c).await)
}
