#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
//! The managers' pages in a real headless Chromium (Debian's `chromium`), through the
//! flows the pages exist for: sign-in and sign-out, finding a client and its red debt,
//! a kanban move a gate refuses and one it allows, closing a task with its file, the
//! aging drill-down and the XLSX, a module enabled with a secret, and a sync's live
//! progress. Each flow also leaves screenshots (`CRM_UPDATE_DOCS=1` refreshes the ones in
//! `docs/pages/`). The same flows over plain HTTP, on both engines, are in
//! `tests/suite/pages.rs`.

use std::sync::Arc;

use axum::http::StatusCode;
use crm_fake_1c::{FakeOneC, Options, demo};
use crm_tests::browser::BrowserTest;
use crm_tests::{TestApp, TestTenant};
use serde_json::json;

const PASSWORD: &str = "пароль-менеджера-1";

async fn tenant_with_password(app: &TestApp) -> (TestTenant, String) {
    let t = app.tenant("ООО Ромашка").await;
    t.admin.put(&format!("/api/v1/users/{}/password", t.admin_id), json!({"password": PASSWORD})).await.expect(StatusCode::NO_CONTENT);
    let email = t.admin_email().await;
    (t, email)
}

async fn synced(app: &TestApp, t: &TestTenant) -> FakeOneC {
    let today = chrono::Utc::now().date_naive();
    let fake = FakeOneC::start(Arc::new(demo(today)), Options::default()).await.unwrap();
    t.enable_1c(&fake.base_url, &fake.host).await;
    t.admin.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::ACCEPTED);
    app.run_jobs().await;
    fake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_and_out() {
    let app = TestApp::sqlite().await;
    let (_t, email) = tenant_with_password(&app).await;
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.open("/clients").await;
    assert!(b.path().await.starts_with("/login?next="), "signed-out users land on the sign-in form");
    b.fill("#email", &email).await;
    b.fill("#password", "не-тот-пароль").await;
    b.click_and_wait("button[type=submit]").await;
    assert_eq!(b.text("#login-error").await, "Неверный e-mail или пароль.");
    b.screenshot("login").await;
    b.fill("#password", PASSWORD).await;
    b.click_and_wait("button[type=submit]").await;
    assert_eq!(b.path().await, "/clients", "back where the user was going");
    assert!(b.text("header.top .who").await.contains("Администратор"));
    // The session cookie is out of reach of scripts.
    let cookies: String = b.eval("document.cookie").await;
    assert!(!cookies.contains("crm_session"));
    b.click_and_wait("header.top button.link").await;
    assert_eq!(b.path().await, "/login");
    b.open("/tasks").await;
    assert!(b.path().await.starts_with("/login"), "signed out for good");
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_finds_a_client_and_sees_its_debt_in_red() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let _fake = synced(&app, &t).await;
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/clients").await;
    b.fill("#q", "магистраль").await;
    b.click_and_wait("form.filters button[type=submit]").await;
    b.screenshot("clients").await;
    let rows: i64 = b.eval("document.querySelectorAll('tbody tr').length").await;
    assert_eq!(rows, 1, "one client matches");
    b.click_and_wait("tbody tr td a").await;
    assert!(b.path().await.starts_with("/clients/"));
    let overdue = b.text("#debt-overdue").await;
    assert!(overdue.starts_with("Просрочено: ") && overdue.contains("₽"), "{overdue}");
    let colour: String = b.eval("getComputedStyle(document.querySelector('#debt-overdue')).color").await;
    assert_eq!(colour, "rgb(180, 35, 24)", "the overdue part is red");
    let stars: String = b.eval("document.querySelector('.stars').getAttribute('aria-label')").await;
    assert!(stars.starts_with("Рейтинг плательщика: "), "{stars}");
    b.screenshot("client-card").await;
    // At phone width the card still reads, without sideways scrolling of the page.
    b.page.execute(chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams::new(390, 844, 2.0, true)).await.unwrap();
    let wide: bool = b.eval("document.documentElement.scrollWidth > window.innerWidth + 1").await;
    assert!(!wide, "the card fits a phone's width");
    b.screenshot("client-card-phone").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kanban_move_is_refused_by_the_gate_then_allowed() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let cp = t.counterparty("ООО «Моторика»").await;
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Факторинг 5 млн", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "amount": "5000000.00"})).await.created().body;
    let id = deal["id"].as_str().unwrap().to_string();
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/deals").await;
    // «Коммерческое предложение» needs the factoring type and the limit: the card says so.
    b.select(&format!("#stage-{id}"), &t.stage(2)).await;
    b.click(&format!("#deal-{id} form.move button")).await;
    b.wait_for(&format!("document.querySelector('#deal-{id} .refusal')")).await;
    let refusal = b.text(&format!("#deal-{id} .refusal")).await;
    assert!(refusal.contains("Сделку нельзя перенести") && refusal.contains("заполните поле «Вид факторинга»") && refusal.contains("заполните поле «Лимит»"), "{refusal}");
    let column: String = b.eval(&format!("document.querySelector('#deal-{id}').closest('.column').dataset.stage")).await;
    assert_eq!(column, t.stage(0), "the card stays where it was");
    b.screenshot("kanban-refused").await;
    // With the parameters filled in, the same move goes through and the heads follow.
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"factoring_type": "without_recourse", "limit": "5000000.00"}})).await.ok();
    b.select(&format!("#stage-{id}"), &t.stage(2)).await;
    b.click(&format!("#deal-{id} form.move button")).await;
    b.wait_for(&format!("document.querySelector('#deal-{id}').closest('.column').dataset.stage === '{}'", t.stage(2))).await;
    b.wait_for(&format!("document.querySelector('.column[data-stage=\"{}\"] .count').innerText === '1 сделка'", t.stage(2))).await;
    let first_count = b.text(&format!(".column[data-stage=\"{}\"] .count", t.stage(0))).await;
    assert_eq!(first_count, "0 сделок");
    let moved = t.admin.get(&format!("/api/v1/deals/{id}")).await.ok().body;
    assert_eq!(moved["stage_name"], "Коммерческое предложение");
    b.screenshot("kanban").await;
    b.open(&format!("/deals/{id}")).await;
    assert!(b.text("main").await.contains("«Горячий лид» → «Коммерческое предложение»"));
    b.screenshot("deal").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_demands_a_file_is_closed_with_it() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let cp = t.counterparty("ООО Клиент").await;
    let due = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let task = t.admin.post("/api/v1/tasks", json!({"title": "Получить акт сверки", "assignee_id": t.admin_id, "counterparty_id": cp["id"], "requires_file": true, "due_at": due})).await.created().body;
    let id = task["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("акт сверки.pdf");
    std::fs::write(&file, b"%PDF-1.4 act").unwrap();
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/tasks").await;
    assert!(b.text(&format!("#task-{id}")).await.contains("просрочена"));
    b.screenshot("tasks").await;
    b.choose_file(&format!("#file-{id}"), &file).await;
    b.click_and_wait(&format!("#task-{id} button[type=submit]")).await;
    assert_eq!(b.text("#task-done").await, "Задача закрыта.");
    let done = t.admin.get(&format!("/api/v1/tasks/{id}")).await.ok().body;
    assert_eq!(done["status"], "done");
    let docs = t.admin.get(&format!("/api/v1/documents?task_id={id}")).await.ok().body;
    assert_eq!(docs["items"][0]["file_name"], "акт сверки.pdf");
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_drills_into_owed_to_us_and_downloads_the_xlsx() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let _fake = synced(&app, &t).await;
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/receivables").await;
    let bars: i64 = b.eval("document.querySelectorAll('figure.chart rect').length").await;
    assert!(bars >= 4, "the aging chart has a bar per bucket");
    b.screenshot("aging").await;
    // The XLSX, downloaded by the browser with its session.
    let xlsx: serde_json::Value = b
        .eval("fetch(document.querySelector('#export-xlsx').href).then(async r => { const a = new Uint8Array(await r.arrayBuffer()); return {status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), pk: String.fromCharCode(a[0], a[1]), size: a.length}; })")
        .await;
    assert_eq!(xlsx["status"], 200);
    assert!(xlsx["type"].as_str().unwrap().contains("spreadsheetml"));
    assert!(xlsx["disposition"].as_str().unwrap().contains("attachment"));
    assert_eq!(xlsx["pk"], "PK");
    // Into the first client's debts, then into one debt and the work done on it.
    b.click_and_wait("main table tbody tr td a").await;
    assert!(b.path().await.ends_with("/debts"));
    b.screenshot("client-debts").await;
    b.click_and_wait("main table tbody tr td a").await;
    assert!(b.path().await.starts_with("/debts/"));
    assert!(b.text("main").await.contains("Работа с долгом"));
    b.screenshot("debt").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_enables_a_module_with_a_secret() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/admin/modules").await;
    b.screenshot("modules").await;
    b.click_and_wait("a[href='/admin/modules/new?plugin=inn-dadata']").await;
    b.fill("#setting-api_key", "секретный-ключ-dadata").await;
    b.click_and_wait("main form button[type=submit]").await;
    assert_eq!(b.text("#module-saved").await, "Настройки сохранены.");
    let value: String = b.eval("document.querySelector('#setting-api_key').value").await;
    assert_eq!(value, "", "a secret is never sent back to the page");
    let html: String = b.eval("document.documentElement.outerHTML").await;
    assert!(!html.contains("секретный-ключ-dadata"));
    b.screenshot("module").await;
    let m = t.admin.get("/api/v1/modules/inn-dadata").await.ok().body;
    assert_eq!(m["enabled"], true);
    assert_eq!(m["secrets_set"], json!(["api_key"]));
    b.open("/admin/plugin-runs").await;
    b.screenshot("plugin-runs").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_starts_a_sync_and_watches_its_progress() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let today = chrono::Utc::now().date_naive();
    let fake = FakeOneC::start(Arc::new(demo(today)), Options::default()).await.unwrap();
    t.enable_1c(&fake.base_url, &fake.host).await;
    // The job workers, as `crm serve` runs them.
    let stop = tokio_util::sync::CancellationToken::new();
    let workers = crm_host::jobs::runner::spawn(app.state.clone(), crm_tests::test_runner(), stop.clone());
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/jobs").await;
    b.click_and_wait("form[action='/jobs/sync'] button").await;
    assert!(b.path().await.starts_with("/jobs/"));
    // The page updates itself: the same page load ends showing the finished report.
    b.eval::<bool>("(window.__samePage = true)").await;
    b.wait_for("document.querySelector('#job-progress [data-finished]')").await;
    assert!(b.eval::<bool>("window.__samePage === true").await, "no reload was needed");
    assert_eq!(b.text("#job-status").await, "завершено");
    assert_eq!(b.text("#job-phase").await, "готово");
    assert!(b.text("#job-progress").await.contains("Контрагенты"));
    b.screenshot("job").await;
    b.finish().await;
    stop.cancel();
    let _ = workers.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_imports_a_client_list_after_seeing_what_it_will_do() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("клиенты.csv");
    let list = format!("ИНН;Наименование;Ответственный;Статус\n7707083893;ПАО Сбербанк;{email};Готов\n7707083894;ООО Опечатка;;Новый\n");
    std::fs::write(&file, list).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let workers = crm_host::jobs::runner::spawn(app.state.clone(), crm_tests::test_runner(), stop.clone());
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/leads").await;
    b.select("#lead-mode", "existing").await;
    b.choose_file("#lead-file", &file).await;
    b.click_and_wait("form[action^='/leads'] button[type=submit]").await;
    // The preview: one card, one deal, and the bad row with its reason; nothing stored yet.
    assert!(b.path().await.starts_with("/leads/imports/"));
    let rejected = b.text("#rejected-rows").await;
    assert!(rejected.contains("контрольное число"), "{rejected}");
    b.screenshot("lead-import").await;
    assert_eq!(t.admin.get("/api/v1/counterparties").await.ok().body["items"].as_array().unwrap().len(), 0);
    b.click_and_wait("form[action$='/run'] button").await;
    assert!(b.path().await.starts_with("/jobs/"));
    b.wait_for("document.querySelector('#job-progress [data-finished]')").await;
    assert!(b.text("#job-rows").await.contains("1 из 1"), "{}", b.text("#job-progress").await);
    let cards = t.admin.get("/api/v1/counterparties?inn=7707083893").await.ok().body;
    assert_eq!(cards["items"][0]["full_name"], "ПАО Сбербанк");
    assert_eq!(t.admin.get("/api/v1/deals").await.ok().body["items"].as_array().unwrap().len(), 1);
    b.finish().await;
    stop.cancel();
    let _ = workers.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_the_api_reference_load_nothing_from_the_internet() {
    let app = TestApp::sqlite().await;
    let (_t, email) = tenant_with_password(&app).await;
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    let outside = format!(
        "performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('{}') && !n.startsWith('data:') && !n.startsWith('blob:'))",
        b.base
    );
    for path in ["/tasks", "/clients", "/deals", "/receivables", "/leads", "/jobs", "/admin/modules", "/admin/users", "/admin/mail", "/reminders", "/reminders/log", "/account"] {
        b.open(path).await;
        let fetched: Vec<String> = b.eval(&outside).await;
        assert!(fetched.is_empty(), "{path} fetched {fetched:?}");
    }
    // The API reference renders from the embedded bundle, without the hosted extras.
    b.open("/api/v1/docs").await;
    b.wait_for("document.body.innerText.includes('Receivables & deals CRM API')").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let fetched: Vec<String> = b.eval(&outside).await;
    assert!(fetched.is_empty(), "the API reference fetched {fetched:?}");
    let text: String = b.eval("document.body.innerText").await;
    for extra in ["Ask AI", "Deploy", "Share"] {
        assert!(!text.contains(extra), "the API reference shows «{extra}»");
    }
    b.screenshot("api-docs").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_approves_from_the_inbox_with_the_conclusion_attached() {
    let app = TestApp::sqlite().await;
    let t = app.tenant("ООО Ромашка").await;
    let email = "sb-approver@example.test";
    let user = t
        .admin
        .post("/api/v1/users", json!({"email": email, "full_name": "Сергеев Борис", "role": "manager", "departments": ["security"]}))
        .await
        .created()
        .body;
    t.admin.put(&format!("/api/v1/users/{}/password", user["id"].as_str().unwrap()), json!({"password": PASSWORD})).await.expect(StatusCode::NO_CONTENT);
    let cp = t.counterparty("ООО Клиент").await;
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Факторинг 5 млн", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]})).await.created().body;
    let deal_id = deal["id"].as_str().unwrap().to_string();
    let run = t.admin.post(&format!("/api/v1/deals/{deal_id}/approvals"), json!({"subject": "application"})).await.created().body;
    let run_id = run["id"].as_str().unwrap().to_string();
    let step = run["steps"].as_array().unwrap().iter().find(|s| s["name"] == "Служба безопасности").unwrap()["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("заключение СБ.pdf");
    std::fs::write(&file, b"%PDF-1.4 conclusion").unwrap();
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(email, PASSWORD).await;
    b.open("/approvals").await;
    assert!(b.text(&format!("#step-{step}")).await.contains("Для согласования нужен документ «Заключение СБ»"));
    b.screenshot("approvals").await;
    // Approving before the conclusion is attached is refused, naming its kind.
    b.click_and_wait(&format!("#approve-{step}")).await;
    assert!(b.text(&format!("#step-{step} .refusal")).await.contains("приложите к сделке документ «Заключение СБ»"));
    b.choose_file(&format!("#file-{step}"), &file).await;
    b.click_and_wait(&format!("#attach-{step}")).await;
    assert!(b.text(&format!("#step-{step}")).await.contains("приложен"));
    b.click_and_wait(&format!("#approve-{step}")).await;
    assert_eq!(b.text("#decision-done").await, "Решение принято.");
    let after = t.admin.get(&format!("/api/v1/approvals/{run_id}")).await.ok().body;
    let sb = after["steps"].as_array().unwrap().iter().find(|s| s["name"] == "Служба безопасности").unwrap().clone();
    assert_eq!(sb["status"], "approved");
    let docs = t.admin.get(&format!("/api/v1/documents?deal_id={deal_id}")).await.ok().body;
    assert_eq!(docs["items"][0]["kind"], "Заключение СБ");
    let approve = after["history"].as_array().unwrap().iter().find(|e| e["action"] == "approve").unwrap().clone();
    assert_eq!(approve["document_id"], docs["items"][0]["id"]);
    // The route's printable history names who approved, with the file.
    b.open(&format!("/approvals/{run_id}")).await;
    let history = b.text("#history").await;
    assert!(history.contains("Сергеев Борис") && history.contains("Согласовано"), "{history}");
    b.screenshot("approval-history").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_opens_a_change_of_terms_and_sees_what_changed() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let cp = t.counterparty("ООО «Моторика»").await;
    let params = json!({"factoring_type": "with_recourse", "deal_kind": "flow", "limit": "5000000.00", "term_days": 90, "deferral_days": 60});
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Факторинг 5 млн", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "params": params})).await.created().body;
    let id = deal["id"].as_str().unwrap().to_string();
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open(&format!("/deals/{id}")).await;
    b.click_and_wait("#change-terms").await;
    let path = b.path().await;
    assert!(path.starts_with("/deals/") && !path.ends_with(&id), "the new deal's page opens: {path}");
    let main = b.text("main").await;
    assert!(main.contains("Изменение условий: Факторинг 5 млн") && main.contains("Сбор документов"), "{main}");
    assert!(b.text("#terms-changes").await.contains("Условия пока не менялись"));
    // The new terms, then the comparison against the original.
    let new_id = path.trim_start_matches("/deals/").to_string();
    t.admin.patch(&format!("/api/v1/deals/{new_id}"), json!({"params": {"limit": "8000000.00"}})).await.ok();
    b.open(&path).await;
    let table = b.text("#terms-changes").await.replace('\u{a0}', " ");
    assert!(table.contains("Лимит") && table.contains("5 000 000,00") && table.contains("8 000 000,00"), "{table}");
    b.screenshot("change-of-terms").await;
    // The printed application to the credit committee opens from the deal.
    b.open(&format!("/deals/{new_id}/credit-application")).await;
    let application = b.text("body").await.replace('\u{a0}', " ");
    assert!(application.contains("Факторинг с правом регресса"), "{application}");
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_records_a_promise_to_pay_on_the_clients_reminders() {
    let app = TestApp::sqlite().await;
    let (t, email) = tenant_with_password(&app).await;
    let _fake = synced(&app, &t).await;
    let Some(b) = BrowserTest::start(&app).await else { return };
    b.sign_in(&email, PASSWORD).await;
    b.open("/clients").await;
    b.fill("#q", "магистраль").await;
    b.click_and_wait("form.filters button[type=submit]").await;
    b.click_and_wait("tbody tr td a").await;
    b.click_and_wait("a[href^='/clients/'][href$='/reminders']").await;
    assert!(b.text("main").await.contains("Почему сегодня"));
    // The client promises to pay by the end of next month; every open debt is ticked.
    let by = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    b.fill("#promise-amount", "150 000,00").await;
    b.eval::<serde_json::Value>(&format!("document.querySelector('#promise-date').value = '{by}'")).await;
    b.fill("#promise-note", "Обещал в звонке").await;
    b.click_and_wait("#promise-form button[type=submit]").await;
    let main = b.text("main").await.replace('\u{a0}', " ");
    assert!(main.contains("150 000,00") && main.contains("ожидается") && main.contains("Обещал в звонке"), "{main}");
    // Why today, rule by rule, for this client's debts.
    assert!(b.text("#why").await.contains("Документ №"), "{}", b.text("#why").await);
    b.screenshot("client-reminders").await;
    b.open("/reminders").await;
    assert!(b.text("main").await.contains("Стандартные напоминания о долгах"));
    b.screenshot("reminders").await;
    b.finish().await;
}
