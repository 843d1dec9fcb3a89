#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
//! The real `crm` binary over a real socket: the README's first command, the admin
//! CLI, JSON logs, PostgreSQL through `DATABASE_URL`, and graceful shutdown.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_crm");

fn crm(data_dir: &Path, db_url: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data_dir).args(args).env_remove("DATABASE_URL").env("CRM_LOG", "info");
    if let Some(url) = db_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

/// Runs an admin command and returns its stdout; panics with stderr on failure.
fn admin(data_dir: &Path, db_url: Option<&str>, args: &[&str]) -> String {
    let out = crm(data_dir, db_url, args).output().expect("run crm");
    assert!(out.status.success(), "crm {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data_dir: &Path, db_url: Option<&str>, extra: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--listen", listen.as_str()];
        args.extend_from_slice(extra);
        let child = crm(data_dir, db_url, &args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn crm");
        Server { child, base: format!("http://{listen}") }
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success() {
                    return;
                }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("server exited early with {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server not ready within 30 s");
    }

    /// SIGTERM, then the exit status and everything it logged.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut logs = String::new();
                use std::io::Read;
                let _ = self.child.stderr.take().unwrap().read_to_string(&mut logs);
                return (status, logs);
            }
            assert!(Instant::now() < deadline, "server did not stop within 15 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn token_from(stdout: &str) -> String {
    stdout.lines().rev().find(|l| l.starts_with("crm_")).expect("a token line").trim().to_string()
}

fn field(stdout: &str, label: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no `{label}` in {stdout}"));
    line[label.len()..].split_whitespace().next().unwrap().to_string()
}

/// The walk the README gives a newcomer, against a live server.
async fn tour(base: &str, token: &str) {
    let http = reqwest::Client::new();
    let auth = format!("Bearer {token}");
    let pipelines: Value = http.get(format!("{base}/api/v1/pipelines")).header("authorization", &auth).send().await.unwrap().json().await.unwrap();
    let cp: Value = http
        .post(format!("{base}/api/v1/counterparties"))
        .header("authorization", &auth)
        .json(&json!({"kind": "legal_entity", "inn": "7719402047", "full_name": "ООО \"МОТОРИКА\""}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deal = http
        .post(format!("{base}/api/v1/deals"))
        .header("authorization", &auth)
        .json(&json!({"title": "Факторинг", "pipeline_id": pipelines[0]["id"], "counterparty_id": cp["id"], "amount": "5000000.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(deal.status(), 201);
    let card: Value = http.get(format!("{base}/api/v1/counterparties/{}", cp["id"].as_str().unwrap())).header("authorization", &auth).send().await.unwrap().json().await.unwrap();
    assert_eq!(card["open_deals_count"], 1);
}

#[tokio::test]
async fn binary_runs_on_an_sqlite_file_with_no_setup_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let created = admin(dir.path(), None, &["admin", "create-tenant", "--name", "ООО Ромашка"]);
    let token = token_from(&created);
    let tenant = field(&created, "tenant:");
    assert!(dir.path().join("crm.db").exists(), "the SQLite file lives in the data directory");

    let mut server = Server::start(dir.path(), None, &["--log-format", "json"]);
    let http = reqwest::Client::new();
    server.wait_ready(&http).await;
    tour(&server.base, &token).await;

    // A token issued and revoked from the CLI works, then stops working, on the live server.
    let user = field(&created, "admin user:");
    let issued = admin(dir.path(), None, &["admin", "issue-token", "--tenant", &tenant, "--user", &user, "--name", "ci"]);
    let second = token_from(&issued);
    let me = http.get(format!("{}/api/v1/me", server.base)).bearer_auth(&second).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let listed = admin(dir.path(), None, &["admin", "list-tokens", "--tenant", &tenant]);
    assert!(!listed.contains(&second[second.len() - 64..]), "listing never shows a secret");
    admin(dir.path(), None, &["admin", "revoke-token", "--tenant", &tenant, "--token", &field(&issued, "token id:")]);
    let me = http.get(format!("{}/api/v1/me", server.base)).bearer_auth(&second).send().await.unwrap();
    assert_eq!(me.status(), 401);

    // A module instance tried from the CLI: the built-in DaData plugin, pointed at a
    // port where nothing listens, really calls out and says why it failed.
    let closed = format!("127.0.0.1:{}", free_port());
    let enable = json!({"version": "0.2.0", "settings": {"base_url": format!("http://{closed}/")}, "secrets": {"api_key": "k"},
                        "grants": {"http_hosts": [closed], "private_hosts": [closed]}});
    let r = http.put(format!("{}/api/v1/modules/inn-dadata", server.base)).bearer_auth(&token).json(&enable).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let listed = admin(dir.path(), None, &["admin", "try-module", "--tenant", &tenant, "--module", "inn-dadata"]);
    assert!(listed.starts_with("enrichment.lookup") && listed.contains("--input '{\"inn\":\"7719402047\",\"kpp\":null}'"), "{listed}");
    let out = crm(dir.path(), None, &["admin", "try-module", "--tenant", &tenant, "--module", "inn-dadata", "--input", r#"{"inn": "7719402047"}"#])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "a failed call fails the command");
    let result: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(result["failure"]["plugin_error"]["kind"], "unavailable", "{stdout}");
    assert_eq!(result["run"]["module_id"], "inn-dadata");
    assert!(stderr.contains("the call failed (error): unavailable"), "{stderr}");
    let runs: Value = http.get(format!("{}/api/v1/plugin-runs?module_id=inn-dadata", server.base)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(runs["items"][0]["id"], result["run"]["id"], "the CLI's call is in the run log");

    let (status, logs) = server.stop();
    assert!(status.success(), "graceful shutdown exits 0, got {status}; logs:\n{logs}");
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty() && lines.len() == logs.lines().count(), "every log line is JSON:\n{logs}");
    assert!(lines.iter().any(|l| l["message"] == "shutting down"));
    assert!(!logs.contains(&token[token.len() - 64..]), "tokens are never logged");
}

#[tokio::test]
async fn binary_runs_on_postgresql_from_database_url() {
    let base_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut admin_conn = match <sqlx::PgConnection as sqlx::Connection>::connect(&base_url).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL unreachable under CI: {e}");
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "!! PostgreSQL unreachable ({e}): binary test on PostgreSQL SKIPPED");
            return;
        }
    };
    let schema = format!("crm_bin_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut admin_conn).await.unwrap();
    let sep = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{sep}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    let result = async move {
        let created = admin(dir.path(), Some(&url), &["admin", "create-tenant", "--name", "ООО Постгрес"]);
        let mut server = Server::start(dir.path(), Some(&url), &[]);
        server.wait_ready(&reqwest::Client::new()).await;
        tour(&server.base, &token_from(&created)).await;
        let (status, logs) = server.stop();
        assert!(status.success(), "{logs}");
        assert!(logs.contains("Postgres"), "the log names the engine: {logs}");
        assert!(!dir.path().join("crm.db").exists(), "no SQLite file when DATABASE_URL is PostgreSQL");
    };
    let outcome = tokio::spawn(result).await;
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1")
        .bind(&schema)
        .fetch_one(&mut admin_conn)
        .await
        .unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut admin_conn).await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    assert!(tables > 10, "migrations ran in the schema named by DATABASE_URL");
}

/// `crm admin set-key-rate` prints the table it leaves, rates with two decimals, and
/// records that the table is current through today; `confirm-key-rates` confirms it
/// without a new rate (issue 11). On SQLite and on PostgreSQL.
#[tokio::test]
async fn set_key_rate_prints_the_table_it_leaves_and_records_the_day_it_is_current_through() {
    let check = |dir: &Path, url: Option<&str>| {
        let today = chrono::Utc::now().date_naive();
        let out = admin(dir, url, &["admin", "set-key-rate", "--from", "2026-02-16", "--rate", "15.5", "--current-through", "2026-03-01"]);
        assert!(out.contains("key rate 15.50 % from 16.02.2026 saved"), "{out}");
        // The whole table, the new decision last, every rate with two decimals.
        let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
        assert!(rows.contains(&vec!["20.12.2021", "8.50"]), "{out}");
        assert!(rows.contains(&vec!["22.12.2025", "16.00"]), "{out}");
        assert_eq!(rows[rows.len() - 2], vec!["16.02.2026", "15.50"], "{out}");
        assert!(out.contains("current through 01.03.2026"), "{out}");
        let bad = crm(dir, url, &["admin", "set-key-rate", "--from", "2026-02-16", "--rate", "15.555"]).output().unwrap();
        assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("two decimals"));
        let out = admin(dir, url, &["admin", "confirm-key-rates"]);
        let local_today = out.lines().find(|l| l.starts_with("current through")).unwrap().to_string();
        assert!(
            local_today.contains(&today.format("%d.%m.%Y").to_string()) || local_today.contains(&(today + chrono::Days::new(1)).format("%d.%m.%Y").to_string()),
            "{out}"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    check(dir.path(), None);

    let base_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(mut admin_conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&base_url).await else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "PostgreSQL unreachable under CI");
        return;
    };
    let schema = format!("crm_bin_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut admin_conn).await.unwrap();
    let sep = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{sep}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    let outcome = std::panic::catch_unwind(|| check(dir.path(), Some(&url)));
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut admin_conn).await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

// --- Mail delivery across kill -9 and two processes --------------------------------------------

/// A PostgreSQL schema of its own for a test of the binary, with its URL; `None` (after a
/// loud banner) without PostgreSQL outside CI. Dropped by [`drop_schema`].
async fn pg_schema() -> Option<(String, String)> {
    let base_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut conn = match <sqlx::PgConnection as sqlx::Connection>::connect(&base_url).await {
        Ok(c) => c,
        Err(e) => {
            assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "PostgreSQL unreachable under CI: {e}");
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "!! PostgreSQL unreachable ({e}): binary mail test on PostgreSQL SKIPPED");
            return None;
        }
    };
    let schema = format!("crm_bin_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.unwrap();
    let sep = if base_url.contains('?') { '&' } else { '?' };
    Some((format!("{base_url}{sep}options=-c%20search_path%3D{schema}"), schema))
}

async fn drop_schema(schema: &str) {
    let base_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base_url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn).await.unwrap();
}

/// What a test puts into a tenant's outbox: `n` messages, as reminders queue them.
async fn queue_mails(db: &crm_host::Db, tenant: crm_host::tenancy::TenantId, n: usize) {
    for i in 0..n {
        let mail = crm_host::mail::OutgoingEmail {
            source: "test:binary".into(),
            idempotency_key: Some(format!("m{i}")),
            from: "Иван Петров <ivan@seller.ru>".into(),
            reply_to: None,
            to: vec![format!("buh{i}@buyer.ru")],
            cc: vec![],
            subject: format!("Напоминание № {i}"),
            text: "Добрый день! Напоминаем о задолженности.".into(),
            html: None,
            attachments: vec![],
        };
        crm_host::mail::outbox::queue(db, tenant, &mail).await.unwrap();
    }
}

/// Queues the delivery job of `tenant` (as the scheduler does every minute), unless the
/// scheduler already did.
async fn queue_delivery(db: &crm_host::Db, tenant: crm_host::tenancy::TenantId) {
    let registry = crm_host::job_kinds().unwrap();
    let mut tx = db.begin().await.unwrap();
    match crm_host::jobs::service::enqueue(&mut tx.conn(), &registry, tenant, &crm_host::mail::delivery::DELIVER_JOB, json!({}), None).await {
        Ok(_) | Err(crm_host::jobs::JobsError::AlreadyActive { .. }) => {}
        Err(e) => panic!("queueing the delivery: {e}"),
    }
    tx.commit().await.unwrap();
}

async fn set_smtp(http: &reqwest::Client, base: &str, token: &str, port: u16) {
    let body = json!({"host": "127.0.0.1", "port": port, "security": "none", "from": "robot@seller.ru"});
    let r = http.put(format!("{base}/api/v1/mail/settings")).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Waits until `count` messages arrived at the server, or 60 s.
async fn wait_received(smtp: &crm_fake_smtp::SmtpServer, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while smtp.received().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more: a second copy would arrive now.
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn message_ids(smtp: &crm_fake_smtp::SmtpServer) -> (usize, std::collections::BTreeSet<String>) {
    let got = smtp.received();
    (got.len(), got.iter().filter_map(|m| m.header("Message-ID")).collect())
}

/// A host killed (`kill -9`) while it hands a message to the SMTP server: the server never
/// got that message whole, and the host started again sends it and the rest — every
/// message arrives exactly once. On SQLite and on PostgreSQL.
async fn killed_mid_delivery(db_url: Option<&str>) {
    use crm_fake_smtp::{SmtpServer, SmtpTls};
    let dir = tempfile::tempdir().unwrap();
    let created = admin(dir.path(), db_url, &["admin", "create-tenant", "--name", "ООО Ромашка"]);
    let token = token_from(&created);
    let tenant = crm_host::tenancy::TenantId(field(&created, "tenant:").parse().unwrap());
    let smtp = SmtpServer::start(SmtpTls::None, None);
    smtp.stall_message(4);
    let lease = ["--job-lease-secs", "2"];
    let mut server = Server::start(dir.path(), db_url, &lease);
    let http = reqwest::Client::new();
    server.wait_ready(&http).await;
    set_smtp(&http, &server.base, &token, smtp.port).await;

    let url = db_url.map_or_else(|| format!("sqlite://{}", dir.path().join("crm.db").display()), str::to_owned);
    let db = crm_host::Db::connect(&crm_host::db::DbOptions { url, max_connections: 2, pg_schema: None }).await.unwrap();
    queue_mails(&db, tenant, 12).await;
    queue_delivery(&db, tenant).await;
    assert!(smtp.wait_stalled(Duration::from_secs(60)), "the host reached the 4th message");
    Command::new("kill").arg("-9").arg(server.child.id().to_string()).status().unwrap();
    let _ = server.child.wait();
    assert_eq!(smtp.received().len(), 3, "three went before the kill");
    smtp.release();

    let mut again = Server::start(dir.path(), db_url, &lease);
    again.wait_ready(&http).await;
    // The dead host's job is taken over once its lease runs out; the next minute's
    // schedule would queue it too.
    queue_delivery(&db, tenant).await;
    wait_received(&smtp, 12).await;
    let (count, ids) = message_ids(&smtp);
    assert_eq!((count, ids.len()), (12, 12), "every message once, none twice");
    let page: Value = http.get(format!("{}/api/v1/mail/outbox?status=sent&limit=100", again.base)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 12, "{page}");
    let fourth = page["items"].as_array().unwrap().iter().find(|m| m["subject"] == "Напоминание № 3").unwrap();
    assert_eq!(fourth["attempts"], 2, "the interrupted message was tried twice and arrived once: {fourth}");
    db.close().await;
    let (status, logs) = again.stop();
    assert!(status.success(), "{logs}");
}

#[tokio::test]
async fn a_host_killed_mid_delivery_sends_every_message_exactly_once_after_restart_on_sqlite() {
    killed_mid_delivery(None).await;
}

#[tokio::test]
async fn a_host_killed_mid_delivery_sends_every_message_exactly_once_after_restart_on_postgresql() {
    let Some((url, schema)) = pg_schema().await else { return };
    let outcome = tokio::spawn(async move { killed_mid_delivery(Some(&url)).await }).await;
    drop_schema(&schema).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Two host processes over one PostgreSQL database share the delivery of several tenants'
/// outboxes (each tenant's run is taken by one of them at a time): every message arrives
/// exactly once.
#[tokio::test]
async fn two_hosts_on_postgresql_deliver_every_message_exactly_once() {
    use crm_fake_smtp::{SmtpServer, SmtpTls};
    let Some((url, schema)) = pg_schema().await else { return };
    let outcome = tokio::spawn(async move {
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpServer::start(SmtpTls::None, None);
        let mut tenants = Vec::new();
        for n in 0..4 {
            let created = admin(dir.path(), Some(&url), &["admin", "create-tenant", "--name", &format!("ООО Продавец {n}")]);
            tenants.push((token_from(&created), crm_host::tenancy::TenantId(field(&created, "tenant:").parse().unwrap())));
        }
        let http = reqwest::Client::new();
        let mut a = Server::start(dir.path(), Some(&url), &["--job-workers", "2"]);
        let mut b = Server::start(dir.path(), Some(&url), &["--job-workers", "2"]);
        a.wait_ready(&http).await;
        b.wait_ready(&http).await;
        let db = crm_host::Db::connect(&crm_host::db::DbOptions { url: url.clone(), max_connections: 2, pg_schema: None }).await.unwrap();
        for (token, tenant) in &tenants {
            set_smtp(&http, &a.base, token, smtp.port).await;
            queue_mails(&db, *tenant, 25).await;
        }
        for (_, tenant) in &tenants {
            queue_delivery(&db, *tenant).await;
        }
        wait_received(&smtp, 100).await;
        let (count, ids) = message_ids(&smtp);
        assert_eq!((count, ids.len()), (100, 100), "every message once, none twice");
        let workers: Vec<String> = sqlx::query_scalar("SELECT DISTINCT worker FROM jobs WHERE kind = 'mail.deliver' AND status = 'succeeded' AND worker IS NOT NULL").fetch_all(&mut <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap()).await.unwrap();
        db.close().await;
        let (sa, la) = a.stop();
        let (sb, lb) = b.stop();
        assert!(sa.success() && sb.success(), "{la}\n{lb}");
        workers
    })
    .await;
    drop_schema(&schema).await;
    match outcome {
        Ok(workers) => assert!(!workers.is_empty(), "the runs record which process ran them"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
