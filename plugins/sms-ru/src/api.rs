//! SMS.RU's wire format: form encoding, phone numbers, and the JSON answers of
//! `sms/send` and `sms/status` (see `shared/reference/sms-voice-apis.md`).

use crm_plugin_sdk::Error;
use crm_plugin_sdk::channel::{DeliveryStatus, Receipt};
use serde_json::Value;

/// `application/x-www-form-urlencoded`, UTF-8.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// A Russian mobile number as SMS.RU takes it, `7XXXXXXXXXX`, from `+7 999 123-45-67`,
/// `8 (999) 123 45 67` or `9991234567`.
pub fn phone(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.len() {
        11 if digits.starts_with('7') || digits.starts_with('8') => &digits[1..],
        10 => &digits[..],
        _ => return None,
    };
    national.starts_with('9').then(|| format!("7{national}"))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The whole request failed (`status` is not `OK`): a wrong key is a settings problem,
/// anything else SMS.RU's.
fn envelope(answer: &Value) -> Result<(), Error> {
    if answer["status"] == "OK" {
        return Ok(());
    }
    let code = answer["status_code"].as_i64().unwrap_or_default();
    let reason = text(&answer["status_text"]).unwrap_or_else(|| format!("code {code}"));
    // 200: wrong api_id; 201: not enough money; 202/203: bad recipient/text (per message).
    if code == 200 || code == 301 {
        return Err(Error::Misconfigured(format!("SMS.RU refused the api_id: {reason}")));
    }
    Err(Error::Unavailable(format!("SMS.RU refused the request: {reason}")))
}

/// The receipt of one message from the answer to `sms/send` for `phone`.
pub fn send_receipt(answer: &Value, phone: &str, key: String) -> Result<Receipt, Error> {
    envelope(answer)?;
    let one = &answer["sms"][phone];
    if one.is_null() {
        return Err(Error::Unavailable(format!("SMS.RU's answer says nothing about {phone}")));
    }
    let status = if one["status"] == "OK" { DeliveryStatus::Sent } else { DeliveryStatus::Failed };
    let detail = text(&one["status_text"]).or_else(|| text(&one["status_code"]).map(|c| format!("SMS.RU code {c}")));
    Ok(Receipt { key, status, provider_id: text(&one["sms_id"]), detail })
}

/// The receipt of one message from the answer to `sms/status` for `id`: 103 is
/// delivered; 100–102 on the way; 104 and above failed (expired, refused, undelivered).
pub fn status_receipt(answer: &Value, id: &str) -> Result<Receipt, Error> {
    envelope(answer)?;
    let one = &answer["sms"][id];
    let code = one["status_code"].as_i64().unwrap_or_default();
    let status = match code {
        103 => DeliveryStatus::Delivered,
        100..=102 => DeliveryStatus::Sent,
        -1 | 0 => DeliveryStatus::Queued,
        _ => DeliveryStatus::Failed,
    };
    Ok(Receipt { key: id.to_owned(), status, provider_id: Some(id.to_owned()), detail: text(&one["status_text"]) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_are_normalised_as_sms_ru_takes_them() {
        assert_eq!(phone("+7 (999) 123-45-67").as_deref(), Some("79991234567"));
        assert_eq!(phone("89991234567").as_deref(), Some("79991234567"));
        assert_eq!(phone("9991234567").as_deref(), Some("79991234567"));
        assert_eq!(phone("+7 495 123-45-67"), None, "a landline gets no SMS");
        assert_eq!(phone("12345"), None);
    }

    #[test]
    fn forms_are_encoded_in_utf8() {
        assert_eq!(form_encode(&[("msg", "Долг 5 руб."), ("to", "79991234567")]), "msg=%D0%94%D0%BE%D0%BB%D0%B3+5+%D1%80%D1%83%D0%B1.&to=79991234567");
    }

    #[test]
    fn a_send_answer_gives_the_message_id() {
        // The real capture with test=1 (reference: pastebin.com/rdTddG26).
        let answer = json!({"status": "OK", "status_code": 100, "sms": {"79282564287": {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}}, "balance": 10});
        let r = send_receipt(&answer, "79282564287", "k1".into()).unwrap();
        assert_eq!((r.status, r.provider_id.as_deref()), (DeliveryStatus::Sent, Some("000000-10000000")));
        let refused = json!({"status": "OK", "status_code": 100, "sms": {"79282564287": {"status": "ERROR", "status_code": 207, "status_text": "На этот номер нельзя отправлять сообщения"}}});
        let r = send_receipt(&refused, "79282564287", "k2".into()).unwrap();
        assert_eq!((r.status, r.detail.as_deref()), (DeliveryStatus::Failed, Some("На этот номер нельзя отправлять сообщения")));
        let bad_key = json!({"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"});
        assert!(matches!(send_receipt(&bad_key, "79282564287", "k3".into()), Err(Error::Misconfigured(_))));
    }

    #[test]
    fn a_status_answer_tells_delivery() {
        let answer = json!({"status": "OK", "status_code": 100, "sms": {"1000-100000": {"status": "OK", "status_code": 102, "status_text": "Сообщение отправлено (в пути)"}}});
        assert_eq!(status_receipt(&answer, "1000-100000").unwrap().status, DeliveryStatus::Sent);
        let delivered = json!({"status": "OK", "status_code": 100, "sms": {"1": {"status": "OK", "status_code": 103}}});
        assert_eq!(status_receipt(&delivered, "1").unwrap().status, DeliveryStatus::Delivered);
    }
}
