//! Counterparty queries, every one scoped by tenant.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::api::pagination::{like_pattern, search_key};
use crate::db::{Conn, on_conn};
use crate::tenancy::{TenantId, UserId};

use super::model::{Counterparty, CounterpartyId, CounterpartyInput, CounterpartyKind};

pub const COLS: &str = "id, kind, inn, kpp, ogrn, full_name, short_name, legal_address, postal_address, bank_name, bank_bic, \
    bank_account, bank_corr_account, segment, responsible_id, payment_deferral_days, tags, registry_status, head_name, head_post, okved, \
    registered_on, liquidated_on, registry_checked_at, manual_fields, created_at, updated_at, archived_at";

fn key(i: &CounterpartyInput) -> String {
    search_key(&[Some(&i.full_name), i.short_name.as_deref(), i.inn.as_deref()])
}

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId, i: &CounterpartyInput) -> sqlx::Result<Counterparty> {
    let sql = format!(
        "INSERT INTO counterparties (tenant_id, id, kind, inn, kpp, ogrn, full_name, short_name, legal_address, postal_address, \
         bank_name, bank_bic, bank_account, bank_corr_account, segment, responsible_id, payment_deferral_days, tags, search_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) RETURNING {COLS}"
    );
    let now = Utc::now();
    let tags = Json(i.tags.clone());
    on_conn!(c, c => sqlx::query_as::<_, Counterparty>(&sql)
        .bind(tenant).bind(id).bind(i.kind).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn).bind(&i.full_name).bind(&i.short_name)
        .bind(&i.legal_address).bind(&i.postal_address).bind(&i.bank_name).bind(&i.bank_bic).bind(&i.bank_account)
        .bind(&i.bank_corr_account).bind(&i.segment).bind(i.responsible_id).bind(i.payment_deferral_days).bind(&tags)
        .bind(key(i)).bind(now)
        .fetch_one(c).await)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId, i: &CounterpartyInput) -> sqlx::Result<Counterparty> {
    let sql = format!(
        "UPDATE counterparties SET kind = $3, inn = $4, kpp = $5, ogrn = $6, full_name = $7, short_name = $8, legal_address = $9, \
         postal_address = $10, bank_name = $11, bank_bic = $12, bank_account = $13, bank_corr_account = $14, segment = $15, \
         responsible_id = $16, payment_deferral_days = $17, tags = $18, search_key = $19, updated_at = $20 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    let tags = Json(i.tags.clone());
    on_conn!(c, c => sqlx::query_as::<_, Counterparty>(&sql)
        .bind(tenant).bind(id).bind(i.kind).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn).bind(&i.full_name).bind(&i.short_name)
        .bind(&i.legal_address).bind(&i.postal_address).bind(&i.bank_name).bind(&i.bank_bic).bind(&i.bank_account)
        .bind(&i.bank_corr_account).bind(&i.segment).bind(i.responsible_id).bind(i.payment_deferral_days).bind(&tags)
        .bind(key(i)).bind(Utc::now())
        .fetch_one(c).await)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId, at: Option<DateTime<Utc>>) -> sqlx::Result<Counterparty> {
    let sql = format!("UPDATE counterparties SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}");
    on_conn!(c, c => sqlx::query_as::<_, Counterparty>(&sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).fetch_one(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId) -> sqlx::Result<Option<Counterparty>> {
    let sql = format!("SELECT {COLS} FROM counterparties WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Counterparty>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// True when the id names a live (not archived) counterparty of the tenant.
pub async fn exists(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM counterparties WHERE tenant_id = $1 AND id = $2 AND archived_at IS NULL";
    let n: i64 = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Another live counterparty with the same ИНН and КПП, if any.
pub async fn find_by_inn(c: &mut Conn<'_>, tenant: TenantId, inn: &str, kpp: Option<&str>, except: Option<CounterpartyId>) -> sqlx::Result<Option<CounterpartyId>> {
    let sql = "SELECT id FROM counterparties WHERE tenant_id = $1 AND inn = $2 AND COALESCE(kpp, '') = $3 \
               AND archived_at IS NULL AND ($4 IS NULL OR id <> $4) LIMIT 1";
    on_conn!(c, c => sqlx::query_scalar::<_, CounterpartyId>(sql).bind(tenant).bind(inn).bind(kpp.unwrap_or("")).bind(except).fetch_optional(c).await)
}

/// What the registry says beyond the requisites.
pub struct RegistryData<'a> {
    pub status: &'a str,
    pub head_name: Option<&'a str>,
    pub head_post: Option<&'a str>,
    pub okved: Option<&'a str>,
    pub registered_on: Option<chrono::NaiveDate>,
    pub liquidated_on: Option<chrono::NaiveDate>,
}

pub async fn set_registry(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId, r: &RegistryData<'_>) -> sqlx::Result<Counterparty> {
    let sql = format!(
        "UPDATE counterparties SET registry_status = $3, head_name = $4, head_post = $5, okved = $6, registered_on = $7, liquidated_on = $8, \
         registry_checked_at = $9, updated_at = $9 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, Counterparty>(&sql)
        .bind(tenant).bind(id).bind(r.status).bind(r.head_name).bind(r.head_post).bind(r.okved).bind(r.registered_on).bind(r.liquidated_on).bind(Utc::now())
        .fetch_one(c).await)
}

pub async fn set_manual_fields(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId, fields: &[String]) -> sqlx::Result<()> {
    let sql = "UPDATE counterparties SET manual_fields = $3 WHERE tenant_id = $1 AND id = $2";
    let fields = Json(fields.to_vec());
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(&fields).execute(c).await.map(|_| ()))
}

/// Filters of the counterparty list.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub q: Option<&'a str>,
    pub inn: Option<&'a str>,
    pub kind: Option<CounterpartyKind>,
    pub segment: Option<&'a str>,
    pub responsible_id: Option<UserId>,
    pub tag: Option<&'a str>,
    pub include_archived: bool,
    /// Only clients with this debt state as of `today`.
    pub debt: Option<(DebtState, chrono::NaiveDate)>,
}

/// What a client owes, as the clients list filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DebtState {
    /// Part of the debt is overdue.
    Overdue,
    /// Owes something (overdue or not).
    Owing,
    /// Owes nothing.
    Clear,
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, f: &Filter<'_>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Counterparty>> {
    let sql = format!(
        "SELECT {COLS} FROM counterparties WHERE tenant_id = $1 AND id < $2 \
         AND ($3 IS NULL OR search_key LIKE $3 ESCAPE '\\') AND ($4 IS NULL OR inn = $4) AND ($5 IS NULL OR kind = $5) \
         AND ($6 IS NULL OR segment = $6) AND ($7 IS NULL OR responsible_id = $7) \
         AND ($8 IS NULL OR CAST(tags AS TEXT) LIKE $8 ESCAPE '\\') AND ($9 OR archived_at IS NULL) \
         AND ($11 IS NULL OR ($11 = 'clear') <> EXISTS (SELECT 1 FROM open_items o WHERE o.tenant_id = $1 \
              AND o.counterparty_id = counterparties.id AND ($11 <> 'overdue' OR o.due_on < $12))) \
         ORDER BY id DESC LIMIT $10"
    );
    let debt_state = f.debt.map(|(s, _)| match s {
        DebtState::Overdue => "overdue",
        DebtState::Owing => "owing",
        DebtState::Clear => "clear",
    });
    let today = f.debt.map(|(_, d)| d);
    let q = f.q.map(like_pattern);
    let tag = f.tag.map(|t| {
        let quoted = serde_json::to_string(t).unwrap_or_default();
        format!("%{}%", quoted.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
    });
    on_conn!(c, c => sqlx::query_as::<_, Counterparty>(&sql)
        .bind(tenant).bind(after).bind(&q).bind(f.inn).bind(f.kind).bind(f.segment).bind(f.responsible_id).bind(&tag)
        .bind(f.include_archived).bind(i64::from(limit) + 1).bind(debt_state).bind(today)
        .fetch_all(c).await)
}

/// What each of `ids` owes as of `today`: (total, overdue) in kopecks, for a list page.
pub async fn debt_sums(c: &mut Conn<'_>, tenant: TenantId, ids: &[CounterpartyId], today: chrono::NaiveDate) -> sqlx::Result<Vec<(CounterpartyId, i64, i64)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT counterparty_id, CAST(SUM(open_amount) AS BIGINT), CAST(SUM(CASE WHEN due_on < $2 THEN open_amount ELSE 0 END) AS BIGINT) \
         FROM open_items WHERE tenant_id = $1 AND counterparty_id IN ({}) GROUP BY counterparty_id",
        marks.join(", ")
    );
    on_conn!(c, c => {
        let mut q = sqlx::query_as::<_, (CounterpartyId, i64, i64)>(&sql).bind(tenant).bind(today);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(c).await
    })
}

/// The live cards a filter lets through, with their responsible: `(id, responsible)`.
/// `unassigned` keeps only cards with no responsible; `ids`, when given, only those.
pub async fn matching(c: &mut Conn<'_>, tenant: TenantId, f: &Filter<'_>, unassigned: bool, ids: Option<&[CounterpartyId]>) -> sqlx::Result<Vec<(CounterpartyId, Option<UserId>)>> {
    let sql = "SELECT id, responsible_id FROM counterparties WHERE tenant_id = $1 AND archived_at IS NULL \
               AND ($2 IS NULL OR search_key LIKE $2 ESCAPE '\\') AND ($3 IS NULL OR inn = $3) AND ($4 IS NULL OR kind = $4) \
               AND ($5 IS NULL OR segment = $5) AND ($6 IS NULL OR responsible_id = $6) \
               AND ($7 IS NULL OR CAST(tags AS TEXT) LIKE $7 ESCAPE '\\') AND (NOT $8 OR responsible_id IS NULL) ORDER BY id";
    let q = f.q.map(like_pattern);
    let tag = f.tag.map(|t| {
        let quoted = serde_json::to_string(t).unwrap_or_default();
        format!("%{}%", quoted.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
    });
    let rows: Vec<(CounterpartyId, Option<UserId>)> = on_conn!(c, c => sqlx::query_as(sql)
        .bind(tenant).bind(&q).bind(f.inn).bind(f.kind).bind(f.segment).bind(f.responsible_id).bind(&tag).bind(unassigned)
        .fetch_all(c).await)?;
    Ok(match ids {
        Some(ids) => rows.into_iter().filter(|(id, _)| ids.contains(id)).collect(),
        None => rows,
    })
}

/// Gives the cards a responsible (or none).
pub async fn set_responsible(c: &mut Conn<'_>, tenant: TenantId, ids: &[CounterpartyId], responsible: Option<UserId>) -> sqlx::Result<()> {
    let sql = "UPDATE counterparties SET responsible_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    let now = chrono::Utc::now();
    for id in ids {
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(*id).bind(responsible).bind(now).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

/// The card's counterparty row with its number of open deals, its debt and its payer
/// rating, in one round trip.
#[derive(Debug, sqlx::FromRow)]
pub struct CardRow {
    #[sqlx(flatten)]
    pub counterparty: Counterparty,
    pub open_deals_count: i64,
    #[sqlx(flatten)]
    pub debt: crate::receivables::model::DebtSums,
    pub rating_stars: Option<i32>,
    pub rating_delay: Option<String>,
    pub rating_on_time: Option<String>,
    pub rating_as_of: Option<chrono::NaiveDate>,
}

/// `today` (the tenant's) decides what is overdue.
pub async fn get_card(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId, today: chrono::NaiveDate) -> sqlx::Result<Option<CardRow>> {
    let sql = format!(
        "SELECT {COLS}, (SELECT COUNT(*) FROM deals d JOIN stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id \
         WHERE d.tenant_id = $1 AND d.counterparty_id = $2 AND d.archived_at IS NULL AND s.kind = 'open') AS open_deals_count, \
         debt.total, debt.overdue, debt.open_documents, debt.overdue_documents, debt.oldest_overdue_due_on, \
         (SELECT CAST(SUM(p.unapplied) AS BIGINT) FROM payments p WHERE p.tenant_id = $1 AND p.counterparty_id = $2 AND p.unapplied > 0) AS advance, \
         r.stars AS rating_stars, r.weighted_delay_days AS rating_delay, r.on_time_share AS rating_on_time, r.as_of AS rating_as_of \
         FROM counterparties \
         CROSS JOIN (SELECT CAST(SUM(open_amount) AS BIGINT) AS total, \
                CAST(SUM(CASE WHEN due_on < $3 THEN open_amount ELSE 0 END) AS BIGINT) AS overdue, COUNT(*) AS open_documents, \
                CAST(SUM(CASE WHEN due_on < $3 THEN 1 ELSE 0 END) AS BIGINT) AS overdue_documents, \
                MIN(CASE WHEN due_on < $3 THEN due_on END) AS oldest_overdue_due_on \
             FROM open_items WHERE tenant_id = $1 AND counterparty_id = $2) debt \
         LEFT JOIN payer_ratings r ON r.tenant_id = $1 AND r.counterparty_id = $2 \
         WHERE counterparties.tenant_id = $1 AND counterparties.id = $2"
    );
    on_conn!(c, c => sqlx::query_as::<_, CardRow>(&sql).bind(tenant).bind(id).bind(today).fetch_optional(c).await)
}

/// The names to show for `ids` ([`super::model::display_name`]), for list pages.
pub async fn names(c: &mut Conn<'_>, tenant: TenantId, ids: &[CounterpartyId]) -> sqlx::Result<Vec<(CounterpartyId, String)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!("SELECT id, full_name, short_name FROM counterparties WHERE tenant_id = $1 AND id IN ({})", marks.join(", "));
    let rows = on_conn!(c, c => {
        let mut q = sqlx::query_as::<_, (CounterpartyId, String, Option<String>)>(&sql).bind(tenant);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(c).await
    })?;
    Ok(rows.into_iter().map(|(id, full, short)| (id, super::model::display_name(&full, short.as_deref()))).collect())
}

/// The live cards with any of `inns` (a spreadsheet import's chunk), the key list bound
/// once and planned per call (see [`crate::db::in_list`]).
pub async fn by_inns(c: &mut Conn<'_>, tenant: TenantId, inns: &[String]) -> sqlx::Result<Vec<Counterparty>> {
    if inns.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!("SELECT {COLS} FROM counterparties WHERE tenant_id = $1 AND archived_at IS NULL AND {}", crate::db::in_list(c, "inn", 2, "text"));
    crate::db::fetch_keyed(c, &sql, tenant, crate::db::Keys::texts(inns)).await
}

/// Inserts many new cards in one statement per 400 (a spreadsheet import's chunk).
pub async fn insert_many(c: &mut Conn<'_>, tenant: TenantId, rows: &[(CounterpartyId, &CounterpartyInput)]) -> sqlx::Result<()> {
    let now = Utc::now();
    for chunk in rows.chunks(400) {
        let sql = format!(
            "INSERT INTO counterparties (tenant_id, id, kind, inn, kpp, ogrn, full_name, short_name, legal_address, postal_address, \
             bank_name, bank_bic, bank_account, bank_corr_account, segment, responsible_id, payment_deferral_days, tags, search_key, created_at, updated_at) VALUES {}",
            crate::db::values_list(c.engine(), chunk.len(), 21)
        );
        on_conn!(c, c => {
            let mut q = sqlx::query(&sql);
            for (id, i) in chunk {
                q = q.bind(tenant).bind(*id).bind(i.kind).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn).bind(&i.full_name).bind(&i.short_name)
                    .bind(&i.legal_address).bind(&i.postal_address).bind(&i.bank_name).bind(&i.bank_bic).bind(&i.bank_account)
                    .bind(&i.bank_corr_account).bind(&i.segment).bind(i.responsible_id).bind(i.payment_deferral_days).bind(Json(i.tags.clone()))
                    .bind(key(i)).bind(now).bind(now);
            }
            q.execute(c).await.map(|_| ())
        })?;
    }
    Ok(())
}
