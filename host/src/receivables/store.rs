//! Receivables queries, every one scoped by tenant.
//!
//! The sync and the settlement move millions of rows, so their writes are batched:
//! on PostgreSQL one `UNNEST` of typed arrays per batch, on SQLite one multi-row
//! `VALUES` with positional `?` parameters (sqlx resolves `$n` by name on SQLite, which
//! is slow for thousands of parameters). Lookups by a list of keys bind the list once
//! (`= ANY($n)` / `json_each($n)`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::counterparties::CounterpartyId;
use crate::counterparties::model::CounterpartyKind;
use crate::db::{Conn, Engine, Keys, execute_keyed, fetch_keyed, in_list, json_list, on_conn, values_list};
use crate::tenancy::{TenantId, UserId};

use super::model::{Contract, ContractId, NamedAllocation, Payment, PaymentId, SalesDocument, SalesDocumentId, Settings};

/// Rows per batched write; the widest batch (sales documents, 16 columns) stays under
/// SQLite's 32 766 parameters.
pub const BATCH: usize = 1000;

// ---------------------------------------------------------------------------------
// Counterparties from the accounting system

/// An accounting system's counterparty and the card it maps to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefRow {
    pub external_id: String,
    pub counterparty_id: CounterpartyId,
    pub name: String,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub deleted: bool,
    pub created_card: bool,
    /// The accounting system's user responsible for the client, when it names one.
    pub manager_ref: Option<String>,
}

/// The mappings of the given external ids.
pub async fn refs(c: &mut Conn<'_>, tenant: TenantId, external_ids: &[&str]) -> sqlx::Result<HashMap<String, RefRow>> {
    if external_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT external_id, counterparty_id, name, inn, kpp, deleted, created_card, manager_ref FROM counterparty_refs WHERE tenant_id = $1 AND {}",
        in_list(c, "external_id", 2, "text")
    );
    let rows: Vec<RefRow> = fetch_keyed(c, &sql, tenant, Keys::texts(external_ids)).await?;
    Ok(rows.into_iter().map(|r| (r.external_id.clone(), r)).collect())
}

/// Live cards with one of the given ИНН: `(id, inn, kpp)`.
pub async fn cards_by_inn(c: &mut Conn<'_>, tenant: TenantId, inns: &[&str]) -> sqlx::Result<Vec<(CounterpartyId, String, Option<String>)>> {
    if inns.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, inn, kpp FROM counterparties WHERE tenant_id = $1 AND archived_at IS NULL AND {}",
        in_list(c, "inn", 2, "text")
    );
    fetch_keyed(c, &sql, tenant, Keys::texts(inns)).await
}

/// A client card the sync creates.
#[derive(Debug, Clone)]
pub struct NewCard {
    pub id: CounterpartyId,
    pub kind: CounterpartyKind,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub full_name: String,
    pub search_key: String,
}

pub async fn insert_cards(c: &mut Conn<'_>, tenant: TenantId, rows: &[NewCard], now: DateTime<Utc>) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO counterparties (tenant_id, id, kind, inn, kpp, full_name, search_key, payment_deferral_days, tags, created_at, updated_at) \
                           SELECT $1, u.id, u.kind, u.inn, u.kpp, u.full_name, u.search_key, 0, '[]', $7, $7 \
                           FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $8::text[]) AS u(id, kind, inn, kpp, full_name, search_key)";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.inn.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.kpp.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.full_name.clone()).collect::<Vec<_>>())
                    .bind(now)
                    .bind(chunk.iter().map(|r| r.search_key.clone()).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO counterparties (tenant_id, id, kind, inn, kpp, full_name, search_key, payment_deferral_days, tags, created_at, updated_at) VALUES {}",
                    values_list(Engine::Sqlite, chunk.len(), 11)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q.bind(tenant).bind(r.id).bind(r.kind.as_str()).bind(&r.inn).bind(&r.kpp).bind(&r.full_name).bind(&r.search_key).bind(0).bind("[]").bind(now).bind(now);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

/// Inserts new mappings and updates changed ones (all given rows are written).
pub async fn upsert_refs(c: &mut Conn<'_>, tenant: TenantId, rows: &[RefRow], now: DateTime<Utc>) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO counterparty_refs (tenant_id, external_id, counterparty_id, name, inn, kpp, deleted, created_card, manager_ref, synced_at) \
                           SELECT $1, u.* , $9 FROM UNNEST($2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::bool[], $10::text[]) \
                           AS u(external_id, counterparty_id, name, inn, kpp, deleted, created_card, manager_ref) \
                           ON CONFLICT (tenant_id, external_id) DO UPDATE SET name = EXCLUDED.name, inn = EXCLUDED.inn, kpp = EXCLUDED.kpp, \
                           deleted = EXCLUDED.deleted, manager_ref = EXCLUDED.manager_ref, synced_at = EXCLUDED.synced_at";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.external_id.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.counterparty_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.inn.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.kpp.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.deleted).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.created_card).collect::<Vec<_>>())
                    .bind(now)
                    .bind(chunk.iter().map(|r| r.manager_ref.clone()).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO counterparty_refs (tenant_id, external_id, counterparty_id, name, inn, kpp, deleted, created_card, manager_ref, synced_at) VALUES {} \
                     ON CONFLICT (tenant_id, external_id) DO UPDATE SET name = excluded.name, inn = excluded.inn, kpp = excluded.kpp, \
                     deleted = excluded.deleted, manager_ref = excluded.manager_ref, synced_at = excluded.synced_at",
                    values_list(Engine::Sqlite, chunk.len(), 10)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(tenant).bind(&r.external_id).bind(r.counterparty_id).bind(&r.name).bind(&r.inn).bind(&r.kpp).bind(r.deleted).bind(r.created_card)
                        .bind(&r.manager_ref).bind(now);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

/// Every accounting counterparty id of the tenant: its card, and its name and ИНН as the
/// accounting system has them.
pub async fn all_refs(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(String, CounterpartyId, String, Option<String>)>> {
    on_conn!(c, c => sqlx::query_as("SELECT external_id, counterparty_id, name, inn FROM counterparty_refs WHERE tenant_id = $1").bind(tenant).fetch_all(c).await)
}

/// Records the accounting system's users named as responsible (new ones with no CRM
/// user yet; a renamed one gets its new name).
pub async fn upsert_accounting_managers(c: &mut Conn<'_>, tenant: TenantId, managers: &[(String, String)], now: DateTime<Utc>) -> sqlx::Result<()> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (id, name) in managers {
        let e = seen.entry(id.as_str()).or_insert(name.as_str());
        if e.is_empty() {
            *e = name.as_str();
        }
    }
    let sql = "INSERT INTO accounting_managers (tenant_id, external_id, name, user_id, seen_at, updated_at) VALUES ($1, $2, $3, NULL, $4, $4) \
               ON CONFLICT (tenant_id, external_id) DO UPDATE SET \
               name = CASE WHEN EXCLUDED.name = '' THEN accounting_managers.name ELSE EXCLUDED.name END, seen_at = EXCLUDED.seen_at";
    for (id, name) in seen {
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(name).bind(now).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

/// Every contract of the tenant by accounting id: `(external id, id, counterparty, deferral)`.
pub async fn all_contract_refs(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(String, ContractId, CounterpartyId, Option<i32>)>> {
    on_conn!(c, c => sqlx::query_as("SELECT external_id, id, counterparty_id, deferral_days FROM contracts WHERE tenant_id = $1").bind(tenant).fetch_all(c).await)
}

/// The cards of the tenant with a deferral of their own (others have none).
pub async fn all_card_deferrals(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<(CounterpartyId, i32)>> {
    let sql = "SELECT id, payment_deferral_days FROM counterparties WHERE tenant_id = $1 AND payment_deferral_days <> 0";
    on_conn!(c, c => sqlx::query_as(sql).bind(tenant).fetch_all(c).await)
}

/// Payment deferral of each given card.
pub async fn card_deferrals(c: &mut Conn<'_>, tenant: TenantId, ids: &[CounterpartyId]) -> sqlx::Result<HashMap<CounterpartyId, i32>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT id, payment_deferral_days FROM counterparties WHERE tenant_id = $1 AND {}", in_list(c, "id", 2, "uuid"));
    let rows: Vec<(CounterpartyId, i32)> = fetch_keyed(c, &sql, tenant, Keys::ids(ids)).await?;
    Ok(rows.into_iter().collect())
}

/// Renames a card the sync created (the accounting system renamed the counterparty).
pub async fn rename_card(c: &mut Conn<'_>, tenant: TenantId, id: CounterpartyId, full_name: &str, search_key: &str) -> sqlx::Result<()> {
    let sql = "UPDATE counterparties SET full_name = $3, search_key = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(full_name).bind(search_key).bind(Utc::now()).execute(c).await.map(|_| ()))
}

// ---------------------------------------------------------------------------------
// Contracts

pub const CONTRACT_COLS: &str = "id, counterparty_id, external_id, number, signed_on, deferral_days, deleted, penalty_kind, penalty_rate, \
    penalty_cap_percent, manager_ref, created_at, updated_at";

/// Contracts by external id.
pub async fn contracts_by_external(c: &mut Conn<'_>, tenant: TenantId, external_ids: &[&str]) -> sqlx::Result<HashMap<String, Contract>> {
    if external_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT {CONTRACT_COLS} FROM contracts WHERE tenant_id = $1 AND {}", in_list(c, "external_id", 2, "text"));
    let rows: Vec<Contract> = fetch_keyed(c, &sql, tenant, Keys::texts(external_ids)).await?;
    Ok(rows.into_iter().map(|r| (r.external_id.clone(), r)).collect())
}

/// A contract's synced fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    pub id: ContractId,
    pub external_id: String,
    pub counterparty_id: CounterpartyId,
    pub number: Option<String>,
    pub signed_on: Option<NaiveDate>,
    pub deferral_days: Option<i32>,
    pub deleted: bool,
    pub manager_ref: Option<String>,
}

/// Inserts new contracts and updates the synced fields of existing ones (penalty terms
/// are the CRM's and are left alone).
pub async fn upsert_contracts(c: &mut Conn<'_>, tenant: TenantId, rows: &[ContractRow], now: DateTime<Utc>) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO contracts (tenant_id, id, external_id, counterparty_id, number, signed_on, deferral_days, deleted, manager_ref, created_at, updated_at) \
                           SELECT $1, u.*, $9, $9 FROM UNNEST($2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::date[], $7::int4[], $8::bool[], $10::text[]) \
                           AS u(id, external_id, counterparty_id, number, signed_on, deferral_days, deleted, manager_ref) \
                           ON CONFLICT (tenant_id, external_id) DO UPDATE SET counterparty_id = EXCLUDED.counterparty_id, number = EXCLUDED.number, \
                           signed_on = EXCLUDED.signed_on, deferral_days = EXCLUDED.deferral_days, deleted = EXCLUDED.deleted, \
                           manager_ref = EXCLUDED.manager_ref, updated_at = EXCLUDED.updated_at";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.external_id.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.counterparty_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.number.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.signed_on).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.deferral_days).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.deleted).collect::<Vec<_>>())
                    .bind(now)
                    .bind(chunk.iter().map(|r| r.manager_ref.clone()).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO contracts (tenant_id, id, external_id, counterparty_id, number, signed_on, deferral_days, deleted, manager_ref, created_at, updated_at) \
                     VALUES {} \
                     ON CONFLICT (tenant_id, external_id) DO UPDATE SET counterparty_id = excluded.counterparty_id, number = excluded.number, \
                     signed_on = excluded.signed_on, deferral_days = excluded.deferral_days, deleted = excluded.deleted, manager_ref = excluded.manager_ref, \
                     updated_at = excluded.updated_at",
                    values_list(Engine::Sqlite, chunk.len(), 11)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(tenant).bind(r.id).bind(&r.external_id).bind(r.counterparty_id).bind(&r.number).bind(r.signed_on).bind(r.deferral_days).bind(r.deleted)
                        .bind(&r.manager_ref).bind(now).bind(now);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

pub async fn get_contract(c: &mut Conn<'_>, tenant: TenantId, id: ContractId) -> sqlx::Result<Option<Contract>> {
    let sql = format!("SELECT {CONTRACT_COLS} FROM contracts WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Contract>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn list_contracts(c: &mut Conn<'_>, tenant: TenantId, counterparty: Option<CounterpartyId>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Contract>> {
    let sql = format!(
        "SELECT {CONTRACT_COLS} FROM contracts WHERE tenant_id = $1 AND ($2 IS NULL OR counterparty_id = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
    );
    on_conn!(c, c => sqlx::query_as::<_, Contract>(&sql).bind(tenant).bind(counterparty).bind(after).bind(i64::from(limit) + 1).fetch_all(c).await)
}

/// The contracts of the given counterparties.
pub async fn contracts_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<Vec<Contract>> {
    if cps.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {CONTRACT_COLS} FROM contracts WHERE tenant_id = $1 AND {}", in_list(c, "counterparty_id", 2, "uuid"));
    fetch_keyed(c, &sql, tenant, Keys::ids(cps)).await
}

pub async fn set_penalty_terms(c: &mut Conn<'_>, tenant: TenantId, id: ContractId, t: &super::model::PenaltyTerms) -> sqlx::Result<Contract> {
    let sql = format!(
        "UPDATE contracts SET penalty_kind = $3, penalty_rate = $4, penalty_cap_percent = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2 RETURNING {CONTRACT_COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, Contract>(&sql).bind(tenant).bind(id).bind(t.penalty_kind).bind(&t.penalty_rate).bind(&t.penalty_cap_percent).bind(Utc::now())
        .fetch_one(c).await)
}

// ---------------------------------------------------------------------------------
// Sales documents

/// A document's columns with its open balance (`d` the document, `o` its open item).
pub const DOC_COLS: &str = "d.id, d.counterparty_id, d.contract_id, d.external_id, d.legal_entity_ref, d.number, d.issued_on, d.due_on, d.amount, \
    d.currency, d.primary_document, d.posted, d.deleted, COALESCE(o.open_amount, 0) AS open_amount, d.created_at, d.updated_at";
/// `FROM` for [`DOC_COLS`].
pub const DOC_FROM: &str = "sales_documents d LEFT JOIN open_items o ON o.tenant_id = d.tenant_id AND o.document_id = d.id";

/// The stored documents with the given accounting ids (what the sync compares with).
pub async fn documents_by_external(c: &mut Conn<'_>, tenant: TenantId, external_ids: &[&str]) -> sqlx::Result<HashMap<String, super::ledger::LedgerDoc>> {
    if external_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, counterparty_id, contract_id, external_id, legal_entity_ref, number, issued_on, due_on, amount, primary_document, posted, deleted \
         FROM sales_documents WHERE tenant_id = $1 AND {}",
        in_list(c, "external_id", 2, "text")
    );
    let rows: Vec<super::ledger::LedgerDoc> = fetch_keyed(c, &sql, tenant, Keys::texts(external_ids)).await?;
    Ok(rows.into_iter().map(|r| (r.external_id.clone(), r)).collect())
}

/// A sales document's synced fields (and, for a new one, its opening balance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRow {
    pub id: SalesDocumentId,
    pub external_id: String,
    pub counterparty_id: CounterpartyId,
    pub contract_id: Option<ContractId>,
    pub legal_entity_ref: Option<String>,
    pub number: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub amount: i64,
    pub currency: String,
    pub primary_document: Option<String>,
    pub posted: bool,
    pub deleted: bool,
}

/// Inserts new documents and updates the synced fields of existing ones (balances are
/// the settlement's to keep, in `open_items`).
pub async fn upsert_documents(c: &mut Conn<'_>, tenant: TenantId, rows: &[DocRow], now: DateTime<Utc>) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO sales_documents (tenant_id, id, external_id, counterparty_id, contract_id, legal_entity_ref, number, issued_on, due_on, \
                           amount, currency, posted, deleted, primary_document, created_at, updated_at) \
                           SELECT $1, u.*, $14, $14 FROM UNNEST($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::date[], $9::date[], \
                           $10::int8[], $11::text[], $12::bool[], $13::bool[], $15::text[]) \
                           AS u(id, external_id, counterparty_id, contract_id, legal_entity_ref, number, issued_on, due_on, amount, currency, posted, deleted, primary_document) \
                           ON CONFLICT (tenant_id, external_id) DO UPDATE SET counterparty_id = EXCLUDED.counterparty_id, contract_id = EXCLUDED.contract_id, \
                           legal_entity_ref = EXCLUDED.legal_entity_ref, number = EXCLUDED.number, issued_on = EXCLUDED.issued_on, due_on = EXCLUDED.due_on, \
                           amount = EXCLUDED.amount, currency = EXCLUDED.currency, posted = EXCLUDED.posted, deleted = EXCLUDED.deleted, \
                           primary_document = EXCLUDED.primary_document, updated_at = EXCLUDED.updated_at";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.external_id.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.counterparty_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.contract_id.map(|x| x.0)).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.legal_entity_ref.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.number.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.issued_on).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.due_on).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.amount).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.currency.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.posted).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.deleted).collect::<Vec<_>>())
                    .bind(now)
                    .bind(chunk.iter().map(|r| r.primary_document.clone()).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO sales_documents (tenant_id, id, external_id, counterparty_id, contract_id, legal_entity_ref, number, issued_on, due_on, \
                     amount, currency, posted, deleted, primary_document, created_at, updated_at) VALUES {} \
                     ON CONFLICT (tenant_id, external_id) DO UPDATE SET counterparty_id = excluded.counterparty_id, contract_id = excluded.contract_id, \
                     legal_entity_ref = excluded.legal_entity_ref, number = excluded.number, issued_on = excluded.issued_on, due_on = excluded.due_on, \
                     amount = excluded.amount, currency = excluded.currency, posted = excluded.posted, deleted = excluded.deleted, \
                     primary_document = excluded.primary_document, updated_at = excluded.updated_at",
                    values_list(Engine::Sqlite, chunk.len(), 16)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(tenant).bind(r.id).bind(&r.external_id).bind(r.counterparty_id).bind(r.contract_id).bind(&r.legal_entity_ref).bind(&r.number)
                        .bind(r.issued_on).bind(r.due_on).bind(r.amount).bind(&r.currency).bind(r.posted).bind(r.deleted).bind(&r.primary_document)
                        .bind(now).bind(now);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

pub async fn get_document(c: &mut Conn<'_>, tenant: TenantId, id: SalesDocumentId) -> sqlx::Result<Option<SalesDocument>> {
    let sql = format!("SELECT {DOC_COLS} FROM {DOC_FROM} WHERE d.tenant_id = $1 AND d.id = $2");
    on_conn!(c, c => sqlx::query_as::<_, SalesDocument>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// True when the id names a sales document of the tenant.
pub async fn document_exists(c: &mut Conn<'_>, tenant: TenantId, id: SalesDocumentId) -> sqlx::Result<Option<CounterpartyId>> {
    let sql = "SELECT counterparty_id FROM sales_documents WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query_scalar::<_, CounterpartyId>(sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// Filters of the sales-document list.
#[derive(Debug, Default, Clone, Copy)]
pub struct DocFilter {
    pub counterparty_id: Option<CounterpartyId>,
    /// Only those still owed.
    pub open: bool,
    /// Only those owed past their due date (as of this day).
    pub overdue_on: Option<NaiveDate>,
}

pub async fn list_documents(c: &mut Conn<'_>, tenant: TenantId, f: DocFilter, after: Uuid, limit: u32) -> sqlx::Result<Vec<SalesDocument>> {
    let sql = format!(
        "SELECT {DOC_COLS} FROM {DOC_FROM} WHERE d.tenant_id = $1 AND ($2 IS NULL OR d.counterparty_id = $2) AND (NOT $3 OR o.open_amount IS NOT NULL) \
         AND ($4 IS NULL OR o.due_on < $4) AND d.id < $5 ORDER BY d.id DESC LIMIT $6"
    );
    on_conn!(c, c => sqlx::query_as::<_, SalesDocument>(&sql)
        .bind(tenant).bind(f.counterparty_id).bind(f.open).bind(f.overdue_on).bind(after).bind(i64::from(limit) + 1)
        .fetch_all(c).await)
}

/// Every document of the given counterparties.
pub async fn documents_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<Vec<SalesDocument>> {
    if cps.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {DOC_COLS} FROM {DOC_FROM} WHERE d.tenant_id = $1 AND {}", in_list(c, "d.counterparty_id", 2, "uuid"));
    fetch_keyed(c, &sql, tenant, Keys::ids(cps)).await
}

/// What the ledger needs of the documents of the given counterparties (no join, no
/// timestamps: the settlement reads every document of a big base this way).
pub async fn ledger_docs_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<Vec<super::ledger::LedgerDoc>> {
    if cps.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, counterparty_id, contract_id, external_id, legal_entity_ref, number, issued_on, due_on, amount, primary_document, posted, deleted \
         FROM sales_documents WHERE tenant_id = $1 AND {}",
        in_list(c, "counterparty_id", 2, "uuid")
    );
    fetch_keyed(c, &sql, tenant, Keys::ids(cps)).await
}

/// What the ledger needs of the payments of the given counterparties.
pub async fn ledger_payments_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<Vec<super::ledger::LedgerPay>> {
    if cps.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, counterparty_id, contract_id, external_id, number, paid_on, amount, allocations, posted, deleted, unapplied \
         FROM payments WHERE tenant_id = $1 AND {}",
        in_list(c, "counterparty_id", 2, "uuid")
    );
    fetch_keyed(c, &sql, tenant, Keys::ids(cps)).await
}

/// What is still owed on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub document_id: SalesDocumentId,
    pub counterparty_id: CounterpartyId,
    pub due_on: NaiveDate,
    pub open_amount: i64,
    pub legal_entity_ref: Option<String>,
}

/// The open items of the given counterparties, by document.
pub async fn open_items_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<HashMap<SalesDocumentId, OpenItem>> {
    if cps.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT document_id, counterparty_id, due_on, open_amount, legal_entity_ref FROM open_items WHERE tenant_id = $1 AND {}",
        in_list(c, "counterparty_id", 2, "uuid")
    );
    type Row = (SalesDocumentId, CounterpartyId, NaiveDate, i64, Option<String>);
    let rows: Vec<Row> = fetch_keyed(c, &sql, tenant, Keys::ids(cps)).await?;
    Ok(rows
        .into_iter()
        .map(|(document_id, counterparty_id, due_on, open_amount, legal_entity_ref)| {
            (document_id, OpenItem { document_id, counterparty_id, due_on, open_amount, legal_entity_ref })
        })
        .collect())
}

/// What "Owed to us" shows of a client besides the amounts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgingCard {
    pub id: CounterpartyId,
    pub full_name: String,
    pub inn: Option<String>,
    pub segment: Option<String>,
    pub responsible_id: Option<UserId>,
    pub stars: Option<i32>,
}

/// The given clients' names and ratings, by id.
pub async fn aging_cards_of(c: &mut Conn<'_>, tenant: TenantId, ids: &[CounterpartyId]) -> sqlx::Result<HashMap<CounterpartyId, AgingCard>> {
    let sql = format!(
        "SELECT c.id, c.full_name, c.inn, c.segment, c.responsible_id, r.stars FROM counterparties c \
         LEFT JOIN payer_ratings r ON r.tenant_id = c.tenant_id AND r.counterparty_id = c.id \
         WHERE c.tenant_id = $1 AND {}",
        in_list(c, "c.id", 2, "uuid")
    );
    let rows: Vec<AgingCard> = fetch_keyed(c, &sql, tenant, Keys::ids(ids)).await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// Writes open items (new or changed).
pub async fn upsert_open_items(c: &mut Conn<'_>, tenant: TenantId, rows: &[OpenItem]) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO open_items (tenant_id, document_id, counterparty_id, due_on, open_amount, legal_entity_ref) \
                           SELECT $1, u.* FROM UNNEST($2::uuid[], $3::uuid[], $4::date[], $5::int8[], $6::text[]) \
                           AS u(document_id, counterparty_id, due_on, open_amount, legal_entity_ref) \
                           ON CONFLICT (tenant_id, document_id) DO UPDATE SET counterparty_id = EXCLUDED.counterparty_id, due_on = EXCLUDED.due_on, \
                           open_amount = EXCLUDED.open_amount, legal_entity_ref = EXCLUDED.legal_entity_ref";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.document_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.counterparty_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.due_on).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.open_amount).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.legal_entity_ref.clone()).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO open_items (tenant_id, document_id, counterparty_id, due_on, open_amount, legal_entity_ref) VALUES {} \
                     ON CONFLICT (tenant_id, document_id) DO UPDATE SET counterparty_id = excluded.counterparty_id, due_on = excluded.due_on, \
                     open_amount = excluded.open_amount, legal_entity_ref = excluded.legal_entity_ref",
                    values_list(Engine::Sqlite, chunk.len(), 6)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q.bind(tenant).bind(r.document_id).bind(r.counterparty_id).bind(r.due_on).bind(r.open_amount).bind(&r.legal_entity_ref);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

/// Removes the open items of documents paid off (or no longer debts).
pub async fn delete_open_items(c: &mut Conn<'_>, tenant: TenantId, ids: &[SalesDocumentId]) -> sqlx::Result<()> {
    for chunk in ids.chunks(BATCH) {
        let sql = format!("DELETE FROM open_items WHERE tenant_id = $1 AND {}", in_list(c, "document_id", 2, "uuid"));
        execute_keyed(c, &sql, tenant, Keys::ids(chunk)).await?
    }
    Ok(())
}

/// Moves documents' due dates (their deferral changed).
pub async fn set_due_dates(c: &mut Conn<'_>, tenant: TenantId, rows: &[(SalesDocumentId, NaiveDate)]) -> sqlx::Result<()> {
    let sql = "UPDATE sales_documents SET due_on = $3 WHERE tenant_id = $1 AND id = $2";
    for (id, due) in rows {
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(*id).bind(*due).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Payments

pub const PAYMENT_COLS: &str = "id, counterparty_id, contract_id, external_id, number, paid_on, amount, allocations, posted, deleted, unapplied, created_at, updated_at";

/// The stored payments with the given accounting ids (what the sync compares with).
pub async fn payments_by_external(c: &mut Conn<'_>, tenant: TenantId, external_ids: &[&str]) -> sqlx::Result<HashMap<String, super::ledger::LedgerPay>> {
    if external_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, counterparty_id, contract_id, external_id, number, paid_on, amount, allocations, posted, deleted, unapplied \
         FROM payments WHERE tenant_id = $1 AND {}",
        in_list(c, "external_id", 2, "text")
    );
    let rows: Vec<super::ledger::LedgerPay> = fetch_keyed(c, &sql, tenant, Keys::texts(external_ids)).await?;
    Ok(rows.into_iter().map(|r| (r.external_id.clone(), r)).collect())
}

/// A payment's synced fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub id: PaymentId,
    pub external_id: String,
    pub counterparty_id: CounterpartyId,
    pub contract_id: Option<ContractId>,
    pub number: String,
    pub paid_on: NaiveDate,
    pub amount: i64,
    pub allocations: Vec<NamedAllocation>,
    pub posted: bool,
    pub deleted: bool,
    pub unapplied: i64,
}

pub async fn upsert_payments(c: &mut Conn<'_>, tenant: TenantId, rows: &[PaymentRow], now: DateTime<Utc>) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO payments (tenant_id, id, external_id, counterparty_id, contract_id, number, paid_on, amount, allocations, posted, deleted, \
                           unapplied, created_at, updated_at) \
                           SELECT $1, u.id, u.external_id, u.counterparty_id, u.contract_id, u.number, u.paid_on, u.amount, u.allocations::jsonb, u.posted, u.deleted, \
                           u.unapplied, $13, $13 \
                           FROM UNNEST($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::date[], $8::int8[], $9::text[], $10::bool[], $11::bool[], $12::int8[]) \
                           AS u(id, external_id, counterparty_id, contract_id, number, paid_on, amount, allocations, posted, deleted, unapplied) \
                           ON CONFLICT (tenant_id, external_id) DO UPDATE SET counterparty_id = EXCLUDED.counterparty_id, contract_id = EXCLUDED.contract_id, \
                           number = EXCLUDED.number, paid_on = EXCLUDED.paid_on, amount = EXCLUDED.amount, allocations = EXCLUDED.allocations, \
                           posted = EXCLUDED.posted, deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.external_id.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.counterparty_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.contract_id.map(|x| x.0)).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.number.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.paid_on).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.amount).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| json_list(&r.allocations)).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.posted).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.deleted).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.unapplied).collect::<Vec<_>>())
                    .bind(now)
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO payments (tenant_id, id, external_id, counterparty_id, contract_id, number, paid_on, amount, allocations, posted, deleted, \
                     unapplied, created_at, updated_at) VALUES {} \
                     ON CONFLICT (tenant_id, external_id) DO UPDATE SET counterparty_id = excluded.counterparty_id, contract_id = excluded.contract_id, \
                     number = excluded.number, paid_on = excluded.paid_on, amount = excluded.amount, allocations = excluded.allocations, \
                     posted = excluded.posted, deleted = excluded.deleted, updated_at = excluded.updated_at",
                    values_list(Engine::Sqlite, chunk.len(), 14)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(tenant).bind(r.id).bind(&r.external_id).bind(r.counterparty_id).bind(r.contract_id).bind(&r.number).bind(r.paid_on)
                        .bind(r.amount).bind(json_list(&r.allocations)).bind(r.posted).bind(r.deleted).bind(r.unapplied).bind(now).bind(now);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

pub async fn payments_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<Vec<Payment>> {
    if cps.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE tenant_id = $1 AND {}", in_list(c, "counterparty_id", 2, "uuid"));
    fetch_keyed(c, &sql, tenant, Keys::ids(cps)).await
}

pub async fn list_payments(c: &mut Conn<'_>, tenant: TenantId, counterparty: Option<CounterpartyId>, after: Uuid, limit: u32) -> sqlx::Result<Vec<Payment>> {
    let sql = format!(
        "SELECT {PAYMENT_COLS} FROM payments WHERE tenant_id = $1 AND ($2 IS NULL OR counterparty_id = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
    );
    on_conn!(c, c => sqlx::query_as::<_, Payment>(&sql).bind(tenant).bind(counterparty).bind(after).bind(i64::from(limit) + 1).fetch_all(c).await)
}

pub async fn get_payment(c: &mut Conn<'_>, tenant: TenantId, id: PaymentId) -> sqlx::Result<Option<Payment>> {
    let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Payment>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn set_unapplied(c: &mut Conn<'_>, tenant: TenantId, rows: &[(PaymentId, i64)]) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "UPDATE payments p SET unapplied = u.unapplied FROM UNNEST($2::uuid[], $3::int8[]) AS u(id, unapplied) \
                           WHERE p.tenant_id = $1 AND p.id = u.id";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.0.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.1).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "WITH u(id, unapplied) AS (VALUES {}) UPDATE payments SET unapplied = u.unapplied FROM u WHERE payments.tenant_id = ? AND payments.id = u.id",
                    values_list(Engine::Sqlite, chunk.len(), 2)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q.bind(r.0).bind(r.1);
                }
                q.bind(tenant).execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Settlement bookkeeping

/// Marks counterparties as needing their balances settled.
pub async fn mark_dirty(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<()> {
    let mut cps = cps.to_vec();
    cps.sort();
    cps.dedup();
    for chunk in cps.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                sqlx::query("INSERT INTO receivables_dirty (tenant_id, counterparty_id) SELECT $1, UNNEST($2::uuid[]) ON CONFLICT DO NOTHING")
                    .bind(tenant)
                    .bind(chunk.iter().map(|i| i.0).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!("INSERT INTO receivables_dirty (tenant_id, counterparty_id) VALUES {} ON CONFLICT DO NOTHING", values_list(Engine::Sqlite, chunk.len(), 2));
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(tenant).bind(id);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

/// Marks every counterparty whose rating is older than `today`, so the settlement
/// refreshes ratings that age by the day (what is overdue grows later every day).
pub async fn mark_stale_ratings(c: &mut Conn<'_>, tenant: TenantId, today: NaiveDate) -> sqlx::Result<u64> {
    let sql = "INSERT INTO receivables_dirty (tenant_id, counterparty_id) SELECT tenant_id, counterparty_id FROM payer_ratings \
               WHERE tenant_id = $1 AND as_of < $2 ON CONFLICT DO NOTHING";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(today).execute(c).await.map(|r| r.rows_affected()))
}

pub async fn dirty_count(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<i64> {
    on_conn!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM receivables_dirty WHERE tenant_id = $1").bind(tenant).fetch_one(c).await)
}

/// Up to `limit` counterparties waiting to be settled, locked for this transaction on
/// PostgreSQL (so a settlement and an edit of the same client take turns).
pub async fn take_dirty(c: &mut Conn<'_>, tenant: TenantId, limit: i64) -> sqlx::Result<Vec<CounterpartyId>> {
    match c {
        Conn::Postgres(c) => {
            sqlx::query_scalar(
                "SELECT d.counterparty_id FROM receivables_dirty d JOIN counterparties cp ON cp.tenant_id = d.tenant_id AND cp.id = d.counterparty_id \
                 WHERE d.tenant_id = $1 ORDER BY d.counterparty_id LIMIT $2 FOR UPDATE OF cp",
            )
            .bind(tenant)
            .bind(limit)
            .fetch_all(&mut **c)
            .await
        }
        Conn::Sqlite(c) => {
            sqlx::query_scalar("SELECT counterparty_id FROM receivables_dirty WHERE tenant_id = $1 ORDER BY counterparty_id LIMIT $2")
                .bind(tenant)
                .bind(limit)
                .fetch_all(&mut **c)
                .await
        }
    }
}

pub async fn clear_dirty(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<()> {
    if cps.is_empty() {
        return Ok(());
    }
    let sql = format!("DELETE FROM receivables_dirty WHERE tenant_id = $1 AND {}", in_list(c, "counterparty_id", 2, "uuid"));
    execute_keyed(c, &sql, tenant, Keys::ids(cps)).await?;
    Ok(())
}

/// A rating as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRow {
    pub counterparty_id: CounterpartyId,
    pub stars: Option<i32>,
    pub weighted_delay_days: String,
    pub on_time_share: String,
    pub rated_amount: i64,
    pub documents: i32,
    pub window_from: NaiveDate,
    pub as_of: NaiveDate,
}

pub async fn upsert_ratings(c: &mut Conn<'_>, tenant: TenantId, rows: &[RatingRow], now: DateTime<Utc>) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO payer_ratings (tenant_id, counterparty_id, stars, weighted_delay_days, on_time_share, rated_amount, documents, window_from, as_of, computed_at) \
                           SELECT $1, u.*, $10 FROM UNNEST($2::uuid[], $3::int4[], $4::text[], $5::text[], $6::int8[], $7::int4[], $8::date[], $9::date[]) \
                           AS u(counterparty_id, stars, weighted_delay_days, on_time_share, rated_amount, documents, window_from, as_of) \
                           ON CONFLICT (tenant_id, counterparty_id) DO UPDATE SET stars = EXCLUDED.stars, weighted_delay_days = EXCLUDED.weighted_delay_days, \
                           on_time_share = EXCLUDED.on_time_share, rated_amount = EXCLUDED.rated_amount, documents = EXCLUDED.documents, \
                           window_from = EXCLUDED.window_from, as_of = EXCLUDED.as_of, computed_at = EXCLUDED.computed_at";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.counterparty_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.stars).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.weighted_delay_days.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.on_time_share.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.rated_amount).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.documents).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.window_from).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.as_of).collect::<Vec<_>>())
                    .bind(now)
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO payer_ratings (tenant_id, counterparty_id, stars, weighted_delay_days, on_time_share, rated_amount, documents, window_from, as_of, computed_at) \
                     VALUES {} ON CONFLICT (tenant_id, counterparty_id) DO UPDATE SET stars = excluded.stars, weighted_delay_days = excluded.weighted_delay_days, \
                     on_time_share = excluded.on_time_share, rated_amount = excluded.rated_amount, documents = excluded.documents, \
                     window_from = excluded.window_from, as_of = excluded.as_of, computed_at = excluded.computed_at",
                    values_list(Engine::Sqlite, chunk.len(), 10)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(tenant).bind(r.counterparty_id).bind(r.stars).bind(&r.weighted_delay_days).bind(&r.on_time_share).bind(r.rated_amount)
                        .bind(r.documents).bind(r.window_from).bind(r.as_of).bind(now);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

/// The stored ratings of the given counterparties.
pub async fn ratings_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<HashMap<CounterpartyId, RatingRow>> {
    if cps.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT counterparty_id, stars, weighted_delay_days, on_time_share, rated_amount, documents, window_from, as_of FROM payer_ratings \
         WHERE tenant_id = $1 AND {}",
        in_list(c, "counterparty_id", 2, "uuid")
    );
    type Row = (CounterpartyId, Option<i32>, String, String, i64, i32, NaiveDate, NaiveDate);
    let rows: Vec<Row> = fetch_keyed(c, &sql, tenant, Keys::ids(cps)).await?;
    Ok(rows
        .into_iter()
        .map(|(cp, stars, d, s, amount, docs, from, as_of)| {
            (cp, RatingRow { counterparty_id: cp, stars, weighted_delay_days: d, on_time_share: s, rated_amount: amount, documents: docs, window_from: from, as_of })
        })
        .collect())
}

// ---------------------------------------------------------------------------------
// Settings and key rates

pub async fn settings(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Settings> {
    // `sync_daily_at` is the sync's job schedule (`jobs::service::schedule`), not stored here.
    let sql = "SELECT aging_buckets, sync_page_size, rating_window_days, claim_deadline_days, claim_deadline_mode, accounting_module \
               FROM receivables_settings WHERE tenant_id = $1";
    let found = on_conn!(c, c => sqlx::query_as::<_, Settings>(sql).bind(tenant).fetch_optional(c).await)?;
    Ok(found.unwrap_or_default())
}

pub async fn save_settings(c: &mut Conn<'_>, tenant: TenantId, s: &Settings) -> sqlx::Result<()> {
    let sql = "INSERT INTO receivables_settings (tenant_id, aging_buckets, sync_page_size, rating_window_days, claim_deadline_days, accounting_module, updated_at, \
               claim_deadline_mode) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id) DO UPDATE SET aging_buckets = EXCLUDED.aging_buckets, \
               sync_page_size = EXCLUDED.sync_page_size, rating_window_days = EXCLUDED.rating_window_days, \
               claim_deadline_days = EXCLUDED.claim_deadline_days, accounting_module = EXCLUDED.accounting_module, updated_at = EXCLUDED.updated_at, \
               claim_deadline_mode = EXCLUDED.claim_deadline_mode";
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(&s.aging_buckets).bind(s.sync_page_size).bind(s.rating_window_days).bind(s.claim_deadline_days)
        .bind(&s.accounting_module).bind(Utc::now()).bind(s.claim_deadline_mode)
        .execute(c).await.map(|_| ()))
}

/// A key-rate decision as stored, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRateRow {
    pub effective_from: NaiveDate,
    /// Percent per annum, as stored.
    pub rate: String,
    /// Added by the tenant's admin (it applies to that tenant only), not the operator.
    pub tenant_own: bool,
}

/// The operator's key-rate table (shared by all tenants): `(effective from, percent per annum)`.
pub async fn key_rates(c: &mut Conn<'_>) -> sqlx::Result<Vec<(NaiveDate, String)>> {
    on_conn!(c, c => sqlx::query_as("SELECT effective_from, rate FROM key_rates ORDER BY effective_from").fetch_all(c).await)
}

/// The key-rate table a tenant's penalties use: the operator's table with the tenant's
/// own decisions on top (a tenant's decision replaces the operator's of the same day).
pub async fn key_rates_of(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<KeyRateRow>> {
    let own: Vec<(NaiveDate, String)> =
        on_conn!(c, c => sqlx::query_as("SELECT effective_from, rate FROM tenant_key_rates WHERE tenant_id = $1").bind(tenant).fetch_all(c).await)?;
    let mut all: std::collections::BTreeMap<NaiveDate, KeyRateRow> = key_rates(c)
        .await?
        .into_iter()
        .map(|(effective_from, rate)| (effective_from, KeyRateRow { effective_from, rate, tenant_own: false }))
        .collect();
    for (effective_from, rate) in own {
        all.insert(effective_from, KeyRateRow { effective_from, rate, tenant_own: true });
    }
    Ok(all.into_values().collect())
}

/// Adds (or corrects) a decision in the operator's table and records that the table is
/// current through `current_through` (the operator vouches for it by adding the rate).
pub async fn set_key_rate(c: &mut Conn<'_>, from: NaiveDate, rate: &str, current_through: NaiveDate, by: &str) -> sqlx::Result<()> {
    let sql = "INSERT INTO key_rates (effective_from, rate) VALUES ($1, $2) ON CONFLICT (effective_from) DO UPDATE SET rate = EXCLUDED.rate";
    on_conn!(c, c => sqlx::query(sql).bind(from).bind(rate).execute(c).await.map(|_| ()))?;
    confirm_key_rates(c, current_through, by).await
}

/// Records that the operator's table is current through `through`.
pub async fn confirm_key_rates(c: &mut Conn<'_>, through: NaiveDate, by: &str) -> sqlx::Result<()> {
    let sql = "INSERT INTO key_rates_status (id, current_through, confirmed_at, confirmed_by) VALUES (1, $1, $2, $3) \
               ON CONFLICT (id) DO UPDATE SET current_through = EXCLUDED.current_through, confirmed_at = EXCLUDED.confirmed_at, \
               confirmed_by = EXCLUDED.confirmed_by";
    on_conn!(c, c => sqlx::query(sql).bind(through).bind(Utc::now()).bind(by).execute(c).await.map(|_| ()))
}

/// The day through which the operator's table is known to be current, when and by whom
/// that was said.
pub async fn key_rates_status(c: &mut Conn<'_>) -> sqlx::Result<Option<(NaiveDate, DateTime<Utc>, String)>> {
    on_conn!(c, c => sqlx::query_as("SELECT current_through, confirmed_at, confirmed_by FROM key_rates_status WHERE id = 1").fetch_optional(c).await)
}

/// The tenant's own confirmation: `(current through, confirmed at, by)`.
pub async fn tenant_key_rates_status(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Option<(NaiveDate, DateTime<Utc>, UserId)>> {
    on_conn!(c, c => sqlx::query_as("SELECT current_through, confirmed_at, confirmed_by FROM key_rate_confirmations WHERE tenant_id = $1")
        .bind(tenant).fetch_optional(c).await)
}

/// Adds (or corrects) one of the tenant's own decisions.
pub async fn set_tenant_key_rate(c: &mut Conn<'_>, tenant: TenantId, from: NaiveDate, rate: &str, by: UserId) -> sqlx::Result<()> {
    let sql = "INSERT INTO tenant_key_rates (tenant_id, effective_from, rate, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (tenant_id, effective_from) DO UPDATE SET rate = EXCLUDED.rate, created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(from).bind(rate).bind(by).bind(Utc::now()).execute(c).await.map(|_| ()))
}

/// Records the tenant's confirmation that the table is current through `through`.
pub async fn confirm_tenant_key_rates(c: &mut Conn<'_>, tenant: TenantId, through: NaiveDate, by: UserId) -> sqlx::Result<()> {
    let sql = "INSERT INTO key_rate_confirmations (tenant_id, current_through, confirmed_at, confirmed_by) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (tenant_id) DO UPDATE SET current_through = EXCLUDED.current_through, confirmed_at = EXCLUDED.confirmed_at, \
               confirmed_by = EXCLUDED.confirmed_by";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(through).bind(Utc::now()).bind(by).execute(c).await.map(|_| ()))
}

// ---------------------------------------------------------------------------------
// What each document owed, day by day

/// The sentinel `valid_to` of a span still owed.
pub const OPEN_END: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// A stretch of days over which a document owed the same amount.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SpanRow {
    pub document_id: SalesDocumentId,
    pub valid_from: NaiveDate,
    /// Last day, inclusive; [`OPEN_END`] while still owed.
    pub valid_to: NaiveDate,
    pub counterparty_id: CounterpartyId,
    pub due_on: NaiveDate,
    pub open_amount: i64,
    pub legal_entity_ref: Option<String>,
}

const SPAN_COLS: &str = "document_id, valid_from, valid_to, counterparty_id, due_on, open_amount, legal_entity_ref";

/// The stored spans of the given clients' documents, by document, in date order.
pub async fn spans_of(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId]) -> sqlx::Result<HashMap<SalesDocumentId, Vec<SpanRow>>> {
    let mut out: HashMap<SalesDocumentId, Vec<SpanRow>> = HashMap::new();
    if cps.is_empty() {
        return Ok(out);
    }
    let sql = format!("SELECT {SPAN_COLS} FROM open_spans WHERE tenant_id = $1 AND {}", in_list(c, "counterparty_id", 2, "uuid"));
    for r in fetch_keyed::<SpanRow>(c, &sql, tenant, Keys::ids(cps)).await? {
        out.entry(r.document_id).or_default().push(r);
    }
    for spans in out.values_mut() {
        spans.sort_by_key(|r| r.valid_from);
    }
    Ok(out)
}

/// What the given clients' documents owed at the end of `day`.
pub async fn spans_at(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId], day: NaiveDate) -> sqlx::Result<Vec<SpanRow>> {
    if cps.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {SPAN_COLS} FROM open_spans WHERE tenant_id = $1 AND {} AND valid_to >= $3 AND valid_from <= $3",
        in_list(c, "counterparty_id", 2, "uuid")
    );
    match c {
        Conn::Postgres(c) => {
            sqlx::query_as(&sql).persistent(false).bind(tenant).bind(cps.iter().map(|i| i.0).collect::<Vec<_>>()).bind(day).fetch_all(&mut **c).await
        }
        Conn::Sqlite(c) => sqlx::query_as(&sql).bind(tenant).bind(Keys::ids(cps).json()).bind(day).fetch_all(&mut **c).await,
    }
}

/// Removes every span of the given documents stored under the given clients.
pub async fn delete_spans(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId], docs: &[SalesDocumentId]) -> sqlx::Result<()> {
    for chunk in docs.chunks(BATCH) {
        let sql = format!(
            "DELETE FROM open_spans WHERE tenant_id = $1 AND {} AND {}",
            in_list(c, "document_id", 2, "uuid"),
            in_list(c, "counterparty_id", 3, "uuid")
        );
        match c {
            Conn::Postgres(c) => {
                sqlx::query(&sql)
                    .persistent(false)
                    .bind(tenant)
                    .bind(chunk.iter().map(|i| i.0).collect::<Vec<_>>())
                    .bind(cps.iter().map(|i| i.0).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                sqlx::query(&sql).bind(tenant).bind(Keys::ids(chunk).json()).bind(Keys::ids(cps).json()).execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

/// Writes spans (of documents whose spans were deleted first, or new ones).
pub async fn insert_spans(c: &mut Conn<'_>, tenant: TenantId, rows: &[SpanRow]) -> sqlx::Result<()> {
    for chunk in rows.chunks(BATCH) {
        match c {
            Conn::Postgres(c) => {
                let sql = "INSERT INTO open_spans (tenant_id, document_id, valid_from, valid_to, counterparty_id, due_on, open_amount, legal_entity_ref) \
                           SELECT $1, u.* FROM UNNEST($2::uuid[], $3::date[], $4::date[], $5::uuid[], $6::date[], $7::int8[], $8::text[]) \
                           AS u(document_id, valid_from, valid_to, counterparty_id, due_on, open_amount, legal_entity_ref)";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(chunk.iter().map(|r| r.document_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.valid_from).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.valid_to).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.counterparty_id.0).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.due_on).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.open_amount).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.legal_entity_ref.clone()).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO open_spans (tenant_id, document_id, valid_from, valid_to, counterparty_id, due_on, open_amount, legal_entity_ref) VALUES {}",
                    values_list(Engine::Sqlite, chunk.len(), 8)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q.bind(tenant).bind(r.document_id).bind(r.valid_from).bind(r.valid_to).bind(r.counterparty_id).bind(r.due_on).bind(r.open_amount).bind(&r.legal_entity_ref);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}
