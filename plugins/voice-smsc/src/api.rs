//! SMSC.RU's wire format: form encoding, phone numbers, message ids, and the JSON
//! (`fmt=3`) answers of `sys/send.php` and `sys/status.php` (see
//! `shared/reference/sms-voice-apis.md`, section SMSC.RU).
//!
//! Send answers: `{"id": 24, "cnt": 1}` when accepted, `{"error": "…", "error_code": N}`
//! when refused. Error codes of `send.php`: 1 parameters, 2 login or password, 3 not enough
//! money, 4 the IP is blocked for a while, 5 date format, 6 message forbidden (text or
//! sender), 7 phone format, 8 cannot be delivered to that number, 9 a repeated request.
//! Status answers: `{"status": 1, "last_date": "…", "last_timestamp": …, "err": 0}`;
//! statuses -3 not found, -1 waiting, 0 handed to the operator, 1 delivered (the call was
//! answered and read), 2 read, 4 link opened, 3 expired, 20 cannot be delivered, 22 wrong
//! number, 23 prohibited, 24 not enough money, 25 unavailable number.

use crm_plugin_sdk::Error;
use crm_plugin_sdk::channel::DeliveryStatus;
use serde_json::Value;

/// `application/x-www-form-urlencoded`, UTF-8 (the request says `charset=utf-8`).
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

/// The number as SMSC.RU takes it: digits only, international, no `+`. A Russian number
/// written `8 (495) …` or with its 10 national digits gets its `7`; a call may go to a
/// landline, so nothing else is judged here — SMSC.RU refuses a bad number in its own
/// words (error 7), and that is what the host records. `None` when there are no digits.
pub fn phone(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0 => None,
        11 if digits.starts_with('8') => Some(format!("7{}", &digits[1..])),
        10 if !s.trim_start().starts_with('+') => Some(format!("7{digits}")),
        _ => Some(digits),
    }
}

/// The SMSC.RU message `id` (1…2147483647) for a channel message key: FNV-1a (64 bits) of
/// the key, reduced to that range. The same key always gives the same id, so a retried
/// send is recognised (status lookup by phone and id before calling); two keys sharing an
/// id would also need the same phone to be confused, about one chance in 2^31 per pair.
pub fn message_id(key: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % 2_147_483_647) as u32 + 1
}

/// The provider id the host keeps: what `status.php` needs, `<id>:<phone>` (no commas:
/// the host joins a reminder's ids with them).
pub fn provider_id(id: u32, phone: &str) -> String {
    format!("{id}:{phone}")
}

pub fn parse_provider_id(s: &str) -> Option<(u32, String)> {
    let (id, phone) = s.split_once(':')?;
    let id = id.parse().ok().filter(|id| *id > 0)?;
    (!phone.is_empty() && phone.bytes().all(|b| b.is_ascii_digit())).then(|| (id, phone.to_owned()))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// SMSC.RU's error: code and its own words.
fn error_of(answer: &Value) -> Option<(i64, String)> {
    let code = answer.get("error_code").and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
    let words = text(&answer["error"]);
    match (code, words) {
        (None, None) => None,
        (code, words) => {
            let code = code.unwrap_or_default();
            Some((code, words.unwrap_or_else(|| format!("ошибка {code}"))))
        }
    }
}

/// Errors that are nobody's fault but the account's settings or the request: the whole call fails.
fn whole_call_error(code: i64, words: &str) -> Error {
    match code {
        2 => Error::Misconfigured(format!("SMSC.RU refused the login or password: {words}")),
        1 | 5 => Error::Internal(format!("SMSC.RU refused the request's parameters: {words} (code {code})")),
        _ => Error::Unavailable(format!("SMSC.RU refused the request: {words} (code {code})")),
    }
}

#[derive(Debug, PartialEq)]
pub enum SendAnswer {
    /// Taken: SMSC.RU will call.
    Accepted,
    /// Refused for this message (number, money, content): SMSC.RU's words and code.
    Refused(String),
    /// A repeated request (error 9).
    Duplicate(String),
}

/// The answer of `send.php` for one message.
pub fn send_answer(answer: &Value) -> Result<SendAnswer, Error> {
    if let Some((code, words)) = error_of(answer) {
        return match code {
            3 | 6 | 7 | 8 => Ok(SendAnswer::Refused(format!("SMSC.RU: {words} (код {code})"))),
            9 => Ok(SendAnswer::Duplicate(words)),
            _ => Err(whole_call_error(code, &words)),
        };
    }
    if answer.get("id").is_some() && answer["cnt"].as_i64().is_none_or(|c| c > 0) {
        return Ok(SendAnswer::Accepted);
    }
    Err(Error::Unavailable(format!("SMSC.RU's answer to send.php has neither an id nor an error: {answer}")))
}

/// What `status.php` says about one message.
#[derive(Debug, PartialEq)]
pub enum Known {
    NotFound,
    Found(DeliveryStatus, Option<String>),
}

/// The state of one call from SMSC.RU's status code (and its `err` detail code).
pub fn delivery(status: i64, err: Option<i64>) -> Known {
    let failed = |what: &str| {
        let err = err.filter(|e| *e != 0).map(|e| format!(", код ошибки {e}")).unwrap_or_default();
        Known::Found(DeliveryStatus::Failed, Some(format!("SMSC.RU: {what} (статус {status}{err})")))
    };
    match status {
        -3 => Known::NotFound,
        -1 => Known::Found(DeliveryStatus::Queued, Some("SMSC.RU: ожидает отправки".into())),
        0 => Known::Found(DeliveryStatus::Sent, Some("SMSC.RU: передано оператору".into())),
        1 | 2 | 4 => Known::Found(DeliveryStatus::Delivered, None),
        3 => failed("просрочено, абонент не ответил за время жизни сообщения"),
        20 => failed("невозможно доставить"),
        22 => failed("неверный номер"),
        23 => failed("запрещено"),
        24 => failed("недостаточно средств"),
        25 => failed("недоступный номер"),
        _ if status > 0 => failed("не доставлено"),
        _ => Known::Found(DeliveryStatus::Queued, Some(format!("SMSC.RU: статус {status}"))),
    }
}

/// The answer of `status.php` for one message.
pub fn status_answer(answer: &Value) -> Result<Known, Error> {
    if let Some((code, words)) = error_of(answer) {
        return Err(whole_call_error(code, &words));
    }
    let Some(status) = answer.get("status").and_then(|s| s.as_i64().or_else(|| s.as_str()?.parse().ok())) else {
        return Err(Error::Unavailable(format!("SMSC.RU's answer to status.php has no status: {answer}")));
    };
    Ok(delivery(status, answer["err"].as_i64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_given_as_smsc_takes_them() {
        assert_eq!(phone("+7 (916) 123-45-67").as_deref(), Some("79161234567"));
        assert_eq!(phone("8 (495) 123-45-67").as_deref(), Some("74951234567"), "a landline can take a call");
        assert_eq!(phone("9161234567").as_deref(), Some("79161234567"));
        assert_eq!(phone("+375 29 123-45-67").as_deref(), Some("375291234567"));
        assert_eq!(phone("+7 916 12").as_deref(), Some("791612"), "SMSC.RU judges it");
        assert_eq!(phone("нет"), None);
    }

    #[test]
    fn ids_are_stable_and_in_smsc_range() {
        let a = message_id("rem:1:2:3:0");
        assert_eq!(a, message_id("rem:1:2:3:0"));
        assert_ne!(a, message_id("rem:1:2:3:1"));
        for k in ["", "x", "a very long key ………………………………………………"] {
            assert!((1..=2_147_483_647).contains(&message_id(k)));
        }
        let pid = provider_id(a, "79161234567");
        assert!(!pid.contains(','));
        assert_eq!(parse_provider_id(&pid), Some((a, "79161234567".into())));
        assert_eq!(parse_provider_id("000000-1000"), None);
    }

    #[test]
    fn send_answers_map_to_receipts() {
        assert_eq!(send_answer(&json!({"id": 24, "cnt": 1})).unwrap(), SendAnswer::Accepted);
        let bad = send_answer(&json!({"error": "invalid number", "error_code": 7})).unwrap();
        assert_eq!(bad, SendAnswer::Refused("SMSC.RU: invalid number (код 7)".into()));
        assert!(matches!(send_answer(&json!({"error": "no money", "error_code": 3})).unwrap(), SendAnswer::Refused(_)));
        assert!(matches!(send_answer(&json!({"error": "duplicate request, wait a minute", "error_code": 9})).unwrap(), SendAnswer::Duplicate(_)));
        assert!(matches!(send_answer(&json!({"error": "authorise error", "error_code": 2})), Err(Error::Misconfigured(_))));
        assert!(matches!(send_answer(&json!({"error": "blocked", "error_code": 4})), Err(Error::Unavailable(_))));
        assert!(matches!(send_answer(&json!({"hello": 1})), Err(Error::Unavailable(_))));
    }

    #[test]
    fn status_codes_map_to_delivery() {
        let st = |v: Value| status_answer(&v).unwrap();
        assert_eq!(st(json!({"status": 1, "last_date": "28.12.2019 19:20:22", "last_timestamp": 1577550022})), Known::Found(DeliveryStatus::Delivered, None));
        assert!(matches!(st(json!({"status": -1})), Known::Found(DeliveryStatus::Queued, _)));
        assert!(matches!(st(json!({"status": 0})), Known::Found(DeliveryStatus::Sent, _)));
        assert_eq!(st(json!({"status": -3})), Known::NotFound);
        for code in [3, 20, 22, 23, 24, 25] {
            assert!(matches!(st(json!({"status": code, "err": 254})), Known::Found(DeliveryStatus::Failed, Some(_))), "{code}");
        }
        assert_eq!(st(json!({"status": 22, "err": 0})), Known::Found(DeliveryStatus::Failed, Some("SMSC.RU: неверный номер (статус 22)".into())));
        assert!(matches!(status_answer(&json!({"error": "authorise error", "error_code": 2})), Err(Error::Misconfigured(_))));
        assert!(status_answer(&json!([])).is_err());
    }
}
