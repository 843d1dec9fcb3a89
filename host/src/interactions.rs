//! TODO
pub mod routes;
