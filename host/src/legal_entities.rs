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
    /// The head's post, e.g. «Генеральный директор»: claim letters sign with it.
    pub head_post: Option<String>,
    /// The head's name, e.g. «Петров Петр Петрович» (letters print «Петров П. П.»).
    pub head_name: Option<String>,
    /// A representative who signs by power of attorney, when there is one: their post
    /// (default «Представитель»), name, and the power of attorney («доверенности № 5 от
    /// 01.01.2025»). Claim letters sign with them when set.
    pub signatory_post: Option<String>,
    pub signatory_name: Option<String>,
    pub signatory_authority: Option<String>,
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
    /// The head's post, e.g. «Генеральный директор».
    #[schema(example = "Генеральный директор")]
    pub head_post: Option<String>,
    /// The head's full name.
    #[schema(example = "Петров Петр Петрович")]
    pub head_name: Option<String>,
    /// The post of a representative who signs by power of attorney (default «Представитель»).
    pub signatory_post: Option<String>,
    /// The representative's full name; claim letters sign with them when set.
    #[schema(example = "Сидоров Сергей Сергеевич")]
    pub signatory_name: Option<String>,
    /// The power of attorney, as it reads after «по»: «доверенности № 5 от 01.01.2025».
    #[schema(example = "доверенности № 5 от 01.01.2025")]
    pub signatory_authority: Option<String>,
}

impl LegalEntityInput {
    pub fn validate(&mut self) -> Result<(), Invalid> {
        for f in [
            &mut self.short_name, &mut self.kpp, &mut self.ogrn, &mut self.legal_address, &mut self.bank_name, &mut self.bank_bic, &mut self.bank_account,
            &mut self.bank_corr_account, &mut self.accounting_ref, &mut self.head_post, &mut self.head_name, &mut self.signatory_post,
            &mut self.signatory_name, &mut self.signatory_authority,
        ] {
            if f.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *f = None;
            }
            if let Some(v) = f {
                *v = v.trim().to_string();
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
                v.add("ogrn", e);
            }
        validate_bank(&mut v, &self.bank_bic, &self.bank_account, &self.bank_corr_account);
        for (field, value) in [
            ("head_post", &self.head_post), ("head_name", &self.head_name), ("signatory_post", &self.signatory_post),
            ("signatory_name", &self.signatory_name), ("signatory_authority", &self.signatory_authority),
        ] {
            v.check(value.as_ref().is_none_or(|s| s.chars().count() <= 300), field, "must be at most 300 characters");
        }
        v.check(
            self.signatory_authority.is_none() || self.signatory_name.is_some(),
            "signatory_name",
            "a power of attorney needs the name of the representative it is given to",
        );
        v.check(
            self.signatory_name.is_none() || self.signatory_authority.is_some(),
            "signatory_authority",
            "say which power of attorney the representative signs by, e.g. \"доверенности № 5 от 01.01.2025\"",
        );
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
            head_post: e.head_post.clone(),
            head_name: e.head_name.clone(),
            signatory_post: e.signatory_post.clone(),
            signatory_name: e.signatory_name.clone(),
            signatory_authority: e.signatory_authority.clone(),
        }
    }
}

const COLS: &str = "id, full_name, short_name, inn, kpp, ogrn, legal_address, bank_name, bank_bic, bank_account, bank_corr_account, accounting_ref, \
    head_post, head_name, signatory_post, signatory_name, signatory_authority, created_at, updated_at, archived_at";

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, i: &LegalEntityInput) -> sqlx::Result<LegalEntity> {
    let sql = format!(
        "INSERT INTO our_legal_entities (tenant_id, id, full_name, short_name, inn, kpp, ogrn, legal_address, bank_name, bank_bic, bank_account, \
         bank_corr_account, created_at, updated_at, accounting_ref, head_post, head_name, signatory_post, signatory_name, signatory_authority) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18, $19) RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, LegalEntity>(&sql)
        .bind(tenant).bind(LegalEntityId::new()).bind(&i.full_name).bind(&i.short_name).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn)
        .bind(&i.legal_address).bind(&i.bank_name).bind(&i.bank_bic).bind(&i.bank_account).bind(&i.bank_corr_account).bind(Utc::now())
        .bind(&i.accounting_ref).bind(&i.head_post).bind(&i.head_name).bind(&i.signatory_post).bind(&i.signatory_name).bind(&i.signatory_authority)
        .fetch_one(c).await)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: LegalEntityId, i: &LegalEntityInput) -> sqlx::Result<LegalEntity> {
    let sql = format!(
        "UPDATE our_legal_entities SET full_name = $3, short_name = $4, inn = $5, kpp = $6, ogrn = $7, legal_address = $8, bank_name = $9, \
         bank_bic = $10, bank_account = $11, bank_corr_account = $12, updated_at = $13, accounting_ref = $14, head_post = $15, head_name = $16, \
         signatory_post = $17, signatory_name = $18, signatory_authority = $19 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}"
    );
    on_conn!(c, c => sqlx::query_as::<_, LegalEntity>(&sql)
        .bind(tenant).bind(id).bind(&i.full_name).bind(&i.short_name).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn)
        .bind(&i.legal_address).bind(&i.bank_name).bind(&i.bank_bic).bind(&i.bank_account).bind(&i.bank_corr_account).bind(Utc::now())
        .bind(&i.accounting_ref).bind(&i.head_post).bind(&i.head_name).bind(&i.signatory_post).bind(&i.signatory_name).bind(&i.signatory_authority)
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
