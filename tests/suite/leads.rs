//! Lead import from spreadsheets (issue 16, part 7): existing clients and a bank's list
//! of potential clients, in XLSX written by a spreadsheet library (Cyrillic, merged
//! header cells, dates as Excel serials and as text, an ИНН that lost its leading zero
//! in a number cell) and in a Windows-1251 CSV.

use axum::http::StatusCode;
use crm_tests::{TestApp, TestTenant, on_both_engines};
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

on_both_engines!(
    existing_clients_become_cards_ready_rows_open_deals_and_a_reimport_changes_nothing,
    potential_clients_make_one_batch_per_manager_and_batch_deals_start_at_the_second_stage,
    a_file_that_is_not_a_lead_list_is_refused_saying_why_and_nothing_is_stored,
    another_tenants_imports_and_batches_are_not_found,
    new_cards_are_filled_from_the_registry_when_the_tenant_has_an_inn_module,
);

async fn new_cards_are_filled_from_the_registry_when_the_tenant_has_an_inn_module(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = crate::plugins::fake_dadata().await;
    t.admin
        .put(
            "/api/v1/modules/inn-dadata",
            serde_json::json!({"version": "0.2.0", "settings": {"base_url": fake.base_url}, "secrets": {"api_key": crate::plugins::KEY},
                   "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}}),
        )
        .await
        .ok();
    // A row without a name is fine: the registry names the company.
    let done = import(&app, &t, "existing", "list.csv", "ИНН;Наименование\n7719402047;\n".as_bytes()).await;
    let r = &done["report"];
    assert_eq!((r["created"].as_u64(), r["enriched"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(1), Some(0)), "{r}");
    let card = &t.admin.get("/api/v1/counterparties?inn=7719402047").await.ok().body["items"][0];
    assert_eq!(card["full_name"], "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МОТОРИКА\"");
    assert_eq!(card["ogrn"], "1157746078984");
    assert_eq!(fake.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// The existing-clients list: a title, a two-row header with merged cells, and rows
/// that exercise every way a cell can be written — and every reason to reject a row.
fn existing_xlsx(manager_email: &str) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let head = Format::new().set_bold();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    ws.merge_range(0, 0, 0, 7, "Клиенты для импорта на 01.12.2026", &head).unwrap();
    // ИНН, Наименование, Ответственный and Статус span both header rows; «Контакт» spans
    // three columns with its own labels below.
    for (col, label) in [(0u16, "ИНН"), (1, "Наименование"), (2, "Ответственный"), (3, "Статус")] {
        ws.merge_range(1, col, 2, col, label, &head).unwrap();
    }
    ws.merge_range(1, 4, 1, 6, "Контакт", &head).unwrap();
    ws.write_string_with_format(2, 4, "Контактное лицо", &head).unwrap();
    ws.write_string_with_format(2, 5, "Телефон", &head).unwrap();
    ws.write_string_with_format(2, 6, "E-mail", &head).unwrap();
    ws.merge_range(1, 7, 2, 7, "Дата звонка", &head).unwrap();
    // Row 4: an ИНН as a number, ready: opens a deal; the date is a date cell.
    ws.write_number(3, 0, 7707083893.0).unwrap();
    ws.write_string(3, 1, "ПАО «Сбербанк»").unwrap();
    ws.write_string(3, 2, manager_email).unwrap();
    ws.write_string(3, 3, "Готов").unwrap();
    ws.write_string(3, 4, "Иванова Мария Петровна").unwrap();
    ws.write_string(3, 5, "+7 (495) 500-55-50").unwrap();
    ws.write_string(3, 6, "buh@sber.example").unwrap();
    ws.write_datetime_with_format(3, 7, chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), &date).unwrap();
    // Row 5: an ИНН whose leading zero the number cell lost; the date an Excel serial.
    ws.write_number(4, 0, 274062111.0).unwrap();
    ws.write_string(4, 1, "ООО «Башкирская компания»").unwrap();
    ws.write_string(4, 3, "новый").unwrap();
    ws.write_number(4, 7, 46363.0).unwrap();
    // Row 6: a wrong check digit.
    ws.write_string(5, 0, "7707083894").unwrap();
    ws.write_string(5, 1, "ООО «Опечатка»").unwrap();
    // Row 7: nobody by that name.
    ws.write_string(6, 0, "7802045619").unwrap();
    ws.write_string(6, 1, "ООО «Северная»").unwrap();
    ws.write_string(6, 2, "Петров Неизвестный").unwrap();
    // Row 8: a status the tenant does not have.
    ws.write_string(7, 0, "5406023128").unwrap();
    ws.write_string(7, 1, "ООО «Сибирь»").unwrap();
    ws.write_string(7, 3, "Может быть").unwrap();
    // Row 9: a sole proprietor's 12-digit ИНН as text, the date as text.
    ws.write_string(8, 0, "500100732259").unwrap();
    ws.write_string(8, 1, "ИП Петров Пётр Петрович").unwrap();
    ws.write_string(8, 3, "В работе").unwrap();
    ws.write_string(8, 7, "15.12.2026").unwrap();
    wb.save_to_buffer().unwrap()
}

async fn preview(t: &TestTenant, mode: &str, name: &str, bytes: &[u8]) -> Value {
    t.admin.multipart("/api/v1/lead-imports/preview", &[("mode", mode.into())], ("file", name, bytes)).await.ok().body
}

/// Imports a file and runs its job; returns the import with its report.
async fn import(app: &TestApp, t: &TestTenant, mode: &str, name: &str, bytes: &[u8]) -> Value {
    let started = t.admin.multipart("/api/v1/lead-imports", &[("mode", mode.into())], ("file", name, bytes)).await.expect(StatusCode::ACCEPTED);
    let id = started.body["id"].as_str().unwrap().to_string();
    assert!(started.body["job_id"].is_string(), "{}", started.text());
    let ran = app.run_jobs().await;
    assert!(ran.iter().all(|j| j.status.as_str() == "succeeded"), "{ran:?}");
    t.admin.get(&format!("/api/v1/lead-imports/{id}")).await.ok().body
}

fn errors(report: &Value) -> Vec<(u64, String, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap_or("").to_string(), e["reason"].as_str().unwrap().to_string()))
        .collect()
}

async fn existing_clients_become_cards_ready_rows_open_deals_and_a_reimport_changes_nothing(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (_, manager_id) = t.user("manager").await;
    let manager = t.admin.get(&format!("/api/v1/users/{manager_id}")).await.ok().body;
    let email = manager["email"].as_str().unwrap().to_uppercase();
    let file = existing_xlsx(&email);

    // The preview says what would happen and stores nothing.
    let p = preview(&t, "existing", "клиенты.xlsx", &file).await;
    assert_eq!((p["rows"].as_u64(), p["created"].as_u64(), p["rejected"].as_u64(), p["deals_opened"].as_u64()), (Some(6), Some(3), Some(3), Some(1)), "{p}");
    let errs = errors(&p);
    assert_eq!(errs.iter().map(|e| (e.0, e.1.as_str())).collect::<Vec<_>>(), vec![(6, "ИНН"), (7, "Ответственный"), (8, "Статус")], "{p}");
    assert!(errs[0].2.contains("контрольное число"), "{}", errs[0].2);
    assert!(errs[1].2.contains("Петров Неизвестный"), "{}", errs[1].2);
    assert!(errs[2].2.contains("«Может быть»") && errs[2].2.contains("«Готов»"), "{}", errs[2].2);
    assert_eq!(t.admin.get("/api/v1/counterparties").await.ok().body["items"].as_array().unwrap().len(), 0);

    // The import does it: the good rows go in, the bad ones are reported.
    let done = import(&app, &t, "existing", "клиенты.xlsx", &file).await;
    let r = &done["report"];
    assert_eq!((r["created"].as_u64(), r["rejected"].as_u64(), r["deals_opened"].as_u64(), r["contacts_added"].as_u64()), (Some(3), Some(3), Some(1), Some(1)), "{r}");
    assert_eq!(errors(r).len(), 3);
    let sber = &t.admin.get("/api/v1/counterparties?inn=7707083893").await.ok().body["items"][0];
    assert_eq!(sber["full_name"], "ПАО «Сбербанк»");
    assert_eq!(sber["responsible_id"], manager_id.to_string());
    assert_eq!(sber["kind"], "legal_entity");
    let card = t.admin.get(&format!("/api/v1/counterparties/{}", sber["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(card["contacts"][0]["full_name"], "Иванова Мария Петровна");
    assert_eq!(card["contacts"][0]["emails"][0], "buh@sber.example");
    let zero = t.admin.get("/api/v1/counterparties?inn=0274062111").await.ok().body;
    assert_eq!(zero["items"][0]["full_name"], "ООО «Башкирская компания»", "the ИНН got its leading zero back: {zero}");
    let ip = t.admin.get("/api/v1/counterparties?inn=500100732259").await.ok().body;
    assert_eq!(ip["items"][0]["kind"], "sole_proprietor");
    // The ready client has a deal for its manager at the pipeline's first stage.
    let deals = t.admin.get(&format!("/api/v1/deals?counterparty_id={}", sber["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(deals["items"].as_array().unwrap().len(), 1, "{deals}");
    assert_eq!(deals["items"][0]["responsible_id"], manager_id.to_string());
    assert_eq!(deals["items"][0]["stage_id"], t.stage(0));

    // The same file again: nothing is created twice.
    let again = import(&app, &t, "existing", "клиенты.xlsx", &file).await;
    let r = &again["report"];
    assert_eq!(
        (r["created"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64(), r["deals_opened"].as_u64(), r["contacts_added"].as_u64()),
        (Some(0), Some(0), Some(3), Some(0), Some(0)),
        "{r}"
    );
    assert_eq!(t.admin.get("/api/v1/counterparties").await.ok().body["items"].as_array().unwrap().len(), 3);
    assert_eq!(t.admin.get("/api/v1/deals").await.ok().body["items"].as_array().unwrap().len(), 1);
}

async fn potential_clients_make_one_batch_per_manager_and_batch_deals_start_at_the_second_stage(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (_, m1) = t.user("manager").await;
    let (_, m2) = t.user("manager").await;
    let e1 = t.admin.get(&format!("/api/v1/users/{m1}")).await.ok().body["email"].as_str().unwrap().to_string();
    let e2 = t.admin.get(&format!("/api/v1/users/{m2}")).await.ok().body["email"].as_str().unwrap().to_string();
    // A bank's list as Excel saves CSV in Russia: Windows-1251, `;`.
    let csv = format!(
        "ИНН;Наименование;Ответственный;Дата звонка\n7707083893;ПАО Сбербанк;{e1};07.12.2026\n7802045619;ООО Северная;{e1};2026-12-08\n5406023128;ООО Сибирь;{e2};\n0268001142;ООО Уфа;{e2};завтра\n"
    );
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&csv);
    let done = import(&app, &t, "potential", "список банка.csv", &bytes).await;
    let r = &done["report"];
    assert_eq!((r["created"].as_u64(), r["rejected"].as_u64(), r["deals_opened"].as_u64()), (Some(3), Some(1), Some(0)), "{r}");
    assert_eq!(errors(r), vec![(5, "Дата звонка".to_string(), "«завтра» — не дата; напишите ДД.ММ.ГГГГ".to_string())]);
    let batches = t.admin.get("/api/v1/lead-batches").await.ok().body;
    let batches = batches.as_array().unwrap();
    assert_eq!(batches.len(), 2, "one batch per manager: {batches:?}");
    let first = batches.iter().find(|b| b["responsible_id"] == m1.to_string()).expect("the first manager's batch");
    let bid = first["id"].as_str().unwrap();
    let batch = t.admin.get(&format!("/api/v1/lead-batches/{bid}")).await.ok().body;
    assert_eq!(batch["items"].as_array().unwrap().len(), 2);
    assert_eq!(batch["items"][0]["call_on"], "2026-12-07");
    assert_eq!(batch["items"][1]["call_on"], "2026-12-08");
    // After the call the manager opens a deal: it starts at the second stage.
    let cp = batch["items"][0]["counterparty_id"].as_str().unwrap();
    let deal = t.admin.post_empty(&format!("/api/v1/lead-batches/{bid}/items/{cp}/deal")).await.created();
    assert_eq!(deal.body["stage_id"], t.stage(1));
    assert_eq!(deal.body["responsible_id"], m1.to_string());
    t.admin.post_empty(&format!("/api/v1/lead-batches/{bid}/items/{cp}/deal")).await.expect(StatusCode::CONFLICT);
    // The same list again: the same batches, no new cards or items.
    let again = import(&app, &t, "potential", "список банка.csv", &bytes).await;
    assert_eq!(again["report"]["created"], 0, "{}", again["report"]);
    assert_eq!(t.admin.get("/api/v1/lead-batches").await.ok().body.as_array().unwrap().len(), 2);
    assert_eq!(t.admin.get(&format!("/api/v1/lead-batches/{bid}")).await.ok().body["items"].as_array().unwrap().len(), 2);
}

async fn a_file_that_is_not_a_lead_list_is_refused_saying_why_and_nothing_is_stored(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t.admin.multipart("/api/v1/lead-imports", &[("mode", "existing".into())], ("file", "list.csv", "Название;Статус\nООО Ромашка;Готов\n".as_bytes())).await;
    let r = r.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["file"]);
    assert!(r.text().contains("ИНН"), "{}", r.text());
    let r = t.admin.multipart("/api/v1/lead-imports", &[("mode", "existing".into())], ("file", "list.xlsx", b"PK\x03\x04 not really a zip")).await;
    assert_eq!(r.expect(StatusCode::UNPROCESSABLE_ENTITY).error_fields(), vec!["file"]);
    let r = t.admin.multipart("/api/v1/lead-imports", &[("mode", "всё подряд".into())], ("file", "list.csv", b"x")).await;
    assert_eq!(r.expect(StatusCode::UNPROCESSABLE_ENTITY).error_fields(), vec!["mode"]);
    assert!(t.admin.get("/api/v1/lead-imports").await.ok().body.as_array().unwrap().is_empty());
    assert!(app.run_jobs().await.is_empty());
}

async fn another_tenants_imports_and_batches_are_not_found(app: TestApp) {
    let a = app.tenant("ООО А").await;
    let b = app.tenant("ООО Б").await;
    let csv = format!("ИНН;Наименование;Ответственный\n7707083893;ПАО Сбербанк;{}\n", a.admin_email().await);
    let done = import(&app, &a, "potential", "a.csv", csv.as_bytes()).await;
    let id = done["id"].as_str().unwrap();
    let batch = a.admin.get("/api/v1/lead-batches").await.ok().body[0]["id"].as_str().unwrap().to_string();
    b.admin.get(&format!("/api/v1/lead-imports/{id}")).await.expect(StatusCode::NOT_FOUND);
    b.admin.get(&format!("/api/v1/lead-batches/{batch}")).await.expect(StatusCode::NOT_FOUND);
    assert!(b.admin.get("/api/v1/lead-batches").await.ok().body.as_array().unwrap().is_empty());
    let cp = a.admin.get(&format!("/api/v1/lead-batches/{batch}")).await.ok().body["items"][0]["counterparty_id"].as_str().unwrap().to_string();
    b.admin.post_empty(&format!("/api/v1/lead-batches/{batch}/items/{cp}/deal")).await.expect(StatusCode::NOT_FOUND);
}
