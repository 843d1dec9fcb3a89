//! Settlement: for every client whose documents or payments changed (marked "dirty" in
//! the same transaction as the change), work out its ledger again and store what it
//! says — each document's due date, open balance and settlement date, each payment's
//! advance, and the payer rating. Batches of clients, one transaction each; only what
//! changed is written, so settling twice writes nothing the second time.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};

use crate::counterparties::CounterpartyId;
use crate::db::Conn;
use crate::tenancy::TenantId;

use super::ledger::Ledger;
use super::store::{self, Balance, RatingRow};

/// Clients per settlement batch.
pub const SETTLE_BATCH: i64 = 1000;

/// What a settlement did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub counterparties: usize,
    pub documents_changed: usize,
    pub ratings_changed: usize,
}

/// Settles up to `limit` dirty clients in the caller's transaction and clears their marks.
pub async fn settle_batch(c: &mut Conn<'_>, tenant: TenantId, today: NaiveDate, window_days: u32, limit: i64) -> sqlx::Result<Settled> {
    let cps = store::take_dirty(c, tenant, limit).await?;
    let done = settle(c, tenant, &cps, today, window_days).await?;
    store::clear_dirty(c, tenant, &cps).await?;
    Ok(done)
}

/// Settles the given clients now, in the caller's transaction.
pub async fn settle(c: &mut Conn<'_>, tenant: TenantId, cps: &[CounterpartyId], today: NaiveDate, window_days: u32) -> sqlx::Result<Settled> {
    if cps.is_empty() {
        return Ok(Settled::default());
    }
    let card_deferral = store::card_deferrals(c, tenant, cps).await?;
    let mut contracts: HashMap<CounterpartyId, HashMap<_, _>> = HashMap::new();
    for k in store::contracts_of(c, tenant, cps).await? {
        contracts.entry(k.counterparty_id).or_default().insert(k.id, k.deferral_days);
    }
    let mut docs: HashMap<CounterpartyId, Vec<_>> = HashMap::new();
    for d in store::documents_of(c, tenant, cps).await? {
        docs.entry(d.counterparty_id).or_default().push(d);
    }
    let mut pays: HashMap<CounterpartyId, Vec<_>> = HashMap::new();
    for p in store::payments_of(c, tenant, cps).await? {
        pays.entry(p.counterparty_id).or_default().push(p);
    }
    let stored_ratings = store::ratings_of(c, tenant, cps).await?;

    let no_contracts = HashMap::new();
    let mut balances = Vec::new();
    let mut unapplied = Vec::new();
    let mut ratings = Vec::new();
    for cp in cps {
        let cp_docs = docs.remove(cp).unwrap_or_default();
        let before: Vec<(NaiveDate, i64, Option<NaiveDate>)> = cp_docs.iter().map(|d| (d.due_on, d.open_amount.minor(), d.settled_on)).collect();
        let ledger = Ledger::build(cp_docs, pays.remove(cp).unwrap_or_default(), contracts.get(cp).unwrap_or(&no_contracts), card_deferral.get(cp).copied().unwrap_or(0));
        for (i, open, settled_on) in ledger.balances() {
            let d = &ledger.docs[i];
            if before[i] != (d.due_on, open.minor(), settled_on) {
                balances.push(Balance { id: d.id, due_on: d.due_on, open_amount: open.minor(), settled_on });
            }
        }
        for (i, left) in ledger.unapplied() {
            let p = &ledger.payments[i];
            if p.unapplied != left {
                unapplied.push((p.id, left.minor()));
            }
        }
        let r = ledger.rating(today, window_days);
        let row = RatingRow {
            counterparty_id: *cp,
            stars: r.stars.map(i32::from),
            weighted_delay_days: r.weighted_delay_days.to_string(),
            on_time_share: r.on_time_share.to_string(),
            rated_amount: r.rated_amount.minor(),
            documents: i32::try_from(r.documents).unwrap_or(i32::MAX),
            window_from: r.window_from,
            as_of: r.as_of,
        };
        if stored_ratings.get(cp) != Some(&row) {
            ratings.push(row);
        }
    }
    store::set_balances(c, tenant, &balances).await?;
    store::set_unapplied(c, tenant, &unapplied).await?;
    store::upsert_ratings(c, tenant, &ratings, Utc::now()).await?;
    Ok(Settled { counterparties: cps.len(), documents_changed: balances.len(), ratings_changed: ratings.len() })
}
