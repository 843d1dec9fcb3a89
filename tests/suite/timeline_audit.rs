use axum::http::StatusCode;
use crm_tests::{TestApp, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    timelines_show_what_happened_newest_first,
    audit_log_keeps_each_changed_field_before_and_after,
    interactions_are_logged_against_deals_and_counterparties,
);

async fn timelines_show_what_happened_newest_first(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let cpid = cp["id"].as_str().unwrap();
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Сделка", "pipeline_id": t.pipeline_id(), "counterparty_id": cpid})).await.created();
    let did = deal.body["id"].as_str().unwrap();
    t.admin.post("/api/v1/interactions", json!({"kind": "call", "subject": "Первый звонок", "deal_id": did})).await.created();
    t.admin.post(&format!("/api/v1/deals/{did}/stage"), json!({"stage_id": t.stage(1)})).await.ok();
    let task = t.admin.post("/api/v1/tasks", json!({"title": "Выслать КП", "deal_id": did})).await.created();
    t.admin.upload("kp.pdf", b"pdf", &[("kind", "proposal".into()), ("task_id", task.body["id"].as_str().unwrap().into())]).await.created();
    t.admin.post_empty(&format!("/api/v1/tasks/{}/complete", task.body["id"].as_str().unwrap())).await.ok();
    // Something on another counterparty stays off this timeline.
    let other = t.counterparty("Другой").await;
    t.admin.post("/api/v1/interactions", json!({"kind": "note", "subject": "Чужое", "counterparty_id": other["id"]})).await.created();

    let kinds = |r: &crm_tests::Resp| -> Vec<String> { r.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect() };
    let expected = vec!["task_completed", "document_attached", "task_created", "stage_changed", "interaction", "deal_created"];
    let deal_tl = t.admin.get(&format!("/api/v1/deals/{did}/timeline")).await.ok();
    assert_eq!(kinds(&deal_tl), expected);
    let cp_tl = t.admin.get(&format!("/api/v1/counterparties/{cpid}/timeline")).await.ok();
    assert_eq!(kinds(&cp_tl), expected);
    assert_eq!(cp_tl.body["items"][3]["summary"], "Этап сделки «Сделка»: «Горячий лид» → «Переговоры»");
    // Paging through a timeline yields the same events.
    let mut paged = Vec::new();
    let mut path = format!("/api/v1/counterparties/{cpid}/timeline?limit=4");
    loop {
        let page = t.admin.get(&path).await.ok();
        paged.extend(kinds(&page));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/counterparties/{cpid}/timeline?limit=4&cursor={}", urlencode(c)),
            None => break,
        }
    }
    assert_eq!(paged, expected);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn audit_log_keeps_each_changed_field_before_and_after(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Старое имя").await;
    let id = cp["id"].as_str().unwrap();
    t.admin.patch(&format!("/api/v1/counterparties/{id}"), json!({"full_name": "ООО Новое имя", "payment_deferral_days": 30})).await.ok();
    t.admin.patch(&format!("/api/v1/counterparties/{id}"), json!({"full_name": "ООО Новое имя"})).await.ok(); // no change, no entry
    t.admin.post_empty(&format!("/api/v1/counterparties/{id}/archive")).await.ok();
    let log = t.admin.get(&format!("/api/v1/audit?entity_type=counterparty&entity_id={id}")).await.ok();
    let entries = log.body["items"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["archive", "update", "create"]);
    let update = &entries[1];
    assert_eq!(update["actor_kind"], "user");
    assert_eq!(update["actor_id"], json!(t.admin_id));
    assert!(update["request_id"].is_string(), "the request id ties the entry to the logs");
    let changes = update["changes"].as_array().unwrap();
    let change = |f: &str| changes.iter().find(|c| c["field"] == f).cloned().unwrap_or(Value::Null);
    assert_eq!(change("full_name"), json!({"field": "full_name", "before": "ООО Старое имя", "after": "ООО Новое имя"}));
    assert_eq!(change("payment_deferral_days"), json!({"field": "payment_deferral_days", "before": 0, "after": 30}));
    assert_eq!(changes.len(), 2, "only the changed fields: {changes:?}");
    let create = &entries[2];
    assert!(create["changes"].as_array().unwrap().iter().any(|c| c["field"] == "inn" && c["before"].is_null()));
    // Tenant creation itself is audited as the system.
    let users = t.admin.get("/api/v1/audit?entity_type=user").await.ok();
    assert_eq!(users.body["items"][0]["actor_kind"], "system");
}

async fn interactions_are_logged_against_deals_and_counterparties(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let other = t.counterparty("ООО Другой").await;
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Сделка", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]})).await.created();
    let it = t.admin.post("/api/v1/interactions", json!({"kind": "meeting", "subject": "Встреча", "deal_id": deal.body["id"]})).await.created();
    assert_eq!(it.body["counterparty_id"], cp["id"], "a deal implies its counterparty");
    let r = t
        .admin
        .post("/api/v1/interactions", json!({"kind": "call", "subject": "X", "deal_id": deal.body["id"], "counterparty_id": other["id"]}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["deal_id"]);
    let r = t.admin.post("/api/v1/interactions", json!({"kind": "call", "subject": "X"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["counterparty_id"]);
    let someone_elses = t.admin.post("/api/v1/contacts", json!({"full_name": "Чужой", "counterparty_id": other["id"]})).await.created();
    let r = t
        .admin
        .post("/api/v1/interactions", json!({"kind": "call", "subject": "X", "counterparty_id": cp["id"], "contact_id": someone_elses.body["id"]}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["contact_id"]);
    let listed = t.admin.get(&format!("/api/v1/interactions?counterparty_id={}", cp["id"].as_str().unwrap())).await.ok();
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}
