#![allow(clippy::unwrap_used)] // a harness that fails loudly is what tests want

//! Test harness: a real `crm_host` app on a fresh database of either engine, driven
//! in-process through its real router.
//!
//! SQLite: a file in a temporary directory. PostgreSQL: a fresh schema in the database
//! named by `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped when the test ends (even when it fails). When PostgreSQL cannot be reached
//! the PostgreSQL half is skipped with a loud banner, except under `CI=true`, where
//! that is a failure.

use std::io::Write as _;
use std::sync::Once;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use crm_host::audit::Actor;
use crm_host::db::{DbOptions, Engine};
use crm_host::{AppState, Config, Db};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::Connection;
use tower::ServiceExt;
use uuid::Uuid;

pub use crm_host::db::Engine as DbEngine;

pub mod browser;
pub mod openapi;
pub mod pages;
/// The real SMTP server on loopback the mail tests deliver to.
pub use crm_fake_smtp as smtp;

/// Runs each named `async fn name(app: TestApp)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::TestApp::sqlite().await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::postgres().await {
                        super::$name(app).await
                    }
                }
            }
        )*
    };
}

pub fn pg_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn under_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

static PG_SKIP_BANNER: Once = Once::new();

/// One plugin engine for the whole test process, as in the server (an engine per test
/// would reserve a pooling allocator's address space per test).
pub fn runtime() -> std::sync::Arc<crm_host::plugins::Runtime> {
    static RUNTIME: std::sync::OnceLock<std::sync::Arc<crm_host::plugins::Runtime>> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let mut limits = crm_host::plugins::runtime::Limits::default();
            limits.for_all(|w| w.timeout = Duration::from_secs(2));
            crm_host::plugins::Runtime::new(None, limits).expect("plugin runtime")
        })
        .clone()
}

/// A second plugin engine whose calls may take 30 s, for tests of what happens while a
/// plugin waits on a slow outside system (the shared one stops calls after 2 s).
pub fn slow_runtime() -> std::sync::Arc<crm_host::plugins::Runtime> {
    static RUNTIME: std::sync::OnceLock<std::sync::Arc<crm_host::plugins::Runtime>> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let mut limits = crm_host::plugins::runtime::Limits::default();
            limits.for_all(|w| w.timeout = Duration::from_secs(30));
            crm_host::plugins::Runtime::new(None, limits).expect("plugin runtime")
        })
        .clone()
}

/// A compiled test guest from `plugins/` (built by this crate's build script).
pub fn guest(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CRM_TEST_GUESTS")).join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A file under `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The `plugin.toml` of a crate under `plugins/`.
pub fn guest_manifest(dir: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins").join(dir).join("plugin.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A running app on a fresh database.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub engine: Engine,
    /// How the database was opened (a second host instance opens it the same way).
    pub db_options: DbOptions,
    _dir: tempfile::TempDir,
    _schema: Option<SchemaGuard>,
}

/// Drops a test's PostgreSQL schema when the test ends, even by panic.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("crm.db").display());
        let opts = DbOptions { url, max_connections: 8, pg_schema: None };
        let db = Db::connect(&opts).await.expect("open SQLite");
        Self::build(db, opts, Engine::Sqlite, dir, None)
    }

    /// `None` (after a loud banner) when PostgreSQL is unreachable outside CI.
    pub async fn postgres() -> Option<TestApp> {
        let url = pg_url();
        let conn = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url)).await;
        let mut conn = match conn {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return pg_unreachable(&url, &e.to_string()),
            Err(_) => return pg_unreachable(&url, "timed out after 5 s"),
        };
        let schema = format!("crm_test_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create test schema");
        let _ = conn.close().await;
        let guard = SchemaGuard { url: url.clone(), schema: schema.clone() };
        let opts = DbOptions { url, max_connections: 8, pg_schema: Some(schema) };
        let db = Db::connect(&opts).await.expect("open PostgreSQL");
        let dir = tempfile::tempdir().expect("tempdir");
        Some(Self::build(db, opts, Engine::Postgres, dir, Some(guard)))
    }

    fn build(db: Db, db_options: DbOptions, engine: Engine, dir: tempfile::TempDir, schema: Option<SchemaGuard>) -> TestApp {
        let state = AppState::with_runtime(db, Config::for_data_dir(dir.path().to_path_buf()), runtime()).expect("app state");
        TestApp { router: crm_host::app(state.clone()), state, engine, db_options, _dir: dir, _schema: schema }
    }

    /// The same app with more job kinds registered (as a domain would register them).
    pub fn with_job_kinds(mut self, specs: Vec<crm_host::jobs::JobKindSpec>) -> TestApp {
        self.state = self.state.with_job_kinds(specs).expect("registering job kinds");
        self.router = crm_host::app(self.state.clone());
        self
    }

    /// The same app with its configuration changed by `f` (limits under test).
    pub fn with_config(mut self, f: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = (*self.state.config).clone();
        f(&mut config);
        let mut state = AppState::with_runtime(self.state.db.clone(), config, self.state.plugins.clone()).expect("app state");
        state.jobs = self.state.jobs.clone();
        self.state = state;
        self.router = crm_host::app(self.state.clone());
        self
    }

    /// The same app running its plugins on `runtime` (e.g. [`slow_runtime`]).
    pub fn with_runtime(mut self, runtime: std::sync::Arc<crm_host::plugins::Runtime>) -> TestApp {
        let mut state = AppState::with_runtime(self.state.db.clone(), (*self.state.config).clone(), runtime).expect("app state");
        state.jobs = self.state.jobs.clone();
        self.state = state;
        self.router = crm_host::app(self.state.clone());
        self
    }

    /// Another host instance over the same database: its own connection pool, plugin
    /// state and job workers, as a second `crm serve` process would have.
    pub async fn second_instance(&self) -> AppState {
        let db = Db::connect(&self.db_options).await.expect("open the database again");
        let mut state = AppState::with_runtime(db, (*self.state.config).clone(), runtime()).expect("app state");
        state.jobs = self.state.jobs.clone();
        state
    }

    /// Creates a tenant (as the admin CLI does) and returns its admin's client.
    pub async fn tenant(&self, name: &str) -> TestTenant {
        let mut tx = self.state.db.begin().await.expect("begin");
        let created = crm_host::tenancy::service::create_tenant(
            &mut tx.conn(),
            &Actor::system("test"),
            name,
            "Europe/Moscow",
            &format!("admin@{}.test", Uuid::new_v4().simple()),
            "Администратор",
        )
        .await
        .expect("create tenant");
        tx.commit().await.expect("commit");
        crm_host::plugins::service::register_builtins(&self.state, crm_host::plugins::builtin::BUILTINS, Some(created.tenant.id))
            .await
            .expect("register built-in plugins");
        let admin = self.client(&created.token.token);
        let pipelines = admin.get("/api/v1/pipelines").await.ok();
        TestTenant {
            id: created.tenant.id.0,
            admin_id: created.admin.id.0,
            pipeline: pipelines.body[0].clone(),
            admin,
        }
    }

    /// Runs every background job that is due (syncs), as the server's worker would, with
    /// a short lease and no wait before retries. Returns the jobs as they ended.
    pub async fn run_jobs(&self) -> Vec<crm_host::jobs::Job> {
        crm_host::jobs::runner::run_pending(&self.state, test_runner()).await.expect("running jobs")
    }

    pub fn client(&self, token: &str) -> Client {
        Client { router: self.router.clone(), token: Some(token.to_string()) }
    }

    pub fn anonymous(&self) -> Client {
        Client { router: self.router.clone(), token: None }
    }
}

/// An empty PostgreSQL schema of its own (no migrations applied), dropped when this is
/// dropped; `None` (after the loud banner) when PostgreSQL is unreachable outside CI.
pub struct PgSchema {
    /// `TEST_DATABASE_URL`.
    pub url: String,
    pub schema: String,
    _guard: SchemaGuard,
}

impl PgSchema {
    pub async fn create() -> Option<PgSchema> {
        let url = pg_url();
        let mut conn = match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return pg_unreachable(&url, &e.to_string()),
            Err(_) => return pg_unreachable(&url, "timed out after 5 s"),
        };
        let schema = format!("crm_test_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create test schema");
        let _ = conn.close().await;
        Some(PgSchema { _guard: SchemaGuard { url: url.clone(), schema: schema.clone() }, url, schema })
    }

    /// The URL of this schema, for a process that takes only a `DATABASE_URL`.
    pub fn url_with_search_path(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.url, self.schema)
    }
}

fn pg_unreachable<T>(url: &str, why: &str) -> Option<T> {
    if under_ci() {
        panic!("PostgreSQL at {url} is unreachable under CI ({why}); the PostgreSQL half of the suite must run in CI");
    }
    PG_SKIP_BANNER.call_once(|| {
        // Written straight to stderr so the test harness does not swallow it.
        let _ = writeln!(
            std::io::stderr(),
            "\n{bar}\n!! PostgreSQL at {url} is unreachable ({why}).\n!! The PostgreSQL half of the suite is SKIPPED; only SQLite was tested.\n!! Set TEST_DATABASE_URL or start PostgreSQL to run it.\n{bar}\n",
            bar = "!".repeat(78)
        );
    });
    None
}

/// Job worker options for tests: a lease of a second (a killed worker's job is taken
/// over quickly) and retries without waiting.
pub fn test_runner() -> crm_host::jobs::runner::RunnerOptions {
    crm_host::jobs::runner::RunnerOptions {
        lease: Duration::from_secs(1),
        retry_after: Some(Duration::ZERO),
        poll: Duration::from_millis(20),
        cancel_poll: Duration::from_millis(100),
        ..Default::default()
    }
}

/// A tenant with its admin.
pub struct TestTenant {
    pub id: Uuid,
    pub admin_id: Uuid,
    pub admin: Client,
    /// The default factoring pipeline, as the API returns it.
    pub pipeline: Value,
}

impl TestTenant {
    /// Creates a user with the role and returns its client and id.
    pub async fn user(&self, role: &str) -> (Client, Uuid) {
        let email = format!("{}-{}@example.test", role, Uuid::new_v4().simple());
        let user = self
            .admin
            .post("/api/v1/users", json!({"email": email, "full_name": format!("Сотрудник {role}"), "role": role}))
            .await
            .created();
        let id: Uuid = user.body["id"].as_str().expect("id").parse().expect("uuid");
        let token = self.admin.post("/api/v1/tokens", json!({"user_id": id, "name": "test"})).await.created();
        let client = Client { router: self.admin.router.clone(), token: Some(token.body["token"].as_str().expect("token").into()) };
        (client, id)
    }

    /// Gives a user a password for the pages (as an admin does through the API) and
    /// returns a page client signed in as that user.
    pub async fn signed_in(&self, router: &Router, user_id: Uuid, email: &str) -> pages::PageClient {
        let password = "пароль-для-теста-1";
        self.admin
            .put(&format!("/api/v1/users/{user_id}/password"), json!({"password": password}))
            .await
            .expect(StatusCode::NO_CONTENT);
        let mut c = pages::PageClient::new(router.clone());
        c.sign_in(email, password).await;
        c
    }

    /// The admin's e-mail (its login).
    pub async fn admin_email(&self) -> String {
        self.admin.get("/api/v1/me").await.ok().body["email"].as_str().expect("email").to_string()
    }

    /// The id of the default pipeline's stage at `index` (0 = first).
    pub fn stage(&self, index: usize) -> String {
        self.pipeline["stages"][index]["id"].as_str().expect("stage id").to_string()
    }

    pub fn pipeline_id(&self) -> String {
        self.pipeline["id"].as_str().expect("pipeline id").to_string()
    }

    /// Enables the built-in 1C module against a (fake) 1C base on loopback, allowed as a
    /// private host.
    pub async fn enable_1c(&self, base_url: &str, host: &str) {
        self.admin
            .put(
                "/api/v1/modules/accounting-1c",
                json!({"version": "0.2.0", "settings": {"base_url": base_url, "username": "odata"}, "secrets": {"password": "secret"},
                       "grants": {"http_hosts": [host], "private_hosts": [host]}}),
            )
            .await
            .ok();
    }

    /// Creates a legal-entity counterparty with a valid ИНН and returns its JSON.
    pub async fn counterparty(&self, name: &str) -> Value {
        self.admin
            .post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": name, "inn": next_inn()}))
            .await
            .created()
            .body
    }
}

/// A fresh valid 10-digit ИНН (check digit computed), unique within a test run.
pub fn next_inn() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id() % 1000) * 100_000 + 770_000_000;
    let body = format!("{:09}", n % 1_000_000_000);
    let w = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    let sum: u32 = body.chars().zip(w).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    format!("{body}{}", sum % 11 % 10)
}

/// Calls the router as one user.
#[derive(Clone)]
pub struct Client {
    router: Router,
    token: Option<String>,
}

/// A response with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Resp {
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Resp {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }
    #[track_caller]
    pub fn ok(self) -> Resp {
        self.expect(StatusCode::OK)
    }
    #[track_caller]
    pub fn created(self) -> Resp {
        self.expect(StatusCode::CREATED)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    /// The `field` names of a problem document's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"].as_array().map(|a| a.iter().filter_map(|e| e["field"].as_str().map(String::from)).collect()).unwrap_or_default()
    }
}

impl Client {
    /// The bearer token this client sends.
    pub fn token(&self) -> &str {
        self.token.as_deref().unwrap_or_default()
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        self.call(req).await
    }

    /// Sends a request and checks the response against the OpenAPI document
    /// ([`openapi::check_response`]): an undocumented status, media type or body shape
    /// fails the test.
    pub async fn call(&self, req: Request<Body>) -> Resp {
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes().to_vec();
        openapi::check_response(&method, &path, status, &headers, &bytes);
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, bytes, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.send(Method::POST, path, None).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// Uploads a document as `multipart/form-data` with the given text fields.
    pub async fn upload(&self, file_name: &str, content: &[u8], fields: &[(&str, String)]) -> Resp {
        self.multipart("/api/v1/documents", fields, ("file", file_name, content)).await
    }

    /// Uploads a plugin: its manifest text and component bytes.
    pub async fn upload_plugin(&self, manifest: &str, component: &[u8]) -> Resp {
        self.multipart("/api/v1/plugins", &[("manifest", manifest.to_string())], ("component", "plugin.wasm", component)).await
    }

    /// Posts `multipart/form-data`: text fields, then one file part.
    pub async fn multipart(&self, path: &str, fields: &[(&str, String)], file: (&str, &str, &[u8])) -> Resp {
        let boundary = "crmtestboundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
        }
        let (part, file_name, content) = file;
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"));
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.call(req.body(Body::from(body)).expect("request")).await
    }
}

/// Moves a deal's arrival at its current stage `days` back in time (its stage history
/// too), as if it had been sitting there that long.
pub async fn backdate_deal_stage(app: &TestApp, deal: &str, days: i64) {
    let id: Uuid = deal.parse().expect("a deal id");
    let at = chrono::Utc::now() - chrono::Duration::days(days) - chrono::Duration::minutes(1);
    let mut tx = app.state.db.begin().await.expect("a transaction");
    let c = &mut tx.conn();
    crm_host::on_conn!(c, c => sqlx::query("UPDATE deals SET stage_changed_at = $2 WHERE id = $1").bind(id).bind(at).execute(c).await.map(drop)).expect("backdating the deal");
    crm_host::on_conn!(c, c => sqlx::query("UPDATE deal_stage_history SET changed_at = $2 WHERE deal_id = $1").bind(id).bind(at).execute(c).await.map(drop)).expect("backdating its history");
    tx.commit().await.expect("commit");
}
