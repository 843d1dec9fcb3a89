//! Delivery of the outbox over the tenant's SMTP server (lettre: STARTTLS or TLS, AUTH).
//!
//! A job per tenant ([`DELIVER_JOB`], every minute while something waits) hands the due
//! messages to the server one by one. Only one run per tenant works at a time, across
//! every host process, so a message is never handed over by two runs at once. Each
//! message is marked `sending` in a commit fenced by the job's lease *before* it is
//! handed over, and `sent` after the server accepted it:
//!
//! * a process killed before the server accepted the whole message leaves it `sending`;
//!   the next run hands it over again, with the same `Message-ID` (the server never
//!   accepted the first, unfinished transaction, so it arrives once);
//! * the only window for a second copy is between the server's `250` and the commit of
//!   `sent` (a few milliseconds); the copy then carries the same `Message-ID`, by which
//!   mail clients fold duplicates.
//!
//! A server that cannot be reached, or refuses the login, stops the run and leaves every
//! message queued (the job records the reason); a temporary refusal of one message (4xx)
//! queues it again after a growing pause; a permanent one (5xx) fails it with the server's
//! words. A message still not accepted after [`MAX_ATTEMPTS`] tries fails.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment as Part, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;

use super::outbox::{self, FullMail, MailId};
use super::settings::{self, Security, SmtpServer};
use crate::AppState;
use crate::jobs::runner::{JobError, JobRun};
use crate::jobs::{JobKind, JobKindSpec, RetryPolicy, Schedule};
use crate::tenancy::TenantId;

/// Hands the tenant's due messages to its SMTP server.
pub const DELIVER_JOB: JobKind = JobKind::from_static("mail.deliver");

/// Tries of one message before it fails.
pub const MAX_ATTEMPTS: i32 = 8;

/// How long one exchange with the server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Messages handed over per run (the next run, a minute later, goes on).
const BATCH: i64 = 5000;

pub fn jobs() -> Vec<JobKindSpec> {
    let spec = JobKindSpec::new(DELIVER_JOB, "Отправка почты через SMTP-сервер", |state: AppState, run| async move { deliver_job(&state, &run).await })
        .retry(RetryPolicy { max_attempts: 1, ..RetryPolicy::default() })
        .applies_when(|state: AppState, tenant: TenantId| async move {
            let mut conn = state.db.read().await?;
            let mut c = conn.conn();
            Ok(settings::get(&mut c, tenant).await?.is_some_and(|s| s.enabled) && outbox::any_due(&mut c, tenant, Utc::now()).await?)
        });
    vec![match Schedule::cron("* * * * *").ok() {
        Some(s) => spec.default_schedule(s),
        None => spec,
    }]
}

/// What a delivery run did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct DeliveryReport {
    pub sent: i64,
    /// Refused for a passing reason: tried again later.
    pub deferred: i64,
    pub failed: i64,
    /// Why nothing was sent, when the server could not be used at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

async fn deliver_job(state: &AppState, run: &JobRun) -> Result<serde_json::Value, JobError> {
    let report = deliver(state, run.tenant, run.now(), Some(run)).await?;
    if let Some(why) = &report.stopped {
        return Err(JobError::Failed(why.clone()));
    }
    Ok(serde_json::to_value(report).unwrap_or_default())
}

/// Hands the tenant's due messages to its server; with a job run, each step is fenced by
/// its lease (a run that lost its lease to another process sends nothing more).
pub async fn deliver(state: &AppState, tenant: TenantId, now: DateTime<Utc>, run: Option<&JobRun>) -> Result<DeliveryReport, JobError> {
    let mut report = DeliveryReport::default();
    let server = {
        let mut conn = state.db.read().await.map_err(anyhow::Error::from)?;
        settings::server(&mut conn.conn(), &state.secrets, tenant).await?
    };
    let Some(server) = server.filter(|s| s.enabled) else {
        report.stopped = Some("SMTP-сервер не настроен или выключен: письма ждут в очереди. Укажите его в разделе «Почта».".into());
        return Ok(report);
    };
    let transport = match transport(&server) {
        Ok(t) => t,
        Err(e) => {
            report.stopped = Some(e);
            return Ok(report);
        }
    };
    let due = {
        let mut conn = state.db.read().await.map_err(anyhow::Error::from)?;
        outbox::due(&mut conn.conn(), tenant, now, BATCH).await.map_err(anyhow::Error::from)?
    };
    if due.is_empty() {
        return Ok(report);
    }
    // One check of the server and the login before any message: a server that is down or
    // refuses the password leaves every message as it is.
    match transport.test_connection().await {
        Ok(true) => {}
        Ok(false) => {
            report.stopped = Some(format!("SMTP-сервер {}:{} не ответил на проверку соединения; письма остались в очереди.", server.host, server.port));
            return Ok(report);
        }
        Err(e) => {
            report.stopped = Some(format!("Не удалось подключиться к SMTP-серверу {}:{}: {}. Письма остались в очереди.", server.host, server.port, describe(&e)));
            return Ok(report);
        }
    }
    for (n, id) in due.into_iter().enumerate() {
        let Some(mail) = claim(state, tenant, id, run, n).await? else { continue };
        let outcome = match build(&server, &mail) {
            Ok((envelope, bytes)) => run_interruptible(run, transport.send_raw(&envelope, &bytes)).await?.map_err(|e| classify(&e)),
            Err(why) => Err(Refusal::Permanent(why)),
        };
        let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
        {
            let mut c = tx.conn();
            match outcome {
                Ok(_) => {
                    outbox::mark_sent(&mut c, tenant, id, Utc::now()).await.map_err(anyhow::Error::from)?;
                    report.sent += 1;
                }
                Err(Refusal::Transient(why)) if mail.head.attempts + 1 < MAX_ATTEMPTS => {
                    let next = now + backoff(mail.head.attempts + 1);
                    outbox::mark_retry(&mut c, tenant, id, next, &why).await.map_err(anyhow::Error::from)?;
                    report.deferred += 1;
                }
                Err(Refusal::Transient(why)) => {
                    outbox::mark_failed(&mut c, tenant, id, &format!("не принято после {MAX_ATTEMPTS} попыток: {why}")).await.map_err(anyhow::Error::from)?;
                    report.failed += 1;
                }
                Err(Refusal::Permanent(why)) => {
                    outbox::mark_failed(&mut c, tenant, id, &why).await.map_err(anyhow::Error::from)?;
                    report.failed += 1;
                }
            }
        }
        tx.commit().await.map_err(anyhow::Error::from)?;
    }
    Ok(report)
}

async fn run_interruptible<F: Future>(run: Option<&JobRun>, f: F) -> Result<F::Output, JobError> {
    match run {
        Some(run) => run.interruptible(f).await,
        None => Ok(f.await),
    }
}

/// Marks the message `sending` (fenced by the job's lease) and loads it; `None` when it is
/// no longer due (sent or failed meanwhile).
async fn claim(state: &AppState, tenant: TenantId, id: MailId, run: Option<&JobRun>, n: usize) -> Result<Option<FullMail>, JobError> {
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    let mail = {
        let mut c = tx.conn();
        let Some(mail) = outbox::full(&mut c, tenant, id).await.map_err(anyhow::Error::from)? else { return Ok(None) };
        if !matches!(mail.head.status, outbox::MailStatus::Queued | outbox::MailStatus::Sending) {
            return Ok(None);
        }
        let message_id = mail.head.message_id.clone().unwrap_or_else(|| message_id(id, &mail.head.from));
        outbox::mark_sending(&mut c, tenant, id, &message_id).await.map_err(anyhow::Error::from)?;
        if let Some(run) = run {
            run.save(&mut c, &serde_json::json!({}), &serde_json::json!({ "handled": n })).await?;
        }
        FullMail { head: outbox::OutboxMail { message_id: Some(message_id), ..mail.head }, ..mail }
    };
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(Some(mail))
}

/// The message's `Message-ID`: the outbox id at the sender's domain, the same on every try.
fn message_id(id: MailId, from: &str) -> String {
    let domain = from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').trim()).filter(|d| !d.is_empty()).unwrap_or("crm.local");
    format!("<{}@{domain}>", id.0)
}

/// Waits before the next try after `attempt` tries: 1, 5, 15, 30 minutes, then hours.
fn backoff(attempt: i32) -> chrono::Duration {
    let minutes = match attempt {
        ..=1 => 1,
        2 => 5,
        3 => 15,
        4 => 30,
        5 => 60,
        6 => 180,
        _ => 360,
    };
    chrono::Duration::minutes(minutes)
}

enum Refusal {
    /// Will pass: a 4xx reply, a dropped connection, a timeout.
    Transient(String),
    /// Will not pass: a 5xx reply, a message that cannot be written.
    Permanent(String),
}

fn classify(e: &lettre::transport::smtp::Error) -> Refusal {
    if e.is_permanent() { Refusal::Permanent(format!("сервер отказал: {}", describe(e))) } else { Refusal::Transient(describe(e)) }
}

/// The error in words, with the server's reply when there was one; never a password.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The transport for the tenant's server; an error names the setting to fix.
pub fn transport(server: &SmtpServer) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = match server.security {
        Security::None => Tls::None,
        security => {
            let mut params = TlsParameters::builder(server.host.clone());
            if let Some(pem) = &server.ca_pem {
                let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| format!("Сертификат УЦ в настройках SMTP не читается: {e}"))?;
                params = params.add_root_certificate(cert);
            }
            let params = params.build_rustls().map_err(|e| format!("Настройки TLS для SMTP-сервера {} неверны: {e}", server.host))?;
            if security == Security::Tls { Tls::Wrapper(params) } else { Tls::Required(params) }
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone()).port(server.port).tls(tls).timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&server.username, &server.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The envelope (from the settings' sender to every recipient) and the RFC 5322 bytes.
fn build(server: &SmtpServer, mail: &FullMail) -> Result<(lettre::address::Envelope, Vec<u8>), String> {
    let h = &mail.head;
    let mailbox = |field: &str, text: &str| text.parse::<Mailbox>().map_err(|e| format!("адрес «{text}» в поле {field} не годится: {e}"));
    let mut b = Message::builder().from(mailbox("from", &h.from)?).subject(h.subject.clone()).message_id(h.message_id.clone());
    if let Some(r) = &h.reply_to {
        b = b.reply_to(mailbox("reply_to", r)?);
    }
    let mut rcpt: Vec<Address> = Vec::new();
    for t in h.to.0.iter() {
        let m = mailbox("to", t)?;
        rcpt.push(m.email.clone());
        b = b.to(m);
    }
    for t in h.cc.0.iter() {
        let m = mailbox("cc", t)?;
        rcpt.push(m.email.clone());
        b = b.cc(m);
    }
    let content_type = |ct: &str| ContentType::parse(ct).map_err(|e| format!("тип вложения «{ct}» не годится: {e}"));
    let body = match &mail.html {
        Some(html) => MultiPart::alternative_plain_html(mail.text.clone(), html.clone()),
        None => MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone())),
    };
    let (inline, files): (Vec<_>, Vec<_>) = mail.attachments.iter().partition(|a| a.content_id.is_some());
    let body = if inline.is_empty() {
        body
    } else {
        let mut related = MultiPart::related().multipart(body);
        for a in inline {
            let cid = a.content_id.clone().unwrap_or_default();
            related = related.singlepart(Part::new_inline(cid).body(a.content.clone(), content_type(&a.content_type)?));
        }
        related
    };
    let body = if files.is_empty() {
        body
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in files {
            mixed = mixed.singlepart(Part::new(a.filename.clone()).body(a.content.clone(), content_type(&a.content_type)?));
        }
        mixed
    };
    let message = b.multipart(body).map_err(|e| format!("письмо не собрать: {e}"))?;
    let sender: Address = mailbox("from", &server.from)?.email;
    let envelope = lettre::address::Envelope::new(Some(sender), rcpt).map_err(|e| format!("конверт письма не собрать: {e}"))?;
    Ok((envelope, message.formatted()))
}

/// Sends one message now, outside the outbox: the settings page's «Проверить» button.
pub async fn send_test(server: &SmtpServer, to: &str) -> Result<String, String> {
    let transport = transport(server)?;
    let mail = FullMail {
        head: outbox::OutboxMail {
            id: MailId::new(),
            source: "host:mail-test".into(),
            idempotency_key: None,
            from: server.from.clone(),
            reply_to: None,
            to: sqlx::types::Json(vec![to.to_owned()]),
            cc: sqlx::types::Json(vec![]),
            subject: "Проверка настроек почты".into(),
            status: outbox::MailStatus::Queued,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            message_id: None,
            created_at: Utc::now(),
            sent_at: None,
        },
        text: "Это проверочное письмо: настройки SMTP-сервера в CRM работают.".into(),
        html: None,
        attachments: vec![],
    };
    let (envelope, bytes) = build(server, &mail)?;
    match transport.send_raw(&envelope, &bytes).await {
        Ok(r) => Ok(r.message().collect::<Vec<_>>().join(" ")),
        Err(e) => Err(describe(&e)),
    }
}
