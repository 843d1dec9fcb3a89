//! One wasmtime engine for the process; components compiled once and cached on disk;
//! `InstancePre` per plugin version; a fresh store and instance per call from the
//! pooling allocator, under an epoch deadline, a memory cap and an output-size cap.
//! A trap, a timeout or a limit fails only that call.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Map, Value};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::tenancy::TenantId;

use super::bindings::{self, AccountingEntry, AccountingPage, Company, EntityKind, WitError};
use super::http::HttpLimits;
use super::manifest::{Manifest, World};
use super::store::{Grants, Outcome};

/// Limits every call runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time for one call, instantiation included.
    pub timeout: Duration,
    /// Linear memory a plugin instance may grow to.
    pub memory_bytes: usize,
    /// Size of what a call may return.
    pub output_bytes: usize,
    /// Plugin instances alive at once (pooling allocator slots).
    pub instances: u32,
    /// Bytes of each memory slot kept resident between calls (reset in place).
    pub keep_resident_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(5), memory_bytes: 128 << 20, output_bytes: 1 << 20, instances: 64, keep_resident_bytes: 2 << 20 }
    }
}

/// Everything a call may use: who calls, the plugin's settings, secrets and grants.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub tenant: TenantId,
    pub plugin_id: String,
    pub version: String,
    pub manifest: Manifest,
    pub settings: Map<String, Value>,
    pub secrets: HashMap<String, String>,
    pub grants: Grants,
    pub time_zone: String,
    pub http_limits: HttpLimits,
}

/// Per-call store data.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub(crate) call: Arc<CallContext>,
    pub(crate) log_lines: u32,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error value.
    #[error("{}", describe_wit(.0))]
    Plugin(WitError),
    /// The plugin trapped, timed out or broke a limit; the message says which.
    #[error("{message}")]
    Failed { outcome: Outcome, message: String },
    /// The component could not be loaded.
    #[error("{0}")]
    Load(String),
}

impl CallError {
    pub fn outcome(&self) -> Outcome {
        match self {
            CallError::Plugin(_) => Outcome::Error,
            CallError::Failed { outcome, .. } => *outcome,
            CallError::Load(_) => Outcome::Trap,
        }
    }
}

pub fn describe_wit(e: &WitError) -> String {
    match e {
        WitError::AccessDenied(m) => format!("access denied: {m}"),
        WitError::InvalidInput(m) => format!("invalid input: {m}"),
        WitError::NotFound(m) => format!("not found: {m}"),
        WitError::Unavailable(m) => format!("unavailable: {m}"),
        WitError::Internal(m) => format!("internal error: {m}"),
    }
}

/// A compiled component, ready to instantiate for its world.
pub struct Compiled {
    pub world: World,
    pre: wasmtime::component::InstancePre<PluginState>,
    enrichment: Option<bindings::inn_enrichment::InnEnrichmentPre<PluginState>>,
    accounting: Option<bindings::accounting_sync::AccountingSyncPre<PluginState>>,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    cache_dir: Option<PathBuf>,
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
    pub limits: Limits,
}

impl Runtime {
    pub fn new(cache_dir: Option<PathBuf>, limits: Limits) -> anyhow::Result<Arc<Runtime>> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_backtrace_max_frames(None);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(limits.instances)
            .total_core_instances(limits.instances * 8)
            .total_memories(limits.instances * 2)
            .total_tables(limits.instances * 4)
            .total_stacks(limits.instances)
            .max_memory_size(limits.memory_bytes)
            // Keep a slot's pages mapped between calls and reset only the pages the
            // last call dirtied (found with Linux's PAGEMAP_SCAN where the kernel has
            // it, 6.7+): no madvise on drop, no page faults on the next call.
            .linear_memory_keep_resident(limits.keep_resident_bytes)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:#}")).context("starting the plugin engine")?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        bindings::PluginHost::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s).map_err(|e| anyhow::anyhow!("{e:#}"))?;

        spawn_epoch_ticker(&engine);
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(Arc::new(Runtime { engine, linker, cache_dir, compiled: Mutex::new(HashMap::new()), limits }))
    }

    /// Compiles (or loads from the cache) a component and checks it implements `world`.
    pub fn load(&self, sha256: &str, bytes: &[u8], world: World) -> Result<Arc<Compiled>, CallError> {
        if let Some(c) = self.cached(sha256, world) {
            return Ok(c);
        }
        let component = self.component(sha256, bytes)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| CallError::Load(format!("the component needs imports this host does not provide: {e:#}")))?;
        let mut compiled = Compiled { world, pre: pre.clone(), enrichment: None, accounting: None };
        match world {
            World::InnEnrichment => {
                compiled.enrichment = Some(
                    bindings::inn_enrichment::InnEnrichmentPre::new(pre)
                        .map_err(|e| CallError::Load(format!("the component does not implement inn-enrichment: {e:#}")))?,
                );
            }
            World::MailLinker => check(bindings::mail_linker::MailLinkerPre::new(pre), world)?,
            World::AccountingSync => {
                compiled.accounting = Some(
                    bindings::accounting_sync::AccountingSyncPre::new(pre)
                        .map_err(|e| CallError::Load(format!("the component does not implement accounting-sync: {e:#}")))?,
                );
            }
            World::FeeRule => check(bindings::fee_rule::FeeRulePre::new(pre), world)?,
            World::NotificationChannel => check(bindings::notification_channel::NotificationChannelPre::new(pre), world)?,
        }
        let compiled = Arc::new(compiled);
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).insert(format!("{sha256}/{world}"), compiled.clone());
        Ok(compiled)
    }

    /// A component already compiled for `world` in this process, if any.
    pub fn cached(&self, sha256: &str, world: World) -> Option<Arc<Compiled>> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).get(&format!("{sha256}/{world}")).cloned()
    }

    fn component(&self, sha256: &str, bytes: &[u8]) -> Result<Component, CallError> {
        let cached = self.cache_dir.as_ref().map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_key())));
        if let Some(path) = cached.as_ref().filter(|p| p.exists()) {
            // SAFETY: the file was written by `Component::serialize` of this same engine
            // configuration (its compatibility hash is in the name), into the server's
            // own data directory; wasmtime still checks the header and the version.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize_file(&self.engine, path) } {
                Ok(c) => return Ok(c),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "recompiling a plugin whose cached artifact does not load"),
            }
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| CallError::Load(format!("not a valid WebAssembly component: {e:#}")))?;
        if let Some(path) = cached {
            match component.serialize() {
                Ok(artifact) => {
                    let tmp = path.with_extension("tmp");
                    if std::fs::write(&tmp, artifact).and_then(|()| std::fs::rename(&tmp, &path)).is_err() {
                        tracing::warn!(path = %path.display(), "could not cache a compiled plugin");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not serialize a compiled plugin"),
            }
        }
        Ok(component)
    }

    fn engine_key(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        format!("{:016x}", h.finish())
    }

    fn store(&self, call: Arc<CallContext>) -> Store<PluginState> {
        let limits = StoreLimitsBuilder::new().memory_size(self.limits.memory_bytes).trap_on_grow_failure(true).instances(32).build();
        // No preopens, no environment, no sockets: plugins reach the world only through
        // the crm:plugin imports.
        let state = PluginState { wasi: WasiCtxBuilder::new().build(), table: ResourceTable::new(), limits, call, log_lines: 0 };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Yield to tokio at every epoch tick, so a spinning guest never holds a worker;
        // the call's timeout then cancels it.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        store
    }

    /// `enrichment.lookup` on a fresh instance.
    pub async fn lookup(&self, compiled: &Compiled, call: Arc<CallContext>, inn: &str, kpp: Option<&str>) -> Result<Option<Company>, CallError> {
        let pre = compiled.enrichment.as_ref().ok_or_else(|| CallError::Load("the plugin does not implement inn-enrichment".into()))?;
        let mut store = self.store(call);
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.crm_plugin_enrichment().call_lookup(&mut store, inn, kpp).await
        };
        let result = self.finish(tokio::time::timeout(self.limits.timeout, run).await)?;
        if let Some(company) = &result {
            self.check_output(company_size(company))?;
        }
        Ok(result)
    }

    /// `accounting.fetch-page` on a fresh instance: one page of an accounting system's
    /// records. The page's size is checked against the output limit.
    pub async fn fetch_page(
        &self,
        compiled: &Compiled,
        call: Arc<CallContext>,
        kind: EntityKind,
        since: Option<&str>,
        cursor: Option<&str>,
        page_size: u32,
    ) -> Result<AccountingPage, CallError> {
        let pre = compiled.accounting.as_ref().ok_or_else(|| CallError::Load("the plugin does not implement accounting-sync".into()))?;
        let mut store = self.store(call);
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.crm_plugin_accounting().call_fetch_page(&mut store, kind, since, cursor, page_size).await
        };
        let page = self.finish(tokio::time::timeout(self.limits.timeout, run).await)?;
        self.check_output(page_size_bytes(&page))?;
        Ok(page)
    }

    /// Instantiates a component once, without calling it: an upload is accepted only if
    /// the component really starts (its start functions run under the usual limits).
    pub async fn try_instantiate(&self, compiled: &Compiled, call: Arc<CallContext>) -> Result<(), CallError> {
        let mut store = self.store(call);
        let run = async { compiled.pre.instantiate_async(&mut store).await.map(|_| Ok(())) };
        self.finish(tokio::time::timeout(self.limits.timeout, run).await)
    }

    /// An instance kept for several calls of one plugin for one tenant (batch work such
    /// as refreshing many cards). Each call still runs under the time and output limits.
    pub async fn session(&self, compiled: &Compiled, call: Arc<CallContext>) -> Result<Session<'_>, CallError> {
        let pre = compiled.enrichment.as_ref().ok_or_else(|| CallError::Load("the plugin does not implement inn-enrichment".into()))?;
        let mut store = self.store(call);
        let instance = self.finish(tokio::time::timeout(self.limits.timeout, async { pre.instantiate_async(&mut store).await.map(Ok) }).await)?;
        Ok(Session { runtime: self, store, instance, dead: false })
    }

    /// Classifies the end of a call.
    fn finish<T>(&self, r: Result<wasmtime::Result<Result<T, WitError>>, tokio::time::error::Elapsed>) -> Result<T, CallError> {
        match r {
            Err(_) => Err(CallError::Failed {
                outcome: Outcome::Timeout,
                message: format!("the plugin ran past its {} ms time limit and was stopped", self.limits.timeout.as_millis()),
            }),
            Ok(Err(e)) => Err(classify(&e, self.limits)),
            Ok(Ok(Err(wit))) => Err(CallError::Plugin(wit)),
            Ok(Ok(Ok(v))) => Ok(v),
        }
    }

    fn check_output(&self, size: usize) -> Result<(), CallError> {
        if size > self.limits.output_bytes {
            return Err(CallError::Failed {
                outcome: Outcome::Limit,
                message: format!("the plugin returned {size} bytes, more than its {} byte output limit", self.limits.output_bytes),
            });
        }
        Ok(())
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// A live plugin instance (see [`Runtime::session`]). After a trap it is dead: open a
/// new session.
pub struct Session<'r> {
    runtime: &'r Runtime,
    store: Store<PluginState>,
    instance: bindings::inn_enrichment::InnEnrichment,
    dead: bool,
}

impl Session<'_> {
    pub async fn lookup(&mut self, inn: &str, kpp: Option<&str>) -> Result<Option<Company>, CallError> {
        if self.dead {
            return Err(CallError::Load("this plugin instance failed earlier; open a new session".into()));
        }
        self.store.set_epoch_deadline(1);
        let run = self.instance.crm_plugin_enrichment().call_lookup(&mut self.store, inn, kpp);
        let result = self.runtime.finish(tokio::time::timeout(self.runtime.limits.timeout, run).await);
        if matches!(result, Err(CallError::Failed { .. })) {
            self.dead = true;
        }
        let result = result?;
        if let Some(company) = &result {
            self.runtime.check_output(company_size(company))?;
        }
        Ok(result)
    }
}

fn check<T>(r: wasmtime::Result<T>, world: World) -> Result<(), CallError> {
    r.map(|_| ()).map_err(|e| CallError::Load(format!("the component does not implement {world}: {e:#}")))
}

fn classify(e: &wasmtime::Error, limits: Limits) -> CallError {
    let text = format!("{e:#}");
    let (outcome, message) = if text.contains("growing memory") || text.contains("memory size") {
        (Outcome::Limit, format!("the plugin exceeded its {} MiB memory limit", limits.memory_bytes >> 20))
    } else {
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => (Outcome::Timeout, "the plugin was interrupted at its time limit".to_string()),
            Some(Trap::OutOfFuel) => (Outcome::Limit, "the plugin ran out of fuel".to_string()),
            Some(Trap::UnreachableCodeReached) => (Outcome::Trap, "the plugin panicked (unreachable code reached)".to_string()),
            Some(t) => (Outcome::Trap, format!("the plugin trapped: {t}")),
            None => (Outcome::Trap, format!("the plugin failed: {text}")),
        }
    };
    CallError::Failed { outcome, message }
}

/// Bytes a company record carries across the boundary.
fn company_size(c: &Company) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    c.inn.len()
        + c.full_name.len()
        + opt(&c.kpp)
        + opt(&c.ogrn)
        + opt(&c.short_name)
        + opt(&c.legal_address)
        + opt(&c.head_name)
        + opt(&c.head_post)
        + opt(&c.okved)
        + opt(&c.registered_on)
        + opt(&c.liquidated_on)
}

/// Bytes a page of accounting records carries across the boundary.
fn page_size_bytes(p: &AccountingPage) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let entries: usize = p
        .entries
        .iter()
        .map(|e| match e {
            AccountingEntry::Counterparty(c) => 16 + c.external_id.len() + c.name.len() + opt(&c.inn) + opt(&c.kpp),
            AccountingEntry::Contract(c) => 24 + c.external_id.len() + c.counterparty_id.len() + opt(&c.number) + opt(&c.signed_on),
            AccountingEntry::SalesDocument(d) => {
                16 + d.external_id.len() + d.number.len() + d.issued_on.len() + d.counterparty_id.len() + opt(&d.contract_id)
                    + opt(&d.legal_entity_id) + d.amount.len() + d.currency.len()
            }
            AccountingEntry::Payment(pay) => {
                16 + pay.external_id.len() + pay.number.len() + pay.paid_on.len() + pay.counterparty_id.len() + opt(&pay.contract_id)
                    + pay.amount.len()
                    + pay.allocations.iter().map(|a| 8 + a.document_id.len() + a.amount.len()).sum::<usize>()
            }
        })
        .sum();
    let rejected: usize = p.rejected.iter().map(|r| 8 + opt(&r.external_id) + r.reason.len()).sum();
    entries + rejected + opt(&p.next_cursor)
}

/// Advances the engine's epoch every 10 ms while the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    let _ = std::thread::Builder::new().name("plugin-epoch".into()).spawn(move || {
        while let Some(e) = engine.upgrade() {
            e.increment_epoch();
            drop(e);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}

/// A timer for the run log.
pub struct Timer(Instant);

impl Timer {
    pub fn start() -> Timer {
        Timer(Instant::now())
    }
    pub fn micros(&self) -> i64 {
        i64::try_from(self.0.elapsed().as_micros()).unwrap_or(i64::MAX)
    }
}
