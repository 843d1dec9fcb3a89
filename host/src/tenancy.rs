//! Tenants, users, roles and API tokens: who is calling and what they may do.

pub mod access;
pub mod auth;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;

pub use access::{Action, Caller};
pub use model::{Department, Role, TenantId, UserId};
