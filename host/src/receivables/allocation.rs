//! Allocation of a counterparty's payments to its sales documents: which payment paid
//! which document, what each document still owes, and what no document took (an
//! advance). A pure function of the documents and payments, so the stored balances, the
//! drill-down, the penalty and the rating all agree.
//!
//! The rules (documented for users in `docs/receivables.md`):
//! 1. Payments are taken in date order (then number, then accounting id); documents in
//!    due-date order (then issue date, number, accounting id).
//! 2. **Named first.** Where the accounting system says which document a payment pays
//!    (1C: «По документу»), that document gets up to the named amount, limited by what
//!    it still owes and what is left of the payment.
//! 3. **Then oldest due first.** What is left of each payment pays open documents in
//!    due-date order: first those of the payment's own contract, when it names one,
//!    then any other of the counterparty's documents.
//! 4. Whatever is still left is an advance (`unapplied`).
//!
//! Amounts are kopecks. Only posted, not deleted documents and payments take part; the
//! caller filters.

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

/// A document as the allocation sees it.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    /// The accounting system's id (what payments name).
    pub key: &'a str,
    pub number: &'a str,
    pub contract: Option<Uuid>,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub amount: i64,
}

/// A payment as the allocation sees it.
#[derive(Debug, Clone)]
pub struct Pay<'a> {
    pub key: &'a str,
    pub number: &'a str,
    pub contract: Option<Uuid>,
    pub paid_on: NaiveDate,
    pub amount: i64,
    /// Documents the accounting system names, by key, with amounts.
    pub named: &'a [(String, i64)],
}

/// One part of a payment applied to one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Index into the documents given.
    pub doc: usize,
    /// Index into the payments given.
    pub payment: usize,
    pub amount: i64,
    /// The accounting system named this document (rule 2), rather than oldest-due-first.
    pub named: bool,
}

/// The result: per document what it still owes and when it was paid off, per payment
/// what is left over, and every application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub open: Vec<i64>,
    /// The date of the payment that paid the document off (`None` while it is owed).
    pub settled_on: Vec<Option<NaiveDate>>,
    pub unapplied: Vec<i64>,
    /// In the order they were made.
    pub applied: Vec<Applied>,
}

/// Allocates `payments` to `docs` by the rules in the module docs.
pub fn allocate(docs: &[Doc<'_>], payments: &[Pay<'_>]) -> Allocation {
    let mut open: Vec<i64> = docs.iter().map(|d| d.amount.max(0)).collect();
    let mut left: Vec<i64> = payments.iter().map(|p| p.amount.max(0)).collect();
    let mut applied = Vec::new();

    let mut pay_order: Vec<usize> = (0..payments.len()).collect();
    pay_order.sort_by(|&a, &b| {
        let (x, y) = (&payments[a], &payments[b]);
        (x.paid_on, x.number, x.key).cmp(&(y.paid_on, y.number, y.key))
    });
    let mut doc_order: Vec<usize> = (0..docs.len()).collect();
    doc_order.sort_by(|&a, &b| {
        let (x, y) = (&docs[a], &docs[b]);
        (x.due_on, x.issued_on, x.number, x.key).cmp(&(y.due_on, y.issued_on, y.number, y.key))
    });

    // Rule 2: what the accounting system names.
    let by_key: HashMap<&str, usize> = docs.iter().enumerate().map(|(i, d)| (d.key, i)).collect();
    for &p in &pay_order {
        for (key, amount) in payments[p].named {
            let Some(&d) = by_key.get(key.as_str()) else { continue };
            let x = (*amount).max(0).min(left[p]).min(open[d]);
            if x > 0 {
                open[d] -= x;
                left[p] -= x;
                applied.push(Applied { doc: d, payment: p, amount: x, named: true });
            }
        }
    }

    // Rule 3: oldest due first, the payment's own contract before the rest. Cursors only
    // move forward: a document once paid off stays paid off.
    let mut by_contract: HashMap<Uuid, Vec<usize>> = HashMap::new();
    for &d in &doc_order {
        if let Some(c) = docs[d].contract {
            by_contract.entry(c).or_default().push(d);
        }
    }
    let mut contract_cursor: HashMap<Uuid, usize> = HashMap::new();
    let mut all_cursor = 0usize;
    for &p in &pay_order {
        if left[p] == 0 {
            continue;
        }
        if let Some(c) = payments[p].contract
            && let Some(list) = by_contract.get(&c)
        {
            let cursor = contract_cursor.entry(c).or_insert(0);
            pay_from(list, cursor, p, &mut open, &mut left, &mut applied);
        }
        if left[p] > 0 {
            pay_from(&doc_order, &mut all_cursor, p, &mut open, &mut left, &mut applied);
        }
    }

    let mut settled_on = vec![None; docs.len()];
    for a in &applied {
        if open[a.doc] == 0 {
            let date = payments[a.payment].paid_on;
            let s = &mut settled_on[a.doc];
            *s = Some(s.map_or(date, |x: NaiveDate| x.max(date)));
        }
    }
    for (d, doc) in docs.iter().enumerate() {
        if doc.amount <= 0 {
            settled_on[d] = Some(doc.issued_on);
        }
    }
    Allocation { open, settled_on, unapplied: left, applied }
}

fn pay_from(list: &[usize], cursor: &mut usize, p: usize, open: &mut [i64], left: &mut [i64], applied: &mut Vec<Applied>) {
    while *cursor < list.len() && left[p] > 0 {
        let d = list[*cursor];
        if open[d] == 0 {
            *cursor += 1;
            continue;
        }
        let x = open[d].min(left[p]);
        open[d] -= x;
        left[p] -= x;
        applied.push(Applied { doc: d, payment: p, amount: x, named: false });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn doc<'a>(key: &'a str, contract: Option<Uuid>, due: NaiveDate, amount: i64) -> Doc<'a> {
        Doc { key, number: key, contract, issued_on: due, due_on: due, amount }
    }

    fn pay<'a>(key: &'a str, contract: Option<Uuid>, paid: NaiveDate, amount: i64, named: &'a [(String, i64)]) -> Pay<'a> {
        Pay { key, number: key, contract, paid_on: paid, amount, named }
    }

    #[test]
    fn payments_pay_the_oldest_due_document_first() {
        // Given in the "wrong" order on purpose: the order comes from the dates.
        let docs = [doc("b", None, d(2025, 3, 1), 500), doc("a", None, d(2025, 2, 1), 300)];
        let pays = [pay("p2", None, d(2025, 4, 1), 100, &[]), pay("p1", None, d(2025, 3, 15), 350, &[])];
        let a = allocate(&docs, &pays);
        // p1 (15.03) pays a's 300 and 50 of b; p2 pays 100 more of b.
        assert_eq!(a.open, vec![350, 0]);
        assert_eq!(a.unapplied, vec![0, 0]);
        assert_eq!(a.settled_on, vec![None, Some(d(2025, 3, 15))]);
        assert_eq!(
            a.applied,
            vec![
                Applied { doc: 1, payment: 1, amount: 300, named: false },
                Applied { doc: 0, payment: 1, amount: 50, named: false },
                Applied { doc: 0, payment: 0, amount: 100, named: false },
            ]
        );
    }

    #[test]
    fn a_named_document_is_paid_before_oldest_due_first() {
        let named = [("new".to_string(), 200)];
        let docs = [doc("old", None, d(2025, 1, 10), 200), doc("new", None, d(2025, 2, 10), 200)];
        let pays = [pay("p", None, d(2025, 2, 1), 300, &named)];
        let a = allocate(&docs, &pays);
        // 200 to the named "new", the remaining 100 to "old".
        assert_eq!(a.open, vec![100, 0]);
        assert_eq!(a.applied[0], Applied { doc: 1, payment: 0, amount: 200, named: true });
        assert_eq!(a.applied[1], Applied { doc: 0, payment: 0, amount: 100, named: false });
    }

    #[test]
    fn a_named_amount_beyond_the_document_and_unknown_documents_fall_back_to_oldest_due_first() {
        let named = [("a".to_string(), 500), ("missing".to_string(), 100)];
        let docs = [doc("a", None, d(2025, 2, 1), 100), doc("b", None, d(2025, 1, 1), 1000)];
        let pays = [pay("p", None, d(2025, 2, 5), 600, &named)];
        let a = allocate(&docs, &pays);
        assert_eq!(a.open, vec![0, 500]);
        assert_eq!(a.unapplied, vec![0]);
    }

    #[test]
    fn the_payments_own_contract_comes_first_then_the_others() {
        let k1 = Uuid::from_u128(1);
        let k2 = Uuid::from_u128(2);
        let docs = [doc("k1-old", Some(k1), d(2025, 1, 1), 100), doc("k2", Some(k2), d(2025, 2, 1), 100), doc("k2-late", Some(k2), d(2025, 3, 1), 100)];
        let pays = [pay("p", Some(k2), d(2025, 3, 5), 250, &[])];
        let a = allocate(&docs, &pays);
        // k2's two documents first (200), then the oldest other one gets the last 50.
        assert_eq!(a.open, vec![50, 0, 0]);
    }

    #[test]
    fn what_no_document_takes_is_an_advance() {
        let docs = [doc("a", None, d(2025, 1, 1), 100)];
        let pays = [pay("p", None, d(2024, 12, 1), 150, &[])];
        let a = allocate(&docs, &pays);
        assert_eq!(a.open, vec![0]);
        assert_eq!(a.unapplied, vec![50]);
        // A prepayment settles the document on the payment's date.
        assert_eq!(a.settled_on, vec![Some(d(2024, 12, 1))]);
    }

    #[test]
    fn a_document_is_settled_on_the_date_of_its_last_payment() {
        let docs = [doc("a", None, d(2025, 1, 1), 100)];
        let pays = [pay("p1", None, d(2025, 1, 5), 40, &[]), pay("p2", None, d(2025, 1, 20), 60, &[])];
        let a = allocate(&docs, &pays);
        assert_eq!(a.settled_on, vec![Some(d(2025, 1, 20))]);
        let partial = allocate(&docs, &pays[..1]);
        assert_eq!(partial.settled_on, vec![None]);
        assert_eq!(partial.open, vec![60]);
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_records_arrive_in() {
        let named = [("c".to_string(), 70)];
        let docs = [doc("a", None, d(2025, 1, 1), 100), doc("b", None, d(2025, 1, 1), 100), doc("c", None, d(2025, 3, 1), 100)];
        let pays = [pay("p1", None, d(2025, 2, 1), 120, &[]), pay("p2", None, d(2025, 2, 1), 90, &named)];
        let a = allocate(&docs, &pays);
        let docs_rev: Vec<Doc<'_>> = docs.iter().rev().cloned().collect();
        let pays_rev: Vec<Pay<'_>> = pays.iter().rev().cloned().collect();
        let b = allocate(&docs_rev, &pays_rev);
        let open_a: Vec<i64> = a.open.clone();
        let mut open_b = b.open.clone();
        open_b.reverse();
        assert_eq!(open_a, open_b);
        // c named by p2 (70); p1 pays a (100) and 20 of b; p2's last 20 pays b.
        assert_eq!(open_a, vec![0, 60, 30]);
    }
}
