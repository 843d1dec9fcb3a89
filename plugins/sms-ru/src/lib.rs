//! Notification channel `sms-ru`: SMS through SMS.RU's HTTP API (`sms/send`,
//! `sms/status`, JSON answers), one request per message so that each message's fate is
//! known on its own. A tenant may run it as several module instances (two accounts,
//! two sender names), each with its own `api_id`.

mod api;

use crm_plugin_sdk::channel::{DeliveryStatus, Message, Receipt};
use crm_plugin_sdk::{Error, NotificationChannel, config, http, log};

struct SmsRu;

/// The instance's settings.
struct Settings {
    base_url: String,
    api_id: String,
    sender: Option<String>,
    test_mode: bool,
}

fn settings() -> Result<Settings, Error> {
    let mut base_url = config::get_str("base_url")?.unwrap_or_else(|| "https://sms.ru/".into());
    if !base_url.ends_with('/') {
        base_url.push('/');
    }
    Ok(Settings {
        base_url,
        api_id: config::required_secret("api_id")?,
        sender: config::get_str("sender")?.filter(|s| !s.trim().is_empty()),
        test_mode: config::get_bool("test_mode")?.unwrap_or(false),
    })
}

fn post(s: &Settings, path: &str, form: &[(&str, &str)]) -> Result<serde_json::Value, Error> {
    let mut pairs = vec![("api_id", s.api_id.as_str()), ("json", "1")];
    pairs.extend_from_slice(form);
    let body = api::form_encode(&pairs);
    let request = http::Request::new("POST", format!("{}{path}", s.base_url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body.into_bytes());
    let response = http::fetch(&request)?;
    if response.status != 200 {
        return Err(Error::Unavailable(format!("SMS.RU answered HTTP {} to {path}", response.status)));
    }
    serde_json::from_slice(&response.body).map_err(|e| Error::Unavailable(format!("SMS.RU's answer to {path} is not JSON: {e}")))
}

impl NotificationChannel for SmsRu {
    fn send(messages: Vec<Message>) -> Result<Vec<Receipt>, Error> {
        let s = settings()?;
        let mut receipts = Vec::with_capacity(messages.len());
        for m in messages {
            let Some(phone) = api::phone(&m.recipient) else {
                receipts.push(Receipt {
                    key: m.key,
                    status: DeliveryStatus::Failed,
                    provider_id: None,
                    detail: Some(format!("«{}» is not a Russian mobile number (+7 and 10 digits)", m.recipient)),
                });
                continue;
            };
            let mut form = vec![("to", phone.as_str()), ("msg", m.text.as_str())];
            if let Some(sender) = &s.sender {
                form.push(("from", sender.as_str()));
            }
            if s.test_mode {
                form.push(("test", "1"));
            }
            let answer = post(&s, "sms/send", &form)?;
            let receipt = api::send_receipt(&answer, &phone, m.key)?;
            log::info(format_args!("sms to {phone}: {:?}", receipt.status));
            receipts.push(receipt);
        }
        Ok(receipts)
    }

    fn status(provider_ids: Vec<String>) -> Result<Vec<Receipt>, Error> {
        let s = settings()?;
        let mut receipts = Vec::with_capacity(provider_ids.len());
        for id in provider_ids {
            let answer = post(&s, "sms/status", &[("sms_id", id.as_str())])?;
            receipts.push(api::status_receipt(&answer, &id)?);
        }
        Ok(receipts)
    }
}

crm_plugin_sdk::export_notification_channel!(SmsRu);
