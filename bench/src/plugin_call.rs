//! Per-call cost of the plugin runtime's one generic call path: one trivial
//! `inn-enrichment` call (the `echo` test guest) on a fresh instance per call, on a
//! reused instance, and the same logic natively — in the same run — plus where the
//! fresh call's time goes. Target: fresh ≤ 8 × reused.
//!
//! `cargo run --release -p crm-bench --bin plugin_call -- [--calls 20000]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use crm_host::plugins::manifest::Manifest;
use crm_host::plugins::runtime::{CallContext, Limits, Runtime};
use crm_host::plugins::worlds::enrichment::{Company, CompanyStatus, Lookup, PartyKind};
use crm_host::tenancy::TenantId;

#[derive(Parser)]
struct Args {
    /// Calls per measurement.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
    /// Override the runtime's resident bytes per memory slot (0: reset with madvise).
    #[arg(long)]
    keep_resident_kb: Option<usize>,
}

/// The echo guest's logic, natively.
#[inline(never)]
fn native_echo(inn: &str) -> Option<Company> {
    Some(Company {
        kind: PartyKind::LegalEntity,
        inn: inn.to_string(),
        kpp: None,
        ogrn: None,
        full_name: "ECHO".into(),
        short_name: None,
        legal_address: None,
        head_name: None,
        head_post: None,
        status: CompanyStatus::Active,
        okved: None,
        registered_on: None,
        liquidated_on: None,
        branch_type: None,
    })
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    Stats { median: v[v.len() / 2], p99: v[v.len() * 99 / 100] }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bytes = std::fs::read(concat!(env!("CRM_BENCH_GUESTS"), "/echo.wasm"))?;
    let manifest = Manifest::parse(include_str!("../../plugins/test-guests/echo/plugin.toml")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut limits = Limits::default();
    if let Some(kb) = args.keep_resident_kb {
        limits.keep_resident_bytes = kb << 10;
    }
    let runtime = Runtime::new(None, limits)?;
    let t = Instant::now();
    let compiled = runtime.load("bench-echo", &bytes, manifest.world).map_err(|e| anyhow::anyhow!("{e}"))?;
    let compile = t.elapsed();
    let ctx = Arc::new(CallContext {
        tenant: TenantId::new(),
        module_id: manifest.id.clone(),
        plugin_id: manifest.id.clone(),
        version: manifest.version.clone(),
        time_zone: "Europe/Moscow".into(),
        granted: Default::default(),
        outbox: None,
        capture_log: false,
    });
    let inn = "7719402047";
    let lookup = || Lookup { inn: inn.to_string(), kpp: None };
    let n = args.calls;

    // Warm up every path.
    for _ in 0..1000 {
        runtime.call(&compiled, ctx.clone(), lookup()).await.0?;
    }

    let mut fresh = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = runtime.call(&compiled, ctx.clone(), lookup()).await.0?;
        fresh.push(t.elapsed());
        assert_eq!(r.map(|c| c.full_name).as_deref(), Some("ECHO"));
    }

    let mut session = runtime.session(&compiled, ctx.clone()).await?;
    let mut reused = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = session.call(lookup()).await?;
        reused.push(t.elapsed());
        assert!(r.is_some());
    }
    drop(session);

    let mut native = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = std::hint::black_box(native_echo(std::hint::black_box(inn)));
        native.push(t.elapsed());
        assert!(r.is_some());
    }

    // Where a fresh call's time goes: admission and instantiation (store + instance from
    // the pool), the first call on that instance, and dropping it (the slot back to the
    // pool, the admission released).
    let (mut inst, mut first_call, mut teardown) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t0 = Instant::now();
        let mut s = runtime.session(&compiled, ctx.clone()).await?;
        let t1 = Instant::now();
        s.call(lookup()).await?;
        let t2 = Instant::now();
        drop(s);
        let t3 = Instant::now();
        inst.push(t1 - t0);
        first_call.push(t2 - t1);
        teardown.push(t3 - t2);
    }

    let (f, r, nat) = (stats(fresh), stats(reused), stats(native));
    let (i, c, d) = (stats(inst), stats(first_call), stats(teardown));
    println!(
        "plugin call benchmark: echo guest ({} bytes, crm:plugin@{}), {n} calls each, compile {:.1} ms",
        bytes.len(),
        compiled.contract,
        compile.as_secs_f64() * 1e3
    );
    println!("{:<34} {:>12} {:>12}", "", "median µs", "p99 µs");
    println!("{:<34} {:>12.2} {:>12.2}", "fresh instance per call", us(f.median), us(f.p99));
    println!("{:<34} {:>12.2} {:>12.2}", "reused instance", us(r.median), us(r.p99));
    println!("{:<34} {:>12.3} {:>12.3}", "native (same logic)", us(nat.median), us(nat.p99));
    println!("where a fresh call goes:");
    println!("{:<34} {:>12.2}", "  admit + store + instantiate", us(i.median));
    println!("{:<34} {:>12.2}", "  first call on the new instance", us(c.median));
    println!("{:<34} {:>12.2}", "  drop (slot back to the pool)", us(d.median));
    let ratio = us(f.median) / us(r.median);
    println!(
        "fresh / reused = {ratio:.1}x, reused / native = {:.0}x; target fresh <= 8x reused: {}",
        us(r.median) / us(nat.median).max(0.001),
        if ratio <= 8.0 { "MET" } else { "NOT MET" }
    );
    Ok(())
}
