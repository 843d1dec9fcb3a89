//! `leads`: importing a spreadsheet of 100,000 clients (issue 16's lead import), next to
//! two baselines measured in the same run on the same machine:
//!
//! * **parse only**: reading the same XLSX and checking every row (ИНН check digits,
//!   managers, statuses) with nothing written;
//! * **bare insert**: writing the same cards with the same INSERT statement the import
//!   uses, 500 a transaction, with no lookup, audit, contact or job around it.
//!
//! The import itself runs the real path: the job worker reads the kept file, looks every
//! chunk's ИНН up, writes cards, contacts and audit entries, saves its progress, and
//! opens a deal for every «Готов» row (1 in 20) through the deals service. Then the same
//! file is imported again (every card found unchanged: the re-import figure).
//!
//! Then a file of `--enrich-rows` new clients is imported with the tenant's ИНН module on:
//! the built-in DaData plugin asks a loopback fake of DaData's `findById/party` (its real
//! answer, `tests/fixtures/dadata-party-response.json`) that serves at most `--fake-rate`
//! look-ups a second, as a provider's rate limit would. That import is bounded by the
//! fake's rate: its rows/s is printed beside the rate (target ≥ 0.8 of it).
//!
//! `cargo run --release -p crm-bench --bin leads -- --engine both`

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use crm_bench::PgScratch;
use crm_bench::seed::seed_tenant;
use crm_host::counterparties::CounterpartyId;
use crm_host::counterparties::model::{CounterpartyInput, CounterpartyKind};
use crm_host::db::{Db, DbOptions};
use crm_host::leads::model::{LeadImportId, LeadMode};
use crm_host::tenancy::{TenantId, UserId};
use crm_host::{AppState, Config};
use rust_xlsxwriter::Workbook;

#[derive(Parser, Debug)]
#[command(about = "Lead import from a 100,000-row spreadsheet, next to same-run baselines")]
struct Args {
    #[arg(long, value_enum, default_value_t = EngineArg::Both)]
    engine: EngineArg,
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Rows of the import with enrichment.
    #[arg(long, default_value_t = 5_000)]
    enrich_rows: usize,
    /// Look-ups a second the fake DaData serves.
    #[arg(long, default_value_t = 250.0)]
    fake_rate: f64,
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
            eprintln!("\n!!! leads benchmark failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// A valid 10-digit ИНН for `n`.
fn inn(n: usize) -> String {
    let body = format!("77{:07}", n % 10_000_000);
    let w = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    let sum: u32 = body.chars().zip(w).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    format!("{body}{}", sum % 11 % 10)
}

fn spreadsheet(rows: usize, manager: &str) -> anyhow::Result<Vec<u8>> {
    spreadsheet_from(0, rows, manager)
}

fn spreadsheet_from(first: usize, rows: usize, manager: &str) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["ИНН", "Наименование", "Ответственный", "Статус", "Контактное лицо", "Телефон", "Дата звонка"].iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for (k, i) in (first..first + rows).enumerate() {
        let r = (k + 1) as u32;
        ws.write_number(r, 0, inn(i).parse::<f64>()?)?;
        ws.write_string(r, 1, format!("ООО «Клиент {i}»"))?;
        ws.write_string(r, 2, manager)?;
        ws.write_string(r, 3, if i % 20 == 0 { "Готов" } else { "Новый" })?;
        ws.write_string(r, 4, format!("Бухгалтер {i}"))?;
        ws.write_string(r, 5, format!("+7 495 {:07}", i % 10_000_000))?;
        ws.write_number(r, 6, 46363.0 + (i % 30) as f64)?;
    }
    Ok(wb.save_to_buffer()?)
}

struct Report {
    engine: &'static str,
    parse_rps: f64,
    bare_rps: f64,
    import_rps: f64,
    reimport_rps: f64,
    created: u32,
    deals: u32,
    enrich_rps: f64,
    enriched: u32,
}

fn run(args: &Args) -> anyhow::Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut reports = Vec::new();
    if matches!(args.engine, EngineArg::Sqlite | EngineArg::Both) {
        let dir = tempfile::tempdir()?;
        let opts = |name: &str| DbOptions { url: format!("sqlite://{}", dir.path().join(name).display()), max_connections: 8, pg_schema: None };
        reports.push(rt.block_on(run_engine(args, "sqlite", opts("leads.db"), opts("bare.db"), dir.path()))?);
    }
    if matches!(args.engine, EngineArg::Postgres | EngineArg::Both) {
        let scratch = rt.block_on(PgScratch::create(&args.pg_url, "bench_leads"));
        let bare = rt.block_on(PgScratch::create(&args.pg_url, "bench_leads_bare"));
        match (scratch, bare) {
            (Ok(scratch), Ok(bare)) => {
                let dir = tempfile::tempdir()?;
                let opts = |s: &PgScratch| DbOptions { url: args.pg_url.clone(), max_connections: 8, pg_schema: Some(s.schema.clone()) };
                let result = rt.block_on(run_engine(args, "postgres", opts(&scratch), opts(&bare), dir.path()));
                for s in [scratch, bare] {
                    if let Err(err) = rt.block_on(s.drop()) {
                        eprintln!("warning: could not drop a bench schema: {err:#}");
                    }
                }
                reports.push(result?);
            }
            (Err(err), _) | (_, Err(err)) => println!("\n!!! PostgreSQL half SKIPPED: cannot reach it ({err:#})"),
        }
    }
    println!("\n| engine | rows | import rows/s | re-import rows/s | parse only rows/s | bare insert rows/s | import ÷ bare | cards | deals |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ok = true;
    for r in &reports {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {} | {} |",
            r.engine,
            args.rows,
            r.import_rps,
            r.reimport_rps,
            r.parse_rps,
            r.bare_rps,
            r.import_rps / r.bare_rps,
            r.created,
            r.deals
        );
        let met = r.import_rps >= 5_000.0;
        println!("  target: import ≥ 5,000 rows/s without enrichment: {}", if met { "met" } else { "MISSED" });
        let share = r.enrich_rps / args.fake_rate;
        let bounded = share >= 0.8;
        println!(
            "  with enrichment: {:.0} rows/s against a fake serving {:.0} look-ups/s = {share:.2} of its rate ({} of {} cards filled); target ≥ 0.80: {}",
            r.enrich_rps,
            args.fake_rate,
            r.enriched,
            args.enrich_rows,
            if bounded { "met" } else { "MISSED" }
        );
        ok &= met && bounded && r.created as usize == args.rows && r.enriched as usize == args.enrich_rows;
    }
    Ok(ok)
}

async fn run_engine(args: &Args, engine: &'static str, opts: DbOptions, bare_opts: DbOptions, dir: &std::path::Path) -> anyhow::Result<Report> {
    println!("\n=== {engine}: {} rows ===", args.rows);
    let db = Db::connect(&opts).await?;
    let (tenant, _, _) = seed_tenant(&db, "ООО «Бенч Лиды»", "admin@leads.example", 0, 1).await?;
    let tenant = TenantId(tenant);
    let admin = {
        let mut c = db.read().await?;
        crm_host::tenancy::store::user_by_email(&mut c.conn(), tenant, "admin@leads.example").await?.context("the admin")?
    };
    let t = Instant::now();
    let bytes = spreadsheet(args.rows, "admin@leads.example")?;
    println!("spreadsheet written in {:.1} s ({:.1} MB)", t.elapsed().as_secs_f64(), bytes.len() as f64 / 1e6);

    // Baseline 1: read and check every row, write nothing.
    let t = Instant::now();
    let table = crm_host::leads::sheet::read(&bytes)?;
    let layout = crm_host::leads::rows::Layout::of(&table);
    let settings = crm_host::leads::model::LeadSettings::default();
    let managers = vec![crm_host::leads::rows::Manager { id: admin.id, email: admin.email.clone(), full_name: admin.full_name.clone() }];
    let good = table.rows.iter().filter(|(row, cells)| crm_host::leads::rows::read(*row, cells, &layout, &settings.statuses, &managers).is_ok()).count();
    anyhow::ensure!(good == args.rows, "only {good} of {} rows read", args.rows);
    let parse_rps = args.rows as f64 / t.elapsed().as_secs_f64();
    println!("parse only: {parse_rps:.0} rows/s");

    // Baseline 2: the same cards written bare.
    let bare_rps = bare_insert(&bare_opts, args.rows, admin.id).await?;
    println!("bare insert: {bare_rps:.0} rows/s");

    let state = AppState::new(db.clone(), Config::for_data_dir(dir.to_path_buf()))?;
    let import = |bytes: Vec<u8>| {
        let state = state.clone();
        async move {
            let id = LeadImportId::new();
            let sha = format!("{:x}", bytes.len());
            let mut tx = state.db.begin().await?;
            let mut c = tx.conn();
            crm_host::leads::store::insert_import(&mut c, tenant, &crm_host::leads::store::NewImport { id, mode: LeadMode::Existing, file_name: "клиенты.xlsx", sha256: &sha, content: &bytes, created_by: admin.id }).await?;
            crm_host::jobs::service::enqueue(&mut c, &state.jobs, tenant, &crm_host::leads::LEAD_IMPORT_JOB, serde_json::json!({ "import_id": id }), Some(admin.id)).await?;
            tx.commit().await?;
            let t = Instant::now();
            let jobs = crm_host::jobs::runner::run_pending(&state, crm_host::jobs::runner::RunnerOptions::default()).await?;
            let took = t.elapsed().as_secs_f64();
            anyhow::ensure!(jobs.iter().all(|j| j.status.as_str() == "succeeded"), "the import job did not succeed: {jobs:?}");
            let mut c = state.db.read().await?;
            let done = crm_host::leads::store::get_import(&mut c.conn(), tenant, id).await?.context("the import")?;
            Ok::<_, anyhow::Error>((took, done.report.context("the report")?.0))
        }
    };
    let (took, report) = import(bytes.clone()).await?;
    let import_rps = args.rows as f64 / took;
    println!("import: {import_rps:.0} rows/s ({took:.1} s; {} created, {} deals, {} rejected)", report.created, report.deals_opened, report.rejected);
    let (took2, again) = import(bytes).await?;
    let reimport_rps = args.rows as f64 / took2;
    println!("re-import: {reimport_rps:.0} rows/s ({took2:.1} s; {} unchanged, {} created)", again.unchanged, again.created);
    anyhow::ensure!(again.created == 0 && again.deals_opened == 0, "the re-import created something: {again:?}");

    // With enrichment: new clients, each card filled through the DaData plugin from a paced fake.
    let fake = fake_dadata(args.fake_rate).await?;
    crm_host::plugins::service::register_builtins(&state, crm_host::plugins::builtin::BUILTINS, Some(tenant)).await?;
    {
        let input: crm_host::plugins::service::ModuleInput = serde_json::from_value(serde_json::json!({
            "version": "0.2.0", "settings": {"base_url": fake.base_url}, "secrets": {"api_key": FAKE_KEY},
            "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}
        }))?;
        let mut tx = state.db.begin().await?;
        crm_host::plugins::service::configure(&state, &mut tx.conn(), tenant, &crm_host::audit::Actor::system("bench"), "inn-dadata", input)
            .await
            .map_err(|e| anyhow::anyhow!("enabling the DaData module: {e}"))?;
        tx.commit().await?;
    }
    let bytes = spreadsheet_from(args.rows, args.enrich_rows, "admin@leads.example")?;
    let (took3, enriched) = import(bytes).await?;
    let enrich_rps = args.enrich_rows as f64 / took3;
    let calls = fake.calls.load(std::sync::atomic::Ordering::SeqCst);
    println!("import with enrichment: {enrich_rps:.0} rows/s ({took3:.1} s; {} created, {} filled, {calls} look-ups; fake rate {:.0}/s)", enriched.created, enriched.enriched, args.fake_rate);
    if let Some(w) = enriched.warnings.first() {
        println!("  first warning: {w}");
    }
    db.close().await;
    Ok(Report { engine, parse_rps, bare_rps, import_rps, reimport_rps, created: report.created, deals: report.deals_opened, enrich_rps, enriched: enriched.enriched })
}

const FAKE_KEY: &str = "bench-dadata-key";

struct FakeDadata {
    base_url: String,
    host: String,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// A loopback DaData `findById/party` that answers its real record (with the ИНН asked)
/// and serves at most `rate` look-ups a second: each request waits for its slot.
async fn fake_dadata(rate: f64) -> anyhow::Result<FakeDadata> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let real: serde_json::Value = serde_json::from_str(include_str!("../../tests/fixtures/dadata-party-response.json"))?;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let next = Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now()));
    let gap = std::time::Duration::from_secs_f64(1.0 / rate);
    let app = axum::Router::new().route(
        "/suggestions/api/4_1/rs/findById/party",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let (real, counter, next) = (real.clone(), counter.clone(), next.clone());
            async move {
                let slot = {
                    let mut n = next.lock().await;
                    let slot = (*n).max(tokio::time::Instant::now());
                    *n = slot + gap;
                    slot
                };
                tokio::time::sleep_until(slot).await;
                counter.fetch_add(1, Ordering::SeqCst);
                let mut answer = real;
                answer["suggestions"][0]["data"]["inn"] = body["query"].clone();
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(FakeDadata { base_url: format!("http://{addr}/suggestions/api/4_1/rs/"), host: addr.to_string(), calls })
}

async fn bare_insert(opts: &DbOptions, rows: usize, _admin: UserId) -> anyhow::Result<f64> {
    let db = Db::connect(opts).await?;
    let (tenant, _, _) = seed_tenant(&db, "ООО «Бенч База»", "admin@bare.example", 0, 3).await?;
    let tenant = TenantId(tenant);
    let t = Instant::now();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(500) {
        let mut tx = db.begin().await?;
        for i in chunk {
            let input = CounterpartyInput {
                kind: CounterpartyKind::LegalEntity,
                inn: Some(inn(*i)),
                kpp: None,
                ogrn: None,
                full_name: format!("ООО «Клиент {i}»"),
                short_name: None,
                legal_address: None,
                postal_address: None,
                bank_name: None,
                bank_bic: None,
                bank_account: None,
                bank_corr_account: None,
                segment: None,
                responsible_id: None,
                payment_deferral_days: 0,
                tags: vec![],
            };
            crm_host::counterparties::store::insert(&mut tx.conn(), tenant, CounterpartyId::new(), &input).await?;
        }
        tx.commit().await?;
    }
    let rps = rows as f64 / t.elapsed().as_secs_f64();
    db.close().await;
    Ok(rps)
}
