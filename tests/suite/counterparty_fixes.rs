//! Small things a new user runs into (issue 11, item 7): a branch's КПП answered with the
//! head office, a loopback registry without the private grant, English error texts.

use axum::http::StatusCode;
use crm_tests::{TestApp, on_both_engines};
use serde_json::json;

use crate::plugins::{KEY, fake_dadata};

on_both_engines!(
    creating_a_branch_by_inn_that_the_registry_answers_with_the_head_office_says_so,
    a_registry_on_loopback_without_the_private_grant_names_the_exact_value_to_allow,
    requisite_errors_read_as_plain_english,
);

async fn creating_a_branch_by_inn_that_the_registry_answers_with_the_head_office_says_so(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = fake_dadata().await;
    t.admin
        .put("/api/v1/modules/inn-dadata", json!({"version": "0.2.0", "settings": {"base_url": fake.base_url}, "secrets": {"api_key": KEY},
            "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}}))
        .await
        .ok();
    // The head office's card exists already.
    t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.created();
    // Asked for a branch (КПП 773151001), the registry answers with the head office
    // (773101001): not a 409 on the head office's card, but what happened.
    let r = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047", "kpp": "773151001"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["kpp"]);
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    for needle in ["no branch with КПП 773151001", "head office (КПП 773101001)", "POST /api/v1/counterparties"] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    // Asked for the head office's own КПП: the same conflict as before, the card exists.
    t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047", "kpp": "773101001"})).await.expect(StatusCode::CONFLICT);
}

async fn a_registry_on_loopback_without_the_private_grant_names_the_exact_value_to_allow(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = fake_dadata().await;
    t.admin
        .put("/api/v1/modules/inn-dadata", json!({"version": "0.2.0", "settings": {"base_url": fake.base_url}, "secrets": {"api_key": KEY},
            "grants": {"http_hosts": [fake.host]}}))
        .await
        .ok();
    let r = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.expect(StatusCode::CONFLICT);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("\"{}\"", fake.host)), "names host:port exactly: {detail}");
    assert!(detail.contains("grants.private_hosts"), "{detail}");
    assert!(!detail.contains("try again later"), "a settings problem is not fixed by waiting: {detail}");
}

async fn requisite_errors_read_as_plain_english(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let message = |r: &crm_tests::Resp, field: &str| -> String {
        r.body["errors"].as_array().unwrap().iter().find(|e| e["field"] == field).and_then(|e| e["message"].as_str()).unwrap_or_default().to_string()
    };
    // A sole proprietor's 10-digit ИНН, an organisation's ОГРНИП.
    let r = t
        .admin
        .post("/api/v1/counterparties", json!({"kind": "sole_proprietor", "full_name": "ИП Губин", "inn": "7719402047"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message(&r, "inn"), "a sole proprietor has a 12-digit ИНН");
    let r = t
        .admin
        .post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "ООО Губин", "inn": "500100732259"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message(&r, "inn"), "an organisation has a 10-digit ИНН");
    let r = t
        .admin
        .post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "ООО Губин", "inn": "7719402047", "ogrn": "325784700338340"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message(&r, "ogrn"), "an organisation has a 13-digit ОГРН (a 15-digit ОГРНИП is a sole proprietor's)");
    let r = t
        .admin
        .post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "ООО Губин", "inn": "7719402047", "ogrn": "12345"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message(&r, "ogrn"), "ОГРН or ОГРНИП must have 13 digits (ОГРН) or 15 digits (ОГРНИП)");
    let r = t
        .admin
        .post("/api/v1/counterparties", json!({"kind": "sole_proprietor", "full_name": "ИП Губин", "inn": "500100732259", "ogrn": "525784700338340"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message(&r, "ogrn"), "ОГРНИП must start with 3 or 4");
    let r = t
        .admin
        .post("/api/v1/counterparties", json!({"kind": "sole_proprietor", "full_name": "ИП Губин", "inn": "500100732259", "kpp": "773101001"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message(&r, "kpp"), "only an organisation has a КПП");
}
