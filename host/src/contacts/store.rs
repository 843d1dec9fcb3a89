//! Contact and relationship queries, every one scoped by tenant.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::api::pagination::{like_pattern, search_key};
use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::tenancy::TenantId;

use super::model::{Contact, ContactId, ContactInput, Party, Relationship, RelationshipId, RelationshipInput, RelationshipRow};

const COLS: &str = "id, counterparty_id, full_name, position, phones, emails, note, created_at, updated_at, archived_at";
const REL_COLS: &str = "id, kind, from_counterparty_id, from_contact_id, to_counterparty_id, to_contact_id, note, created_at, updated_at, archived_at";

fn key(i: &ContactInput) -> String {
    let phones = i.phones.join(" ");
    let emails = i.emails.join(" ");
    search_key(&[Some(&i.full_name), i.position.as_deref(), Some(&phones), Some(&emails)])
}

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, i: &ContactInput) -> sqlx::Result<Contact> {
    let sql = format!(
        "INSERT INTO contacts (tenant_id, id, counterparty_id, full_name, position, phones, emails, note, search_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLS}"
    );
    let (phones, emails) = (Json(i.phones.clone()), Json(i.emails.clone()));
    on_conn!(c, c => sqlx::query_as::<_, Contact>(&sql)
        .bind(tenant).bind(ContactId::new()).bind(i.counterparty_id).bind(&i.full_name).bind(&i.position)
        .bind(&phones).bind(&emails).bind(&i.note).bind(key(i)).bind(Utc::now())
        .fetch_one(c).await)
}

/// Inserts many contacts in one statement per 500 (a spreadsheet import's chunk).
pub async fn insert_many(c: &mut Conn<'_>, tenant: TenantId, rows: &[ContactInput]) -> sqlx::Result<()> {
    let now = Utc::now();
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO contacts (tenant_id, id, counterparty_id, full_name, position, phones, emails, note, search_key, created_at, updated_at) VALUES {}",
            crate::db::values_list(c.engine(), chunk.len(), 11)
        );
        on_conn!(c, c => {
            let mut q = sqlx::query(&sql);
            for i in chunk {
                q = q.bind(tenant).bind(ContactId::new()).bind(i.counterparty_id).bind(&i.full_name).bind(&i.position)
                    .bind(Json(i.phones.clone())).bind(Json(i.emails.clone())).bind(&i.note).bind(key(i)).bind(now).bind(now);
            }
            q.execute(c).await.map(|_| ())
        })?;
    }
    Ok(())
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: ContactId, i: &ContactInput) -> sqlx::Result<Contact> {
    let sql = format!(
        "UPDATE contacts SET counterparty_id = $3, full_name = $4, position = $5, phones = $6, emails = $7, note = $8, search_key = $9, updated_at = $10 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    let (phones, emails) = (Json(i.phones.clone()), Json(i.emails.clone()));
    on_conn!(c, c => sqlx::query_as::<_, Contact>(&sql)
        .bind(tenant).bind(id).bind(i.counterparty_id).bind(&i.full_name).bind(&i.position)
        .bind(&phones).bind(&emails).bind(&i.note).bind(key(i)).bind(Utc::now())
        .fetch_one(c).await)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: ContactId, at: Option<DateTime<Utc>>) -> sqlx::Result<Contact> {
    let sql = format!("UPDATE contacts SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}");
    on_conn!(c, c => sqlx::query_as::<_, Contact>(&sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).fetch_one(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: ContactId) -> sqlx::Result<Option<Contact>> {
    let sql = format!("SELECT {COLS} FROM contacts WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Contact>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn exists(c: &mut Conn<'_>, tenant: TenantId, id: ContactId) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND id = $2 AND archived_at IS NULL";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Live contacts of a counterparty, for its card.
pub async fn list_for_counterparty(c: &mut Conn<'_>, tenant: TenantId, cp: CounterpartyId) -> sqlx::Result<Vec<Contact>> {
    let sql = format!(
        "SELECT {COLS} FROM contacts WHERE tenant_id = $1 AND counterparty_id = $2 AND archived_at IS NULL ORDER BY id LIMIT 200"
    );
    on_conn!(c, c => sqlx::query_as::<_, Contact>(&sql).bind(tenant).bind(cp).fetch_all(c).await)
}

pub async fn list(
    c: &mut Conn<'_>,
    tenant: TenantId,
    q: Option<&str>,
    counterparty: Option<CounterpartyId>,
    include_archived: bool,
    after: Uuid,
    limit: u32,
) -> sqlx::Result<Vec<Contact>> {
    let sql = format!(
        "SELECT {COLS} FROM contacts WHERE tenant_id = $1 AND id < $2 AND ($3 IS NULL OR search_key LIKE $3 ESCAPE '\\') \
         AND ($4 IS NULL OR counterparty_id = $4) AND ($5 OR archived_at IS NULL) ORDER BY id DESC LIMIT $6"
    );
    let q = q.map(like_pattern);
    on_conn!(c, c => sqlx::query_as::<_, Contact>(&sql)
        .bind(tenant).bind(after).bind(&q).bind(counterparty).bind(include_archived).bind(i64::from(limit) + 1)
        .fetch_all(c).await)
}

fn split(p: Party) -> (Option<CounterpartyId>, Option<ContactId>) {
    match p {
        Party::Counterparty(id) => (Some(id), None),
        Party::Contact(id) => (None, Some(id)),
    }
}

pub async fn insert_relationship(c: &mut Conn<'_>, tenant: TenantId, i: &RelationshipInput) -> sqlx::Result<Relationship> {
    let sql = format!(
        "INSERT INTO relationships (tenant_id, id, kind, from_counterparty_id, from_contact_id, to_counterparty_id, to_contact_id, note, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {REL_COLS}"
    );
    let (fcp, fct) = split(i.from);
    let (tcp, tct) = split(i.to);
    let row = on_conn!(c, c => sqlx::query_as::<_, RelationshipRow>(&sql)
        .bind(tenant).bind(RelationshipId::new()).bind(i.kind).bind(fcp).bind(fct).bind(tcp).bind(tct).bind(&i.note).bind(Utc::now())
        .fetch_one(c).await)?;
    row.try_into()
}

pub async fn get_relationship(c: &mut Conn<'_>, tenant: TenantId, id: RelationshipId) -> sqlx::Result<Option<Relationship>> {
    let sql = format!("SELECT {REL_COLS} FROM relationships WHERE tenant_id = $1 AND id = $2");
    let row = on_conn!(c, c => sqlx::query_as::<_, RelationshipRow>(&sql).bind(tenant).bind(id).fetch_optional(c).await)?;
    row.map(TryInto::try_into).transpose()
}

pub async fn archive_relationship(c: &mut Conn<'_>, tenant: TenantId, id: RelationshipId) -> sqlx::Result<Relationship> {
    let sql = format!(
        "UPDATE relationships SET archived_at = COALESCE(archived_at, $3), updated_at = $3 WHERE tenant_id = $1 AND id = $2 RETURNING {REL_COLS}"
    );
    let row = on_conn!(c, c => sqlx::query_as::<_, RelationshipRow>(&sql).bind(tenant).bind(id).bind(Utc::now()).fetch_one(c).await)?;
    row.try_into()
}

/// Live relationships where the party is on either side.
pub async fn relationships_of(c: &mut Conn<'_>, tenant: TenantId, p: Party) -> sqlx::Result<Vec<Relationship>> {
    let (cp, ct) = split(p);
    let sql = format!(
        "SELECT {REL_COLS} FROM relationships WHERE tenant_id = $1 AND archived_at IS NULL AND \
         (($2 IS NOT NULL AND (from_counterparty_id = $2 OR to_counterparty_id = $2)) OR ($3 IS NOT NULL AND (from_contact_id = $3 OR to_contact_id = $3))) \
         ORDER BY id LIMIT 500"
    );
    let rows = on_conn!(c, c => sqlx::query_as::<_, RelationshipRow>(&sql).bind(tenant).bind(cp).bind(ct).fetch_all(c).await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}
