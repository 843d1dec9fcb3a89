//! Log lines, kept in the host's logs under the plugin's name.
//!
//! Every function takes anything [`Display`]: a `&str`, a `String`, or
//! `format_args!(…)` to format without an intermediate `String`.
//!
//! ```no_run
//! use crm_plugin_sdk::log;
//!
//! let inn = "7719402047";
//! log::info(format_args!("looking up {inn}"));
//! log::warn("the registry is slow today");
//! ```
//!
//! Long lines are cut by the host. Never log secrets (API keys, passwords, tokens).

use std::fmt::Display;

use crate::__private::notification_channel::crm::plugin::log as wit;

/// Severity of a log line.
pub use wit::Level;

/// Writes one line at `level`.
pub fn log(level: Level, message: impl Display) {
    wit::log(level, &message.to_string());
}

/// Writes one `trace` line.
pub fn trace(message: impl Display) {
    log(Level::Trace, message);
}

/// Writes one `debug` line.
pub fn debug(message: impl Display) {
    log(Level::Debug, message);
}

/// Writes one `info` line.
pub fn info(message: impl Display) {
    log(Level::Info, message);
}

/// Writes one `warn` line.
pub fn warn(message: impl Display) {
    log(Level::Warn, message);
}

/// Writes one `error` line.
pub fn error(message: impl Display) {
    log(Level::Error, message);
}
