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
