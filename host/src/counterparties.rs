//! Counterparties: clients, debtors and other companies or people the tenant deals
//! with, with requisites validated by their check digits.

pub mod enrichment;
pub mod model;
pub mod requisites;
pub mod routes;
pub mod store;

pub use model::{Counterparty, CounterpartyId};
