//! `fake-1c`: serves a fake 1C base (the demo, or a generated one of any size) until
//! Ctrl-C.
//!
//! ```text
//! cargo run -p crm-fake-1c                       # the demo base on 127.0.0.1:8081
//! cargo run -p crm-fake-1c --release -- --counterparties 100000 --sales 1000000 --payments 1000000
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Parser;
use crm_fake_1c::{FakeOneC, Generated, Options, Source, demo};

/// A fake 1С:Предприятие base serving the standard OData interface.
#[derive(Debug, Parser)]
#[command(name = "fake-1c", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The infobase (publication) name in the URL.
    #[arg(long, default_value = "demo")]
    infobase: String,
    /// The 1C user name the server accepts.
    #[arg(long, default_value = "odata")]
    user: String,
    /// Its password.
    #[arg(long, default_value = "secret")]
    password: String,
    /// Serve the small demo base (the default).
    #[arg(long, conflicts_with_all = ["counterparties", "sales", "payments"])]
    demo: bool,
    /// Serve a generated base with this many counterparties (and contracts).
    #[arg(long, requires_all = ["sales", "payments"])]
    counterparties: Option<usize>,
    /// … this many sales documents.
    #[arg(long, requires_all = ["counterparties", "payments"])]
    sales: Option<usize>,
    /// … and this many incoming payments.
    #[arg(long, requires_all = ["counterparties", "sales"])]
    payments: Option<usize>,
    /// Seed of the generated base.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The base's "today" (YYYY-MM-DD): no date in it is later. Default: the local date.
    #[arg(long)]
    today: Option<NaiveDate>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let today = args.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let (source, what): (Arc<dyn Source>, String) = match (args.counterparties, args.sales, args.payments) {
        (Some(c), Some(s), Some(p)) => (
            Arc::new(Generated::new(c, s, p, args.seed, today)),
            format!("a generated base: {c} counterparties, {s} sales documents, {p} payments (seed {}, today {today})", args.seed),
        ),
        _ => (Arc::new(demo(today)), format!("the demo base (today {today})")),
    };
    let opts = Options { infobase: args.infobase, user: args.user, password: args.password };
    let fake = FakeOneC::start_on(args.listen, source, opts).await?;
    println!("fake 1C: serving {what}");
    println!("base URL: {}  (user {:?}, password {:?})", fake.base_url, fake.options().user, fake.options().password);
    println!("CRM module settings for accounting-1c:");
    println!("{}", fake.settings_body());
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    fake.stop().await;
    Ok(())
}
