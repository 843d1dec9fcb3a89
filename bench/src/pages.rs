//! `pages`: the managers' pages against the API they are built on, measured in the same
//! run on the same data, so the figures mean something on any hardware.
//!
//! * **Client card**: `GET /clients/{id}` (the HTML page, signed in with a session
//!   cookie) against `GET /api/v1/counterparties/{id}` (the card's JSON, with a bearer
//!   token), random cards of a tenant with `--counterparties` clients. The page also reads
//!   the card's timeline, documents, tasks, deals and the tenant's users, then renders;
//!   the target is page throughput ≥ 50 % of the JSON's.
//! * **Kanban**: the first page of the pipeline of 5 000 deals (`--deals`), `GET /deals`:
//!   its median over `--kanban-requests` sequential requests (target ≤ 150 ms), next to
//!   the same deals listed as JSON by the API (`GET /api/v1/deals?limit=20`) as the
//!   baseline; the column heads are checked against a `COUNT(*)`/`SUM` of the deals.
//!
//! `cargo run --release -p crm-bench --bin pages -- --engine both`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use axum::http::{HeaderValue, StatusCode, Uri};
use clap::{Parser, ValueEnum};
use crm_bench::seed::{Seeded, seed, seed_tenant};
use crm_bench::{LoadOpts, Measured, PgScratch, Server, WORKERS, get_once, load, median_p95};
use crm_host::db::{Db, DbOptions};
use crm_host::{AppState, Config, on_conn};
use tokio::runtime::Runtime;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(about = "Pages against the API they are built on, measured in the same run")]
struct Args {
    #[arg(long, value_enum, default_value_t = EngineArg::Both)]
    engine: EngineArg,
    /// Clients of the measured tenant (the card figure).
    #[arg(long, default_value_t = 100_000)]
    counterparties: usize,
    /// Deals of the kanban's pipeline.
    #[arg(long, default_value_t = 5_000)]
    deals: usize,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured seconds per target.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Unmeasured seconds per target before that.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Sequential requests of the kanban's first page.
    #[arg(long, default_value_t = 50)]
    kanban_requests: usize,
    #[arg(long, env = "BENCH_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    Sqlite,
    Postgres,
    Both,
}

fn main() -> ExitCode {
    let args = Args::parse();
    crm_host::telemetry::init(crm_host::telemetry::LogFormat::Text);
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("\n!!! pages benchmark failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

struct Report {
    engine: &'static str,
    page: Measured,
    api: Measured,
    kanban_ms: (f64, f64),
    kanban_api_ms: (f64, f64),
    totals_exact: bool,
}

fn run(args: &Args) -> anyhow::Result<bool> {
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS).thread_name("loadgen").enable_all().build()?;
    let mut reports = Vec::new();
    if matches!(args.engine, EngineArg::Sqlite | EngineArg::Both) {
        let dir = tempfile::tempdir()?;
        let opts = DbOptions { url: format!("sqlite://{}", dir.path().join("pages.db").display()), max_connections: 32, pg_schema: None };
        reports.push(run_engine(args, &client, "sqlite", &opts, dir.path())?);
    }
    if matches!(args.engine, EngineArg::Postgres | EngineArg::Both) {
        match client.block_on(PgScratch::create(&args.pg_url, "bench_pages")) {
            Err(err) => println!("\n!!! PostgreSQL half SKIPPED: cannot reach it ({err:#})"),
            Ok(scratch) => {
                let dir = tempfile::tempdir()?;
                let opts = DbOptions { url: args.pg_url.clone(), max_connections: 32, pg_schema: Some(scratch.schema.clone()) };
                let result = run_engine(args, &client, "postgres", &opts, dir.path());
                if let Err(err) = client.block_on(scratch.drop()) {
                    eprintln!("warning: could not drop the bench schema: {err:#}");
                }
                reports.push(result?);
            }
        }
    }
    println!("\n| engine | card page req/s | card JSON req/s | page ÷ JSON | kanban first page median / p95 ms | deals JSON median ms | column heads exact |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let mut ok = true;
    for r in &reports {
        let ratio = r.page.rps / r.api.rps;
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.1} / {:.1} | {:.1} | {} |",
            r.engine, r.page.rps, r.api.rps, ratio, r.kanban_ms.0, r.kanban_ms.1, r.kanban_api_ms.0, if r.totals_exact { "yes" } else { "NO" }
        );
        ok &= r.page.errors == 0 && r.api.errors == 0 && r.totals_exact;
        println!(
            "  targets: page ≥ 50 % of JSON: {}; kanban median ≤ 150 ms: {}",
            if ratio >= 0.5 { "met" } else { "MISSED" },
            if r.kanban_ms.0 <= 150.0 { "met" } else { "MISSED" }
        );
    }
    Ok(ok)
}

/// A session cookie for the tenant's admin, as signing in would give.
async fn session_cookie(db: &Db, tenant: Uuid, email: &str) -> anyhow::Result<String> {
    let tenant = crm_host::tenancy::TenantId(tenant);
    let mut tx = db.begin().await?;
    let user = crm_host::tenancy::store::user_by_email(&mut tx.conn(), tenant, email).await?.context("the seeded admin")?;
    let s = crm_host::tenancy::session::open(&mut tx.conn(), tenant, user.id, chrono::Duration::hours(2)).await?;
    tx.commit().await?;
    Ok(format!("{}={}", crm_host::tenancy::session::COOKIE, s.cookie_value))
}

fn run_engine(args: &Args, client: &Runtime, engine: &'static str, opts: &DbOptions, data_dir: &std::path::Path) -> anyhow::Result<Report> {
    println!("\n=== {engine}: {} clients; a pipeline of {} deals ===", args.counterparties, args.deals);
    let started = Instant::now();
    let seeded: Seeded = client.block_on(seed(opts, args.counterparties, false)).context("seeding the card tenant")?;
    // The kanban's tenant: a deal on every 5th client, so `deals × 5` clients.
    let (kanban_tenant, kanban_token) = client.block_on(async {
        let db = Db::connect(opts).await?;
        let (t, token, _) = seed_tenant(&db, "ООО «Канбан»", "admin@kanban.example", args.deals * 5, 3).await?;
        db.close().await;
        anyhow::Ok((t, token))
    })?;
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    let (card_cookie, kanban_cookie, expected, pipeline) = client.block_on(async {
        let db = Db::connect(opts).await?;
        let a = session_cookie(&db, seeded.tenant, "admin@bench.example").await?;
        let b = session_cookie(&db, kanban_tenant, "admin@kanban.example").await?;
        let mut conn = db.read().await?;
        let c = &mut conn.conn();
        // The seeded pipeline (the tenant's default factoring one stays empty).
        let pipeline: Uuid = on_conn!(c, c => sqlx::query_scalar("SELECT pipeline_id FROM deals WHERE tenant_id = $1 LIMIT 1").bind(kanban_tenant).fetch_one(c).await)?;
        let totals: Vec<(i64, i64)> = on_conn!(c, c => sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM deals WHERE tenant_id = $1 AND archived_at IS NULL GROUP BY stage_id ORDER BY 1")
            .bind(kanban_tenant).fetch_all(c).await)?;
        drop(conn);
        db.close().await;
        anyhow::Ok((a, b, totals, pipeline))
    })?;

    let real = {
        let (opts, dir) = (opts.clone(), data_dir.to_path_buf());
        Server::start("real", move || async move {
            let db = Db::connect(&opts).await?;
            Ok((crm_host::app(AppState::new(db.clone(), Config::for_data_dir(dir))?), Some(db)))
        })?
    };
    let page_auth = HeaderValue::from_str(&card_cookie)?;
    let api_auth = HeaderValue::from_str(&format!("Bearer {}", seeded.token))?;
    // Both answer 200 for a seeded card before the load starts.
    client.block_on(async {
        let id = seeded.ids[0];
        let (s, body) = get_once(real.addr, &format!("/clients/{id}"), &page_auth).await?;
        if s != StatusCode::OK {
            bail!("the card page answered {s}: {}", String::from_utf8_lossy(&body));
        }
        let (s, _) = get_once(real.addr, &format!("/api/v1/counterparties/{id}"), &api_auth).await?;
        if s != StatusCode::OK {
            bail!("the card API answered {s}");
        }
        Ok(())
    })?;
    let uris = |prefix: &str| -> anyhow::Result<Arc<Vec<Uri>>> { Ok(Arc::new(seeded.ids.iter().map(|id| format!("{prefix}{id}").parse()).collect::<Result<_, _>>()?)) };
    let opts_load = LoadOpts { connections: args.connections, seconds: args.seconds, warmup: args.warmup };
    let page = client.block_on(load("card page", real.addr, uris("/clients/")?, page_auth, &opts_load))?;
    println!("  card page  {:>8.0} req/s  p50 {:.2} ms  p99 {:.2} ms  errors {}", page.rps, page.p50_ms, page.p99_ms, page.errors);
    let api = client.block_on(load("card JSON", real.addr, uris("/api/v1/counterparties/")?, api_auth, &opts_load))?;
    println!("  card JSON  {:>8.0} req/s  p50 {:.2} ms  p99 {:.2} ms  errors {}", api.rps, api.p50_ms, api.p99_ms, api.errors);

    // The kanban, one request at a time, as a user opening it.
    let kanban_auth = HeaderValue::from_str(&kanban_cookie)?;
    let kanban_api = HeaderValue::from_str(&format!("Bearer {kanban_token}"))?;
    let (kanban_ms, kanban_api_ms, totals_exact) = client.block_on(async {
        let mut page_ms = Vec::new();
        let mut api_ms = Vec::new();
        let mut last = String::new();
        for i in 0..args.kanban_requests + 3 {
            let t = Instant::now();
            let (s, body) = get_once(real.addr, &format!("/deals?pipeline={pipeline}"), &kanban_auth).await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if s != StatusCode::OK {
                bail!("the kanban answered {s}: {}", String::from_utf8_lossy(&body));
            }
            let t = Instant::now();
            let (s, _) = get_once(real.addr, &format!("/api/v1/deals?limit=20&pipeline_id={pipeline}"), &kanban_api).await?;
            let api = t.elapsed().as_secs_f64() * 1000.0;
            if s != StatusCode::OK {
                bail!("the deals API answered {s}");
            }
            if i >= 3 {
                page_ms.push(ms);
                api_ms.push(api);
            }
            last = String::from_utf8_lossy(&body).into_owned();
        }
        // Every column head against the database's own count and sum.
        let exact = expected.iter().all(|(n, sum)| {
            let count = format!("{n} {}", crm_host::templates::format::plural(n.unsigned_abs(), ["сделка", "сделки", "сделок"]));
            let sum = crm_host::pages::render::rub(crm_host::money::Money::from_minor(*sum));
            last.contains(&format!("<span class=\"count\">{count}</span> · <span class=\"sum\">{sum}</span>"))
        });
        anyhow::Ok((median_p95(page_ms), median_p95(api_ms), exact))
    })?;
    println!("  kanban first page: median {:.1} ms, p95 {:.1} ms ({} requests); deals JSON median {:.1} ms; heads exact: {totals_exact}", kanban_ms.0, kanban_ms.1, args.kanban_requests, kanban_api_ms.0);
    real.stop();
    Ok(Report { engine, page, api, kanban_ms, kanban_api_ms, totals_exact })
}
