//! Reminders end to end, over simulated days (the plan of a day is run through the API with
//! the day and the moment of planning): pre-due notices on working days across the May
//! holidays, the escalation e-mail → SMS → voice → task, a missed day caught up once, the
//! plan's idempotency, the law's window and caps for natural persons, promises kept and
//! broken, a dispute, and bad input recorded with its reason while the rest goes on.

use axum::http::StatusCode;
use chrono::{NaiveDate, TimeZone, Utc};
use crm_host::counterparties::CounterpartyId;
use crm_host::tenancy::TenantId;
use crm_tests::{TestApp, TestTenant, next_inn, on_both_engines};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_engines!(
    pre_due_notices_count_working_days_across_the_may_holidays_and_the_chain_escalates_once_per_step,
    the_law_holds_a_natural_person_to_the_window_and_the_caps,
    a_promise_pauses_chasing_a_kept_one_ends_it_a_broken_one_resumes_it_with_a_task,
    bad_input_is_recorded_with_its_reason_and_the_rest_of_the_plan_goes_on,
    the_plan_is_a_scheduled_job_and_e_mails_wait_for_the_window_then_go_to_the_outbox_once,
    sms_goes_through_the_sms_module_once_and_an_unset_voice_channel_is_named,
    voice_calls_go_through_smsc_once_per_recipient_and_a_refused_number_is_named,
);

pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub(crate) fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A client card; `kind` is `legal_entity` or `natural_person`. Due dates are the issue dates
/// (no deferral), moved to a working day by the calendar.
pub(crate) async fn client(t: &TestTenant, kind: &str, name: &str, responsible: Option<Uuid>) -> String {
    let mut body = json!({"kind": kind, "full_name": name, "payment_deferral_days": 0, "responsible_id": responsible});
    if kind == "legal_entity" {
        body["inn"] = json!(next_inn());
    }
    s(&t.admin.post("/api/v1/counterparties", body).await.created().body["id"])
}

async fn contact(t: &TestTenant, cp: &str, name: &str, position: &str, email: Option<&str>, phone: Option<&str>) {
    let body = json!({"counterparty_id": cp, "full_name": name, "position": position, "emails": email.into_iter().collect::<Vec<_>>(), "phones": phone.into_iter().collect::<Vec<_>>()});
    t.admin.post("/api/v1/contacts", body).await.created();
}

/// A sales document as the 1C sync stores it, settled so it is an open debt.
pub(crate) async fn debt(app: &TestApp, t: &TestTenant, cp: &str, number: &str, issued: NaiveDate, rubles: i64) -> String {
    let id = Uuid::now_v7();
    let cp = CounterpartyId(cp.parse().unwrap());
    let sql = "INSERT INTO sales_documents (tenant_id, id, external_id, counterparty_id, contract_id, legal_entity_ref, number, issued_on, due_on, amount, currency, posted, deleted, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6, $6, $7, 'RUB', true, false, $8, $8)";
    let mut tx = app.state.db.begin().await.unwrap();
    {
        let mut c = tx.conn();
        let c = &mut c;
        crm_host::on_conn!(c, c => sqlx::query(sql).bind(t.id).bind(id).bind(format!("doc-{id}")).bind(cp).bind(number).bind(issued).bind(rubles * 100).bind(Utc::now()).execute(c).await.map(|_| ())).unwrap();
        crm_host::receivables::settle::settle(c, TenantId(t.id), &[cp], issued, 365).await.unwrap();
    }
    tx.commit().await.unwrap();
    id.to_string()
}

/// A payment from 1C (allocated automatically), settled.
pub(crate) async fn pay(app: &TestApp, t: &TestTenant, cp: &str, paid: NaiveDate, rubles: i64) {
    let id = Uuid::now_v7();
    let cp = CounterpartyId(cp.parse().unwrap());
    let sql = "INSERT INTO payments (tenant_id, id, external_id, counterparty_id, contract_id, number, paid_on, amount, allocations, posted, deleted, unapplied, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, '[]', true, false, 0, $8, $8)";
    let mut tx = app.state.db.begin().await.unwrap();
    {
        let mut c = tx.conn();
        let c = &mut c;
        crm_host::on_conn!(c, c => sqlx::query(sql).bind(t.id).bind(id).bind(format!("pay-{id}")).bind(cp).bind("ПП-1").bind(paid).bind(rubles * 100).bind(Utc::now()).execute(c).await.map(|_| ())).unwrap();
        crm_host::receivables::settle::settle(c, TenantId(t.id), &[cp], paid, 365).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Plans a day as if it were `hh:mm` in Moscow.
pub(crate) async fn plan_at(t: &TestTenant, day: NaiveDate, hour: u32, minute: u32) -> Value {
    let now = crm_host::jobs::schedule::tenant_zone("Europe/Moscow").from_local_datetime(&day.and_hms_opt(hour, minute, 0).unwrap()).unwrap().with_timezone(&Utc);
    t.admin.post("/api/v1/reminders/plan", json!({"date": day, "now": now})).await.ok().body
}

async fn messages(t: &TestTenant, cp: &str) -> Vec<Value> {
    let mut all = t.admin.get(&format!("/api/v1/reminders/messages?counterparty_id={cp}")).await.ok().body.as_array().unwrap().clone();
    all.sort_by_key(|m| (s(&m["day"]), m["step_position"].as_i64(), s(&m["id"])));
    all
}

fn brief(m: &Value) -> (String, i64, String, String) {
    (s(&m["day"]), m["step_position"].as_i64().unwrap(), s(&m["channel"]), s(&m["status"]))
}

async fn outbox(t: &TestTenant) -> Vec<Value> {
    t.admin.get("/api/v1/mail/outbox?source=reminders&limit=100").await.ok().body["items"].as_array().unwrap().clone()
}

/// The tenant's SMS provider: the built-in sms-ru module against a loopback SMS.RU.
async fn sms_provider(t: &TestTenant) -> crate::plugin_platform::FakeSmsRu {
    let sms = crate::plugin_platform::fake_sms_ru("key-a").await;
    t.admin
        .put("/api/v1/modules/sms-ru", json!({"version": "0.2.0", "settings": {"base_url": sms.base_url}, "secrets": {"api_id": "key-a"},
            "grants": {"http_hosts": [sms.host], "private_hosts": [sms.host]}}))
        .await
        .ok();
    sms
}

/// The default rule for companies, day by day from 4 to 28 May 2026, the host down on the
/// 13th: 3 working days before a due date of Tue 12 May is Wed 6 May (the 8th and the 7th are
/// working days, 9–11 May are holidays; Monday to Friday alone would give Thu 7 May).
async fn pre_due_notices_count_working_days_across_the_may_holidays_and_the_chain_escalates_once_per_step(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let _sms = sms_provider(&t).await;
    let (_, manager) = t.user("manager").await;
    let manager_email = t.admin.get(&format!("/api/v1/users/{manager}")).await.ok().body["email"].as_str().unwrap().to_string();
    // The default rule ships with the tenant.
    let rules = t.admin.get("/api/v1/reminder-rules").await.ok().body;
    assert_eq!(rules.as_array().unwrap().len(), 1);
    assert_eq!(rules[0]["steps"].as_array().unwrap().len(), 6);
    assert_eq!(rules[0]["steps"][0]["offset"], json!({"kind": "working_days_before", "days": 3}));

    let cp = client(&t, "legal_entity", "ООО «Ромашка»", Some(manager)).await;
    contact(&t, &cp, "Сидорова Анна", "Главный бухгалтер", Some("buh@romashka.ru"), Some("+79161234567")).await;
    contact(&t, &cp, "Петров Пётр", "Генеральный директор", Some("ceo@romashka.ru"), Some("+79167654321")).await;
    let a = debt(&app, &t, &cp, "0000-000101", d(2026, 5, 12), 100_000).await;
    let b = debt(&app, &t, &cp, "0000-000102", d(2026, 5, 12), 25_000).await;

    let mut day = d(2026, 5, 4);
    while day <= d(2026, 5, 28) {
        if day != d(2026, 5, 13) {
            plan_at(&t, day, 10, 0).await;
        }
        day = day.succ_opt().unwrap();
    }
    // Running days again plans nothing more.
    for again in [d(2026, 5, 6), d(2026, 5, 14), d(2026, 5, 27)] {
        let r = plan_at(&t, again, 11, 0).await;
        assert_eq!((r["planned"].as_i64(), r["skipped"].as_i64(), r["queued"].as_i64()), (Some(0), Some(0), Some(0)), "{again}: {r}");
    }
    let all = messages(&t, &cp).await;
    let got: Vec<_> = all.iter().map(brief).collect();
    let m = |day: &str, step: i64, ch: &str, st: &str| (day.to_string(), step, ch.to_string(), st.to_string());
    assert_eq!(
        got,
        vec![
            m("2026-05-06", 1, "email", "queued"),
            m("2026-05-12", 2, "email", "queued"),
            // The 13th was missed: its step is caught up on the 14th, once.
            m("2026-05-14", 3, "email", "queued"),
            // The SMS goes to SMS.RU; no voice module is set up, so the call is skipped saying so.
            m("2026-05-15", 4, "sms", "queued"),
            m("2026-05-22", 5, "voice", "skipped"),
            m("2026-05-27", 6, "task", "task_created"),
        ]
    );
    // One message per step lists both debts.
    for msg in &all {
        let mut docs: Vec<String> = msg["documents"].as_array().unwrap().iter().map(|x| s(&x["document_id"])).collect();
        docs.sort();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(docs, want);
    }
    assert_eq!(all[0]["documents"][0]["days_overdue"], -6, "the pre-due notice is 6 calendar days ahead");
    assert_eq!(all[0]["recipients"], json!([{"name": "Сидорова Анна", "address": "buh@romashka.ru"}]), "to the accountant");
    assert_eq!(all[0]["sender"], manager_email, "from the client's manager");
    assert!(s(&all[0]["subject"]).contains("Напоминание о сроке оплаты"), "{}", all[0]);
    assert!(s(&all[0]["body"]).contains("125\u{a0}000,00"), "{}", all[0]["body"]);
    assert!(s(&all[2]["subject"]).contains("Просроченная задолженность"));
    // SMS to the accountant and the director; the voice call to the director.
    assert_eq!(all[3]["recipients"].as_array().unwrap().len(), 2);
    assert_eq!(all[4]["recipients"], json!([{"name": "Петров Пётр", "address": "+79167654321"}]));
    // The e-mails are in the outbox, once each.
    let mails = outbox(&t).await;
    assert_eq!(mails.len(), 3);
    assert!(mails.iter().all(|x| x["to"] == json!(["buh@romashka.ru"]) && s(&x["from"]) == manager_email), "{mails:?}");
    // The task is the manager's.
    let task = t.admin.get(&format!("/api/v1/tasks/{}", s(&all[5]["task_id"]))).await.ok().body;
    assert_eq!(s(&task["assignee_id"]), manager.to_string());
    assert!(s(&task["title"]).contains("ООО «Ромашка»"), "{task}");
    // Every decision is on the client's timeline.
    let timeline = t.admin.get(&format!("/api/v1/counterparties/{cp}/timeline?limit=100")).await.ok().body;
    let reminders = timeline["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "reminder").count();
    assert_eq!(reminders, 8, "six decisions, the SMS handed to SMS.RU, the call skipped for want of a voice module");
    // Why: on the 13th nothing was planned (the host was down); the 14th explains the catch-up.
    let why = t.admin.get(&format!("/api/v1/reminders/why?client={cp}&date=2026-05-14")).await.ok().body;
    assert_eq!(why["messages"].as_array().unwrap().len(), 1);
    let text = why["explanation"].as_array().unwrap().iter().map(|e| s(&e["text"])).collect::<Vec<_>>().join("\n");
    assert!(text.contains("уже запланирован"), "{text}");
    // Opted out: nothing more is planned, and the skip says why.
    let c2 = client(&t, "legal_entity", "ООО «Лютик»", None).await;
    contact(&t, &c2, "Бухгалтер", "бухгалтер", Some("buh@lutik.ru"), None).await;
    debt(&app, &t, &c2, "0000-000201", d(2026, 6, 1), 1_000).await;
    t.admin.put(&format!("/api/v1/counterparties/{c2}/reminder-flags"), json!({"opted_out": true})).await.ok();
    plan_at(&t, d(2026, 6, 1), 10, 0).await;
    let skipped = messages(&t, &c2).await;
    assert_eq!(skipped.len(), 1);
    assert_eq!((s(&skipped[0]["status"]), s(&skipped[0]["reason_code"])), ("skipped".into(), "opted_out".into()));
}

/// ФЗ-230 for natural persons: the window in the debtor's time zone on working days and on
/// weekends, the caps on messages per day and per week (figures from the tenant's settings),
/// and no contact with a bankrupt.
async fn the_law_holds_a_natural_person_to_the_window_and_the_caps(app: TestApp) {
    let t = app.tenant("МФО Быстрые деньги").await;
    let sms = |kind: &str, days: u32| json!({"offset": {"kind": kind, "days": days}, "channel": "sms", "template": "reminder_short", "recipients": ["any"]});
    let rule = json!({"name": "Физлица: SMS", "scope": {"client_kinds": ["natural_person"]},
                      "steps": [sms("due_day", 0), sms("calendar_days_after", 1), sms("calendar_days_after", 2)]});
    t.admin.post("/api/v1/reminder-rules", rule).await.created();
    // A week of 10 messages for now: the daily cap (2) is what stops the third message of a day.
    let mut settings = t.admin.get("/api/v1/reminder-settings").await.ok().body;
    assert_eq!(settings["law"]["messages"], json!({"day": 2, "week": 4, "month": 16}));
    assert_eq!(settings["law"]["working_day"], json!({"from": "08:00", "to": "22:00"}));
    settings["law"]["messages"]["week"] = json!(10);
    t.admin.put("/api/v1/reminder-settings", settings.clone()).await.ok();

    let _sms = sms_provider(&t).await;
    let far = client(&t, "natural_person", "Иванов Иван Иванович", None).await;
    contact(&t, &far, "Иванов Иван Иванович", "заёмщик", None, Some("+79241234567")).await;
    t.admin.put(&format!("/api/v1/counterparties/{far}/reminder-flags"), json!({"time_zone": "Asia/Vladivostok"})).await.ok();
    // Due Mon 1, Tue 2 and Wed 3 June 2026.
    debt(&app, &t, &far, "З-1", d(2026, 6, 1), 5_000).await;
    debt(&app, &t, &far, "З-2", d(2026, 6, 2), 5_000).await;
    debt(&app, &t, &far, "З-3", d(2026, 6, 3), 5_000).await;
    for day in [d(2026, 6, 1), d(2026, 6, 2), d(2026, 6, 3)] {
        plan_at(&t, day, 0, 0).await;
    }
    let all = messages(&t, &far).await;
    let got: Vec<_> = all.iter().map(|m| (s(&m["day"]), m["step_position"].as_i64().unwrap(), s(&m["status"]))).collect();
    assert_eq!(
        got,
        vec![
            // Sent once their window opened (the next plan's dispatch); the 3rd's still wait.
            ("2026-06-01".into(), 1, "queued".into()),
            ("2026-06-02".into(), 1, "queued".into()),
            ("2026-06-02".into(), 2, "queued".into()),
            ("2026-06-03".into(), 1, "planned".into()),
            ("2026-06-03".into(), 2, "planned".into()),
            ("2026-06-03".into(), 3, "skipped".into()),
        ]
    );
    assert!(s(&all[5]["reason"]).contains("не больше 2 сообщений в день"), "{}", all[5]);
    // Planned at 00:00 in Moscow = 07:00 in Vladivostok: the window opens at 08:00 there.
    assert_eq!(s(&all[0]["not_before"]), "2026-05-31T22:00:00Z");
    // Back to 4 a week: the week already has 5, so the next is over the cap.
    settings["law"]["messages"]["week"] = json!(4);
    t.admin.put("/api/v1/reminder-settings", settings.clone()).await.ok();
    plan_at(&t, d(2026, 6, 4), 0, 0).await;
    let week: Vec<Value> = messages(&t, &far).await.into_iter().filter(|m| m["day"] == "2026-06-04").collect();
    assert_eq!(week.len(), 2);
    assert!(week.iter().all(|m| m["status"] == "skipped" && s(&m["reason"]).contains("не больше 4 сообщений в неделю")), "{week:?}");

    // A debtor in Moscow on Saturday 6 June, planned at 08:00: weekends open at 09:00.
    let near = client(&t, "natural_person", "Петров Пётр Петрович", None).await;
    contact(&t, &near, "Петров Пётр Петрович", "заёмщик", None, Some("+79031234567")).await;
    debt(&app, &t, &near, "П-1", d(2026, 6, 4), 3_000).await;
    plan_at(&t, d(2026, 6, 5), 8, 30).await;
    plan_at(&t, d(2026, 6, 6), 8, 0).await;
    let near_msgs = messages(&t, &near).await;
    let sat = near_msgs.iter().find(|m| m["day"] == "2026-06-06").unwrap();
    assert_eq!(s(&sat["not_before"]), "2026-06-06T06:00:00Z", "09:00 in Moscow");
    let fri = near_msgs.iter().find(|m| m["day"] == "2026-06-05").unwrap();
    assert_eq!(s(&fri["not_before"]), "2026-06-05T05:30:00Z", "inside the weekday window: at once");

    // A bankrupt debtor is not contacted at all.
    let bankrupt = client(&t, "natural_person", "Сидоров Сидор", None).await;
    contact(&t, &bankrupt, "Сидоров Сидор", "заёмщик", None, Some("+79051234567")).await;
    t.admin.put(&format!("/api/v1/counterparties/{bankrupt}/reminder-flags"), json!({"no_contact": "bankrupt"})).await.ok();
    debt(&app, &t, &bankrupt, "С-1", d(2026, 6, 8), 3_000).await;
    plan_at(&t, d(2026, 6, 8), 12, 0).await;
    let none = messages(&t, &bankrupt).await;
    assert_eq!(none.len(), 1);
    assert_eq!(s(&none[0]["status"]), "skipped");
    assert!(s(&none[0]["reason"]).contains("банкрот"), "{}", none[0]);
    // Bad settings name the field.
    let mut bad = settings.clone();
    bad["law"]["day_off"] = json!({"from": "20:00", "to": "09:00"});
    let r = t.admin.put("/api/v1/reminder-settings", bad).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["law.day_off"]);
    let r = t.admin.put(&format!("/api/v1/counterparties/{near}/reminder-flags"), json!({"time_zone": "Mars/Olympus"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["time_zone"]);
}

/// Promises and disputes: chasing of promised debts pauses; a promise covered by payments
/// from 1C is kept; one not covered by its date is broken the day after — the manager gets a
/// task saying what is missing and chasing resumes at the step where it paused. A disputed
/// debt is skipped with the reason.
async fn a_promise_pauses_chasing_a_kept_one_ends_it_a_broken_one_resumes_it_with_a_task(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let _sms = sms_provider(&t).await;
    let (_, manager) = t.user("manager").await;
    let mk = |name: &'static str| {
        let t = &t;
        async move {
            let cp = client(t, "legal_entity", name, Some(manager)).await;
            contact(t, &cp, "Бухгалтер", "главный бухгалтер", Some("buh@example.ru"), Some("+79161112233")).await;
            cp
        }
    };
    let (c1, c2, c3) = (mk("ООО «Обещалкин»").await, mk("ООО «Честный»").await, mk("ООО «Спорщик»").await);
    let a = debt(&app, &t, &c1, "А-1", d(2026, 5, 12), 10_000).await;
    let b = debt(&app, &t, &c1, "А-2", d(2026, 5, 12), 5_000).await;
    let c = debt(&app, &t, &c2, "Б-1", d(2026, 5, 12), 7_000).await;
    let e = debt(&app, &t, &c3, "В-1", d(2026, 5, 12), 4_000).await;
    // A dispute needs its reason.
    let r = t.admin.put(&format!("/api/v1/sales-documents/{e}/dispute"), json!({"disputed": true})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["reason"]);
    let dispute = t.admin.put(&format!("/api/v1/sales-documents/{e}/dispute"), json!({"disputed": true, "reason": "Товар вернули"})).await.ok().body;
    assert_eq!(dispute["disputed"], true);
    plan_at(&t, d(2026, 5, 12), 10, 0).await;
    // Promises on the 13th: Обещалкин 15 000 by the 18th for both debts, Честный 7 000 by the 20th.
    let bad = t.admin.post(&format!("/api/v1/counterparties/{c1}/promises"), json!({"amount": "0", "promised_on": "2026-05-10", "document_ids": [c], "made_on": "2026-05-13"})).await;
    let mut fields = bad.expect(StatusCode::UNPROCESSABLE_ENTITY).error_fields();
    fields.sort();
    assert_eq!(fields, vec!["amount", "document_ids[0]", "promised_on"]);
    let p1 = t.admin.post(&format!("/api/v1/counterparties/{c1}/promises"), json!({"amount": "15000.00", "promised_on": "2026-05-18", "document_ids": [a, b], "made_on": "2026-05-13"})).await.created().body;
    let p2 = t.admin.post(&format!("/api/v1/counterparties/{c2}/promises"), json!({"amount": "7000.00", "promised_on": "2026-05-20", "document_ids": [c], "made_on": "2026-05-13"})).await.created().body;
    assert_eq!(p1["status"], "open");
    plan_at(&t, d(2026, 5, 13), 10, 0).await;
    // Честный pays on the 14th; Обещалкин pays 9 000 of 15 000 on the 16th.
    pay(&app, &t, &c2, d(2026, 5, 14), 7_000).await;
    plan_at(&t, d(2026, 5, 14), 10, 0).await;
    let kept = &t.admin.get(&format!("/api/v1/counterparties/{c2}/promises")).await.ok().body[0];
    assert_eq!((s(&kept["status"]), s(&kept["missing"]), s(&kept["resolved_on"])), ("kept".into(), "0.00".into(), "2026-05-14".into()), "{kept}");
    assert_eq!(kept["id"], p2["id"]);
    plan_at(&t, d(2026, 5, 15), 10, 0).await;
    pay(&app, &t, &c1, d(2026, 5, 16), 9_000).await;
    for day in [d(2026, 5, 16), d(2026, 5, 17), d(2026, 5, 18)] {
        plan_at(&t, day, 10, 0).await;
    }
    assert_eq!(t.admin.get(&format!("/api/v1/counterparties/{c1}/promises")).await.ok().body[0]["status"], "open", "still its day");
    plan_at(&t, d(2026, 5, 19), 10, 0).await;
    let broken = &t.admin.get(&format!("/api/v1/counterparties/{c1}/promises")).await.ok().body[0];
    assert_eq!((s(&broken["status"]), s(&broken["paid"]), s(&broken["missing"])), ("broken".into(), "9000.00".into(), "6000.00".into()), "{broken}");
    let task = t.admin.get(&format!("/api/v1/tasks/{}", s(&broken["task_id"]))).await.ok().body;
    assert_eq!(s(&task["assignee_id"]), manager.to_string());
    assert!(s(&task["title"]).contains("6000.00"), "{task}");
    // Обещалкин: the due-day notice, the steps of the 13th and 15th skipped as promised, then
    // on the 19th chasing resumes where it paused: the SMS of the 15th.
    let got: Vec<_> = messages(&t, &c1).await.iter().map(|m| (s(&m["day"]), m["step_position"].as_i64().unwrap(), s(&m["status"]), s(&m["reason_code"]))).collect();
    assert_eq!(
        got,
        vec![
            ("2026-05-12".into(), 2, "queued".into(), String::new()),
            ("2026-05-13".into(), 3, "skipped".into(), "promised".into()),
            ("2026-05-15".into(), 4, "skipped".into(), "promised".into()),
            ("2026-05-19".into(), 4, "queued".into(), String::new()),
        ]
    );
    // Честный: nothing after the promise (the 15th's step found the debt paid).
    let honest: Vec<_> = messages(&t, &c2).await.iter().map(|m| (s(&m["day"]), s(&m["reason_code"]))).collect();
    assert_eq!(honest, vec![("2026-05-12".into(), String::new()), ("2026-05-13".into(), "promised".into())]);
    // Спорщик: every step skipped as disputed, and the debt is still in the reports.
    let disputed = messages(&t, &c3).await;
    assert!(!disputed.is_empty() && disputed.iter().all(|m| m["reason_code"] == "disputed"), "{disputed:?}");
    assert!(s(&disputed[0]["reason"]).contains("оспаривается"));
    let owed = t.admin.get(&format!("/api/v1/sales-documents?counterparty_id={c3}&open=true")).await.ok().body;
    assert_eq!(owed["items"].as_array().unwrap().len(), 1);
    // The timeline tells the promise's story.
    let timeline = t.admin.get(&format!("/api/v1/counterparties/{c1}/timeline?limit=100")).await.ok().body;
    let promises: Vec<String> = timeline["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "promise").map(|e| s(&e["summary"])).collect();
    assert!(promises.iter().any(|x| x.contains("нарушено")) && promises.iter().any(|x| x.contains("обещал")), "{promises:?}");
}

/// Rules refuse bad input naming the field; at plan time a contact without an e-mail and a
/// stored template with an unknown variable are each recorded with the reason, and the other
/// clients still get theirs.
async fn bad_input_is_recorded_with_its_reason_and_the_rest_of_the_plan_goes_on(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let step = |kind: &str, days: u32, template: &str| json!({"offset": {"kind": kind, "days": days}, "channel": "email", "template": template, "recipients": ["accountant"]});
    // Managers neither change rules nor run the plan.
    let (manager, _) = t.user("manager").await;
    manager.post("/api/v1/reminder-rules", json!({"name": "Моё", "steps": [step("due_day", 0, "reminder_before")]})).await.expect(StatusCode::FORBIDDEN);
    manager.post("/api/v1/reminders/plan", json!({})).await.expect(StatusCode::FORBIDDEN);
    // Bad rules.
    let r = t.admin.post("/api/v1/reminder-rules", json!({"name": " ", "steps": []})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["name", "steps"]);
    let bad = json!({"name": "Плохое", "scope": {"legal_entity_id": Uuid::now_v7()},
                     "steps": [step("calendar_days_after", 0, "reminder_overdue"), step("due_day", 0, "reminder_nope"), step("due_day", 0, "reminder_short")]});
    let r = t.admin.post("/api/v1/reminder-rules", bad).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["steps[0].offset.days", "steps[1].template", "steps[2].template", "scope.legal_entity_id"]);
    // Only this rule: the default one is switched off.
    let default = t.admin.get("/api/v1/reminder-rules").await.ok().body[0].clone();
    let mut off = default.clone();
    for k in ["id", "created_at", "updated_at"] {
        off.as_object_mut().unwrap().remove(k);
    }
    off["active"] = json!(false);
    t.admin.put(&format!("/api/v1/reminder-rules/{}", s(&default["id"])), off).await.ok();
    let rule = t
        .admin
        .post("/api/v1/reminder-rules", json!({"name": "Компании", "steps": [step("due_day", 0, "reminder_before"), step("calendar_days_after", 4, "reminder_overdue")]}))
        .await
        .created()
        .body;
    assert_eq!(t.admin.get(&format!("/api/v1/reminder-rules/{}", s(&rule["id"]))).await.ok().body["name"], "Компании");
    // A tenant's template stored before the checks knew better: it names an unknown variable.
    {
        let mut tx = app.state.db.begin().await.unwrap();
        {
            let mut c = tx.conn();
            let c = &mut c;
            let source = "<document title=\"Долг\"><p>{{ client.nmae }}</p></document>";
            let sql = "INSERT INTO templates (tenant_id, kind, source, updated_at, updated_by) VALUES ($1, 'reminder_overdue', $2, $3, $4)";
            crm_host::on_conn!(c, c => sqlx::query(sql).bind(t.id).bind(source).bind(Utc::now()).bind(t.admin_id).execute(c).await.map(|_| ())).unwrap();
        }
        tx.commit().await.unwrap();
    }
    let no_mail = client(&t, "legal_entity", "ООО «Без почты»", None).await;
    contact(&t, &no_mail, "Кузнецова Ольга", "Бухгалтер", None, Some("+79160000000")).await;
    let fine = client(&t, "legal_entity", "ООО «Порядок»", None).await;
    contact(&t, &fine, "Смирнов Олег", "бухгалтер", Some("buh@poryadok.ru"), None).await;
    let late = client(&t, "legal_entity", "ООО «Опоздун»", None).await;
    contact(&t, &late, "Орлова Вера", "бухгалтер", Some("buh@opozdun.ru"), None).await;
    debt(&app, &t, &no_mail, "Н-1", d(2026, 5, 12), 1_000).await;
    debt(&app, &t, &fine, "П-1", d(2026, 5, 12), 2_000).await;
    debt(&app, &t, &late, "О-1", d(2026, 5, 8), 3_000).await;
    let report = plan_at(&t, d(2026, 5, 12), 10, 0).await;
    assert_eq!((report["planned"].as_i64(), report["skipped"].as_i64(), report["queued"].as_i64()), (Some(1), Some(2), Some(1)), "{report}");
    let skipped = messages(&t, &no_mail).await;
    assert_eq!(s(&skipped[0]["reason_code"]), "no_address");
    assert!(s(&skipped[0]["reason"]).contains("«Кузнецова Ольга»") && s(&skipped[0]["reason"]).contains("нет e-mail"), "{}", skipped[0]);
    let broken = messages(&t, &late).await;
    assert_eq!(s(&broken[0]["reason_code"]), "template_error");
    assert!(s(&broken[0]["reason"]).contains("nmae"), "{}", broken[0]);
    let mails = outbox(&t).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], json!(["buh@poryadok.ru"]));
    // Why, for the client without an e-mail, and for no client at all.
    let why = t.admin.get(&format!("/api/v1/reminders/why?client={no_mail}&date=2026-05-12")).await.ok().body;
    assert_eq!(why["messages"][0]["reason_code"], "no_address");
    assert!(why["explanation"].as_array().unwrap().iter().any(|e| s(&e["text"]).contains("нет e-mail")), "{why}");
    let r = t.admin.get("/api/v1/reminders/why?date=2026-05-12").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["client"]);
    // A rule with messages is not deleted; one without is.
    t.admin.delete(&format!("/api/v1/reminder-rules/{}", s(&rule["id"]))).await.expect(StatusCode::CONFLICT);
    t.admin.delete(&format!("/api/v1/reminder-rules/{}", s(&default["id"]))).await.expect(StatusCode::NO_CONTENT);
    // Another tenant sees none of it.
    let other = app.tenant("Другой").await;
    other.admin.get(&format!("/api/v1/reminder-rules/{}", s(&rule["id"]))).await.expect(StatusCode::NOT_FOUND);
    other.admin.get(&format!("/api/v1/reminders/why?client={fine}")).await.expect(StatusCode::NOT_FOUND);
    assert!(other.admin.get("/api/v1/reminders/messages").await.ok().body.as_array().unwrap().is_empty());
}

/// Queues a job of `kind` with `params` (as the scheduler or a domain does) and runs it.
pub(crate) async fn run_job(app: &TestApp, t: &TestTenant, kind: crm_host::jobs::JobKind, params: Value) -> Value {
    {
        let mut tx = app.state.db.begin().await.unwrap();
        crm_host::jobs::service::enqueue(&mut tx.conn(), &app.state.jobs, TenantId(t.id), &kind, params, None).await.unwrap();
        tx.commit().await.unwrap();
    }
    let done = app.run_jobs().await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, crm_host::jobs::JobStatus::Succeeded, "{:?}", done[0].error);
    done[0].progress.0.clone()
}

/// The plan runs as the `reminders.plan` job once a tenant turns its schedule on; an e-mail
/// planned at 07:00 waits for the companies' window (09:00) and the `reminders.dispatch`
/// job then hands it to the outbox, once; the `mail.deliver` job hands it to the tenant's
/// SMTP server, once, and the log shows it sent.
async fn the_plan_is_a_scheduled_job_and_e_mails_wait_for_the_window_then_go_to_the_outbox_once(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    // Off until the tenant turns it on; then the scheduler queues it.
    let sched = t.admin.get("/api/v1/job-schedules/reminders.plan").await.ok().body;
    assert_eq!(sched["enabled"], false, "{sched}");
    t.admin.put("/api/v1/job-schedules/reminders.plan", json!({"enabled": true, "daily_at": "07:00"})).await.ok();
    assert_eq!(crm_host::jobs::scheduler::queue_due(&app.state, Utc::now()).await.unwrap(), 1);
    let done = app.run_jobs().await;
    assert_eq!((done[0].kind.as_str(), done[0].status), ("reminders.plan", crm_host::jobs::JobStatus::Succeeded));

    let cp = client(&t, "legal_entity", "ООО «Ромашка»", None).await;
    contact(&t, &cp, "Сидорова Анна", "Бухгалтер", Some("buh@romashka.ru"), None).await;
    debt(&app, &t, &cp, "0000-000101", d(2026, 5, 12), 1_000).await;
    // 07:00 in Moscow on the due day: planned, waiting for 09:00.
    let report = run_job(&app, &t, crm_host::reminders::PLAN_JOB, json!({"date": "2026-05-12", "now": "2026-05-12T04:00:00Z"})).await;
    assert_eq!((report["planned"].as_i64(), report["queued"].as_i64()), (Some(1), Some(0)), "{report}");
    let planned = messages(&t, &cp).await;
    assert_eq!((s(&planned[0]["status"]), s(&planned[0]["not_before"])), ("planned".into(), "2026-05-12T06:00:00Z".into()));
    assert!(outbox(&t).await.is_empty());
    let r = run_job(&app, &t, crm_host::reminders::DISPATCH_JOB, json!({"now": "2026-05-12T05:59:00Z"})).await;
    assert_eq!(r["queued"], 0);
    let r = run_job(&app, &t, crm_host::reminders::DISPATCH_JOB, json!({"now": "2026-05-12T06:00:00Z"})).await;
    assert_eq!(r["queued"], 1);
    let r = run_job(&app, &t, crm_host::reminders::DISPATCH_JOB, json!({"now": "2026-05-12T07:00:00Z"})).await;
    assert_eq!(r["queued"], 0);
    let mails = outbox(&t).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], json!(["buh@romashka.ru"]));
    // No manager on the card: from the tenant's first admin.
    assert_eq!(s(&mails[0]["from"]), t.admin_email().await);
    assert_eq!(s(&messages(&t, &cp).await[0]["mail_id"]), s(&mails[0]["id"]));
    assert_eq!(s(&messages(&t, &cp).await[0]["delivery"]), "queued", "the log shows the outbox's state");

    // The outbox goes to the tenant's SMTP server (a real one on loopback), once.
    let smtp = crm_tests::smtp::SmtpServer::start(crm_tests::smtp::SmtpTls::Starttls, Some(("crm", "pw")));
    let settings = json!({"host": "localhost", "port": smtp.port, "security": "starttls", "username": "crm", "password": "pw", "from": "robot@distributor.ru", "ca_pem": crm_tests::smtp::SmtpServer::ca_pem()});
    t.admin.put("/api/v1/mail/settings", settings).await.ok();
    for _ in 0..2 {
        run_job(&app, &t, crm_host::mail::delivery::DELIVER_JOB, json!({})).await;
    }
    let got = smtp.received();
    assert_eq!(got.len(), 1, "sent once however often the delivery runs");
    assert_eq!(got[0].to, vec!["buh@romashka.ru".to_owned()]);
    assert!(got[0].header("From").unwrap().contains(&t.admin_email().await));
    let sent = outbox(&t).await;
    assert_eq!(got[0].header("Message-ID").as_deref(), sent[0]["message_id"].as_str(), "the outbox knows the Message-ID it went with");
    let logged = &messages(&t, &cp).await[0];
    assert_eq!(s(&logged["delivery"]), "sent", "{logged}");
}

/// SMS through the built-in sms-ru module against a loopback SMS.RU (its real answers), once
/// however often the dispatch runs; a voice step with no voice module is skipped saying so.
async fn sms_goes_through_the_sms_module_once_and_an_unset_voice_channel_is_named(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let sms = crate::plugin_platform::fake_sms_ru("key-a").await;
    t.admin
        .put("/api/v1/modules/sms-ru", json!({"version": "0.2.0", "settings": {"base_url": sms.base_url, "sender": "FACTOR"}, "secrets": {"api_id": "key-a"},
            "grants": {"http_hosts": [sms.host], "private_hosts": [sms.host]}}))
        .await
        .ok();
    // One rule: an SMS 3 days after the due date, a call 4 days after.
    let default = t.admin.get("/api/v1/reminder-rules").await.ok().body[0]["id"].as_str().unwrap().to_string();
    t.admin.delete(&format!("/api/v1/reminder-rules/{default}")).await.expect(StatusCode::NO_CONTENT);
    let step = |days: u32, channel: &str| json!({"offset": {"kind": "calendar_days_after", "days": days}, "channel": channel, "template": "reminder_short", "recipients": ["accountant"]});
    t.admin.post("/api/v1/reminder-rules", json!({"name": "SMS и звонок", "steps": [step(3, "sms"), step(4, "voice")]})).await.created();
    let cp = client(&t, "legal_entity", "ООО «Ромашка»", None).await;
    contact(&t, &cp, "Сидорова Анна", "Главный бухгалтер", Some("buh@romashka.ru"), Some("+7 (916) 123-45-67")).await;
    debt(&app, &t, &cp, "0000-000201", d(2026, 6, 1), 50_000).await;
    // Thu 4 June, 10:00: the SMS goes to SMS.RU.
    let report = plan_at(&t, d(2026, 6, 4), 10, 0).await;
    assert_eq!(report["sent_by_providers"], 1, "{report}");
    let sends = || sms.seen.lock().unwrap().iter().filter(|f| f.iter().any(|(k, _)| k == "to")).cloned().collect::<Vec<_>>();
    assert_eq!(sends().len(), 1);
    assert!(sends()[0].contains(&("to".into(), "79161234567".into())), "{:?}", sends());
    let all = messages(&t, &cp).await;
    let m = all.iter().find(|m| m["channel"] == "sms").unwrap();
    assert_eq!((s(&m["status"]), s(&m["delivery"])), ("queued".into(), "sent".into()), "{m}");
    assert!(m["provider_ids"].as_str().is_some_and(|p| !p.is_empty()), "{m}");
    // Again, the same day and later that day: nothing more reaches SMS.RU.
    plan_at(&t, d(2026, 6, 4), 15, 0).await;
    let mut tx = app.state.db.begin().await.unwrap();
    crm_host::jobs::service::enqueue(&mut tx.conn(), &app.state.jobs, TenantId(t.id), &crm_host::reminders::DISPATCH_JOB, json!({"now": "2026-06-04T13:00:00Z"}), None).await.unwrap();
    tx.commit().await.unwrap();
    app.run_jobs().await;
    assert_eq!(sends().len(), 1, "sent once");
    // That dispatch also asked SMS.RU how the SMS is doing: delivered (status 103).
    let m = messages(&t, &cp).await.into_iter().find(|m| m["channel"] == "sms").unwrap();
    assert_eq!(s(&m["delivery"]), "delivered", "{m}");
    // Fri 5 June: the call step has no voice module — skipped, saying what to set up.
    plan_at(&t, d(2026, 6, 5), 10, 0).await;
    let all = messages(&t, &cp).await;
    let v = all.iter().find(|m| m["channel"] == "voice").unwrap();
    assert_eq!(s(&v["status"]), "skipped", "{v}");
    assert!(s(&v["reason"]).contains("голосовые звонки не настроены") && s(&v["reason"]).contains("voice_module"), "{v}");
    let timeline = t.admin.get(&format!("/api/v1/counterparties/{cp}/timeline")).await.ok().text();
    assert!(timeline.contains("отправлено через sms-ru"), "{timeline}");
}

/// Calls through the built-in voice-smsc module against a loopback SMSC.RU (its `fmt=3`
/// answers), named as `voice_module`: the voice step of Mon 15 June (10 days after a due
/// date of Fri 5 June) calls each recipient once, even when SMSC.RU's answer to the first
/// call is lost and the dispatch runs again; a number SMSC.RU refuses is skipped with its
/// words; the status refresh marks the calls delivered once answered.
async fn voice_calls_go_through_smsc_once_per_recipient_and_a_refused_number_is_named(app: TestApp) {
    let t = app.tenant("ООО Дистрибьютор").await;
    let smsc = crate::plugin_platform::fake_smsc("distributor", "secret").await;
    smsc.enable(&t, "distributor", "secret").await;
    let mut settings = t.admin.get("/api/v1/reminder-settings").await.ok().body;
    settings["voice_module"] = json!("voice-smsc");
    t.admin.put("/api/v1/reminder-settings", settings).await.ok();
    // The default rule's call step, alone: 10 days after the due date, to the director and the accountant.
    let default = t.admin.get("/api/v1/reminder-rules").await.ok().body[0]["id"].as_str().unwrap().to_string();
    t.admin.delete(&format!("/api/v1/reminder-rules/{default}")).await.expect(StatusCode::NO_CONTENT);
    let step = json!({"offset": {"kind": "calendar_days_after", "days": 10}, "channel": "voice", "template": "reminder_short", "recipients": ["director", "accountant"]});
    t.admin.post("/api/v1/reminder-rules", json!({"name": "Звонок", "steps": [step]})).await.created();
    let good = client(&t, "legal_entity", "ООО «Ромашка»", None).await;
    contact(&t, &good, "Петров Иван", "Генеральный директор", None, Some("+7 (916) 123-45-67")).await;
    contact(&t, &good, "Сидорова Анна", "Главный бухгалтер", None, Some("8 (926) 765-43-21")).await;
    debt(&app, &t, &good, "0000-000301", d(2026, 6, 5), 120_000).await;
    let bad = client(&t, "legal_entity", "ООО «Лютик»", None).await;
    contact(&t, &bad, "Кузнецов Олег", "Директор", None, Some("+7 916 12")).await;
    debt(&app, &t, &bad, "0000-000302", d(2026, 6, 5), 80_000).await;

    // Mon 15 June, 10:00: SMSC.RU takes the first call but its answer is lost — the whole
    // send fails, nothing is recorded as sent, and the messages wait for the next dispatch.
    smsc.lose_answers.store(1, std::sync::atomic::Ordering::SeqCst);
    let report = plan_at(&t, d(2026, 6, 15), 10, 0).await;
    assert_eq!(report["sent_by_providers"], 0, "{report}");
    assert_eq!(smsc.taken.lock().unwrap().len(), 1, "SMSC.RU took one call");
    let waiting = messages(&t, &good).await;
    assert_eq!(s(&waiting[0]["status"]), "planned", "{:?}", waiting[0]);
    assert!(s(&waiting[0]["delivery_detail"]).contains("повторим"), "{:?}", waiting[0]);
    // The dispatch runs again, twice: the lost call is found at SMSC.RU by its id and not
    // made again; the other recipient is called once; the bad number is refused.
    for now in ["2026-06-15T07:05:00Z", "2026-06-15T07:10:00Z"] {
        run_job(&app, &t, crm_host::reminders::DISPATCH_JOB, json!({"now": now})).await;
    }
    let calls = smsc.calls();
    let phones: Vec<String> = calls.iter().map(|f| f.iter().find(|(k, _)| k == "phones").unwrap().1.clone()).collect();
    assert_eq!(phones.iter().filter(|p| *p == "79161234567").count(), 1, "{phones:?}");
    assert_eq!(phones.iter().filter(|p| *p == "79267654321").count(), 1, "{phones:?}");
    assert_eq!(smsc.taken.lock().unwrap().len(), 2, "SMSC.RU took two calls: {:?}", smsc.taken.lock().unwrap());
    assert!(calls.iter().all(|f| f.contains(&("call".into(), "1".into())) && f.contains(&("voice".into(), "m".into()))), "{calls:?}");
    assert!(calls.iter().all(|f| f.iter().any(|(k, v)| k == "mes" && !v.trim().is_empty())), "the reminder's text is read out: {calls:?}");

    let m = messages(&t, &good).await.into_iter().find(|m| m["channel"] == "voice").unwrap();
    assert_eq!((s(&m["status"]), s(&m["delivery"])), ("queued".into(), "queued".into()), "{m}");
    let ids = s(&m["provider_ids"]);
    assert_eq!(ids.split(',').count(), 2, "{m}");
    assert!(ids.contains(":79161234567") && ids.contains(":79267654321"), "{m}");
    let refused = messages(&t, &bad).await.into_iter().find(|m| m["channel"] == "voice").unwrap();
    assert_eq!(s(&refused["status"]), "skipped", "{refused}");
    assert!(s(&refused["reason"]).contains("invalid number"), "SMSC.RU's words: {refused}");

    // Both calls answered: the next dispatch's status refresh marks the reminder delivered.
    smsc.answer_all();
    run_job(&app, &t, crm_host::reminders::DISPATCH_JOB, json!({"now": "2026-06-15T08:00:00Z"})).await;
    let m = messages(&t, &good).await.into_iter().find(|m| m["channel"] == "voice").unwrap();
    assert_eq!(s(&m["delivery"]), "delivered", "{m}");
    assert_eq!(smsc.taken.lock().unwrap().len(), 2, "still two calls");
    let timeline = t.admin.get(&format!("/api/v1/counterparties/{good}/timeline")).await.ok().text();
    assert!(timeline.contains("отправлено через voice-smsc"), "{timeline}");
    let timeline = t.admin.get(&format!("/api/v1/counterparties/{bad}/timeline")).await.ok().text();
    assert!(timeline.contains("invalid number"), "{timeline}");
}
