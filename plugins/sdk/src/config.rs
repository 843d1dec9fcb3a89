//! The plugin's settings and secrets for the calling tenant, as the tenant's admin
//! entered them when enabling the plugin (declared in the plugin's `plugin.toml`).
//!
//! Settings arrive as JSON values ([`get`], or typed: [`get_str`], [`get_i64`],
//! [`get_bool`], [`get_as`]); secrets as raw strings ([`secret`],
//! [`required_secret`]). A setting that is not set reads as `None`: apply the
//! manifest's default yourself.
//!
//! ```no_run
//! use crm_plugin_sdk::{config, Error};
//!
//! fn settings() -> Result<(String, String), Error> {
//!     let base_url = config::get_str("base_url")?.unwrap_or_else(|| "https://example.ru/".into());
//!     let api_key = config::required_secret("api_key")?;
//!     Ok((base_url, api_key))
//! }
//! ```

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::__private::notification_channel::crm::plugin::config as wit;
use crate::Error;

/// A setting's value, or `None` when it is not set (or set to JSON `null`).
///
/// Secret settings are not readable here: use [`secret`]. Fails with
/// [`Error::Internal`] if the host hands over text that is not JSON.
pub fn get(key: &str) -> Result<Option<Value>, Error> {
    let Some(text) = wit::get(key)? else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(Value::Null) => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(e) => Err(Error::Internal(format!(
            "setting `{key}` is not valid JSON: {e}"
        ))),
    }
}

/// A setting deserialized into `T`, or `None` when it is not set.
///
/// Fails with [`Error::Internal`] naming the setting when the value does not fit `T`.
pub fn get_as<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    match get(key)? {
        None => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| Error::Internal(format!("setting `{key}` has an unexpected value: {e}"))),
    }
}

/// A string setting, or `None` when it is not set.
///
/// Fails with [`Error::Internal`] when the value is not a JSON string.
pub fn get_str(key: &str) -> Result<Option<String>, Error> {
    match get(key)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::Internal(format!("setting `{key}` is not a string"))),
    }
}

/// An integer setting, or `None` when it is not set.
///
/// Fails with [`Error::Internal`] when the value is not a JSON integer.
pub fn get_i64(key: &str) -> Result<Option<i64>, Error> {
    match get(key)? {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| Error::Internal(format!("setting `{key}` is not an integer"))),
    }
}

/// A boolean setting, or `None` when it is not set.
///
/// Fails with [`Error::Internal`] when the value is not a JSON boolean.
pub fn get_bool(key: &str) -> Result<Option<bool>, Error> {
    match get(key)? {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(Error::Internal(format!("setting `{key}` is not a boolean"))),
    }
}

/// A secret setting's raw value, or `None` when it is not set.
///
/// [`Error::AccessDenied`] unless the manifest declares `key` with `secret = true`.
/// Never log the value.
pub fn secret(key: &str) -> Result<Option<String>, Error> {
    wit::get_secret(key)
}

/// A secret setting that must be set: like [`secret`], but a missing value is
/// [`Error::Internal`] saying that the tenant's admin has to enter it.
pub fn required_secret(key: &str) -> Result<String, Error> {
    secret(key)?.ok_or_else(|| {
        Error::Internal(format!(
            "secret setting `{key}` is not set; the tenant's admin must enter it in the plugin's settings"
        ))
    })
}
