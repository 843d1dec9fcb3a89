//! The CRM host: tenant-scoped CRM entities behind a REST API, on SQLite or PostgreSQL.
//!
//! Layout: one module per domain concept (`tenancy`, `counterparties`, `contacts`,
//! `deals`, `interactions`, `tasks`, `documents`, `timeline`, `audit`,
//! `legal_entities`, `receivables`, `reminders`, `jobs`, `mail`, `templates`), each owning its model, queries and routes; `api` assembles the
//! router and the OpenAPI document; `pages` serves the managers' web pages over the same
//! handlers; `db` hides the two engines behind one API.

pub mod api;
pub mod approvals;
pub mod audit;
pub mod charts;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod counterparties;
pub mod dates;
pub mod db;
pub mod deals;
pub mod documents;
pub mod interactions;
pub mod jobs;
pub mod leads;
pub mod legal_entities;
pub mod links;
pub mod mail;
pub mod money;
pub mod pages;
pub mod plugins;
pub mod receivables;
pub mod reminders;
pub mod sales;
pub mod server;
pub mod tasks;
pub mod telemetry;
pub mod templates;
pub mod tenancy;
pub mod timeline;
pub mod validation;

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
    /// The one plugin engine of the process.
    pub plugins: Arc<plugins::Runtime>,
    /// Seals plugin secrets at rest.
    pub secrets: plugins::secrets::SecretBox,
    /// Wakes this process's job workers when a job is queued (they also poll).
    pub jobs_wake: Arc<tokio::sync::Notify>,
    /// Every job kind this process runs, as the domains registered them.
    pub jobs: Arc<jobs::Registry>,
    /// The jobs running in this process, to stop one when it is cancelled.
    pub job_control: Arc<jobs::runner::Control>,
}

/// Every job kind the host runs: each domain registers its own. The job runner knows
/// no domain; this list is the one place that names them.
pub fn job_kinds() -> Result<jobs::Registry, jobs::registry::RegistryError> {
    jobs::Registry::with(receivables::jobs().into_iter().chain(leads::jobs()).chain(approvals::jobs()).chain(reminders::jobs()).chain(mail::delivery::jobs()))
}

impl AppState {
    /// State with a plugin runtime of its own (caching compiled plugins in the data dir).
    pub fn new(db: Db, config: Config) -> anyhow::Result<AppState> {
        let runtime = plugins::Runtime::new(Some(config.data_dir.join("plugin-cache")), config.plugin_limits())?;
        Self::with_runtime(db, config, runtime)
    }

    /// State sharing an existing plugin runtime (one engine per process).
    pub fn with_runtime(db: Db, config: Config, plugins: Arc<plugins::Runtime>) -> anyhow::Result<AppState> {
        let blobs = documents::BlobStore::new(config.data_dir.join("blobs"));
        let secrets = plugins::secrets::SecretBox::load_or_create(&config.data_dir)?;
        Ok(AppState {
            db,
            config: Arc::new(config),
            blobs,
            plugins,
            secrets,
            jobs_wake: Arc::new(tokio::sync::Notify::new()),
            jobs: Arc::new(job_kinds()?),
            job_control: Arc::default(),
        })
    }

    /// The same state with more job kinds registered (tests, and tools embedding the host).
    pub fn with_job_kinds(mut self, specs: impl IntoIterator<Item = jobs::JobKindSpec>) -> anyhow::Result<AppState> {
        let mut registry = (*self.jobs).clone();
        for spec in specs {
            registry.register(spec)?;
        }
        self.jobs = Arc::new(registry);
        Ok(self)
    }
}
