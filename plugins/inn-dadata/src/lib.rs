//! Plugin `inn-dadata` (world `inn-enrichment`): company data by ИНН from DaData's
//! `findById/party`.
//!
//! Settings: `base_url` (default [`DEFAULT_BASE_URL`]), secret `api_key` (required,
//! sent as `Authorization: Token …`), secret `secret_key` (optional, sent as
//! `X-Secret`). The mapping from DaData's JSON lives in [`map`], which makes no host
//! calls, so its tests run natively:
//! `cargo test -p inn-dadata --target x86_64-unknown-linux-gnu`.

use crm_plugin_sdk::enrichment::Company;
use crm_plugin_sdk::{Error, InnEnrichment, config, http, log};

pub mod map;

/// DaData's suggestions API, used when the `base_url` setting is not set.
pub const DEFAULT_BASE_URL: &str = "https://suggestions.dadata.ru/suggestions/api/4_1/rs/";

/// The plugin.
pub struct DaData;

impl InnEnrichment for DaData {
    fn lookup(inn: String, kpp: Option<String>) -> Result<Option<Company>, Error> {
        let base_url = config::get_str("base_url")?
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let api_key = config::required_secret("api_key")?;
        let secret_key = config::secret("secret_key")?.filter(|key| !key.is_empty());

        // The keys go into headers only: never into a log line or an error message.
        let authorization = format!("Token {}", api_key.trim());
        let mut headers = vec![("Authorization", authorization.as_str())];
        if let Some(secret_key) = &secret_key {
            headers.push(("X-Secret", secret_key.trim()));
        }

        let kpp = kpp.filter(|kpp| !kpp.trim().is_empty());
        log::info(format_args!(
            "findById/party inn={inn} kpp={}",
            kpp.as_deref().unwrap_or("-")
        ));
        let (status, body) = http::post_json(
            &map::endpoint(&base_url),
            &headers,
            &map::request_body(&inn, kpp.as_deref()),
        )?;
        if status != 200 {
            let error = map::status_error(status, &body);
            log::warn(error.message());
            return Err(error);
        }

        let company = map::company_from_response(&body, &inn)?;
        match &company {
            Some(c) => log::info(format_args!("found inn={} status={:?}", c.inn, c.status)),
            None => log::info(format_args!("not found inn={inn}")),
        }
        Ok(company)
    }
}

crm_plugin_sdk::export_inn_enrichment!(DaData);
