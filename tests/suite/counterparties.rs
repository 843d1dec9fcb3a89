use axum::http::StatusCode;
use crm_tests::{TestApp, next_inn, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    counterparty_is_created_read_updated_archived_and_restored,
    bad_inn_check_digit_is_rejected_naming_inn,
    requisites_must_fit_the_kind_of_counterparty,
    bank_accounts_are_checked_against_the_bic,
    a_second_live_card_with_the_same_inn_and_kpp_is_a_conflict,
    search_matches_cyrillic_names_in_any_case_and_inn,
    filters_narrow_the_list,
    pagination_is_stable_while_rows_are_added,
    unknown_and_malformed_fields_are_named,
    card_shows_contacts_and_open_deals,
);

async fn counterparty_is_created_read_updated_archived_and_restored(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let created = t
        .admin
        .post(
            "/api/v1/counterparties",
            json!({
                "kind": "legal_entity", "inn": "7719402047", "kpp": "773101001", "ogrn": "1157746078984",
                "full_name": "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МОТОРИКА\"", "short_name": "ООО \"МОТОРИКА\"",
                "legal_address": "г. Москва", "segment": "SME", "payment_deferral_days": 45, "tags": ["vip", " vip ", "new"],
                "responsible_id": t.admin_id,
                "bank_name": "ПАО Сбербанк", "bank_bic": "044525225", "bank_account": "40702810938000000001",
                "bank_corr_account": "30101810400000000225"
            }),
        )
        .await
        .created();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["tags"], json!(["vip", "new"]));
    assert_eq!(created.body["inn"], "7719402047");
    let path = format!("/api/v1/counterparties/{id}");
    let card = t.admin.get(&path).await.ok();
    assert_eq!(card.body["payment_deferral_days"], 45);
    assert_eq!(card.body["open_deals_count"], 0);

    let updated = t.admin.patch(&path, json!({"segment": "Corporate", "postal_address": "а/я 1"})).await.ok();
    assert_eq!(updated.body["segment"], "Corporate");
    assert_eq!(updated.body["kpp"], "773101001", "fields not in the patch stay");
    let cleared = t.admin.patch(&path, json!({"postal_address": null})).await.ok();
    assert_eq!(cleared.body["postal_address"], Value::Null);

    t.admin.post_empty(&format!("{path}/archive")).await.ok();
    let list = t.admin.get("/api/v1/counterparties").await.ok();
    assert!(list.body["items"].as_array().unwrap().is_empty(), "archived counterparties leave the default list");
    let with_archived = t.admin.get("/api/v1/counterparties?include_archived=true").await.ok();
    assert_eq!(with_archived.body["items"].as_array().unwrap().len(), 1);
    let restored = t.admin.post_empty(&format!("{path}/restore")).await.ok();
    assert_eq!(restored.body["archived_at"], Value::Null);
}

async fn bad_inn_check_digit_is_rejected_naming_inn(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t
        .admin
        .post("/api/v1/counterparties", json!({"kind": "legal_entity", "inn": "7719402048", "full_name": "ООО Опечатка"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["type"], "/problems/validation");
    assert_eq!(r.error_fields(), vec!["inn"]);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("check digit"));
    // Nothing was stored.
    let list = t.admin.get("/api/v1/counterparties?include_archived=true").await.ok();
    assert!(list.body["items"].as_array().unwrap().is_empty());
}

async fn requisites_must_fit_the_kind_of_counterparty(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    // A sole proprietor with a 10-digit ИНН, a КПП and a 13-digit ОГРН: three problems at once.
    let r = t
        .admin
        .post(
            "/api/v1/counterparties",
            json!({"kind": "sole_proprietor", "inn": "7719402047", "kpp": "773101001", "ogrn": "1157746078984", "full_name": "ИП Губин"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["inn", "kpp", "ogrn"]);
    // ОГРНИП with remainder 10 → check digit 0 is valid.
    t.admin
        .post("/api/v1/counterparties", json!({"kind": "sole_proprietor", "inn": "781303761704", "ogrn": "325784700338340", "full_name": "ИП Губин"}))
        .await
        .created();
    // Leading zeros survive as a string.
    let z = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "inn": "0108003670", "full_name": "Ноль"})).await.created();
    assert_eq!(z.body["inn"], "0108003670");
}

async fn bank_accounts_are_checked_against_the_bic(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t
        .admin
        .post(
            "/api/v1/counterparties",
            json!({"kind": "legal_entity", "full_name": "ООО Банк", "bank_bic": "044525225", "bank_account": "40702810838000000001"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["bank_account"]);
}

async fn a_second_live_card_with_the_same_inn_and_kpp_is_a_conflict(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let body = json!({"kind": "legal_entity", "inn": "7707083893", "kpp": "773601001", "full_name": "ПАО Сбербанк"});
    let first = t.admin.post("/api/v1/counterparties", body.clone()).await.created();
    let r = t.admin.post("/api/v1/counterparties", body.clone()).await.expect(StatusCode::CONFLICT);
    assert_eq!(r.error_fields(), vec!["inn"]);
    // A branch: same ИНН, its own КПП.
    t.admin
        .post("/api/v1/counterparties", json!({"kind": "legal_entity", "inn": "7707083893", "kpp": "540602001", "full_name": "Сибирский банк"}))
        .await
        .created();
    // After archiving the first card, the ИНН is free again; restoring the old one then conflicts.
    let id = first.body["id"].as_str().unwrap();
    t.admin.post_empty(&format!("/api/v1/counterparties/{id}/archive")).await.ok();
    t.admin.post("/api/v1/counterparties", body).await.created();
    t.admin.post_empty(&format!("/api/v1/counterparties/{id}/restore")).await.expect(StatusCode::CONFLICT);
}

async fn search_matches_cyrillic_names_in_any_case_and_inn(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "inn": "7719402047", "full_name": "ООО \"МОТОРИКА\""})).await.created();
    t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "ООО Ромашка_100%"})).await.created();
    let names = |r: &crm_tests::Resp| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|x| x["full_name"].as_str().unwrap().to_string()).collect()
    };
    let r = t.admin.get("/api/v1/counterparties?q=%D0%BC%D0%BE%D1%82%D0%BE%D1%80").await.ok(); // "мотор"
    assert_eq!(names(&r), vec!["ООО \"МОТОРИКА\""]);
    let r = t.admin.get("/api/v1/counterparties?q=940204").await.ok();
    assert_eq!(names(&r), vec!["ООО \"МОТОРИКА\""]);
    let r = t.admin.get("/api/v1/counterparties?inn=7719402047").await.ok();
    assert_eq!(names(&r).len(), 1);
    // LIKE wildcards in the query are literal.
    let r = t.admin.get("/api/v1/counterparties?q=_100%25").await.ok();
    assert_eq!(names(&r), vec!["ООО Ромашка_100%"]);
    let r = t.admin.get("/api/v1/counterparties?q=%25").await.ok();
    assert_eq!(names(&r), vec!["ООО Ромашка_100%"]);
}

async fn filters_narrow_the_list(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (_, manager_id) = t.user("manager").await;
    t.admin
        .post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "A", "segment": "SME", "tags": ["vip"], "responsible_id": manager_id}))
        .await
        .created();
    t.admin.post("/api/v1/counterparties", json!({"kind": "natural_person", "full_name": "B", "segment": "Retail"})).await.created();
    let count = |r: crm_tests::Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(count(t.admin.get("/api/v1/counterparties?segment=SME").await.ok()), 1);
    assert_eq!(count(t.admin.get("/api/v1/counterparties?kind=natural_person").await.ok()), 1);
    assert_eq!(count(t.admin.get("/api/v1/counterparties?tag=vip").await.ok()), 1);
    assert_eq!(count(t.admin.get(&format!("/api/v1/counterparties?responsible_id={manager_id}")).await.ok()), 1);
    assert_eq!(count(t.admin.get("/api/v1/counterparties").await.ok()), 2);
    let r = t.admin.get("/api/v1/counterparties?kind=alien").await;
    assert!(r.status.is_client_error());
}

async fn pagination_is_stable_while_rows_are_added(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    for i in 0..7 {
        t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": format!("Компания {i}"), "inn": next_inn()})).await.created();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/counterparties?limit=3&cursor={c}"),
            None => "/api/v1/counterparties?limit=3".into(),
        };
        let page = t.admin.get(&path).await.ok();
        pages += 1;
        if pages == 1 {
            // A row added after the first page does not shift the following pages.
            t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "Новая"})).await.created();
        }
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["full_name"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Компания {i}")).collect();
    assert_eq!(seen, expected, "newest first, each exactly once");
    t.admin.get("/api/v1/counterparties?limit=0").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    t.admin.get("/api/v1/counterparties?cursor=nonsense").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
}

async fn unknown_and_malformed_fields_are_named(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "X", "colour": "red"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("colour"), "{}", r.text());
    let r = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["full_name"]);
    let r = t.admin.post("/api/v1/counterparties", json!({"kind": "company", "full_name": "X"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["kind"]);
    let r = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "X", "payment_deferral_days": "ten"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["payment_deferral_days"]);
    let r = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "X", "payment_deferral_days": -1})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["payment_deferral_days"]);
}

async fn card_shows_contacts_and_open_deals(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let id = cp["id"].as_str().unwrap();
    t.admin.post("/api/v1/contacts", json!({"counterparty_id": id, "full_name": "Иванов Иван", "phones": ["+7 (495) 123-45-67"]})).await.created();
    let deal = json!({"title": "Факторинг", "pipeline_id": t.pipeline_id(), "counterparty_id": id});
    t.admin.post("/api/v1/deals", deal.clone()).await.created();
    // A won deal (opened at the won stage: a move there passes every gate on the way) is not open.
    let won_stage = t.pipeline["stages"].as_array().unwrap().iter().find(|s| s["kind"] == "won").unwrap()["id"].clone();
    let mut won = deal;
    won["stage_id"] = won_stage;
    t.admin.post("/api/v1/deals", won).await.created();
    let card = t.admin.get(&format!("/api/v1/counterparties/{id}")).await.ok();
    assert_eq!(card.body["contacts"][0]["full_name"], "Иванов Иван");
    assert_eq!(card.body["open_deals_count"], 1);
}
