//! `receivables`: the 1C sync, "Owed to us" and the client card on a big base, each
//! next to a baseline measured in the same run on the same machine.
//!
//! 1. **Sync vs raw insert.** A fake 1C base on loopback (`crm-fake-1c`, generated:
//!    counterparties, one contract each, sales documents, payments) is synced into a
//!    fresh database through the real path: the job worker, the built-in
//!    `accounting-1c` WebAssembly plugin paging the OData interface over HTTP, the host's
//!    checks and batched upserts, then the settlement (allocation of payments, balances,
//!    ratings). The baseline writes the same rows into another fresh database with the
//!    same batched INSERT statements (1 000 rows a statement, 20 000 a transaction, as
//!    the sync commits) and nothing else: no plugin, HTTP, JSON, checks or settlement.
//! 2. **"Owed to us"** over the synced data: `GET /api/v1/receivables/aging` through the
//!    real server, one request at a time; median and 95th percentile. Also as of past days
//!    (`as_of` 30, 365 and 730 days ago: the world as it was then), beside today's.
//! 3. **The card with this data loaded**: the card benchmark's load (64 keep-alive
//!    connections, random cards) against the real app and against the bare axum handler
//!    doing the same SQL.
//!
//! `cargo run --release -p crm-bench --bin receivables -- --engine both`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::routing::get;
use chrono::Utc;
use clap::{Parser, ValueEnum};
use crm_bench::{BareState, LoadOpts, Measured, PgScratch, Server, bare_card, get_once, load, median_p95};
use crm_fake_1c::{EntitySet, FakeOneC, Generated, Options};
use crm_host::audit::Actor;
use crm_host::counterparties::CounterpartyId;
use crm_host::counterparties::model::CounterpartyKind;
use crm_host::db::{Db, DbOptions};
use crm_host::receivables::calendar::due_date;
use crm_host::receivables::model::{ContractId, NamedAllocation, PaymentId, SalesDocumentId};
use crm_host::receivables::store::{self, ContractRow, DocRow, NewCard, PaymentRow, RefRow};
use crm_host::{AppState, Config, on_conn};
use tokio::runtime::Runtime;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(about = "1C sync, 'Owed to us' and the card on a big base, next to same-run baselines")]
struct Args {
    #[arg(long, value_enum, default_value_t = EngineArg::Both)]
    engine: EngineArg,
    #[arg(long, default_value_t = 100_000)]
    counterparties: usize,
    #[arg(long, default_value_t = 1_000_000)]
    sales: usize,
    #[arg(long, default_value_t = 1_000_000)]
    payments: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Records per page the sync asks the plugin for.
    #[arg(long, default_value_t = 1000)]
    page_size: i32,
    /// Sequential "Owed to us" requests measured.
    #[arg(long, default_value_t = 20)]
    aging_runs: usize,
    /// Connections of the card load; 0 skips the card.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    #[arg(long, default_value_t = 32)]
    db_connections: u32,
    #[arg(long, env = "BENCH_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Skip the raw-insert baseline (for looking at plans, not for figures).
    #[arg(long)]
    no_raw: bool,
    /// Keep the synced database (its SQLite file or PostgreSQL schema) for inspection.
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    Sqlite,
    Postgres,
    Both,
}

/// What the issue asks.
const DOCS_PER_SEC_TARGET: f64 = 50_000.0;
const RAW_SHARE_TARGET: f64 = 0.30;
const AGING_TARGET_MS_PG: f64 = 300.0;
const AGING_TARGET_MS_SQLITE: f64 = 500.0;
/// "Owed to us" as of a past day (issue 11), both engines.
const AGING_PAST_TARGET_MS: f64 = 2000.0;
/// The past days measured, in days before today.
const PAST_DAYS: [u64; 3] = [30, 365, 730];

fn main() -> ExitCode {
    let args = Args::parse();
    crm_host::telemetry::init(crm_host::telemetry::LogFormat::Text);
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\n!!! receivables benchmark failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

struct Report {
    engine: &'static str,
    documents: u64,
    raw_secs: f64,
    sync_secs: f64,
    phases: String,
    aging: (f64, f64),
    aging_filtered: (f64, f64),
    /// `(days ago, median, p95)`.
    aging_past: Vec<(u64, f64, f64)>,
    card: Option<(Measured, Measured)>,
}

fn run(args: &Args) -> anyhow::Result<()> {
    let today = crm_host::tenancy::access::today_in("Europe/Moscow");
    let data = Generated::new(args.counterparties, args.sales, args.payments, args.seed, today);
    // The fake 1C in a runtime of its own (one thread), as an outside server would be.
    let fake_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("fake-1c").enable_all().build()?;
    let fake = fake_rt.block_on(FakeOneC::start(Arc::new(data), Options::default()))?;
    let main = tokio::runtime::Builder::new_multi_thread().worker_threads(crm_bench::WORKERS).thread_name("bench").enable_all().build()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "base: {} counterparties, {} contracts, {} sales documents, {} payments (fake 1C at {}); {cores} cores",
        args.counterparties, args.counterparties, args.sales, args.payments, fake.base_url
    );
    let mut reports = Vec::new();
    for engine in [EngineArg::Sqlite, EngineArg::Postgres] {
        if args.engine != EngineArg::Both && args.engine != engine {
            continue;
        }
        let name = if engine == EngineArg::Sqlite { "sqlite" } else { "postgres" };
        match run_engine(args, &main, name, &data, &fake) {
            Ok(r) => reports.push(r),
            Err(e) if engine == EngineArg::Postgres && format!("{e:#}").contains("PostgreSQL unreachable") => {
                let line = "!".repeat(100);
                eprintln!("\n{line}\n!!! PostgreSQL half SKIPPED: {e:#}\n{line}\n");
            }
            Err(e) => return Err(e),
        }
    }
    print_summary(args, &reports);
    drop(fake);
    fake_rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// A fresh database: a temporary SQLite file or a throw-away PostgreSQL schema.
struct Fresh {
    opts: DbOptions,
    dir: tempfile::TempDir,
    scratch: Option<PgScratch>,
}

impl Fresh {
    fn new(rt: &Runtime, engine: &str, args: &Args, label: &str) -> anyhow::Result<Fresh> {
        let dir = tempfile::tempdir()?;
        if engine == "sqlite" {
            let url = format!("sqlite://{}", dir.path().join(format!("{label}.db")).display());
            return Ok(Fresh { opts: DbOptions { url, max_connections: args.db_connections, pg_schema: None }, dir, scratch: None });
        }
        let scratch = rt
            .block_on(PgScratch::create(&args.pg_url, &format!("bench_recv_{label}")))
            .map_err(|e| anyhow::anyhow!("PostgreSQL unreachable at {}: {e:#}", crm_host::db::redact_url(&args.pg_url)))?;
        let opts = DbOptions { url: args.pg_url.clone(), max_connections: args.db_connections, pg_schema: Some(scratch.schema.clone()) };
        Ok(Fresh { opts, dir, scratch: Some(scratch) })
    }

    /// Leaves the database in place and says where it is.
    fn keep(self) {
        match &self.scratch {
            Some(s) => println!("kept the synced database: PostgreSQL schema {}", s.schema),
            None => println!("kept the synced database: {}", self.opts.url),
        }
        let _ = self.dir.keep();
    }

    fn drop_on(self, rt: &Runtime) {
        if let Some(s) = self.scratch
            && let Err(e) = rt.block_on(s.drop())
        {
            eprintln!("warning: could not drop a bench schema: {e:#}");
        }
    }
}

fn run_engine(args: &Args, rt: &Runtime, engine: &'static str, data: &Generated, fake: &FakeOneC) -> anyhow::Result<Report> {
    println!("\n=== {engine} ===");
    // 1a. The baseline: the same rows, batched INSERT only.
    let raw_secs = if args.no_raw {
        f64::NAN
    } else {
        let raw_db = Fresh::new(rt, engine, args, "raw")?;
        let secs = rt.block_on(raw_insert(&raw_db.opts, data))?;
        raw_db.drop_on(rt);
        secs
    };
    let records = (args.counterparties * 2 + args.sales + args.payments) as u64;
    println!("raw batched INSERT of the same rows: {raw_secs:.1} s ({:.0} records/s)", records as f64 / raw_secs);

    // 1b. The sync through the plugin.
    let sync_db = Fresh::new(rt, engine, args, "sync")?;
    let (state, tenant, token) = rt.block_on(async {
        let db = Db::connect(&sync_db.opts).await?;
        let state = AppState::new(db, Config::for_data_dir(sync_db.dir.path().to_path_buf()))?;
        let mut tx = state.db.begin().await?;
        let created = crm_host::tenancy::service::create_tenant(&mut tx.conn(), &Actor::system("bench"), "ООО «Дистрибьютор»", "Europe/Moscow", "admin@bench.example", "Admin")
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        tx.commit().await?;
        crm_host::plugins::service::register_builtins(&state, crm_host::plugins::builtin::BUILTINS, Some(created.tenant.id)).await?;
        let tenant = created.tenant.id;
        let mut tx = state.db.begin().await?;
        let input: crm_host::plugins::service::ModuleInput = serde_json::from_value(serde_json::json!({
            "version": "0.2.0", "settings": {"base_url": fake.base_url, "username": "odata"}, "secrets": {"password": "secret"},
            "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}
        }))?;
        crm_host::plugins::service::configure(&state, &mut tx.conn(), tenant, &Actor::system("bench"), "accounting-1c", input)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let settings = crm_host::receivables::model::Settings { sync_page_size: args.page_size, sync_daily_at: None, ..Default::default() };
        store::save_settings(&mut tx.conn(), tenant, &settings).await?;
        let job = crm_host::jobs::store::NewJob { kind: crm_host::receivables::SYNC_JOB, params: serde_json::json!({"full": true}), requested_by: None, dedupe_key: None };
        crm_host::jobs::store::enqueue(&mut tx.conn(), tenant, &job).await?;
        tx.commit().await?;
        anyhow::Ok((state, tenant, created.token.token))
    })?;
    let started = Instant::now();
    let done = rt.block_on(crm_host::jobs::runner::run_pending(&state, crm_host::jobs::runner::RunnerOptions::default()))?;
    let sync_secs = started.elapsed().as_secs_f64();
    let job = done.first().context("the sync job did not run")?;
    let p = &job.progress.0;
    if job.status != crm_host::jobs::JobStatus::Succeeded {
        bail!("the sync failed: {:?} {}", job.error, p);
    }
    let documents = p["sales_documents"]["received"].as_u64().unwrap_or(0) + p["payments"]["received"].as_u64().unwrap_or(0);
    let phases = p["seconds"].as_object().map(|o| o.iter().map(|(k, v)| format!("{k} {:.1} s", v.as_f64().unwrap_or(0.0))).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    println!(
        "sync through the plugin: {sync_secs:.1} s — {:.0} documents/s, {:.0} records/s ({phases}); created {} sales, {} payments; rejected {}",
        documents as f64 / sync_secs,
        records as f64 / sync_secs,
        p["sales_documents"]["created"],
        p["payments"]["created"],
        p["rejected_total"]
    );
    println!("sync ÷ raw: {:.2}", raw_secs / sync_secs);
    // The sync refreshed the planner's statistics itself; restart the server as a
    // deployment would serve it.
    let db = state.db.clone();
    rt.block_on(db.close());
    drop(state);

    // 2. "Owed to us" over the synced data, through the real server.
    let auth = HeaderValue::from_str(&format!("Bearer {token}"))?;
    let real = {
        let (opts, dir) = (sync_db.opts.clone(), sync_db.dir.path().to_path_buf());
        Server::start("real", move || async move {
            let db = Db::connect(&opts).await?;
            Ok((crm_host::app(AppState::new(db.clone(), Config::for_data_dir(dir))?), Some(db)))
        })?
    };
    let time_get = |path: &str, runs: usize| -> anyhow::Result<(f64, f64)> {
        let mut ms = Vec::with_capacity(runs);
        for i in 0..=runs {
            let t = Instant::now();
            let (status, body) = rt.block_on(get_once(real.addr, path, &auth))?;
            if status != StatusCode::OK {
                bail!("{path} answered {status}: {}", String::from_utf8_lossy(&body));
            }
            if i > 0 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok(median_p95(ms))
    };
    let aging = time_get("/api/v1/receivables/aging?limit=50", args.aging_runs)?;
    let aging_filtered = time_get("/api/v1/receivables/aging?limit=50&sort=overdue&segment=none", args.aging_runs)?;
    println!("\"Owed to us\" (top 50 of all clients, totals over all): median {:.1} ms, p95 {:.1} ms", aging.0, aging.1);
    println!("\"Owed to us\" sorted by overdue, filtered by segment: median {:.1} ms, p95 {:.1} ms", aging_filtered.0, aging_filtered.1);
    let mut aging_past = Vec::new();
    let today = crm_host::tenancy::access::today_in("Europe/Moscow");
    for days in PAST_DAYS {
        let day = today - chrono::Days::new(days);
        let (median, p95) = time_get(&format!("/api/v1/receivables/aging?limit=50&as_of={day}"), args.aging_runs)?;
        println!("\"Owed to us\" as of {day} ({days} days ago): median {median:.1} ms, p95 {p95:.1} ms (today's: median {:.1} ms)", aging.0);
        aging_past.push((days, median, p95));
    }

    // 3. The card with this data loaded.
    let card = if args.connections > 0 {
        let ids: Vec<Uuid> = rt.block_on(async {
            let db = Db::connect(&sync_db.opts).await?;
            let ids: Vec<Uuid> = {
                let mut c = db.read().await?;
                let c = &mut c.conn();
                on_conn!(c, c => sqlx::query_scalar("SELECT id FROM counterparties WHERE tenant_id = $1").bind(tenant).fetch_all(c).await)?
            };
            // `close` waits for every connection to come back.
            db.close().await;
            anyhow::Ok(ids)
        })?;
        let same_sql = {
            let opts = sync_db.opts.clone();
            Server::start("same-sql", move || async move {
                let db = Db::connect(&opts).await?;
                let router = Router::new().route("/card/{id}", get(bare_card)).with_state(BareState { db: db.clone(), tenant: tenant.0 });
                Ok((router, Some(db)))
            })?
        };
        let uris = |prefix: &str| -> anyhow::Result<Arc<Vec<Uri>>> { Ok(Arc::new(ids.iter().map(|id| format!("{prefix}{id}").parse()).collect::<Result<_, _>>()?)) };
        // Both answer the same card.
        let id = ids[ids.len() / 2];
        let a = rt.block_on(get_once(real.addr, &format!("/api/v1/counterparties/{id}"), &auth))?;
        let b = rt.block_on(get_once(same_sql.addr, &format!("/card/{id}"), &auth))?;
        let (ja, jb): (serde_json::Value, serde_json::Value) = (serde_json::from_slice(&a.1)?, serde_json::from_slice(&b.1)?);
        if ja != jb {
            bail!("real app and same-SQL handler disagree on card {id}: {ja} / {jb}");
        }
        let opts = LoadOpts { connections: args.connections, seconds: args.seconds, warmup: args.warmup };
        let m_real = rt.block_on(load("real app", real.addr, uris("/api/v1/counterparties/")?, auth.clone(), &opts))?;
        let m_sql = rt.block_on(load("bare axum, same SQL", same_sql.addr, uris("/card/")?, auth.clone(), &opts))?;
        same_sql.stop();
        println!(
            "card, {} connections: real app {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms), bare same SQL {:.0} req/s (p99 {:.1} ms): {:.2}",
            args.connections,
            m_real.rps,
            m_real.p50_ms,
            m_real.p99_ms,
            m_sql.rps,
            m_sql.p99_ms,
            m_real.rps / m_sql.rps
        );
        Some((m_real, m_sql))
    } else {
        None
    };
    real.stop();
    if args.keep {
        sync_db.keep();
    } else {
        sync_db.drop_on(rt);
    }
    Ok(Report { engine, documents, raw_secs, sync_secs, phases, aging, aging_filtered, aging_past, card })
}

/// The baseline: the same rows the sync stores, written with the same batched INSERT
/// statements (UNNEST on PostgreSQL, multi-row VALUES on SQLite), 1 000 rows a statement
/// and 20 000 a transaction (as the sync commits), computed straight from the
/// generator's numbers.
async fn raw_insert(opts: &DbOptions, data: &Generated) -> anyhow::Result<f64> {
    let db = Db::connect(opts).await?;
    let tenant = {
        let mut tx = db.begin().await?;
        let t = crm_host::tenancy::service::create_tenant(&mut tx.conn(), &Actor::system("bench"), "ООО «Сырая вставка»", "Europe/Moscow", "raw@bench.example", "Admin")
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        tx.commit().await?;
        t.tenant.id
    };
    let now = Utc::now();
    let started = Instant::now();
    let batch = store::BATCH;
    let mut tx = db.begin().await?;
    let mut in_tx = 0usize;
    // Commits every `COMMIT_RECORDS` rows, like the sync.
    macro_rules! written {
        ($n:expr) => {
            in_tx += $n;
            if in_tx >= crm_host::receivables::sync::COMMIT_RECORDS {
                tx.commit().await?;
                tx = db.begin().await?;
                in_tx = 0;
            }
        };
    }
    // Counterparties: a card and its accounting reference each.
    let mut cards: Vec<CounterpartyId> = Vec::with_capacity(data.counterparties);
    for start in (0..data.counterparties).step_by(batch) {
        let (mut rows, mut refs) = (Vec::new(), Vec::new());
        for c in start..(start + batch).min(data.counterparties) {
            let g = data.counterparty(c);
            let id = CounterpartyId::new();
            let name = if g.sole_proprietor { format!("Индивидуальный предприниматель Клиентов {c}") } else { format!("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"КЛИЕНТ {c}\"") };
            let kpp = (!g.kpp.is_empty()).then(|| g.kpp.clone());
            let search_key = crm_host::api::pagination::search_key(&[Some(&name), None, Some(&g.inn)]);
            let kind = if g.sole_proprietor { CounterpartyKind::SoleProprietor } else { CounterpartyKind::LegalEntity };
            rows.push(NewCard { id, kind, inn: Some(g.inn.clone()), kpp: kpp.clone(), full_name: name.clone(), search_key });
            refs.push(RefRow { external_id: data.ref_key(EntitySet::Counterparties, c), counterparty_id: id, name, inn: Some(g.inn), kpp, deleted: false, created_card: true, manager_ref: None });
            cards.push(id);
        }
        store::insert_cards(&mut tx.conn(), tenant, &rows, now).await?;
        store::upsert_refs(&mut tx.conn(), tenant, &refs, now).await?;
        written!(rows.len());
    }
    let mut contracts: Vec<(ContractId, u32)> = Vec::with_capacity(data.counterparties);
    for start in (0..data.counterparties).step_by(batch) {
        let mut rows = Vec::new();
        for (c, &counterparty_id) in cards.iter().enumerate().skip(start).take(batch) {
            let g = data.contract(c);
            let id = ContractId::new();
            rows.push(ContractRow {
                id,
                external_id: data.ref_key(EntitySet::Contracts, c),
                counterparty_id,
                number: Some(format!("Д-{c}")),
                signed_on: Some(g.date),
                deferral_days: Some(i32::try_from(g.deferral_days)?),
                deleted: false,
                manager_ref: None,
            });
            contracts.push((id, g.deferral_days));
        }
        store::upsert_contracts(&mut tx.conn(), tenant, &rows, now).await?;
        written!(rows.len());
    }
    let org = |o: usize| Some(crm_fake_1c::generate::ORGANISATIONS[o].to_string());
    let mut rows = Vec::with_capacity(batch);
    for i in 0..data.sales {
        let s = data.sale(i);
        if !s.deleted {
            let (contract, deferral) = contracts[s.counterparty];
            let issued = s.date.date();
            rows.push(DocRow {
                id: SalesDocumentId::new(),
                external_id: data.ref_key(EntitySet::Sales, i),
                counterparty_id: cards[s.counterparty],
                contract_id: Some(contract),
                legal_entity_ref: org(s.organisation),
                number: format!("0000-{i:06}"),
                issued_on: issued,
                due_on: due_date(issued, deferral),
                amount: s.amount_kopecks,
                currency: "RUB".into(),
                primary_document: None,
                posted: s.posted,
                deleted: false,
            });
        }
        if rows.len() == batch || i + 1 == data.sales {
            store::upsert_documents(&mut tx.conn(), tenant, &rows, now).await?;
            written!(rows.len());
            rows.clear();
        }
    }
    let mut rows = Vec::with_capacity(batch);
    for j in 0..data.payments {
        let p = data.payment(j);
        if p.customer_payment {
            let allocations = if p.names_document {
                vec![NamedAllocation { document: data.ref_key(EntitySet::Sales, p.document), amount: crm_host::money::Money::from_minor(p.amount_kopecks) }]
            } else {
                Vec::new()
            };
            rows.push(PaymentRow {
                id: PaymentId::new(),
                external_id: data.ref_key(EntitySet::Payments, j),
                counterparty_id: cards[p.counterparty],
                contract_id: Some(contracts[p.counterparty].0),
                number: format!("ПП-{j}"),
                paid_on: p.date.date(),
                amount: p.amount_kopecks,
                allocations,
                posted: true,
                deleted: false,
                unapplied: 0,
            });
        }
        if rows.len() == batch || j + 1 == data.payments {
            store::upsert_payments(&mut tx.conn(), tenant, &rows, now).await?;
            written!(rows.len());
            rows.clear();
        }
    }
    tx.commit().await?;
    let secs = started.elapsed().as_secs_f64();
    db.close().await;
    Ok(secs)
}

fn print_summary(args: &Args, reports: &[Report]) {
    if reports.is_empty() {
        return;
    }
    let mark = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!("\n=== summary: {} counterparties, {} sales documents, {} payments ===", args.counterparties, args.sales, args.payments);
    for r in reports {
        let docs_per_sec = r.documents as f64 / r.sync_secs;
        let share = r.raw_secs / r.sync_secs;
        let target = if r.engine == "postgres" { AGING_TARGET_MS_PG } else { AGING_TARGET_MS_SQLITE };
        println!("{}:", r.engine);
        println!("  sync: {:.1} s, {docs_per_sec:.0} documents/s (target ≥ {DOCS_PER_SEC_TARGET:.0}) {}", r.sync_secs, mark(docs_per_sec >= DOCS_PER_SEC_TARGET));
        println!("  raw batched INSERT of the same rows: {:.1} s; sync ÷ raw = {share:.2} (target ≥ {RAW_SHARE_TARGET}) {}", r.raw_secs, mark(share >= RAW_SHARE_TARGET));
        println!("  phases: {}", r.phases);
        println!("  \"Owed to us\": median {:.1} ms, p95 {:.1} ms (target ≤ {target} ms) {}", r.aging.0, r.aging.1, mark(r.aging.0 <= target));
        println!("  \"Owed to us\", filtered and sorted by overdue: median {:.1} ms, p95 {:.1} ms", r.aging_filtered.0, r.aging_filtered.1);
        for (days, median, p95) in &r.aging_past {
            println!(
                "  \"Owed to us\" as of {days} days ago: median {median:.1} ms, p95 {p95:.1} ms (target ≤ {AGING_PAST_TARGET_MS} ms) {}; today's same run: {:.1} ms",
                mark(*median <= AGING_PAST_TARGET_MS),
                r.aging.0
            );
        }
        if let Some((real, sql)) = &r.card {
            println!(
                "  card: real {:.0} req/s p99 {:.1} ms; bare same SQL {:.0} req/s p99 {:.1} ms; real ÷ bare = {:.2} (host target ≥ 0.50) {}",
                real.rps,
                real.p99_ms,
                sql.rps,
                sql.p99_ms,
                real.rps / sql.rps,
                mark(real.rps / sql.rps >= 0.5)
            );
            if real.errors + sql.errors > 0 {
                println!("  !!! NON-200 RESPONSES: {:?} {:?}", real.first_error, sql.first_error);
            }
        }
    }
}
