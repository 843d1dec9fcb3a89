//! The debt-control assistant and the morning digest, over simulated days on both engines:
//! a control task given once, escalated to the manager's department head after its control
//! date, closed when the debt is paid; the digest's figures against a small data set counted
//! by hand, queued once per recipient and day, with a PNG chart that decodes.

use chrono::{NaiveDate, TimeZone, Utc};
use crm_host::tenancy::TenantId;
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::reminders::{client, d, debt, pay, plan_at, run_job, s};

on_both_engines!(
    a_control_task_is_given_once_escalated_to_the_department_head_and_closed_when_paid,
    the_morning_digest_matches_figures_counted_by_hand_and_is_queued_once_per_recipient_and_day,
);

async fn controls(t: &TestTenant, cp: &str) -> Vec<Value> {
    t.admin.get(&format!("/api/v1/counterparties/{cp}/debt-controls")).await.ok().body.as_array().unwrap().clone()
}

async fn task(t: &TestTenant, id: &Value) -> Value {
    t.admin.get(&format!("/api/v1/tasks/{}", s(id))).await.ok().body
}

async fn a_control_task_is_given_once_escalated_to_the_department_head_and_closed_when_paid(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    // The shipped rules.
    let rules = t.admin.get("/api/v1/reminders/control-rules").await.ok().body;
    let names: Vec<String> = rules.as_array().unwrap().iter().map(|r| s(&r["name"])).collect();
    assert_eq!(names, ["Крупный долг", "Долгая просрочка"]);
    assert_eq!(rules[0]["min_debt"], "500000.00");
    assert_eq!(rules[1]["min_days_overdue"], 30);
    // A rule needs a condition.
    let bad = t.admin.post("/api/v1/reminders/control-rules", json!({"name": "Пустое", "control_days": 3})).await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.body);
    // The manager works in risk; the risk head, not the general head, gets the escalation.
    let (_, general_head) = t.user("head").await;
    let (_, risk_head) = t.user("head").await;
    let (_, manager) = t.user("manager").await;
    t.admin.patch(&format!("/api/v1/users/{risk_head}"), json!({"departments": ["risk"]})).await.ok();
    t.admin.patch(&format!("/api/v1/users/{manager}"), json!({"departments": ["risk"]})).await.ok();
    assert_ne!(general_head, risk_head);

    let cp = client(&t, "legal_entity", "ООО «Крупный»", Some(manager)).await;
    debt(&app, &t, &cp, "К-1", d(2026, 3, 2), 600_000).await;
    // A disputed large debt gets no control task.
    let other = client(&t, "legal_entity", "ООО «Спорный»", Some(manager)).await;
    let disputed = debt(&app, &t, &other, "С-1", d(2026, 3, 2), 700_000).await;
    t.admin.put(&format!("/api/v1/sales-documents/{disputed}/dispute"), json!({"disputed": true, "reason": "Не согласны с суммой"})).await.ok();

    // Tue 10 March: the large debt gets a task with a control date 3 working days on (Fri 13th).
    let r = plan_at(&t, d(2026, 3, 10), 9, 0).await;
    assert_eq!(r["control"], json!({"opened": 1, "escalated": 0, "closed": 0}), "{r}");
    let again = plan_at(&t, d(2026, 3, 10), 12, 0).await;
    assert_eq!(again["control"], json!({"opened": 0, "escalated": 0, "closed": 0}), "a second run of the day gives nothing more");
    plan_at(&t, d(2026, 3, 11), 9, 0).await;
    let list = controls(&t, &cp).await;
    assert_eq!(list.len(), 1, "one control per rule and client: {list:?}");
    assert_eq!(list[0]["control_on"], "2026-03-13");
    assert_eq!(list[0]["status"], "open");
    let first = task(&t, &list[0]["task_id"]).await;
    assert_eq!(s(&first["assignee_id"]), manager.to_string());
    assert!(s(&first["title"]).contains("Крупный долг"), "{first}");
    assert!(controls(&t, &other).await.is_empty(), "a disputed debt is not controlled");

    // Not done by Friday: on the next working day the risk head gets a task, once.
    let r = plan_at(&t, d(2026, 3, 13), 9, 0).await;
    assert_eq!(r["control"]["escalated"], 0, "not before the control date has passed");
    let r = plan_at(&t, d(2026, 3, 16), 9, 0).await;
    assert_eq!(r["control"]["escalated"], 1, "{r}");
    let r = plan_at(&t, d(2026, 3, 17), 9, 0).await;
    assert_eq!(r["control"]["escalated"], 0, "escalated once");
    let list = controls(&t, &cp).await;
    let escalation = task(&t, &list[0]["escalation_task_id"]).await;
    assert_eq!(s(&escalation["assignee_id"]), risk_head.to_string(), "the head of the manager's department");
    assert_eq!(list[0]["escalated_on"], "2026-03-16");

    // Paid: the control closes, and both tasks close themselves.
    pay(&app, &t, &cp, d(2026, 3, 18), 600_000).await;
    let r = plan_at(&t, d(2026, 3, 18), 9, 0).await;
    assert_eq!(r["control"]["closed"], 1, "{r}");
    let list = controls(&t, &cp).await;
    assert_eq!(list[0]["status"], "closed");
    assert_eq!(s(&list[0]["close_reason"]), "долг оплачен");
    assert_eq!(task(&t, &list[0]["task_id"]).await["status"], "done");
    assert_eq!(task(&t, &list[0]["escalation_task_id"]).await["status"], "done");
    // The client's timeline tells the story.
    let timeline = t.admin.get(&format!("/api/v1/counterparties/{cp}/timeline?limit=100")).await.ok().body;
    let texts: Vec<String> = timeline["items"].as_array().unwrap().iter().map(|e| s(&e["summary"])).filter(|x| x.starts_with("Контроль долга")).collect();
    assert_eq!(texts.len(), 3, "given, escalated, closed: {texts:?}");

    // The rules' API: edit and delete.
    let id = s(&rules[1]["id"]);
    let edited = t.admin.put(&format!("/api/v1/reminders/control-rules/{id}"), json!({"name": "Просрочка 60", "min_days_overdue": 60, "control_days": 5})).await.ok().body;
    assert_eq!((edited["min_days_overdue"].as_i64(), edited["working_days"].as_bool()), (Some(60), Some(false)));
    t.admin.delete(&format!("/api/v1/reminders/control-rules/{id}")).await.expect(axum::http::StatusCode::NO_CONTENT);
    assert_eq!(t.admin.get("/api/v1/reminders/control-rules").await.ok().body.as_array().unwrap().len(), 1);
}

/// Runs the digest of a day as its job does.
async fn run_digest(app: &TestApp, t: &TestTenant, day: NaiveDate) -> crm_host::reminders::digest::Report {
    crm_host::reminders::digest::send_all(&app.state, TenantId(t.id), day).await.unwrap()
}

async fn digest_mails(app: &TestApp, t: &TestTenant) -> Vec<(String, String, String, Option<String>)> {
    let sql = "SELECT idempotency_key, subject, text_body, html_body FROM mail_outbox WHERE tenant_id = $1 AND source = 'digest' ORDER BY idempotency_key";
    let mut conn = app.state.db.read().await.unwrap();
    let c = &mut conn.conn();
    crm_host::on_conn!(c, c => sqlx::query_as(sql).bind(t.id).fetch_all(c).await).unwrap()
}

async fn chart_attachments(app: &TestApp, t: &TestTenant) -> Vec<(String, String, Vec<u8>)> {
    let sql = "SELECT a.filename, a.content_type || ' ' || COALESCE(a.content_id, ''), a.content FROM mail_attachments a JOIN mail_outbox m ON m.tenant_id = a.tenant_id AND m.id = a.mail_id \
               WHERE a.tenant_id = $1 AND m.source = 'digest'";
    let mut conn = app.state.db.read().await.unwrap();
    let c = &mut conn.conn();
    crm_host::on_conn!(c, c => sqlx::query_as(sql).bind(t.id).fetch_all(c).await).unwrap()
}

fn money_list(v: &Value, field: &str) -> Vec<(String, String)> {
    v.as_array().unwrap().iter().map(|x| (s(&x["client"]), s(&x[field]))).collect()
}

async fn the_morning_digest_matches_figures_counted_by_hand_and_is_queued_once_per_recipient_and_day(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    // Only the digest here: no control tasks (they would count as work on a client).
    for r in t.admin.get("/api/v1/reminders/control-rules").await.ok().body.as_array().unwrap() {
        t.admin.delete(&format!("/api/v1/reminders/control-rules/{}", s(&r["id"]))).await.expect(axum::http::StatusCode::NO_CONTENT);
    }
    let (head, head_id) = t.user("head").await;
    let (manager, manager_id) = t.user("manager").await;
    let (_, other_manager) = t.user("manager").await;
    // The manager opts in to the digest of their own clients.
    manager.put("/api/v1/reminders/digest/subscription", json!({"opted_in": true})).await.ok();

    // Natural persons: the default reminder rule (companies) stays out of the way.
    let np = |name: &'static str, who: Option<Uuid>| {
        let t = &t;
        async move { client(t, "natural_person", name, who).await }
    };
    let a = np("Альфа", Some(manager_id)).await;
    let b = np("Бета", Some(manager_id)).await;
    let c = np("Гамма", Some(other_manager)).await;
    let dd = np("Дельта", None).await;
    let e = np("Эпсилон", None).await;
    let f = np("Фита", None).await;
    let g = np("Гамма-2", None).await;
    debt(&app, &t, &a, "A1", d(2026, 5, 4), 1_000_000).await;
    debt(&app, &t, &a, "A2", d(2026, 6, 9), 200_000).await;
    let b1 = debt(&app, &t, &b, "B1", d(2026, 6, 8), 300_000).await;
    debt(&app, &t, &b, "B2", d(2026, 6, 19), 50_000).await;
    let c1 = debt(&app, &t, &c, "C1", d(2026, 4, 1), 120_000).await;
    let d1 = debt(&app, &t, &dd, "D1", d(2026, 6, 1), 80_000).await;
    debt(&app, &t, &e, "E1", d(2026, 5, 15), 60_000).await;
    debt(&app, &t, &f, "F1", d(2026, 6, 1), 70_000).await;
    for n in 1..=6 {
        debt(&app, &t, &g, &format!("G{n}"), d(2026, 5, 20), n * 1_000).await;
    }
    t.admin.put(&format!("/api/v1/sales-documents/{d1}/dispute"), json!({"disputed": true, "reason": "Спор"})).await.ok();

    // Tuesday 9 June: the digest keeps yesterday's snapshot.
    let first = run_digest(&app, &t, d(2026, 6, 9)).await;
    assert_eq!(first.mails.len(), 2, "the head and the manager who opted in: {first:?}");
    // Then F pays in full, B breaks a promise, C promises to pay today, C and E had calls.
    pay(&app, &t, &f, d(2026, 6, 9), 70_000).await;
    t.admin.post(&format!("/api/v1/counterparties/{b}/promises"), json!({"amount": "100000.00", "promised_on": "2026-06-08", "made_on": "2026-06-01", "document_ids": [b1]})).await.created();
    t.admin.post(&format!("/api/v1/counterparties/{c}/promises"), json!({"amount": "120000.00", "promised_on": "2026-06-10", "made_on": "2026-06-05", "document_ids": [c1]})).await.created();
    let moscow = |y, m, day, h| crm_host::jobs::schedule::tenant_zone("Europe/Moscow").with_ymd_and_hms(y, m, day, h, 0, 0).unwrap().with_timezone(&Utc);
    t.admin.post("/api/v1/interactions", json!({"kind": "call", "subject": "Обещал оплатить", "counterparty_id": c, "occurred_at": moscow(2026, 6, 5, 10)})).await.created();
    t.admin.post("/api/v1/interactions", json!({"kind": "call", "subject": "Давний звонок", "counterparty_id": e, "occurred_at": moscow(2026, 5, 1, 10)})).await.created();
    let r = plan_at(&t, d(2026, 6, 9), 7, 0).await;
    assert_eq!(r["promises_broken"], 1, "{r}");

    // Wednesday 10 June, twice.
    let day = d(2026, 6, 10);
    let second = run_digest(&app, &t, day).await;
    let again = run_digest(&app, &t, day).await;
    assert_eq!(second.mails.len(), 2);
    assert_eq!(second.mails, again.mails, "a second run finds the same messages");
    let mails = digest_mails(&app, &t).await;
    let keys: Vec<&str> = mails.iter().map(|m| m.0.as_str()).collect();
    let mut want = vec![
        format!("digest:{head_id}:2026-06-09"),
        format!("digest:{head_id}:2026-06-10"),
        format!("digest:{manager_id}:2026-06-09"),
        format!("digest:{manager_id}:2026-06-10"),
    ];
    want.sort();
    assert_eq!(keys, want, "once per recipient and day");

    // The head's digest, counted by hand.
    let v = head.get("/api/v1/reminders/digest?date=2026-06-10").await.ok().body;
    assert_eq!(v["scope"], "all");
    // Owed: 1 000 000 + 200 000 + 300 000 + 50 000 + 120 000 + 80 000 + 60 000 + 21 000 (F paid).
    assert_eq!(v["owed"], "1831000.00");
    // Overdue: everything but B2 (due 19 June).
    assert_eq!(v["overdue"], "1781000.00");
    // Yesterday: owed 1 901 000 (F1 still open), overdue 1 651 000 (A2 fell due on the 9th).
    assert_eq!(v["owed_change"], "-70000.00");
    assert_eq!(v["overdue_change"], "130000.00");
    assert_eq!(money_list(&v["paid"], "amount"), [("Фита".to_string(), "70000.00".to_string())]);
    assert_eq!(v["paid_total"], "70000.00");
    let numbers = |list: &Value| list.as_array().unwrap().iter().map(|x| s(&x["number"])).collect::<Vec<_>>();
    assert_eq!(numbers(&v["newly_overdue"]), ["B1", "A2"], "due on the 8th and the 9th");
    // Forgotten: no call, task or reminder in 14 days — not C (a call on the 5th), not B (the
    // broken promise gave its manager a task); E's call was on 1 May.
    let forgotten: Vec<(String, String, i64)> = v["forgotten"].as_array().unwrap().iter().map(|x| (s(&x["client"]), s(&x["overdue"]), x["days_overdue"].as_i64().unwrap())).collect();
    assert_eq!(
        forgotten,
        [
            ("Альфа".to_string(), "1200000.00".to_string(), 37),
            ("Дельта".to_string(), "80000.00".to_string(), 9),
            ("Эпсилон".to_string(), "60000.00".to_string(), 26),
            ("Гамма-2".to_string(), "21000.00".to_string(), 21),
        ]
    );
    assert_eq!(money_list(&v["promises_due"], "amount"), [("Гамма".to_string(), "120000.00".to_string())]);
    assert_eq!(money_list(&v["promises_broken"], "missing"), [("Бета".to_string(), "100000.00".to_string())]);
    assert_eq!(numbers(&v["top_overdue"]), ["A1", "B1", "A2", "C1", "D1", "E1", "G6", "G5", "G4", "G3"], "the 10 biggest");
    assert_eq!(v["top_overdue"][4]["disputed"], true, "a disputed debt stays in the report, marked");
    let buckets: Vec<String> = v["buckets"].as_array().unwrap().iter().map(|b| s(&b["amount"])).collect();
    assert_eq!(buckets, ["50000.00", "661000.00", "1000000.00", "120000.00", "0.00"]);
    assert!(s(&v["links"]["receivables"]).ends_with("/receivables"));

    // The manager's digest covers A and B only.
    let m = manager.get("/api/v1/reminders/digest?date=2026-06-10").await.ok().body;
    assert_eq!((m["scope"].as_str(), m["subscribed"].as_bool()), (Some("own"), Some(true)));
    assert_eq!(m["owed"], "1550000.00");
    assert_eq!(m["owed_change"], "0.00");
    assert_eq!(numbers(&m["top_overdue"]), ["A1", "B1", "A2"]);
    assert!(m["paid"].as_array().unwrap().is_empty());

    // The e-mail: subject, plain text and HTML with amounts as the reader reads them.
    let (_, subject, text, html) = mails.iter().find(|x| x.0 == format!("digest:{head_id}:2026-06-10")).unwrap();
    assert_eq!(subject.replace('\u{a0}', " "), "Сводка по задолженности на 10.06.2026");
    assert!(text.contains("Нам должны: 1 831 000,00 руб."), "{text}");
    assert!(text.contains("Альфа | 1 200 000,00 | 37"), "{text}");
    let html = html.as_deref().unwrap();
    assert!(html.contains("1\u{a0}831\u{a0}000,00"), "amounts with NBSP");
    assert!(html.contains("<a href=\"http://"), "links open the host's pages");
    assert!(html.contains("<img src=\"cid:digest-chart\""), "the chart is shown inline: {html}");
    // The chart: a PNG that decodes, on every digest.
    let charts = chart_attachments(&app, &t).await;
    assert_eq!(charts.len(), 4);
    for (name, content_type, bytes) in &charts {
        assert_eq!((name.as_str(), content_type.as_str()), ("digest-chart.png", "image/png digest-chart"), "an inline part with its content id");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes.as_slice())).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert!(info.width >= 200 && info.height > 0);
    }

    // The digest is a job kind on by default at 08:00 in the tenant's zone; run as a job for a
    // day already sent, it queues nothing new.
    let sched = t.admin.get("/api/v1/job-schedules/reminders.digest").await.ok().body;
    assert_eq!((sched["enabled"].as_bool(), sched["daily_at"].as_str()), (Some(true), Some("08:00")), "{sched}");
    let report = run_job(&app, &t, crm_host::reminders::DIGEST_JOB, json!({"date": "2026-06-10"})).await;
    assert_eq!(report["mails"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(digest_mails(&app, &t).await.len(), 4);
}
