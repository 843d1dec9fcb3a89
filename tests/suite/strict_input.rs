//! Strict input at every edge (issue 10, defects 1, 7, 8, 9 and 11): amounts out of
//! range, ids differing only by whitespace, U+0000 in text, lenient money and dates,
//! download names, list sizes and far-off report days — from the API and from an
//! accounting-sync plugin — are refused naming the field, the same on both engines, and
//! nothing is half-written.

use axum::http::StatusCode;
use chrono::Days;
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    an_amount_out_of_range_is_a_422_naming_the_field_and_nothing_is_written,
    a_synced_amount_out_of_range_is_a_rejected_record_naming_the_field,
    ids_differing_only_by_whitespace_are_one_record_and_the_sync_stays_idempotent,
    a_nul_character_in_a_body_or_parameter_is_a_422_naming_the_field,
    a_nul_character_in_a_synced_record_rejects_that_record_only,
    money_and_dates_are_read_strictly_in_bodies_and_parameters,
    money_and_dates_are_read_strictly_in_synced_records,
    a_download_names_the_file_in_utf8_and_in_safe_ascii,
    lists_in_bodies_are_capped_naming_the_field_and_the_limit,
    report_days_are_bounded_with_a_422_saying_what_is_allowed,
);

const HUGE: &str = "1000000000000000000000000000";
const ALFA_INN: &str = "7719402047";
const BETA_INN: &str = "500100732259";

fn today() -> chrono::NaiveDate {
    crm_host::tenancy::access::today_in("Europe/Moscow")
}

fn days_ago(n: u64) -> String {
    (today() - Days::new(n)).to_string()
}

/// The first problem's message for `field`.
fn message_for(body: &Value, field: &str) -> String {
    body["errors"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error for {field}: {body}"))
        .to_string()
}

async fn deal_count(t: &TestTenant) -> usize {
    t.admin.get("/api/v1/deals").await.ok().body["items"].as_array().unwrap().len()
}

/// Enables the `scripted` test plugin as the tenant's accounting module, returning
/// exactly `records` (see plugins/test-guests/scripted).
async fn enable_scripted(t: &TestTenant, records: &Value) {
    let uploaded = t.admin.upload_plugin(&crm_tests::guest_manifest("test-guests/scripted"), &crm_tests::guest("scripted")).await;
    assert!(uploaded.status == StatusCode::CREATED || uploaded.status == StatusCode::CONFLICT, "{}", uploaded.text());
    t.admin.put("/api/v1/modules/scripted", json!({"version": "0.1.0", "settings": {"records": records.to_string()}})).await.ok();
}

/// Runs a full sync and returns its finished job.
async fn sync(app: &TestApp, t: &TestTenant) -> Value {
    let job = t.admin.post("/api/v1/receivables/sync", json!({"full": true})).await.expect(StatusCode::ACCEPTED).body;
    app.run_jobs().await;
    t.admin.get(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap())).await.ok().body
}

/// The reasons of the job's rejections, as `<external id>: <reason>`.
fn rejections(job: &Value) -> Vec<String> {
    job["progress"]["rejections"].as_array().unwrap().iter().map(|r| format!("{}: {}", r["external_id"].as_str().unwrap_or("-"), r["reason"].as_str().unwrap_or_default())).collect()
}

fn rejection_of(job: &Value, id: &str) -> String {
    let found: Vec<String> = rejections(job).into_iter().filter(|r| r.starts_with(&format!("{id}: "))).collect();
    assert_eq!(found.len(), 1, "one rejection of {id}: {job}");
    found[0].clone()
}

async fn card_by_inn(t: &TestTenant, inn: &str) -> Vec<Value> {
    t.admin.get(&format!("/api/v1/counterparties?inn={inn}")).await.ok().body["items"].as_array().unwrap().clone()
}

async fn debt_of(t: &TestTenant, inn: &str) -> Value {
    let cards = card_by_inn(t, inn).await;
    assert_eq!(cards.len(), 1, "one card with ИНН {inn}: {cards:?}");
    let id = cards[0]["id"].as_str().unwrap();
    t.admin.get(&format!("/api/v1/counterparties/{id}")).await.ok().body["debt"].clone()
}

fn sale(id: &str, client: &str, amount: &str) -> Value {
    json!({"external_id": id, "number": format!("№ {}", id.trim()), "issued_on": days_ago(10), "counterparty_id": client, "amount": amount})
}

// ---------------------------------------------------------------------------------
// Defect 1: money arithmetic is checked.

async fn an_amount_out_of_range_is_a_422_naming_the_field_and_nothing_is_written(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let deal = |amount: &str| json!({"title": "Сделка", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "amount": amount});
    for amount in [HUGE, "-1000000000000000000000000000", "10000000000000.00", "79228162514264337593543950335"] {
        let r = t.admin.post("/api/v1/deals", deal(amount)).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["amount"], "{amount}");
        assert!(message_for(&r.body, "amount").contains("9999999999999.99"), "the message says what fits: {}", r.text());
    }
    assert_eq!(deal_count(&t).await, 0, "nothing written");
    // The largest amount is taken, exactly; a PATCH past it is refused and changes nothing.
    let d = t.admin.post("/api/v1/deals", deal("9999999999999.99")).await.created().body;
    assert_eq!(d["amount"], "9999999999999.99");
    let id = d["id"].as_str().unwrap();
    let r = t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"amount": HUGE})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["amount"]);
    assert_eq!(t.admin.get(&format!("/api/v1/deals/{id}")).await.ok().body["amount"], "9999999999999.99");
    // The same in a typed deal parameter.
    let r = t.admin.post("/api/v1/deals", json!({"title": "Сделка", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "params": {"limit": HUGE}})).await;
    assert_eq!(r.expect(StatusCode::UNPROCESSABLE_ENTITY).error_fields(), ["params.limit"]);
}

async fn a_synced_amount_out_of_range_is_a_rejected_record_naming_the_field(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let records = json!({
        "counterparty": [{"external_id": "C1", "name": "ООО \"Альфа\"", "inn": ALFA_INN, "kpp": "773101001"}],
        "sales_document": [sale("D1", "C1", HUGE), sale("D2", "C1", "100.00"), sale("D3", "C1", "-0.01")],
        "payment": [{"external_id": "P1", "number": "ПП-1", "paid_on": days_ago(5), "counterparty_id": "C1", "amount": "10.00",
                     "allocations": [{"document_id": "D2", "amount": HUGE}]}],
    });
    enable_scripted(&t, &records).await;
    let job = sync(&app, &t).await;
    assert_eq!(job["status"], "succeeded", "a huge amount does not fail the job: {job}");
    let p = &job["progress"];
    assert_eq!(p["sales_documents"]["created"], 1, "{p}");
    assert_eq!(p["sales_documents"]["rejected"], 2, "{p}");
    assert_eq!(p["payments"]["rejected"], 1, "{p}");
    let d1 = rejection_of(&job, "D1");
    assert!(d1.contains("amount") && d1.contains("out of range"), "{d1}");
    assert!(rejection_of(&job, "P1").contains("allocations[0].amount"), "{job}");
    // The good document is there, and only it.
    assert_eq!(debt_of(&t, ALFA_INN).await["total"], "100.00");
}

// ---------------------------------------------------------------------------------
// Defect 7: ids are normalised once, before every check.

async fn ids_differing_only_by_whitespace_are_one_record_and_the_sync_stays_idempotent(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let first = json!({
        "counterparty": [
            {"external_id": "X1", "name": "ООО \"Альфа\"", "inn": ALFA_INN, "kpp": "773101001"},
            {"external_id": " X1", "name": "ООО \"Альфа-дубль\"", "inn": BETA_INN},
        ],
        "sales_document": [sale("D1", "X1", "100.00"), sale("D1 ", " X1 ", "999.00"), sale("\tD2", " X1", "50.00")],
        "payment": [{"external_id": "P1", "number": "ПП-1", "paid_on": days_ago(5), "counterparty_id": "X1 ", "amount": "30.00",
                     "allocations": [{"document_id": " D1", "amount": "30.00"}]}],
    });
    enable_scripted(&t, &first).await;
    let job = sync(&app, &t).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let p = &job["progress"];
    assert_eq!(p["counterparties"]["created"], 1, "{p}");
    assert_eq!(p["counterparties"]["rejected"], 1, "{p}");
    assert!(rejection_of(&job, "X1").contains("came twice"), "{job}");
    assert_eq!(p["sales_documents"]["created"], 2, "{p}");
    assert_eq!(p["sales_documents"]["rejected"], 1, "{p}");
    assert!(rejection_of(&job, "D1").contains("came twice"), "{job}");
    assert_eq!(p["payments"]["created"], 1, "{p}");
    // One card, no orphan; the first D1 was taken, its amount not overwritten.
    assert!(card_by_inn(&t, BETA_INN).await.is_empty(), "no orphan card");
    let debt = debt_of(&t, ALFA_INN).await;
    assert_eq!(debt["total"], "120.00", "100 + 50 − 30: {debt}");
    assert_eq!(debt["open_documents"], 2);

    // Again, the ids spelt with other spaces: nothing new, nothing changed.
    let again = json!({
        "counterparty": [{"external_id": "  X1  ", "name": "ООО \"Альфа\"", "inn": ALFA_INN, "kpp": "773101001"}],
        "sales_document": [sale(" D1", "X1", "100.00"), sale("D2 ", "X1", "50.00")],
        "payment": [{"external_id": " P1 ", "number": "ПП-1", "paid_on": days_ago(5), "counterparty_id": " X1", "amount": "30.00",
                     "allocations": [{"document_id": "D1", "amount": "30.00"}]}],
    });
    enable_scripted(&t, &again).await;
    let job = sync(&app, &t).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let p = &job["progress"];
    for kind in ["counterparties", "sales_documents", "payments"] {
        assert_eq!(p[kind]["created"], 0, "{kind}: {p}");
        assert_eq!(p[kind]["updated"], 0, "{kind}: {p}");
    }
    assert_eq!(p["counterparties"]["skipped"], 1, "{p}");
    assert_eq!(p["sales_documents"]["skipped"], 2, "{p}");
    assert_eq!(p["payments"]["skipped"], 1, "{p}");
    assert_eq!(p["rejected_total"], 0, "{p}");
    assert_eq!(debt_of(&t, ALFA_INN).await["total"], "120.00");
}

// ---------------------------------------------------------------------------------
// Defect 8: U+0000 is refused at the edge, the same on both engines.

async fn a_nul_character_in_a_body_or_parameter_is_a_422_naming_the_field(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let id = cp["id"].as_str().unwrap();
    let nul = |status: StatusCode, r: crm_tests::Resp, field: &str| {
        let r = r.expect(status);
        assert_eq!(r.error_fields(), [field], "{}", r.text());
        assert!(message_for(&r.body, field).contains("U+0000"), "{}", r.text());
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    nul(unprocessable, t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "inn": crm_tests::next_inn(), "full_name": "ООО \u{0}Ноль"})).await, "full_name");
    nul(unprocessable, t.admin.patch(&format!("/api/v1/counterparties/{id}"), json!({"short_name": "\u{0}"})).await, "short_name");
    nul(unprocessable, t.admin.post("/api/v1/contacts", json!({"counterparty_id": id, "full_name": "Иван", "phones": ["+7 911", "+7\u{0}"]})).await, "phones[1]");
    nul(unprocessable, t.admin.post("/api/v1/tokens", json!({"user_id": t.admin_id, "name": "ci\u{0}"})).await, "name");
    nul(unprocessable, t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "x", "\u{0}": 1})).await, "\\u0000");
    // Query and path parameters.
    nul(unprocessable, t.admin.get("/api/v1/counterparties?q=%00").await, "q");
    nul(unprocessable, t.admin.get("/api/v1/contacts?q=a%00b").await, "q");
    nul(unprocessable, t.admin.get("/api/v1/receivables/aging/export?segment=%00").await, "segment");
    nul(unprocessable, t.admin.get("/api/v1/modules/a%00b").await, "id");
    // A document's name in a multipart upload.
    let up = t.admin.upload("a.pdf", b"%PDF-1.4", &[("kind", "contract".into()), ("counterparty_id", id.into()), ("name", "до\u{0}говор.pdf".into())]).await;
    nul(unprocessable, up, "name");
    // Nothing was written: the card is unchanged, no other card, contact or document.
    assert_eq!(t.admin.get(&format!("/api/v1/counterparties/{id}")).await.ok().body["short_name"], cp["short_name"]);
    assert_eq!(t.admin.get("/api/v1/counterparties").await.ok().body["items"].as_array().unwrap().len(), 1);
    assert!(t.admin.get("/api/v1/contacts").await.ok().body["items"].as_array().unwrap().is_empty());
    assert!(t.admin.get(&format!("/api/v1/documents?counterparty_id={id}")).await.ok().body["items"].as_array().unwrap().is_empty());
    // Other control characters are text like any other.
    t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "inn": crm_tests::next_inn(), "full_name": "ООО\tТаб"})).await.created();
}

async fn a_nul_character_in_a_synced_record_rejects_that_record_only(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let records = json!({
        "counterparty": [
            {"external_id": "C0", "name": "ООО \"Ноль\u{0}\"", "inn": "7707083893"},
            {"external_id": "C1", "name": "ООО \"Альфа\"", "inn": ALFA_INN, "kpp": "773101001"},
            {"external_id": "C\u{0}2", "name": "ООО \"Бета\""},
        ],
        "sales_document": [sale("D1", "C1", "100.00"), {"external_id": "D2", "number": "№\u{0}2", "issued_on": days_ago(3), "counterparty_id": "C1", "amount": "5.00"},
                           sale("D3", "C\u{0}1", "7.00")],
    });
    enable_scripted(&t, &records).await;
    let job = sync(&app, &t).await;
    assert_eq!(job["status"], "succeeded", "the page is not lost: {job}");
    let p = &job["progress"];
    assert_eq!(p["counterparties"]["created"], 1, "{p}");
    assert_eq!(p["counterparties"]["rejected"], 2, "{p}");
    assert_eq!(p["sales_documents"]["created"], 1, "{p}");
    assert_eq!(p["sales_documents"]["rejected"], 2, "{p}");
    let c0 = rejection_of(&job, "C0");
    assert!(c0.contains("name") && c0.contains("U+0000"), "{c0}");
    assert!(rejection_of(&job, "C\u{FFFD}2").contains("external-id"), "the id is shown without the NUL: {job}");
    assert!(rejection_of(&job, "D2").contains("number"), "{job}");
    assert!(rejection_of(&job, "D3").contains("counterparty-id"), "{job}");
    assert!(card_by_inn(&t, "7707083893").await.is_empty());
    assert_eq!(debt_of(&t, ALFA_INN).await["total"], "100.00");
}

// ---------------------------------------------------------------------------------
// Defect 9: money is `-?\d+(\.\d{1,2})?`, dates are `YYYY-MM-DD`, nothing else.

async fn money_and_dates_are_read_strictly_in_bodies_and_parameters(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let deal = |extra: Value| {
        let mut d = json!({"title": "Сделка", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]});
        d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        d
    };
    for amount in ["1_000", "1 000", " 1000", "+1000", "1e3", "1,5", "1.", ".5", "0x10", "1.005", "1.500", ""] {
        let r = t.admin.post("/api/v1/deals", deal(json!({"amount": amount}))).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["amount"], "{amount:?}: {}", r.text());
    }
    assert!(message_for(&t.admin.post("/api/v1/deals", deal(json!({"amount": "1_000"}))).await.body, "amount").contains("1500000.00"));
    for date in ["2025-2-3", "+2025-01-01", "2025-02-03T00:00:00", " 2025-02-03", "20250203", "2025-02-30"] {
        let r = t.admin.post("/api/v1/deals", deal(json!({"expected_close_date": date}))).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["expected_close_date"], "{date:?}: {}", r.text());
        assert!(message_for(&r.body, "expected_close_date").contains(date), "the message shows the value: {}", r.text());
    }
    let r = t.admin.post("/api/v1/deals", deal(json!({"params": {"limit": "1_000"}}))).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["params.limit"], "{}", r.text());
    // A typed date parameter of a pipeline.
    let dated = t
        .admin
        .post("/api/v1/pipelines", json!({"name": "С датой", "stages": [{"name": "Один", "kind": "open", "win_probability": 10}],
                                          "field_schema": [{"key": "signed_on", "label": "Дата", "type": "date"}]}))
        .await
        .created()
        .body;
    for date in ["2025-2-3", "+2025-01-01"] {
        let r = t.admin.post("/api/v1/deals", json!({"title": "Сделка", "pipeline_id": dated["id"], "counterparty_id": cp["id"], "params": {"signed_on": date}})).await;
        assert_eq!(r.expect(StatusCode::UNPROCESSABLE_ENTITY).error_fields(), ["params.signed_on"], "{date}");
    }
    assert_eq!(deal_count(&t).await, 0, "nothing written");
    let d = t.admin.post("/api/v1/deals", deal(json!({"amount": "-0", "expected_close_date": "2025-02-03", "params": {"limit": "007.5"}}))).await.created().body;
    assert_eq!((d["amount"].as_str(), d["expected_close_date"].as_str(), d["params"]["limit"].as_str()), (Some("0.00"), Some("2025-02-03"), Some("7.50")));
    // Query parameters.
    let id = cp["id"].as_str().unwrap();
    for q in ["2025-2-3", "%2B2025-01-01"] {
        let r = t.admin.get(&format!("/api/v1/counterparties/{id}/penalties?as_of={q}")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["as_of"], "{}", r.text());
    }
    let r = t.admin.get("/api/v1/receivables/aging?as_of=2025-1-01").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["as_of"]);
}

async fn money_and_dates_are_read_strictly_in_synced_records(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let on = |id: &str, issued: &str, amount: &str| json!({"external_id": id, "number": id, "issued_on": issued, "counterparty_id": "C1", "amount": amount});
    let records = json!({
        "counterparty": [{"external_id": "C1", "name": "ООО \"Альфа\"", "inn": ALFA_INN, "kpp": "773101001"}],
        "contract": [{"external_id": "K1", "counterparty_id": "C1", "number": "Д-1", "signed_on": "2024-1-10", "deferral_days": 30}],
        "sales_document": [
            on("U", &days_ago(10), "1_000"), on("S", &days_ago(10), " 1000"), on("E", &days_ago(10), "1e3"), on("F", &days_ago(10), "1.500"),
            on("M", "2025-2-3", "10.00"), on("P", "+2025-01-01", "10.00"), on("T", &format!("{}T10:00:00", days_ago(10)), "10.00"),
            on("OK", &days_ago(10), "1000"),
        ],
    });
    enable_scripted(&t, &records).await;
    let job = sync(&app, &t).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let p = &job["progress"];
    assert_eq!(p["contracts"]["rejected"], 1, "{p}");
    assert!(rejection_of(&job, "K1").contains("signed-on"), "{job}");
    assert_eq!(p["sales_documents"]["created"], 1, "{p}");
    assert_eq!(p["sales_documents"]["rejected"], 7, "{p}");
    for id in ["U", "S", "E", "F"] {
        assert!(rejection_of(&job, id).contains("amount"), "{id}: {job}");
    }
    for id in ["M", "P", "T"] {
        assert!(rejection_of(&job, id).contains("issued-on"), "{id}: {job}");
    }
    assert_eq!(debt_of(&t, ALFA_INN).await["total"], "1000.00");
}

// ---------------------------------------------------------------------------------
// Defect 11: download names, list sizes, report days.

async fn a_download_names_the_file_in_utf8_and_in_safe_ascii(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let name = "Счёт \"№1\" 100%.pdf";
    let doc = t.admin.upload("x.pdf", b"%PDF-1.4", &[("kind", "invoice".into()), ("counterparty_id", cp["id"].as_str().unwrap().into()), ("name", name.into())]).await.created().body;
    assert_eq!(doc["file_name"], name);
    let dl = t.admin.get(&format!("/api/v1/documents/{}/content", doc["id"].as_str().unwrap())).await.ok();
    let cd = dl.headers["content-disposition"].to_str().unwrap();
    assert_eq!(cd, "attachment; filename=\"____ __1_ 100_.pdf\"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%22%E2%84%961%22%20100%25.pdf");
    // The server's own file names go the same way.
    let export = t.admin.get("/api/v1/receivables/aging/export?format=csv").await.ok();
    let cd = export.headers["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment; filename=\"debitorka-") && cd.contains("filename*=UTF-8''debitorka-"), "{cd}");
}

async fn lists_in_bodies_are_capped_naming_the_field_and_the_limit(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let card = |tags: Vec<String>| json!({"kind": "legal_entity", "inn": crm_tests::next_inn(), "full_name": "ООО Теги", "tags": tags});
    for n in [1001, 200_000] {
        let tags: Vec<String> = (0..n).map(|i| format!("{}", i % 10)).collect();
        let r = t.admin.post("/api/v1/counterparties", card(tags)).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["tags"], "{n}");
        let m = message_for(&r.body, "tags");
        assert!(m.contains(&n.to_string()) && m.contains("1000"), "names the count and the limit: {m}");
    }
    // At the limit the list is read (and its repeats folded, as ever).
    let cp = t.admin.post("/api/v1/counterparties", card((0..1000).map(|i| format!("t{}", i % 10)).collect())).await.created().body;
    assert_eq!(cp["tags"].as_array().unwrap().len(), 10);
    let r = t.admin.post("/api/v1/contacts", json!({"counterparty_id": cp["id"], "full_name": "Иван", "emails": vec!["a@example.test"; 1001]})).await;
    assert_eq!(r.expect(StatusCode::UNPROCESSABLE_ENTITY).error_fields(), ["emails"]);
}

async fn report_days_are_bounded_with_a_422_saying_what_is_allowed(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let id = cp["id"].as_str().unwrap();
    // The world at the end of a day that has not ended is not known (issue 11): the last
    // day allowed is today.
    let latest = today().to_string();
    for path in [
        format!("/api/v1/counterparties/{id}/penalties?as_of=9999-12-31"),
        format!("/api/v1/counterparties/{id}/penalties?as_of=1900-01-01"),
        format!("/api/v1/counterparties/{id}/receivables?as_of=9999-12-31"),
        format!("/api/v1/counterparties/{id}/rating?as_of=9999-12-31"),
        "/api/v1/receivables/aging?as_of=9999-12-31".to_string(),
        "/api/v1/receivables/aging/export?as_of=9999-12-31".to_string(),
    ] {
        let r = t.admin.get(&path).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["as_of"], "{path}");
        let m = message_for(&r.body, "as_of");
        assert!(m.contains(&latest) && m.contains("1990-01-01"), "says what is allowed: {m}");
    }
    let tomorrow = (today() + Days::new(1)).to_string();
    t.admin.get(&format!("/api/v1/counterparties/{id}/penalties?as_of={tomorrow}")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    t.admin.get(&format!("/api/v1/counterparties/{id}/penalties?as_of={latest}")).await.ok();
}
