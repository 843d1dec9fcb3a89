//! The CRM host: tenant-scoped CRM entities behind a REST API, on SQLite or PostgreSQL.
//!
//! Layout: one module per domain concept (`tenancy`, `counterparties`, `contacts`,
//! `deals`, `interactions`, `tasks`, `documents`, `timeline`, `audit`,
//! `legal_entities`), each owning its model, queries and routes; `api` assembles the
//! router and the OpenAPI document; `db` hides the two engines behind one API.

pub mod api;
pub mod audit;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod counterparties;
pub mod db;
pub mod deals;
pub mod documents;
pub mod interactions;
pub mod legal_entities;
pub mod links;
pub mod money;
pub mod server;
pub mod tasks;
pub mod telemetry;
pub mod tenancy;
pub mod timeline;

use std::sync::Arc;

pub use api::app;
pub use config::Config;
pub use db::Db;

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub blobs: documents::BlobStore,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> AppState {
        let blobs = documents::BlobStore::new(config.data_dir.join("blobs"));
        AppState { db, config: Arc::new(config), blobs }
    }
}
