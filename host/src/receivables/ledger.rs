//! One client's receivables worked out from its documents and payments: due dates
//! from the deferral and the production calendar, the allocation of payments, and
//! the rating. The settlement stores what this computes; the drill-down, penalties and
//! rating explanation read it directly, so both always agree.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::allocation::{self, Allocation};
use super::calendar;
use super::model::{ContractId, NamedAllocation, PaymentId, SalesDocumentId};
use crate::counterparties::CounterpartyId;
use super::rating::{self, DocHistory, Rating};
use crate::money::Money;

/// What the ledger needs of a sales document (the settlement reads millions of these:
/// no timestamps, no balance).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerDoc {
    pub id: SalesDocumentId,
    pub counterparty_id: CounterpartyId,
    pub contract_id: Option<ContractId>,
    pub external_id: String,
    pub legal_entity_ref: Option<String>,
    pub number: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub amount: Money,
    /// `УПД`, `ТОРГ-12`, `Акт`…, as the accounting system says (what a claim cites).
    pub primary_document: Option<String>,
    pub posted: bool,
    pub deleted: bool,
}

/// What the ledger needs of a payment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerPay {
    pub id: PaymentId,
    pub counterparty_id: CounterpartyId,
    pub contract_id: Option<ContractId>,
    pub external_id: String,
    pub number: String,
    pub paid_on: NaiveDate,
    pub amount: Money,
    pub allocations: sqlx::types::Json<Vec<NamedAllocation>>,
    pub posted: bool,
    pub deleted: bool,
    pub unapplied: Money,
}

impl LedgerDoc {
    pub fn is_live(&self) -> bool {
        self.posted && !self.deleted
    }
}

impl LedgerPay {
    pub fn is_live(&self) -> bool {
        self.posted && !self.deleted
    }
}

/// A client's documents and payments, allocated.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// Every document (live or not), with its due date recomputed.
    pub docs: Vec<LedgerDoc>,
    pub payments: Vec<LedgerPay>,
    /// Indexes into `docs` of the documents that count (posted, not deleted).
    live_docs: Vec<usize>,
    /// Indexes into `payments` of the payments that count.
    live_payments: Vec<usize>,
    /// For each of `docs`, its position in `live_docs`.
    live_pos: Vec<Option<usize>>,
    /// For each of `payments`, its position in `live_payments`.
    live_pay_pos: Vec<Option<usize>>,
    /// Over the live documents and payments (indexes into `live_docs` / `live_payments`).
    allocation: Allocation,
    /// For each live document, its entries in `allocation.applied`.
    applied_by_doc: Vec<Vec<usize>>,
}

/// A payment applied to a document.
#[derive(Debug, Clone, Copy)]
pub struct AppliedPayment<'a> {
    pub payment: &'a LedgerPay,
    pub amount: Money,
    /// The accounting system named this document.
    pub named: bool,
    /// The day it was applied (the payment's date, or the document's issue date for an
    /// advance that waited for it).
    pub on: NaiveDate,
}

/// One stretch of days over which a document owed the same amount (at the end of each
/// day): what "Owed to us" reads for a past day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenSpan {
    pub from: NaiveDate,
    /// Last day, inclusive; `None`: still owed.
    pub to: Option<NaiveDate>,
    pub open: Money,
}

impl Ledger {
    /// Allocates `payments` to `docs`. `deferral` is each contract's deferral (if it has
    /// one) and `card_deferral` the client's own, used for documents without either.
    pub fn build(mut docs: Vec<LedgerDoc>, payments: Vec<LedgerPay>, deferral: &HashMap<ContractId, Option<i32>>, card_deferral: i32) -> Ledger {
        for d in &mut docs {
            let days = d.contract_id.and_then(|c| deferral.get(&c).copied().flatten()).unwrap_or(card_deferral);
            d.due_on = calendar::due_date(d.issued_on, u32::try_from(days).unwrap_or(0));
        }
        let live_docs: Vec<usize> = (0..docs.len()).filter(|&i| docs[i].is_live()).collect();
        let live_payments: Vec<usize> = (0..payments.len()).filter(|&i| payments[i].is_live()).collect();
        let named: Vec<Vec<(String, i64)>> = live_payments
            .iter()
            .map(|&i| payments[i].allocations.iter().map(|a| (a.document.clone(), a.amount.minor())).collect())
            .collect();
        let adocs: Vec<allocation::Doc<'_>> = live_docs
            .iter()
            .map(|&i| {
                let d = &docs[i];
                allocation::Doc { key: &d.external_id, number: &d.number, contract: d.contract_id.map(|c| c.0), issued_on: d.issued_on, due_on: d.due_on, amount: d.amount.minor() }
            })
            .collect();
        let apays: Vec<allocation::Pay<'_>> = live_payments
            .iter()
            .zip(&named)
            .map(|(&i, named)| {
                let p = &payments[i];
                allocation::Pay { key: &p.external_id, number: &p.number, contract: p.contract_id.map(|c| c.0), paid_on: p.paid_on, amount: p.amount.minor(), named }
            })
            .collect();
        let allocation = allocation::allocate(&adocs, &apays);
        let mut live_pos = vec![None; docs.len()];
        for (k, &i) in live_docs.iter().enumerate() {
            live_pos[i] = Some(k);
        }
        let mut live_pay_pos = vec![None; payments.len()];
        for (k, &i) in live_payments.iter().enumerate() {
            live_pay_pos[i] = Some(k);
        }
        let mut applied_by_doc = vec![Vec::new(); live_docs.len()];
        for (n, a) in allocation.applied.iter().enumerate() {
            applied_by_doc[a.doc].push(n);
        }
        Ledger { docs, payments, live_docs, live_payments, live_pos, live_pay_pos, allocation, applied_by_doc }
    }

    /// What document `i` (index into `docs`) still owes, and when it was paid off, with
    /// everything known (payments dated after today included).
    pub fn balance(&self, i: usize) -> (Money, Option<NaiveDate>) {
        match self.live_pos[i] {
            Some(k) => (Money::from_minor(self.allocation.open[k]), self.allocation.settled_on[k]),
            None => (Money::ZERO, None),
        }
    }

    /// Every document's balance: `(index into docs, open, settled on)`.
    pub fn balances(&self) -> impl Iterator<Item = (usize, Money, Option<NaiveDate>)> + '_ {
        let mut by_doc: Vec<(Money, Option<NaiveDate>)> = vec![(Money::ZERO, None); self.docs.len()];
        for (k, &i) in self.live_docs.iter().enumerate() {
            by_doc[i] = (Money::from_minor(self.allocation.open[k]), self.allocation.settled_on[k]);
        }
        by_doc.into_iter().enumerate().map(|(i, (open, settled))| (i, open, settled))
    }

    /// What each payment left over (an advance): `(index into payments, amount)`.
    pub fn unapplied(&self) -> impl Iterator<Item = (usize, Money)> + '_ {
        let mut by_pay = vec![Money::ZERO; self.payments.len()];
        for (k, &i) in self.live_payments.iter().enumerate() {
            by_pay[i] = Money::from_minor(self.allocation.unapplied[k]);
        }
        by_pay.into_iter().enumerate()
    }

    /// The payments applied to document `i` (index into `docs`), in the order applied.
    pub fn applied_to(&self, i: usize) -> Vec<AppliedPayment<'_>> {
        let Some(k) = self.live_pos[i] else { return Vec::new() };
        self.applied_by_doc[k]
            .iter()
            .map(|&n| &self.allocation.applied[n])
            .map(|a| AppliedPayment { payment: &self.payments[self.live_payments[a.payment]], amount: Money::from_minor(a.amount), named: a.named, on: a.on })
            .collect()
    }

    /// The ledger as it stood at the end of `as_of`: see [`At`].
    pub fn at(&self, as_of: NaiveDate) -> At<'_> {
        At { ledger: self, as_of }
    }

    /// The stretches of days over which document `i` owed something, in order: from its
    /// issue date, one per amount it owed at the end of a day.
    pub fn open_spans(&self, i: usize) -> Vec<OpenSpan> {
        let Some(k) = self.live_pos[i] else { return Vec::new() };
        let d = &self.docs[i];
        let mut open = d.amount.minor().max(0);
        let mut from = d.issued_on;
        let mut spans = Vec::new();
        let applied = &self.applied_by_doc[k];
        let mut n = 0;
        while n < applied.len() {
            let on = self.allocation.applied[applied[n]].on;
            let mut paid = 0;
            while n < applied.len() && self.allocation.applied[applied[n]].on == on {
                paid += self.allocation.applied[applied[n]].amount;
                n += 1;
            }
            // Paid on `on`: the old amount was owed up to the day before.
            if on > from && open > 0 {
                spans.push(OpenSpan { from, to: on.pred_opt(), open: Money::from_minor(open) });
            }
            open -= paid;
            from = from.max(on);
        }
        if open > 0 {
            spans.push(OpenSpan { from, to: None, open: Money::from_minor(open) });
        }
        spans
    }

    /// The rating as of `as_of`: what was paid and owed by the end of that day.
    pub fn rating(&self, as_of: NaiveDate, window_days: u32) -> Rating {
        let at = self.at(as_of);
        let histories: Vec<DocHistory> = (0..self.docs.len())
            .filter_map(|i| {
                let open = at.balance(i)?.0;
                let d = &self.docs[i];
                let payments = at.applied_to(i).iter().map(|a| (a.payment.paid_on, a.amount)).collect();
                Some(DocHistory { number: d.number.clone(), due_on: d.due_on, amount: d.amount, open, payments })
            })
            .collect();
        rating::rate(&histories, as_of, window_days)
    }
}

/// A [`Ledger`] as it stood at the end of a day: documents issued by then, payments made
/// by then, and the applications made by then (the allocation is made in date order, so
/// these are exactly what allocating only that would give).
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    ledger: &'a Ledger,
    pub as_of: NaiveDate,
}

impl<'a> At<'a> {
    /// Whether document `i` counts by then (live and issued).
    pub fn has(&self, i: usize) -> bool {
        let d = &self.ledger.docs[i];
        d.is_live() && d.issued_on <= self.as_of
    }

    /// What document `i` owed at the end of the day and the day it was paid off (by
    /// then); `None` when it did not count yet (or at all).
    pub fn balance(&self, i: usize) -> Option<(Money, Option<NaiveDate>)> {
        if !self.has(i) {
            return None;
        }
        let applied = self.applied_to(i);
        let paid: i64 = applied.iter().map(|a| a.amount.minor()).sum();
        let open = self.ledger.docs[i].amount.minor().max(0) - paid;
        let settled = if open == 0 { Some(applied.iter().map(|a| a.on).max().unwrap_or(self.ledger.docs[i].issued_on)) } else { None };
        Some((Money::from_minor(open), settled))
    }

    /// The payments applied to document `i` by the end of the day.
    pub fn applied_to(&self, i: usize) -> Vec<AppliedPayment<'a>> {
        let mut all = self.ledger.applied_to(i);
        all.retain(|a| a.on <= self.as_of);
        all
    }

    /// What each payment made by then had left over at the end of the day (an advance):
    /// `(index into payments, amount)`, only payments that count by then.
    pub fn unapplied(&self) -> Vec<(usize, Money)> {
        let mut used = vec![0_i64; self.ledger.live_payments.len()];
        for a in self.ledger.allocation.applied.iter().filter(|a| a.on <= self.as_of) {
            used[a.payment] += a.amount;
        }
        (0..self.ledger.payments.len())
            .filter_map(|i| {
                let k = self.ledger.live_pay_pos[i]?;
                let p = &self.ledger.payments[i];
                (p.paid_on <= self.as_of).then(|| (i, Money::from_minor(p.amount.minor().max(0) - used[k])))
            })
            .collect()
    }
}

/// Loads one client's documents, payments and contracts and allocates them.
pub async fn load(
    c: &mut crate::db::Conn<'_>,
    tenant: crate::tenancy::TenantId,
    cp: crate::counterparties::CounterpartyId,
) -> sqlx::Result<(Ledger, HashMap<ContractId, super::model::Contract>)> {
    use super::store;
    let card_deferral = store::card_deferrals(c, tenant, &[cp]).await?.get(&cp).copied().unwrap_or(0);
    let contracts: HashMap<ContractId, super::model::Contract> = store::contracts_of(c, tenant, &[cp]).await?.into_iter().map(|k| (k.id, k)).collect();
    let deferral: HashMap<ContractId, Option<i32>> = contracts.iter().map(|(id, k)| (*id, k.deferral_days)).collect();
    let docs = store::ledger_docs_of(c, tenant, &[cp]).await?;
    let payments = store::ledger_payments_of(c, tenant, &[cp]).await?;
    Ok((Ledger::build(docs, payments, &deferral, card_deferral), contracts))
}
