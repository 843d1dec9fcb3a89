//! `reminders`: the daily plan of reminders on a big base, beside a bare scan of the same
//! open documents in the same run; and SMS reminders dispatched through the built-in
//! `sms-ru` plugin to a loopback SMS.RU.
//!
//! 1. **The plan.** 100 000 clients (two contacts each, as the card benchmark seeds them;
//!    a tenth natural persons), 1 000 000 open documents with due dates from 120 days ago
//!    to 30 days ahead, 10 rules (one per client segment, each with the default six steps:
//!    e-mail 3 working days before, on the day and a day after, SMS, voice, a task), the two
//!    default debt-control rules. The figure: one day of the `reminders.plan` job
//!    (`reminders::run_day`: the plan, debt control and the hand-over of the e-mails to the
//!    outbox in one transaction; SMS and voice with no module set are skipped saying so) —
//!    the median of consecutive days.
//!    The baseline: the bare SQL scan of the open documents with their clients that the
//!    plan reads (every row fetched, nothing decided).
//! 2. **SMS dispatch.** Clients with one debt three days overdue and an SMS step: the plan
//!    makes the SMS reminders, then `channels::send` hands them to the `sms-ru` module
//!    instance, which calls a loopback SMS.RU (its real `sms/send` JSON) — SMS per second.
//!
//! `cargo run --release -p crm-bench --bin reminders -- --engine both`

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use chrono::{Days, NaiveDate, TimeZone, Utc};
use clap::{Parser, ValueEnum};
use crm_bench::seed::seed_tenant;
use crm_bench::{PgScratch, median_p95};
use crm_host::counterparties::CounterpartyId;
use crm_host::db::{Db, DbOptions};
use crm_host::receivables::model::SalesDocumentId;
use crm_host::receivables::store::{self, DocRow, OpenItem};
use crm_host::reminders::model::{Channel, Offset, OffsetKind, RuleInput, RuleId, Scope, Step};
use crm_host::tenancy::TenantId;
use crm_host::{AppState, Config, on_conn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(about = "The daily reminders plan on a big base and SMS dispatch, next to same-run baselines")]
struct Args {
    #[arg(long, value_enum, default_value_t = EngineArg::Both)]
    engine: EngineArg,
    #[arg(long, default_value_t = 100_000)]
    clients: usize,
    #[arg(long, default_value_t = 1_000_000)]
    documents: usize,
    #[arg(long, default_value_t = 10)]
    rules: usize,
    /// Consecutive days planned (the median is quoted).
    #[arg(long, default_value_t = 3)]
    days: usize,
    /// Clients that get an SMS reminder in the dispatch part.
    #[arg(long, default_value_t = 5_000)]
    sms_clients: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
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
            eprintln!("\n!!! reminders benchmark failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

struct Report {
    engine: &'static str,
    plan_ms: Vec<f64>,
    scan_ms: Vec<f64>,
    planned: i64,
    queued: i64,
    sms_per_s: f64,
    sms: u64,
}

fn run(args: &Args) -> anyhow::Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut reports = Vec::new();
    if matches!(args.engine, EngineArg::Sqlite | EngineArg::Both) {
        let dir = tempfile::tempdir()?;
        let opts = DbOptions { url: format!("sqlite://{}", dir.path().join("reminders.db").display()), max_connections: 8, pg_schema: None };
        reports.push(rt.block_on(run_engine(args, "sqlite", opts, dir.path()))?);
    }
    if matches!(args.engine, EngineArg::Postgres | EngineArg::Both) {
        match rt.block_on(PgScratch::create(&args.pg_url, "bench_reminders")) {
            Ok(scratch) => {
                let dir = tempfile::tempdir()?;
                let opts = DbOptions { url: args.pg_url.clone(), max_connections: 8, pg_schema: Some(scratch.schema.clone()) };
                let result = rt.block_on(run_engine(args, "postgres", opts, dir.path()));
                if let Err(err) = rt.block_on(scratch.drop()) {
                    eprintln!("warning: could not drop the bench schema: {err:#}");
                }
                reports.push(result?);
            }
            Err(err) => println!("\n!!! PostgreSQL half SKIPPED: cannot reach it ({err:#})"),
        }
    }
    println!("\n| engine | clients | documents | rules | plan median ms | bare scan median ms | plan ÷ scan | messages planned/day | e-mails queued/day | SMS/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ok = true;
    for r in &reports {
        let (plan, _) = median_p95(r.plan_ms.clone());
        let (scan, _) = median_p95(r.scan_ms.clone());
        println!(
            "| {} | {} | {} | {} | {plan:.0} | {scan:.0} | {:.1} | {} | {} | {:.0} |",
            r.engine,
            args.clients,
            args.documents,
            args.rules,
            plan / scan,
            r.planned,
            r.queued,
            r.sms_per_s
        );
        let met = plan <= 5_000.0;
        println!("  target: the daily plan ≤ 5 s: {}", if met { "met" } else { "MISSED" });
        let fast = r.sms_per_s >= 2_000.0;
        println!("  target: SMS dispatch ≥ 2,000 messages/s ({} SMS): {}", r.sms, if fast { "met" } else { "MISSED" });
        ok &= met && fast;
    }
    Ok(ok)
}

fn rule(name: &str, segment: &str, steps: Vec<Step>) -> RuleInput {
    RuleInput { name: name.into(), position: 0, active: true, max_attempts: None, scope: Scope { segments: vec![segment.into()], ..Scope::default() }, steps }
}

fn step(kind: OffsetKind, days: u32, channel: Channel, template: &str, recipients: &[&str]) -> Step {
    Step { id: String::new(), offset: Offset { kind, days }, channel, template: template.into(), recipients: recipients.iter().map(|r| (*r).to_owned()).collect() }
}

/// The tenant's rules: the default one's steps, once per segment.
async fn install_rules(db: &Db, tenant: TenantId, rules: &[RuleInput]) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    {
        let mut c = tx.conn();
        on_conn!(&mut c, c => sqlx::query("DELETE FROM reminder_rules WHERE tenant_id = $1").bind(tenant).execute(c).await.map(drop))?;
        for r in rules {
            crm_host::reminders::store::insert_rule(&mut c, tenant, RuleId::new(), r).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Open documents: `per_client` a client, due `due(rng)` days from `day`.
async fn seed_debts(db: &Db, tenant: TenantId, clients: &[uuid::Uuid], documents: usize, day: NaiveDate, seed: u64, due: impl Fn(&mut StdRng) -> i64) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now();
    let chunk = 20_000;
    for start in (0..documents).step_by(chunk) {
        let mut docs = Vec::with_capacity(chunk);
        let mut items = Vec::with_capacity(chunk);
        for n in start..(start + chunk).min(documents) {
            let cp = CounterpartyId(clients[n % clients.len()]);
            let due_on = day.checked_add_signed(chrono::Duration::days(due(&mut rng))).context("a due date")?;
            let issued_on = due_on - Days::new(30);
            let amount = rng.random_range(1_000..2_000_000) * 100;
            let id = SalesDocumentId::new();
            docs.push(DocRow {
                id,
                external_id: format!("doc-{seed}-{n}"),
                counterparty_id: cp,
                contract_id: None,
                legal_entity_ref: None,
                number: format!("{:010}", n),
                issued_on,
                due_on,
                amount,
                currency: "RUB".into(),
                primary_document: None,
                posted: true,
                deleted: false,
            });
            items.push(OpenItem { document_id: id, counterparty_id: cp, due_on, open_amount: amount, legal_entity_ref: None });
        }
        let mut tx = db.begin().await?;
        store::upsert_documents(&mut tx.conn(), tenant, &docs, now).await?;
        store::upsert_open_items(&mut tx.conn(), tenant, &items).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Puts the clients into `segments` segments, round robin.
async fn segment(db: &Db, tenant: TenantId, clients: &[uuid::Uuid], segments: usize) -> anyhow::Result<()> {
    let mut by: BTreeMap<usize, Vec<uuid::Uuid>> = BTreeMap::new();
    for (i, id) in clients.iter().enumerate() {
        by.entry(i % segments).or_default().push(*id);
    }
    let mut tx = db.begin().await?;
    for (k, ids) in by {
        for part in ids.chunks(5_000) {
            let mut c = tx.conn();
            // UUID literals: blobs on SQLite, text cast to uuid on PostgreSQL.
            let list = match c.engine() {
                crm_host::db::Engine::Sqlite => part.iter().map(|id| format!("X'{}'", id.simple())).collect::<Vec<_>>().join(","),
                crm_host::db::Engine::Postgres => part.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(","),
            };
            let sql = format!("UPDATE counterparties SET segment = 'seg{k}' WHERE tenant_id = $1 AND id IN ({list})");
            on_conn!(&mut c, c => sqlx::query(&sql).bind(tenant).execute(c).await.map(drop))?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The baseline: the open documents with their clients, every row fetched.
async fn bare_scan(db: &Db, tenant: TenantId) -> anyhow::Result<(f64, usize)> {
    let t = Instant::now();
    let mut conn = db.read().await?;
    let mut c = conn.conn();
    let sql = "SELECT o.document_id, o.counterparty_id, o.due_on, o.open_amount, d.number, cp.kind, cp.segment, cp.responsible_id \
               FROM open_items o JOIN sales_documents d ON d.tenant_id = o.tenant_id AND d.id = o.document_id \
               JOIN counterparties cp ON cp.tenant_id = o.tenant_id AND cp.id = o.counterparty_id WHERE o.tenant_id = $1";
    let rows = on_conn!(&mut c, c => sqlx::query(sql).bind(tenant).fetch_all(c).await.map(|r| r.len()))?;
    Ok((t.elapsed().as_secs_f64() * 1000.0, rows))
}

async fn run_engine(args: &Args, engine: &'static str, opts: DbOptions, dir: &std::path::Path) -> anyhow::Result<Report> {
    println!("\n=== {engine}: {} clients, {} documents, {} rules ===", args.clients, args.documents, args.rules);
    let db = Db::connect(&opts).await?;
    let t = Instant::now();
    let (tenant, _, clients) = seed_tenant(&db, "ООО «Бенч Напоминания»", "admin@reminders.example", args.clients, 7).await?;
    let tenant = TenantId(tenant);
    // The first planned day: a Monday in November (working days all week).
    let day0 = NaiveDate::from_ymd_opt(2026, 11, 16).context("day")?;
    seed_debts(&db, tenant, &clients, args.documents, day0, 11, |rng| rng.random_range(-120..30)).await?;
    segment(&db, tenant, &clients, args.rules).await?;
    let defaults = crm_host::reminders::default_rule().steps;
    let rules: Vec<RuleInput> = (0..args.rules).map(|k| rule(&format!("Сегмент {k}"), &format!("seg{k}"), defaults.clone())).collect();
    install_rules(&db, tenant, &rules).await?;
    if engine == "sqlite" {
        let mut tx = db.begin().await?;
        on_conn!(&mut tx.conn(), c => sqlx::query("ANALYZE").execute(c).await.map(drop))?;
        tx.commit().await?;
    }
    println!("seeded in {:.0} s", t.elapsed().as_secs_f64());

    let state = AppState::new(db.clone(), Config::for_data_dir(dir.to_path_buf()))?;
    let zone = crm_host::jobs::schedule::tenant_zone("Europe/Moscow");
    let (mut plan_ms, mut scan_ms) = (Vec::new(), Vec::new());
    let (mut planned, mut queued) = (0, 0);
    for n in 0..args.days {
        let day = day0 + Days::new(n as u64);
        let (scan, rows) = bare_scan(&db, tenant).await?;
        // 10:00 in Moscow: the companies' window is open, e-mails go to the outbox at once.
        let now = zone.from_local_datetime(&day.and_hms_opt(10, 0, 0).context("time")?).single().context("moment")?.with_timezone(&Utc);
        let t = Instant::now();
        let report = crm_host::reminders::run_day(&state, tenant, day, now).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "{day}: plan {ms:.0} ms ({} planned, {} skipped, {} e-mails queued, {} tasks, control {:?}); bare scan {scan:.0} ms ({rows} rows)",
            report.planned, report.skipped, report.queued, report.tasks, report.control
        );
        plan_ms.push(ms);
        scan_ms.push(scan);
        planned = report.planned;
        queued = report.queued;
    }

    let (sms_per_s, sms) = sms_dispatch(args, &db, dir).await?;
    db.close().await;
    Ok(Report { engine, plan_ms, scan_ms, planned, queued, sms_per_s, sms })
}

/// A loopback SMS.RU answering `sms/send` as the real one does; counts the SMS.
async fn fake_sms_ru(count: Arc<AtomicU64>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/sms/send",
        axum::routing::post(move |body: String| {
            let count = count.clone();
            async move {
                let n = count.fetch_add(1, Ordering::Relaxed);
                let to = form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "to").map(|(_, v)| v.into_owned()).unwrap_or_default();
                axum::Json(json!({"status": "OK", "status_code": 100, "sms": {to: {"status": "OK", "status_code": 100, "sms_id": format!("000000-{}", 10_000_000 + n)}}, "balance": 1000}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr.to_string())
}

/// SMS reminders through the `sms-ru` module to the loopback SMS.RU: SMS per second.
async fn sms_dispatch(args: &Args, db: &Db, dir: &std::path::Path) -> anyhow::Result<(f64, u64)> {
    let (tenant, _, clients) = seed_tenant(db, "ООО «Бенч SMS»", "admin@sms.example", args.sms_clients, 9).await?;
    let tenant = TenantId(tenant);
    let day = NaiveDate::from_ymd_opt(2026, 11, 18).context("day")?;
    // One debt each, three days overdue: the SMS step is due today.
    seed_debts(db, tenant, &clients, clients.len(), day, 13, |_| -3).await?;
    let only_sms = rule("SMS", "all", vec![step(OffsetKind::CalendarDaysAfter, 3, Channel::Sms, "reminder_short", &["accountant", "director"])]);
    segment(db, tenant, &clients, 1).await?;
    install_rules(db, tenant, &[RuleInput { scope: Scope { segments: vec!["seg0".into()], ..Scope::default() }, ..only_sms }]).await?;

    let state = AppState::new(db.clone(), Config::for_data_dir(dir.to_path_buf()))?;
    crm_host::plugins::service::register_builtins(&state, crm_host::plugins::builtin::BUILTINS, Some(tenant)).await?;
    let count = Arc::new(AtomicU64::new(0));
    let host = fake_sms_ru(count.clone()).await?;
    let input: crm_host::plugins::service::ModuleInput = serde_json::from_value(json!({
        "version": "0.2.0", "settings": {"base_url": format!("http://{host}/")}, "secrets": {"api_id": "bench"},
        "grants": {"http_hosts": [host], "private_hosts": [host]}
    }))?;
    {
        let mut tx = db.begin().await?;
        crm_host::plugins::service::configure(&state, &mut tx.conn(), tenant, &crm_host::audit::Actor::system("bench"), "sms-ru", input).await?;
        tx.commit().await?;
    }

    let now = crm_host::jobs::schedule::tenant_zone("Europe/Moscow").from_local_datetime(&day.and_hms_opt(12, 0, 0).context("time")?).single().context("moment")?.with_timezone(&Utc);
    let mut tx = db.begin().await?;
    let report = crm_host::reminders::planner::plan(&mut tx.conn(), tenant, day, now, None, None).await?;
    tx.commit().await?;
    println!("SMS: {} reminders planned, {} skipped", report.planned, report.skipped);
    let t = Instant::now();
    let mut sent = 0;
    loop {
        let n = crm_host::reminders::channels::send(&state, tenant, now).await?;
        if n == 0 {
            break;
        }
        sent += n;
    }
    let took = t.elapsed().as_secs_f64();
    let sms = count.load(Ordering::Relaxed);
    println!("SMS: {sent} reminders, {sms} SMS handed to the provider in {took:.1} s: {:.0} SMS/s", sms as f64 / took);
    Ok((sms as f64 / took, sms))
}
