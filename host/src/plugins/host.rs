//! The host side of the plugin imports: logging, the plugin's own settings and
//! secrets, outbound HTTP, the clock, mail. Every call checks the grant; what is not
//! granted returns the WIT `access-denied` error (only host bugs trap).

use chrono::Utc;

use super::bindings::WitError;
use super::bindings::crm::plugin::{clock, config, http, log, mail, types};
use super::runtime::PluginState;

/// Longest log line kept; the rest is cut.
const MAX_LOG_LINE: usize = 2048;
/// Log lines kept per call; a chatty plugin cannot flood the logs.
const MAX_LOG_LINES: u32 = 200;

impl types::Host for PluginState {}

impl log::Host for PluginState {
    async fn log(&mut self, level: log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let call = &self.call;
        let (tenant, plugin) = (call.tenant.to_string(), call.plugin_id.as_str());
        match level {
            log::Level::Trace => tracing::trace!(target: "plugin", %tenant, plugin, "{message}"),
            log::Level::Debug => tracing::debug!(target: "plugin", %tenant, plugin, "{message}"),
            log::Level::Info => tracing::info!(target: "plugin", %tenant, plugin, "{message}"),
            log::Level::Warn => tracing::warn!(target: "plugin", %tenant, plugin, "{message}"),
            log::Level::Error => tracing::error!(target: "plugin", %tenant, plugin, "{message}"),
        }
    }
}

impl config::Host for PluginState {
    async fn get(&mut self, key: String) -> Result<Option<String>, WitError> {
        let def = self
            .call
            .manifest
            .setting(&key)
            .ok_or_else(|| WitError::AccessDenied(format!("setting `{key}` is not declared in the manifest")))?;
        if def.secret {
            return Err(WitError::AccessDenied(format!("`{key}` is a secret: read it with get-secret")));
        }
        let value = self.call.settings.get(&key).cloned().or_else(|| def.default.clone());
        Ok(value.map(|v| v.to_string()))
    }

    async fn get_secret(&mut self, key: String) -> Result<Option<String>, WitError> {
        match self.call.manifest.setting(&key) {
            Some(def) if def.secret => Ok(self.call.secrets.get(&key).cloned()),
            _ => Err(WitError::AccessDenied(format!("`{key}` is not declared as a secret in the manifest"))),
        }
    }
}

impl http::Host for PluginState {
    async fn fetch(&mut self, req: http::Request) -> Result<http::Response, WitError> {
        let call = self.call.clone();
        super::http::fetch(req, &call.grants, call.http_limits).await
    }
}

impl clock::Host for PluginState {
    async fn now_ms(&mut self) -> u64 {
        u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default()
    }

    async fn today(&mut self) -> String {
        crate::tenancy::access::today_in(&self.call.time_zone).format("%Y-%m-%d").to_string()
    }
}

impl mail::Host for PluginState {
    async fn send(&mut self, _message: mail::Email) -> Result<String, WitError> {
        Err(WitError::AccessDenied("sending mail is not set up on this host yet".into()))
    }
}
