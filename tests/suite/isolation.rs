//! One tenant cannot stall the others: plugin calls are admitted within a per-tenant
//! share and wait their turn until a deadline (then fail as busy, which is temporary);
//! a slow accounting plugin does not hold SQLite's one writer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use crm_fake_1c::{EntitySet, FakeOneC, Generated, Options};
use crm_tests::{TestApp, guest, guest_manifest, on_both_engines};
use serde_json::json;

on_both_engines!(
    one_tenants_flood_of_hanging_plugin_calls_leaves_the_others_theirs,
    a_slow_accounting_plugin_does_not_hold_the_writer,
    a_component_over_the_configured_size_is_refused_with_413,
);

async fn a_component_over_the_configured_size_is_refused_with_413(app: TestApp) {
    let app = app.with_config(|c| c.max_plugin_mb = 1);
    let t = app.tenant("ООО Фактор").await;
    let big = vec![0u8; (1 << 20) + 1];
    let r = t.admin.upload_plugin(&guest_manifest("template"), &big).await.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body["detail"].as_str().unwrap().contains("at most 1 MiB"), "{}", r.text());
    // Under the limit, a real component is accepted as usual.
    t.admin.upload_plugin(&guest_manifest("test-guests/echo"), &guest("echo")).await.created();
    assert!(t.admin.get("/api/v1/plugins/template").await.status == StatusCode::NOT_FOUND, "nothing of the refused upload is registered");
}

/// A runtime with a small pool, so the test fills it quickly: 8 calls at once in all,
/// 3 per tenant, a second's wait for a turn, a second per call.
fn small_runtime() -> Arc<crm_host::plugins::Runtime> {
    static RUNTIME: std::sync::OnceLock<Arc<crm_host::plugins::Runtime>> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let mut limits = crm_host::plugins::runtime::Limits { instances: 8, tenant_share: 3, queue_wait: Duration::from_secs(1), ..Default::default() };
            limits.for_all(|w| w.timeout = Duration::from_secs(1));
            crm_host::plugins::Runtime::new(None, limits).expect("plugin runtime")
        })
        .clone()
}

/// A server that accepts connections and never answers.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr.to_string()
}

async fn one_tenants_flood_of_hanging_plugin_calls_leaves_the_others_theirs(app: TestApp) {
    let app = app.with_runtime(small_runtime());
    let (a, b) = (app.tenant("Тенант А").await, app.tenant("Тенант Б").await);
    let hole = black_hole().await;
    a.admin.upload_plugin(&guest_manifest("test-guests/hostile"), &guest("hostile")).await.created();
    a.admin
        .put("/api/v1/modules/hostile", json!({"version": "0.1.0", "settings": {"url": format!("http://{hole}/")}, "grants": {"http_hosts": [hole], "private_hosts": [hole]}}))
        .await
        .ok();
    b.admin.upload_plugin(&guest_manifest("test-guests/echo"), &guest("echo")).await.created();
    b.admin.put("/api/v1/modules/echo", json!({"version": "0.1.0"})).await.ok();

    // Tenant A: 20 calls at once, each waiting on a server that never answers.
    let flood: Vec<_> = (0..20)
        .map(|_| {
            let admin = a.admin.clone();
            tokio::spawn(async move { admin.post("/api/v1/modules/hostile/try", json!({"input": {"inn": "0000000007"}})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Tenant B meanwhile: every call answered, promptly.
    let started = Instant::now();
    for _ in 0..10 {
        let r = b.admin.post("/api/v1/modules/echo/try", json!({"input": {"inn": "7719402047"}})).await.ok();
        assert_eq!(r.body["output"]["full_name"], "ECHO", "{}", r.text());
    }
    assert!(started.elapsed() < Duration::from_secs(2), "B waited {:?} behind A", started.elapsed());

    // Each of A's calls either ran until its time limit or, past A's share, was turned
    // away as busy after waiting its turn — never an error of the server.
    let (mut timed_out, mut busy) = (0, 0);
    for call in flood {
        let r = call.await.unwrap().ok();
        match r.body["failure"]["outcome"].as_str() {
            Some("timeout") => timed_out += 1,
            Some("busy") => {
                let message = r.body["failure"]["message"].as_str().unwrap();
                assert!(message.contains("your tenant already runs 3 plugin calls at once"), "the busy answer says why: {message}");
                busy += 1;
            }
            _ => panic!("unexpected: {}", r.text()),
        }
    }
    assert!(timed_out >= 3 && busy >= 1, "A's share ran ({timed_out} timed out) and the excess was turned away ({busy} busy)");
    let runs = a.admin.get("/api/v1/plugin-runs?module_id=hostile&limit=100").await.ok();
    assert!(runs.body["items"].as_array().unwrap().iter().any(|r| r["outcome"] == "busy"), "a busy call is in the run log");
}

async fn a_slow_accounting_plugin_does_not_hold_the_writer(app: TestApp) {
    let app = app.with_runtime(crm_tests::slow_runtime());
    let (a, b) = (app.tenant("Тенант А").await, app.tenant("Тенант Б").await);
    let today = crm_host::tenancy::access::today_in("Europe/Moscow");
    let fake = FakeOneC::start(Arc::new(Generated::new(20, 200, 50, 7, today)), Options::default()).await.unwrap();
    a.enable_1c(&fake.base_url, &fake.host).await;
    let s = a.admin.get("/api/v1/receivables/settings").await.ok().body;
    let mut s = s.as_object().unwrap().clone();
    s.insert("sync_page_size".into(), json!(50));
    a.admin.put("/api/v1/receivables/settings", serde_json::Value::Object(s)).await.ok();
    // Every page of sales documents takes 1.5 s to come from 1C.
    fake.set_latency(EntitySet::Sales, Duration::from_millis(1500));
    let job = a.admin.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::ACCEPTED).body;
    let worker = {
        let app_state = app.state.clone();
        tokio::spawn(async move { crm_host::jobs::runner::run_pending(&app_state, crm_tests::test_runner()).await })
    };
    // While A's sync waits on 1C, B keeps writing; no write waits for the plugin.
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    let mut writes = 0;
    while started.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        b.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": format!("ООО Б-{writes}"), "inn": crm_tests::next_inn()})).await.created();
        slowest = slowest.max(t.elapsed());
        writes += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(slowest < Duration::from_millis(750), "B's slowest write took {slowest:?} while A's sync waited on a slow 1C");
    fake.set_latency(EntitySet::Sales, Duration::ZERO);
    worker.await.unwrap().unwrap();
    let done = a.admin.get(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["progress"]["sales_documents"]["created"].as_u64().unwrap() > 150, "{done}");
}
