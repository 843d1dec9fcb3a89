//! Document templates per tenant: list, read, replace (checked first, refused with the
//! line at fault), preview, reset; only admins change them; a tenant's template is what its
//! claim letters are made from, and no other tenant sees it.

use axum::http::StatusCode;
use crm_tests::{Client, TestApp, on_both_engines};
use serde_json::{Value, json};

use crate::receivables::{ORG, card_by_inn, synced};

on_both_engines!(
    an_admin_lists_reads_replaces_previews_and_resets_a_template,
    a_template_with_an_unknown_variable_is_refused_naming_its_line,
    a_template_with_a_syntax_error_or_bad_markup_is_refused_naming_its_line,
    a_manager_may_not_replace_or_reset_a_template_nor_preview_a_draft,
    a_customised_claim_letter_is_used_by_the_claim_letter_endpoint,
    another_tenants_customisation_is_not_visible,
    a_hostile_client_name_comes_out_as_text_in_the_letter,
);

const CLAIM: &str = "/api/v1/templates/claim_letter";

async fn default_source(client: &Client) -> String {
    client.get(&format!("{CLAIM}/default")).await.ok().body["source"].as_str().unwrap().to_string()
}

/// The shipped template with its title replaced by `title`.
async fn retitled(client: &Client, title: &str) -> String {
    let source = default_source(client).await;
    assert!(source.contains("<title>ПРЕТЕНЗИЯ</title>"));
    source.replace("<title>ПРЕТЕНЗИЯ</title>", &format!("<title>{title}</title>"))
}

/// The source with `line` inserted as line `n` (from 1).
fn with_line(source: &str, n: usize, line: &str) -> String {
    let mut lines: Vec<&str> = source.lines().collect();
    lines.insert(n - 1, line);
    lines.join("\n")
}

async fn preview(client: &Client, body: Value) -> crm_tests::Resp {
    client.post(&format!("{CLAIM}/preview"), body).await
}

async fn an_admin_lists_reads_replaces_previews_and_resets_a_template(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let list = t.admin.get("/api/v1/templates").await.ok().body;
    let claim = list.as_array().unwrap().iter().find(|k| k["key"] == "claim_letter").expect("the claim letter is listed").clone();
    assert_eq!(claim["title"], "Претензия о погашении задолженности");
    assert_eq!(claim["customised"], false);
    assert!(claim["updated_at"].is_null());

    let view = t.admin.get(CLAIM).await.ok().body;
    assert_eq!(view["is_default"], true);
    assert_eq!(view["source"].as_str().unwrap(), default_source(&t.admin).await);
    let variables = view["variables"].as_array().unwrap();
    let debtor_name = variables.iter().find(|v| v["name"] == "debtor.name").expect("documented");
    assert_eq!((debtor_name["type"].as_str(), debtor_name["optional"].as_bool()), (Some("text"), Some(false)));
    let open = variables.iter().find(|v| v["name"] == "debts[].open").expect("documented");
    assert_eq!(open["type"], "money");
    assert!(view["filters"].as_array().unwrap().iter().any(|f| f["name"] == "rubles_in_words"));
    let samples: Vec<&str> = view["samples"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(samples, ["typical", "one_contract", "minimal"]);

    // Replace it: stored, shown as the tenant's, used by the preview.
    let source = retitled(&t.admin, "ТРЕБОВАНИЕ").await;
    let stored = t.admin.put(CLAIM, json!({"source": source})).await.ok().body;
    assert_eq!(stored["is_default"], false);
    assert_eq!(stored["source"].as_str().unwrap(), source);
    assert_eq!(stored["updated_by"], json!(t.admin_id.to_string()));
    assert_eq!(stored["updated_by_name"], "Администратор");
    let list = t.admin.get("/api/v1/templates").await.ok().body;
    assert_eq!(list[0]["customised"], true);
    assert!(list[0]["updated_at"].is_string());

    let html = preview(&t.admin, json!({})).await.ok();
    assert_eq!(html.headers["content-type"], "text/html; charset=utf-8");
    let html = html.text();
    assert!(html.contains("<h1>ТРЕБОВАНИЕ</h1>") && !html.contains("<h1>ПРЕТЕНЗИЯ</h1>"), "the tenant's template is previewed");
    assert!(html.contains("ООО «Ромашка»") && html.contains("Таблица\u{a0}4."), "with the typical sample");
    let minimal = preview(&t.admin, json!({"sample": "minimal"})).await.ok().text();
    assert!(!minimal.contains("Расчет неустойки") && minimal.contains("<h1>ТРЕБОВАНИЕ</h1>"));
    let pdf = preview(&t.admin, json!({"format": "pdf"})).await.ok();
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-") && pdf.bytes.len() > 10_000);
    let draft = preview(&t.admin, json!({"source": retitled(&t.admin, "ЧЕРНОВИК").await})).await.ok().text();
    assert!(draft.contains("<h1>ЧЕРНОВИК</h1>"), "a draft is previewed before it is stored");
    assert_eq!(t.admin.get(CLAIM).await.ok().body["source"].as_str().unwrap(), source, "and is not stored");
    let bad = preview(&t.admin, json!({"sample": "nope"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), ["sample"]);
    assert!(bad.body["errors"][0]["message"].as_str().unwrap().contains("typical, one_contract, minimal"));
    preview(&t.admin, json!({"format": "docx"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    t.admin.get("/api/v1/templates/no_such_kind").await.expect(StatusCode::NOT_FOUND);

    // Reset: the default again, once; a second reset changes nothing.
    let reset = t.admin.post_empty(&format!("{CLAIM}/reset")).await.ok().body;
    assert_eq!(reset["is_default"], true);
    assert_eq!(reset["source"].as_str().unwrap(), default_source(&t.admin).await);
    assert!(preview(&t.admin, json!({})).await.ok().text().contains("<h1>ПРЕТЕНЗИЯ</h1>"));
    t.admin.post_empty(&format!("{CLAIM}/reset")).await.ok();

    // Every change is in the audit log, with the text before and after.
    let audit = t.admin.get("/api/v1/audit?entity_type=template").await.ok().body;
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "the replace and the one reset that changed something: {audit}");
    let change = |entry: &Value, field: &str| entry["changes"].as_array().unwrap().iter().find(|c| c["field"] == field).cloned().unwrap();
    let (reset_entry, replace_entry) = (&entries[0], &entries[1]);
    assert_eq!(replace_entry["actor_id"], json!(t.admin_id.to_string()));
    assert_eq!(change(replace_entry, "is_default")["before"], true);
    assert_eq!(change(replace_entry, "source")["after"].as_str().unwrap(), source);
    assert_eq!(change(reset_entry, "source")["before"].as_str().unwrap(), source);
    assert_eq!(change(reset_entry, "is_default")["after"], true);
}

async fn a_template_with_an_unknown_variable_is_refused_naming_its_line(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let source = with_line(&default_source(&t.admin).await, 12, "<!-- {{ debtor.nmae }} -->");
    let r = t.admin.put(CLAIM, json!({"source": source})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["type"], "/problems/validation");
    assert_eq!(r.error_fields(), ["source"]);
    let error = &r.body["errors"][0];
    assert_eq!(error["message"], "line 12, column 9: unknown variable `debtor.nmae` (did you mean `debtor.name`?)");
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(12), Some(9)));
    // Never stored, and a draft preview refuses it the same way.
    assert_eq!(t.admin.get(CLAIM).await.ok().body["is_default"], true);
    let r = preview(&t.admin, json!({"source": source})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["line"], 12);
    // A misspelt field of a loop item is found by the trial render, with its line.
    let source = default_source(&t.admin).await.replace("<cell>{{ d.document }}</cell>", "<cell>{{ d.documnt }}</cell>");
    let line = source.lines().position(|l| l.contains("d.documnt")).unwrap() + 1;
    let r = t.admin.put(CLAIM, json!({"source": source})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("line {line}, column ")) && message.contains("unknown variable `d.documnt`"), "{message}");
}

async fn a_template_with_a_syntax_error_or_bad_markup_is_refused_naming_its_line(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let default = default_source(&t.admin).await;
    let at = default.lines().position(|l| l.trim() == "<title>ПРЕТЕНЗИЯ</title>").unwrap() + 1;
    for (broken, expected) in [
        (with_line(&default, at, "{{ debtor.name | }}"), format!("line {at}, column ")),
        (with_line(&default, at, "{% if debtor.inn %}ИНН"), "syntax error".to_string()),
        (default.replace("<title>ПРЕТЕНЗИЯ</title>", "<tittle>ПРЕТЕНЗИЯ</tittle>"), format!("line {at}, column 1: the document markup is wrong: unknown element <tittle>")),
        (default.replace("<title>ПРЕТЕНЗИЯ</title>", "<title>ПРЕТЕНЗИЯ"), "the document markup is wrong".to_string()),
        (default.replace("{{ total|rubles_in_words }}", "{{ total|rubles_in_word }}"), "unknown filter `rubles_in_word`".to_string()),
    ] {
        let r = t.admin.put(CLAIM, json!({"source": broken})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(&expected), "«{message}» lacks «{expected}»");
        assert!(r.body["errors"][0]["line"].is_u64(), "every problem names its line: {}", r.text());
    }
    assert_eq!(t.admin.get(CLAIM).await.ok().body["is_default"], true, "nothing was stored");
    let r = t.admin.put(CLAIM, json!({"source": "x".repeat(300 * 1024)})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("at most 256 KiB"));
    let r = t.admin.put(CLAIM, json!({"text": default})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.error_fields().is_empty());
}

async fn a_manager_may_not_replace_or_reset_a_template_nor_preview_a_draft(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (manager, _) = t.user("manager").await;
    let (head, _) = t.user("head").await;
    let source = retitled(&t.admin, "ТРЕБОВАНИЕ").await;
    for who in [&manager, &head] {
        let r = who.put(CLAIM, json!({"source": source})).await.expect(StatusCode::FORBIDDEN);
        assert!(r.body["detail"].as_str().unwrap().contains("document templates"), "{}", r.text());
        who.post_empty(&format!("{CLAIM}/reset")).await.expect(StatusCode::FORBIDDEN);
        preview(who, json!({"source": source})).await.expect(StatusCode::FORBIDDEN);
        // Reading and previewing the tenant's own template is for everyone.
        who.get("/api/v1/templates").await.ok();
        who.get(CLAIM).await.ok();
        assert!(preview(who, json!({})).await.ok().text().contains("<h1>ПРЕТЕНЗИЯ</h1>"));
    }
    assert_eq!(t.admin.get(CLAIM).await.ok().body["is_default"], true);
}

/// Our legal entity for the synced base, so that the claim letter can be made.
async fn add_creditor(t: &crm_tests::TestTenant) {
    t.admin
        .post("/api/v1/legal-entities", json!({"full_name": "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ДИСТРИБЬЮТОР\"", "short_name": "ООО \"Дистрибьютор\"",
            "inn": "7707083893", "kpp": "773601001", "accounting_ref": ORG, "bank_name": "ПАО Сбербанк", "bank_bic": "044525225",
            "bank_account": "40702810938000000001", "bank_corr_account": "30101810400000000225"}))
        .await
        .created();
}

async fn a_customised_claim_letter_is_used_by_the_claim_letter_endpoint(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    add_creditor(&t).await;
    let alfa = card_by_inn(&t, "7719402047").await;
    let letter = format!("/api/v1/counterparties/{}/claim-letter", alfa["id"].as_str().unwrap());
    assert!(t.admin.get(&format!("{letter}?format=html")).await.ok().text().contains("<h1>ПРЕТЕНЗИЯ</h1>"));
    t.admin.put(CLAIM, json!({"source": retitled(&t.admin, "ТРЕБОВАНИЕ ОБ ОПЛАТЕ").await})).await.ok();
    let html = t.admin.get(&format!("{letter}?format=html")).await.ok().text();
    assert!(html.contains("<h1>ТРЕБОВАНИЕ ОБ ОПЛАТЕ</h1>") && !html.contains("<h1>ПРЕТЕНЗИЯ</h1>"), "the tenant's template makes the letter");
    assert!(html.contains("7719402047") && html.contains("40702810938000000001"), "with the real data");
    let pdf = t.admin.get(&letter).await.ok();
    assert!(pdf.bytes.starts_with(b"%PDF-"));

    // A template that passes its checks but fails on this client's data is the tenant's to
    // fix: the letter is refused naming the line, never printed half.
    let default = default_source(&t.admin).await;
    let fragile = default.replace(
        "<cell>{{ d.document }}</cell>",
        "<cell>{{ d.document }}{% if debtor.inn == \"7719402047\" %}{{ d.remark }}{% endif %}</cell>",
    );
    let line = fragile.lines().position(|l| l.contains("d.remark")).unwrap() + 1;
    t.admin.put(CLAIM, json!({"source": fragile})).await.ok();
    let r = t.admin.get(&format!("{letter}?format=html")).await.expect(StatusCode::CONFLICT);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("line {line}, column ")) && detail.contains("unknown variable `d.remark`"), "{detail}");
    assert!(detail.contains("POST /api/v1/templates/claim_letter/reset"), "{detail}");
    t.admin.post_empty(&format!("{CLAIM}/reset")).await.ok();
    assert!(t.admin.get(&format!("{letter}?format=html")).await.ok().text().contains("<h1>ПРЕТЕНЗИЯ</h1>"));
}

async fn another_tenants_customisation_is_not_visible(app: TestApp) {
    let a = app.tenant("ООО Альфа-Фактор").await;
    let b = app.tenant("ООО Бета-Фактор").await;
    let source = retitled(&a.admin, "ТРЕБОВАНИЕ ТЕНАНТА А").await;
    a.admin.put(CLAIM, json!({"source": source})).await.ok();
    let seen = b.admin.get(CLAIM).await.ok().body;
    assert_eq!(seen["is_default"], true);
    assert!(!seen["source"].as_str().unwrap().contains("ТЕНАНТА А"));
    assert!(seen["updated_by"].is_null());
    assert_eq!(b.admin.get("/api/v1/templates").await.ok().body[0]["customised"], false);
    assert!(!preview(&b.admin, json!({})).await.ok().text().contains("ТЕНАНТА А"));
    // B's reset leaves A's template alone.
    b.admin.post_empty(&format!("{CLAIM}/reset")).await.ok();
    assert_eq!(a.admin.get(CLAIM).await.ok().body["source"].as_str().unwrap(), source);
    assert!(b.admin.get("/api/v1/audit?entity_type=template").await.ok().body["items"].as_array().unwrap().is_empty());
}

async fn a_hostile_client_name_comes_out_as_text_in_the_letter(app: TestApp) {
    let (t, _fake, _) = synced(&app).await;
    add_creditor(&t).await;
    let alfa = card_by_inn(&t, "7719402047").await;
    let id = alfa["id"].as_str().unwrap();
    let hostile = "<script>alert(1)</script> ООО \"А & Б\" </p><img src=x onerror=alert(2)>";
    t.admin.patch(&format!("/api/v1/counterparties/{id}"), json!({"short_name": hostile})).await.ok();
    let html = t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter?format=html")).await.ok().text();
    for forbidden in ["<script", "<img", "onerror=alert(2)>"] {
        assert!(!html.contains(forbidden), "«{forbidden}» leaked into the letter");
    }
    // (The letter prints the short name with Russian quotes.)
    assert!(html.contains("<b>&lt;script&gt;alert(1)&lt;/script&gt; ООО «А\u{a0}&amp; Б» &lt;/p&gt;&lt;img src=x onerror=alert(2)&gt;</b>"), "the name is printed as text");
    let pdf = t.admin.get(&format!("/api/v1/counterparties/{id}/claim-letter")).await.ok();
    assert!(pdf.bytes.starts_with(b"%PDF-"));
}
