//! The managers' pages over HTTP, on both engines: sign-in and sessions, CSRF, the
//! throttle, escaping, tenant isolation of every page, error pages, stage gates on the
//! kanban, the card's red debt, the task inbox, "Нам должны", modules. (The same flows
//! in a real Chromium are in `tests/browser.rs`.)

use std::sync::Arc;

use axum::http::StatusCode;
use crm_fake_1c::{FakeOneC, Options, demo};
use crm_tests::pages::PageClient;
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    a_user_signs_in_with_the_password_an_admin_set_and_signs_out,
    repeated_failed_sign_ins_lock_the_login_for_a_while,
    a_state_changing_form_without_the_csrf_token_is_refused,
    passwords_are_set_by_admins_and_changed_by_their_owners,
    what_users_typed_is_shown_as_text,
    another_tenants_objects_are_404_pages,
    an_error_page_is_in_russian_and_names_the_request_id,
    a_stage_gate_refuses_a_move_naming_every_missing_item,
    the_kanban_counts_and_sums_every_deal_and_loads_columns_lazily,
    the_card_shows_the_overdue_debt_in_red_with_the_stars,
    a_task_that_demands_a_file_closes_from_the_inbox_only_with_one,
    the_aging_page_draws_the_chart_drills_down_and_downloads_xlsx,
    an_admin_enables_a_module_whose_secret_is_never_shown,
    a_manager_sees_only_the_buttons_they_may_use,
    an_admin_manages_users_their_services_and_scope_from_the_pages,
    reminder_rules_promises_and_the_log_are_worked_from_the_pages,
    an_admin_sets_the_smtp_server_tests_it_and_requeues_a_refused_message_from_the_mail_page,
);

/// A tenant whose data came from the demo 1C base (debts, overdue, ratings).
pub(crate) async fn demo_synced(app: &TestApp) -> (TestTenant, FakeOneC) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let today = chrono::Utc::now().date_naive();
    let fake = FakeOneC::start(Arc::new(demo(today)), Options::default()).await.unwrap();
    t.enable_1c(&fake.base_url, &fake.host).await;
    t.admin.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::ACCEPTED);
    app.run_jobs().await;
    (t, fake)
}

/// An attribute value as the browser reads it (the pages escape `&` and `/`).
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&amp;", "&")
}

async fn admin_pages(app: &TestApp, t: &TestTenant) -> PageClient {
    let email = t.admin_email().await;
    t.signed_in(&app.router, t.admin_id, &email).await
}

async fn user_pages(app: &TestApp, t: &TestTenant, role: &str) -> (PageClient, crm_tests::Client, uuid::Uuid) {
    let (client, id) = t.user(role).await;
    let email = client.get("/api/v1/me").await.ok().body["email"].as_str().unwrap().to_string();
    (t.signed_in(&app.router, id, &email).await, client, id)
}

async fn a_user_signs_in_with_the_password_an_admin_set_and_signs_out(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let mut anon = PageClient::new(app.router.clone());
    // Not signed in: every page sends to the sign-in form and back.
    let r = anon.get("/clients?q=abc").await.expect(StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Fclients%3Fq%3Dabc");
    let form = anon.get("/login").await.expect(StatusCode::OK);
    assert!(form.body.contains("Вход в CRM") && form.body.contains("<label for=\"password\">Пароль</label>"));
    // A user without a password, or a wrong one, is not let in; the answer is the same.
    let email = t.admin_email().await;
    let r = anon.post_form("/login", &[("email", &email), ("password", "что-то-не-то-123")]).await.expect(StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Неверный e-mail или пароль."));
    assert!(anon.cookie.is_none());
    // With the password an admin set: in, with an HttpOnly, SameSite session cookie.
    t.admin.put(&format!("/api/v1/users/{}/password", t.admin_id), json!({"password": "верный-пароль-42"})).await.expect(StatusCode::NO_CONTENT);
    let r = anon.post_form("/login", &[("email", &email.to_uppercase()), ("password", "верный-пароль-42"), ("next", "/clients")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/clients");
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(set.starts_with("crm_session=") && set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age="), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP gets no Secure flag");
    let page = anon.get("/clients").await.expect(StatusCode::OK);
    assert!(page.body.contains("<html lang=\"ru\">") && page.body.contains("Клиенты") && page.body.contains("Администратор"));
    // Behind a TLS proxy the cookie is Secure.
    let mut tls = PageClient::new(app.router.clone());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(axum::body::Body::from(format!("email={}&password=%D0%B2%D0%B5%D1%80%D0%BD%D1%8B%D0%B9-%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C-42", email)))
        .unwrap();
    let r = tls.send(req).await;
    assert!(r.headers.get("set-cookie").unwrap().to_str().unwrap().contains("; Secure"));
    // An open redirect is not followed.
    let mut other = PageClient::new(app.router.clone());
    let r = other.post_form("/login", &[("email", &email), ("password", "верный-пароль-42"), ("next", "//evil.example/")]).await;
    assert_eq!(r.location(), "/");
    // Sign-out ends the session: the old cookie no longer opens pages.
    let old_cookie = anon.cookie.clone();
    let r = anon.post_form("/logout", &[]).await.expect(StatusCode::SEE_OTHER);
    assert!(r.headers.get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    anon.cookie = old_cookie;
    anon.get("/clients").await.expect(StatusCode::SEE_OTHER);
    // API tokens keep working for the API.
    t.admin.get("/api/v1/me").await.ok();
}

async fn repeated_failed_sign_ins_lock_the_login_for_a_while(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let email = t.admin_email().await;
    t.admin.put(&format!("/api/v1/users/{}/password", t.admin_id), json!({"password": "верный-пароль-42"})).await.expect(StatusCode::NO_CONTENT);
    let mut c = PageClient::new(app.router.clone());
    for _ in 0..5 {
        c.post_form("/login", &[("email", &email), ("password", "неверный-пароль")]).await.expect(StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, with a Russian message saying when to retry.
    let r = c.post_form("/login", &[("email", &email), ("password", "верный-пароль-42")]).await.expect(StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Слишком много неудачных попыток входа. Повторите через 15 минут"), "{}", r.body);
    assert!(c.cookie.is_none());
    // Another login is not affected.
    let (mgr, id) = t.user("manager").await;
    let mgr_email = mgr.get("/api/v1/me").await.ok().body["email"].as_str().unwrap().to_string();
    t.signed_in(&app.router, id, &mgr_email).await;
}

async fn a_state_changing_form_without_the_csrf_token_is_refused(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let mut c = admin_pages(&app, &t).await;
    let r = c.post_form("/logout", &[("_csrf", "0000")]).await.expect(StatusCode::FORBIDDEN);
    assert!(r.body.contains("Недостаточно прав") || r.body.contains("проверочного кода"), "{}", r.body);
    assert!(r.body.contains("проверочного кода"));
    // The session is still open; with the page's token the form goes through.
    c.get("/clients").await.expect(StatusCode::OK);
    c.post_form("/logout", &[]).await.expect(StatusCode::SEE_OTHER);
    // A sign-in form posted from another site is refused.
    let mut x = PageClient::new(app.router.clone());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header("host", "crm.test")
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("email=a%40b.c&password=x"))
        .unwrap();
    x.send(req).await.expect(StatusCode::FORBIDDEN);
}

async fn passwords_are_set_by_admins_and_changed_by_their_owners(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let (mgr, mgr_id) = t.user("manager").await;
    // Only admins set other users' passwords; a weak one is named.
    mgr.put(&format!("/api/v1/users/{}/password", t.admin_id), json!({"password": "длинный-пароль-1"})).await.expect(StatusCode::FORBIDDEN);
    let r = t.admin.put(&format!("/api/v1/users/{mgr_id}/password"), json!({"password": "short"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["password"]);
    t.admin.put(&format!("/api/v1/users/{}/password", uuid::Uuid::now_v7()), json!({"password": "длинный-пароль-1"})).await.expect(StatusCode::NOT_FOUND);
    t.admin.put(&format!("/api/v1/users/{mgr_id}/password"), json!({"password": "первый-пароль-1"})).await.expect(StatusCode::NO_CONTENT);
    // The user changes it, proving the current one.
    let r = mgr.post("/api/v1/me/password", json!({"current_password": "не-тот", "new_password": "второй-пароль-2"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["current_password"]);
    mgr.post("/api/v1/me/password", json!({"current_password": "первый-пароль-1", "new_password": "второй-пароль-2"})).await.expect(StatusCode::NO_CONTENT);
    let email = mgr.get("/api/v1/me").await.ok().body["email"].as_str().unwrap().to_string();
    let mut c = PageClient::new(app.router.clone());
    c.post_form("/login", &[("email", &email), ("password", "первый-пароль-1")]).await.expect(StatusCode::UNAUTHORIZED);
    c.sign_in(&email, "второй-пароль-2").await;
    // … and on the profile page; a reset by an admin ends the user's sessions.
    let p = c.get("/account").await.expect(StatusCode::OK);
    assert!(p.body.contains("Смена пароля") && p.body.contains(&email));
    let r = c.post_form("/account/password", &[("current_password", "второй-пароль-2"), ("new_password", "коротк")]).await.expect(StatusCode::OK);
    assert!(r.body.contains("Новый пароль не подходит"));
    let r = c.post_form("/account/password", &[("current_password", "второй-пароль-2"), ("new_password", "третий-пароль-3")]).await.expect(StatusCode::OK);
    assert!(r.body.contains("Пароль изменён"));
    c.get("/clients").await.expect(StatusCode::OK);
    t.admin.put(&format!("/api/v1/users/{mgr_id}/password"), json!({"password": "сброшенный-пароль"})).await.expect(StatusCode::NO_CONTENT);
    c.get("/clients").await.expect(StatusCode::SEE_OTHER);
    // The hash is never returned.
    let u = t.admin.get(&format!("/api/v1/users/{mgr_id}")).await.ok();
    assert!(!u.text().contains("argon2") && !u.text().contains("password"));
}

async fn what_users_typed_is_shown_as_text(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let cp = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": "<script>alert(1)</script>", "inn": crm_tests::next_inn()})).await.created().body;
    let mut c = admin_pages(&app, &t).await;
    for path in ["/clients".to_string(), format!("/clients/{}", cp["id"].as_str().unwrap()), "/clients?q=%3Cscript%3E".to_string()] {
        let r = c.get(&path).await.expect(StatusCode::OK);
        assert!(!r.body.contains("<script>alert(1)</script>"), "{path} shows markup a user typed");
        assert!(r.body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;") || r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{path}: {}", r.body);
    }
}

async fn another_tenants_objects_are_404_pages(app: TestApp) {
    let (a, _fake) = demo_synced(&app).await;
    let cp = a.admin.get("/api/v1/counterparties?limit=1").await.ok().body["items"][0].clone();
    let deal = a.admin.post("/api/v1/deals", json!({"title": "Сделка А", "pipeline_id": a.pipeline_id(), "counterparty_id": cp["id"]})).await.created().body;
    let doc = a.admin.get("/api/v1/sales-documents?limit=1").await.ok().body["items"][0].clone();
    let job = a.admin.get("/api/v1/jobs?limit=1").await.ok().body["items"][0].clone();
    let list = format!("ИНН;Наименование;Ответственный\n7707083893;ПАО Сбербанк;{}\n", a.admin_email().await);
    let import = a.admin.multipart("/api/v1/lead-imports", &[("mode", "potential".into())], ("file", "list.csv", list.as_bytes())).await.expect(StatusCode::ACCEPTED).body;
    app.run_jobs().await;
    let batch = a.admin.get("/api/v1/lead-batches").await.ok().body[0].clone();
    let run = a.admin.post(&format!("/api/v1/deals/{}/approvals", deal["id"].as_str().unwrap()), json!({"subject": "application"})).await.created().body;
    let body = a.admin.get("/api/v1/collegial-bodies").await.ok().body[0].clone();
    a.admin.put(&format!("/api/v1/collegial-bodies/{}", body["id"].as_str().unwrap()), json!({"name": body["name"], "deal_kind": body["deal_kind"], "members": [a.admin_id]})).await.ok();
    a.admin.patch(&format!("/api/v1/deals/{}", deal["id"].as_str().unwrap()), json!({"params": {"deal_kind": body["deal_kind"]}})).await.ok();
    let meeting = a.admin.post(&format!("/api/v1/deals/{}/committee-meetings", deal["id"].as_str().unwrap()), json!({})).await.created().body;
    let ids: Vec<(&str, String)> = vec![
        ("lead_import", import["id"].as_str().unwrap().into()),
        ("lead_batch", batch["id"].as_str().unwrap().into()),
        ("counterparty", cp["id"].as_str().unwrap().into()),
        ("deal", deal["id"].as_str().unwrap().into()),
        ("approval", run["id"].as_str().unwrap().into()),
        ("committee_meeting", meeting["id"].as_str().unwrap().into()),
        ("sales_document", doc["id"].as_str().unwrap().into()),
        ("job", job["id"].as_str().unwrap().into()),
        ("module", "accounting-1c".into()),
        ("user", a.admin_id.to_string()),
        ("reminder_rule", a.admin.get("/api/v1/reminder-rules").await.ok().body[0]["id"].as_str().unwrap().to_string()),
    ];
    let mut own = admin_pages(&app, &a).await;
    let b = app.tenant("ООО Чужие").await;
    let mut other = admin_pages(&app, &b).await;
    for (kind, path) in crm_host::pages::PAGE_PATHS {
        let id = &ids.iter().find(|(k, _)| k == kind).unwrap_or_else(|| panic!("the probe has no {kind} id")).1;
        let url = path.replace("{id}", id);
        own.get(&url).await.expect(StatusCode::OK);
        let r = other.get(&url).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{url} of another tenant: {}", &r.body[..r.body.len().min(500)]);
        assert!(r.body.contains("Не найдено"), "{url}");
    }
}

async fn an_error_page_is_in_russian_and_names_the_request_id(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let mut c = admin_pages(&app, &t).await;
    let r = c.get(&format!("/clients/{}", uuid::Uuid::now_v7())).await.expect(StatusCode::NOT_FOUND);
    let rid = r.headers.get("x-request-id").unwrap().to_str().unwrap().to_string();
    assert!(r.body.contains("Не найдено") && r.body.contains(&rid), "{}", r.body);
    assert!(r.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
    let r = c.get("/clients/not-an-id").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Неверный запрос") && !r.body.contains("panicked"));
    let r = c.get("/no/such/page").await.expect(StatusCode::NOT_FOUND);
    assert!(r.body.contains("Не найдено"));
    // The API keeps answering problem documents.
    let r = t.admin.get("/api/v1/no-such").await.expect(StatusCode::NOT_FOUND);
    assert_eq!(r.body["type"], "/problems/not-found");
}

async fn a_stage_gate_refuses_a_move_naming_every_missing_item(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Факторинг", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]})).await.created().body;
    let id = deal["id"].as_str().unwrap();
    // The default gates are data on the pipeline's stages.
    assert_eq!(t.pipeline["stages"][2]["gate"]["fields"], json!(["factoring_type", "limit"]));
    // Into «Коммерческое предложение» without the type and the limit: 422 naming both.
    let r = t.admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": t.stage(2)})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["gate.fields.factoring_type", "gate.fields.limit"]);
    let messages: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, vec!["Для этапа «Коммерческое предложение» заполните поле «Вид факторинга»", "Для этапа «Коммерческое предложение» заполните поле «Лимит»"]);
    // The kanban shows the same refusal beside the card.
    let mut c = admin_pages(&app, &t).await;
    c.get(&format!("/deals?pipeline={}", t.pipeline_id())).await.expect(StatusCode::OK);
    let r = c.post_form(&format!("/deals/{id}/move"), &[("stage_id", &t.stage(2))]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Сделку нельзя перенести") && r.body.contains("заполните поле «Лимит»"), "{}", r.body);
    let r = c.post_form(&format!("/deals/{id}/move"), &[("stage_id", &t.stage(2)), ("fragment", "1")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("class=\"refusal alert\"") && !r.body.contains("<html"));
    // Filled in, the move goes through.
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"factoring_type": "with_recourse", "limit": "5000000.00", "term_days": 90, "deferral_days": 60}})).await.ok();
    let r = c.post_form(&format!("/deals/{id}/move"), &[("stage_id", &t.stage(2))]).await.expect(StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/deals?pipeline="));
    t.admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": t.stage(3)})).await.ok();
    // «На службах» wants two documents by kind; one attached leaves the other named.
    t.admin.upload("anketa.pdf", b"%PDF-1.4", &[("kind", "Анкета клиента".into()), ("deal_id", id.into())]).await.created();
    let r = t.admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": t.stage(4)})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["gate.documents[1]"]);
    assert!(r.text().contains("приложите документ «Бухгалтерская отчётность»"));
    // Moving back needs nothing; СТОП needs only its reason.
    t.admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": t.stage(1)})).await.ok();
    let reason = t.admin.get("/api/v1/stop-reasons").await.ok().body[0]["id"].clone();
    t.admin.post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": t.stage(9), "reason_id": reason})).await.ok();
    // A gate naming a field the pipeline does not have is refused when configured.
    let stage = &t.pipeline["stages"][1];
    let r = t
        .admin
        .put(&format!("/api/v1/pipelines/{}/stages/{}", t.pipeline_id(), stage["id"].as_str().unwrap()),
             json!({"name": "Переговоры", "kind": "open", "win_probability": 20, "gate": {"fields": ["colour"]}}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["gate.fields[0]"]);
}

async fn the_kanban_counts_and_sums_every_deal_and_loads_columns_lazily(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    for i in 0..25 {
        t.admin.post("/api/v1/deals", json!({"title": format!("Сделка {i}"), "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "amount": "1000.50"})).await.created();
    }
    let mut c = admin_pages(&app, &t).await;
    let r = c.get("/deals").await.expect(StatusCode::OK);
    // The column head counts all 25 and sums them exactly, though it shows 20 cards.
    assert!(r.body.contains("25 сделок"), "{}", r.body);
    assert!(r.body.contains("25\u{a0}012,50\u{a0}₽"));
    assert_eq!(r.body.matches("class=\"deal-card\"").count(), 20);
    assert!(r.body.contains("ООО Клиент"));
    let more = unescape(r.body.split("data-fragment=\"").nth(1).unwrap().split('"').next().unwrap());
    let rest = c.get(&more).await.expect(StatusCode::OK);
    assert_eq!(rest.body.matches("class=\"deal-card\"").count(), 5);
    assert!(!rest.body.contains("data-fragment"));
    let totals: Value = serde_json::from_str(&c.get(&format!("/deals/totals?pipeline={}", t.pipeline_id())).await.expect(StatusCode::OK).body).unwrap();
    assert_eq!(totals[0]["count_text"], "25 сделок");
}

async fn the_card_shows_the_overdue_debt_in_red_with_the_stars(app: TestApp) {
    let (t, _fake) = demo_synced(&app).await;
    let list = t.admin.get("/api/v1/counterparties?q=МАГИСТРАЛЬ").await.ok().body;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let card = t.admin.get(&format!("/api/v1/counterparties/{id}")).await.ok().body;
    let mut c = admin_pages(&app, &t).await;
    // Found by name and by ИНН.
    let r = c.get("/clients?q=магистраль").await.expect(StatusCode::OK);
    assert!(r.body.contains(&format!("/clients/{id}")));
    let r = c.get(&format!("/clients?q={}", card["inn"].as_str().unwrap())).await.expect(StatusCode::OK);
    assert!(r.body.contains(&format!("/clients/{id}")));
    // Only debtors with an overdue part, when asked; the filter form sends empty "any" values.
    let r = c.get("/clients?q=&segment=&responsible_id=&debt=overdue").await.expect(StatusCode::OK);
    assert!(r.body.contains(&format!("/clients/{id}")));
    let clear = c.get("/clients?debt=clear").await.expect(StatusCode::OK);
    assert!(!clear.body.contains(&format!("/clients/{id}\"")));
    // The card: the overdue part in red, formatted the Russian way, and the stars.
    let r = c.get(&format!("/clients/{id}")).await.expect(StatusCode::OK);
    let overdue = card["debt"]["overdue"].as_str().unwrap();
    let shown = crm_host::pages::render::rub(crm_host::money::Money::parse_stored(overdue).unwrap());
    assert!(r.body.contains(&format!("<p class=\"overdue\" id=\"debt-overdue\">Просрочено: {shown}")), "{}", r.body);
    let stars = card["payer_rating"]["stars"].as_i64().unwrap();
    assert!(r.body.contains(&format!("Рейтинг плательщика: {stars} из 5")));
    // The API's own filter for debt state.
    let api = t.admin.get("/api/v1/counterparties?debt=overdue&limit=500").await.ok().body;
    assert!(api["items"].as_array().unwrap().iter().any(|c| c["id"] == id));
    let api = t.admin.get("/api/v1/counterparties?debt=clear&limit=500").await.ok().body;
    assert!(!api["items"].as_array().unwrap().iter().any(|c| c["id"] == id));
}

async fn a_task_that_demands_a_file_closes_from_the_inbox_only_with_one(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let cp = t.counterparty("ООО Клиент").await;
    let due = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let late = t.admin.post("/api/v1/tasks", json!({"title": "Позвонить бухгалтеру", "assignee_id": t.admin_id, "counterparty_id": cp["id"], "due_at": due})).await.created().body;
    let later = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let task = t.admin.post("/api/v1/tasks", json!({"title": "Получить акт сверки", "assignee_id": t.admin_id, "counterparty_id": cp["id"], "requires_file": true, "due_at": later})).await.created().body;
    let id = task["id"].as_str().unwrap();
    let mut c = admin_pages(&app, &t).await;
    let inbox = c.get("/tasks").await.expect(StatusCode::OK);
    // Overdue first.
    let first = inbox.body.find("Позвонить бухгалтеру").unwrap();
    let second = inbox.body.find("Получить акт сверки").unwrap();
    assert!(first < second && inbox.body.contains("просрочена"));
    // Without a file: refused, and the inbox says why.
    let r = c.post_form(&format!("/tasks/{id}/complete"), &[]).await.expect(StatusCode::SEE_OTHER);
    assert!(r.location().starts_with(&format!("/tasks?refused={id}")));
    let shown = c.get(r.location()).await.expect(StatusCode::OK);
    assert!(shown.body.contains("Задача требует файл"));
    // With the file in the same form (multipart, the token in the query): attached, closed.
    let csrf = c.csrf.clone().unwrap();
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"task_id\"\r\n\r\n{id}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nРезультат задачи\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"akt.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 akt\r\n--{boundary}--\r\n"
    );
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/tasks/{id}/complete?_csrf={csrf}"))
        .header("cookie", c.cookie.clone().unwrap())
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(axum::body::Body::from(body))
        .unwrap();
    let r = c.send(req).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(r.location(), format!("/tasks?done={id}"));
    let done = t.admin.get(&format!("/api/v1/tasks/{id}")).await.ok().body;
    assert_eq!(done["status"], "done");
    let docs = t.admin.get(&format!("/api/v1/documents?task_id={id}")).await.ok().body;
    assert_eq!(docs["items"][0]["file_name"], "akt.pdf");
    // The other one closes with a plain form.
    c.post_form(&format!("/tasks/{}/complete", late["id"].as_str().unwrap()), &[]).await.expect(StatusCode::SEE_OTHER);
    let inbox = c.get("/tasks").await.expect(StatusCode::OK);
    assert!(inbox.body.contains("Открытых задач нет."));
}

async fn the_aging_page_draws_the_chart_drills_down_and_downloads_xlsx(app: TestApp) {
    let (t, _fake) = demo_synced(&app).await;
    let report = t.admin.get("/api/v1/receivables/aging?limit=500").await.ok().body;
    let mut c = admin_pages(&app, &t).await;
    let r = c.get("/receivables?segment=&responsible_id=&sort=overdue").await.expect(StatusCode::OK);
    let total = crm_host::pages::render::rub(crm_host::money::Money::parse_stored(report["totals"]["total"].as_str().unwrap()).unwrap());
    assert!(r.body.contains(&format!("Всего {total}")), "{}", r.body);
    assert!(r.body.contains("<svg role=\"img\"") && r.body.matches("<rect ").count() == report["buckets"].as_array().unwrap().len());
    // Drill into the first client, then into one of its debts and the work on it.
    let first = report["items"][0]["counterparty_id"].as_str().unwrap();
    assert!(r.body.contains(&format!("/clients/{first}/debts")));
    let debts = c.get(&format!("/clients/{first}/debts")).await.expect(StatusCode::OK);
    let doc = debts.body.split("href=\"/debts/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let d = c.get(&format!("/debts/{doc}")).await.expect(StatusCode::OK);
    assert!(d.body.contains("Работа с долгом") && d.body.contains("Оплаты"));
    // The XLSX with the page's filters.
    let href = unescape(r.body.split("id=\"export-xlsx\" href=\"").nth(1).unwrap().split('"').next().unwrap());
    let req = axum::http::Request::builder().uri(&href).header("cookie", c.cookie.clone().unwrap()).body(axum::body::Body::empty()).unwrap();
    let res = tower::ServiceExt::oneshot(app.router.clone(), req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let bytes = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    assert_eq!(&bytes[..2], b"PK");
}

async fn an_admin_enables_a_module_whose_secret_is_never_shown(app: TestApp) {
    let t = app.tenant("ООО Ромашка").await;
    let mut c = admin_pages(&app, &t).await;
    let list = c.get("/admin/modules").await.expect(StatusCode::OK);
    assert!(list.body.contains("/admin/modules/new?plugin=inn-dadata"));
    let form = c.get("/admin/modules/new?plugin=inn-dadata").await.expect(StatusCode::OK);
    assert!(form.body.contains("type=\"password\""), "the secret is a password field");
    let version = form.body.split("name=\"version\">").nth(1).unwrap().split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let r = c.post_form("/admin/modules/inn-dadata", &[("plugin_id", "inn-dadata"), ("version", &version), ("enabled", "1"), ("setting.api_key", "СЕКРЕТНЫЙ-КЛЮЧ-123")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get("/admin/modules/inn-dadata?saved=1").await.expect(StatusCode::OK);
    assert!(page.body.contains("Настройки сохранены") && page.body.contains("задан — оставьте пустым"));
    assert!(!page.body.contains("СЕКРЕТНЫЙ-КЛЮЧ-123"));
    let m = t.admin.get("/api/v1/modules/inn-dadata").await.ok().body;
    assert_eq!(m["enabled"], true);
    assert_eq!(m["secrets_set"], json!(["api_key"]));
    // Saving again with the secret left empty keeps it.
    c.post_form("/admin/modules/inn-dadata", &[("plugin_id", "inn-dadata"), ("version", &version)]).await.expect(StatusCode::SEE_OTHER);
    let m = t.admin.get("/api/v1/modules/inn-dadata").await.ok().body;
    assert_eq!(m["secrets_set"], json!(["api_key"]));
    assert_eq!(m["enabled"], false);
    c.get("/admin/plugin-runs").await.expect(StatusCode::OK);
    // A manager may not open module settings.
    let (mut mgr, _, _) = user_pages(&app, &t, "manager").await;
    let r = mgr.get("/admin/modules").await.expect(StatusCode::FORBIDDEN);
    assert!(r.body.contains("Недостаточно прав"));
}

async fn a_manager_sees_only_the_buttons_they_may_use(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let (mut mgr, mgr_api, mgr_id) = user_pages(&app, &t, "manager").await;
    let theirs = t.admin.post("/api/v1/deals", json!({"title": "Чужая", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]})).await.created().body;
    let mine = mgr_api.post("/api/v1/deals", json!({"title": "Моя", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]})).await.created().body;
    assert_eq!(mine["responsible_id"], json!(mgr_id));
    let board = mgr.get("/deals").await.expect(StatusCode::OK);
    assert!(board.body.contains(&format!("action=\"/deals/{}/move\"", mine["id"].as_str().unwrap())));
    assert!(!board.body.contains(&format!("action=\"/deals/{}/move\"", theirs["id"].as_str().unwrap())));
    // The menu has no admin items, and the sync button is for heads and admins.
    assert!(!board.body.contains("href=\"/admin/modules\""));
    let jobs = mgr.get("/jobs").await.expect(StatusCode::OK);
    assert!(!jobs.body.contains("Запустить синхронизацию"));
    // The rule is the API's: a forged move of someone else's deal is refused.
    let r = mgr.post_form(&format!("/deals/{}/move", theirs["id"].as_str().unwrap()), &[("stage_id", &t.stage(1))]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn an_admin_manages_users_their_services_and_scope_from_the_pages(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let mut admin = admin_pages(&app, &t).await;
    let html = admin.get("/admin/users").await.expect(StatusCode::OK).body;
    assert!(html.contains("Новый пользователь") && html.contains("Риск-менеджмент"), "{html}");
    // A new approver of two services with a first password.
    let r = admin
        .post_form("/admin/users", &[("full_name", "Петрова Анна"), ("email", "petrova@factor.example"), ("role", "manager"), ("departments", "security"), ("departments", "risk"), ("password", "first-password-1")])
        .await
        .expect(StatusCode::SEE_OTHER);
    let location = r.headers["location"].to_str().unwrap().to_string();
    let id = location.trim_start_matches("/admin/users/").to_string();
    let user = t.admin.get(&format!("/api/v1/users/{id}")).await.ok().body;
    assert_eq!(user["departments"], json!(["security", "risk"]));
    // She signs in with it.
    let mut petrova = crm_tests::pages::PageClient::new(app.router.clone());
    petrova.sign_in("petrova@factor.example", "first-password-1").await;
    petrova.get("/approvals").await.expect(StatusCode::OK);
    // A bad e-mail and a short password are named on the page; nothing is created.
    let r = admin.post_form("/admin/users", &[("full_name", "Без почты"), ("email", "nope"), ("role", "manager")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Пользователь не создан"), "{}", r.body);
    // Head of security only; she serves one of our legal entities.
    admin.post_form(&location, &[("full_name", "Петрова Анна"), ("email", "petrova@factor.example"), ("role", "head"), ("departments", "security")]).await.expect(StatusCode::SEE_OTHER);
    let user = t.admin.get(&format!("/api/v1/users/{id}")).await.ok().body;
    assert_eq!((user["role"].as_str(), user["departments"].clone()), (Some("head"), json!(["security"])));
    let entity = t.admin.post("/api/v1/legal-entities", json!({"full_name": "ООО «Фактор-Юг»", "inn": "7707083893"})).await.created().body;
    admin.post_form(&format!("{location}/scope"), &[("legal_entity_ids", entity["id"].as_str().unwrap())]).await.expect(StatusCode::SEE_OTHER);
    let scopes = t.admin.get("/api/v1/approval-scopes").await.ok().body;
    assert_eq!(scopes[0]["legal_entity_ids"], json!([entity["id"]]));
    let html = admin.get(&location).await.expect(StatusCode::OK).body;
    assert!(html.contains("checked> ООО «Фактор-Юг»"), "{html}");
    let r = admin.post_form(&format!("{location}/password"), &[("password", "short")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Не сохранено"), "{}", r.body);
    // Switched off: her API and pages stop.
    admin.post_form(&format!("{location}/archive"), &[]).await.expect(StatusCode::SEE_OTHER);
    assert!(t.admin.get(&format!("/api/v1/users/{id}")).await.ok().body["archived_at"].is_string());
    // A manager may not see the page.
    let (mut manager, _, _) = user_pages(&app, &t, "manager").await;
    manager.get("/admin/users").await.expect(StatusCode::FORBIDDEN);
}

async fn reminder_rules_promises_and_the_log_are_worked_from_the_pages(app: TestApp) {
    let (t, _fake) = demo_synced(&app).await;
    let mut admin = admin_pages(&app, &t).await;
    let html = admin.get("/reminders").await.expect(StatusCode::OK).body;
    assert!(html.contains("Стандартные напоминания о долгах") && html.contains("за 3 раб. дн. до срока оплаты"), "{html}");
    let rule = t.admin.get("/api/v1/reminder-rules").await.ok().body[0].clone();
    let rid = rule["id"].as_str().unwrap().to_string();
    let editor = admin.get(&format!("/reminders/rules/{rid}")).await.expect(StatusCode::OK).body;
    assert!(editor.contains("rule-form"), "{editor}");
    // Rename it, keep its steps, add an SMS on day 5 to the director, and set a minimum debt.
    let steps = rule["steps"].as_array().unwrap();
    let mut form: Vec<(String, String)> = vec![
        ("name".into(), "Напоминания оптовикам".into()),
        ("active".into(), "true".into()),
        ("min_debt".into(), "10 000,00".into()),
        ("client_kinds".into(), "legal_entity".into()),
    ];
    for s in steps {
        form.push(("step_id".into(), s["id"].as_str().unwrap().into()));
        form.push(("step_kind".into(), s["offset"]["kind"].as_str().unwrap().into()));
        form.push(("step_days".into(), s["offset"]["days"].to_string()));
        form.push(("step_channel".into(), s["channel"].as_str().unwrap().into()));
        form.push(("step_template".into(), s["template"].as_str().unwrap().into()));
        form.push(("step_recipients".into(), s["recipients"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect::<Vec<_>>().join(", ")));
    }
    for (k, v) in [("step_id", ""), ("step_kind", "calendar_days_after"), ("step_days", "5"), ("step_channel", "sms"), ("step_template", "reminder_short"), ("step_recipients", "director")] {
        form.push((k.into(), v.into()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    admin.post_form(&format!("/reminders/rules/{rid}"), &pairs).await.expect(StatusCode::SEE_OTHER);
    let after = t.admin.get(&format!("/api/v1/reminder-rules/{rid}")).await.ok().body;
    assert_eq!(after["name"], "Напоминания оптовикам");
    assert_eq!(after["scope"]["min_debt"], "10000.00");
    assert_eq!(after["steps"].as_array().unwrap().len(), steps.len() + 1);
    assert_eq!(after["steps"][steps.len()]["recipients"], json!(["director"]));
    // A template that does not fit the channel is refused, named, and the form comes back as typed.
    let bad = [("name", "Неверное"), ("active", "true"), ("step_id", ""), ("step_kind", "due_day"), ("step_days", "0"), ("step_channel", "sms"), ("step_template", "reminder_before"), ("step_recipients", "accountant")];
    let r = admin.post_form("/reminders/rules/new", &bad).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Правило не сохранено") && r.body.contains("шаблон не подходит к каналу") && r.body.contains("value=\"Неверное\""), "{}", r.body);
    admin.get(&format!("/reminders/rules/{rid}/preview")).await.expect(StatusCode::OK);
    // A client's reminders: why today, a promise, the flags.
    let debtor = t.admin.get("/api/v1/receivables/aging?limit=1").await.ok().body["items"][0]["counterparty_id"].as_str().unwrap().to_string();
    let html = admin.get(&format!("/clients/{debtor}/reminders")).await.expect(StatusCode::OK).body;
    assert!(html.contains("Почему сегодня") && html.contains("promise-form"), "{html}");
    let r = admin.post_form(&format!("/clients/{debtor}/reminders/promises"), &[("amount", "сто"), ("promised_on", "2026-12-20")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("не сумма"), "{}", r.body);
    let docs = t.admin.get(&format!("/api/v1/sales-documents?counterparty_id={debtor}&limit=1")).await.ok().body["items"][0]["id"].as_str().unwrap().to_string();
    admin.post_form(&format!("/clients/{debtor}/reminders/promises"), &[("amount", "1 500,00"), ("promised_on", "2099-12-20"), ("document_ids", &docs), ("note", "Из звонка")]).await.expect(StatusCode::SEE_OTHER);
    let promises = t.admin.get(&format!("/api/v1/counterparties/{debtor}/promises")).await.ok().body;
    assert_eq!((promises[0]["amount"].as_str(), promises[0]["status"].as_str()), (Some("1500.00"), Some("open")));
    admin.post_form(&format!("/clients/{debtor}/reminders/flags"), &[("opted_out", "true"), ("no_contact", ""), ("time_zone", "Asia/Vladivostok")]).await.expect(StatusCode::SEE_OTHER);
    let flags = t.admin.get(&format!("/api/v1/counterparties/{debtor}/reminder-flags")).await.ok().body;
    assert_eq!((flags["opted_out"].as_bool(), flags["time_zone"].as_str()), (Some(true), Some("Asia/Vladivostok")));
    // The sending settings: an SMS module that is no channel is refused; sms-ru is taken.
    let r = admin.post_form("/reminders/settings", &[("sender_email", "dolg@factor.example"), ("sms_module", "nope"), ("voice_module", ""), ("window_from", "09:00"), ("window_to", "18:00")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("нет модуля отправки сообщений «nope»"), "{}", r.body);
    let r = admin.post_form("/reminders/settings", &[("sender_email", ""), ("sms_module", ""), ("voice_module", ""), ("window_from", "9 утра"), ("window_to", "18:00")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("ЧЧ:ММ"), "{}", r.body);
    t.admin.put("/api/v1/modules/sms-ru", json!({"version": "0.2.0", "settings": {"base_url": "http://127.0.0.1:9/"}, "secrets": {"api_id": "k"}})).await.ok();
    let html = admin.get("/reminders").await.expect(StatusCode::OK).body;
    assert!(html.contains("<option value=\"sms-ru\""), "{html}");
    admin.post_form("/reminders/settings", &[("sender_email", "dolg@factor.example"), ("sms_module", "sms-ru"), ("voice_module", ""), ("window_from", "10:00"), ("window_to", "17:30")]).await.expect(StatusCode::SEE_OTHER);
    let settings = t.admin.get("/api/v1/reminder-settings").await.ok().body;
    assert_eq!((settings["sms_module"].as_str(), settings["sender_email"].as_str()), (Some("sms-ru"), Some("dolg@factor.example")));
    assert_eq!(settings["business_window"], json!({"from": "10:00", "to": "17:30"}));
    // The log after today's plan.
    t.admin.post("/api/v1/reminders/plan", json!({})).await.ok();
    let html = admin.get("/reminders/log?status=skipped").await.expect(StatusCode::OK).body;
    assert!(html.contains("Журнал напоминаний"), "{html}");
    // Debt control: the shipped rules are listed; one is added from the form, a bad one refused.
    let html = admin.get("/reminders").await.expect(StatusCode::OK).body;
    assert!(html.contains("Контроль долгов") && html.contains("Крупный долг") && html.contains("долг от 500\u{a0}000,00\u{a0}₽"), "{html}");
    let r = admin.post_form("/reminders/control-rules", &[("name", "Пустое"), ("min_debt", ""), ("min_days_overdue", ""), ("max_stars", ""), ("control_days", "3")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("укажите хотя бы одно условие"), "{}", r.body);
    admin.post_form("/reminders/control-rules", &[("name", "Плохой плательщик"), ("min_debt", ""), ("min_days_overdue", ""), ("max_stars", "2"), ("control_days", "5"), ("working_days", "true")]).await.expect(StatusCode::SEE_OTHER);
    let rules = t.admin.get("/api/v1/reminders/control-rules").await.ok().body;
    let added = rules.as_array().unwrap().iter().find(|r| r["name"] == "Плохой плательщик").unwrap().clone();
    assert_eq!((added["max_stars"].as_i64(), added["control_days"].as_i64(), added["working_days"].as_bool()), (Some(2), Some(5), Some(true)));
    admin.post_form(&format!("/reminders/control-rules/{}/delete", added["id"].as_str().unwrap()), &[]).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(t.admin.get("/api/v1/reminders/control-rules").await.ok().body.as_array().unwrap().len(), 2);
    // The morning digest's web view, with its chart.
    let html = admin.get("/reminders/digest").await.expect(StatusCode::OK).body;
    assert!(html.contains("Утренняя сводка") && html.contains("Крупнейшие просроченные долги") && html.contains("digest-chart"), "{html}");
    admin.get("/reminders/digest/chart.png").await.expect(StatusCode::OK);
    // A manager sees their own clients and may ask for the e-mail.
    let (mut manager, _, _) = user_pages(&app, &t, "manager").await;
    let html = manager.get("/reminders/digest").await.expect(StatusCode::OK).body;
    assert!(html.contains("ваши клиенты") && html.contains("digest-subscription"), "{html}");
    manager.post_form("/reminders/digest/subscription", &[("opted_in", "true")]).await.expect(StatusCode::SEE_OTHER);
    let html = manager.get("/reminders/digest").await.expect(StatusCode::OK).body;
    assert!(html.contains("Не присылать сводку"), "{html}");
}

/// «Почта»: the SMTP server set from the form (the password never shown back, an empty field
/// keeps it), a test message sent at once to a real SMTP server on loopback, the outbox with
/// the server's refusal, and a refused message queued again by a click.
async fn an_admin_sets_the_smtp_server_tests_it_and_requeues_a_refused_message_from_the_mail_page(app: TestApp) {
    use crm_tests::smtp::{SmtpServer, SmtpTls};
    let smtp = SmtpServer::start(SmtpTls::Starttls, Some(("crm", "page-secret-1")));
    smtp.refuse("nobody@buyer.ru", 550, "5.1.1 No such mailbox", None);
    let t = app.tenant("ООО Продавец").await;
    let mut admin = admin_pages(&app, &t).await;
    let html = admin.get("/admin/mail").await.expect(StatusCode::OK).body;
    assert!(html.contains("Сервер не указан"), "{html}");
    let port = smtp.port.to_string();
    let ca = SmtpServer::ca_pem();
    let form = [("host", "localhost"), ("security", "starttls"), ("port", port.as_str()), ("username", "crm"), ("password", "page-secret-1"), ("from", "robot@seller.ru"), ("ca_pem", ca.as_str()), ("enabled", "on")];
    let r = admin.post_form("/admin/mail", &form).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/mail?saved=1");
    let html = admin.get("/admin/mail?saved=1").await.expect(StatusCode::OK).body;
    assert!(html.contains("Настройки сохранены") && html.contains("сохранён; оставьте пустым"), "{html}");
    assert!(!html.contains("page-secret-1"), "the password is never shown");
    // Saved again without the password: it is kept, and the test message goes.
    let keep = [("host", "localhost"), ("security", "starttls"), ("port", port.as_str()), ("username", "crm"), ("password", ""), ("from", "robot@seller.ru"), ("ca_pem", ca.as_str()), ("enabled", "on")];
    admin.post_form("/admin/mail", &keep).await.expect(StatusCode::SEE_OTHER);
    let r = admin.post_form("/admin/mail/test", &[("to", "admin@seller.ru")]).await.expect(StatusCode::OK);
    assert!(r.body.contains("Проверочное письмо принято сервером"), "{}", r.body);
    assert_eq!(smtp.received().len(), 1);
    // A bad form is named on the page.
    let r = admin.post_form("/admin/mail", &[("host", "smtp host"), ("security", "tls"), ("from", "robot")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Не получилось") && r.body.contains("host:") && r.body.contains("from:"), "{}", r.body);

    // A refused message shows the server's words and goes back to the queue by a click.
    let mail = crm_host::mail::OutgoingEmail {
        source: "test:pages".into(),
        idempotency_key: None,
        from: "robot@seller.ru".into(),
        reply_to: None,
        to: vec!["nobody@buyer.ru".into()],
        cc: vec![],
        subject: "Напоминание об оплате".into(),
        text: "Текст".into(),
        html: None,
        attachments: vec![],
    };
    let id = crm_host::mail::outbox::queue(&app.state.db, crm_host::tenancy::TenantId(t.id), &mail).await.unwrap();
    crm_host::mail::delivery::deliver(&app.state, crm_host::tenancy::TenantId(t.id), chrono::Utc::now(), None).await.unwrap();
    let html = admin.get("/admin/mail?status=failed").await.expect(StatusCode::OK).body;
    assert!(html.contains("Напоминание об оплате") && html.contains("No such mailbox") && html.contains("не отправлено: 1"), "{html}");
    admin.post_form(&format!("/admin/mail/outbox/{}/retry", id.0), &[]).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(t.admin.get(&format!("/api/v1/mail/outbox/{}", id.0)).await.ok().body["status"], "queued");
    // Managers may not see it.
    let (mut manager, _, _) = user_pages(&app, &t, "manager").await;
    manager.get("/admin/mail").await.expect(StatusCode::FORBIDDEN);
}
