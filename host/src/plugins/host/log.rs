//! `crm:plugin/log`: the plugin's log lines, in the host's logs under the module's name
//! (and, for a `try` call, returned to the admin who made it).

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;
use wasmtime::component::{HasData, Linker};

use super::PluginState;
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::runtime::CallContext;

/// Longest log line kept; the rest is cut.
const MAX_LOG_LINE: usize = 2048;
/// Log lines kept per call; a chatty plugin cannot flood the logs.
const MAX_LOG_LINES: u32 = 200;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
}

/// The log interface's part of a store.
pub struct LogCtx {
    call: Arc<CallContext>,
    lines: u32,
    /// Lines kept for the caller (`try`), when it asked for them.
    pub(crate) captured: Option<Vec<LogLine>>,
}

impl LogCtx {
    pub fn new(call: Arc<CallContext>) -> LogCtx {
        let captured = call.capture_log.then(Vec::new);
        LogCtx { call, lines: 0, captured }
    }

    fn write(&mut self, level: Level, mut message: String) {
        self.lines += 1;
        if self.lines > MAX_LOG_LINES {
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let (tenant, module) = (self.call.tenant.to_string(), self.call.module_id.as_str());
        match level {
            Level::Trace => tracing::trace!(target: "plugin", %tenant, module, "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", %tenant, module, "{message}"),
            Level::Info => tracing::info!(target: "plugin", %tenant, module, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", %tenant, module, "{message}"),
            Level::Error => tracing::error!(target: "plugin", %tenant, module, "{message}"),
        }
        if let Some(lines) = &mut self.captured {
            lines.push(LogLine { level, message });
        }
    }
}

macro_rules! level_from {
    ($version:ident) => {
        impl From<$version::crm::plugin::log::Level> for Level {
            fn from(l: $version::crm::plugin::log::Level) -> Level {
                use $version::crm::plugin::log::Level as L;
                match l {
                    L::Trace => Level::Trace,
                    L::Debug => Level::Debug,
                    L::Info => Level::Info,
                    L::Warn => Level::Warn,
                    L::Error => Level::Error,
                }
            }
        }

        impl $version::crm::plugin::log::Host for LogCtx {
            async fn log(&mut self, level: $version::crm::plugin::log::Level, message: String) {
                self.write(level.into(), message)
            }
        }
    };
}
level_from!(v0_1);
level_from!(v0_2);

struct Log;
impl HasData for Log {
    type Data<'a> = &'a mut LogCtx;
}

pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1::crm::plugin::log::add_to_linker::<_, Log>(linker, |s| &mut s.log)?;
    v0_2::crm::plugin::log::add_to_linker::<_, Log>(linker, |s| &mut s.log)
}
