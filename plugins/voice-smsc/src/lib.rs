//! Notification channel `voice-smsc`: automated voice calls through SMSC.RU's HTTP API
//! (`sys/send.php` with `call=1`, `sys/status.php`, JSON answers with `fmt=3`). SMSC.RU
//! calls the number and reads the message's text in the chosen voice. One request per
//! message so that each call's fate is known on its own.
//!
//! Exactly once, on the provider's side too: each message goes to SMSC.RU with an `id`
//! derived from its key ([`api::message_id`]), and before calling, the plugin asks
//! `status.php` whether SMSC.RU already has a message with that id for that phone. A send
//! retried after a lost answer (timeout, crash, a second host process) therefore finds the
//! call it made and reports it instead of calling again; SMSC.RU's own refusal of a
//! repeated request (error 9) is read the same way.

mod api;

use api::{Known, SendAnswer};
use crm_plugin_sdk::channel::{DeliveryStatus, Message, Receipt};
use crm_plugin_sdk::{Error, NotificationChannel, config, http, log};

struct VoiceSmsc;

/// The instance's settings.
struct Settings {
    base_url: String,
    login: String,
    psw: String,
    sender: Option<String>,
    voice: String,
}

fn settings() -> Result<Settings, Error> {
    let mut base_url = config::get_str("base_url")?.unwrap_or_else(|| "https://smsc.ru/".into());
    if !base_url.ends_with('/') {
        base_url.push('/');
    }
    Ok(Settings {
        base_url,
        login: config::secret("login")?.unwrap_or_default(),
        psw: config::required_secret("psw")?,
        sender: config::get_str("sender")?.filter(|s| !s.trim().is_empty()),
        voice: config::get_str("voice")?.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "w".into()),
    })
}

/// POSTs a form to `sys/<script>` and parses the JSON answer; anything but HTTP 200 with
/// JSON fails the whole call (the host retries it).
fn post(s: &Settings, script: &str, form: &[(&str, &str)]) -> Result<serde_json::Value, Error> {
    let mut pairs = vec![("login", s.login.as_str()), ("psw", s.psw.as_str()), ("fmt", "3"), ("charset", "utf-8")];
    pairs.extend_from_slice(form);
    let request = http::Request::new("POST", format!("{}sys/{script}", s.base_url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(api::form_encode(&pairs).into_bytes());
    let response = http::fetch(&request)?;
    if response.status != 200 {
        return Err(Error::Unavailable(format!("SMSC.RU answered HTTP {} to sys/{script}", response.status)));
    }
    serde_json::from_slice(&response.body).map_err(|e| Error::Unavailable(format!("SMSC.RU's answer to sys/{script} is not JSON: {e}")))
}

/// What SMSC.RU knows about message `id` to `phone`.
fn lookup(s: &Settings, phone: &str, id: u32) -> Result<Known, Error> {
    let id = id.to_string();
    api::status_answer(&post(s, "status.php", &[("phone", phone), ("id", &id)])?)
}

fn call(s: &Settings, m: Message) -> Result<Receipt, Error> {
    let Some(phone) = api::phone(&m.recipient) else {
        return Ok(Receipt { key: m.key, status: DeliveryStatus::Failed, provider_id: None, detail: Some(format!("«{}» — не номер телефона", m.recipient)) });
    };
    let id = api::message_id(&m.key);
    let provider_id = api::provider_id(id, &phone);
    // Sent before (the answer was lost)? Then report that call, do not call again.
    if let Known::Found(status, detail) = lookup(s, &phone, id)? {
        log::info(format_args!("call {provider_id} was already made: {status:?}"));
        return Ok(Receipt { key: m.key, status, provider_id: Some(provider_id), detail });
    }
    let id_text = id.to_string();
    let mut form = vec![("phones", phone.as_str()), ("mes", m.text.as_str()), ("call", "1"), ("voice", s.voice.as_str()), ("id", id_text.as_str())];
    if let Some(sender) = &s.sender {
        form.push(("sender", sender.as_str()));
    }
    let receipt = match api::send_answer(&post(s, "send.php", &form)?)? {
        SendAnswer::Accepted => Receipt { key: m.key, status: DeliveryStatus::Queued, provider_id: Some(provider_id), detail: None },
        SendAnswer::Refused(detail) => Receipt { key: m.key, status: DeliveryStatus::Failed, provider_id: None, detail: Some(detail) },
        // SMSC.RU refused a repeated request: the first one got through, or it will be retried.
        SendAnswer::Duplicate(words) => match lookup(s, &phone, id)? {
            Known::Found(status, detail) => Receipt { key: m.key, status, provider_id: Some(provider_id), detail },
            Known::NotFound => return Err(Error::Unavailable(format!("SMSC.RU refused a repeated request ({words}) and does not know message {provider_id} yet"))),
        },
    };
    log::info(format_args!("call to {phone}: {:?}", receipt.status));
    Ok(receipt)
}

impl NotificationChannel for VoiceSmsc {
    fn send(messages: Vec<Message>) -> Result<Vec<Receipt>, Error> {
        let s = settings()?;
        messages.into_iter().map(|m| call(&s, m)).collect()
    }

    fn status(provider_ids: Vec<String>) -> Result<Vec<Receipt>, Error> {
        let s = settings()?;
        let mut receipts = Vec::with_capacity(provider_ids.len());
        for pid in provider_ids {
            let Some((id, phone)) = api::parse_provider_id(&pid) else {
                receipts.push(Receipt { key: pid.clone(), status: DeliveryStatus::Failed, provider_id: Some(pid), detail: Some("не идентификатор звонка SMSC.RU (id:телефон)".into()) });
                continue;
            };
            let (status, detail) = match lookup(&s, &phone, id)? {
                Known::Found(status, detail) => (status, detail),
                Known::NotFound => (DeliveryStatus::Queued, Some("SMSC.RU пока не знает этого сообщения".into())),
            };
            receipts.push(Receipt { key: pid.clone(), status, provider_id: Some(pid), detail });
        }
        Ok(receipts)
    }
}

crm_plugin_sdk::export_notification_channel!(VoiceSmsc);
