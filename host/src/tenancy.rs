//! Tenants, users, roles, API tokens, and passwords and sessions for the web pages:
//! who is calling and what they may do.

pub mod access;
pub mod auth;
pub mod model;
pub mod password;
pub mod routes;
pub mod service;
pub mod session;
pub mod sign_in;
pub mod store;

pub use access::{Action, Caller};
pub use model::{Department, Role, TenantId, UserId};
