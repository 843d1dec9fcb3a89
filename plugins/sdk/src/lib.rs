//! Write CRM plugins in Rust.
//!
//! A plugin is a WebAssembly component implementing one of the `crm:plugin` WIT worlds
//! (`wit/0.2.0/plugin.wit` at the repository root). This SDK builds against contract
//! `crm:plugin@0.2.0`; components built with an earlier SDK keep running on the host. This crate hides the generated bindings:
//! for each world there is one small trait to implement and one macro to export it.
//!
//! | world                  | trait                   | export macro                     |
//! |------------------------|-------------------------|----------------------------------|
//! | `inn-enrichment`       | [`InnEnrichment`]       | [`export_inn_enrichment!`]       |
//! | `mail-linker`          | [`MailLinker`]          | [`export_mail_linker!`]          |
//! | `accounting-sync`      | [`AccountingSync`]      | [`export_accounting_sync!`]      |
//! | `fee-rule`             | [`FeeRule`]             | [`export_fee_rule!`]             |
//! | `notification-channel` | [`NotificationChannel`] | [`export_notification_channel!`] |
//!
//! What the host offers the plugin is in [`log`], [`config`], [`http`], [`clock`] and
//! [`mail`]. Each call is allowed only as far as the tenant's admin granted it; a call
//! outside the grant returns [`Error::AccessDenied`]. Do not use files, environment
//! variables, sockets or clocks from the Rust standard library: the sandbox has none.
//! Prefer `BTreeMap` to `HashMap`, whose random seed makes the component import
//! `wasi:random`.
//!
//! ```
//! use crm_plugin_sdk::enrichment::{Company, CompanyStatus, PartyKind};
//! use crm_plugin_sdk::{Error, InnEnrichment, log};
//!
//! struct Plugin;
//!
//! impl InnEnrichment for Plugin {
//!     fn lookup(inn: String, _kpp: Option<String>) -> Result<Option<Company>, Error> {
//!         log::info(format_args!("lookup {inn}"));
//!         Ok(Some(Company {
//!             full_name: "ООО \"РОМАШКА\"".into(),
//!             ..Company::new(PartyKind::LegalEntity, inn, CompanyStatus::Active)
//!         }))
//!     }
//! }
//!
//! crm_plugin_sdk::export_inn_enrichment!(Plugin);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`: the output
//! `target/wasm32-wasip2/release/<crate>.wasm` is the component to upload, together
//! with the plugin's `plugin.toml` manifest.
#![deny(missing_docs)]

pub mod accounting;
pub mod channel;
pub mod clock;
pub mod config;
pub mod enrichment;
pub mod fees;
pub mod http;
pub mod linker;
pub mod log;
pub mod mail;

#[doc(hidden)]
pub mod __private;

/// The JSON library the SDK speaks ([`config::get`] returns its [`Value`](serde_json::Value)),
/// re-exported so a plugin uses the same version.
pub use serde_json;

pub use accounting::AccountingSync;
pub use channel::NotificationChannel;
pub use enrichment::InnEnrichment;
pub use fees::FeeRule;
pub use linker::MailLinker;

/// Why a host call or a plugin call failed.
///
/// Return it from a plugin function to tell the host what went wrong; host calls
/// ([`config`], [`http`], …) return it too, and a plugin usually passes those on
/// unchanged with `?`.
pub use __private::notification_channel::crm::plugin::types::Error;

/// An exact decimal number written as a string: `"1500000.00"`, `"-3.5"`.
pub use __private::notification_channel::crm::plugin::types::Decimal;

/// A calendar date written `YYYY-MM-DD`.
pub use __private::notification_channel::crm::plugin::types::Date;

impl Error {
    /// The message the error carries, whatever its kind.
    pub fn message(&self) -> &str {
        match self {
            Error::AccessDenied(m)
            | Error::InvalidInput(m)
            | Error::NotFound(m)
            | Error::Unavailable(m)
            | Error::Misconfigured(m)
            | Error::Internal(m) => m,
        }
    }
}
