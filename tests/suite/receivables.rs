//! Receivables from 1C end to end: the built-in `accounting-1c` plugin (a real compiled
//! component) syncing from a fake 1C base on loopback that serves the standard OData
//! interface; balances, the card, "Owed to us", the rating, penalties and the claim
//! letter; idempotency, rejection of bad records, resume after a kill, retries.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{Days, NaiveDate};
use crm_fake_1c::{Dataset, EntitySet, Failure, FakeOneC, Generated, Options};
use crm_host::receivables::calendar::due_date;
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    a_sync_fills_cards_documents_payments_and_balances_and_reports_every_rejection,
    running_the_sync_twice_changes_nothing,
    owed_to_us_buckets_filters_drill_down_and_exports,
    owed_to_us_sorts_pages_and_adds_up,
    penalties_follow_each_contract_and_the_claim_letter_prints_them,
    the_rating_explains_itself,
    a_deferral_edited_on_the_card_moves_due_dates_at_once,
    work_on_a_debt_shows_in_the_drill_down,
    a_killed_sync_resumes_where_it_stopped_without_duplicates,
    a_failing_1c_is_retried_and_the_sync_resumes,
    without_a_module_or_with_a_wrong_password_the_job_says_what_to_do,
    the_daily_sync_time_is_the_sync_schedule_queued_once_per_slot,
);

pub(crate) const EMPTY: &str = "00000000-0000-0000-0000-000000000000";
pub(crate) const ORG: &str = "5e0f6a10-1c3b-11ef-8a3e-00155d010a01";
pub(crate) const RUB: &str = "11111111-0000-4000-8000-000000000643";
pub(crate) const USD: &str = "11111111-0000-4000-8000-000000000840";

pub(crate) fn today() -> NaiveDate {
    crm_host::tenancy::access::today_in("Europe/Moscow")
}

pub(crate) fn days_ago(n: u64) -> NaiveDate {
    today() - Days::new(n)
}

pub(crate) fn dt(d: NaiveDate) -> String {
    format!("{}T10:00:00", d.format("%Y-%m-%d"))
}

/// A GUID for test record `n` of kind `k`.
pub(crate) fn key(k: u32, n: u32) -> String {
    format!("{k:08x}-0000-4000-8000-{n:012x}")
}

pub(crate) fn cp(n: u32, name: &str, inn: &str, kpp: &str) -> Value {
    json!({"Ref_Key": key(1, n), "DeletionMark": false, "IsFolder": false, "Description": name, "НаименованиеПолное": name, "ИНН": inn, "КПП": kpp})
}

pub(crate) fn contract(n: u32, owner: u32, number: &str, deferral: Option<u32>) -> Value {
    json!({"Ref_Key": key(2, n), "DeletionMark": false, "IsFolder": false, "Owner_Key": key(1, owner), "Description": number, "Номер": number,
           "Дата": "2024-01-10T00:00:00", "Организация_Key": ORG, "ВидДоговора": "СПокупателем",
           "УстановленСрокОплаты": deferral.is_some(), "СрокОплаты": deferral.unwrap_or(0)})
}

pub(crate) fn sale(n: u32, client: u32, contract: Option<u32>, issued: NaiveDate, amount: f64) -> Value {
    json!({"Ref_Key": key(3, n), "Number": format!("0000-{n:06}"), "Date": dt(issued), "Posted": true, "DeletionMark": false,
           "Организация_Key": ORG, "Контрагент_Key": key(1, client), "ДоговорКонтрагента_Key": contract.map_or(EMPTY.to_string(), |c| key(2, c)),
           "ВалютаДокумента_Key": RUB, "СуммаДокумента": amount, "ВидОперации": "Товары"})
}

pub(crate) fn payment(n: u32, client: u32, contract: Option<u32>, paid: NaiveDate, amount: f64, names: Option<u32>) -> Value {
    let line = json!({"LineNumber": "1", "ДоговорКонтрагента_Key": contract.map_or(EMPTY.to_string(), |c| key(2, c)), "СуммаПлатежа": amount,
        "СпособПогашенияЗадолженности": if names.is_some() { "ПоДокументу" } else { "Автоматически" },
        "Сделка": names.map_or(EMPTY.to_string(), |d| key(3, d)),
        "Сделка_Type": if names.is_some() { "StandardODATA.Document_РеализацияТоваровУслуг" } else { "StandardODATA.Undefined" }});
    json!({"Ref_Key": key(4, n), "Number": format!("ПП-{n}"), "Date": dt(paid), "Posted": true, "DeletionMark": false, "ВидОперации": "ОплатаПокупателя",
           "Организация_Key": ORG, "Контрагент_Key": key(1, client), "ДоговорКонтрагента_Key": contract.map_or(EMPTY.to_string(), |c| key(2, c)),
           "СуммаДокумента": amount, "ВалютаДокумента_Key": RUB, "РасшифровкаПлатежа": [line]})
}

/// The base every test starts from:
/// - Альфа (contract 1, 30 days): sale 1 of 100 000.00 issued 100 days ago (overdue), sale 2
///   of 50 000.00 issued 10 days ago (not due); payment 1 of 30 000.00 naming sale 2,
///   payment 2 of 40 000.00 automatic → sale 1 owes 60 000.00, sale 2 owes 20 000.00;
/// - ИП Бета (no contract, the card's own deferral 0): sale 3 of 10 000.00 issued 40 days
///   ago, paid 5 days late by payment 3;
/// - Гамма has an ИНН with a wrong check digit → rejected, and so is its sale 4;
/// - sale 5 names a counterparty 1C does not have → rejected;
/// - sale 6 is in dollars → rejected; sale 7 is marked for deletion → skipped;
/// - sale 8 of Альфа has a negative amount → rejected by the plugin;
/// - payment 4 names more in documents than it pays → rejected by the plugin.
pub(crate) fn base() -> Dataset {
    let mut usd_sale = sale(6, 1, Some(1), days_ago(20), 500.0);
    usd_sale["ВалютаДокумента_Key"] = json!(USD);
    let mut deleted = sale(7, 1, Some(1), days_ago(15), 700.0);
    deleted["DeletionMark"] = json!(true);
    let mut bad = payment(4, 1, Some(1), days_ago(3), 100.0, Some(2));
    bad["РасшифровкаПлатежа"][0]["СуммаПлатежа"] = json!(150.0);
    Dataset::new()
        .with(EntitySet::Counterparties, [
            cp(1, "ООО \"Альфа\"", "7719402047", "773101001"),
            cp(2, "ИП Бета Борис Борисович", "500100732259", ""),
            cp(3, "ООО \"Гамма\"", "7719402048", "773101001"),
        ])
        .with(EntitySet::Contracts, [contract(1, 1, "Д-1", Some(30))])
        .with(EntitySet::Sales, [
            sale(1, 1, Some(1), days_ago(100), 100_000.0),
            sale(2, 1, Some(1), days_ago(10), 50_000.0),
            sale(3, 2, None, days_ago(40), 10_000.0),
            sale(4, 3, None, days_ago(40), 1_000.0),
            sale(5, 9, None, days_ago(40), 1_000.0),
            usd_sale,
            deleted,
            sale(8, 1, Some(1), days_ago(5), -5.0),
        ])
        .with(EntitySet::Payments, [
            payment(1, 1, Some(1), days_ago(5), 30_000.0, Some(2)),
            payment(2, 1, Some(1), days_ago(20), 40_000.0, None),
            payment(3, 2, None, days_ago(35), 10_000.0, None),
            bad,
        ])
        .with(EntitySet::Currencies, [
            json!({"Ref_Key": RUB, "DeletionMark": false, "Code": "643", "Description": "руб."}),
            json!({"Ref_Key": USD, "DeletionMark": false, "Code": "840", "Description": "USD"}),
        ])
}

pub(crate) async fn fake(data: Dataset) -> FakeOneC {
    FakeOneC::start(Arc::new(data), Options::default()).await.unwrap()
}

/// Queues a sync through the API and runs it; returns the finished job.
pub(crate) async fn sync(app: &TestApp, t: &TestTenant, full: bool) -> Value {
    let job = t.admin.post("/api/v1/receivables/sync", json!({"full": full})).await.expect(StatusCode::ACCEPTED).body;
    assert_eq!(job["status"], "queued");
    app.run_jobs().await;
    t.admin.get(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap())).await.ok().body
}

pub(crate) async fn card_by_inn(t: &TestTenant, inn: &str) -> Value {
    let list = t.admin.get(&format!("/api/v1/counterparties?inn={inn}")).await.ok().body;
    let id = list["items"][0]["id"].as_str().unwrap_or_else(|| panic!("no card with ИНН {inn}")).to_string();
    t.admin.get(&format!("/api/v1/counterparties/{id}")).await.ok().body
}

pub(crate) fn rub(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

pub(crate) async fn synced(app: &TestApp) -> (TestTenant, FakeOneC, Value) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = fake(base()).await;
    t.enable_1c(&fake.base_url, &fake.host).await;
    let job = sync(app, &t, false).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    (t, fake, job)
}

async fn a_sync_fills_cards_documents_payments_and_balances_and_reports_every_rejection(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    // A card that exists before the sync is linked by ИНН/КПП, not duplicated.
    let existing = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "inn": "7719402047", "kpp": "773101001", "full_name": "Альфа (заведена вручную)"})).await.created().body;
    let fake = fake(base()).await;
    t.enable_1c(&fake.base_url, &fake.host).await;
    let job = sync(&app, &t, false).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let p = &job["progress"];
    assert_eq!(p["phase"], "done");
    assert_eq!(p["counterparties"]["created"], 2, "{p}");
    assert_eq!(p["counterparties"]["rejected"], 1);
    assert_eq!(p["contracts"]["created"], 1);
    assert_eq!(p["sales_documents"]["received"], 8);
    assert_eq!(p["sales_documents"]["created"], 3);
    assert_eq!(p["sales_documents"]["skipped"], 1, "the deleted one");
    assert_eq!(p["sales_documents"]["rejected"], 4);
    assert_eq!(p["payments"]["created"], 3);
    assert_eq!(p["payments"]["rejected"], 1);
    // Every rejection is reported with the record and the reason.
    let reasons: Vec<String> = p["rejections"].as_array().unwrap().iter().map(|r| format!("{} {} {}", r["entity"], r["external_id"], r["reason"])).collect();
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("ИНН"), "the bad ИНН is named: {reasons:#?}");
    assert!(has(&key(3, 5)), "the sale of a counterparty 1C does not have: {reasons:#?}");
    // Гамма's sale is not listed on its own: it is counted under Гамма, which is named.
    assert!(!has(&key(3, 4)), "{reasons:#?}");
    let gamma = p["rejections"].as_array().unwrap().iter().find(|r| r["entity"] == "counterparty").unwrap();
    assert_eq!(gamma["client"], json!({"external_id": key(1, 3), "name": "ООО \"Гамма\"", "inn": "7719402048"}));
    assert_eq!(gamma["dependents"], json!({"contracts": 0, "sales_documents": 1, "payments": 0, "external_ids": [key(3, 4)]}));
    // Other rejections of a known client name it too.
    let negative = p["rejections"].as_array().unwrap().iter().find(|r| r["external_id"] == key(3, 8)).unwrap();
    assert_eq!(negative["client"]["name"], "ООО \"Альфа\"", "{negative}");
    assert_eq!(negative["client"]["inn"], "7719402047");
    assert!(has("USD"), "{reasons:#?}");
    assert!(has("negative"), "{reasons:#?}");
    assert!(has(&key(4, 4)), "the over-allocated payment: {reasons:#?}");
    assert_eq!(p["rejected_total"], 6);

    // The existing card was linked: still one card with this ИНН, now with the debt.
    let list = t.admin.get("/api/v1/counterparties?inn=7719402047").await.ok().body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let alfa = card_by_inn(&t, "7719402047").await;
    assert_eq!(alfa["id"], existing["id"]);
    assert_eq!(alfa["full_name"], "Альфа (заведена вручную)", "the sync does not rename a card it did not create");
    // Альфа owes 60 000.00 on sale 1 (overdue) and 20 000.00 on sale 2 (not due).
    let debt = &alfa["debt"];
    assert_eq!(rub(&debt["total"]), "80000.00");
    assert_eq!(rub(&debt["overdue"]), "60000.00");
    assert_eq!(debt["open_documents"], 2);
    assert_eq!(debt["overdue_documents"], 1);
    let due1 = due_date(days_ago(100), 30);
    assert_eq!(debt["oldest_overdue_due_on"], json!(due1.to_string()));
    assert_eq!(debt["days_overdue"], (today() - due1).num_days());
    assert_eq!(debt["severity"], "serious", "{debt}");
    assert!(debt["warning"].as_str().unwrap().contains("60\u{a0}000,00"), "{debt}");
    assert!(alfa["payer_rating"]["stars"].is_number(), "{alfa}");

    // Бета paid in full: nothing owed, nothing red; a card created by the sync.
    let beta = card_by_inn(&t, "500100732259").await;
    assert_eq!(beta["kind"], "sole_proprietor");
    assert_eq!(beta["full_name"], "ИП Бета Борис Борисович");
    assert_eq!(rub(&beta["debt"]["total"]), "0.00");
    assert_eq!(beta["debt"]["severity"], "none");
    assert!(beta["debt"]["warning"].is_null());
    // Гамма was rejected: no card.
    let gamma = t.admin.get("/api/v1/counterparties?inn=7719402048").await.ok().body;
    assert!(gamma["items"].as_array().unwrap().is_empty());

    // The documents and payments as stored.
    let docs = t.admin.get(&format!("/api/v1/sales-documents?counterparty_id={}", alfa["id"].as_str().unwrap())).await.ok().body;
    let docs = docs["items"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    let s1 = docs.iter().find(|d| d["external_id"] == key(3, 1)).unwrap();
    assert_eq!(rub(&s1["amount"]), "100000.00");
    assert_eq!(rub(&s1["open_amount"]), "60000.00");
    assert_eq!(s1["due_on"], json!(due1.to_string()));
    assert_eq!(s1["number"], "0000-000001");
    let contracts = t.admin.get(&format!("/api/v1/contracts?counterparty_id={}", alfa["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(contracts["items"][0]["deferral_days"], 30);
    assert_eq!(contracts["items"][0]["penalty_kind"], "art_395");
    let pays = t.admin.get("/api/v1/payments").await.ok().body;
    assert_eq!(pays["items"].as_array().unwrap().len(), 3);
    let p1 = pays["items"].as_array().unwrap().iter().find(|p| p["external_id"] == key(4, 1)).unwrap();
    assert_eq!(p1["allocations"], json!([{"document": key(3, 2), "amount": "30000.00"}]));
    // The plugin's calls are in the run log; the sync created audit entries for new cards.
    let runs = t.admin.get("/api/v1/plugin-runs?plugin_id=accounting-1c").await.ok().body;
    assert!(runs["items"].as_array().unwrap().iter().all(|r| r["outcome"] == "ok" && r["function"] == "accounting.fetch-page"));
    let audit = t.admin.get(&format!("/api/v1/audit?entity_type=counterparty&entity_id={}", beta["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(audit["items"][0]["actor_kind"], "plugin");
}

/// Everything the sync wrote, as the API shows it (timestamps included, so a rewrite of
/// an unchanged record shows too).
async fn state_of(t: &TestTenant) -> Vec<String> {
    let mut out = Vec::new();
    for path in ["/api/v1/counterparties", "/api/v1/contracts", "/api/v1/sales-documents", "/api/v1/payments", "/api/v1/audit"] {
        out.push(t.admin.get(&format!("{path}?limit=500")).await.ok().text());
    }
    let cards = t.admin.get("/api/v1/counterparties?limit=500").await.ok().body;
    for c in cards["items"].as_array().unwrap() {
        out.push(t.admin.get(&format!("/api/v1/counterparties/{}", c["id"].as_str().unwrap())).await.ok().text());
    }
    out
}

async fn running_the_sync_twice_changes_nothing(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    let before = state_of(&t).await;
    let aging_before = t.admin.get("/api/v1/receivables/aging").await.ok().text();
    for full in [false, true] {
        let job = sync(&app, &t, full).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        let p = &job["progress"];
        for entity in ["counterparties", "contracts", "sales_documents", "payments"] {
            assert_eq!(p[entity]["created"], 0, "{entity}: {p}");
            assert_eq!(p[entity]["updated"], 0, "{entity}: {p}");
        }
        if full {
            assert_eq!(p["sales_documents"]["skipped"], 4, "three stored and the deleted one: {p}");
        } else {
            // Only documents dated within the look-back window were asked for again.
            assert_eq!(p["sales_documents"]["received"], 4, "{p}");
        }
        assert_eq!(p["settlement"]["documents_changed"], 0);
        assert_eq!(state_of(&t).await, before, "the second sync (full: {full}) changed stored data");
    }
    assert_eq!(t.admin.get("/api/v1/receivables/aging").await.ok().text(), aging_before);
    // The second sync asked 1C only for documents since the first one (minus the look-back).
    let jobs = t.admin.get("/api/v1/jobs?kind=receivables_sync").await.ok().body;
    let incremental = &jobs["items"][1]["progress"];
    assert!(incremental["since"].is_string(), "{incremental}");
    assert_eq!(incremental["full"], false);
}

async fn owed_to_us_buckets_filters_drill_down_and_exports(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    let r = t.admin.get("/api/v1/receivables/aging").await.ok().body;
    let keys: Vec<&str> = r["buckets"].as_array().unwrap().iter().map(|b| b["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["not_due", "1_30", "31_60", "61_90", "91_180", "over_180"]);
    assert_eq!(rub(&r["totals"]["total"]), "80000.00");
    assert_eq!(rub(&r["totals"]["overdue"]), "60000.00");
    assert_eq!(r["totals"]["counterparties"], 1);
    let row = &r["items"][0];
    assert_eq!(row["full_name"], "ООО \"Альфа\"");
    let days = (today() - due_date(days_ago(100), 30)).num_days();
    let bucket = match days {
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    };
    assert_eq!(rub(&row["buckets"][0]), "20000.00");
    assert_eq!(rub(&row["buckets"][bucket]), "60000.00", "{row}");
    assert_eq!(row["days_overdue"], days);

    // Buckets are a setting.
    let mut s = t.admin.get("/api/v1/receivables/settings").await.ok().body;
    s["aging_buckets"] = json!([15, 45]);
    t.admin.put("/api/v1/receivables/settings", s.clone()).await.ok();
    let r2 = t.admin.get("/api/v1/receivables/aging").await.ok().body;
    assert_eq!(r2["buckets"].as_array().unwrap().len(), 4);
    assert_eq!(r2["buckets"][3]["label"], "Свыше 45 дн.");
    s["aging_buckets"] = json!([60, 30]);
    let bad = t.admin.put("/api/v1/receivables/settings", s).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["aging_buckets"]);

    // Filters: segment and manager of the client, our legal entity of the document.
    let alfa = card_by_inn(&t, "7719402047").await;
    let alfa_id = alfa["id"].as_str().unwrap().to_string();
    t.admin.patch(&format!("/api/v1/counterparties/{alfa_id}"), json!({"segment": "Опт"})).await.ok();
    assert_eq!(t.admin.get("/api/v1/receivables/aging?segment=Опт").await.ok().body["totals"]["counterparties"], 1);
    assert_eq!(t.admin.get("/api/v1/receivables/aging?segment=Розница").await.ok().body["totals"]["counterparties"], 0);
    assert_eq!(t.admin.get(&format!("/api/v1/receivables/aging?responsible_id={}", t.admin_id)).await.ok().body["totals"]["counterparties"], 0);
    let le = t.admin.post("/api/v1/legal-entities", json!({"full_name": "ООО \"Мы\"", "inn": "7707083893"})).await.created().body;
    let le_id = le["id"].as_str().unwrap();
    let r = t.admin.get(&format!("/api/v1/receivables/aging?legal_entity_id={le_id}")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("accounting_ref"), "{}", r.text());
    t.admin.patch(&format!("/api/v1/legal-entities/{le_id}"), json!({"accounting_ref": ORG})).await.ok();
    assert_eq!(rub(&t.admin.get(&format!("/api/v1/receivables/aging?legal_entity_id={le_id}")).await.ok().body["totals"]["total"]), "80000.00");

    // Drill-down: each debt with the payments on it.
    let d = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/receivables")).await.ok().body;
    let docs = d["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["external_id"], key(3, 1), "oldest due first");
    assert_eq!(rub(&docs[0]["paid"]), "40000.00");
    assert_eq!(docs[0]["payments"][0]["number"], "ПП-2");
    assert_eq!(docs[0]["payments"][0]["named"], false);
    assert_eq!(docs[1]["payments"][0]["number"], "ПП-1");
    assert_eq!(docs[1]["payments"][0]["named"], true);
    assert_eq!(docs[1]["bucket"], "not_due");
    assert_eq!(rub(&d["summary"]["total"]), "80000.00");
    let all = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/receivables?include_paid=true")).await.ok().body;
    assert_eq!(all["documents"].as_array().unwrap().len(), 2, "nothing of Альфа is paid in full");

    // Export: XLSX read back, and CSV for Excel with Russian settings.
    let x = t.admin.get("/api/v1/receivables/aging/export?format=xlsx").await.ok();
    assert_eq!(x.headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(x.bytes)).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "Дебиторская задолженность").unwrap();
    let cell = |r: u32, c: u32| sheet.get_value((r, c)).map(|v| v.to_string()).unwrap_or_default();
    assert!(cell(0, 0).starts_with("Дебиторская задолженность на"));
    assert_eq!(cell(2, 0), "Контрагент");
    assert_eq!(cell(3, 0), "ООО \"Альфа\"");
    assert_eq!(cell(3, 3), "80000");
    assert_eq!(cell(3, 4), "60000");
    assert!(cell(4, 0).starts_with("Итого"));
    let csv = t.admin.get("/api/v1/receivables/aging/export?format=csv").await.ok().text();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("\"ООО \"\"Альфа\"\"\";7719402047;Опт;80000,00;60000,00;20000,00"), "{csv}");
    let bad = t.admin.get("/api/v1/receivables/aging/export?format=ods").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["format"]);
}

/// Every sort of "Owed to us", read page by page, lists each debtor once, in its order;
/// the rows add up to the totals, each row's buckets to its total, and each row agrees
/// with the client's drill-down.
async fn owed_to_us_sorts_pages_and_adds_up(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = FakeOneC::start(Arc::new(Generated::new(40, 400, 400, 11, today())), Options::default()).await.unwrap();
    t.enable_1c(&fake.base_url, &fake.host).await;
    assert_eq!(sync(&app, &t, false).await["status"], "succeeded");
    let cents = |v: &Value| -> i64 {
        let s = v.as_str().unwrap_or_else(|| panic!("{v} is not a decimal string"));
        let (r, k) = s.split_once('.').unwrap();
        r.parse::<i64>().unwrap() * 100 + k.parse::<i64>().unwrap()
    };
    let mut first_totals = None;
    for sort in ["total", "overdue", "days", "name"] {
        let mut rows: Vec<Value> = Vec::new();
        let mut url = format!("/api/v1/receivables/aging?sort={sort}&limit=7");
        let totals = loop {
            let r = t.admin.get(&url).await.ok().body;
            rows.extend(r["items"].as_array().unwrap().iter().cloned());
            match r["next_cursor"].as_str() {
                Some(c) => url = format!("/api/v1/receivables/aging?sort={sort}&limit=7&cursor={c}"),
                None => break r["totals"].clone(),
            }
        };
        assert!(rows.len() > 7, "{sort}: the base has debtors on several pages, got {}", rows.len());
        assert_eq!(rows.len() as u64, totals["counterparties"].as_u64().unwrap(), "{sort}: every debtor once");
        let mut ids: Vec<&str> = rows.iter().map(|r| r["counterparty_id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rows.len(), "{sort}: no debtor twice");
        // The order.
        for w in rows.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let ok = match sort {
                "total" => cents(&a["total"]) >= cents(&b["total"]),
                "overdue" => cents(&a["overdue"]) >= cents(&b["overdue"]),
                "days" => a["days_overdue"].as_i64() >= b["days_overdue"].as_i64() || b["days_overdue"] == 0,
                _ => a["full_name"].as_str() <= b["full_name"].as_str(),
            };
            assert!(ok, "{sort}: {a} before {b}");
        }
        // The sums.
        let n = totals["buckets"].as_array().unwrap().len();
        assert_eq!(rows.iter().map(|r| cents(&r["total"])).sum::<i64>(), cents(&totals["total"]), "{sort}");
        assert_eq!(rows.iter().map(|r| cents(&r["overdue"])).sum::<i64>(), cents(&totals["overdue"]), "{sort}");
        assert_eq!(rows.iter().map(|r| r["open_documents"].as_i64().unwrap()).sum::<i64>(), totals["open_documents"].as_i64().unwrap());
        for k in 0..n {
            assert_eq!(rows.iter().map(|r| cents(&r["buckets"][k])).sum::<i64>(), cents(&totals["buckets"][k]), "{sort}: bucket {k}");
        }
        for r in &rows {
            assert_eq!((0..n).map(|k| cents(&r["buckets"][k])).sum::<i64>(), cents(&r["total"]), "{r}");
            assert_eq!(cents(&r["total"]) - cents(&r["buckets"][0]), cents(&r["overdue"]), "{r}");
        }
        match &first_totals {
            None => first_totals = Some(totals),
            Some(f) => assert_eq!(f, &totals, "the totals do not depend on the sort"),
        }
        if sort == "total" {
            // Each row agrees with the client's drill-down.
            for r in &rows {
                let d = t.admin.get(&format!("/api/v1/counterparties/{}/receivables", r["counterparty_id"].as_str().unwrap())).await.ok().body;
                let s = &d["summary"];
                assert_eq!(s["total"], r["total"], "{r}");
                assert_eq!(s["overdue"], r["overdue"], "{r}");
                assert_eq!(s["days_overdue"], r["days_overdue"], "{r}");
                assert_eq!(s["open_documents"], r["open_documents"], "{r}");
                for doc in d["documents"].as_array().unwrap() {
                    let k = totals_bucket_index(&first_totals.as_ref().unwrap()["buckets"], &doc["bucket"]);
                    assert!(cents(&r["buckets"][k]) >= cents(&doc["open_amount"]), "{doc} in {r}");
                }
            }
        }
    }
    // Filtered to nothing: an empty page with zero totals.
    let none = t.admin.get("/api/v1/receivables/aging?segment=no-such-segment").await.ok().body;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    assert_eq!(none["totals"]["counterparties"], 0);
    assert_eq!(rub(&none["totals"]["total"]), "0.00");
}

/// The index of a bucket key in the report's bucket list.
fn totals_bucket_index(_buckets: &Value, key: &Value) -> usize {
    let key = key.as_str().unwrap();
    ["not_due", "1_30", "31_60", "61_90", "91_180", "over_180"].iter().position(|k| *k == key).unwrap_or_else(|| panic!("unknown bucket {key}"))
}

async fn penalties_follow_each_contract_and_the_claim_letter_prints_them(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    let alfa = card_by_inn(&t, "7719402047").await;
    let alfa_id = alfa["id"].as_str().unwrap();
    let due1 = due_date(days_ago(100), 30);
    let paid2 = days_ago(20);
    let as_of = today();
    // Without terms the contract's debts bear interest under art. 395.
    let p = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/penalties")).await.ok().body;
    assert_eq!(p["documents"].as_array().unwrap().len(), 1, "only the overdue document");
    assert_eq!(p["documents"][0]["kind"], "art_395");
    assert!(p["documents"][0]["basis"].as_str().unwrap().contains("ст. 395"));
    // A contractual 0.1 % a day: 100 000.00 × 0.1 % until the 40 000.00 payment (that day
    // included), then 60 000.00 × 0.1 % to today; each period rounded to kopecks.
    let contract = t.admin.get(&format!("/api/v1/contracts?counterparty_id={alfa_id}")).await.ok().body["items"][0].clone();
    let cid = contract["id"].as_str().unwrap();
    let (manager, _) = t.user("manager").await;
    manager.patch(&format!("/api/v1/contracts/{cid}"), json!({"penalty_kind": "contractual", "penalty_rate": "0.1"})).await.expect(StatusCode::FORBIDDEN);
    let bad = t.admin.patch(&format!("/api/v1/contracts/{cid}"), json!({"penalty_kind": "contractual"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["penalty_rate"]);
    t.admin.patch(&format!("/api/v1/contracts/{cid}"), json!({"penalty_kind": "contractual", "penalty_rate": "0,1"})).await.ok();
    let p = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/penalties")).await.ok().body;
    let doc = &p["documents"][0];
    let (d1, d2) = if paid2 > due1 {
        ((paid2 - due1).num_days(), (as_of - paid2).num_days())
    } else {
        (0, (as_of - due1).num_days())
    };
    // 100 000.00 × 0.1 % = 100.00 a day; 60 000.00 × 0.1 % = 60.00 a day.
    let expected = d1 * 100 + d2 * 60;
    assert_eq!(rub(&doc["total"]), format!("{expected}.00"), "{doc}");
    assert_eq!(doc["kind"], "contractual");
    let periods = doc["periods"].as_array().unwrap();
    assert_eq!(periods.last().unwrap()["base"], "60000.00");
    assert_eq!(periods.last().unwrap()["to"], json!(as_of.to_string()));
    assert_eq!(rub(&p["principal_total"]), "60000.00");
    // A cap of 1 % of the document (1 000.00) stops it.
    t.admin.patch(&format!("/api/v1/contracts/{cid}"), json!({"penalty_cap_percent": "1"})).await.ok();
    let capped = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/penalties")).await.ok().body;
    assert_eq!(rub(&capped["documents"][0]["total"]), "1000.00");
    assert!(capped["documents"][0]["cap_note"].is_string());

    // The claim letter needs our legal entity; then it prints as PDF and as HTML.
    let r = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/claim-letter")).await.expect(StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("legal-entities"), "{}", r.text());
    t.admin
        .post("/api/v1/legal-entities", json!({"full_name": "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ДИСТРИБЬЮТОР\"", "short_name": "ООО \"Дистрибьютор\"",
            "inn": "7707083893", "kpp": "773601001", "accounting_ref": ORG, "bank_name": "ПАО Сбербанк", "bank_bic": "044525225",
            "bank_account": "40702810938000000001", "bank_corr_account": "30101810400000000225"}))
        .await
        .created();
    let pdf = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/claim-letter?number=17-П")).await.ok();
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-"));
    assert!(pdf.bytes.len() > 10_000);
    let html = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/claim-letter?format=html&deadline_days=10")).await.ok().text();
    for needle in ["ПРЕТЕНЗИЯ", "ООО «Альфа»", "7719402047", "0000-000001", "60\u{a0}000,00", "1\u{a0}000,00", "40702810938000000001", "ст.\u{a0}330"] {
        assert!(html.contains(needle), "the letter lacks {needle:?}");
    }
    // The deadline runs from receipt (the tenant's default): no date; or a date counted
    // from the letter's, when asked.
    assert!(html.replace('\u{a0}', " ").contains("в течение 10 календарных дней с даты получения настоящей претензии"), "{html}");
    let html = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/claim-letter?format=html&deadline_days=10&deadline_mode=by_date")).await.ok().text();
    let pay_by = due_date(as_of, 10);
    assert!(html.contains(&crm_host::receivables::claim_letter::words::date_long(pay_by)), "the deadline {pay_by}");
    t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/claim-letter?format=docx")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    // Бета paid its document 5 days late: nothing is owed, but interest under art. 395 for
    // those days can be claimed on its own.
    let beta = card_by_inn(&t, "500100732259").await;
    let html = t.admin.get(&format!("/api/v1/counterparties/{}/claim-letter?format=html", beta["id"].as_str().unwrap())).await.ok().text();
    assert!(html.replace('\u{a0}', " ").contains("Документы, оплаченные с просрочкой"), "{html}");
    // One that paid on time has nothing to claim.
    let t2 = app.tenant("Пунктуальный").await;
    let on_time = Dataset::new()
        .with(EntitySet::Counterparties, [cp(1, "ООО \"Альфа\"", "7719402047", "773101001")])
        .with(EntitySet::Sales, [sale(1, 1, None, days_ago(40), 1_000.0)])
        .with(EntitySet::Payments, [payment(1, 1, None, days_ago(40), 1_000.0, None)])
        .with(EntitySet::Currencies, [json!({"Ref_Key": RUB, "DeletionMark": false, "Code": "643", "Description": "руб."})]);
    let fake2 = fake(on_time).await;
    t2.enable_1c(&fake2.base_url, &fake2.host).await;
    assert_eq!(sync(&app, &t2, false).await["status"], "succeeded");
    t2.admin.post("/api/v1/legal-entities", json!({"full_name": "ООО \"Мы\"", "inn": "7707083893"})).await.created();
    let alfa2 = card_by_inn(&t2, "7719402047").await;
    assert_eq!(rub(&t2.admin.get(&format!("/api/v1/sales-documents?counterparty_id={}", alfa2["id"].as_str().unwrap())).await.ok().body["items"][0]["amount"]), "1000.00");
    t2.admin.get(&format!("/api/v1/counterparties/{}/claim-letter", alfa2["id"].as_str().unwrap())).await.expect(StatusCode::CONFLICT);
}

async fn the_rating_explains_itself(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    // Бета paid 10 000.00 five days late (due 40 days ago with deferral 0, paid 35 days ago):
    // weighted delay 5.0 days → 4 stars.
    let beta = card_by_inn(&t, "500100732259").await;
    let due = due_date(days_ago(40), 0);
    let delay = (days_ago(35) - due).num_days().max(0);
    let r = t.admin.get(&format!("/api/v1/counterparties/{}/rating", beta["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(r["pieces"].as_array().unwrap().len(), 1);
    assert_eq!(r["pieces"][0]["delay_days"], delay);
    assert_eq!(r["pieces"][0]["kind"], "paid");
    assert_eq!(r["weighted_delay_days"], format!("{delay}.0"));
    let stars = crm_host::receivables::rating::stars_for(delay.into());
    assert_eq!(r["stars"], stars);
    assert_eq!(beta["payer_rating"]["stars"], stars, "the card shows the same stars");
    assert_eq!(r["thresholds"][0], json!({"stars": 5, "max_delay_days": 1}));
    assert!(r["formula"].as_str().unwrap().contains("Σ"));
}

async fn a_deferral_edited_on_the_card_moves_due_dates_at_once(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    let beta = card_by_inn(&t, "500100732259").await;
    let id = beta["id"].as_str().unwrap();
    t.admin.patch(&format!("/api/v1/counterparties/{id}"), json!({"payment_deferral_days": 60})).await.ok();
    let docs = t.admin.get(&format!("/api/v1/sales-documents?counterparty_id={id}")).await.ok().body;
    assert_eq!(docs["items"][0]["due_on"], json!(due_date(days_ago(40), 60).to_string()));
    // Paid before the new due date: on time now.
    let r = t.admin.get(&format!("/api/v1/counterparties/{id}/rating")).await.ok().body;
    assert_eq!(r["pieces"][0]["delay_days"], 0);
    assert_eq!(t.admin.get(&format!("/api/v1/counterparties/{id}")).await.ok().body["payer_rating"]["stars"], 5);
}

async fn work_on_a_debt_shows_in_the_drill_down(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    let alfa = card_by_inn(&t, "7719402047").await;
    let alfa_id = alfa["id"].as_str().unwrap();
    let d = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/receivables")).await.ok().body;
    let doc_id = d["documents"][0]["id"].as_str().unwrap().to_string();
    // The task and the call name the document; the counterparty follows from it.
    let task = t.admin.post("/api/v1/tasks", json!({"title": "Позвонить по реализации 0000-000001", "sales_document_id": doc_id})).await.created().body;
    assert_eq!(task["counterparty_id"], alfa["id"]);
    t.admin.post("/api/v1/interactions", json!({"kind": "call", "subject": "Обещали оплатить до пятницы", "sales_document_id": doc_id})).await.created();
    t.admin.post("/api/v1/tasks", json!({"title": "Сверка взаиморасчётов", "counterparty_id": alfa_id})).await.created();
    let d = t.admin.get(&format!("/api/v1/counterparties/{alfa_id}/receivables")).await.ok().body;
    assert_eq!(d["documents"][0]["tasks"][0]["title"], "Позвонить по реализации 0000-000001");
    assert_eq!(d["documents"][0]["interactions"][0]["subject"], "Обещали оплатить до пятницы");
    assert!(d["documents"][1]["tasks"].as_array().unwrap().is_empty());
    assert_eq!(d["tasks"][0]["title"], "Сверка взаиморасчётов");
    let listed = t.admin.get(&format!("/api/v1/tasks?sales_document_id={doc_id}")).await.ok().body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // A document of another counterparty, or of another tenant, is refused.
    let beta = card_by_inn(&t, "500100732259").await;
    let r = t.admin.post("/api/v1/tasks", json!({"title": "x", "sales_document_id": doc_id, "counterparty_id": beta["id"]})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["sales_document_id"]);
    let other = app.tenant("Другой").await;
    let r = other.admin.post("/api/v1/tasks", json!({"title": "x", "sales_document_id": doc_id})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["sales_document_id"]);
}

/// Sets the tenant's page size.
async fn page_size(t: &TestTenant, n: i64) {
    let mut s = t.admin.get("/api/v1/receivables/settings").await.ok().body;
    s["sync_page_size"] = json!(n);
    t.admin.put("/api/v1/receivables/settings", s).await.ok();
}

/// Sums that say the whole state is the same: per-document balances and per-card totals.
async fn balances(t: &TestTenant) -> (String, String, usize) {
    let r = t.admin.get("/api/v1/receivables/aging?limit=500").await.ok().body;
    let rows: Vec<String> = r["items"].as_array().unwrap().iter().map(|x| format!("{} {} {}", x["full_name"], x["total"], x["overdue"])).collect();
    let docs = t.admin.get("/api/v1/sales-documents?limit=500").await.ok().body;
    let mut all = docs["items"].as_array().unwrap().len();
    let mut cursor = docs["next_cursor"].clone();
    while let Some(c) = cursor.as_str() {
        let more = t.admin.get(&format!("/api/v1/sales-documents?limit=500&cursor={c}")).await.ok().body;
        all += more["items"].as_array().unwrap().len();
        cursor = more["next_cursor"].clone();
    }
    (r["totals"].to_string(), rows.join("\n"), all)
}

async fn a_killed_sync_resumes_where_it_stopped_without_duplicates(app: TestApp) {
    let data = Generated::new(40, 400, 400, 7, today());
    let expected_docs = (0..400).filter(|&i| !data.sale(i).deleted).count();
    // A clean sync into one tenant, for comparison.
    let clean = app.tenant("Эталон").await;
    let fake_clean = FakeOneC::start(Arc::new(data), Options::default()).await.unwrap();
    clean.enable_1c(&fake_clean.base_url, &fake_clean.host).await;
    page_size(&clean, 25).await;
    assert_eq!(sync(&app, &clean, false).await["status"], "succeeded");
    let t = app.tenant("Прерванный").await;
    let fake = FakeOneC::start(Arc::new(data), Options::default()).await.unwrap();
    t.enable_1c(&fake.base_url, &fake.host).await;
    page_size(&t, 25).await;
    // Queued as the API queues it, committing every 50 records so there is something to
    // resume from mid-phase.
    let job = {
        let mut tx = app.state.db.begin().await.unwrap();
        let new = crm_host::jobs::store::NewJob {
            kind: crm_host::receivables::SYNC_JOB,
            params: json!({"full": false, "commit_records": 50}),
            requested_by: None,
            dedupe_key: None,
        };
        let job = crm_host::jobs::store::enqueue(&mut tx.conn(), crm_host::tenancy::TenantId(t.id), &new).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        job
    };
    let job_id = job.id.to_string();
    // The worker is killed (its task dropped mid-flight) once some sales pages are in.
    let state = app.state.clone();
    let worker = tokio::spawn(async move { crm_host::jobs::runner::run_once(&state, "doomed-worker", crm_tests::test_runner()).await });
    loop {
        let j = t.admin.get(&format!("/api/v1/jobs/{job_id}")).await.ok().body;
        if j["progress"]["sales_documents"]["pages"].as_u64().unwrap_or(0) >= 3 {
            break;
        }
        assert!(j["status"] == "running" || j["status"] == "queued", "{j}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    worker.abort();
    let _ = worker.await;
    let requests_before = fake.requests_to(EntitySet::Sales);
    let j = t.admin.get(&format!("/api/v1/jobs/{job_id}")).await.ok().body;
    assert_eq!(j["status"], "running", "the job still looks taken until its lease runs out");
    // Another worker takes it over once the lease ran out and finishes it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let done = app.run_jobs().await;
    assert_eq!(done.len(), 1);
    let j = t.admin.get(&format!("/api/v1/jobs/{job_id}")).await.ok().body;
    assert_eq!(j["status"], "succeeded", "{j}");
    assert_eq!(j["attempts"], 2);
    // It resumed after the last committed page instead of starting over.
    let pages_total = 400_u64.div_ceil(25) + 1;
    let resumed = fake.requests_to(EntitySet::Sales) - requests_before;
    assert!(resumed < pages_total, "the resumed run read {resumed} sales pages of {pages_total}");
    assert_eq!(j["progress"]["sales_documents"]["created"].as_u64().unwrap() as usize, expected_docs, "{}", j["progress"]);
    // Same state as the clean run: no duplicate, nothing missing.
    let (a, b) = (balances(&clean).await, balances(&t).await);
    assert_eq!(a.2, expected_docs);
    assert_eq!(a, b);
}

async fn a_failing_1c_is_retried_and_the_sync_resumes(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = fake(base()).await;
    t.enable_1c(&fake.base_url, &fake.host).await;
    page_size(&t, 10).await;
    fake.fail(Failure { set: EntitySet::Payments, at_skip: None, status: 500, times: 1 });
    let job = sync(&app, &t, false).await;
    // The worker retried at once (tests wait no back-off) and the second attempt succeeded.
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2);
    assert_eq!(job["progress"]["payments"]["created"], 3);
    // Counterparties were not read twice: the retry resumed at the payments.
    assert_eq!(fake.requests_to(EntitySet::Counterparties), 1);
    let runs = t.admin.get("/api/v1/plugin-runs?plugin_id=accounting-1c&limit=500").await.ok().body;
    let failed: Vec<&Value> = runs["items"].as_array().unwrap().iter().filter(|r| r["outcome"] == "error").collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["error"].as_str().unwrap().contains("Произошла внутренняя ошибка OData сервиса"), "{}", failed[0]);
    // When 1C keeps failing, the job gives up after its attempts and says why.
    fake.fail(Failure { set: EntitySet::Counterparties, at_skip: None, status: 500, times: 10 });
    let job = sync(&app, &t, true).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["attempts"], 3);
    assert!(job["error"].as_str().unwrap().contains("HTTP 500"), "{job}");
}

async fn without_a_module_or_with_a_wrong_password_the_job_says_what_to_do(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let r = t.admin.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("/modules/accounting-1c"), "{}", r.text());
    let (manager, _) = t.user("manager").await;
    manager.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::FORBIDDEN);
    let fake = fake(base()).await;
    t.admin
        .put("/api/v1/modules/accounting-1c", json!({"version": "0.2.0", "settings": {"base_url": fake.base_url, "username": "odata"},
            "secrets": {"password": "wrong"}, "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}}))
        .await
        .ok();
    let job = sync(&app, &t, false).await;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("password"), "{job}");
    // A second sync while one is queued is refused, pointing at the first.
    t.enable_1c(&fake.base_url, &fake.host).await;
    let first = t.admin.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::ACCEPTED).body;
    let r = t.admin.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains(first["id"].as_str().unwrap()));
    // Without the private-host grant the plugin may not reach a loopback 1C.
    app.run_jobs().await;
    t.admin
        .put("/api/v1/modules/accounting-1c", json!({"version": "0.2.0", "settings": {"base_url": fake.base_url, "username": "odata"},
            "secrets": {"password": "secret"}, "grants": {"http_hosts": [fake.host]}}))
        .await
        .ok();
    let job = sync(&app, &t, false).await;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("private_hosts"), "{job}");
}

async fn the_daily_sync_time_is_the_sync_schedule_queued_once_per_slot(app: TestApp) {
    let queue_due = |state: &crm_host::AppState| {
        let state = state.clone();
        async move { crm_host::jobs::scheduler::queue_due(&state, chrono::Utc::now()).await.unwrap() }
    };
    let t = app.tenant("ООО Дистрибьютор").await;
    // No module: nothing to schedule, however late it is.
    assert_eq!(queue_due(&app.state).await, 0);
    let fake = fake(base()).await;
    t.enable_1c(&fake.base_url, &fake.host).await;
    let mut s = t.admin.get("/api/v1/receivables/settings").await.ok().body;
    assert_eq!(s["sync_daily_at"], "06:00", "the sync kind's default schedule");
    s["sync_daily_at"] = json!("00:00");
    assert_eq!(t.admin.put("/api/v1/receivables/settings", s.clone()).await.ok().body["sync_daily_at"], "00:00");
    // The daily time is the sync's job schedule.
    let sched = t.admin.get("/api/v1/job-schedules/receivables.sync").await.ok().body;
    assert_eq!((sched["daily_at"].as_str(), sched["custom"].as_bool(), sched["enabled"].as_bool()), (Some("00:00"), Some(true), Some(true)), "{sched}");
    // Today's 00:00 has passed and no slot was queued yet: one sync, then no more.
    assert_eq!(queue_due(&app.state).await, 1);
    assert_eq!(queue_due(&app.state).await, 0, "once per slot");
    let jobs = t.admin.get("/api/v1/jobs").await.ok().body;
    let slot = chrono::NaiveDateTime::new(today(), chrono::NaiveTime::MIN).and_local_timezone(crm_host::jobs::schedule::tenant_zone("Europe/Moscow")).unwrap().with_timezone(&chrono::Utc);
    assert_eq!(jobs["items"][0]["dedupe_key"], crm_host::jobs::schedule::slot_key(slot));
    assert_eq!(jobs["items"][0]["kind"], "receivables.sync");
    assert!(jobs["items"][0]["requested_by"].is_null());
    app.run_jobs().await;
    assert_eq!(queue_due(&app.state).await, 0, "not again after it ran");
    // On demand only: nothing is scheduled for a tenant that says so.
    let other = app.tenant("Второй").await;
    let mut s2 = s.clone();
    s2["sync_daily_at"] = Value::Null;
    other.admin.put("/api/v1/receivables/settings", s2).await.ok();
    other.enable_1c(&fake.base_url, &fake.host).await;
    assert_eq!(queue_due(&app.state).await, 0);
    assert!(other.admin.get("/api/v1/jobs").await.ok().body["items"].as_array().unwrap().is_empty());
    assert_eq!(other.admin.get("/api/v1/job-schedules/receivables.sync").await.ok().body["enabled"], false);
    // A cron schedule shows as no daily time, and sending the settings back unchanged keeps it.
    t.admin.put("/api/v1/job-schedules/receivables.sync", json!({"enabled": true, "cron": "30 7 * * 1-5"})).await.ok();
    let back = t.admin.get("/api/v1/receivables/settings").await.ok().body;
    assert!(back["sync_daily_at"].is_null(), "{back}");
    t.admin.put("/api/v1/receivables/settings", back).await.ok();
    assert_eq!(t.admin.get("/api/v1/job-schedules/receivables.sync").await.ok().body["cron"], "30 7 * * 1-5");
    s["sync_daily_at"] = json!("25:00");
    let bad = t.admin.put("/api/v1/receivables/settings", s).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["sync_daily_at"]);
}
