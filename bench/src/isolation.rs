//! One tenant's plugin load against another tenant's API: tenant B's card reads (p50,
//! p99, failures) while the server is otherwise idle, and then while tenant A keeps 100
//! plugin calls that spin until their time limit in flight — in the same run, on the
//! same server. Target: B's p99 under A's load ≤ 50 ms, and no B request fails.
//!
//! `cargo run --release -p crm-bench --bin isolation -- [--seconds 10] [--spinners 100] [--engine sqlite|postgres]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderValue, Request, StatusCode, Uri, header};
use bytes::Bytes;
use clap::Parser;
use crm_bench::{LoadOpts, PgScratch, Server, load};
use crm_host::audit::Actor;
use crm_host::db::{Db, DbOptions};
use crm_host::plugins::manifest::Manifest;
use crm_host::{AppState, Config};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Measured seconds of each phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Tenant A's plugin calls kept in flight.
    #[arg(long, default_value_t = 100)]
    spinners: usize,
    /// Tenant B's keep-alive connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// PostgreSQL to use for `--engine postgres` (a scratch schema is made and dropped).
    #[arg(long, env = "TEST_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
}

/// One of tenant A's answers that was neither a timeout nor busy, to show.
static OTHER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Cards B reads.
const B_CARDS: usize = 200;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(crm_bench::WORKERS).enable_all().build()?;
    let scratch = if args.engine == "postgres" { Some(client.block_on(PgScratch::create(&args.pg_url, "bench_isolation"))?) } else { None };
    let url = match &scratch {
        Some(_) => args.pg_url.clone(),
        None => format!("sqlite://{}", dir.path().join("crm.db").display()),
    };
    let opts = DbOptions { url, max_connections: 32, pg_schema: scratch.as_ref().map(|p| p.schema.clone()) };
    let data_dir = dir.path().to_path_buf();
    let seeded = Arc::new(std::sync::Mutex::new(None));
    let out = seeded.clone();
    let server = Server::start("app", move || async move {
        let db = Db::connect(&opts).await?;
        let state = AppState::new(db.clone(), Config::for_data_dir(data_dir))?;
        *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(seed(&state).await?);
        Ok((crm_host::app(state), Some(db)))
    })?;
    let (a_token, b_token, b_cards) = seeded.lock().unwrap_or_else(|e| e.into_inner()).take().ok_or_else(|| anyhow::anyhow!("not seeded"))?;

    let rt = client;
    let b_auth = HeaderValue::from_str(&format!("Bearer {b_token}"))?;
    let uris: Arc<Vec<Uri>> = Arc::new(b_cards.iter().map(|id| format!("/api/v1/counterparties/{id}").parse()).collect::<Result<_, _>>()?);
    let load_opts = LoadOpts { connections: args.connections, seconds: args.seconds, warmup: 1 };
    let addr = server.addr;

    let idle = rt.block_on(load("B idle", addr, uris.clone(), b_auth.clone(), &load_opts))?;
    // Tenant A: `spinners` calls in flight, each reissued as soon as it ends.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outcomes: Arc<[AtomicU64; 4]> = Arc::new(Default::default()); // timeout, busy, other ok, failed
    let flood: Vec<_> = (0..args.spinners)
        .map(|_| {
            let (stop, outcomes, token) = (stop.clone(), outcomes.clone(), a_token.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let body = json!({"input": {"inn": "0000000001"}}).to_string();
                    let slot = match post(addr, "/api/v1/modules/hostile/try", &token, body).await {
                        // The try endpoint answers 200 with the call's outcome.
                        Ok((StatusCode::OK, b)) if b.contains("\"outcome\":\"timeout\"") => 0,
                        Ok((StatusCode::OK, b)) if b.contains("\"outcome\":\"busy\"") => 1,
                        Ok((StatusCode::SERVICE_UNAVAILABLE, _)) => 1,
                        Ok((StatusCode::OK, b)) => {
                            let _ = OTHER.set(b);
                            2
                        }
                        _ => 3,
                    };
                    outcomes[slot].fetch_add(1, Ordering::Relaxed);
                    if slot == 1 {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let loaded = rt.block_on(load("B under A's load", addr, uris, b_auth, &load_opts))?;
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        let _ = rt.block_on(f);
    }

    println!("isolation benchmark ({}): tenant B reads cards over {} connections; tenant A keeps {} spinning plugin calls in flight", args.engine, args.connections, args.spinners);
    println!("{:<22} {:>10} {:>10} {:>10} {:>8}", "", "req/s", "p50 ms", "p99 ms", "failed");
    for m in [&idle, &loaded] {
        println!("{:<22} {:>10.0} {:>10.2} {:>10.2} {:>8}", m.target, m.rps, m.p50_ms, m.p99_ms, m.errors);
        if let Some(e) = &m.first_error {
            println!("    first failure: {e}");
        }
    }
    let o: Vec<u64> = outcomes.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    println!("tenant A's calls: {} stopped at their time limit, {} turned away as busy (its share stayed full for the queue wait), {} other answers, {} failed", o[0], o[1], o[2], o[3]);
    if let Some(b) = OTHER.get() {
        println!("  one of the other answers: {}", b.chars().take(300).collect::<String>());
    }
    let met = loaded.p99_ms <= 50.0 && loaded.errors == 0;
    println!("target B's p99 under load <= 50 ms and no failed B request: {}", if met { "MET" } else { "NOT MET" });
    server.stop();
    if let Some(pg) = scratch {
        rt.block_on(pg.drop())?;
    }
    Ok(())
}

/// Two tenants: A with the hostile guest enabled, B with cards to read. Returns A's and
/// B's tokens and B's card ids.
async fn seed(state: &AppState) -> anyhow::Result<(String, String, Vec<uuid::Uuid>)> {
    let actor = Actor::system("bench");
    let mut tokens = Vec::new();
    let mut tenants = Vec::new();
    for (name, email) in [("ООО «Тенант А»", "a@bench.example"), ("ООО «Тенант Б»", "b@bench.example")] {
        let mut tx = state.db.begin().await?;
        let created = crm_host::tenancy::service::create_tenant(&mut tx.conn(), &actor, name, "Europe/Moscow", email, "Admin").await?;
        tx.commit().await?;
        tokens.push(created.token.token);
        tenants.push(created.tenant.id);
    }
    let manifest = Manifest::parse(include_str!("../../plugins/test-guests/hostile/plugin.toml"))?;
    let bytes = std::fs::read(concat!(env!("CRM_BENCH_GUESTS"), "/hostile.wasm"))?;
    let prepared = crm_host::plugins::service::prepare(state, tenants[0], &manifest, &bytes).await?;
    let mut tx = state.db.begin().await?;
    crm_host::plugins::service::register(&mut tx.conn(), tenants[0], &actor, &prepared, false).await?;
    let input: crm_host::plugins::service::ModuleInput = serde_json::from_value(json!({"version": manifest.version, "grants": {"http_hosts": []}}))?;
    crm_host::plugins::service::configure(state, &mut tx.conn(), tenants[0], &actor, "hostile", input).await?;
    tx.commit().await?;
    let mut ids = Vec::new();
    let mut tx = state.db.begin().await?;
    for i in 0..B_CARDS {
        let input: crm_host::counterparties::model::CounterpartyInput =
            serde_json::from_value(json!({"kind": "legal_entity", "full_name": format!("ООО «Клиент {i}»")}))?;
        let id = crm_host::counterparties::CounterpartyId::new();
        crm_host::counterparties::store::insert(&mut tx.conn(), tenants[1], id, &input).await?;
        ids.push(id.0);
    }
    tx.commit().await?;
    Ok((tokens[0].clone(), tokens[1].clone(), ids))
}

/// One POST with a JSON body on a connection of its own; the status and the body text.
async fn post(addr: std::net::SocketAddr, path: &str, token: &str, body: String) -> anyhow::Result<(StatusCode, String)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::post(path)
        .header(header::HOST, "127.0.0.1")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    Ok((status, String::from_utf8_lossy(&res.into_body().collect().await?.to_bytes()).into_owned()))
}
