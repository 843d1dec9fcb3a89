use axum::http::StatusCode;
use crm_tests::{TestApp, on_both_engines};
use serde_json::json;

on_both_engines!(
    admin_creates_users_whose_tokens_work_until_revoked,
    tokens_are_shown_once_and_stored_only_as_a_hash,
    archived_users_lose_access_at_once,
    roles_decide_what_a_caller_may_do,
    managers_change_only_their_own_records,
    tenant_settings_reject_an_unknown_time_zone,
    a_tenant_always_keeps_an_admin,
);

async fn a_tenant_always_keeps_an_admin(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let me = format!("/api/v1/users/{}", t.admin_id);
    let r = t.admin.patch(&me, json!({"role": "manager"})).await.expect(StatusCode::CONFLICT);
    assert_eq!(r.error_fields(), vec!["role"]);
    let (_, second) = t.user("manager").await;
    // PATCH is a merge patch: departments survive a role change.
    t.admin.patch(&format!("/api/v1/users/{second}"), json!({"departments": ["legal"]})).await.ok();
    let promoted = t.admin.patch(&format!("/api/v1/users/{second}"), json!({"role": "admin"})).await.ok();
    assert_eq!(promoted.body["departments"], json!(["legal"]));
    let demoted = t.admin.patch(&me, json!({"role": "head"})).await.ok();
    assert_eq!(demoted.body["role"], "head");
}

async fn admin_creates_users_whose_tokens_work_until_revoked(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let (manager, manager_id) = t.user("manager").await;
    let me = manager.get("/api/v1/me").await.ok();
    assert_eq!(me.body["id"], json!(manager_id));
    assert_eq!(me.body["role"], "manager");

    let tokens = t.admin.get("/api/v1/tokens").await.ok();
    let token_id = tokens.body.as_array().unwrap().iter().find(|x| x["user_id"] == json!(manager_id)).unwrap()["id"].clone();
    t.admin.delete(&format!("/api/v1/tokens/{}", token_id.as_str().unwrap())).await.ok();
    let denied = manager.get("/api/v1/me").await.expect(StatusCode::UNAUTHORIZED);
    assert_eq!(denied.body["type"], "/problems/unauthenticated");
    assert_eq!(denied.headers["content-type"], "application/problem+json");

    let users = t.admin.get("/api/v1/users").await.ok();
    assert_eq!(users.body["items"].as_array().unwrap().len(), 2);
}

async fn tokens_are_shown_once_and_stored_only_as_a_hash(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let issued = t.admin.post("/api/v1/tokens", json!({"name": "1C"})).await.created();
    let token = issued.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("crm_"));
    let listed = t.admin.get("/api/v1/tokens").await.ok();
    assert!(!listed.text().contains(&token[token.len() - 64..]), "a listed token must not carry its secret");
    assert!(listed.body.as_array().unwrap().iter().all(|x| x.get("token").is_none()));
    // The stored value is a hash, not the secret.
    let mut conn = app.state.db.read().await.unwrap();
    let hashes: Vec<Vec<u8>> = crm_host::on_conn!(&mut conn.conn(), c => sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_all(c).await).unwrap();
    assert!(hashes.iter().all(|h| h.len() == 32 && !token.as_bytes().windows(32).any(|w| w == h.as_slice())));
    // A forged secret for a real token id fails.
    let forged = format!("{}{}", &token[..token.len() - 64], "0".repeat(64));
    app.client(&forged).get("/api/v1/me").await.expect(StatusCode::UNAUTHORIZED);
    app.client("garbage").get("/api/v1/me").await.expect(StatusCode::UNAUTHORIZED);
    app.anonymous().get("/api/v1/me").await.expect(StatusCode::UNAUTHORIZED);
}

async fn archived_users_lose_access_at_once(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let (manager, id) = t.user("manager").await;
    manager.get("/api/v1/me").await.ok();
    t.admin.post_empty(&format!("/api/v1/users/{id}/archive")).await.ok();
    manager.get("/api/v1/me").await.expect(StatusCode::UNAUTHORIZED);
    t.admin.post_empty(&format!("/api/v1/users/{id}/restore")).await.ok();
    manager.get("/api/v1/me").await.ok();
    // An admin cannot lock themselves out.
    t.admin.post_empty(&format!("/api/v1/users/{}/archive", t.admin_id)).await.expect(StatusCode::BAD_REQUEST);
}

async fn roles_decide_what_a_caller_may_do(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let (manager, _) = t.user("manager").await;
    let (head, _) = t.user("head").await;
    let new_user = json!({"email": "x@example.test", "full_name": "X", "role": "manager"});
    let r = manager.post("/api/v1/users", new_user.clone()).await.expect(StatusCode::FORBIDDEN);
    assert_eq!(r.body["type"], "/problems/forbidden");
    head.post("/api/v1/users", new_user.clone()).await.expect(StatusCode::FORBIDDEN);
    t.admin.post("/api/v1/users", new_user).await.created();
    manager.get("/api/v1/audit").await.expect(StatusCode::FORBIDDEN);
    head.get("/api/v1/audit").await.ok();
    manager.patch("/api/v1/tenant", json!({"name": "Y"})).await.expect(StatusCode::FORBIDDEN);
    let stage = json!({"name": "Новый", "kind": "open", "win_probability": 5});
    head.post(&format!("/api/v1/pipelines/{}/stages", t.pipeline_id()), stage.clone()).await.expect(StatusCode::FORBIDDEN);
    t.admin.post(&format!("/api/v1/pipelines/{}/stages", t.pipeline_id()), stage).await.created();
    // Everyone reads the CRM and may create records.
    manager.get("/api/v1/users").await.ok();
    manager.post("/api/v1/counterparties", json!({"kind": "natural_person", "full_name": "Петров Пётр"})).await.created();
}

async fn managers_change_only_their_own_records(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let (alice, alice_id) = t.user("manager").await;
    let (bob, _) = t.user("manager").await;
    let (head, _) = t.user("head").await;
    let cp = alice
        .post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "ООО Алиса", "responsible_id": alice_id}))
        .await
        .created();
    let path = format!("/api/v1/counterparties/{}", cp.body["id"].as_str().unwrap());
    let r = bob.patch(&path, json!({"segment": "B"})).await.expect(StatusCode::FORBIDDEN);
    assert!(r.body["detail"].as_str().unwrap().contains("someone else"));
    alice.patch(&path, json!({"segment": "A"})).await.ok();
    head.patch(&path, json!({"segment": "HEAD"})).await.ok();
    assert_eq!(alice.get(&path).await.ok().body["segment"], "HEAD");
}

async fn tenant_settings_reject_an_unknown_time_zone(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    assert_eq!(t.admin.get("/api/v1/tenant").await.ok().body["time_zone"], "Europe/Moscow");
    let r = t.admin.patch("/api/v1/tenant", json!({"time_zone": "Mars/Olympus"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["time_zone"]);
    let ok = t.admin.patch("/api/v1/tenant", json!({"time_zone": "Asia/Yekaterinburg"})).await.ok();
    assert_eq!(ok.body["time_zone"], "Asia/Yekaterinburg");
}
