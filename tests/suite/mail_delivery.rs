//! The outbox delivered to a real SMTP server on loopback (`crm_tests::smtp`: STARTTLS with
//! the test CA, AUTH PLAIN): once per message with its `Message-ID`, bodies and inline
//! parts intact; a recipient refused for good fails with the server's words, a temporary
//! refusal is tried again later; a wrong password or an untrusted certificate stops the run
//! and leaves every message queued; the password is never shown.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use crm_host::mail::outbox::{self, Attachment, OutgoingEmail};
use crm_host::tenancy::TenantId;
use crm_tests::smtp::{SmtpServer, SmtpTls};
use crm_tests::{TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    the_outbox_reaches_the_smtp_server_once_over_starttls_with_its_login,
    refusals_are_recorded_with_the_servers_words_and_temporary_ones_are_tried_again,
    a_wrong_password_or_an_untrusted_certificate_stops_the_run_and_keeps_every_message,
);

fn mail(to: &str, subject: &str, key: &str) -> OutgoingEmail {
    OutgoingEmail {
        source: "test:mail".into(),
        idempotency_key: Some(key.into()),
        from: "Иван Петров <ivan@seller.ru>".into(),
        reply_to: Some("debts@seller.ru".into()),
        to: vec![to.into()],
        cc: vec![],
        subject: subject.into(),
        text: "Добрый день! Напоминаем о задолженности.".into(),
        html: Some("<p>Добрый день! Напоминаем о <b>задолженности</b>.</p><img src=\"cid:chart\">".into()),
        attachments: vec![
            Attachment { filename: "chart.png".into(), content_type: "image/png".into(), content: b"\x89PNG\r\n\x1a\nnot-really".to_vec(), content_id: Some("chart".into()) },
            Attachment { filename: "Акт сверки.pdf".into(), content_type: "application/pdf".into(), content: b"%PDF-1.7 test".to_vec(), content_id: None },
        ],
    }
}

async fn set_server(t: &TestTenant, smtp: &SmtpServer, password: &str, ca: bool) -> Value {
    let mut body = json!({"host": "localhost", "port": smtp.port, "security": "starttls", "username": "crm", "password": password, "from": "robot@seller.ru"});
    if ca {
        body["ca_pem"] = json!(SmtpServer::ca_pem());
    }
    t.admin.put("/api/v1/mail/settings", body).await.ok().body
}

async fn deliver(app: &TestApp, t: &TestTenant, now: chrono::DateTime<Utc>) -> crm_host::jobs::Job {
    {
        let mut tx = app.state.db.begin().await.unwrap();
        crm_host::jobs::service::enqueue(&mut tx.conn(), &app.state.jobs, TenantId(t.id), &crm_host::mail::delivery::DELIVER_JOB, json!({"now": now.to_rfc3339()}), None).await.unwrap();
        tx.commit().await.unwrap();
    }
    let done = app.run_jobs().await;
    assert_eq!(done.len(), 1, "{done:?}");
    done[0].clone()
}

async fn outbox_item(t: &TestTenant, id: crm_host::mail::MailId) -> Value {
    t.admin.get(&format!("/api/v1/mail/outbox/{}", id.0)).await.ok().body
}

async fn the_outbox_reaches_the_smtp_server_once_over_starttls_with_its_login(app: TestApp) {
    let smtp = SmtpServer::start(SmtpTls::Starttls, Some(("crm", "s3cret-pass")));
    let t = app.tenant("ООО Продавец").await;
    let shown = set_server(&t, &smtp, "s3cret-pass", true).await;
    assert_eq!((shown["password_set"].as_bool(), shown["port"].as_u64()), (Some(true), Some(u64::from(smtp.port))));
    assert!(!shown.to_string().contains("s3cret-pass"), "the password is never shown: {shown}");
    // Saving again without a password keeps the stored one.
    let mut again = json!({"host": "localhost", "port": smtp.port, "security": "starttls", "username": "crm", "from": "robot@seller.ru", "ca_pem": SmtpServer::ca_pem()});
    assert_eq!(t.admin.put("/api/v1/mail/settings", again.clone()).await.ok().body["password_set"], true);

    let id = outbox::queue(&app.state.db, TenantId(t.id), &mail("buh@buyer.ru", "Напоминание об оплате по счёту № 15", "m1")).await.unwrap();
    assert_eq!(outbox_item(&t, id).await["status"], "queued");
    let job = deliver(&app, &t, Utc::now()).await;
    assert_eq!(job.status, crm_host::jobs::JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.progress.0["sent"], 1, "{:?}", job.progress);

    let got = smtp.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!((m.from.as_str(), m.to.clone(), m.user.as_deref()), ("robot@seller.ru", vec!["buh@buyer.ru".to_owned()], Some("crm")), "envelope from the settings, under the login");
    let item = outbox_item(&t, id).await;
    assert_eq!(item["status"], "sent", "{item}");
    let message_id = item["message_id"].as_str().unwrap().to_owned();
    assert_eq!(message_id, format!("<{}@seller.ru>", id.0));
    assert_eq!(m.header("Message-ID").as_deref(), Some(message_id.as_str()));
    assert!(m.header("From").unwrap().contains("<ivan@seller.ru>"), "{:?}", m.header("From"));
    assert!(m.header("Subject").unwrap().starts_with("=?utf-8?"), "a Cyrillic subject is encoded: {:?}", m.header("Subject"));
    assert!(m.data.contains("multipart/related") && m.data.contains("Content-ID: <chart>") && m.data.contains("multipart/alternative"), "inline chart in the HTML part:\n{}", m.data);
    assert!(m.data.contains("application/pdf"), "the PDF is attached");

    // A second run, and a second queueing with the same key, send nothing more.
    assert_eq!(outbox::queue(&app.state.db, TenantId(t.id), &mail("buh@buyer.ru", "Напоминание об оплате по счёту № 15", "m1")).await.unwrap(), id);
    let mut tx = app.state.db.begin().await.unwrap();
    crm_host::jobs::service::enqueue(&mut tx.conn(), &app.state.jobs, TenantId(t.id), &crm_host::mail::delivery::DELIVER_JOB, json!({}), None).await.unwrap();
    tx.commit().await.unwrap();
    app.run_jobs().await;
    assert_eq!(smtp.received().len(), 1, "delivered once");

    // The test button sends at once, outside the outbox.
    let test = t.admin.post("/api/v1/mail/settings/test", json!({"to": "admin@seller.ru"})).await.ok().body;
    assert_eq!(test["ok"], true, "{test}");
    assert_eq!(smtp.received().len(), 2);
    t.admin.post("/api/v1/mail/settings/test", json!({"to": "not an address"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);

    // Bad settings are named; another tenant has none.
    again["from"] = json!("robot");
    again["security"] = json!("ssl");
    let bad = t.admin.put("/api/v1/mail/settings", again).await.expect(StatusCode::UNPROCESSABLE_ENTITY).body;
    assert!(bad.to_string().contains("security"), "{bad}");
    let bad = t.admin.put("/api/v1/mail/settings", json!({"host": "smtp host", "security": "tls", "from": "robot"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY).body;
    assert!(bad.to_string().contains("host") && bad.to_string().contains("from"), "{bad}");
    let other = app.tenant("Другой").await;
    other.admin.get("/api/v1/mail/settings").await.expect(StatusCode::NOT_FOUND);
    other.admin.get(&format!("/api/v1/mail/outbox/{}", id.0)).await.expect(StatusCode::NOT_FOUND);
    let (manager, _) = t.user("manager").await;
    manager.get("/api/v1/mail/settings").await.expect(StatusCode::FORBIDDEN);
}

async fn refusals_are_recorded_with_the_servers_words_and_temporary_ones_are_tried_again(app: TestApp) {
    let smtp = SmtpServer::start(SmtpTls::Starttls, Some(("crm", "pw")));
    smtp.refuse("nobody@buyer.ru", 550, "5.1.1 Mailbox nobody@buyer.ru does not exist", None);
    smtp.refuse("busy@buyer.ru", 451, "4.3.0 Try again later", Some(1));
    let t = app.tenant("ООО Продавец").await;
    set_server(&t, &smtp, "pw", true).await;
    let tenant = TenantId(t.id);
    let gone = outbox::queue(&app.state.db, tenant, &mail("nobody@buyer.ru", "Первое", "a")).await.unwrap();
    let busy = outbox::queue(&app.state.db, tenant, &mail("busy@buyer.ru", "Второе", "b")).await.unwrap();
    let fine = outbox::queue(&app.state.db, tenant, &mail("buh@buyer.ru", "Третье", "c")).await.unwrap();

    let now = Utc::now();
    let job = deliver(&app, &t, now).await;
    assert_eq!((job.progress.0["sent"].as_i64(), job.progress.0["deferred"].as_i64(), job.progress.0["failed"].as_i64()), (Some(1), Some(1), Some(1)), "{:?}", job.progress);
    let item = outbox_item(&t, gone).await;
    assert_eq!(item["status"], "failed");
    assert!(item["last_error"].as_str().unwrap().contains("550") && item["last_error"].as_str().unwrap().contains("does not exist"), "{item}");
    let item = outbox_item(&t, busy).await;
    assert_eq!((item["status"].as_str(), item["attempts"].as_i64()), (Some("queued"), Some(1)), "{item}");
    assert!(item["last_error"].as_str().unwrap().contains("Try again later"), "{item}");
    let next: chrono::DateTime<Utc> = item["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!(next > now, "tried again later, not now");
    assert_eq!(outbox_item(&t, fine).await["status"], "sent");

    // Before its time nothing is tried; after it, the message goes.
    let job = deliver(&app, &t, now + Duration::seconds(10)).await;
    assert_eq!(job.progress.0["sent"], 0, "{:?}", job.progress);
    let job = deliver(&app, &t, next + Duration::seconds(1)).await;
    assert_eq!(job.progress.0["sent"], 1, "{:?}", job.progress);
    assert_eq!(outbox_item(&t, busy).await["status"], "sent");
    let to: Vec<String> = smtp.received().iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(to, vec!["buh@buyer.ru".to_owned(), "busy@buyer.ru".to_owned()], "each once, the refused one never");

    // A failed message is queued again by hand once its cause is fixed; a sent one is not.
    t.admin.post(&format!("/api/v1/mail/outbox/{}/retry", fine.0), json!({})).await.expect(StatusCode::CONFLICT);
    let again = t.admin.post(&format!("/api/v1/mail/outbox/{}/retry", gone.0), json!({})).await.ok().body;
    assert_eq!(again["status"], "queued");
    let failed = t.admin.get("/api/v1/mail/outbox?status=failed").await.ok().body;
    assert!(failed["items"].as_array().unwrap().is_empty(), "{failed}");
}

async fn a_wrong_password_or_an_untrusted_certificate_stops_the_run_and_keeps_every_message(app: TestApp) {
    let smtp = SmtpServer::start(SmtpTls::Starttls, Some(("crm", "right")));
    let t = app.tenant("ООО Продавец").await;
    let tenant = TenantId(t.id);
    // Nothing set: the run says so and the message waits.
    let id = outbox::queue(&app.state.db, tenant, &mail("buh@buyer.ru", "Счёт", "x")).await.unwrap();
    let job = deliver(&app, &t, Utc::now()).await;
    assert_eq!(job.status, crm_host::jobs::JobStatus::Failed);
    assert!(job.error.as_deref().unwrap_or_default().contains("SMTP-сервер не настроен"), "{:?}", job.error);

    set_server(&t, &smtp, "wrong", true).await;
    let job = deliver(&app, &t, Utc::now()).await;
    assert_eq!(job.status, crm_host::jobs::JobStatus::Failed);
    let error = job.error.unwrap_or_default();
    assert!(error.contains("Не удалось подключиться к SMTP-серверу") && error.contains("535"), "names the refused login: {error}");
    assert!(!error.contains("wrong"), "never the password: {error}");
    let item = outbox_item(&t, id).await;
    assert_eq!((item["status"].as_str(), item["attempts"].as_i64()), (Some("queued"), Some(0)), "{item}");

    // Without the CA the server's certificate is not trusted.
    set_server(&t, &smtp, "right", false).await;
    let job = deliver(&app, &t, Utc::now()).await;
    assert_eq!(job.status, crm_host::jobs::JobStatus::Failed);
    assert!(job.error.as_deref().unwrap_or_default().to_lowercase().contains("certificate"), "{:?}", job.error);
    assert_eq!(outbox_item(&t, id).await["status"], "queued");
    assert!(smtp.received().is_empty());

    set_server(&t, &smtp, "right", true).await;
    assert_eq!(deliver(&app, &t, Utc::now()).await.progress.0["sent"], 1);
    assert_eq!(smtp.received().len(), 1);
}
