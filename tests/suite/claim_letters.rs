//! The claim letter a lawyer can sign (issue 11, item 4): it signs for our legal entity
//! (its head, or a representative by power of attorney), names the debtor as it reads
//! after «Между … и», words its deadline as the tenant chose, cites the primary documents,
//! and is stored on the client with a timeline entry when asked.

use axum::http::StatusCode;
use crm_fake_1c::EntitySet;
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

use crate::receivables::{ORG, base, card_by_inn, fake, key, sync, today};

on_both_engines!(
    the_claim_letter_signs_for_our_legal_entity_with_its_head_or_a_representative,
    the_debtor_is_named_as_it_reads_after_between_and_documents_by_their_primary_document,
    the_deadline_is_worded_as_the_tenant_chose,
    a_saved_claim_letter_is_a_document_on_the_client_with_its_timeline_and_the_day_it_was_sent,
);

fn plain(html: String) -> String {
    html.replace('\u{a0}', " ")
}

/// A tenant synced from [`base`] (with `primary_document` set, if given) and our legal
/// entity with its head and a representative by power of attorney.
async fn setup(app: &TestApp, primary_document: Option<&str>) -> (TestTenant, String, String) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let mut ds = base();
    ds.set_field(EntitySet::Sales, &key(3, 2), "ВидОперации", "Услуги");
    let fake = fake(ds).await;
    let mut settings = json!({"base_url": fake.base_url, "username": "odata"});
    if let Some(p) = primary_document {
        settings["primary_document"] = json!(p);
    }
    t.admin
        .put("/api/v1/modules/accounting-1c", json!({"version": "0.2.0", "settings": settings, "secrets": {"password": "secret"},
            "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}}))
        .await
        .ok();
    assert_eq!(sync(app, &t, false).await["status"], "succeeded");
    let le = t
        .admin
        .post("/api/v1/legal-entities", json!({"full_name": "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ДИСТРИБЬЮТОР\"",
            "inn": "7707083893", "kpp": "773601001", "accounting_ref": ORG,
            "head_post": "Генеральный директор", "head_name": "Петров Петр Петрович",
            "signatory_post": "Представитель", "signatory_name": "Сидоров Сергей Сергеевич", "signatory_authority": "доверенности № 5 от 01.01.2025"}))
        .await
        .created()
        .body;
    let alfa = card_by_inn(&t, "7719402047").await;
    (t, alfa["id"].as_str().unwrap().to_string(), le["id"].as_str().unwrap().to_string())
}

async fn the_claim_letter_signs_for_our_legal_entity_with_its_head_or_a_representative(app: TestApp) {
    let (t, alfa, le) = setup(&app, None).await;
    // A representative by power of attorney signs when there is one.
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?format=html")).await.ok().text());
    assert!(html.contains("Представитель по доверенности № 5 от 01.01.2025"), "{html}");
    assert!(html.contains("Сидоров С. С."), "{html}");
    assert!(!html.contains("Петров"), "{html}");
    // Or the head, when asked.
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?format=html&signer=head")).await.ok().text());
    assert!(html.contains("Генеральный директор<br>ООО «ДИСТРИБЬЮТОР»"), "{html}");
    assert!(html.contains("Петров П. П."), "{html}");
    // The legal entity keeps them; a power of attorney needs its representative.
    let r = t.admin.patch(&format!("/api/v1/legal-entities/{le}"), json!({"signatory_name": null})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["signatory_name"]);
    t.admin.patch(&format!("/api/v1/legal-entities/{le}"), json!({"signatory_name": null, "signatory_authority": null, "signatory_post": null})).await.ok();
    let r = t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?format=html&signer=attorney")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["signer"]);
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?format=html")).await.ok().text());
    assert!(html.contains("Петров П. П."), "without a representative the head signs: {html}");
}

async fn the_debtor_is_named_as_it_reads_after_between_and_documents_by_their_primary_document(app: TestApp) {
    let (t, alfa, _) = setup(&app, None).await;
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?format=html")).await.ok().text());
    assert!(html.contains("Между ООО «ДИСТРИБЬЮТОР» (далее — Кредитор) и ООО «Альфа» (далее — Должник)"), "{html}");
    assert!(!html.contains("ОБЩЕСТВО С ОГРАНИЧЕННОЙ"), "not the registry's full name: {html}");
    // The overdue document is a sale of goods: cited by its waybill.
    assert!(html.contains("Товарная накладная (ТОРГ-12) № 0000-000001"), "{html}");
    // A sole proprietor declines after «и».
    let beta = card_by_inn(&t, "500100732259").await;
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{}/claim-letter?format=html", beta["id"].as_str().unwrap())).await.ok().text());
    assert!(html.contains("и индивидуальным предпринимателем Бетой Борисом Борисовичем (далее — Должник)"), "{html}");
    // A base whose sales are all issued as УПД says so in the module's settings.
    let (t2, alfa2, _) = setup(&app, Some("УПД")).await;
    let html = plain(t2.admin.get(&format!("/api/v1/counterparties/{alfa2}/claim-letter?format=html")).await.ok().text());
    assert!(html.contains("УПД № 0000-000001"), "{html}");
    let doc = t2.admin.get(&format!("/api/v1/sales-documents?counterparty_id={alfa2}")).await.ok().body;
    assert!(doc["items"].as_array().unwrap().iter().all(|d| d["primary_document"] == "УПД"), "{doc}");
}

async fn the_deadline_is_worded_as_the_tenant_chose(app: TestApp) {
    let (t, alfa, _) = setup(&app, None).await;
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?format=html")).await.ok().text());
    assert!(html.contains("в течение 30 календарных дней с даты получения настоящей претензии перечислить"), "{html}");
    assert!(!html.contains("не позднее"), "no date that contradicts a deadline from receipt: {html}");
    // The tenant chooses a date, counted from the letter's date.
    let mut s = t.admin.get("/api/v1/receivables/settings").await.ok().body;
    assert_eq!(s["claim_deadline_mode"], "from_receipt");
    s["claim_deadline_mode"] = json!("by_date");
    s["claim_deadline_days"] = json!(10);
    t.admin.put("/api/v1/receivables/settings", s).await.ok();
    let html = plain(t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?format=html")).await.ok().text());
    let pay_by = crm_host::receivables::calendar::due_date(today(), 10);
    let date = crm_host::receivables::claim_letter::words::date_long(pay_by).replace('\u{a0}', " ");
    assert!(html.contains(&format!("не позднее <b>{date}</b> (10 календарных дней с даты настоящей претензии)")), "{date}: {html}");
    assert!(!html.contains("получения"), "{html}");
}

async fn a_saved_claim_letter_is_a_document_on_the_client_with_its_timeline_and_the_day_it_was_sent(app: TestApp) {
    let (t, alfa, le) = setup(&app, None).await;
    // A manager may not save a letter to a client that is someone else's.
    let (manager, _) = t.user("manager").await;
    t.admin.patch(&format!("/api/v1/counterparties/{alfa}"), json!({"responsible_id": t.admin_id})).await.ok();
    manager.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?save=true")).await.expect(StatusCode::FORBIDDEN);
    let r = t.admin.get(&format!("/api/v1/counterparties/{alfa}/claim-letter?save=true&number=17-П")).await.expect(StatusCode::CREATED);
    let stored = r.body.clone();
    assert_eq!(r.headers["location"], format!("/api/v1/claim-letters/{}", stored["id"].as_str().unwrap()));
    assert_eq!(stored["counterparty_id"], json!(alfa));
    assert_eq!(stored["legal_entity_id"], json!(le));
    assert_eq!(stored["number"], "17-П");
    assert_eq!(stored["letter_date"], json!(today().to_string()));
    assert_eq!(stored["principal"], "60000.00");
    assert!(stored["sent_on"].is_null());
    // The file is a document on the client.
    let doc_id = stored["document_id"].as_str().unwrap();
    let doc = t.admin.get(&format!("/api/v1/documents/{doc_id}")).await.ok().body;
    assert_eq!((doc["kind"].as_str(), doc["counterparty_id"].as_str()), (Some("claim_letter"), Some(alfa.as_str())));
    let file = t.admin.get(&format!("/api/v1/documents/{doc_id}/content")).await.ok();
    assert!(file.bytes.starts_with(b"%PDF-"));
    let listed = t.admin.get(&format!("/api/v1/claim-letters?counterparty_id={alfa}")).await.ok().body;
    assert_eq!(listed["items"][0]["id"], stored["id"]);
    // The day it was sent is recorded, and both show in the client's timeline.
    let id = stored["id"].as_str().unwrap();
    let tomorrow = today() + chrono::Days::new(1);
    let r = t.admin.patch(&format!("/api/v1/claim-letters/{id}"), json!({"sent_on": tomorrow})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["sent_on"]);
    let sent = t.admin.patch(&format!("/api/v1/claim-letters/{id}"), json!({"sent_on": today()})).await.ok().body;
    assert_eq!(sent["sent_on"], json!(today().to_string()));
    let timeline = t.admin.get(&format!("/api/v1/counterparties/{alfa}/timeline")).await.ok().body;
    let summaries: Vec<&str> = timeline["items"].as_array().unwrap().iter().filter_map(|e| e["summary"].as_str()).collect();
    assert!(summaries.iter().any(|s| s.contains("Сформирована претензия № 17-П")), "{summaries:?}");
    assert!(summaries.iter().any(|s| s.contains("отправлена")), "{summaries:?}");
    // Another tenant sees none of it.
    let other = app.tenant("Другой").await;
    other.admin.get(&format!("/api/v1/claim-letters/{id}")).await.expect(StatusCode::NOT_FOUND);
    let _: Value = other.admin.get("/api/v1/claim-letters").await.ok().body;
}
