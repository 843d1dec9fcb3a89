//! What the benchmarks share: servers in runtimes of their own, the closed-loop HTTP
//! load generator, the card handler without the host's layers (the "same SQL"
//! baseline), and throw-away PostgreSQL schemas.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Request, StatusCode, Uri, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use chrono::Utc;
use crm_host::contacts::model::Contact;
use crm_host::counterparties::model::{Counterparty, CounterpartyCard};
use crm_host::db::Db;
use crm_host::on_conn;
use crm_host::receivables::model::{DebtSummary, DebtSums, RatingBrief};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::runtime::Runtime;
use uuid::Uuid;

pub mod seed;

/// Worker threads of every server runtime and of the load generator.
pub const WORKERS: usize = 2;

/// How the load generator runs.
#[derive(Debug, Clone, Copy)]
pub struct LoadOpts {
    /// Concurrent HTTP/1.1 keep-alive connections.
    pub connections: usize,
    /// Measured seconds.
    pub seconds: u64,
    /// Unmeasured seconds before that.
    pub warmup: u64,
}

/// Figures of one target.
pub struct Measured {
    pub target: &'static str,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// An HTTP server on 127.0.0.1:0 in a runtime of its own.
pub struct Server {
    pub addr: SocketAddr,
    rt: Runtime,
    db: Option<Db>,
}

impl Server {
    /// `make` runs inside the server's runtime, so database pools (and their sockets)
    /// belong to the runtime that serves the requests.
    pub fn start<F, Fut>(name: &str, make: F) -> anyhow::Result<Server>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<(Router, Option<Db>)>>,
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name(format!("srv-{name}"))
            .enable_all()
            .build()?;
        let (addr, db) = rt.block_on(async {
            let (router, db) = make().await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            // Served like `crm serve` serves it.
            tokio::spawn(async move { axum::serve(listener, router).await });
            anyhow::Ok((addr, db))
        })?;
        Ok(Server { addr, rt, db })
    }

    pub fn stop(self) {
        if let Some(db) = &self.db {
            self.rt.block_on(db.close());
        }
        self.rt.shutdown_timeout(Duration::from_secs(1));
    }
}


/// The bare static baseline: a fixed body.
pub async fn static_card(State(body): State<Bytes>, Path(_id): Path<Uuid>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
}

#[derive(Clone)]
pub struct BareState {
    pub db: Db,
    pub tenant: Uuid,
}

// The real handler's reads. The counterparty columns come from the host (they grow as
// the card does); the rest is spelled out, so a change to the host's queries shows up
// as a gap between the two handlers.
static CARD_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {} FROM counterparties WHERE tenant_id = $1 AND id = $2", crm_host::counterparties::store::COLS)
});
const CONTACTS_SQL: &str = "SELECT id, counterparty_id, full_name, position, phones, emails, note, created_at, updated_at, \
    archived_at FROM contacts WHERE tenant_id = $1 AND counterparty_id = $2 AND archived_at IS NULL ORDER BY id LIMIT 200";
const OPEN_DEALS_SQL: &str = "SELECT COUNT(*) FROM deals d JOIN stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id \
    WHERE d.tenant_id = $1 AND d.counterparty_id = $2 AND d.archived_at IS NULL AND s.kind = 'open'";
/// What the client owes (its open documents) and its advance and rating.
const DEBT_SQL: &str = "SELECT CAST(SUM(open_amount) AS BIGINT) AS total, CAST(SUM(CASE WHEN due_on < $3 THEN open_amount ELSE 0 END) AS BIGINT) AS overdue, \
    COUNT(*) AS open_documents, CAST(SUM(CASE WHEN due_on < $3 THEN 1 ELSE 0 END) AS BIGINT) AS overdue_documents, \
    MIN(CASE WHEN due_on < $3 THEN due_on END) AS oldest_overdue_due_on, \
    (SELECT CAST(SUM(unapplied) AS BIGINT) FROM payments WHERE tenant_id = $1 AND counterparty_id = $2 AND unapplied > 0) AS advance \
    FROM open_items WHERE tenant_id = $1 AND counterparty_id = $2";
const RATING_SQL: &str = "SELECT stars, weighted_delay_days, on_time_share, as_of FROM payer_ratings WHERE tenant_id = $1 AND counterparty_id = $2";

/// The card without auth or middleware: one pooled connection (`Db::read` is a plain
/// `pool.acquire()`), five sqlx queries, `axum::Json`.
pub async fn bare_card(State(s): State<BareState>, Path(id): Path<Uuid>) -> Result<axum::Json<CounterpartyCard>, StatusCode> {
    let internal = |_| StatusCode::INTERNAL_SERVER_ERROR;
    let mut read = s.db.read().await.map_err(internal)?;
    let c = &mut read.conn();
    let counterparty = on_conn!(c, c => sqlx::query_as::<_, Counterparty>(CARD_SQL.as_str()).bind(s.tenant).bind(id).fetch_optional(c).await)
        .map_err(internal)?
        .ok_or(StatusCode::NOT_FOUND)?;
    let contacts = on_conn!(c, c => sqlx::query_as::<_, Contact>(CONTACTS_SQL).bind(s.tenant).bind(id).fetch_all(c).await)
        .map_err(internal)?;
    let open_deals_count: i64 =
        on_conn!(c, c => sqlx::query_scalar(OPEN_DEALS_SQL).bind(s.tenant).bind(id).fetch_one(c).await).map_err(internal)?;
    let today = crm_host::tenancy::access::today_in("Europe/Moscow");
    let sums: DebtSums = on_conn!(c, c => sqlx::query_as(DEBT_SQL).bind(s.tenant).bind(id).bind(today).fetch_one(c).await).map_err(internal)?;
    let payer_rating: Option<RatingBrief> =
        on_conn!(c, c => sqlx::query_as(RATING_SQL).bind(s.tenant).bind(id).fetch_optional(c).await).map_err(internal)?;
    let registry_warning = crm_host::counterparties::model::registry_warning(&counterparty);
    let debt = DebtSummary::from_sums(&sums, today);
    Ok(axum::Json(CounterpartyCard { counterparty, contacts, open_deals_count, registry_warning, debt, payer_rating }))
}


async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A request carrying the credentials: a value `crm_session=…` is the pages' session
/// cookie, anything else the API's `Authorization` header.
fn request(uri: Uri, auth: &HeaderValue) -> anyhow::Result<Request<Empty<Bytes>>> {
    let name = if auth.as_bytes().starts_with(b"crm_session=") { header::COOKIE } else { header::AUTHORIZATION };
    Ok(Request::get(uri).header(header::HOST, "127.0.0.1").header(name, auth.clone()).body(Empty::new())?)
}

/// Sends one request and reads the whole body, as a client would.
async fn exchange(sender: &mut SendRequest<Empty<Bytes>>, req: Request<Empty<Bytes>>) -> Result<(StatusCode, Bytes), hyper::Error> {
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    Ok((status, res.into_body().collect().await?.to_bytes()))
}

pub async fn get_once(addr: SocketAddr, path: &str, auth: &HeaderValue) -> anyhow::Result<(StatusCode, Bytes)> {
    let mut sender = connect(addr).await?;
    Ok(exchange(&mut sender, request(path.parse()?, auth)?).await?)
}

fn fail(stats: &mut ConnStats, what: String) {
    stats.errors += 1;
    stats.first_error.get_or_insert(what);
}

fn histogram() -> Histogram<u64> {
    // Microseconds, 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

struct ConnStats {
    hist: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// `--connections` keep-alive connections hitting random seeded cards, each waiting for
/// its answer before the next request (closed loop).
pub async fn load(target: &'static str, addr: SocketAddr, uris: Arc<Vec<Uri>>, auth: HeaderValue, args: &LoadOpts) -> anyhow::Result<Measured> {
    let measure_from = Instant::now() + Duration::from_secs(args.warmup);
    let until = measure_from + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..args.connections {
        tasks.spawn(connection_loop(addr, uris.clone(), auth.clone(), k as u64, measure_from, until));
    }
    let (mut hist, mut errors, mut first_error) = (histogram(), 0, None);
    while let Some(stats) = tasks.join_next().await {
        let stats = stats?;
        hist.add(&stats.hist).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
        errors += stats.errors;
        first_error = first_error.or(stats.first_error);
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(Measured {
        target,
        rps: hist.len() as f64 / args.seconds as f64,
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        errors,
        first_error,
    })
}

async fn connection_loop(addr: SocketAddr, uris: Arc<Vec<Uri>>, auth: HeaderValue, seed: u64, measure_from: Instant, until: Instant) -> ConnStats {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut stats = ConnStats { hist: histogram(), errors: 0, first_error: None };
    while Instant::now() < until {
        let mut sender = match connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                fail(&mut stats, format!("connect: {e:#}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while Instant::now() < until {
            let uri = uris[rng.random_range(0..uris.len())].clone();
            let req = match request(uri, &auth) {
                Ok(r) => r,
                Err(e) => {
                    fail(&mut stats, format!("request: {e:#}"));
                    continue;
                }
            };
            let started = Instant::now();
            match exchange(&mut sender, req).await {
                Ok((StatusCode::OK, _)) => {
                    if started >= measure_from {
                        stats.hist.saturating_record(started.elapsed().as_micros() as u64);
                    }
                }
                Ok((status, body)) => fail(&mut stats, format!("{status}: {}", String::from_utf8_lossy(&body))),
                Err(e) => {
                    fail(&mut stats, format!("transport: {e}"));
                    break; // reconnect
                }
            }
        }
    }
    stats
}

/// A schema of its own on a PostgreSQL server, dropped afterwards.
pub struct PgScratch {
    admin: PgPool,
    pub schema: String,
}

impl PgScratch {
    pub async fn create(url: &str, prefix: &str) -> anyhow::Result<PgScratch> {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        let schema = format!("{prefix}_{}_{}", std::process::id(), Utc::now().timestamp());
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await?;
        Ok(PgScratch { admin, schema })
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema)).execute(&self.admin).await?;
        self.admin.close().await;
        Ok(())
    }
}

/// The median and the 95th percentile of some durations, in milliseconds.
pub fn median_p95(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return (0.0, 0.0);
    }
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}
