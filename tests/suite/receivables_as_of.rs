//! Penalties a lawyer can sign and reports as of any past day (issue 11, items 1, 2, 5):
//! a document paid late in full keeps its penalty and can be claimed for it alone; every
//! report and document that takes `as_of` shows the world at the end of that day; a
//! key-rate calculation past the day the table is known current through says so.

use axum::http::StatusCode;
use chrono::NaiveDate;
use crm_fake_1c::{Dataset, EntitySet, FakeOneC, Generated, Options};
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

use crate::receivables::{ORG, RUB, contract, cp, fake, key, payment, rub, sale, sync};

on_both_engines!(
    a_document_paid_late_in_full_keeps_its_penalty_and_can_be_claimed_for_it,
    reports_as_of_a_past_day_show_the_world_as_it_was_at_the_end_of_that_day,
    a_report_as_of_a_day_in_the_future_is_refused,
    a_key_rate_calculation_past_the_confirmed_day_carries_a_warning,
    owed_to_us_as_of_any_past_day_agrees_with_each_clients_drill_down_on_that_day,
);

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// The example: 1 000 000.00 due 10.03.2025 (a Monday; contract with no
/// deferral), 400 000.00 paid on 21.03.2025 and 600 000.00 on 10.04.2025; and a second
/// document issued on 15.01.2026, not paid.
fn paid_late() -> Dataset {
    Dataset::new()
        .with(EntitySet::Counterparties, [cp(1, "ООО \"Альфа\"", "7719402047", "773101001")])
        .with(EntitySet::Contracts, [contract(1, 1, "Д-1", Some(0))])
        .with(EntitySet::Sales, [sale(1, 1, Some(1), d(2025, 3, 10), 1_000_000.0), sale(2, 1, Some(1), d(2026, 1, 15), 200_000.0)])
        .with(EntitySet::Payments, [payment(1, 1, Some(1), d(2025, 3, 21), 400_000.0, None), payment(2, 1, Some(1), d(2025, 4, 10), 600_000.0, None)])
        .with(EntitySet::Currencies, [json!({"Ref_Key": RUB, "DeletionMark": false, "Code": "643", "Description": "руб."})])
}

/// A tenant synced from [`paid_late`], its client's id and its contract at 0.1 % a day, and
/// our legal entity.
async fn setup(app: &TestApp) -> (TestTenant, String) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = fake(paid_late()).await;
    t.enable_1c(&fake.base_url, &fake.host).await;
    let job = sync(app, &t, false).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let alfa = crate::receivables::card_by_inn(&t, "7719402047").await;
    let id = alfa["id"].as_str().unwrap().to_string();
    let contract = t.admin.get(&format!("/api/v1/contracts?counterparty_id={id}")).await.ok().body["items"][0].clone();
    t.admin.patch(&format!("/api/v1/contracts/{}", contract["id"].as_str().unwrap()), json!({"penalty_kind": "contractual", "penalty_rate": "0.1"})).await.ok();
    t.admin
        .post("/api/v1/legal-entities", json!({"full_name": "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ДИСТРИБЬЮТОР\"", "short_name": "ООО \"Дистрибьютор\"",
            "inn": "7707083893", "kpp": "773601001", "accounting_ref": ORG}))
        .await
        .created();
    (t, id)
}

/// The letter's text with no-break spaces shown as plain ones.
fn plain(html: String) -> String {
    html.replace('\u{a0}', " ")
}

fn periods(doc: &Value) -> Vec<(String, String, i64, String, String)> {
    doc["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (rub(&p["from"]), rub(&p["to"]), p["days"].as_i64().unwrap(), rub(&p["base"]), rub(&p["amount"])))
        .collect()
}

async fn a_document_paid_late_in_full_keeps_its_penalty_and_can_be_claimed_for_it(app: TestApp) {
    let (t, id) = setup(&app).await;
    // At 0.1 % a day: 11 days (11.03–21.03, the payment day still charged on the balance
    // before it) × 1 000.00 + 20 days (22.03–10.04) × 600.00 = 11 000.00 + 12 000.00.
    let p = t.admin.get(&format!("/api/v1/counterparties/{id}/penalties?as_of=2025-04-10")).await.ok().body;
    let docs = p["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{p}");
    assert_eq!(docs[0]["number"], "0000-000001");
    assert_eq!(
        periods(&docs[0]),
        vec![
            ("2025-03-11".into(), "2025-03-21".into(), 11, "1000000.00".into(), "11000.00".into()),
            ("2025-03-22".into(), "2025-04-10".into(), 20, "600000.00".into(), "12000.00".into()),
        ]
    );
    assert_eq!(rub(&p["penalty_total"]), "23000.00");
    assert_eq!(rub(&docs[0]["open"]), "0.00");
    assert_eq!(rub(&docs[0]["paid"]), "1000000.00");
    assert_eq!(docs[0]["paid_off_on"], "2025-04-10");
    assert_eq!(rub(&p["principal_total"]), "0.00");
    // Later on the penalty stays what it was when the debt was paid; the 2026 document is
    // not overdue as of that day and does not exist yet.
    let later = t.admin.get(&format!("/api/v1/counterparties/{id}/penalties?as_of=2025-12-31")).await.ok().body;
    assert_eq!(later["documents"].as_array().unwrap().len(), 1, "{later}");
    assert_eq!(rub(&later["penalty_total"]), "23000.00");
    assert_eq!(later["documents"][0]["days_overdue"], 31, "overdue until it was paid off");

    // The letter as of 25.03.2025: 600 000.00 was overdue then, and 11 000.00 + 4 × 600.00.
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter?format=html&as_of=2025-03-25")).await.ok().text());
    for needle in ["600 000,00", "13 400,00", "Документы, по которым имеется задолженность", "по день фактического исполнения"] {
        assert!(html.contains(needle), "the letter as of 25.03.2025 lacks {needle:?}:\n{html}");
    }
    // A letter for the penalty alone, the principal paid: possible, and it does not claim a
    // penalty "until actual payment" that has already happened.
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter?format=html&as_of=2025-12-31")).await.ok().text());
    for needle in ["Документы, оплаченные с просрочкой", "23 000,00", "задолженности по основному долгу нет", "сумму неустойки (пени)"] {
        assert!(html.contains(needle), "the penalties-only letter lacks {needle:?}:\n{html}");
    }
    assert!(!html.contains("фактического исполнения"), "{html}");
    assert!(!html.contains("основного долга,"), "nothing is claimed as principal: {html}");
}

async fn reports_as_of_a_past_day_show_the_world_as_it_was_at_the_end_of_that_day(app: TestApp) {
    let (t, id) = setup(&app).await;
    // 25.03.2025: the first document owed 600 000.00 (the 21.03 payment made, the 10.04 one
    // not yet), 15 days overdue; the 2026 document did not exist.
    let r = t.admin.get("/api/v1/receivables/aging?as_of=2025-03-25").await.ok().body;
    assert_eq!(r["as_of"], "2025-03-25");
    assert_eq!(rub(&r["totals"]["total"]), "600000.00", "{r}");
    assert_eq!(rub(&r["totals"]["overdue"]), "600000.00");
    assert_eq!(r["totals"]["open_documents"], 1);
    let row = &r["items"][0];
    assert_eq!(row["days_overdue"], 15);
    assert_eq!(rub(&row["buckets"][1]), "600000.00", "1–30 days: {row}");
    // The drill-down agrees, and shows the payments made by then only.
    let dd = t.admin.get(&format!("/api/v1/counterparties/{id}/receivables?as_of=2025-03-25&include_paid=true")).await.ok().body;
    let docs = dd["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "documents issued by then only: {dd}");
    assert_eq!(rub(&docs[0]["open_amount"]), "600000.00");
    assert_eq!(rub(&docs[0]["paid"]), "400000.00");
    assert_eq!(docs[0]["payments"].as_array().unwrap().len(), 1);
    assert_eq!(docs[0]["bucket"], "1_30");
    assert_eq!(dd["summary"]["total"], row["total"]);
    assert_eq!(dd["summary"]["days_overdue"], row["days_overdue"]);
    // The export is the same report.
    let csv = t.admin.get("/api/v1/receivables/aging/export?format=csv&as_of=2025-03-25").await.ok().text();
    assert!(csv.contains("600000,00"), "{csv}");
    // The letter as of that day lists only what existed then.
    let html = t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter?format=html&as_of=2025-03-25")).await.ok().text();
    assert!(html.contains("0000-000001") && !html.contains("0000-000002"), "{html}");
    // The rating then: 400 000.00 paid 11 days late, 600 000.00 owed 15 days.
    let rating = t.admin.get(&format!("/api/v1/counterparties/{id}/rating?as_of=2025-03-25")).await.ok().body;
    let pieces: Vec<(String, String, i64)> =
        rating["pieces"].as_array().unwrap().iter().map(|p| (rub(&p["kind"]), rub(&p["amount"]), p["delay_days"].as_i64().unwrap())).collect();
    assert_eq!(pieces, vec![("paid".into(), "400000.00".into(), 11), ("overdue".into(), "600000.00".into(), 15)]);

    // 15.04.2025: all paid, nothing owed; the report is empty.
    let r = t.admin.get("/api/v1/receivables/aging?as_of=2025-04-15").await.ok().body;
    assert_eq!(rub(&r["totals"]["total"]), "0.00", "{r}");
    assert_eq!(r["totals"]["counterparties"], 0);
    let dd = t.admin.get(&format!("/api/v1/counterparties/{id}/receivables?as_of=2025-04-15")).await.ok().body;
    assert!(dd["documents"].as_array().unwrap().is_empty(), "{dd}");
    t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter?format=html&as_of=2025-03-05")).await.expect(StatusCode::CONFLICT);
    // Today: only the 2026 document is owed.
    let r = t.admin.get("/api/v1/receivables/aging").await.ok().body;
    assert_eq!(rub(&r["totals"]["total"]), "200000.00", "{r}");
    let dd = t.admin.get(&format!("/api/v1/counterparties/{id}/receivables")).await.ok().body;
    assert_eq!(dd["documents"].as_array().unwrap().len(), 1);
    assert_eq!(dd["documents"][0]["external_id"], key(3, 2));
}

async fn a_report_as_of_a_day_in_the_future_is_refused(app: TestApp) {
    let (t, id) = setup(&app).await;
    let tomorrow = crate::receivables::today() + chrono::Days::new(1);
    for path in [
        "/api/v1/receivables/aging".to_string(),
        "/api/v1/receivables/aging/export".to_string(),
        format!("/api/v1/counterparties/{id}/receivables"),
        format!("/api/v1/counterparties/{id}/rating"),
        format!("/api/v1/counterparties/{id}/penalties"),
        format!("/api/v1/counterparties/{id}/claim-letter"),
    ] {
        let r = t.admin.get(&format!("{path}?as_of={tomorrow}")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), vec!["as_of"], "{path}");
        let detail = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(detail.contains("in the future") && detail.contains(&tomorrow.to_string()), "{path}: {detail}");
    }
}

async fn a_key_rate_calculation_past_the_confirmed_day_carries_a_warning(app: TestApp) {
    let (t, id) = setup(&app).await;
    // The 2026 document bears interest under art. 395 (no penalty terms on a second contract
    // would be simpler; set this contract back to the default).
    let contract = t.admin.get(&format!("/api/v1/contracts?counterparty_id={id}")).await.ok().body["items"][0].clone();
    t.admin.patch(&format!("/api/v1/contracts/{}", contract["id"].as_str().unwrap()), json!({"penalty_kind": "art_395", "penalty_rate": null})).await.ok();
    // The table as shipped is known current through 22.12.2025: a calculation to today
    // runs past it and says so, in the report and in the letter.
    let status = t.admin.get("/api/v1/key-rates/status").await.ok().body;
    assert_eq!(status["current_through"], "2025-12-22", "{status}");
    let p = t.admin.get(&format!("/api/v1/counterparties/{id}/penalties")).await.ok().body;
    assert_eq!(p["key_rates_current_through"], "2025-12-22");
    let warning = p["warnings"][0].as_str().unwrap_or_else(|| panic!("no warning: {p}"));
    assert!(warning.contains("22.12.2025") && warning.contains("менялась"), "{warning}");
    let html = t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter?format=html")).await.ok().text();
    assert!(html.contains("Внимание") && html.contains("22.12.2025"), "{html}");
    // A calculation that ends before that day carries none.
    let p = t.admin.get(&format!("/api/v1/counterparties/{id}/penalties?as_of=2025-04-10")).await.ok().body;
    assert_eq!(p["warnings"], json!([]), "{p}");
    // Rates are shown with two decimals, each with its source.
    let rates = t.admin.get("/api/v1/key-rates").await.ok().body;
    let last = rates.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last, json!({"effective_from": "2025-12-22", "rate": "16.00", "source": "operator"}));
    // Managers cannot confirm; an admin can, and the warning goes.
    let (manager, _) = t.user("manager").await;
    manager.post("/api/v1/key-rates/confirm", json!({})).await.expect(StatusCode::FORBIDDEN);
    let tomorrow = crate::receivables::today() + chrono::Days::new(1);
    let r = t.admin.post("/api/v1/key-rates/confirm", json!({"through": tomorrow})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["through"]);
    let s = t.admin.post("/api/v1/key-rates/confirm", json!({})).await.ok().body;
    assert_eq!(s["current_through"], json!(crate::receivables::today().to_string()));
    let p = t.admin.get(&format!("/api/v1/counterparties/{id}/penalties")).await.ok().body;
    assert_eq!(p["warnings"], json!([]), "{p}");
    assert!(!t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter?format=html")).await.ok().text().contains("Внимание"));
    // A tenant's own decision applies to it alone, shown with two decimals.
    let s = t.admin.post("/api/v1/key-rates", json!({"effective_from": "2026-02-16", "rate": "15,5"})).await.ok().body;
    assert_eq!(s["latest"], json!({"effective_from": "2026-02-16", "rate": "15.50", "source": "tenant"}));
    let bad = t.admin.post("/api/v1/key-rates", json!({"effective_from": "2026-02-16", "rate": "15.555"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["rate"]);
    let other = app.tenant("Другой").await;
    let theirs = other.admin.get("/api/v1/key-rates").await.ok().body;
    assert!(theirs.as_array().unwrap().iter().all(|r| r["source"] == "operator"), "{theirs}");
    assert_eq!(other.admin.get("/api/v1/key-rates/status").await.ok().body["current_through"], "2025-12-22");
}

/// "Owed to us" for a past day reads the stored day-by-day balances; the drill-down
/// allocates the client's documents: on a generated base, for days across its three years,
/// both say the same of every client, and the rows add up to the totals.
async fn owed_to_us_as_of_any_past_day_agrees_with_each_clients_drill_down_on_that_day(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = FakeOneC::start(std::sync::Arc::new(Generated::new(30, 600, 600, 5, crate::receivables::today())), Options::default()).await.unwrap();
    t.enable_1c(&fake.base_url, &fake.host).await;
    assert_eq!(sync(&app, &t, false).await["status"], "succeeded");
    let cents = |v: &Value| -> i64 {
        let (r, k) = v.as_str().unwrap().split_once('.').unwrap();
        r.parse::<i64>().unwrap() * 100 + k.parse::<i64>().unwrap()
    };
    let mut seen_debt = 0;
    for days in [0_u64, 7, 45, 200, 500, 900] {
        let day = crate::receivables::today() - chrono::Days::new(days);
        let r = t.admin.get(&format!("/api/v1/receivables/aging?as_of={day}&limit=500")).await.ok().body;
        let rows = r["items"].as_array().unwrap();
        assert_eq!(rows.len() as i64, r["totals"]["counterparties"].as_i64().unwrap());
        assert_eq!(rows.iter().map(|x| cents(&x["total"])).sum::<i64>(), cents(&r["totals"]["total"]), "{day}");
        for row in rows {
            let id = row["counterparty_id"].as_str().unwrap();
            let d = t.admin.get(&format!("/api/v1/counterparties/{id}/receivables?as_of={day}")).await.ok().body;
            let s = &d["summary"];
            for field in ["total", "overdue", "days_overdue", "open_documents"] {
                assert_eq!(s[field], row[field], "{day}, {field}: {row} vs {s}");
            }
            seen_debt += 1;
        }
        // A client with nothing owed that day has no row, and its drill-down says so.
        let all = t.admin.get("/api/v1/counterparties?limit=100").await.ok().body;
        for c in all["items"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            if rows.iter().all(|r| r["counterparty_id"] != json!(id)) {
                let d = t.admin.get(&format!("/api/v1/counterparties/{id}/receivables?as_of={day}")).await.ok().body;
                assert_eq!(d["summary"]["total"], "0.00", "{day}: {id} owes in its drill-down but has no row");
            }
        }
    }
    assert!(seen_debt > 30, "the base has debts on those days: {seen_debt}");
}
