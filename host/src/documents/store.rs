//! Document queries, every one scoped by tenant.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api::pagination::{like_pattern, search_key};
use crate::counterparties::CounterpartyId;
use crate::db::{Arg, Conn, Where, bind_args, on_conn};
use crate::deals::DealId;
use crate::interactions::InteractionId;
use crate::links::Links;
use crate::tasks::TaskId;
use crate::tenancy::{TenantId, UserId};

use super::{Document, DocumentId};

const COLS: &str = "id, kind, file_name, content_type, size_bytes, sha256, counterparty_id, deal_id, task_id, interaction_id, \
    uploaded_by, created_at, updated_at, archived_at";

pub struct NewDocument<'a> {
    pub kind: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub links: Links,
}

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, by: UserId, d: &NewDocument<'_>) -> sqlx::Result<Document> {
    let sql = format!(
        "INSERT INTO documents (tenant_id, id, kind, file_name, content_type, size_bytes, sha256, counterparty_id, deal_id, task_id, \
         interaction_id, uploaded_by, search_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, Document>(&sql)
        .bind(tenant).bind(DocumentId::new()).bind(d.kind).bind(d.file_name).bind(d.content_type).bind(d.size_bytes).bind(d.sha256)
        .bind(d.links.counterparty_id).bind(d.links.deal_id).bind(d.links.task_id).bind(d.links.interaction_id).bind(by)
        .bind(search_key(&[Some(d.file_name), Some(d.kind)])).bind(Utc::now())
        .fetch_one(c).await)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: DocumentId, kind: &str, file_name: &str) -> sqlx::Result<Document> {
    let sql = format!(
        "UPDATE documents SET kind = $3, file_name = $4, search_key = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, Document>(&sql)
        .bind(tenant).bind(id).bind(kind).bind(file_name).bind(search_key(&[Some(file_name), Some(kind)])).bind(Utc::now())
        .fetch_one(c).await)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: DocumentId, at: Option<DateTime<Utc>>) -> sqlx::Result<Document> {
    let sql = format!("UPDATE documents SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}");
    on_conn!(c, c => sqlx::query_as::<_, Document>(&sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).fetch_one(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: DocumentId) -> sqlx::Result<Option<Document>> {
    let sql = format!("SELECT {COLS} FROM documents WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Document>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub q: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub task_id: Option<TaskId>,
    pub interaction_id: Option<InteractionId>,
    pub include_archived: bool,
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, f: &Filter<'_>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Document>> {
    let mut w = Where::new("tenant_id = $?", Arg::Uuid(tenant.0));
    w.and("id < $?", Arg::Uuid(after))
        .and_opt("search_key LIKE $? ESCAPE '\\'", f.q.map(like_pattern), Arg::Text)
        .and_opt("kind = $?", f.kind, |v| Arg::Text(v.into()))
        .and_opt("counterparty_id = $?", f.counterparty_id, |v| Arg::Uuid(v.0))
        .and_opt("deal_id = $?", f.deal_id, |v| Arg::Uuid(v.0))
        .and_opt("task_id = $?", f.task_id, |v| Arg::Uuid(v.0))
        .and_opt("interaction_id = $?", f.interaction_id, |v| Arg::Uuid(v.0));
    if !f.include_archived {
        w.and_sql("archived_at IS NULL");
    }
    let sql = format!("SELECT {COLS} FROM documents WHERE {} ORDER BY id DESC LIMIT ${}", w.sql, w.next());
    on_conn!(c, c => bind_args!(sqlx::query_as::<_, Document>(&sql), &w.args).bind(i64::from(limit) + 1).fetch_all(c).await)
}
