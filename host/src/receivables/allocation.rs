//! Allocation of a counterparty's payments to its sales documents: which payment paid
//! which document and on which day, what each document still owes, and what no document
//! took (an advance). A pure function of the documents and payments, so the stored
//! balances, the drill-down, the penalty and the rating all agree.
//!
//! **In date order, as it happened.** Documents and payments are taken day by day, so the
//! allocation of everything up to a day is exactly the allocation made by the end of that
//! day: a payment pays only documents issued by its date, and money no document could take
//! yet (an advance) pays the documents issued later, on the day they are issued. Every
//! application carries that day ([`Applied::on`]), and the world as it stood at the end of
//! any day is the applications made by then (see `ledger::Ledger::at`); reports "as of" a
//! past day need no second allocation.
//!
//! The rules (documented for users in `docs/receivables.md`), for each day:
//! 1. **Documents issued that day** are taken first: money a payment set aside for one
//!    of them by name (rule 3) goes to it, then advances pay them (in payment order).
//! 2. **Payments made that day** are taken in order (number, then accounting id).
//! 3. **Named first.** Where the accounting system says which document a payment pays
//!    (1C: «По документу»), that document gets up to the named amount, limited by what
//!    it still owes and what is left of the payment (the day's payments' named lines all go
//!    before any of them pays by rule 4). A named document not issued yet gets the amount
//!    set aside until it is issued; one the accounting system does not have is ignored.
//! 4. **Then oldest due first.** What is left pays the open documents issued by then, in
//!    due-date order (then issue date, number, accounting id): first those of the
//!    payment's own contract, when it names one, then any other of the counterparty's.
//! 5. Whatever is still left is an advance (`unapplied`) until a document takes it.
//!
//! Amounts are kopecks. Only posted, not deleted documents and payments take part; the
//! caller filters.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// The accounting system named this document (rule 3), rather than oldest-due-first.
    pub named: bool,
    /// The day it was applied: the payment's date, or the document's issue date for an
    /// advance (or money set aside by name) that waited for the document.
    pub on: NaiveDate,
}

/// The result: per document what it still owes and when it was paid off, per payment
/// what is left over, and every application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub open: Vec<i64>,
    /// The day the document was paid off (`None` while it is owed).
    pub settled_on: Vec<Option<NaiveDate>>,
    pub unapplied: Vec<i64>,
    /// In the order they were made (their days never go back).
    pub applied: Vec<Applied>,
}

/// The open documents in the order rule 4 pays them, overall and by contract.
#[derive(Default)]
struct OpenDocs {
    all: BTreeSet<(usize, usize)>,
    by_contract: HashMap<Uuid, BTreeSet<(usize, usize)>>,
}

impl OpenDocs {
    fn insert(&mut self, rank: usize, d: usize, contract: Option<Uuid>) {
        self.all.insert((rank, d));
        if let Some(c) = contract {
            self.by_contract.entry(c).or_default().insert((rank, d));
        }
    }

    fn remove(&mut self, rank: usize, d: usize, contract: Option<Uuid>) {
        self.all.remove(&(rank, d));
        if let Some(c) = contract
            && let Some(set) = self.by_contract.get_mut(&c)
        {
            set.remove(&(rank, d));
        }
    }
}

struct State<'a, 'b> {
    docs: &'a [Doc<'b>],
    rank: Vec<usize>,
    open: Vec<i64>,
    left: Vec<i64>,
    issued: Vec<bool>,
    open_docs: OpenDocs,
    applied: Vec<Applied>,
}

impl State<'_, '_> {
    fn apply(&mut self, d: usize, p: usize, amount: i64, named: bool, on: NaiveDate) {
        if amount <= 0 {
            return;
        }
        self.open[d] -= amount;
        self.applied.push(Applied { doc: d, payment: p, amount, named, on });
        if self.open[d] == 0 {
            self.open_docs.remove(self.rank[d], d, self.docs[d].contract);
        }
    }

    /// Rule 4: what is left of payment `p` (with contract `contract`) pays the open
    /// documents oldest due first, its own contract's before the others.
    fn pay_free(&mut self, p: usize, contract: Option<Uuid>, on: NaiveDate) {
        if let Some(c) = contract {
            while self.left[p] > 0 {
                let Some(&(_, d)) = self.open_docs.by_contract.get(&c).and_then(|s| s.first()) else { break };
                let x = self.open[d].min(self.left[p]);
                self.left[p] -= x;
                self.apply(d, p, x, false, on);
            }
        }
        while self.left[p] > 0 {
            let Some(&(_, d)) = self.open_docs.all.first() else { break };
            let x = self.open[d].min(self.left[p]);
            self.left[p] -= x;
            self.apply(d, p, x, false, on);
        }
    }
}

/// Allocates `payments` to `docs` by the rules in the module docs.
pub fn allocate(docs: &[Doc<'_>], payments: &[Pay<'_>]) -> Allocation {
    // Rule 4's order of documents, as a rank per document.
    let mut by_due: Vec<usize> = (0..docs.len()).collect();
    by_due.sort_by(|&a, &b| {
        let (x, y) = (&docs[a], &docs[b]);
        (x.due_on, x.issued_on, x.number, x.key).cmp(&(y.due_on, y.issued_on, y.number, y.key))
    });
    let mut rank = vec![0; docs.len()];
    for (r, &d) in by_due.iter().enumerate() {
        rank[d] = r;
    }
    let mut pay_order: Vec<usize> = (0..payments.len()).collect();
    pay_order.sort_by(|&a, &b| {
        let (x, y) = (&payments[a], &payments[b]);
        (x.paid_on, x.number, x.key).cmp(&(y.paid_on, y.number, y.key))
    });
    let mut pay_pos = vec![0; payments.len()];
    for (pos, &p) in pay_order.iter().enumerate() {
        pay_pos[p] = pos;
    }
    // The days something happens on, with what happens.
    let mut days: BTreeMap<NaiveDate, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for &d in &by_due {
        days.entry(docs[d].issued_on).or_default().0.push(d);
    }
    for &p in &pay_order {
        days.entry(payments[p].paid_on).or_default().1.push(p);
    }
    let by_key: HashMap<&str, usize> = docs.iter().enumerate().map(|(i, d)| (d.key, i)).collect();

    let mut s = State {
        docs,
        rank,
        open: docs.iter().map(|d| d.amount.max(0)).collect(),
        left: payments.iter().map(|p| p.amount.max(0)).collect(),
        issued: vec![false; docs.len()],
        open_docs: OpenDocs::default(),
        applied: Vec::new(),
    };
    // Money set aside by name for documents not issued yet: per document, `(payment's
    // position, payment, amount)`.
    let mut set_aside: HashMap<usize, Vec<(usize, usize, i64)>> = HashMap::new();
    let mut set_aside_of = vec![0_i64; payments.len()];
    // Payments with money left (advances), by position.
    let mut advances: BTreeSet<(usize, usize)> = BTreeSet::new();

    for (day, (new_docs, day_pays)) in days {
        // Rule 1: the day's documents.
        for &d in &new_docs {
            s.issued[d] = true;
            if s.open[d] > 0 {
                s.open_docs.insert(s.rank[d], d, docs[d].contract);
            }
        }
        let mut released = false;
        for &d in &new_docs {
            let Some(mut waiting) = set_aside.remove(&d) else { continue };
            waiting.sort_unstable();
            for (pos, p, amount) in waiting {
                let x = amount.min(s.open[d]);
                s.apply(d, p, x, true, day);
                set_aside_of[p] -= amount;
                if amount > x {
                    s.left[p] += amount - x;
                    advances.insert((pos, p));
                    released = true;
                }
            }
        }
        if !new_docs.is_empty() || released {
            let waiting: Vec<(usize, usize)> = advances.iter().copied().collect();
            for (pos, p) in waiting {
                s.pay_free(p, payments[p].contract, day);
                if s.left[p] == 0 {
                    advances.remove(&(pos, p));
                }
                if s.open_docs.all.is_empty() {
                    break;
                }
            }
        }
        // Rules 2 and 3: the day's payments, their named lines first.
        for &p in &day_pays {
            for (key, amount) in payments[p].named {
                let Some(&d) = by_key.get(key.as_str()) else { continue };
                let amount = (*amount).max(0).min(s.left[p]);
                if s.issued[d] {
                    let x = amount.min(s.open[d]);
                    s.left[p] -= x;
                    s.apply(d, p, x, true, day);
                } else if amount > 0 {
                    s.left[p] -= amount;
                    set_aside_of[p] += amount;
                    set_aside.entry(d).or_default().push((pay_pos[p], p, amount));
                }
            }
        }
        // Rule 4, then rule 5.
        for &p in &day_pays {
            s.pay_free(p, payments[p].contract, day);
            if s.left[p] > 0 {
                advances.insert((pay_pos[p], p));
            }
        }
    }

    let mut settled_on = vec![None; docs.len()];
    for a in &s.applied {
        if s.open[a.doc] == 0 {
            let slot = &mut settled_on[a.doc];
            *slot = Some(slot.map_or(a.on, |x: NaiveDate| x.max(a.on)));
        }
    }
    for (d, doc) in docs.iter().enumerate() {
        if doc.amount <= 0 {
            settled_on[d] = Some(doc.issued_on);
        }
    }
    let unapplied = s.left.iter().zip(&set_aside_of).map(|(l, a)| l + a).collect();
    Allocation { open: s.open, settled_on, unapplied, applied: s.applied }
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
                Applied { doc: 1, payment: 1, amount: 300, named: false, on: d(2025, 3, 15) },
                Applied { doc: 0, payment: 1, amount: 50, named: false, on: d(2025, 3, 15) },
                Applied { doc: 0, payment: 0, amount: 100, named: false, on: d(2025, 4, 1) },
            ]
        );
    }

    #[test]
    fn a_named_document_is_paid_before_oldest_due_first() {
        let named = [("new".to_string(), 200)];
        let docs = [doc("old", None, d(2025, 1, 10), 200), doc("new", None, d(2025, 1, 20), 200)];
        let pays = [pay("p", None, d(2025, 2, 1), 300, &named)];
        let a = allocate(&docs, &pays);
        // 200 to the named "new", the remaining 100 to "old".
        assert_eq!(a.open, vec![100, 0]);
        assert_eq!(a.applied[0], Applied { doc: 1, payment: 0, amount: 200, named: true, on: d(2025, 2, 1) });
        assert_eq!(a.applied[1], Applied { doc: 0, payment: 0, amount: 100, named: false, on: d(2025, 2, 1) });
    }

    #[test]
    fn money_named_for_a_document_not_issued_yet_waits_for_it() {
        // The payment (01.02) names "new", which is issued on 10.02: 200 wait for it (an
        // advance meanwhile), the other 100 pay "old" at once.
        let named = [("new".to_string(), 200)];
        let docs = [doc("old", None, d(2025, 1, 10), 200), doc("new", None, d(2025, 2, 10), 250)];
        let pays = [pay("p", None, d(2025, 2, 1), 300, &named)];
        let a = allocate(&docs, &pays);
        assert_eq!(a.open, vec![100, 50]);
        assert_eq!(a.unapplied, vec![0]);
        assert_eq!(
            a.applied,
            vec![
                Applied { doc: 0, payment: 0, amount: 100, named: false, on: d(2025, 2, 1) },
                Applied { doc: 1, payment: 0, amount: 200, named: true, on: d(2025, 2, 10) },
            ]
        );
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
    fn what_no_document_takes_is_an_advance_until_a_document_is_issued() {
        let docs = [doc("a", None, d(2025, 1, 1), 100)];
        let pays = [pay("p", None, d(2024, 12, 1), 150, &[])];
        let a = allocate(&docs, &pays);
        assert_eq!(a.open, vec![0]);
        assert_eq!(a.unapplied, vec![50]);
        // The prepayment pays the document the day it is issued, and settles it then.
        assert_eq!(a.settled_on, vec![Some(d(2025, 1, 1))]);
        assert_eq!(a.applied, vec![Applied { doc: 0, payment: 0, amount: 100, named: false, on: d(2025, 1, 1) }]);
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
        // c named by p2 (70, set aside until c is issued); p1 pays a (100) and 20 of b;
        // p2's last 20 pays b.
        assert_eq!(open_a, vec![0, 60, 30]);
    }

    /// A tiny deterministic generator for the property below.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    /// The property reports "as of" a past day rely on: allocating only what existed by
    /// the end of a day (documents issued, payments made by then) gives exactly the
    /// applications of the whole allocation made by that day.
    #[test]
    fn the_allocation_up_to_a_day_is_what_the_whole_allocation_made_by_that_day() {
        let start = d(2025, 1, 1);
        let day = |n: u64| start + chrono::Days::new(n);
        let contracts = [None, Some(Uuid::from_u128(1)), Some(Uuid::from_u128(2))];
        for seed in 0..200 {
            let mut r = Lcg(seed);
            let n_docs = 1 + r.next(8) as usize;
            let keys: Vec<String> = (0..n_docs).map(|i| format!("d{i}")).collect();
            let docs: Vec<Doc<'_>> = (0..n_docs)
                .map(|i| {
                    let issued = day(r.next(40));
                    Doc {
                        key: &keys[i],
                        number: &keys[i],
                        contract: contracts[r.next(3) as usize],
                        issued_on: issued,
                        due_on: issued + chrono::Days::new(r.next(20)),
                        amount: 1 + r.next(500) as i64,
                    }
                })
                .collect();
            let n_pays = r.next(8) as usize;
            let pkeys: Vec<String> = (0..n_pays).map(|i| format!("p{i}")).collect();
            // Named lines name documents issued by the payment's date, or unknown ones.
            let named: Vec<Vec<(String, i64)>> = (0..n_pays)
                .map(|_| if r.next(3) == 0 { vec![(format!("d{}", r.next(n_docs as u64 + 1)), 1 + r.next(300) as i64)] } else { Vec::new() })
                .collect();
            let paid: Vec<NaiveDate> = (0..n_pays).map(|_| day(r.next(50))).collect();
            let named: Vec<Vec<(String, i64)>> = named
                .into_iter()
                .zip(&paid)
                .map(|(lines, p)| lines.into_iter().filter(|(k, _)| docs.iter().find(|x| x.key == k).is_none_or(|x| x.issued_on <= *p)).collect())
                .collect();
            let pays: Vec<Pay<'_>> = (0..n_pays)
                .map(|i| Pay { key: &pkeys[i], number: &pkeys[i], contract: contracts[r.next(3) as usize], paid_on: paid[i], amount: 1 + r.next(400) as i64, named: &named[i] })
                .collect();
            let whole = allocate(&docs, &pays);
            for n in 0..55 {
                let at = day(n);
                let di: Vec<usize> = (0..docs.len()).filter(|&i| docs[i].issued_on <= at).collect();
                let pi: Vec<usize> = (0..pays.len()).filter(|&i| pays[i].paid_on <= at).collect();
                let part = allocate(&di.iter().map(|&i| docs[i].clone()).collect::<Vec<_>>(), &pi.iter().map(|&i| pays[i].clone()).collect::<Vec<_>>());
                for (k, &i) in di.iter().enumerate() {
                    let paid_by_then: i64 = whole.applied.iter().filter(|a| a.doc == i && a.on <= at).map(|a| a.amount).sum();
                    assert_eq!(part.open[k], docs[i].amount - paid_by_then, "seed {seed}, day {at}, document {i}");
                }
                for (k, &i) in pi.iter().enumerate() {
                    let used_by_then: i64 = whole.applied.iter().filter(|a| a.payment == i && a.on <= at).map(|a| a.amount).sum();
                    assert_eq!(part.unapplied[k], pays[i].amount - used_by_then, "seed {seed}, day {at}, payment {i}");
                }
            }
        }
    }
}
