//! Penalties on a client's overdue documents, per each document's contract, and the
//! claim letter (претензия) built from them.
//!
//! Each overdue, still-owed document is charged by its contract's terms — a
//! contractual %/day (optionally capped at a percent of the document), interest under
//! art. 395 of the Civil Code (also what applies without a contract or terms), 1/300 of
//! the key rate, or nothing — from the day after its due date to `as_of`, with every
//! payment applied to it lowering the base from the next day. Key rates come from the
//! `key_rates` table.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::error::{ApiError, ApiResult};
use crate::money::Money;

use super::key_rates::KeyRates;
use super::ledger::Ledger;
use super::model::{Contract, ContractId, PenaltyKind, SalesDocumentId};
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
    pub paid: Money,
    pub open: Money,
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
}

/// Penalties on all of a client's overdue documents.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PenaltyReport {
    pub as_of: NaiveDate,
    pub documents: Vec<DocumentPenalty>,
    pub principal_total: Money,
    pub penalty_total: Money,
    pub total: Money,
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

/// The penalties on the overdue, still-owed documents of `ledger` as of `as_of`
/// (only those in `only`, when given).
pub fn penalties(ledger: &Ledger, contracts: &HashMap<ContractId, Contract>, rates: &KeyRates, as_of: NaiveDate, only: Option<&[SalesDocumentId]>) -> ApiResult<PenaltyReport> {
    let mut documents = Vec::new();
    for (i, open, _) in ledger.balances() {
        let d = &ledger.docs[i];
        if !d.is_live() || open == Money::ZERO || d.due_on >= as_of || only.is_some_and(|o| !o.contains(&d.id)) {
            continue;
        }
        let contract = d.contract_id.and_then(|id| contracts.get(&id));
        let applied = ledger.applied_to(i);
        let payments: Vec<(NaiveDate, Money)> = applied.iter().map(|a| (a.payment.paid_on, a.amount)).collect();
        let paid = applied.iter().fold(Money::ZERO, |acc, a| acc.checked_add(a.amount).unwrap_or(acc));
        let debt = Overdue { principal: d.amount, due: d.due_on, until: as_of, payments: &payments };
        let kind = contract.map_or(PenaltyKind::Art395, |c| c.penalty_kind);
        let label = contract.map(contract_label);
        let on = |what: &str| label.as_ref().map_or(String::new(), |l| format!(" ({what}{l})", what = what));
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
                let note = (p.total < p.uncapped_total)
                    .then(|| format!("не более {} % от суммы документа ({})", percent(cap_pct.unwrap_or_default()), crate::templates::format::rubles(p.total)));
                (Some(p), format!("неустойка {} % за каждый день просрочки{}", percent(rate), on("")), note)
            }
            PenaltyKind::Art395 => {
                let p = penalties::art_395(&debt, rates).map_err(penalty_error)?;
                (Some(p), format!("проценты за пользование чужими денежными средствами по ст. 395 ГК РФ{}", on("")), None)
            }
            PenaltyKind::KeyRate1300 => {
                let p = penalties::key_rate_1_300(&debt, rates).map_err(penalty_error)?;
                (Some(p), format!("пени в размере 1/300 ключевой ставки Банка России за каждый день просрочки{}", on("")), None)
            }
        };
        let (periods, uncapped_total, total) = match result {
            Some(p) => (
                p.periods.iter().map(|x| PeriodView { from: x.from, to: x.to, days: x.days, base: x.base, rate: x.rate, amount: x.amount }).collect(),
                p.uncapped_total,
                p.total,
            ),
            None => (Vec::new(), Money::ZERO, Money::ZERO),
        };
        documents.push(DocumentPenalty {
            sales_document_id: d.id,
            number: d.number.clone(),
            issued_on: d.issued_on,
            due_on: d.due_on,
            amount: d.amount,
            paid,
            open,
            days_overdue: (as_of - d.due_on).num_days(),
            contract_id: contract.map(|c| c.id),
            contract: label,
            kind,
            basis,
            periods,
            uncapped_total,
            total,
            cap_note,
        });
    }
    documents.sort_by(|a, b| (a.due_on, &a.number).cmp(&(b.due_on, &b.number)));
    let sum = |f: fn(&DocumentPenalty) -> Money| documents.iter().fold(Money::ZERO, |acc, d| acc.checked_add(f(d)).unwrap_or(acc));
    let principal_total = sum(|d| d.open);
    let penalty_total = sum(|d| d.total);
    Ok(PenaltyReport { as_of, principal_total, penalty_total, total: principal_total.checked_add(penalty_total).unwrap_or(principal_total), documents })
}

fn penalty_error(e: penalties::PenaltyError) -> ApiError {
    match e {
        penalties::PenaltyError::NoKeyRate(d) => ApiError::Conflict {
            detail: format!("No Bank of Russia key rate is known for {d}; the operator adds it with `crm admin set-key-rate`."),
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

/// Builds the claim letter for a client's overdue debts as of `as_of`: the creditor is
/// our legal entity the documents were sold by (`legal_entity_id` picks one when there
/// are several, or when the documents name none and the tenant has several).
pub async fn letter(
    state: &crate::AppState,
    caller: &crate::tenancy::Caller,
    id: crate::counterparties::CounterpartyId,
    as_of: NaiveDate,
    p: &super::routes::ClaimParams,
) -> ApiResult<super::claim_letter::ClaimLetter> {
    use super::claim_letter::{self as cl, ClaimLetter, DebtLine, Party, PenaltyBlock, PenaltyRow};

    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    let cp = crate::counterparties::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    let settings = super::store::settings(&mut c, caller.tenant_id).await?;
    let (ledger, contracts) = super::ledger::load(&mut c, caller.tenant_id, id).await?;
    let rates = key_rates_from(&super::store::key_rates(&mut c).await?)?;
    let entities = crate::legal_entities::list(&mut c, caller.tenant_id, false).await?;

    // Which of our legal entities claims, and which documents are theirs.
    let by_ref: HashMap<&str, &crate::legal_entities::LegalEntity> = entities.iter().filter_map(|e| e.accounting_ref.as_deref().map(|r| (r, e))).collect();
    let creditor = match p.legal_entity_id {
        Some(le) => entities.iter().find(|e| e.id == le).ok_or_else(|| ApiError::field("legal_entity_id", "no such legal entity in your tenant"))?,
        None => {
            let mut owners: Vec<&crate::legal_entities::LegalEntity> = Vec::new();
            for (i, open, _) in ledger.balances() {
                let d = &ledger.docs[i];
                if d.is_live() && open > Money::ZERO && d.due_on < as_of
                    && let Some(e) = d.legal_entity_ref.as_deref().and_then(|r| by_ref.get(r))
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
    let report = penalties(&ledger, &contracts, &rates, as_of, Some(&ours))?;
    if report.documents.is_empty() {
        return Err(ApiError::Conflict {
            detail: format!("{} owes {} nothing overdue on {}: there is nothing to claim.", cp.full_name, creditor.short_name.as_deref().unwrap_or(&creditor.full_name), as_of.format("%d.%m.%Y")),
            field: None,
        });
    }
    let deadline_days = p.deadline_days.unwrap_or(u32::try_from(settings.claim_deadline_days).unwrap_or(30));
    if !(1..=365).contains(&deadline_days) {
        return Err(ApiError::field("deadline_days", "must be between 1 and 365"));
    }
    // The deadline is counted in calendar days; one that falls on a day off moves to the
    // next working day (art. 193 of the Civil Code).
    let pay_by = super::calendar::due_date(as_of, deadline_days);

    let debts: Vec<DebtLine> = report
        .documents
        .iter()
        .map(|d| DebtLine {
            document: format!("Реализация товаров и услуг № {} от {}", d.number, crate::templates::format::date_short(d.issued_on)),
            contract: d.contract.clone(),
            issued_on: d.issued_on,
            due_on: d.due_on,
            amount: d.amount,
            paid: d.paid,
            open: d.open,
            days_overdue: d.days_overdue,
        })
        .collect();
    let blocks: Vec<PenaltyBlock> = report
        .documents
        .iter()
        .filter(|d| d.kind != super::model::PenaltyKind::None && d.total > Money::ZERO)
        .map(|d| PenaltyBlock {
            document: format!("№ {} от {}", d.number, crate::templates::format::date_short(d.issued_on)),
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
    let principal_total = debts.iter().fold(Money::ZERO, |a, d| a.checked_add(d.open).unwrap_or(a));
    let penalty_total = blocks.iter().fold(Money::ZERO, |a, b| a.checked_add(b.total).unwrap_or(a));
    let letter = ClaimLetter {
        date: as_of,
        as_of,
        number: p.number.clone().filter(|n| !n.trim().is_empty()),
        creditor: Party {
            name: creditor.short_name.clone().unwrap_or_else(|| creditor.full_name.clone()),
            inn: Some(creditor.inn.clone()),
            kpp: creditor.kpp.clone(),
            ogrn: creditor.ogrn.clone(),
            address: creditor.legal_address.clone(),
            bank_name: creditor.bank_name.clone(),
            bank_bic: creditor.bank_bic.clone(),
            bank_account: creditor.bank_account.clone(),
            bank_corr_account: creditor.bank_corr_account.clone(),
            head_post: None,
            head_name: None,
        },
        debtor: Party {
            name: cp.short_name.clone().unwrap_or_else(|| cp.full_name.clone()),
            inn: cp.inn.clone(),
            kpp: cp.kpp.clone(),
            ogrn: cp.ogrn.clone(),
            address: cp.legal_address.clone().or_else(|| cp.postal_address.clone()),
            bank_name: None,
            bank_bic: None,
            bank_account: None,
            bank_corr_account: None,
            head_post: cp.head_post.clone(),
            head_name: cp.head_name.clone(),
        },
        debts,
        penalties: blocks,
        principal_total,
        penalty_total,
        total: principal_total.checked_add(penalty_total).unwrap_or(principal_total),
        pay_by,
        deadline_days,
        signer_post: None,
        signer_name: None,
        seal: false,
    };
    letter.check().map_err(|e| ApiError::Internal(anyhow::anyhow!("the claim letter does not add up: {e}")))?;
    Ok(letter)
}
