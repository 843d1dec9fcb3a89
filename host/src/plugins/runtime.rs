//! One wasmtime engine for the process; components compiled once and cached on disk;
//! their world and contract version read from the component; a fresh store and instance
//! per call from the pooling allocator (`InstancePre`), under the world's limits (time,
//! memory, output size, fuel). One generic path serves every function of every world
//! ([`Runtime::call`]); a trap, a timeout or a limit fails only that call.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline};

use crate::tenancy::TenantId;

use super::capabilities::Granted;
use super::contract::{self, ContractVersion};
use super::host::log::LogLine;
pub use super::host::PluginState;
use super::manifest::World;
use super::store::Outcome;
use super::worlds::{Exports, Function, Instance, PluginError};

/// Limits one call of a world runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldLimits {
    /// Wall-clock time for one call, instantiation included.
    pub timeout: Duration,
    /// Linear memory a plugin instance may grow to.
    pub memory_bytes: usize,
    /// Size of what a call may return (as the JSON the host would show for it).
    pub output_bytes: usize,
    /// Instructions (wasmtime fuel) one call may execute. Where results must be
    /// reproducible (fee rules), fuel rather than the clock decides when a call is too
    /// long, so the same input always succeeds or always fails.
    pub fuel: Option<u64>,
}

/// Limits of the runtime: the pool, how calls are admitted, and each world's per-call
/// limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Plugin instances alive at once (pooling allocator slots): calls running at once
    /// in all, every tenant together.
    pub instances: u32,
    /// Calls of one tenant running at once, so that one tenant cannot take every slot.
    pub tenant_share: u32,
    /// Linear memory all plugin instances alive at once may use together (see
    /// `plugins::memory`): a call whose growth would pass it is stopped as busy.
    pub total_memory_bytes: usize,
    /// How long a call waits for its turn (its tenant's share, a slot) before it
    /// fails as busy, which a job retries and the API answers with 503.
    pub queue_wait: Duration,
    /// Threads that run plugin code, apart from the threads that serve requests.
    pub threads: usize,
    /// Bytes of each memory slot kept resident between calls (reset in place).
    pub keep_resident_bytes: usize,
    /// What a world gets unless `worlds` says otherwise.
    pub default: WorldLimits,
    pub worlds: HashMap<World, WorldLimits>,
}

impl Default for Limits {
    fn default() -> Self {
        let default = WorldLimits { timeout: Duration::from_secs(5), memory_bytes: 128 << 20, output_bytes: 1 << 20, fuel: None };
        let worlds = HashMap::from([
            // A page of 1C records is large, and a slow 1C server is slow.
            (World::AccountingSync, WorldLimits { timeout: Duration::from_secs(30), output_bytes: 16 << 20, ..default }),
            // Fees must come out the same on any machine and at any load.
            (World::FeeRule, WorldLimits { timeout: Duration::from_secs(60), output_bytes: 16 << 20, fuel: Some(5_000_000_000), ..default }),
            (World::MailLinker, WorldLimits { output_bytes: 4 << 20, ..default }),
        ]);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            instances: 64,
            tenant_share: 16,
            total_memory_bytes: 2 << 30,
            queue_wait: Duration::from_secs(10),
            threads,
            keep_resident_bytes: 2 << 20,
            default,
            worlds,
        }
    }
}

impl Limits {
    /// The limits a call of `world` runs under.
    pub fn world(&self, world: World) -> WorldLimits {
        self.worlds.get(&world).copied().unwrap_or(self.default)
    }

    /// Applies `f` to every world's limits (the default and each override).
    pub fn for_all(&mut self, f: impl Fn(&mut WorldLimits)) {
        f(&mut self.default);
        self.worlds.values_mut().for_each(f);
    }

    fn max_memory(&self) -> usize {
        self.worlds.values().map(|w| w.memory_bytes).fold(self.default.memory_bytes, usize::max)
    }
}

/// Everything a call may use: who calls, which instance, and what it was granted.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub tenant: TenantId,
    /// The module instance's id (`sms-main`); the run log and the logs name it.
    pub module_id: String,
    pub plugin_id: String,
    pub version: String,
    pub time_zone: String,
    pub granted: Granted,
    /// Where `mail.send` queues messages (`None`: mail is unavailable, e.g. in benchmarks).
    pub outbox: Option<crate::Db>,
    /// Keep the plugin's log lines for the caller (`try`).
    pub capture_log: bool,
}

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error value.
    #[error("{0}")]
    Plugin(PluginError),
    /// The plugin trapped, timed out or broke a limit; the message says which.
    #[error("{message}")]
    Failed { outcome: Outcome, message: String },
    /// The component could not be loaded, or is not of the world called.
    #[error("{0}")]
    Load(String),
    /// The call did not get its turn in time (its tenant's share, every slot, or the
    /// memory budget in use). Temporary: try again shortly.
    #[error("{0}")]
    Busy(String),
}

impl CallError {
    pub fn outcome(&self) -> Outcome {
        match self {
            CallError::Plugin(_) => Outcome::Error,
            CallError::Failed { outcome, .. } => *outcome,
            CallError::Load(_) => Outcome::Trap,
            CallError::Busy(_) => Outcome::Busy,
        }
    }
}

/// What a call left besides its result.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CallReport {
    /// The plugin's log lines (only when the context asked to capture them).
    pub log: Vec<LogLine>,
    /// Fuel the call used, when the world runs on fuel.
    pub fuel_used: Option<u64>,
}

/// A compiled component, ready to instantiate.
pub struct Compiled {
    pub world: World,
    /// The contract version the component was built against (read from its exports).
    pub contract: ContractVersion,
    pre: InstancePre<PluginState>,
    exports: Exports,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    cache_dir: Option<PathBuf>,
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
    pub limits: Limits,
    admission: Admission,
    memory: Arc<super::memory::MemoryBudget>,
    executor: Executor,
}

impl Runtime {
    pub fn new(cache_dir: Option<PathBuf>, limits: Limits) -> anyhow::Result<Arc<Runtime>> {
        if limits.max_memory() > limits.total_memory_bytes {
            anyhow::bail!(
                "a plugin world may use {} MiB per call, more than all plugin instances together may ({} MiB): raise --plugin-memory-total-mb or lower the world's memory limit",
                limits.max_memory() >> 20,
                limits.total_memory_bytes >> 20
            );
        }
        if limits.tenant_share == 0 || limits.instances == 0 || limits.threads == 0 {
            anyhow::bail!("plugin instances, threads and the tenant share must be at least 1");
        }
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.consume_fuel(true);
        config.wasm_backtrace_max_frames(None);
        // Small components initialise faster by copying their data than by mapping an
        // image copy-on-write (no mmap per instantiation, no remap on teardown).
        config.memory_init_cow(false);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(limits.instances)
            .total_core_instances(limits.instances * 8)
            .total_memories(limits.instances * 2)
            .total_tables(limits.instances * 4)
            .total_stacks(limits.instances)
            .max_memory_size(limits.max_memory())
            // Keep a slot's pages mapped between calls and reset only the pages the
            // last call dirtied (found with Linux's PAGEMAP_SCAN where the kernel has
            // it, 6.7+): no madvise on drop, no page faults on the next call.
            .linear_memory_keep_resident(limits.keep_resident_bytes)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:#}")).context("starting the plugin engine")?;

        let mut linker = Linker::new(&engine);
        super::host::add_to_linker(&mut linker).map_err(|e| anyhow::anyhow!("{e:#}")).context("linking the host interfaces")?;

        spawn_epoch_ticker(&engine);
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let admission = Admission::new(&limits);
        let memory = super::memory::MemoryBudget::new(limits.total_memory_bytes);
        let executor = Executor::start(limits.threads)?;
        Ok(Arc::new(Runtime { engine, linker, cache_dir, compiled: Mutex::new(HashMap::new()), limits, admission, memory, executor }))
    }

    /// Compiles (or loads from the cache) a component, reads its world and contract
    /// version from its exports, and checks it against the world its manifest declares.
    pub fn load(&self, sha256: &str, bytes: &[u8], declared: World) -> Result<Arc<Compiled>, CallError> {
        if let Some(c) = self.cached(sha256) {
            return check_world(c, declared);
        }
        let component = self.component(sha256, bytes)?;
        let (world, contract) = contract::detect(&self.engine, &component).map_err(CallError::Load)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| CallError::Load(format!("the component needs imports this host does not provide: {e:#}")))?;
        let exports = Exports::new(world, contract, pre.clone()).map_err(CallError::Load)?;
        let compiled = Arc::new(Compiled { world, contract, pre, exports });
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).insert(sha256.to_string(), compiled.clone());
        check_world(compiled, declared)
    }

    /// A component already compiled in this process, if any.
    pub fn cached(&self, sha256: &str) -> Option<Arc<Compiled>> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).get(sha256).cloned()
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
                    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
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

    fn store(&self, call: Arc<CallContext>, limits: &WorldLimits) -> Store<PluginState> {
        let limiter = super::memory::Limiter::new(limits.memory_bytes, self.memory.clone());
        let mut store = Store::new(&self.engine, PluginState::new(call, limiter));
        store.limiter(|s| &mut s.limits);
        // Yield to tokio at every epoch tick, so a spinning guest never holds a thread,
        // and say so: a call still on the caller's thread moves to the plugin threads at
        // its first such yield. The call's timeout then cancels a guest that never ends.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|store| {
            store.data().on_cpu.store(true, Ordering::Relaxed);
            Ok(UpdateDeadline::Yield(1))
        });
        // Fuel is always on in this engine; a world without a fuel limit gets all of it.
        let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
        store
    }

    /// Calls `f` on a fresh instance of `compiled` under its world's limits, on the
    /// plugin threads once the call is admitted (its tenant's share, a slot, memory).
    pub async fn call<F: Function>(self: &Arc<Self>, compiled: &Arc<Compiled>, ctx: Arc<CallContext>, f: F) -> (Result<F::Output, CallError>, CallReport) {
        if compiled.world != F::WORLD {
            let e = CallError::Load(format!("{} is a function of {}, and this plugin implements {}", F::NAME, F::WORLD, compiled.world));
            return (Err(e), CallReport::default());
        }
        let limits = self.limits.world(F::WORLD);
        let admitted = match self.admission.admit(ctx.tenant, self.limits.queue_wait).await {
            Ok(a) => a,
            Err(e) => return (Err(e), CallReport::default()),
        };
        let (rt, compiled) = (self.clone(), compiled.clone());
        let mut store = self.store(ctx, &limits);
        let on_cpu = store.data().on_cpu.clone();
        let work = async move {
            let run = async {
                let instance = compiled.exports.instantiate(&mut store).await?;
                f.call(&instance, &mut store).await
            };
            let result = rt.finish(tokio::time::timeout(limits.timeout, run).await, &limits).and_then(|out| check_output(out, &limits));
            let report = report(&mut store, &limits);
            // The slot goes back to the pool before the admission is released.
            drop(store);
            drop(admitted);
            (result, report)
        };
        self.run(on_cpu, work).await.unwrap_or_else(|e| (Err(e), CallReport::default()))
    }

    /// Runs a call's work on the caller's task until the guest yields for the first time
    /// at an epoch tick — it has spent its first slice of CPU (≤ 1 ms) — and from then on
    /// on the plugin threads, so a request thread gives a plugin at most one slice. A
    /// call that finishes at once (most calls) or only waits on I/O never changes thread.
    async fn run<T: Send + 'static>(&self, on_cpu: Arc<AtomicBool>, work: impl Future<Output = T> + Send + 'static) -> Result<T, CallError> {
        let mut work = Box::pin(work);
        let inline = std::future::poll_fn(|cx| match work.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending if on_cpu.load(Ordering::Relaxed) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        match inline {
            Some(done) => Ok(done),
            None => self.executor.spawn(work).await.map_err(|e| lost(Some(e))),
        }
    }

    /// Instantiates a component once, without calling it: an upload is accepted only if
    /// the component really starts (its start functions run under the usual limits).
    pub async fn try_instantiate(self: &Arc<Self>, compiled: &Arc<Compiled>, call: Arc<CallContext>) -> Result<(), CallError> {
        let limits = self.limits.world(compiled.world);
        let admitted = self.admission.admit(call.tenant, self.limits.queue_wait).await?;
        let (rt, compiled) = (self.clone(), compiled.clone());
        let mut store = self.store(call, &limits);
        let on_cpu = store.data().on_cpu.clone();
        let work = async move {
            let run = async { compiled.pre.instantiate_async(&mut store).await.map(|_| Ok(())) };
            let result = rt.finish(tokio::time::timeout(limits.timeout, run).await, &limits);
            drop(store);
            drop(admitted);
            result
        };
        self.run(on_cpu, work).await?
    }

    /// An instance kept for several calls of one module (batch work such as refreshing
    /// many cards). Each call still runs under the world's time, fuel and output limits,
    /// on the plugin threads; the session holds its tenant's share and a slot until dropped.
    pub async fn session(self: &Arc<Self>, compiled: &Arc<Compiled>, call: Arc<CallContext>) -> Result<Session, CallError> {
        let limits = self.limits.world(compiled.world);
        let admitted = self.admission.admit(call.tenant, self.limits.queue_wait).await?;
        let (rt, compiled) = (self.clone(), compiled.clone());
        let mut store = self.store(call, &limits);
        let on_cpu = store.data().on_cpu.clone();
        let work = async move {
            let run = async { compiled.exports.instantiate(&mut store).await.map(Ok) };
            let instance = rt.finish(tokio::time::timeout(limits.timeout, run).await, &limits);
            match instance {
                Ok(instance) => Ok(Live { store, instance, _admitted: admitted }),
                Err(e) => {
                    drop(store);
                    drop(admitted);
                    Err(e)
                }
            }
        };
        let live = self.run(on_cpu, work).await??;
        Ok(Session { runtime: self.clone(), live: Some(live), limits, dead: false })
    }

    /// Classifies the end of a call.
    fn finish<T>(&self, r: Result<wasmtime::Result<Result<T, PluginError>>, tokio::time::error::Elapsed>, limits: &WorldLimits) -> Result<T, CallError> {
        match r {
            Err(_) => Err(CallError::Failed {
                outcome: Outcome::Timeout,
                message: format!("the plugin ran past its {} ms time limit and was stopped", limits.timeout.as_millis()),
            }),
            Ok(Err(e)) => Err(classify(&e, limits)),
            Ok(Ok(Err(e))) => Err(CallError::Plugin(e)),
            Ok(Ok(Ok(v))) => Ok(v),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

fn check_world(c: Arc<Compiled>, declared: World) -> Result<Arc<Compiled>, CallError> {
    if c.world == declared {
        Ok(c)
    } else {
        Err(CallError::Load(format!("the manifest declares world {declared}, but the component implements {}", c.world)))
    }
}

fn report(store: &mut Store<PluginState>, limits: &WorldLimits) -> CallReport {
    CallReport {
        log: store.data_mut().log.captured.take().unwrap_or_default(),
        fuel_used: limits.fuel.and_then(|given| store.get_fuel().ok().map(|left| given.saturating_sub(left))),
    }
}

/// Refuses an output larger than the world allows (see `plugins::output_size`).
fn check_output<T: Serialize>(out: T, limits: &WorldLimits) -> Result<T, CallError> {
    let over = super::output_size::over_limit(&out, limits.output_bytes);
    if over {
        return Err(CallError::Failed {
            outcome: Outcome::Limit,
            message: format!("the plugin returned more than its {} byte output limit", limits.output_bytes),
        });
    }
    Ok(out)
}

/// A live plugin instance (see [`Runtime::session`]). After a trap it is dead: open a
/// new session.
pub struct Session {
    runtime: Arc<Runtime>,
    live: Option<Live>,
    limits: WorldLimits,
    dead: bool,
}

/// A session's store and instance, and its admission (declared last: dropped after the
/// store, so the slot is back in the pool before the admission is released).
struct Live {
    store: Store<PluginState>,
    instance: Instance,
    _admitted: Admitted,
}

impl Session {
    pub async fn call<F: Function>(&mut self, f: F) -> Result<F::Output, CallError> {
        if self.dead {
            return Err(CallError::Load("this plugin instance failed earlier; open a new session".into()));
        }
        let Some(mut live) = self.live.take() else {
            return Err(CallError::Load("this plugin instance was lost; open a new session".into()));
        };
        if live.instance.world() != F::WORLD {
            let world = live.instance.world();
            self.live = Some(live);
            return Err(CallError::Load(format!("{} is a function of {}, and this plugin implements {}", F::NAME, F::WORLD, world)));
        }
        let (rt, limits) = (self.runtime.clone(), self.limits);
        live.store.set_epoch_deadline(1);
        let _ = live.store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
        let on_cpu = live.store.data().on_cpu.clone();
        on_cpu.store(false, Ordering::Relaxed);
        let work = async move {
            let run = f.call(&live.instance, &mut live.store);
            let result = rt.finish(tokio::time::timeout(limits.timeout, run).await, &limits);
            (live, result)
        };
        let (live, result) = match self.runtime.run(on_cpu, work).await {
            Ok(done) => done,
            Err(e) => {
                self.dead = true;
                return Err(e);
            }
        };
        if matches!(result, Err(CallError::Failed { .. })) {
            self.dead = true;
        }
        self.live = Some(live);
        check_output(result?, &self.limits)
    }
}

/// A call whose task ended without answering (the plugin threads shutting down).
fn lost(e: Option<tokio::task::JoinError>) -> CallError {
    let why = e.map(|e| e.to_string()).unwrap_or_else(|| "it ended without an answer".into());
    CallError::Failed { outcome: Outcome::Trap, message: format!("the plugin call was lost: {why}") }
}

/// Who may start a call: every tenant within its share, all calls within the pool's
/// slots and the memory budget. A call waits for its turn up to the queue wait, then
/// fails as busy.
struct Admission {
    slots: Arc<tokio::sync::Semaphore>,
    tenant_share: u32,
    tenants: Mutex<HashMap<TenantId, Arc<tokio::sync::Semaphore>>>,
}

/// A call's turn: released when the call's instance is gone.
struct Admitted {
    _tenant: tokio::sync::OwnedSemaphorePermit,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Admission {
    fn new(limits: &Limits) -> Admission {
        Admission {
            slots: Arc::new(tokio::sync::Semaphore::new(limits.instances as usize)),
            tenant_share: limits.tenant_share,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    async fn admit(&self, tenant: TenantId, wait: Duration) -> Result<Admitted, CallError> {
        let share = self
            .tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tenant)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.tenant_share as usize)))
            .clone();
        // The tenant's own queue first, so its excess waits without holding shared slots.
        let turn = async {
            let tenant = share.clone().acquire_owned().await;
            let slot = self.slots.clone().acquire_owned().await;
            match (tenant, slot) {
                (Ok(t), Ok(s)) => Some(Admitted { _tenant: t, _slot: s }),
                _ => None,
            }
        };
        match tokio::time::timeout(wait, turn).await {
            Ok(Some(a)) => Ok(a),
            Ok(None) => Err(CallError::Busy("the plugin runtime is shutting down".into())),
            Err(_) => {
                let own = self.tenant_share as usize - share.available_permits();
                let why = if own >= self.tenant_share as usize {
                    format!("your tenant already runs {own} plugin calls at once, its share")
                } else {
                    "every plugin slot of the server is in use".to_string()
                };
                Err(CallError::Busy(format!("{why}; the call waited {} s for its turn. Try again shortly.", wait.as_secs())))
            }
        }
    }
}

/// The threads plugin code runs on: a runtime of their own, so that guests — spinning
/// ones included — never take the threads that serve requests.
struct Executor(Option<tokio::runtime::Runtime>);

impl Executor {
    fn start(threads: usize) -> anyhow::Result<Executor> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("plugin")
            .enable_all()
            .build()
            .context("starting the plugin threads")?;
        Ok(Executor(Some(rt)))
    }

    fn spawn<T: Send + 'static>(&self, task: impl Future<Output = T> + Send + 'static) -> tokio_util::task::AbortOnDropHandle<T> {
        let rt = self.0.as_ref().expect("the plugin threads run while the runtime lives");
        tokio_util::task::AbortOnDropHandle::new(rt.spawn(task))
    }

}

impl Drop for Executor {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another runtime.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

fn classify(e: &wasmtime::Error, limits: &WorldLimits) -> CallError {
    let text = format!("{e:#}");
    if text.contains("plugin memory budget") {
        return CallError::Busy(
            "the plugins running now use the server's whole plugin memory budget (--plugin-memory-total-mb); try again shortly".into(),
        );
    }
    let (outcome, message) = if text.contains("growing memory") || text.contains("memory size") {
        (Outcome::Limit, format!("the plugin exceeded its {} MiB memory limit", limits.memory_bytes >> 20))
    } else {
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => (Outcome::Timeout, "the plugin was interrupted at its time limit".to_string()),
            Some(Trap::OutOfFuel) => (
                Outcome::Limit,
                format!("the plugin ran out of fuel: it may execute {} instructions per call", limits.fuel.unwrap_or_default()),
            ),
            Some(Trap::UnreachableCodeReached) => (Outcome::Trap, "the plugin panicked (unreachable code reached)".to_string()),
            Some(t) => (Outcome::Trap, format!("the plugin trapped: {t}")),
            None => (Outcome::Trap, format!("the plugin failed: {text}")),
        }
    };
    CallError::Failed { outcome, message }
}

/// How often the engine's epoch advances: a guest yields its thread this often, and a
/// call leaves the caller's thread after at most this much CPU.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Advances the engine's epoch every [`EPOCH_TICK`] while the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    let _ = std::thread::Builder::new().name("plugin-epoch".into()).spawn(move || {
        while let Some(e) = engine.upgrade() {
            e.increment_epoch();
            drop(e);
            std::thread::sleep(EPOCH_TICK);
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
