//! Sales analytics (issue 16, part 8): the forecast weighted by stage probability by
//! month and by manager, the funnel with conversion and time in stage, deals stuck past
//! a stage's norm, and monthly plans with their fulfilment.

use axum::http::StatusCode;
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    the_forecast_weighs_open_deals_by_their_stage_by_month_and_by_manager,
    the_funnel_counts_who_reached_each_stage_and_who_went_on_and_flags_stuck_deals,
    plans_are_set_by_heads_and_fulfilled_by_deals_won_in_the_month,
);

/// A pipeline of its own: Лид (10 %) → Переговоры (40 %) → КП (70 %) → Выиграна | Проиграна.
async fn pipeline(t: &TestTenant) -> Value {
    let stage = |name: &str, kind: &str, p: i32| json!({"name": name, "kind": kind, "win_probability": p});
    t.admin
        .post(
            "/api/v1/pipelines",
            json!({"name": "Продажи", "stages": [stage("Лид", "open", 10), stage("Переговоры", "open", 40), stage("КП", "open", 70), stage("Выиграна", "won", 100), stage("Проиграна", "lost", 0)]}),
        )
        .await
        .created()
        .body
}

fn stage(p: &Value, i: usize) -> String {
    p["stages"][i]["id"].as_str().unwrap().to_string()
}

async fn deal(t: &TestTenant, p: &Value, cp: &Value, stage_id: &str, amount: &str, close: Option<&str>, who: Option<uuid::Uuid>) -> String {
    let mut body = json!({"title": "Сделка", "pipeline_id": p["id"], "stage_id": stage_id, "counterparty_id": cp["id"], "amount": amount});
    if let Some(d) = close {
        body["expected_close_date"] = json!(d);
    }
    if let Some(u) = who {
        body["responsible_id"] = json!(u);
    }
    t.admin.post("/api/v1/deals", body).await.created().body["id"].as_str().unwrap().to_string()
}

async fn the_forecast_weighs_open_deals_by_their_stage_by_month_and_by_manager(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (_, manager) = t.user("manager").await;
    let p = pipeline(&t).await;
    let cp = t.counterparty("ООО Клиент").await;
    deal(&t, &p, &cp, &stage(&p, 0), "1000000.00", Some("2026-12-15"), None).await;
    deal(&t, &p, &cp, &stage(&p, 2), "333333.33", Some("2026-12-20"), Some(manager)).await;
    deal(&t, &p, &cp, &stage(&p, 1), "500000.00", Some("2027-01-10"), Some(manager)).await;
    deal(&t, &p, &cp, &stage(&p, 1), "100.01", None, None).await;
    // Won and lost deals are not forecast.
    deal(&t, &p, &cp, &stage(&p, 3), "9999999.00", Some("2026-12-01"), None).await;
    deal(&t, &p, &cp, &stage(&p, 4), "8888888.00", Some("2026-12-01"), None).await;
    let f = t.admin.get(&format!("/api/v1/pipelines/{}/forecast", p["id"].as_str().unwrap())).await.ok().body;
    let months: Vec<(Value, Value, Value, Value)> =
        f["by_month"].as_array().unwrap().iter().map(|m| (m["month"].clone(), m["deals"].clone(), m["amount"].clone(), m["weighted"].clone())).collect();
    assert_eq!(
        months,
        vec![
            // 1 000 000,00 × 10 % + 333 333,33 × 70 % = 100 000,00 + 233 333,33 (233 333,331 rounded)
            (json!("2026-12"), json!(2), json!("1333333.33"), json!("333333.33")),
            (json!("2027-01"), json!(1), json!("500000.00"), json!("200000.00")),
            // 100,01 × 40 % = 40,004 → 40,00
            (Value::Null, json!(1), json!("100.01"), json!("40.00")),
        ],
        "{f}"
    );
    assert_eq!((f["total"]["deals"].clone(), f["total"]["amount"].clone(), f["total"]["weighted"].clone()), (json!(4), json!("1833433.34"), json!("533373.33")));
    let by_manager: Vec<(Value, Value)> = f["by_manager"].as_array().unwrap().iter().map(|m| (m["user_id"].clone(), m["weighted"].clone())).collect();
    assert_eq!(by_manager, vec![(json!(manager), json!("433333.33")), (json!(t.admin_id), json!("100040.00"))]);
    // The page shows the same figures, the Russian way.
    let email = t.admin_email().await;
    let mut pages = t.signed_in(&app.router, t.admin_id, &email).await;
    let page = pages.get(&format!("/deals/analytics?pipeline={}", p["id"].as_str().unwrap())).await.expect(StatusCode::OK);
    for needle in ["Аналитика продаж: Продажи", "1\u{a0}333\u{a0}333,33\u{a0}₽", "533\u{a0}373,33\u{a0}₽", "без даты"] {
        assert!(page.body.contains(needle), "{needle:?} not on the page");
    }
    // Another tenant's pipeline is not found.
    let other = app.tenant("ООО Чужой").await;
    other.admin.get(&format!("/api/v1/pipelines/{}/forecast", p["id"].as_str().unwrap())).await.expect(StatusCode::NOT_FOUND);
}

async fn the_funnel_counts_who_reached_each_stage_and_who_went_on_and_flags_stuck_deals(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let p = pipeline(&t).await;
    let pid = p["id"].as_str().unwrap();
    let cp = t.counterparty("ООО Клиент").await;
    let mv = |id: String, s: String| {
        let admin = &t.admin;
        async move { admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": s})).await.ok() }
    };
    // Four deals start at Лид: one stays, one reaches Переговоры, one reaches КП and is won,
    // one is lost from Переговоры. A fifth starts at КП (it never was a lead).
    let a = deal(&t, &p, &cp, &stage(&p, 0), "1.00", None, None).await;
    let b = deal(&t, &p, &cp, &stage(&p, 0), "1.00", None, None).await;
    let c = deal(&t, &p, &cp, &stage(&p, 0), "1.00", None, None).await;
    let d = deal(&t, &p, &cp, &stage(&p, 0), "1.00", None, None).await;
    deal(&t, &p, &cp, &stage(&p, 2), "1.00", None, None).await;
    mv(b.clone(), stage(&p, 1)).await;
    mv(c.clone(), stage(&p, 1)).await;
    mv(c.clone(), stage(&p, 2)).await;
    mv(c.clone(), stage(&p, 3)).await;
    mv(d.clone(), stage(&p, 1)).await;
    mv(d.clone(), stage(&p, 4)).await;
    let _ = a;
    let f = t.admin.get(&format!("/api/v1/pipelines/{pid}/funnel")).await.ok().body;
    let row = |i: usize| (f["stages"][i]["reached"].clone(), f["stages"][i]["converted"].clone(), f["stages"][i]["now"].clone());
    assert_eq!(row(0), (json!(4), json!("0.75"), json!(1)), "{f}");
    assert_eq!(row(1), (json!(3), json!("0.3333"), json!(1)));
    assert_eq!(row(2), (json!(2), json!("0.5"), json!(1)));
    assert_eq!(row(3), (json!(1), Value::Null, json!(1)));
    assert_eq!(row(4), (json!(1), Value::Null, json!(1)));
    assert!(f["stages"][0]["median_days"].is_string(), "{f}");
    assert!(f["stuck"].as_array().unwrap().is_empty());

    // A norm of 1 day at Лид: the lead created "3 days ago" is stuck. Only heads set norms.
    let (manager, _) = t.user("manager").await;
    let norms = json!([{"stage_id": stage(&p, 0), "norm_days": 1}]);
    manager.put(&format!("/api/v1/pipelines/{pid}/stage-norms"), norms.clone()).await.expect(StatusCode::FORBIDDEN);
    let bad = t.admin.put(&format!("/api/v1/pipelines/{pid}/stage-norms"), json!([{"stage_id": stage(&p, 0), "norm_days": 0}])).await;
    assert_eq!(bad.expect(StatusCode::UNPROCESSABLE_ENTITY).error_fields(), vec!["[0].norm_days"]);
    crm_tests::backdate_deal_stage(&app, &a, 3).await;
    let f = t.admin.put(&format!("/api/v1/pipelines/{pid}/stage-norms"), norms).await.ok().body;
    assert_eq!(f["stages"][0]["norm_days"], 1);
    assert_eq!(f["stages"][0]["stuck"], 1);
    assert_eq!(f["stuck"][0]["deal_id"], a.as_str());
    assert_eq!(f["stuck"][0]["days"], 3);
}

async fn plans_are_set_by_heads_and_fulfilled_by_deals_won_in_the_month(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (manager_client, manager) = t.user("manager").await;
    let p = pipeline(&t).await;
    let cp = t.counterparty("ООО Клиент").await;
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    manager_client.put(&format!("/api/v1/sales-plans/{manager}/{month}"), json!({"amount": "1000000.00"})).await.expect(StatusCode::FORBIDDEN);
    t.admin.put(&format!("/api/v1/sales-plans/{manager}/13-2026"), json!({"amount": "1.00"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    t.admin.put(&format!("/api/v1/sales-plans/{manager}/{month}"), json!({"amount": "1000000.00"})).await.ok();
    // Won now: counts; open: does not.
    let won = deal(&t, &p, &cp, &stage(&p, 2), "250000.00", None, Some(manager)).await;
    t.admin.post(&format!("/api/v1/deals/{won}/stage"), json!({"stage_id": stage(&p, 3)})).await.ok();
    deal(&t, &p, &cp, &stage(&p, 2), "500000.00", None, Some(manager)).await;
    let plans = t.admin.get(&format!("/api/v1/sales-plans?month={month}")).await.ok().body;
    let m = plans.as_array().unwrap().iter().find(|r| r["user_id"] == json!(manager)).expect("the manager's plan").clone();
    assert_eq!((m["plan"].clone(), m["won"].clone(), m["won_deals"].clone(), m["fulfilment"].clone()), (json!("1000000.00"), json!("250000.00"), json!(1), json!("0.25")), "{plans}");
    // Another month has no plan and nothing won.
    let empty = t.admin.get("/api/v1/sales-plans?month=2020-01").await.ok().body;
    assert!(empty.as_array().unwrap().is_empty(), "{empty}");
}
