//! Receivables: what clients owe and since when, synced from the accounting system.
//!
//! * [`sync`] — the job that pulls counterparties, contracts, sales documents and payments
//!   through the tenant's `accounting-sync` plugin (1C), page by page, resumably;
//! * [`allocation`], [`ledger`], [`settle`] — payments allocated to documents (named
//!   first, then oldest due first), open balances, and their settlement after changes;
//! * [`rating`] — the 1–5 star payer rating;
//! * [`aging`] — "Owed to us" by aging bucket, with drill-down and export;
//! * [`penalties`], [`key_rates`], [`calendar`] — contractual penalties, art. 395 and 1/300
//!   of the key rate, with per-period breakdowns; the production calendar for due dates;
//! * [`claim`] — the claim letter (претензия): its figures per contract; [`claim_letter`] —
//!   its data and its template kind, rendered as HTML and PDF by `crate::templates`;
//! * [`routes`] — the API.

pub mod aging;
pub mod allocation;
pub mod calendar;
pub mod claim;
pub mod claim_letter;
pub mod export;
pub mod key_rates;
pub mod ledger;
pub mod model;
pub mod penalties;
pub mod rating;
pub mod routes;
pub mod settle;
pub mod store;
pub mod sync;
