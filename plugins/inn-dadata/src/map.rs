//! DaData `findById/party`: the request body, and the answer mapped to a
//! [`Company`]. Pure functions, no host calls.

use crm_plugin_sdk::Error;
use crm_plugin_sdk::enrichment::{BranchType, Company, CompanyStatus, PartyKind};
use serde_json::{Value, json};

/// `{base_url}findById/party`, with or without a trailing `/` on `base_url`.
pub fn endpoint(base_url: &str) -> String {
    format!("{}/findById/party", base_url.trim().trim_end_matches('/'))
}

/// The request body: `{"query": inn, "count": 1}` plus `"kpp"` when given.
///
/// Without a КПП a legal entity's head office is asked for (`"branch_type": "MAIN"`),
/// not one of its branches. A 12-digit ИНН (a sole proprietor, who has no branches)
/// is sent without `branch_type`.
pub fn request_body(inn: &str, kpp: Option<&str>) -> Value {
    let mut body = json!({ "query": inn, "count": 1 });
    match kpp {
        Some(kpp) => body["kpp"] = json!(kpp),
        None if inn.len() != 12 => body["branch_type"] = json!("MAIN"),
        None => {}
    }
    body
}

/// The error for an answer other than HTTP 200.
pub fn status_error(status: u16, body: &[u8]) -> Error {
    match status {
        401 | 403 => Error::Unavailable(format!(
            "DaData rejected the API key (HTTP {status}): check the plugin's `api_key` and `secret_key` settings"
        )),
        429 => Error::Unavailable(
            "DaData's rate limit is exceeded (HTTP 429); try again later".to_owned(),
        ),
        _ => {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(200)
                .collect();
            if excerpt.is_empty() {
                Error::Unavailable(format!("DaData answered HTTP {status}"))
            } else {
                Error::Unavailable(format!("DaData answered HTTP {status}: {excerpt}"))
            }
        }
    }
}

/// Maps a `findById/party` answer (HTTP 200 body) to the first company in it;
/// `Ok(None)` when `suggestions` is empty. `inn` is the ИНН asked for, used if the
/// record lacks one.
///
/// A body that is not the expected JSON is [`Error::Unavailable`] naming what is wrong.
pub fn company_from_response(body: &[u8], inn: &str) -> Result<Option<Company>, Error> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| unavailable(format!("DaData's answer is not JSON ({e})")))?;
    let suggestions = root
        .get("suggestions")
        .and_then(Value::as_array)
        .ok_or_else(|| unavailable("DaData's answer has no `suggestions` array".to_owned()))?;
    let Some(first) = suggestions.first() else {
        return Ok(None);
    };
    let data = first
        .get("data")
        .filter(|data| data.is_object())
        .ok_or_else(|| {
            unavailable("DaData's answer has no `suggestions[0].data` object".to_owned())
        })?;
    let value = text(first, &["value"]).ok().flatten();
    company_from_party(data, value, inn).map(Some)
}

/// Maps one party record (`suggestions[i].data`).
fn company_from_party(data: &Value, value: Option<String>, inn: &str) -> Result<Company, Error> {
    let inn = text(data, &["inn"])?.unwrap_or_else(|| inn.to_owned());
    let kind = match text(data, &["type"])?.as_deref() {
        Some("LEGAL") => PartyKind::LegalEntity,
        Some("INDIVIDUAL") => PartyKind::SoleProprietor,
        // Not said: a 12-digit ИНН belongs to a person.
        _ if inn.len() == 12 => PartyKind::SoleProprietor,
        _ => PartyKind::LegalEntity,
    };
    let status = match text(data, &["state", "status"])?.as_deref() {
        Some("ACTIVE") => CompanyStatus::Active,
        Some("LIQUIDATING") => CompanyStatus::Liquidating,
        Some("LIQUIDATED") => CompanyStatus::Liquidated,
        Some("BANKRUPT") => CompanyStatus::Bankrupt,
        Some("REORGANIZING") => CompanyStatus::Reorganizing,
        _ => CompanyStatus::Unknown,
    };
    let full_name = match text(data, &["name", "full_with_opf"])? {
        Some(name) => name,
        None => text(data, &["name", "full"])?.or(value).ok_or_else(|| {
            unavailable(
                "DaData's answer has no `suggestions[0].data.name.full_with_opf`".to_owned(),
            )
        })?,
    };
    let legal_address = match text(data, &["address", "unrestricted_value"])? {
        Some(address) => Some(address),
        None => text(data, &["address", "value"])?,
    };
    // A sole proprietor has no `management`: the head is the proprietor.
    let head_name = match text(data, &["management", "name"])? {
        Some(name) => Some(name),
        None if kind == PartyKind::SoleProprietor => proprietor_name(data)?,
        None => None,
    };
    Ok(Company {
        kind,
        inn,
        kpp: text(data, &["kpp"])?,
        ogrn: text(data, &["ogrn"])?,
        full_name,
        short_name: text(data, &["name", "short_with_opf"])?,
        legal_address,
        head_name,
        head_post: text(data, &["management", "post"])?,
        status,
        okved: text(data, &["okved"])?,
        registered_on: date(data, &["state", "registration_date"])?,
        liquidated_on: date(data, &["state", "liquidation_date"])?,
        branch_type: match text(data, &["branch_type"])?.as_deref() {
            Some("MAIN") => Some(BranchType::HeadOffice),
            Some("BRANCH") => Some(BranchType::Branch),
            _ => None,
        },
    })
}

/// A sole proprietor's name: `fio` (surname, name, patronymic), else `name.full`.
fn proprietor_name(data: &Value) -> Result<Option<String>, Error> {
    let mut parts = Vec::new();
    for part in ["surname", "name", "patronymic"] {
        parts.extend(text(data, &["fio", part])?);
    }
    if parts.is_empty() {
        text(data, &["name", "full"])
    } else {
        Ok(Some(parts.join(" ")))
    }
}

/// The value at `path`, found but not of the expected type.
fn wrong_type(path: &[&str], expected: &str) -> Error {
    unavailable(format!(
        "DaData's answer has `suggestions[0].data.{}` that is not {expected}",
        path.join(".")
    ))
}

fn unavailable(message: String) -> Error {
    Error::Unavailable(message)
}

/// The value at `path` below `data`: `None` when it or an object on the way is
/// absent or `null`.
fn at<'a>(data: &'a Value, path: &[&str]) -> Result<Option<&'a Value>, Error> {
    let mut value = data;
    for (i, key) in path.iter().enumerate() {
        value = match value {
            Value::Object(map) => match map.get(*key) {
                None | Some(Value::Null) => return Ok(None),
                Some(next) => next,
            },
            _ => return Err(wrong_type(&path[..i], "an object")),
        };
    }
    Ok(Some(value))
}

/// A string at `path`, trimmed; `None` when absent, `null` or blank.
fn text(data: &Value, path: &[&str]) -> Result<Option<String>, Error> {
    match at(data, path)? {
        None => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(wrong_type(path, "a string")),
    }
}

/// A date at `path`, given in Unix milliseconds, as `YYYY-MM-DD` (UTC).
fn date(data: &Value, path: &[&str]) -> Result<Option<String>, Error> {
    match at(data, path)? {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)) {
            Some(ms) => Ok(Some(date_from_unix_ms(ms))),
            None => Err(wrong_type(path, "a Unix time in milliseconds")),
        },
        Some(_) => Err(wrong_type(path, "a Unix time in milliseconds")),
    }
}

/// Unix milliseconds → `YYYY-MM-DD` in UTC (proleptic Gregorian calendar).
pub fn date_from_unix_ms(ms: i64) -> String {
    // Howard Hinnant's `civil_from_days`.
    let days = ms.div_euclid(86_400_000) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real `findById/party` answer (ООО "МОТОРИКА").
    const MOTORICA: &[u8] = include_bytes!("../tests/fixtures/dadata-party-response.json");

    fn one(data: Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({ "suggestions": [{ "value": "V", "unrestricted_value": "V", "data": data }] }),
        )
        .unwrap()
    }

    fn unavailable_message(result: Result<Option<Company>, Error>) -> String {
        match result {
            Err(Error::Unavailable(message)) => message,
            other => panic!("expected Error::Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn maps_the_real_answer() {
        let company = company_from_response(MOTORICA, "7719402047")
            .unwrap()
            .unwrap();
        assert_eq!(
            company,
            Company {
                kind: PartyKind::LegalEntity,
                inn: "7719402047".into(),
                kpp: Some("773101001".into()),
                ogrn: Some("1157746078984".into()),
                full_name: "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МОТОРИКА\"".into(),
                short_name: Some("ООО \"МОТОРИКА\"".into()),
                legal_address: None,
                head_name: Some("Чех Илья Игоревич".into()),
                head_post: Some("ГЕНЕРАЛЬНЫЙ ДИРЕКТОР".into()),
                status: CompanyStatus::Active,
                okved: Some("72.19".into()),
                registered_on: Some("2015-02-05".into()),
                liquidated_on: None,
                branch_type: Some(BranchType::HeadOffice),
            }
        );
    }

    #[test]
    fn an_empty_answer_is_none() {
        assert_eq!(
            company_from_response(br#"{"suggestions": []}"#, "7719402047").unwrap(),
            None
        );
    }

    #[test]
    fn a_sole_proprietor_is_headed_by_the_proprietor() {
        let body = one(json!({
            "type": "INDIVIDUAL",
            "inn": "500100732259",
            "kpp": null,
            "ogrn": "304500116000157",
            "management": null,
            "fio": { "surname": "Иванов", "name": "Иван", "patronymic": "Иванович" },
            "name": { "full_with_opf": "Индивидуальный предприниматель Иванов Иван Иванович", "short_with_opf": "ИП Иванов Иван Иванович", "full": "Иванов Иван Иванович" },
            "address": { "value": "г Москва", "unrestricted_value": "", "data": null },
            "state": { "status": "LIQUIDATED", "registration_date": 1083283200000_i64, "liquidation_date": 1_600_000_000_000_i64 },
            "okved": "47.91",
        }));
        let company = company_from_response(&body, "500100732259")
            .unwrap()
            .unwrap();
        assert_eq!(company.kind, PartyKind::SoleProprietor);
        assert_eq!(company.kpp, None);
        assert_eq!(company.head_name.as_deref(), Some("Иванов Иван Иванович"));
        assert_eq!(company.head_post, None);
        assert_eq!(company.legal_address.as_deref(), Some("г Москва"));
        assert_eq!(company.status, CompanyStatus::Liquidated);
        assert_eq!(company.registered_on.as_deref(), Some("2004-04-30"));
        assert_eq!(company.liquidated_on.as_deref(), Some("2020-09-13"));
    }

    #[test]
    fn a_minimal_record_keeps_everything_else_none() {
        let body = one(
            json!({ "name": { "full_with_opf": "ПАО \"X\"" }, "address": null, "state": null }),
        );
        let company = company_from_response(&body, "7707083893").unwrap().unwrap();
        assert_eq!(
            company,
            Company {
                full_name: "ПАО \"X\"".into(),
                ..Company::new(PartyKind::LegalEntity, "7707083893", CompanyStatus::Unknown)
            }
        );
        // The address prefers the unrestricted value (with the postal code).
        let body = one(
            json!({ "name": { "full_with_opf": "X" }, "address": { "value": "г Москва", "unrestricted_value": "101000, г Москва" } }),
        );
        let company = company_from_response(&body, "7707083893").unwrap().unwrap();
        assert_eq!(company.legal_address.as_deref(), Some("101000, г Москва"));
        // Without any name, the suggestion's value is used.
        let company = company_from_response(&one(json!({ "inn": "7707083893" })), "7707083893")
            .unwrap()
            .unwrap();
        assert_eq!(company.full_name, "V");
    }

    #[test]
    fn every_status_maps() {
        for (dadata, status) in [
            ("ACTIVE", CompanyStatus::Active),
            ("LIQUIDATING", CompanyStatus::Liquidating),
            ("LIQUIDATED", CompanyStatus::Liquidated),
            ("BANKRUPT", CompanyStatus::Bankrupt),
            ("REORGANIZING", CompanyStatus::Reorganizing),
            ("SOMETHING_NEW", CompanyStatus::Unknown),
        ] {
            let body =
                one(json!({ "name": { "full_with_opf": "X" }, "state": { "status": dadata } }));
            assert_eq!(
                company_from_response(&body, "7707083893")
                    .unwrap()
                    .unwrap()
                    .status,
                status,
                "{dadata}"
            );
        }
    }

    #[test]
    fn an_unexpected_body_is_unavailable_and_says_why() {
        let message = unavailable_message(company_from_response(
            b"<html>502 Bad Gateway</html>",
            "7707083893",
        ));
        assert!(message.contains("not JSON"), "{message}");
        let message = unavailable_message(company_from_response(
            br#"{"family":"CLIENT_ERROR"}"#,
            "7707083893",
        ));
        assert!(message.contains("`suggestions`"), "{message}");
        let message = unavailable_message(company_from_response(
            br#"{"suggestions":[{"value":"X"}]}"#,
            "7707083893",
        ));
        assert!(message.contains("`suggestions[0].data`"), "{message}");
        let message = unavailable_message(company_from_response(
            &one(json!({ "name": { "full_with_opf": 5 } })),
            "7707083893",
        ));
        assert!(
            message.contains("`suggestions[0].data.name.full_with_opf` that is not a string"),
            "{message}"
        );
        let message = unavailable_message(company_from_response(
            &one(json!({ "name": "X" })),
            "7707083893",
        ));
        assert!(
            message.contains("`suggestions[0].data.name` that is not an object"),
            "{message}"
        );
        let message = unavailable_message(company_from_response(
            &one(
                json!({ "name": { "full_with_opf": "X" }, "state": { "registration_date": "2015-02-05" } }),
            ),
            "7707083893",
        ));
        assert!(
            message
                .contains("`suggestions[0].data.state.registration_date` that is not a Unix time"),
            "{message}"
        );
        let nameless = br#"{"suggestions":[{"data":{"inn":"7707083893"}}]}"#;
        let message = unavailable_message(company_from_response(nameless, "7707083893"));
        assert!(
            message.contains("`suggestions[0].data.name.full_with_opf`"),
            "{message}"
        );
    }

    #[test]
    fn http_errors_name_the_cause() {
        for status in [401, 403] {
            let Error::Unavailable(message) = status_error(status, b"") else {
                panic!()
            };
            assert!(
                message.starts_with("DaData rejected the API key"),
                "{message}"
            );
        }
        let Error::Unavailable(message) = status_error(429, b"") else {
            panic!()
        };
        assert!(message.contains("rate limit"), "{message}");
        let Error::Unavailable(message) = status_error(500, b"{\"reason\":\n \"Internal\"}") else {
            panic!()
        };
        assert_eq!(
            message,
            "DaData answered HTTP 500: {\"reason\": \"Internal\"}"
        );
        let Error::Unavailable(message) = status_error(502, b"") else {
            panic!()
        };
        assert_eq!(message, "DaData answered HTTP 502");
    }

    #[test]
    fn the_request_asks_for_one_record() {
        assert_eq!(
            request_body("7719402047", None),
            json!({ "query": "7719402047", "count": 1, "branch_type": "MAIN" })
        );
        assert_eq!(
            request_body("7707083893", Some("540602001")),
            json!({ "query": "7707083893", "count": 1, "kpp": "540602001" })
        );
        assert_eq!(
            request_body("500100732259", None),
            json!({ "query": "500100732259", "count": 1 })
        );
    }

    #[test]
    fn the_endpoint_joins_the_base_url() {
        let expected = "https://suggestions.dadata.ru/suggestions/api/4_1/rs/findById/party";
        assert_eq!(
            endpoint("https://suggestions.dadata.ru/suggestions/api/4_1/rs/"),
            expected
        );
        assert_eq!(
            endpoint("https://suggestions.dadata.ru/suggestions/api/4_1/rs"),
            expected
        );
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date_from_unix_ms(0), "1970-01-01");
        assert_eq!(date_from_unix_ms(1_423_094_400_000), "2015-02-05");
        assert_eq!(date_from_unix_ms(677_376_000_000), "1991-06-20");
        assert_eq!(date_from_unix_ms(951_782_400_000), "2000-02-29");
        assert_eq!(date_from_unix_ms(86_399_999), "1970-01-01");
        assert_eq!(date_from_unix_ms(-1), "1969-12-31");
        // Moscow midnight (UTC+3) is the previous day in UTC.
        assert_eq!(date_from_unix_ms(1_565_384_400_000), "2019-08-09");
    }
}
