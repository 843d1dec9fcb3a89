//! Plugin `accounting-1c` (world `accounting-sync`): counterparties, contracts, sales
//! documents and incoming bank payments from a 1С:Предприятие base through its
//! standard OData interface, page by page. The contract is
//! `docs/1c-odata-format.md`.
//!
//! Settings: `base_url` (the OData root, `http://1c.local/buh/odata/standard.odata/`),
//! `username`, secret `password` (sent as HTTP Basic), `configuration` (`bp30` or
//! `ut11`), `lookback_days`, `default_currency`. URLs, credentials, error answers and
//! the mapping live in [`map`], which makes no host calls, so its tests run natively:
//! `cargo test -p accounting-1c --target x86_64-unknown-linux-gnu`.

use crm_plugin_sdk::accounting::{EntityKind, Page};
use crm_plugin_sdk::{AccountingSync, Error, config, http, log};

pub mod map;

/// The plugin.
pub struct OneC;

impl AccountingSync for OneC {
    fn fetch_page(
        kind: EntityKind,
        since: Option<String>,
        cursor: Option<String>,
        page_size: u32,
    ) -> Result<Page, Error> {
        if page_size == 0 {
            return Err(Error::InvalidInput(
                "page_size must be at least 1".to_owned(),
            ));
        }
        let skip = map::parse_cursor(cursor.as_deref())?;
        let settings = map::Settings::new(
            config::get_str("base_url")?.as_deref(),
            config::get_str("configuration")?.as_deref(),
            config::get_i64("lookback_days")?,
            config::get_str("default_currency")?.as_deref(),
        )?;
        let url = map::page_url(&settings, kind, since.as_deref(), skip, page_size)?;
        // The credentials go into the header only: never into a log line or an error.
        let authorization = authorization()?;

        let set = map::entity_set(kind);
        let body = get(&url, &authorization, set)?;
        let records = map::parse_records(kind, &body)?;
        let currencies = if records.needs_currencies() {
            let body = get(
                &map::currencies_url(&settings),
                &authorization,
                map::CURRENCIES,
            )?;
            Some(map::parse_currencies(&body)?)
        } else {
            None
        };
        let mapped = map::map_records(&records, &settings, currencies.as_ref());
        let count = records.len();
        log::info(format_args!(
            "{set} skip={skip}: {count} records, {} rejected",
            mapped.rejected.len()
        ));
        Ok(Page {
            entries: mapped.entries,
            rejected: mapped.rejected,
            next_cursor: map::next_cursor(skip, count, page_size),
        })
    }
}

/// `Basic …` from the `username` setting and the `password` secret (may be empty:
/// 1C users often have none).
fn authorization() -> Result<String, Error> {
    let username = config::get_str("username")?.unwrap_or_default();
    let username = username.trim();
    if username.is_empty() {
        return Err(Error::InvalidInput(
            "setting `username` is not set: enter the 1C user the sync logs in as".to_owned(),
        ));
    }
    let password = config::secret("password")?.ok_or_else(|| {
        Error::InvalidInput(
            "setting `password` is not set: enter the 1C user's password".to_owned(),
        )
    })?;
    Ok(map::basic_auth(username, &password))
}

/// GETs `url` and returns the body of an HTTP 200 answer; any other status is the
/// error [`map::status_error`] describes.
fn get(url: &str, authorization: &str, set: &str) -> Result<Vec<u8>, Error> {
    let request = http::Request::new("GET", url)
        .header("Authorization", authorization)
        .header("Accept", "application/json");
    let response = http::fetch(&request)?;
    if response.status != 200 {
        let error = map::status_error(response.status, &response.body, set);
        log::warn(format_args!("{set}: {}", error.message()));
        return Err(error);
    }
    Ok(response.body)
}

crm_plugin_sdk::export_accounting_sync!(OneC);
