//! Groundwork for receivables: pure, storage-free building blocks.
//!
//! * [`calendar`] — the Russian federal production calendar (working days, due dates
//!   moved off non-working days under art. 193 of the Civil Code);
//! * [`key_rates`] — the Bank of Russia key-rate table, replaceable by data loaded at run time;
//! * [`penalties`] — contractual penalties, interest under art. 395 of the Civil Code and
//!   penalties of 1/300 of the key rate, each with a per-period breakdown.

pub mod calendar;
pub mod key_rates;
pub mod penalties;
