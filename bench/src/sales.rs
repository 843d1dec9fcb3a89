//! `sales`: the sales forecast and the funnel over a pipeline of 100,000 deals (issue 16,
//! part 8), through the real server, one request at a time, next to the same-run
//! baseline of the cheapest query that reads every one of those deals
//! (`SELECT COUNT(*), SUM(amount)` over the pipeline) on the same database.
//!
//! `cargo run --release -p crm-bench --bin sales -- --engine both`

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use axum::http::{HeaderValue, StatusCode};
use clap::{Parser, ValueEnum};
use crm_bench::seed::{seed_pipeline_deals, seed_tenant};
use crm_bench::{PgScratch, Server, get_once, median_p95};
use crm_host::db::{Db, DbOptions};
use crm_host::tenancy::TenantId;
use crm_host::{AppState, Config, on_conn};

#[derive(Parser, Debug)]
#[command(about = "Sales forecast and funnel over 100,000 deals, next to a same-run baseline")]
struct Args {
    #[arg(long, value_enum, default_value_t = EngineArg::Both)]
    engine: EngineArg,
    #[arg(long, default_value_t = 100_000)]
    deals: usize,
    /// Sequential requests measured per figure.
    #[arg(long, default_value_t = 30)]
    requests: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EngineArg {
    Sqlite,
    Postgres,
    Both,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("\n!!! sales benchmark failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

struct Report {
    engine: &'static str,
    forecast: (f64, f64),
    funnel: (f64, f64),
    baseline: (f64, f64),
}

fn run(args: &Args) -> anyhow::Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut reports = Vec::new();
    if matches!(args.engine, EngineArg::Sqlite | EngineArg::Both) {
        let dir = tempfile::tempdir()?;
        let opts = DbOptions { url: format!("sqlite://{}", dir.path().join("sales.db").display()), max_connections: 8, pg_schema: None };
        reports.push(run_engine(args, &rt, "sqlite", opts, dir.path())?);
    }
    if matches!(args.engine, EngineArg::Postgres | EngineArg::Both) {
        match rt.block_on(PgScratch::create(&args.pg_url, "bench_sales")) {
            Err(err) => println!("\n!!! PostgreSQL half SKIPPED: cannot reach it ({err:#})"),
            Ok(scratch) => {
                let dir = tempfile::tempdir()?;
                let opts = DbOptions { url: args.pg_url.clone(), max_connections: 8, pg_schema: Some(scratch.schema.clone()) };
                let result = run_engine(args, &rt, "postgres", opts, dir.path());
                if let Err(err) = rt.block_on(scratch.drop()) {
                    eprintln!("warning: could not drop the bench schema: {err:#}");
                }
                reports.push(result?);
            }
        }
    }
    println!("\n| engine | deals | forecast median / p95 ms | funnel median / p95 ms | baseline COUNT+SUM median ms | forecast ÷ baseline |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut ok = true;
    for r in &reports {
        println!(
            "| {} | {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} | {:.1} |",
            r.engine,
            args.deals,
            r.forecast.0,
            r.forecast.1,
            r.funnel.0,
            r.funnel.1,
            r.baseline.0,
            r.forecast.0 / r.baseline.0
        );
        if r.engine == "postgres" {
            let met = r.forecast.0 <= 200.0;
            println!("  target: forecast over {} deals ≤ 200 ms on PostgreSQL: {}", args.deals, if met { "met" } else { "MISSED" });
            ok &= met;
        }
    }
    Ok(ok)
}

fn run_engine(args: &Args, rt: &tokio::runtime::Runtime, engine: &'static str, opts: DbOptions, dir: &std::path::Path) -> anyhow::Result<Report> {
    println!("\n=== {engine}: {} deals ===", args.deals);
    let started = Instant::now();
    let (tenant, token, pipeline) = rt.block_on(async {
        let db = Db::connect(&opts).await?;
        let (tenant, token, ids) = seed_tenant(&db, "ООО «Бенч Продажи»", "admin@sales.example", 2_000, 1).await?;
        let admin = {
            let mut c = db.read().await?;
            crm_host::tenancy::store::user_by_email(&mut c.conn(), TenantId(tenant), "admin@sales.example").await?.context("the admin")?
        };
        let pipeline = seed_pipeline_deals(&db, tenant, admin.id.0, &ids, args.deals, 7).await?;
        db.close().await;
        anyhow::Ok((tenant, token, pipeline))
    })?;
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    let dir = dir.to_path_buf();
    let server_opts = opts.clone();
    let server = Server::start("real", move || async move {
        let db = Db::connect(&server_opts).await?;
        Ok((crm_host::app(AppState::new(db.clone(), Config::for_data_dir(dir))?), Some(db)))
    })?;
    let auth = HeaderValue::from_str(&format!("Bearer {token}"))?;
    let timed = |path: String| -> anyhow::Result<(f64, f64)> {
        let mut ms = Vec::new();
        for i in 0..args.requests + 2 {
            let t = Instant::now();
            let (status, body) = rt.block_on(get_once(server.addr, &path, &auth))?;
            anyhow::ensure!(status == StatusCode::OK, "{path} answered {status}: {}", String::from_utf8_lossy(&body));
            // The first two warm the caches.
            if i >= 2 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok(median_p95(ms))
    };
    let forecast = timed(format!("/api/v1/pipelines/{pipeline}/forecast"))?;
    println!("forecast: median {:.1} ms, p95 {:.1} ms", forecast.0, forecast.1);
    let funnel = timed(format!("/api/v1/pipelines/{pipeline}/funnel"))?;
    println!("funnel: median {:.1} ms, p95 {:.1} ms", funnel.0, funnel.1);
    let baseline = rt.block_on(async {
        let db = Db::connect(&opts).await?;
        let mut ms = Vec::new();
        for i in 0..args.requests + 2 {
            let t = Instant::now();
            let mut c = db.read().await?;
            let c = &mut c.conn();
            let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM deals WHERE tenant_id = $1 AND pipeline_id = $2";
            let (n, _): (i64, i64) = on_conn!(c, c => sqlx::query_as(sql).bind(tenant).bind(pipeline).fetch_one(c).await)?;
            anyhow::ensure!(n as usize == args.deals, "expected {} deals, found {n}", args.deals);
            if i >= 2 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        db.close().await;
        anyhow::Ok(median_p95(ms))
    })?;
    println!("baseline: median {:.1} ms", baseline.0);
    server.stop();
    Ok(Report { engine, forecast, funnel, baseline })
}
