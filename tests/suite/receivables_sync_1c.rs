//! The 1C sync against real bases' shapes (issue 11, items 3 and 6): a base that does not
//! publish a catalog fails at once and says how to publish it, or carries on where it can
//! and says so; rejections name the client and group under a rejected client; managers
//! 1C names become the cards' responsible through a mapping the admin keeps, and heads
//! assign managers in bulk.

use axum::http::StatusCode;
use crm_fake_1c::{Dataset, EntitySet, FakeOneC};
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

use crate::receivables::{EMPTY, ORG, RUB, base, card_by_inn, contract, days_ago, dt, fake, key, payment, sync};

on_both_engines!(
    a_base_that_does_not_publish_a_catalog_fails_at_once_saying_how_to_publish_it,
    without_the_currency_catalog_documents_in_rubles_are_taken_and_the_report_says_so,
    rejections_name_the_client_and_records_of_a_rejected_client_are_grouped_under_it,
    a_client_gets_the_manager_1c_names_once_the_admin_maps_that_1c_user,
    a_head_assigns_a_manager_to_every_card_a_filter_takes,
);

/// Module settings with extra plugin settings.
async fn enable_1c_with(t: &TestTenant, fake: &FakeOneC, extra: Value) {
    let mut settings = json!({"base_url": fake.base_url, "username": "odata"});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    t.admin
        .put(
            "/api/v1/modules/accounting-1c",
            json!({"version": "0.2.0", "settings": settings, "secrets": {"password": "secret"},
                   "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}}),
        )
        .await
        .ok();
}

/// [`base`] without its dollar document.
fn rubles_only() -> Dataset {
    let mut ds = base();
    ds.remove(EntitySet::Sales, &key(3, 6));
    ds
}

async fn a_base_that_does_not_publish_a_catalog_fails_at_once_saying_how_to_publish_it(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = fake(rubles_only()).await;
    fake.unpublish(EntitySet::Currencies);
    t.enable_1c(&fake.base_url, &fake.host).await;
    let job = sync(&app, &t, false).await;
    // Failed on its first attempt: a missing publication is a settings error, not an outage.
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "not retried: {job}");
    let error = job["error"].as_str().unwrap();
    for needle in ["sales documents", "Catalog_Валюты", "Справочник.Валюты", "Настройки стандартного интерфейса OData", "ruble_currency_ref", RUB] {
        assert!(error.contains(needle), "the error lacks {needle:?}: {error}");
    }
    assert_eq!(job["progress"]["phase"], "sales_documents", "the phase it failed in: {}", job["progress"]);
    assert_eq!(fake.requests_to(EntitySet::Sales), 1, "one request, no retries");
    // A document set it does not publish: the same, in its phase.
    let t2 = app.tenant("Второй").await;
    let fake2 = crate::receivables::fake(rubles_only()).await;
    fake2.unpublish(EntitySet::Payments);
    t2.enable_1c(&fake2.base_url, &fake2.host).await;
    let job = sync(&app, &t2, false).await;
    assert_eq!((job["status"].as_str(), job["attempts"].as_i64()), (Some("failed"), Some(1)), "{job}");
    assert_eq!(job["progress"]["phase"], "payments");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("While reading payments") && error.contains("Документ.ПоступлениеНаРасчетныйСчет"), "{error}");
    // What was read before stays: the documents are in.
    assert_eq!(job["progress"]["sales_documents"]["created"], 3, "{}", job["progress"]);
}

async fn without_the_currency_catalog_documents_in_rubles_are_taken_and_the_report_says_so(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = fake(rubles_only()).await;
    fake.unpublish(EntitySet::Currencies);
    // The admin names the ruble's reference (the failed sync said which one the documents use).
    enable_1c_with(&t, &fake, json!({"ruble_currency_ref": RUB})).await;
    let job = sync(&app, &t, false).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let p = &job["progress"];
    assert_eq!(p["sales_documents"]["created"], 3, "{p}");
    let warnings: Vec<&str> = p["warnings"].as_array().unwrap().iter().filter_map(|w| w["reason"].as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("the plugin says:") && w.contains("Catalog_Валюты") && w.contains("rubles")),
        "the report says the catalog was done without: {warnings:#?}"
    );
    assert_eq!(warnings.iter().filter(|w| w.contains("Catalog_Валюты")).count(), 1, "said once: {warnings:#?}");
    let alfa = card_by_inn(&t, "7719402047").await;
    assert_eq!(alfa["debt"]["total"], "80000.00");
    // Documents with an empty currency reference need no catalog at all.
    let t2 = app.tenant("Второй").await;
    let mut ds = rubles_only();
    for n in [1, 2, 3, 7] {
        ds.set_field(EntitySet::Sales, &key(3, n), "ВалютаДокумента_Key", EMPTY);
    }
    ds.remove(EntitySet::Sales, &key(3, 4));
    ds.remove(EntitySet::Sales, &key(3, 5));
    ds.remove(EntitySet::Sales, &key(3, 8));
    let fake2 = crate::receivables::fake(ds).await;
    fake2.unpublish(EntitySet::Currencies);
    t2.enable_1c(&fake2.base_url, &fake2.host).await;
    let job = sync(&app, &t2, false).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"]["sales_documents"]["created"], 3);
}

async fn rejections_name_the_client_and_records_of_a_rejected_client_are_grouped_under_it(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let mut ds = base();
    // Гамма (rejected: its ИНН's check digit) also has a contract and a payment.
    ds.extend(EntitySet::Contracts, [contract(3, 3, "Г-1", Some(10))]);
    ds.extend(EntitySet::Payments, [payment(5, 3, None, days_ago(2), 500.0, None)]);
    let fake = fake(ds).await;
    t.enable_1c(&fake.base_url, &fake.host).await;
    let job = sync(&app, &t, false).await;
    let p = &job["progress"];
    let rejections = p["rejections"].as_array().unwrap();
    let gamma = rejections.iter().find(|r| r["entity"] == "counterparty").unwrap();
    assert_eq!(gamma["client"], json!({"external_id": key(1, 3), "name": "ООО \"Гамма\"", "inn": "7719402048"}), "{gamma}");
    assert!(gamma["reason"].as_str().unwrap().contains("ИНН"));
    assert_eq!(
        gamma["dependents"],
        json!({"contracts": 1, "sales_documents": 1, "payments": 1, "external_ids": [key(2, 3), key(3, 4), key(4, 5)]}),
        "its records are counted under it, not listed one by one"
    );
    for id in [key(2, 3), key(3, 4), key(4, 5)] {
        assert!(rejections.iter().all(|r| r["external_id"] != json!(id)), "{id} is listed on its own: {rejections:#?}");
    }
    // Still counted as rejected.
    assert_eq!((p["contracts"]["rejected"].as_u64(), p["payments"]["rejected"].as_u64()), (Some(1), Some(2)), "{p}");
    // A record of a client 1C does not have names its id; one of a known client names the
    // client, with its ИНН.
    let unknown = rejections.iter().find(|r| r["external_id"] == key(3, 5)).unwrap();
    assert_eq!(unknown["client"], json!({"external_id": key(1, 9), "name": null, "inn": null}));
    let usd = rejections.iter().find(|r| r["external_id"] == key(3, 6)).unwrap();
    assert_eq!(usd["client"], json!({"external_id": key(1, 1), "name": "ООО \"Альфа\"", "inn": "7719402047"}), "{usd}");
    let over = rejections.iter().find(|r| r["external_id"] == key(4, 4)).unwrap();
    assert_eq!(over["client"]["inn"], "7719402047", "a record the plugin could not read names its client too: {over}");
}

/// A УТ 11 base (`configuration: ut11`): counterparties name their partner, whose main
/// manager is the client's responsible; contracts name a manager in `Менеджер_Key`.
fn ut11_base() -> Dataset {
    let user = |n: u32| key(7, n);
    let ut_cp = |n: u32, name: &str, inn: &str, partner: Option<u32>| {
        json!({"Ref_Key": key(1, n), "DeletionMark": false, "Description": name, "НаименованиеПолное": name, "ИНН": inn, "КПП": "773101001",
               "Партнер_Key": partner.map_or(EMPTY.to_string(), |p| key(6, p))})
    };
    let ut_contract = |n: u32, owner: u32, manager: Option<u32>| {
        json!({"Ref_Key": key(2, n), "DeletionMark": false, "Owner_Key": key(1, owner), "Description": format!("Д-{n}"), "Номер": format!("Д-{n}"),
               "Дата": "2024-01-10T00:00:00", "УстановленСрокОплаты": true, "СрокОплаты": 10, "Менеджер_Key": manager.map_or(EMPTY.to_string(), user)})
    };
    let ut_sale = |n: u32, client: u32, contract: u32, amount: f64| {
        json!({"Ref_Key": key(3, n), "Number": format!("УТ-{n}"), "Date": dt(days_ago(60)), "Posted": true, "DeletionMark": false,
               "Организация_Key": ORG, "Контрагент_Key": key(1, client), "Договор_Key": key(2, contract), "Валюта_Key": RUB, "СуммаДокумента": amount})
    };
    Dataset::new()
        .with(EntitySet::Counterparties, [ut_cp(1, "ООО \"Альфа\"", "7719402047", Some(1)), ut_cp(2, "ООО \"Дельта\"", "7707083893", None)])
        .with(EntitySet::Contracts, [ut_contract(1, 1, None), ut_contract(2, 2, Some(2))])
        .with(EntitySet::Sales, [ut_sale(1, 1, 1, 1000.0), ut_sale(2, 2, 2, 2000.0)])
        .with(EntitySet::Currencies, [json!({"Ref_Key": RUB, "DeletionMark": false, "Code": "643", "Description": "руб."})])
        .with(EntitySet::Partners, [json!({"Ref_Key": key(6, 1), "DeletionMark": false, "Description": "Альфа", "ОсновнойМенеджер_Key": user(1)})])
        .with(EntitySet::Users, [
            json!({"Ref_Key": user(1), "DeletionMark": false, "Description": "Петрова Анна Сергеевна"}),
            json!({"Ref_Key": user(2), "DeletionMark": false, "Description": "Кузнецов Юрий Иванович"}),
        ])
}

async fn a_client_gets_the_manager_1c_names_once_the_admin_maps_that_1c_user(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let fake = fake(ut11_base()).await;
    enable_1c_with(&t, &fake, json!({"configuration": "ut11", "contract_manager_field": "Менеджер_Key"})).await;
    assert_eq!(sync(&app, &t, false).await["status"], "succeeded");
    // The 1C users named as responsible, for the admin to map.
    let listed = t.admin.get("/api/v1/receivables/managers").await.ok().body;
    let listed: Vec<(String, String, Value, i64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["external_id"].as_str().unwrap().to_string(), m["name"].as_str().unwrap().to_string(), m["user_id"].clone(), m["clients"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        listed,
        vec![(key(7, 2), "Кузнецов Юрий Иванович".into(), Value::Null, 1), (key(7, 1), "Петрова Анна Сергеевна".into(), Value::Null, 1)]
    );
    let alfa = card_by_inn(&t, "7719402047").await;
    let delta = card_by_inn(&t, "7707083893").await;
    assert!(alfa["responsible_id"].is_null(), "not mapped yet");
    // Managers may not map; an admin maps Петрова (Альфа's partner's manager) to a CRM user:
    // Альфа is hers at once, and is among her debtors.
    let (petrova, petrova_id) = t.user("manager").await;
    petrova.put(&format!("/api/v1/receivables/managers/{}", key(7, 1)), json!({"user_id": petrova_id})).await.expect(StatusCode::FORBIDDEN);
    let saved = t.admin.put(&format!("/api/v1/receivables/managers/{}", key(7, 1)), json!({"user_id": petrova_id})).await.ok().body;
    assert_eq!(saved["clients_assigned"], 1, "{saved}");
    let alfa_now = t.admin.get(&format!("/api/v1/counterparties/{}", alfa["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(alfa_now["responsible_id"], json!(petrova_id));
    let mine = t.admin.get(&format!("/api/v1/receivables/aging?responsible_id={petrova_id}")).await.ok().body;
    assert_eq!(mine["totals"]["counterparties"], 1, "my debtors: {mine}");
    assert_eq!(mine["items"][0]["counterparty_id"], alfa["id"]);
    // Кузнецов (Дельта's contract's manager) mapped before the next sync: the sync assigns him.
    let (_, kuznetsov_id) = t.user("manager").await;
    t.admin.put(&format!("/api/v1/receivables/managers/{}", key(7, 2)), json!({"user_id": kuznetsov_id})).await.ok();
    let job = sync(&app, &t, false).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let delta_now = t.admin.get(&format!("/api/v1/counterparties/{}", delta["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(delta_now["responsible_id"], json!(kuznetsov_id), "{delta_now}");
    // A person's choice stands: the next sync does not take Альфа back.
    t.admin.patch(&format!("/api/v1/counterparties/{}", alfa["id"].as_str().unwrap()), json!({"responsible_id": t.admin_id})).await.ok();
    assert_eq!(sync(&app, &t, true).await["status"], "succeeded");
    let alfa_after = t.admin.get(&format!("/api/v1/counterparties/{}", alfa["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(alfa_after["responsible_id"], json!(t.admin_id));
    // An unknown 1C user is a 404 that says where to look.
    let r = t.admin.put("/api/v1/receivables/managers/nobody", json!({"user_id": petrova_id})).await.expect(StatusCode::NOT_FOUND);
    assert!(r.text().contains("/receivables/managers"), "{}", r.text());
    // A base that does not publish the partners: clients come without managers, and the
    // report says so.
    let t2 = app.tenant("Второй").await;
    let fake2 = crate::receivables::fake(ut11_base()).await;
    fake2.unpublish(EntitySet::Partners);
    enable_1c_with(&t2, &fake2, json!({"configuration": "ut11"})).await;
    let job = sync(&app, &t2, false).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let warnings = job["progress"]["warnings"].to_string();
    assert!(warnings.contains("Catalog_Партнеры"), "{warnings}");
    assert_eq!(t2.admin.get("/api/v1/receivables/managers").await.ok().body, json!([]));
}

async fn a_head_assigns_a_manager_to_every_card_a_filter_takes(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let (head, _) = t.user("head").await;
    let (manager, manager_id) = t.user("manager").await;
    let mut ids = Vec::new();
    for (name, segment) in [("Опт 1", "Опт"), ("Опт 2", "Опт"), ("Розница", "Розница")] {
        let c = t.counterparty(name).await;
        let id = c["id"].as_str().unwrap().to_string();
        t.admin.patch(&format!("/api/v1/counterparties/{id}"), json!({"segment": segment})).await.ok();
        ids.push(id);
    }
    // One of the wholesale cards has a manager already.
    t.admin.patch(&format!("/api/v1/counterparties/{}", ids[1]), json!({"responsible_id": t.admin_id})).await.ok();
    let body = json!({"responsible_id": manager_id, "filter": {"segment": "Опт", "unassigned": true}});
    manager.post("/api/v1/counterparties/assign-responsible", body.clone()).await.expect(StatusCode::FORBIDDEN);
    let r = head.post("/api/v1/counterparties/assign-responsible", body).await.ok().body;
    assert_eq!(r, json!({"matched": 1, "updated": 1}));
    let theirs = t.admin.get(&format!("/api/v1/counterparties?responsible_id={manager_id}")).await.ok().body;
    let theirs: Vec<&str> = theirs["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(theirs, vec![ids[0].as_str()]);
    // By ids; again is a no-op; audited.
    let r = head.post("/api/v1/counterparties/assign-responsible", json!({"responsible_id": manager_id, "filter": {"ids": [ids[0], ids[2]]}})).await.ok().body;
    assert_eq!(r, json!({"matched": 2, "updated": 1}));
    let audit = t.admin.get(&format!("/api/v1/audit?entity_type=counterparty&entity_id={}", ids[2])).await.ok().body;
    assert!(audit["items"][0]["changes"].to_string().contains("responsible_id"), "{audit}");
    // No filter is refused; an unknown user is refused.
    let r = head.post("/api/v1/counterparties/assign-responsible", json!({"responsible_id": manager_id, "filter": {}})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["filter"]);
    let r = head
        .post("/api/v1/counterparties/assign-responsible", json!({"responsible_id": uuid::Uuid::new_v4(), "filter": {"all": true}}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["responsible_id"]);
}

