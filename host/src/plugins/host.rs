//! The host side of the plugin imports: one module per host interface (`log`, `config`,
//! `http`, `clock`, `mail`), each with its own context in the store and its own grant
//! (see `capabilities`), each serving every published contract version from one
//! version-neutral implementation. What is not granted returns the WIT `access-denied`
//! error; only host bugs trap.

pub mod clock;
pub mod config;
pub mod http;
pub mod log;
pub mod mail;

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::{v0_1, v0_2};
use super::runtime::CallContext;

/// Everything one call's store holds: the WASI context the standard library needs, the
/// memory limiter, and one context per host interface.
pub struct PluginState {
    /// Built on first use: most calls never touch WASI, and building it is not free.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub(crate) limits: super::memory::Limiter,
    /// Set when the guest yields at an epoch tick: it is using CPU (see `Runtime::run`).
    pub(crate) on_cpu: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) call: Arc<CallContext>,
    pub(crate) log: log::LogCtx,
    pub(crate) config: config::ConfigCtx,
    pub(crate) http: http::HttpCtx,
    pub(crate) clock: clock::ClockCtx,
    pub(crate) mail: mail::MailCtx,
}

impl PluginState {
    pub fn new(call: Arc<CallContext>, limits: super::memory::Limiter) -> PluginState {
        PluginState {
            wasi: None,
            table: ResourceTable::new(),
            limits,
            on_cpu: Arc::default(),
            log: log::LogCtx::new(call.clone()),
            config: config::ConfigCtx::new(call.clone()),
            http: http::HttpCtx::new(call.clone()),
            clock: clock::ClockCtx::new(call.clone()),
            mail: mail::MailCtx::new(call.clone()),
            call,
        }
    }

    /// The instance's settings as a JSON object (fee rules of contract 0.1.0 took them
    /// as an argument).
    pub fn settings_json(&self) -> String {
        serde_json::Value::Object(self.call.granted.config.settings.clone()).to_string()
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // No preopens, no environment, no sockets: plugins reach the world only through
        // the crm:plugin imports.
        let ctx = self.wasi.get_or_insert_with(|| WasiCtxBuilder::new().build());
        WasiCtxView { ctx, table: &mut self.table }
    }
}

impl v0_1::crm::plugin::types::Host for PluginState {}
impl v0_2::crm::plugin::types::Host for PluginState {}

/// Links every host interface of every published contract version, and WASI (which a
/// Rust guest's standard library imports whether it uses it or not).
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    v0_1::crm::plugin::types::add_to_linker::<_, HasSelf<PluginState>>(linker, |s| s)?;
    v0_2::crm::plugin::types::add_to_linker::<_, HasSelf<PluginState>>(linker, |s| s)?;
    log::add_to_linker(linker)?;
    config::add_to_linker(linker)?;
    http::add_to_linker(linker)?;
    clock::add_to_linker(linker)?;
    mail::add_to_linker(linker)?;
    Ok(())
}
