//! Contacts (people at counterparties) and relationships between counterparties and people.

pub mod model;
pub mod routes;
pub mod store;

pub use model::{Contact, ContactId};
