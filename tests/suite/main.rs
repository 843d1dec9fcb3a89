#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
//! The end-to-end suite. Every test runs on SQLite and on PostgreSQL
//! (`crm_tests::on_both_engines!`), through the real router.

mod api_surface;
mod claim_letters;
mod contacts;
mod counterparties;
mod counterparty_fixes;
mod cross_tenant;
mod deals;
mod documents_tasks;
mod factoring;
mod isolation;
mod jobs;
mod jobs_migration;
mod leads;
mod mail_delivery;
mod plugin_platform;
mod pages;
mod plugins;
mod receivables;
mod receivables_as_of;
mod receivables_sync_1c;
mod reminders;
mod reminders_control;
mod sales;
mod schema;
mod strict_input;
mod templates;
mod tenancy;
mod timeline_audit;
