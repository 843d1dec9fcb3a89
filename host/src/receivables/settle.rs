//! Settlement: for every client whose documents or payments changed (marked "dirty" in
//! the same transaction as the change), work out its ledger again and store what it
//! says — what is still owed on each document (`open_items`, a row only while something
//! is owed), what each document owed day by day (`open_spans`, for reports as of a past
//! day), due dates that moved, each payment's advance, and the payer rating.
//! Batches of clients, one transaction each; only what changed is written, so settling
//! twice writes nothing the second time.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};

use crate::counterparties::CounterpartyId;
use crate::db::Conn;
use crate::tenancy::TenantId;

use super::ledger::Ledger;
use super::store::{self, OpenItem, RatingRow, SpanRow};

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
    for d in store::ledger_docs_of(c, tenant, cps).await? {
        docs.entry(d.counterparty_id).or_default().push(d);
    }
    let mut pays: HashMap<CounterpartyId, Vec<_>> = HashMap::new();
    for p in store::ledger_payments_of(c, tenant, cps).await? {
        pays.entry(p.counterparty_id).or_default().push(p);
    }
    let stored_ratings = store::ratings_of(c, tenant, cps).await?;
    let mut stored_open = store::open_items_of(c, tenant, cps).await?;
    let mut stored_spans = store::spans_of(c, tenant, cps).await?;
    let (mut spans_gone, mut spans_new) = (Vec::new(), Vec::new());

    let no_contracts = HashMap::new();
    let (mut open_items, mut paid_off, mut moved) = (Vec::new(), Vec::new(), Vec::new());
    let mut unapplied = Vec::new();
    let mut ratings = Vec::new();
    for cp in cps {
        let cp_docs = docs.remove(cp).unwrap_or_default();
        let due_before: Vec<NaiveDate> = cp_docs.iter().map(|d| d.due_on).collect();
        let ledger = Ledger::build(cp_docs, pays.remove(cp).unwrap_or_default(), contracts.get(cp).unwrap_or(&no_contracts), card_deferral.get(cp).copied().unwrap_or(0));
        for (i, open, _) in ledger.balances() {
            let d = &ledger.docs[i];
            if due_before[i] != d.due_on {
                moved.push((d.id, d.due_on));
            }
            let now = (open > crate::money::Money::ZERO).then(|| OpenItem {
                document_id: d.id,
                counterparty_id: d.counterparty_id,
                due_on: d.due_on,
                open_amount: open.minor(),
                legal_entity_ref: d.legal_entity_ref.clone(),
            });
            match (stored_open.remove(&d.id), now) {
                (Some(old), Some(new)) if old == new => {}
                (_, Some(new)) => open_items.push(new),
                (Some(_), None) => paid_off.push(d.id),
                (None, None) => {}
            }
            let spans: Vec<SpanRow> = ledger
                .open_spans(i)
                .into_iter()
                .map(|s| SpanRow {
                    document_id: d.id,
                    valid_from: s.from,
                    valid_to: s.to.unwrap_or(store::OPEN_END),
                    counterparty_id: d.counterparty_id,
                    due_on: d.due_on,
                    open_amount: s.open.minor(),
                    legal_entity_ref: d.legal_entity_ref.clone(),
                })
                .collect();
            let old = stored_spans.remove(&d.id).unwrap_or_default();
            if old != spans {
                if !old.is_empty() {
                    spans_gone.push(d.id);
                }
                spans_new.extend(spans);
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
    // Open items of documents that moved to another client are the other client's now,
    // and so are their spans.
    paid_off.extend(stored_open.into_keys());
    spans_gone.extend(stored_spans.into_keys());
    store::set_due_dates(c, tenant, &moved).await?;
    store::delete_open_items(c, tenant, &paid_off).await?;
    store::upsert_open_items(c, tenant, &open_items).await?;
    store::delete_spans(c, tenant, cps, &spans_gone).await?;
    store::insert_spans(c, tenant, &spans_new).await?;
    store::set_unapplied(c, tenant, &unapplied).await?;
    store::upsert_ratings(c, tenant, &ratings, Utc::now()).await?;
    Ok(Settled {
        counterparties: cps.len(),
        documents_changed: open_items.len() + paid_off.len() + moved.len(),
        ratings_changed: ratings.len(),
    })
}
