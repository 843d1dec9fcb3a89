//! Our legal entities: the tenant's own companies (the creditor on contracts, the
//! sender of claim letters), with requisites checked like counterparties'.

pub mod routes;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::counterparties::model::validate_bank;
use crate::counterparties::requisites;
use crate::db::{Conn, on_conn};
use crate::id_type;
use crate::tenancy::TenantId;

id_type!(
    /// One of the tenant's own legal entities.
    LegalEntityId
);

/// One of the tenant's own companies.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct LegalEntity {
    pub id: LegalEntityId,
    pub full_name: String,
    pub short_name: Option<String>,
    pub inn: String,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub legal_address: Option<String>,
    pub bank_name: Option<String>,
    pub bank_bic: Option<String>,
    pub bank_account: Option<String>,
    pub bank_corr_account: Option<String>,
    /// Its id in the accounting system (1C: the `Организация` reference), which links
    /// synced sales documents to it.
    pub accounting_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A legal entity as sent to create it, or as a PATCH merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalEntityInput {
    #[schema(example = "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ФАКТОР ПЛЮС\"")]
    pub full_name: String,
    pub short_name: Option<String>,
    #[schema(example = "7707083893")]
    pub inn: String,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub legal_address: Option<String>,
    pub bank_name: Option<String>,
    pub bank_bic: Option<String>,
    pub bank_account: Option<String>,
    pub bank_corr_account: Option<String>,
    /// Its id in the accounting system (1C: the `Организация` reference, a GUID).
    #[schema(example = "6d1e2a4c-0f3b-11ef-8c21-005056a1b2c3")]
    pub accounting_ref: Option<String>,
}

impl LegalEntityInput {
    pub fn validate(&mut self) -> Result<(), Invalid> {
        for f in [&mut self.short_name, &mut self.kpp, &mut self.ogrn, &mut self.legal_address, &mut self.bank_name, &mut self.bank_bic, &mut self.bank_account, &mut self.bank_corr_account, &mut self.accounting_ref] {
            if f.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *f = None;
            }
        }
        self.full_name = self.full_name.trim().to_string();
        self.inn = self.inn.trim().to_string();
        let mut v = Violations::new();
        v.check(!self.full_name.is_empty(), "full_name", "must not be empty");
        if let Err(e) = requisites::check_inn(&self.inn) {
            v.add("inn", format!("ИНН {e}"));
        }
        if let Some(k) = &self.kpp
            && let Err(e) = requisites::check_kpp(k) {
                v.add("kpp", format!("КПП {e}"));
            }
        if let Some(o) = &self.ogrn
            && let Err(e) = requisites::check_ogrn(o) {
                v.add("ogrn", format!("ОГРН {e}"));
            }
        validate_bank(&mut v, &self.bank_bic, &self.bank_account, &self.bank_corr_account);
        v.finish()
    }
}

impl From<&LegalEntity> for LegalEntityInput {
    fn from(e: &LegalEntity) -> Self {
        LegalEntityInput {
            full_name: e.full_name.clone(),
            short_name: e.short_name.clone(),
            inn: e.inn.clone(),
            kpp: e.kpp.clone(),
            ogrn: e.ogrn.clone(),
            legal_address: e.legal_address.clone(),
            bank_name: e.bank_name.clone(),
            bank_bic: e.bank_bic.clone(),
            bank_account: e.bank_account.clone(),
            bank_corr_account: e.bank_corr_account.clone(),
            accounting_ref: e.accounting_ref.clone(),
        }
    }
}

const COLS: &str = "id, full_name, short_name, inn, kpp, ogrn, legal_address, bank_name, bank_bic, bank_account, bank_corr_account, accounting_ref, created_at, updated_at, archived_at";

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, i: &LegalEntityInput) -> sqlx::Result<LegalEntity> {
    let sql = format!(
        "INSERT INTO our_legal_entities (tenant_id, id, full_name, short_name, inn, kpp, ogrn, legal_address, bank_name, bank_bic, bank_account, \
         bank_corr_account, created_at, updated_at, accounting_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, LegalEntity>(&sql)
        .bind(tenant).bind(LegalEntityId::new()).bind(&i.full_name).bind(&i.short_name).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn)
        .bind(&i.legal_address).bind(&i.bank_name).bind(&i.bank_bic).bind(&i.bank_account).bind(&i.bank_corr_account).bind(Utc::now())
        .bind(&i.accounting_ref)
        .fetch_one(c).await)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: LegalEntityId, i: &LegalEntityInput) -> sqlx::Result<LegalEntity> {
    let sql = format!(
        "UPDATE our_legal_entities SET full_name = $3, short_name = $4, inn = $5, kpp = $6, ogrn = $7, legal_address = $8, bank_name = $9, \
         bank_bic = $10, bank_account = $11, bank_corr_account = $12, updated_at = $13, accounting_ref = $14 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, LegalEntity>(&sql)
        .bind(tenant).bind(id).bind(&i.full_name).bind(&i.short_name).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn)
        .bind(&i.legal_address).bind(&i.bank_name).bind(&i.bank_bic).bind(&i.bank_account).bind(&i.bank_corr_account).bind(Utc::now())
        .bind(&i.accounting_ref)
        .fetch_one(c).await)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: LegalEntityId, at: Option<DateTime<Utc>>) -> sqlx::Result<LegalEntity> {
    let sql = format!("UPDATE our_legal_entities SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}");
    on_conn!(c, c => sqlx::query_as::<_, LegalEntity>(&sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).fetch_one(c).await)
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: LegalEntityId) -> sqlx::Result<Option<LegalEntity>> {
    let sql = format!("SELECT {COLS} FROM our_legal_entities WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, LegalEntity>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, include_archived: bool) -> sqlx::Result<Vec<LegalEntity>> {
    let sql = format!("SELECT {COLS} FROM our_legal_entities WHERE tenant_id = $1 AND ($2 OR archived_at IS NULL) ORDER BY id LIMIT 1000");
    on_conn!(c, c => sqlx::query_as::<_, LegalEntity>(&sql).bind(tenant).bind(include_archived).fetch_all(c).await)
}
