//! A template plugin of world `inn-enrichment`.
//!
//! It answers ИНН lookups from its own settings instead of a real registry: setting
//! `companies` is a JSON object mapping ИНН to a company, e.g.
//!
//! ```json
//! {
//!   "7719402047": { "full_name": "ООО \"МОТОРИКА\"", "kpp": "773101001", "status": "active" },
//!   "500100732259": { "full_name": "ИП Иванов Иван Иванович" }
//! }
//! ```
//!
//! To start a plugin of your own: copy this directory, rename the package in
//! `Cargo.toml` and `id` in `plugin.toml`, add the crate to the workspace members and
//! rewrite `lookup`. Build with `cargo build --release` in `plugins/`.

use std::collections::BTreeMap;

use crm_plugin_sdk::enrichment::{Company, CompanyStatus, PartyKind};
use crm_plugin_sdk::{Error, InnEnrichment, config, log};
use serde::Deserialize;

/// One entry of the `companies` setting.
#[derive(Deserialize)]
struct Entry {
    full_name: String,
    short_name: Option<String>,
    kpp: Option<String>,
    /// `active`, `liquidating`, `liquidated`, `bankrupt`, `reorganizing`; anything
    /// else (or nothing) is `unknown`.
    status: Option<String>,
}

/// The plugin. It has no state: the host may create a fresh instance for any call.
struct Template;

impl InnEnrichment for Template {
    fn lookup(inn: String, _kpp: Option<String>) -> Result<Option<Company>, Error> {
        log::info(format_args!("lookup {inn}"));

        // Settings are JSON. `companies` is declared as a string setting holding JSON
        // text; an object entered directly is accepted too. (A `BTreeMap`, not a
        // `HashMap`: the latter seeds itself from WASI random, an import we avoid.)
        let companies: BTreeMap<String, Entry> = match config::get("companies")? {
            None => BTreeMap::new(),
            Some(serde_json::Value::String(text)) => parse(&text)?,
            Some(value) => parse(&value.to_string())?,
        };

        // An unknown ИНН is not an error: the registry simply does not know it.
        let Some(entry) = companies.get(&inn) else {
            return Ok(None);
        };
        let status = match entry.status.as_deref() {
            Some("active") => CompanyStatus::Active,
            Some("liquidating") => CompanyStatus::Liquidating,
            Some("liquidated") => CompanyStatus::Liquidated,
            Some("bankrupt") => CompanyStatus::Bankrupt,
            Some("reorganizing") => CompanyStatus::Reorganizing,
            _ => CompanyStatus::Unknown,
        };
        // A 12-digit ИНН belongs to a person: a sole proprietor (ИП).
        let kind = if inn.len() == 12 {
            PartyKind::SoleProprietor
        } else {
            PartyKind::LegalEntity
        };
        Ok(Some(Company {
            kpp: entry.kpp.clone(),
            full_name: entry.full_name.clone(),
            short_name: entry.short_name.clone(),
            ..Company::new(kind, inn, status)
        }))
    }
}

/// Parses the `companies` setting; a broken setting is the admin's to fix, so the
/// error says where it is.
fn parse(text: &str) -> Result<BTreeMap<String, Entry>, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::Internal(format!(
            "setting `companies` is not a valid JSON object of companies: {e}"
        ))
    })
}

// Makes `Template` the component's `enrichment` export.
crm_plugin_sdk::export_inn_enrichment!(Template);
