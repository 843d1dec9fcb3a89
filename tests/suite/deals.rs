use axum::http::StatusCode;
use crm_tests::{TestApp, on_both_engines};
use serde_json::json;

on_both_engines!(
    new_tenant_has_the_factoring_pipeline,
    deal_starts_at_first_open_stage_and_keeps_its_stage_history,
    deal_params_are_checked_against_the_pipeline_schema,
    money_is_exact_and_written_as_a_decimal_string,
    pipelines_are_configured_per_tenant,
);

async fn new_tenant_has_the_factoring_pipeline(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    assert_eq!(t.pipeline["name"], "Факторинг");
    let stages = t.pipeline["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 10);
    assert_eq!(stages[0]["name"], "Горячий лид");
    assert_eq!(stages[8]["kind"], "won");
    assert_eq!(stages[9]["kind"], "lost");
    let positions: Vec<i64> = stages.iter().map(|s| s["position"].as_i64().unwrap()).collect();
    assert_eq!(positions, (1..=10).collect::<Vec<_>>());
}

async fn deal_starts_at_first_open_stage_and_keeps_its_stage_history(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let deal = t
        .admin
        .post("/api/v1/deals", json!({"title": "Факторинг 5 млн", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]}))
        .await
        .created();
    assert_eq!(deal.body["stage_id"], t.stage(0).as_str());
    assert_eq!(deal.body["stage_name"], "Горячий лид");
    assert_eq!(deal.body["responsible_id"], json!(t.admin_id));
    assert_eq!(deal.body["currency"], "RUB");
    let id = deal.body["id"].as_str().unwrap();
    let moved = t.admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": t.stage(1)})).await.ok();
    assert_eq!(moved.body["stage_name"], "Переговоры");
    let history = t.admin.get(&format!("/api/v1/deals/{id}/stage-history")).await.ok();
    let h = history.body.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["from_stage_id"], serde_json::Value::Null);
    assert_eq!(h[1]["from_stage_id"], t.stage(0).as_str());
    assert_eq!(h[1]["to_stage_id"], t.stage(1).as_str());
    assert_eq!(h[1]["changed_by"], json!(t.admin_id));
    // A stage of another pipeline is refused.
    let other = t
        .admin
        .post("/api/v1/pipelines", json!({"name": "Другая", "stages": [{"name": "Один", "kind": "open", "win_probability": 10}]}))
        .await
        .created();
    let foreign_stage = other.body["stages"][0]["id"].clone();
    let r = t.admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": foreign_stage})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["stage_id"]);
    // Filters by status.
    let open = t.admin.get("/api/v1/deals?status=open").await.ok();
    assert_eq!(open.body["items"].as_array().unwrap().len(), 1);
    let won = t.admin.get("/api/v1/deals?status=won").await.ok();
    assert!(won.body["items"].as_array().unwrap().is_empty());
}

async fn deal_params_are_checked_against_the_pipeline_schema(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let r = t
        .admin
        .post(
            "/api/v1/deals",
            json!({"title": "X", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"],
                   "params": {"factoring_type": "barter", "limit": 5000000, "term_days": 90, "colour": "red"}}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["params.colour", "params.factoring_type", "params.limit"]);
    let ok = t
        .admin
        .post(
            "/api/v1/deals",
            json!({"title": "X", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"],
                   "params": {"factoring_type": "without_recourse", "limit": "5000000", "term_days": 90}}),
        )
        .await
        .created();
    assert_eq!(ok.body["params"]["limit"], "5000000.00");
    let id = ok.body["id"].as_str().unwrap();
    // A patch merges params key by key; null removes one.
    let p = t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"term_days": null, "deferral_days": 30}})).await.ok();
    assert_eq!(p.body["params"], json!({"factoring_type": "without_recourse", "limit": "5000000.00", "deferral_days": 30}));
}

async fn money_is_exact_and_written_as_a_decimal_string(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let d = t
        .admin
        .post("/api/v1/deals", json!({"title": "X", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "amount": "9876543210123.57"}))
        .await
        .created();
    // A large amount stays exact (the largest accepted is 9999999999999.99; see strict_input).
    assert_eq!(d.body["amount"], "9876543210123.57");
    let r = t
        .admin
        .post("/api/v1/deals", json!({"title": "X", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "amount": 10.5}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["amount"]);
    let r = t
        .admin
        .post("/api/v1/deals", json!({"title": "X", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "amount": "0.001"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["amount"]);
}

async fn pipelines_are_configured_per_tenant(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t.admin.post("/api/v1/pipelines", json!({"name": "Пусто", "stages": [{"name": "Конец", "kind": "won", "win_probability": 100}]})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["stages"]);
    let r = t
        .admin
        .post("/api/v1/pipelines", json!({"name": "P", "field_schema": [{"key": "Bad Key", "label": "", "type": "enum"}], "stages": [{"name": "A", "kind": "open", "win_probability": 101}]}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["field_schema[0].key", "field_schema[0].label", "field_schema[0].options", "stages[0].win_probability"]);
    // A stage inserted at position 2 shifts the rest.
    let pid = t.pipeline_id();
    let s = t.admin.post(&format!("/api/v1/pipelines/{pid}/stages"), json!({"name": "Скоринг", "kind": "open", "win_probability": 15, "position": 2})).await.created();
    assert_eq!(s.body["position"], 2);
    let p = t.admin.get(&format!("/api/v1/pipelines/{pid}")).await.ok();
    let names: Vec<&str> = p.body["stages"].as_array().unwrap().iter().take(3).map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Горячий лид", "Скоринг", "Переговоры"]);
    let renamed = t.admin.patch(&format!("/api/v1/pipelines/{pid}"), json!({"name": "Факторинг 2026"})).await.ok();
    assert_eq!(renamed.body["field_schema"].as_array().unwrap().len(), 9, "schema kept");
}
