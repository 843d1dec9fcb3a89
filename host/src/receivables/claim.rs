//! Penalties on a client's overdue documents, per each document's contract, and the
//! claim letter (претензия) built from them.
//!
//! The world is taken as it stood at the end of `as_of` (documents issued by then,
//! payments made by then, allocated as they stood: `Ledger::at`). Each document that was
//! overdue by then — still owed past its due date, or paid after it — is charged by its
//! contract's terms: a contractual %/day (optionally capped at a percent of the document),
//! interest under art. 395 of the Civil Code (also what applies without a contract or
//! terms), 1/300 of the key rate, or nothing; from the day after its due date to `as_of`,
//! with every payment applied to it lowering the base from the next day (so a document
//! paid late in full keeps the penalty it earned until the day it was paid). Key rates come
//! from the tenant's key-rate table; a calculation that runs past the day the table is
//! known to be current through carries a warning.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::error::{ApiError, ApiResult};
use crate::money::Money;

use super::key_rates::KeyRates;
use super::ledger::Ledger;
use super::model::{Contract, ContractId, DeadlineMode, PenaltyKind, SalesDocumentId};
use super::penalties::{self, Overdue, PenaltyCap};

/// One period of a penalty.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    pub base: Money,
    /// Percent per day (contractual) or the key rate, percent per annum.
    #[schema(value_type = String)]
    pub rate: Decimal,
    pub amount: Money,
}

/// The penalty on one document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentPenalty {
    pub sales_document_id: SalesDocumentId,
    pub number: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub amount: Money,
    /// The primary document a court expects (`УПД`, `ТОРГ-12`, `Акт`…), when the
    /// accounting system says.
    pub primary_document: Option<String>,
    /// Paid by `as_of`.
    pub paid: Money,
    /// Still owed at the end of `as_of` (zero: paid in full, late).
    pub open: Money,
    /// The day it was paid off, when it was by `as_of`.
    pub paid_off_on: Option<NaiveDate>,
    /// Days overdue on `as_of`, or until it was paid off.
    pub days_overdue: i64,
    pub contract_id: Option<ContractId>,
    /// «Договор № Д-1 от 10.01.2024».
    pub contract: Option<String>,
    pub kind: PenaltyKind,
    /// The basis in words (Russian), for the letter.
    pub basis: String,
    pub periods: Vec<PeriodView>,
    pub uncapped_total: Money,
    pub total: Money,
    /// Why the total is below the sum of the periods, if it is.
    pub cap_note: Option<String>,
    /// The cap is reached: the penalty grows no more.
    pub cap_reached: bool,
}

/// Penalties on all of a client's documents that were overdue by `as_of`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PenaltyReport {
    pub as_of: NaiveDate,
    /// Documents still owed past their due date, and those paid after it (their penalty
    /// stays due after the principal is paid).
    pub documents: Vec<DocumentPenalty>,
    /// What is still owed on them.
    pub principal_total: Money,
    pub penalty_total: Money,
    pub total: Money,
    /// The day through which the key-rate table is known to be current.
    pub key_rates_current_through: Option<NaiveDate>,
    /// Warnings (Russian) for whoever signs what this is used for: a key-rate calculation
    /// that runs past `key_rates_current_through`.
    pub warnings: Vec<String>,
}

/// «Договор № Д-1 от 10.01.2024».
pub fn contract_label(c: &Contract) -> String {
    let mut s = "Договор".to_string();
    if let Some(n) = &c.number {
        s.push_str(&format!(" № {n}"));
    }
    if let Some(d) = c.signed_on {
        s.push_str(&format!(" от {}", d.format("%d.%m.%Y")));
    }
    s
}

fn percent(d: Decimal) -> String {
    d.normalize().to_string().replace('.', ",")
}

/// The key-rate table a tenant's penalties use and how current it is known to be.
#[derive(Debug, Clone)]
pub struct TenantRates {
    pub rates: KeyRates,
    /// The decisions, with whose each is.
    pub rows: Vec<super::store::KeyRateRow>,
    /// The later of the operator's and the tenant's confirmations.
    pub current_through: Option<NaiveDate>,
}

/// Loads the tenant's key-rate table (the operator's with the tenant's own decisions).
pub async fn tenant_rates(c: &mut crate::db::Conn<'_>, tenant: crate::tenancy::TenantId) -> ApiResult<TenantRates> {
    let rows = super::store::key_rates_of(c, tenant).await?;
    let pairs: Vec<(NaiveDate, String)> = rows.iter().map(|r| (r.effective_from, r.rate.clone())).collect();
    let rates = key_rates_from(&pairs)?;
    let global = super::store::key_rates_status(c).await?.map(|s| s.0);
    let own = super::store::tenant_key_rates_status(c, tenant).await?.map(|s| s.0);
    Ok(TenantRates { rates, rows, current_through: global.max(own) })
}

/// The warning for a key-rate calculation that runs to `to`, past the day the table is
/// known to be current through.
pub fn stale_rate_warning(current_through: Option<NaiveDate>, to: NaiveDate) -> Option<String> {
    let through = current_through?;
    (to > through).then(|| {
        format!(
            "таблица ключевых ставок Банка России подтверждена по {}, а расчет доведен до {}; если ставка менялась после {}, \
             расчет неверен — обновите таблицу ставок (crm admin set-key-rate или POST /api/v1/key-rates) или подтвердите, что она актуальна",
            crate::templates::format::date_short(through),
            crate::templates::format::date_short(to),
            crate::templates::format::date_short(through)
        )
    })
}

/// The penalties on the documents of `ledger` overdue by the end of `as_of` (only those in
/// `only`, when given): still owed past their due date, or paid after it.
pub fn penalties(ledger: &Ledger, contracts: &HashMap<ContractId, Contract>, rates: &TenantRates, as_of: NaiveDate, only: Option<&[SalesDocumentId]>) -> ApiResult<PenaltyReport> {
    let at = ledger.at(as_of);
    let mut documents = Vec::new();
    let mut key_rate_until: Option<NaiveDate> = None;
    for i in 0..ledger.docs.len() {
        let Some((open, paid_off_on)) = at.balance(i) else { continue };
        let d = &ledger.docs[i];
        if d.due_on >= as_of || only.is_some_and(|o| !o.contains(&d.id)) {
            continue;
        }
        let applied = at.applied_to(i);
        // Paid on time (or before): nothing to claim.
        if open == Money::ZERO && !applied.iter().any(|a| a.on > d.due_on) {
            continue;
        }
        let contract = d.contract_id.and_then(|id| contracts.get(&id));
        let payments: Vec<(NaiveDate, Money)> = applied.iter().map(|a| (a.on, a.amount)).collect();
        let paid = applied.iter().fold(Money::ZERO, |acc, a| acc.checked_add(a.amount).unwrap_or(acc));
        let debt = Overdue { principal: d.amount, due: d.due_on, until: as_of, payments: &payments };
        let kind = contract.map_or(PenaltyKind::Art395, |c| c.penalty_kind);
        let label = contract.map(contract_label);
        let on = |what: &str| label.as_ref().map_or(String::new(), |l| format!(" ({what}{l})", what = what));
        let mut cap_reached = false;
        let (result, basis, cap_note) = match kind {
            PenaltyKind::None => (None, "неустойка договором не предусмотрена".to_string(), None),
            PenaltyKind::Contractual => {
                let c = contract.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("contractual penalty without a contract")))?;
                let rate: Decimal = c.penalty_rate.as_deref().and_then(|r| r.parse().ok()).ok_or_else(|| {
                    ApiError::field("penalty_rate", format!("{} has a contractual penalty without a valid rate; set it with PATCH /api/v1/contracts/{}", contract_label(c), c.id))
                })?;
                let cap_pct: Option<Decimal> = c.penalty_cap_percent.as_deref().and_then(|r| r.parse().ok());
                let cap = cap_pct.map(|p| PenaltyCap { fraction: p / Decimal::ONE_HUNDRED, of: d.amount });
                let p = penalties::contractual(&debt, rate, cap).map_err(penalty_error)?;
                cap_reached = cap.and_then(cap_amount).is_some_and(|limit| p.uncapped_total >= limit);
                let note = (p.total < p.uncapped_total)
                    .then(|| format!("не более {} % от суммы документа ({})", percent(cap_pct.unwrap_or_default()), crate::templates::format::rubles(p.total)));
                (Some(p), format!("неустойка {} % за каждый день просрочки{}", percent(rate), on("")), note)
            }
            PenaltyKind::Art395 => {
                let p = penalties::art_395(&debt, &rates.rates).map_err(penalty_error)?;
                (Some(p), format!("проценты за пользование чужими денежными средствами по ст. 395 ГК РФ{}", on("")), None)
            }
            PenaltyKind::KeyRate1300 => {
                let p = penalties::key_rate_1_300(&debt, &rates.rates).map_err(penalty_error)?;
                (Some(p), format!("пени в размере 1/300 ключевой ставки Банка России за каждый день просрочки{}", on("")), None)
            }
        };
        let (periods, uncapped_total, total) = match result {
            Some(p) => (
                p.periods.iter().map(|x| PeriodView { from: x.from, to: x.to, days: x.days, base: x.base, rate: x.rate, amount: x.amount }).collect::<Vec<_>>(),
                p.uncapped_total,
                p.total,
            ),
            None => (Vec::new(), Money::ZERO, Money::ZERO),
        };
        if matches!(kind, PenaltyKind::Art395 | PenaltyKind::KeyRate1300)
            && let Some(last) = periods.last()
        {
            key_rate_until = Some(key_rate_until.map_or(last.to, |u| u.max(last.to)));
        }
        documents.push(DocumentPenalty {
            sales_document_id: d.id,
            number: d.number.clone(),
            issued_on: d.issued_on,
            due_on: d.due_on,
            amount: d.amount,
            primary_document: d.primary_document.clone(),
            paid,
            open,
            paid_off_on,
            days_overdue: (paid_off_on.unwrap_or(as_of).min(as_of) - d.due_on).num_days().max(0),
            contract_id: contract.map(|c| c.id),
            contract: label,
            kind,
            basis,
            periods,
            uncapped_total,
            total,
            cap_note,
            cap_reached,
        });
    }
    documents.sort_by(|a, b| (a.due_on, &a.number).cmp(&(b.due_on, &b.number)));
    let sum = |f: fn(&DocumentPenalty) -> Money| documents.iter().fold(Money::ZERO, |acc, d| acc.checked_add(f(d)).unwrap_or(acc));
    let principal_total = sum(|d| d.open);
    let penalty_total = sum(|d| d.total);
    let warnings = key_rate_until.and_then(|to| stale_rate_warning(rates.current_through, to)).into_iter().map(|w| capitalise(&w)).collect();
    Ok(PenaltyReport {
        as_of,
        principal_total,
        penalty_total,
        total: principal_total.checked_add(penalty_total).unwrap_or(principal_total),
        documents,
        key_rates_current_through: rates.current_through,
        warnings,
    })
}

/// The amount a cap allows.
fn cap_amount(cap: PenaltyCap) -> Option<Money> {
    let limit = cap.of.to_decimal().checked_mul(cap.fraction)?;
    Money::from_decimal(limit.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)).ok()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn penalty_error(e: penalties::PenaltyError) -> ApiError {
    match e {
        penalties::PenaltyError::NoKeyRate(d) => ApiError::Conflict {
            detail: format!("No Bank of Russia key rate is known for {d}; the operator adds it with `crm admin set-key-rate` (or an admin with POST /api/v1/key-rates)."),
            field: None,
        },
        other => ApiError::Internal(anyhow::anyhow!("penalty calculation: {other}")),
    }
}

/// The key-rate table from the database.
pub fn key_rates_from(rows: &[(NaiveDate, String)]) -> ApiResult<KeyRates> {
    let entries: Vec<(NaiveDate, Decimal)> = rows
        .iter()
        .map(|(d, r)| r.parse::<Decimal>().map(|r| (*d, r)).map_err(|_| ApiError::Internal(anyhow::anyhow!("key rate {r} of {d} is not a number"))))
        .collect::<ApiResult<_>>()?;
    KeyRates::new(&entries).map_err(|e| ApiError::Internal(anyhow::anyhow!("key-rate table: {e}")))
}

/// How a claim cites a document: by the primary document a court expects when the
/// accounting system says which it is (УПД, ТОРГ-12, акт), else by the accounting
/// system's own name for it.
pub fn cite(primary_document: Option<&str>, number: &str, issued_on: NaiveDate) -> String {
    let date = crate::templates::format::date_short(issued_on);
    let kind = match primary_document.map(str::trim).filter(|s| !s.is_empty()) {
        None => "Реализация товаров и услуг".to_string(),
        Some(p) => match p.to_lowercase().as_str() {
            "упд" => "УПД".to_string(),
            "торг-12" | "торг12" => "Товарная накладная (ТОРГ-12)".to_string(),
            "акт" => "Акт".to_string(),
            _ => p.to_string(),
        },
    };
    format!("{kind} № {number} от {date}")
}

/// A claim letter with what is needed to store it.
pub struct Letter {
    pub letter: super::claim_letter::ClaimLetter,
    pub counterparty: crate::counterparties::model::Counterparty,
    pub creditor_id: crate::legal_entities::LegalEntityId,
}

/// Builds the claim letter for a client's debts overdue by `as_of`: the creditor is our
/// legal entity the documents were sold by (`legal_entity_id` picks one when there are
/// several, or when the documents name none and the tenant has several). A letter may
/// claim penalties alone, for documents paid late in full.
pub async fn letter(
    state: &crate::AppState,
    caller: &crate::tenancy::Caller,
    id: crate::counterparties::CounterpartyId,
    as_of: NaiveDate,
    p: &super::routes::ClaimParams,
) -> ApiResult<Letter> {
    use super::claim_letter::{self as cl, ClaimLetter, DebtLine, Party, PenaltyBlock, PenaltyRow, names};

    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let cp = crate::counterparties::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    let settings = super::store::settings(&mut c, caller.tenant_id).await?;
    let (ledger, contracts) = super::ledger::load(&mut c, caller.tenant_id, id).await?;
    let rates = tenant_rates(&mut c, caller.tenant_id).await?;
    let entities = crate::legal_entities::list(&mut c, caller.tenant_id, false).await?;
    drop(conn);

    // Which of our legal entities claims, and which documents are theirs.
    let by_ref: HashMap<&str, &crate::legal_entities::LegalEntity> = entities.iter().filter_map(|e| e.accounting_ref.as_deref().map(|r| (r, e))).collect();
    let creditor = match p.legal_entity_id {
        Some(le) => entities.iter().find(|e| e.id == le).ok_or_else(|| ApiError::field("legal_entity_id", "no such legal entity in your tenant"))?,
        None => {
            let claimed = penalties(&ledger, &contracts, &rates, as_of, None)?;
            let mut owners: Vec<&crate::legal_entities::LegalEntity> = Vec::new();
            for doc in &claimed.documents {
                let Some(d) = ledger.docs.iter().find(|d| d.id == doc.sales_document_id) else { continue };
                if doc.open == Money::ZERO && doc.total == Money::ZERO {
                    continue;
                }
                if let Some(e) = d.legal_entity_ref.as_deref().and_then(|r| by_ref.get(r))
                    && !owners.iter().any(|o| o.id == e.id)
                {
                    owners.push(e);
                }
            }
            match (owners.as_slice(), entities.as_slice()) {
                ([one], _) => *one,
                ([], [only]) => only,
                ([], []) => return Err(ApiError::Conflict {
                    detail: "The letter needs our legal entity as the creditor: add it with POST /api/v1/legal-entities (and its 1C id as accounting_ref).".into(),
                    field: None,
                }),
                _ => return Err(ApiError::field("legal_entity_id", "the client owes to several of our legal entities (or the documents name none): choose which one claims")),
            }
        }
    };
    // A creditor's documents: those naming it, plus those naming none when it is our only entity.
    let ours: Vec<SalesDocumentId> = ledger
        .docs
        .iter()
        .filter(|d| match d.legal_entity_ref.as_deref() {
            Some(r) => by_ref.get(r).is_some_and(|e| e.id == creditor.id),
            None => entities.len() == 1,
        })
        .map(|d| d.id)
        .collect();
    let mut report = penalties(&ledger, &contracts, &rates, as_of, Some(&ours))?;
    // A document paid late whose contract claims no penalty gives the letter nothing.
    report.documents.retain(|d| d.open > Money::ZERO || d.total > Money::ZERO);
    let debtor_name = names::short_name(&cp.full_name, cp.short_name.as_deref());
    if report.documents.is_empty() {
        return Err(ApiError::Conflict {
            detail: format!(
                "{debtor_name} owes {} nothing overdue on {} and paid nothing late that bears a penalty: there is nothing to claim.",
                creditor.short_name.as_deref().unwrap_or(&creditor.full_name),
                as_of.format("%d.%m.%Y")
            ),
            field: None,
        });
    }
    let deadline_days = p.deadline_days.unwrap_or(u32::try_from(settings.claim_deadline_days).unwrap_or(30));
    if !(1..=365).contains(&deadline_days) {
        return Err(ApiError::field("deadline_days", "must be between 1 and 365"));
    }
    let deadline_mode = p.deadline_mode.unwrap_or(settings.claim_deadline_mode);
    // By date: counted in calendar days from the letter's date; a day off moves it to the
    // next working day (art. 193 of the Civil Code).
    let pay_by = (deadline_mode == DeadlineMode::ByDate).then(|| super::calendar::due_date(as_of, deadline_days));

    let debts: Vec<DebtLine> = report
        .documents
        .iter()
        .map(|d| DebtLine {
            document: cite(d.primary_document.as_deref(), &d.number, d.issued_on),
            contract: d.contract.clone(),
            issued_on: d.issued_on,
            due_on: d.due_on,
            amount: d.amount,
            paid: d.paid,
            open: d.open,
            days_overdue: d.days_overdue,
        })
        .collect();
    let claimed: Vec<&DocumentPenalty> = report.documents.iter().filter(|d| d.kind != super::model::PenaltyKind::None && d.total > Money::ZERO).collect();
    let blocks: Vec<PenaltyBlock> = claimed
        .iter()
        .map(|d| PenaltyBlock {
            document: cite(d.primary_document.as_deref(), &d.number, d.issued_on),
            kind: match d.kind {
                super::model::PenaltyKind::Contractual => cl::PenaltyKind::Contractual,
                super::model::PenaltyKind::KeyRate1300 => cl::PenaltyKind::KeyRate1300,
                _ => cl::PenaltyKind::Art395,
            },
            basis: d.basis.clone(),
            periods: d.periods.iter().map(|x| PenaltyRow { from: x.from, to: x.to, days: x.days, base: x.base, rate: x.rate, amount: x.amount }).collect(),
            uncapped_total: d.uncapped_total,
            total: d.total,
            cap_note: d.cap_note.clone(),
        })
        .collect();
    // A penalty grows until payment only while principal is owed and no cap is reached.
    let penalties_grow = claimed.iter().any(|d| d.open > Money::ZERO && !d.cap_reached);
    let principal_total = debts.iter().fold(Money::ZERO, |a, d| a.checked_add(d.open).unwrap_or(a));
    let penalty_total = blocks.iter().fold(Money::ZERO, |a, b| a.checked_add(b.total).unwrap_or(a));
    // The letter signs with the representative by power of attorney when there is one
    // (or when asked), else with the head.
    let attorney = creditor.signatory_name.as_deref().filter(|n| !n.trim().is_empty());
    let (signer_post, signer_name) = match (p.signer, attorney) {
        (Some(Signer::Head), _) | (None, None) => (None, None),
        (Some(Signer::Attorney), None) => {
            return Err(ApiError::field(
                "signer",
                "this legal entity has no signatory by power of attorney: set signatory_name and signatory_authority with PATCH /api/v1/legal-entities/{id}",
            ));
        }
        (Some(Signer::Attorney) | None, Some(name)) => {
            let post = creditor.signatory_post.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "Представитель".to_string());
            let post = match creditor.signatory_authority.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(authority) => format!("{post} по {authority}"),
                None => post,
            };
            (Some(post), Some(names::with_initials(name)))
        }
    };
    let creditor_name = names::short_name(&creditor.full_name, creditor.short_name.as_deref());
    let debtor_person = cp.kind != crate::counterparties::model::CounterpartyKind::LegalEntity;
    let key_rate_note = report.warnings.first().cloned();
    let letter = ClaimLetter {
        date: as_of,
        as_of,
        number: p.number.clone().filter(|n| !n.trim().is_empty()),
        creditor: Party {
            name_instrumental: Some(names::instrumental(&creditor_name, false)),
            name: creditor_name,
            inn: Some(creditor.inn.clone()),
            kpp: creditor.kpp.clone(),
            ogrn: creditor.ogrn.clone(),
            address: creditor.legal_address.clone(),
            bank_name: creditor.bank_name.clone(),
            bank_bic: creditor.bank_bic.clone(),
            bank_account: creditor.bank_account.clone(),
            bank_corr_account: creditor.bank_corr_account.clone(),
            head_post: creditor.head_post.clone(),
            head_name: creditor.head_name.as_deref().map(names::with_initials),
        },
        debtor: Party {
            name_instrumental: Some(names::instrumental(&debtor_name, debtor_person)),
            name: debtor_name,
            inn: cp.inn.clone(),
            kpp: cp.kpp.clone(),
            ogrn: cp.ogrn.clone(),
            address: cp.legal_address.clone().or_else(|| cp.postal_address.clone()),
            bank_name: None,
            bank_bic: None,
            bank_account: None,
            bank_corr_account: None,
            head_post: cp.head_post.as_deref().map(sentence_case),
            head_name: cp.head_name.as_deref().map(names::with_initials),
        },
        debts,
        penalties: blocks,
        principal_total,
        penalty_total,
        total: principal_total.checked_add(penalty_total).unwrap_or(principal_total),
        pay_by,
        deadline_days,
        deadline_mode,
        penalties_grow,
        key_rate_note,
        signer_post,
        signer_name,
        seal: false,
    };
    letter.check().map_err(|e| ApiError::Internal(anyhow::anyhow!("the claim letter does not add up: {e}")))?;
    Ok(Letter { letter, counterparty: cp, creditor_id: creditor.id })
}

/// Who signs a claim letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signer {
    /// The legal entity's head (`head_post`, `head_name`).
    Head,
    /// The representative by power of attorney (`signatory_*`).
    Attorney,
}

/// «ГЕНЕРАЛЬНЫЙ ДИРЕКТОР» (as registries write it) → «Генеральный директор».
fn sentence_case(s: &str) -> String {
    if s.chars().any(|c| c.is_lowercase()) {
        return s.to_string();
    }
    capitalise(&s.to_lowercase())
}
