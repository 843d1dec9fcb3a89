//! Server configuration from flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::plugins::manifest::World;
use crate::plugins::runtime::Limits;

/// How the server runs. Every field has a default that needs no set-up.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, global = true, env = "CRM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `sqlite://path/file.db` (default: a file in the data directory) or `postgres://…`.
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where the SQLite file and uploaded documents live.
    #[arg(long, global = true, env = "CRM_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Connections in the database pool.
    #[arg(long, global = true, env = "CRM_DB_CONNECTIONS", default_value_t = 32)]
    pub db_connections: u32,
    /// Largest accepted document upload, in megabytes.
    #[arg(long, global = true, env = "CRM_MAX_UPLOAD_MB", default_value_t = 50)]
    pub max_upload_mb: u64,
    /// Largest plugin component accepted for upload, in megabytes.
    #[arg(long, global = true, env = "CRM_MAX_PLUGIN_MB", default_value_t = 32)]
    pub max_plugin_mb: usize,
    /// Time limit of one plugin call, in milliseconds.
    #[arg(long, global = true, env = "CRM_PLUGIN_TIMEOUT_MS", default_value_t = 5000)]
    pub plugin_timeout_ms: u64,
    /// Memory one plugin instance may use, in megabytes.
    #[arg(long, global = true, env = "CRM_PLUGIN_MEMORY_MB", default_value_t = 128)]
    pub plugin_memory_mb: usize,
    /// Background jobs this process runs at once (across tenants; one per tenant and kind).
    #[arg(long, global = true, env = "CRM_JOB_WORKERS", default_value_t = 4)]
    pub job_workers: usize,
    /// Seconds a worker's claim on a job holds without a save; a job whose process died is
    /// taken over by another worker after this.
    #[arg(long, global = true, env = "CRM_JOB_LEASE_SECS", default_value_t = 300)]
    pub job_lease_secs: u64,
    /// Pages one job may read from an outside system (1C) before it is stopped as runaway.
    #[arg(long, global = true, env = "CRM_JOB_MAX_PAGES", default_value_t = 100_000)]
    pub job_max_pages: u64,
    /// Plugin calls running at once, all tenants together (instance slots).
    #[arg(long, global = true, env = "CRM_PLUGIN_INSTANCES", default_value_t = 64)]
    pub plugin_instances: u32,
    /// Plugin calls one tenant may run at once; its further calls wait their turn.
    #[arg(long, global = true, env = "CRM_PLUGIN_TENANT_SHARE", default_value_t = 16)]
    pub plugin_tenant_share: u32,
    /// Linear memory all plugin instances alive at once may use together, in megabytes.
    #[arg(long, global = true, env = "CRM_PLUGIN_MEMORY_TOTAL_MB", default_value_t = 2048)]
    pub plugin_memory_total_mb: usize,
    /// How long a plugin call waits for its turn before it fails as busy, in milliseconds.
    #[arg(long, global = true, env = "CRM_PLUGIN_QUEUE_MS", default_value_t = 10_000)]
    pub plugin_queue_ms: u64,
    /// How long a web sign-in lasts, in hours (then the pages ask to sign in again).
    #[arg(long, global = true, env = "CRM_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u32,
    /// Mark the session cookie `Secure` (sent over HTTPS only). Set it when the pages are
    /// served over TLS by a proxy in front; a request that arrives with
    /// `X-Forwarded-Proto: https` gets a `Secure` cookie either way.
    #[arg(long, global = true, env = "CRM_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The address users open the pages at (`https://crm.example.ru`), for links in e-mails
    /// such as the morning digest (default: `http://` and the listen address).
    #[arg(long, global = true, env = "CRM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Threads that run plugin code, apart from those serving requests (default: the cores).
    #[arg(long, global = true, env = "CRM_PLUGIN_THREADS")]
    pub plugin_threads: Option<usize>,
    /// A limit of one plugin world, overriding the defaults above and the world's own:
    /// `<world>.<limit>=<value>`, limits `timeout-ms`, `memory-mb`, `output-kb`, `fuel`
    /// (`none` for no fuel limit). Repeat the flag, or separate with commas in the
    /// variable: `CRM_PLUGIN_LIMITS=fee-rule.fuel=2000000000,accounting-sync.timeout-ms=60000`.
    #[arg(long = "plugin-limit", global = true, env = "CRM_PLUGIN_LIMITS", value_delimiter = ',', value_parser = parse_world_limit)]
    pub plugin_limits: Vec<WorldLimit>,
}

/// One `--plugin-limit`: a world, which limit, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldLimit {
    pub world: World,
    pub limit: LimitKind,
}

/// Which limit, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    TimeoutMs(u64),
    MemoryMb(usize),
    OutputKb(usize),
    Fuel(Option<u64>),
}

fn parse_world_limit(s: &str) -> Result<WorldLimit, String> {
    let usage = "expected <world>.<limit>=<value>, e.g. fee-rule.fuel=2000000000 (limits: timeout-ms, memory-mb, output-kb, fuel)";
    let (key, value) = s.trim().split_once('=').ok_or(usage)?;
    let (world, limit) = key.split_once('.').ok_or(usage)?;
    let world: World = world.parse()?;
    let number = |v: &str| v.trim().parse::<u64>().map_err(|_| format!("`{v}` is not a whole number ({usage})"));
    let limit = match limit {
        "timeout-ms" => LimitKind::TimeoutMs(number(value)?),
        "memory-mb" => LimitKind::MemoryMb(usize::try_from(number(value)?).map_err(|e| e.to_string())?),
        "output-kb" => LimitKind::OutputKb(usize::try_from(number(value)?).map_err(|e| e.to_string())?),
        "fuel" if value.trim() == "none" => LimitKind::Fuel(None),
        "fuel" => LimitKind::Fuel(Some(number(value)?)),
        other => return Err(format!("unknown limit `{other}`; {usage}")),
    };
    Ok(WorldLimit { world, limit })
}

impl Config {
    /// Defaults for a server under `data_dir` (used by tests and tools).
    pub fn for_data_dir(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: None,
            data_dir,
            db_connections: 16,
            max_upload_mb: 50,
            plugin_timeout_ms: 5000,
            plugin_memory_mb: 128,
            max_plugin_mb: 32,
            plugin_limits: vec![],
            plugin_instances: 64,
            plugin_tenant_share: 16,
            plugin_memory_total_mb: 2048,
            plugin_queue_ms: 10_000,
            plugin_threads: None,
            job_workers: 4,
            job_lease_secs: 300,
            job_max_pages: 100_000,
            session_hours: 12,
            secure_cookies: false,
            public_url: None,
        }
    }

    /// The plugin runtime's limits: each world's defaults, the global time and memory
    /// flags when they differ from their defaults, then each `--plugin-limit`.
    pub fn plugin_limits(&self) -> Limits {
        let mut limits = Limits {
            instances: self.plugin_instances,
            tenant_share: self.plugin_tenant_share,
            total_memory_bytes: self.plugin_memory_total_mb << 20,
            queue_wait: Duration::from_millis(self.plugin_queue_ms),
            ..Default::default()
        };
        if let Some(n) = self.plugin_threads {
            limits.threads = n;
        }
        if self.plugin_timeout_ms != 5000 {
            limits.for_all(|w| w.timeout = Duration::from_millis(self.plugin_timeout_ms));
        }
        if self.plugin_memory_mb != 128 {
            limits.for_all(|w| w.memory_bytes = self.plugin_memory_mb << 20);
        }
        for l in &self.plugin_limits {
            let mut w = limits.world(l.world);
            match l.limit {
                LimitKind::TimeoutMs(ms) => w.timeout = Duration::from_millis(ms),
                LimitKind::MemoryMb(mb) => w.memory_bytes = mb << 20,
                LimitKind::OutputKb(kb) => w.output_bytes = kb << 10,
                LimitKind::Fuel(f) => w.fuel = f,
            }
            limits.worlds.insert(l.world, w);
        }
        limits
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("crm.db").display()))
    }

    pub fn db_options(&self) -> crate::db::DbOptions {
        crate::db::DbOptions {
            url: self.database_url(),
            max_connections: self.db_connections,
            pg_schema: None,
        }
    }

    /// How the job workers run (pool size, lease, page cap).
    pub fn runner_options(&self) -> crate::jobs::runner::RunnerOptions {
        crate::jobs::runner::RunnerOptions::from_config(self)
    }

    pub fn max_plugin_bytes(&self) -> usize {
        self.max_plugin_mb.saturating_mul(1 << 20)
    }

    pub fn max_upload_bytes(&self) -> usize {
        (self.max_upload_mb as usize).saturating_mul(1024 * 1024)
    }
}
