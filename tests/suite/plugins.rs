//! The plugin runtime end to end: real compiled guests from `plugins/`, the built-in
//! DaData plugin against a DaData-format fake on loopback, the registry and modules,
//! and hostile guests contained while the host keeps answering.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use crm_host::AppState;
use crm_host::plugins::manifest::World;
use crm_host::plugins::worlds::enrichment::{Company, Lookup};
use crm_host::tenancy::TenantId;
use crm_tests::{TestApp, TestTenant, guest, guest_manifest, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    creating_a_counterparty_by_inn_fills_its_card_from_the_registry,
    a_bad_inn_is_refused_before_any_outbound_call,
    refresh_keeps_what_a_person_edited_unless_asked_to_overwrite,
    liquidated_companies_are_flagged_on_the_card,
    without_an_enabled_registry_plugin_the_answer_says_what_to_do,
    uploads_are_validated_versioned_switched_and_rolled_back,
    hostile_guests_are_contained_while_the_host_keeps_answering,
);

/// A DaData `findById/party` fake on loopback, serving the real response format.
pub struct FakeDadata {
    pub base_url: String,
    pub host: String,
    pub calls: Arc<AtomicUsize>,
}

pub const KEY: &str = "test-api-key-0123456789";

pub async fn fake_dadata() -> FakeDadata {
    let real: Value = serde_json::from_str(include_str!("../fixtures/dadata-party-response.json")).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/suggestions/api/4_1/rs/findById/party",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
            let real = real.clone();
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Token {KEY}")) {
                    return (StatusCode::FORBIDDEN, axum::Json(json!({"family": "CLIENT_ERROR", "reason": "Forbidden", "message": "Access denied"})));
                }
                let inn = body["query"].as_str().unwrap_or_default().to_string();
                let mut answer = match inn.as_str() {
                    "7719402047" => real,
                    // A liquidated company: the real record with another ИНН and state.
                    "7707083893" => {
                        let mut r = real;
                        let d = &mut r["suggestions"][0]["data"];
                        d["inn"] = json!("7707083893");
                        d["ogrn"] = json!("1027700132195");
                        d["state"]["status"] = json!("LIQUIDATED");
                        d["state"]["liquidation_date"] = json!(1_700_000_000_000_i64);
                        r
                    }
                    _ => json!({"suggestions": []}),
                };
                if answer.get("suggestions").is_none() {
                    answer = json!({"suggestions": []});
                }
                (StatusCode::OK, axum::Json(answer))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeDadata { base_url: format!("http://{addr}/suggestions/api/4_1/rs/"), host: addr.to_string(), calls }
}

/// The tenant's company-registry module's answer about `inn`, or how the call failed.
async fn lookup(state: &AppState, tenant: TenantId, inn: &str) -> Result<Option<Company>, String> {
    let m = crm_host::plugins::service::resolve(state, tenant, World::InnEnrichment, None, "enable one").await.map_err(|e| e.to_string())?;
    m.call(state, Lookup { inn: inn.into(), kpp: None }).await.map_err(|e| e.to_string())
}

/// Enables the built-in DaData plugin against the fake (explicitly allowed as a private host).
async fn enable_dadata(t: &TestTenant, fake: &FakeDadata) {
    t.admin
        .put(
            "/api/v1/modules/inn-dadata",
            json!({"version": "0.2.0", "settings": {"base_url": fake.base_url}, "secrets": {"api_key": KEY},
                   "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}}),
        )
        .await
        .ok();
}

async fn creating_a_counterparty_by_inn_fills_its_card_from_the_registry(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = fake_dadata().await;
    enable_dadata(&t, &fake).await;
    let module = t.admin.get("/api/v1/modules/inn-dadata").await.ok();
    assert_eq!(module.body["secrets_set"], json!(["api_key"]));
    assert!(!module.text().contains(KEY), "secrets are never returned");

    let cp = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.created();
    assert_eq!(cp.body["full_name"], "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МОТОРИКА\"");
    assert_eq!(cp.body["short_name"], "ООО \"МОТОРИКА\"");
    assert_eq!(cp.body["kpp"], "773101001");
    assert_eq!(cp.body["ogrn"], "1157746078984");
    assert_eq!(cp.body["head_name"], "Чех Илья Игоревич");
    assert_eq!(cp.body["head_post"], "ГЕНЕРАЛЬНЫЙ ДИРЕКТОР");
    assert_eq!(cp.body["okved"], "72.19");
    assert_eq!(cp.body["registry_status"], "active");
    assert_eq!(cp.body["registered_on"], "2015-02-05");
    assert_eq!(cp.body["manual_fields"], json!([]));
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);

    let id = cp.body["id"].as_str().unwrap();
    let audit = t.admin.get(&format!("/api/v1/audit?entity_type=counterparty&entity_id={id}")).await.ok();
    assert_eq!(audit.body["items"][0]["actor_kind"], "plugin");
    assert!(audit.body["items"][0]["actor_label"].as_str().unwrap().starts_with("inn-dadata 0.2.0"));
    let runs = t.admin.get("/api/v1/plugin-runs?plugin_id=inn-dadata").await.ok();
    assert_eq!(runs.body["items"][0]["outcome"], "ok");
    assert_eq!(runs.body["items"][0]["function"], "enrichment.lookup");
    // The same ИНН again is a duplicate, found before anything is written.
    t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.expect(StatusCode::CONFLICT);
    // Unknown to the registry.
    let r = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7728437776"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["inn"]);
    // The secret is sealed at rest.
    let mut conn = app.state.db.read().await.unwrap();
    let sealed: Vec<Option<String>> = crm_host::on_conn!(&mut conn.conn(), c => sqlx::query_scalar("SELECT secrets FROM modules").fetch_all(c).await).unwrap();
    assert!(sealed.iter().flatten().all(|s| !s.contains(KEY)));
}

async fn a_bad_inn_is_refused_before_any_outbound_call(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = fake_dadata().await;
    enable_dadata(&t, &fake).await;
    let r = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402048"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["inn"]);
    assert_eq!(fake.calls.load(Ordering::SeqCst), 0);
    // A wrong API key is the registry's refusal, reported as such, with nothing stored.
    t.admin.put("/api/v1/modules/inn-dadata", json!({"version": "0.2.0", "settings": {"base_url": fake.base_url}, "secrets": {"api_key": "wrong"},
        "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}})).await.ok();
    let r = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.expect(StatusCode::BAD_GATEWAY);
    assert!(r.body["detail"].as_str().unwrap().contains("API key"), "{}", r.text());
    let list = t.admin.get("/api/v1/counterparties?include_archived=true").await.ok();
    assert!(list.body["items"].as_array().unwrap().is_empty());
}

async fn refresh_keeps_what_a_person_edited_unless_asked_to_overwrite(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = fake_dadata().await;
    enable_dadata(&t, &fake).await;
    let cp = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.created();
    let id = cp.body["id"].as_str().unwrap();
    let edited = t.admin.patch(&format!("/api/v1/counterparties/{id}"), json!({"short_name": "Моторика"})).await.ok();
    assert_eq!(edited.body["manual_fields"], json!(["short_name"]));
    let r = t.admin.post(&format!("/api/v1/counterparties/{id}/refresh"), json!({})).await.ok();
    assert_eq!(r.body["kept"], json!(["short_name"]));
    assert_eq!(r.body["updated"], json!([]));
    assert_eq!(r.body["counterparty"]["short_name"], "Моторика");
    let r = t.admin.post(&format!("/api/v1/counterparties/{id}/refresh"), json!({"overwrite": true})).await.ok();
    assert_eq!(r.body["updated"], json!(["short_name"]));
    assert_eq!(r.body["counterparty"]["short_name"], "ООО \"МОТОРИКА\"");
    assert_eq!(r.body["counterparty"]["manual_fields"], json!([]));
}

async fn liquidated_companies_are_flagged_on_the_card(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = fake_dadata().await;
    enable_dadata(&t, &fake).await;
    let cp = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7707083893"})).await.created();
    assert_eq!(cp.body["registry_status"], "liquidated");
    assert_eq!(cp.body["liquidated_on"], "2023-11-14");
    let card = t.admin.get(&format!("/api/v1/counterparties/{}", cp.body["id"].as_str().unwrap())).await.ok();
    assert_eq!(card.body["registry_warning"], "Компания ликвидирована 14.11.2023 по данным реестра");
}

async fn without_an_enabled_registry_plugin_the_answer_says_what_to_do(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.expect(StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("PUT /api/v1/modules/inn-dadata"));
    // Enabling without the required secret names it.
    let r = t.admin.put("/api/v1/modules/inn-dadata", json!({"version": "0.2.0"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["secrets.api_key"]);
    // A host the manifest never asked for cannot be granted (unless it lets the tenant choose).
    t.admin.upload_plugin(&guest_manifest("template"), &guest("template")).await.created();
    let r = t
        .admin
        .put("/api/v1/modules/template", json!({"version": "0.2.0", "grants": {"http_hosts": ["evil.example"]}}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["grants.http_hosts[0]"]);
    let (manager, _) = t.user("manager").await;
    manager.put("/api/v1/modules/inn-dadata", json!({"version": "0.2.0", "secrets": {"api_key": "k"}})).await.expect(StatusCode::FORBIDDEN);
}

async fn uploads_are_validated_versioned_switched_and_rolled_back(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let manifest = guest_manifest("template");
    let template = guest("template");
    let v1 = t.admin.upload_plugin(&manifest, &template).await.created();
    assert_eq!(v1.body["world"], "inn-enrichment");
    // Same version, same content: accepted again, nothing new.
    t.admin.upload_plugin(&manifest, &template).await.created();
    // Same version, other content: refused.
    let r = t.admin.upload_plugin(&manifest, &guest("echo")).await.expect(StatusCode::CONFLICT);
    assert_eq!(r.error_fields(), vec!["manifest.version"]);
    let v2_manifest = manifest.replace("version = \"0.2.0\"", "version = \"0.3.0\"");
    // Not a component, or not the declared world.
    let r = t.admin.upload_plugin(&v2_manifest, b"\0asm not really").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["component"]);
    let fee = v2_manifest.replace("world = \"inn-enrichment\"", "world = \"fee-rule\"");
    let r = t.admin.upload_plugin(&fee, &template).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("fee-rule"), "{}", r.text());
    t.admin.upload_plugin(&v2_manifest, &guest("echo")).await.created();

    let companies = json!({"7719402047": {"full_name": "ООО \"ИЗ ШАБЛОНА\"", "status": "active"}}).to_string();
    t.admin.put("/api/v1/modules/template", json!({"version": "0.2.0", "settings": {"companies": companies}})).await.ok();
    let cp = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.created();
    assert_eq!(cp.body["full_name"], "ООО \"ИЗ ШАБЛОНА\"");
    let switched = t.admin.put("/api/v1/modules/template", json!({"version": "0.3.0", "settings": {"companies": companies}})).await.ok();
    assert_eq!(switched.body["previous_version"], "0.2.0");
    let rolled = t.admin.post_empty("/api/v1/modules/template/rollback").await.ok();
    assert_eq!(rolled.body["version"], "0.2.0");
    assert_eq!(rolled.body["previous_version"], "0.3.0");
    let disabled = t.admin.post_empty("/api/v1/modules/template/disable").await.ok();
    assert_eq!(disabled.body["enabled"], false);
    let versions = t.admin.get("/api/v1/plugins/template").await.ok();
    assert_eq!(versions.body.as_array().unwrap().len(), 2);
}

async fn hostile_guests_are_contained_while_the_host_keeps_answering(app: TestApp) {
    let a = app.tenant("Тенант А").await;
    let b = app.tenant("Тенант Б").await;
    let fake = fake_dadata().await;
    a.admin.upload_plugin(&guest_manifest("test-guests/hostile"), &guest("hostile")).await.created();
    let grant = |private: bool| {
        json!({"version": "0.1.0", "settings": {"url": fake.base_url},
               "grants": {"http_hosts": ["169.254.169.254", fake.host],
                          "private_hosts": if private { json!([fake.host]) } else { json!([]) }}})
    };
    a.admin.put("/api/v1/modules/hostile", grant(false)).await.ok();
    b.admin.upload_plugin(&guest_manifest("test-guests/echo"), &guest("echo")).await.created();
    b.admin.put("/api/v1/modules/echo", json!({"version": "0.1.0"})).await.ok();

    let tenant_a = TenantId(a.id);
    let state = app.state.clone();
    let call = move |inn: &'static str| {
        let state = state.clone();
        async move { lookup(&state, tenant_a, inn).await }
    };
    // Other tenants and other requests keep being served while hostile calls run.
    let b_admin = b.admin.clone();
    let b_state = app.state.clone();
    let tenant_b = TenantId(b.id);
    let bystander = tokio::spawn(async move {
        let started = Instant::now();
        let mut served = 0;
        let mut slowest = Duration::ZERO;
        while started.elapsed() < Duration::from_millis(2500) {
            let t0 = Instant::now();
            b_admin.get("/api/v1/me").await.ok();
            let echo = lookup(&b_state, tenant_b, "7719402047").await.unwrap();
            assert_eq!(echo.unwrap().full_name, "ECHO");
            slowest = slowest.max(t0.elapsed());
            served += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (served, slowest)
    });

    let expect = |r: Result<_, String>, needle: &str| match r {
        Err(m) => assert!(m.contains(needle), "expected `{needle}` in: {m}"),
        Ok(_) => panic!("expected a failure with `{needle}`, got an answer"),
    };
    let started = Instant::now();
    let (spin, bomb, giant, panic) = tokio::join!(call("0000000001"), call("0000000002"), call("0000000003"), call("0000000004"));
    expect(spin, "time limit");
    assert!(started.elapsed() < Duration::from_secs(4), "the spinning guest was stopped at its limit");
    expect(bomb, "memory limit");
    expect(giant, "output limit");
    expect(panic, "panicked");
    expect(call("0000000005").await, "not in this plugin's granted hosts");
    expect(call("0000000006").await, "internal address 169.254.169.254");
    expect(call("0000000007").await, "internal address 127.0.0.1");
    a.admin.put("/api/v1/modules/hostile", grant(true)).await.ok();
    let allowed = call("0000000007").await.unwrap();
    assert!(allowed.unwrap().full_name.starts_with("status "), "an explicitly allowed private host is reachable");
    // After all that, the plugin still answers normally.
    assert!(call("0000000000").await.unwrap().is_none());

    let (served, slowest) = bystander.await.unwrap();
    assert!(served >= 10, "the host kept answering: {served} bystander rounds");
    assert!(slowest < Duration::from_millis(1500), "bystander requests stayed fast: slowest {slowest:?}");

    let runs = a.admin.get("/api/v1/plugin-runs?plugin_id=hostile&limit=50").await.ok();
    let outcomes: Vec<&str> = runs.body["items"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    for o in ["timeout", "limit", "trap", "error", "ok"] {
        assert!(outcomes.contains(&o), "run log has a `{o}` entry: {outcomes:?}");
    }
    // Tenant B's run log shows only its own plugin; A's failures changed nothing of B's.
    let b_runs = b.admin.get("/api/v1/plugin-runs").await.ok();
    assert!(b_runs.body["items"].as_array().unwrap().iter().all(|r| r["plugin_id"] == "echo"));
    let a_cps = a.admin.get("/api/v1/counterparties?include_archived=true").await.ok();
    assert!(a_cps.body["items"].as_array().unwrap().is_empty(), "nothing half-written");
}
