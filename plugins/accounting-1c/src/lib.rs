//! Plugin `accounting-1c` (world `accounting-sync`): counterparties, contracts, sales
//! documents and incoming bank payments from a 1С:Предприятие base through its
//! standard OData interface, page by page. The contract is
//! `docs/1c-odata-format.md`.
//!
//! Settings: `base_url` (the OData root, `http://1c.local/buh/odata/standard.odata/`),
//! `username`, secret `password` (sent as HTTP Basic), `configuration` (`bp30` or
//! `ut11`), `lookback_days`, `default_currency`, `ruble_currency_ref`,
//! `primary_document`, `contract_manager_field`. URLs, credentials, error answers and
//! the mapping live in [`map`], which makes no host calls, so its tests run natively:
//! `cargo test -p accounting-1c --target x86_64-unknown-linux-gnu`.
//!
//! An entity set the base does not publish is a settings error (the sync fails at once,
//! saying how to publish it), except the catalogs a page can do without: without
//! `Catalog_Валюты` documents with an empty currency reference (or the ruble's,
//! `ruble_currency_ref`) are still taken, and without `Catalog_Партнеры` or
//! `Catalog_Пользователи` clients come without their managers (or the managers' names).
//! The plugin says so in a warning, which the sync's report shows.

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
        )?
        .with_options(
            config::get_str("ruble_currency_ref")?.as_deref(),
            config::get_str("primary_document")?.as_deref(),
            config::get_str("contract_manager_field")?.as_deref(),
        )?;
        let url = map::page_url(&settings, kind, since.as_deref(), skip, page_size)?;
        // The credentials go into the header only: never into a log line or an error.
        let authorization = authorization()?;

        let set = map::entity_set(kind);
        let body = get(&url, &authorization, set).map_err(|(_, e)| e)?;
        let records = map::parse_records(kind, &body)?;
        let currencies = if records.needs_currencies() {
            match optional(get(&map::currencies_url(&settings), &authorization, map::CURRENCIES))? {
                Some(body) => Some(map::parse_currencies(&body)?),
                None => {
                    without_currencies(&records, &settings)?;
                    None
                }
            }
        } else {
            None
        };
        let managers = managers(&records, &settings, &authorization)?;
        let mapped = map::map_records(&records, &settings, currencies.as_ref(), &managers);
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

/// `Ok(None)` for an entity set 1C does not publish (HTTP 404), for the catalogs a page
/// can do without.
fn optional(answer: Result<Vec<u8>, (u16, Error)>) -> Result<Option<Vec<u8>>, Error> {
    match answer {
        Ok(body) => Ok(Some(body)),
        Err((404, _)) => Ok(None),
        Err((_, e)) => Err(e),
    }
}

/// Without `Catalog_Валюты` a page goes on only when every currency it names is empty or
/// the ruble's reference; otherwise the sync stops, saying how to publish the catalog.
fn without_currencies(records: &map::Records<'_>, settings: &map::Settings) -> Result<(), Error> {
    let unresolved = records.currencies_needing_the_catalog(settings);
    if let Some(first) = unresolved.first() {
        return Err(Error::Misconfigured(format!(
            "1С does not publish {} and the documents name currencies by reference only ({}{}): {}; or, if {first} is the ruble, \
             set the module's ruble_currency_ref setting to it to sync documents in rubles without the catalog",
            map::CURRENCIES,
            unresolved.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if unresolved.len() > 3 { ", …" } else { "" },
            map::how_to_publish(map::CURRENCIES)
        )));
    }
    log::warn(format_args!(
        "1С does not publish {}: documents with an empty currency reference{} were taken in {} (publish the catalog: {})",
        map::CURRENCIES,
        if settings.ruble_currency_ref.is_some() { " or the ruble's (ruble_currency_ref)" } else { "" },
        if settings.ruble_currency_ref.is_some() { "rubles" } else { settings.default_currency.as_str() },
        map::how_to_publish(map::CURRENCIES)
    ));
    Ok(())
}

/// The responsible managers the page's records name, with their names: the partners' main
/// managers (УТ 11) and the contracts' responsible users, looked up a few dozen at a time.
/// Catalogs the base does not publish are done without, with a warning.
fn managers(records: &map::Records<'_>, settings: &map::Settings, authorization: &str) -> Result<map::Managers, Error> {
    let mut managers = map::Managers::default();
    let partners = records.partner_keys();
    for chunk in partners.chunks(map::LOOKUP_CHUNK) {
        let keys: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let url = map::lookup_url(settings, map::PARTNERS, "Ref_Key,ОсновнойМенеджер_Key", &keys);
        match optional(get(&url, authorization, map::PARTNERS))? {
            Some(body) => map::parse_partners(&body, &mut managers)?,
            None => {
                log::warn(format_args!(
                    "1С does not publish {}: clients come without their responsible managers ({})",
                    map::PARTNERS,
                    map::how_to_publish(map::PARTNERS)
                ));
                break;
            }
        }
    }
    let mut users: Vec<String> = managers.partner_manager.values().cloned().chain(records.contract_manager_keys()).collect();
    users.sort_unstable();
    users.dedup();
    for chunk in users.chunks(map::LOOKUP_CHUNK) {
        let keys: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let url = map::lookup_url(settings, map::USERS, "Ref_Key,Description", &keys);
        match optional(get(&url, authorization, map::USERS))? {
            Some(body) => map::parse_users(&body, &mut managers)?,
            None => {
                log::warn(format_args!(
                    "1С does not publish {}: managers come without their names ({})",
                    map::USERS,
                    map::how_to_publish(map::USERS)
                ));
                break;
            }
        }
    }
    Ok(managers)
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
/// error [`map::status_error`] describes, with the status.
fn get(url: &str, authorization: &str, set: &str) -> Result<Vec<u8>, (u16, Error)> {
    let request = http::Request::new("GET", url)
        .header("Authorization", authorization)
        .header("Accept", "application/json");
    let response = http::fetch(&request).map_err(|e| (0, e))?;
    if response.status != 200 {
        let error = map::status_error(response.status, &response.body, set);
        log::info(format_args!("{set}: {}", error.message()));
        return Err((response.status, error));
    }
    Ok(response.body)
}

crm_plugin_sdk::export_accounting_sync!(OneC);
