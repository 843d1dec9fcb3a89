//! The 1C standard OData interface as the sync speaks it (`docs/1c-odata-format.md`):
//! settings, request URLs, Basic credentials, error answers, and list pages mapped to
//! the `accounting` records. Pure functions, no host calls.
//!
//! Pages are parsed into typed records that borrow from the response body. Every
//! field is read as a loose JSON scalar ([`Json`]) and every record as "an object or
//! something else" ([`Obj`]), so a record of an unexpected shape is rejected on its
//! own instead of failing the page.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};
use std::marker::PhantomData;

use crm_plugin_sdk::Error;
use crm_plugin_sdk::accounting::{
    Allocation, Contract, Counterparty, EntityKind, Entry, Payment, Rejected, SalesDocument,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Counterparties.
pub const COUNTERPARTIES: &str = "Catalog_Контрагенты";
/// Contracts with counterparties.
pub const CONTRACTS: &str = "Catalog_ДоговорыКонтрагентов";
/// Sales (shipments / invoices).
pub const SALES: &str = "Document_РеализацияТоваровУслуг";
/// Incoming bank payments.
pub const PAYMENTS: &str = "Document_ПоступлениеНаРасчетныйСчет";
/// Currencies.
pub const CURRENCIES: &str = "Catalog_Валюты";
/// Partners (УТ 11): a counterparty's `Партнер_Key`, whose `ОсновнойМенеджер_Key` is the
/// client's responsible manager.
pub const PARTNERS: &str = "Catalog_Партнеры";
/// 1C users (managers), for their names.
pub const USERS: &str = "Catalog_Пользователи";

/// The fields a contract's responsible user may be read from (setting
/// `contract_manager_field`); none is in the reference metadata, so none is read unless
/// the admin names the one their base has.
pub const CONTRACT_MANAGER_FIELDS: [&str; 3] = ["Менеджер_Key", "Ответственный_Key", "ОсновнойМенеджер_Key"];

/// How 1C's administrator publishes an entity set: its metadata object's name
/// (`Catalog_Валюты` → `Справочник.Валюты`).
pub fn metadata_name(entity_set: &str) -> String {
    if let Some(name) = entity_set.strip_prefix("Catalog_") {
        format!("Справочник.{name}")
    } else if let Some(name) = entity_set.strip_prefix("Document_") {
        format!("Документ.{name}")
    } else {
        entity_set.to_owned()
    }
}

/// What to do to publish `entity_set`, for a settings error.
pub fn how_to_publish(entity_set: &str) -> String {
    format!(
        "in 1С, open Администрирование → Общие настройки → Интеграция с другими программами → Настройки стандартного интерфейса OData, \
         tick {} and save, then sync again",
        metadata_name(entity_set)
    )
}

/// The empty reference.
pub const EMPTY_REF: &str = "00000000-0000-0000-0000-000000000000";
/// The empty date.
pub const EMPTY_DATE: &str = "0001-01-01T00:00:00";

/// `Сделка_Type` of a payment line that settles a sales document.
const SALES_DEAL_TYPE: &str = "StandardODATA.Document_РеализацияТоваровУслуг";

/// Amounts must be below 10^13 roubles.
const MAX_UNITS: u64 = 10_000_000_000_000;

/// The entity set read for `kind`.
pub fn entity_set(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Counterparty => COUNTERPARTIES,
        EntityKind::Contract => CONTRACTS,
        EntityKind::SalesDocument => SALES,
        EntityKind::Payment => PAYMENTS,
    }
}

// ---------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------

/// The 1C configuration the base runs: it decides some field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configuration {
    /// 1С:Бухгалтерия 3.0 (the default).
    Bp30,
    /// 1С:Управление торговлей 11.
    Ut11,
}

impl Configuration {
    /// The `configuration` setting: `bp30` when not set.
    pub fn from_setting(value: Option<&str>) -> Result<Configuration, Error> {
        let value = value.map(str::trim).unwrap_or("");
        if value.is_empty() || value.eq_ignore_ascii_case("bp30") {
            Ok(Configuration::Bp30)
        } else if value.eq_ignore_ascii_case("ut11") {
            Ok(Configuration::Ut11)
        } else {
            Err(Error::InvalidInput(format!(
                "setting `configuration` is \"{}\"; allowed values: bp30 (1С:Бухгалтерия 3.0), ut11 (1С:Управление торговлей 11)",
                clip(value, 40)
            )))
        }
    }

    /// The sales document's contract reference.
    fn sales_contract_field(self) -> &'static str {
        match self {
            Configuration::Bp30 => "ДоговорКонтрагента_Key",
            Configuration::Ut11 => "Договор_Key",
        }
    }

    /// The sales document's currency reference.
    fn sales_currency_field(self) -> &'static str {
        match self {
            Configuration::Bp30 => "ВалютаДокумента_Key",
            Configuration::Ut11 => "Валюта_Key",
        }
    }
}

/// The plugin's settings (all but the credentials), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The OData root, ending in `/`.
    pub base_url: String,
    pub configuration: Configuration,
    /// How many days before `since` an incremental sync re-reads documents.
    pub lookback_days: u32,
    /// ISO 4217 letter code for documents without a currency.
    pub default_currency: String,
    /// The ruble's reference in `Catalog_Валюты` (lower case): documents naming it are in
    /// rubles even when the base does not publish the currency catalog.
    pub ruble_currency_ref: Option<String>,
    /// Which primary document the base's sales are issued as.
    pub primary_document: PrimaryDocument,
    /// The contract field naming its responsible user (one of
    /// [`CONTRACT_MANAGER_FIELDS`]), when the admin says the base has one.
    pub contract_manager_field: Option<&'static str>,
}

/// Which primary document (the one a court expects) a sales document is cited by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimaryDocument {
    /// From the document's kind of operation where it tells: bp30 `ВидОперации` «Услуги» →
    /// `Акт`, «Товары» → `ТОРГ-12`; otherwise none (the host cites 1C's own name).
    Auto,
    /// Every sale is issued as this document (e.g. `УПД`).
    Always(String),
    /// None: the host cites 1C's own name of the document.
    Never,
}

/// Default of the `lookback_days` setting.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 31;
/// Largest `lookback_days` accepted (ten years).
pub const MAX_LOOKBACK_DAYS: i64 = 3650;

impl Settings {
    /// Checks the settings as read from the host (`None`: not set) and applies the
    /// manifest's defaults. [`Error::InvalidInput`] names the setting that is wrong.
    pub fn new(
        base_url: Option<&str>,
        configuration: Option<&str>,
        lookback_days: Option<i64>,
        default_currency: Option<&str>,
    ) -> Result<Settings, Error> {
        let base_url = base_url.map(str::trim).unwrap_or("");
        if base_url.is_empty() {
            return Err(Error::InvalidInput(
                "setting `base_url` is not set: enter the OData address of the 1C base, e.g. http://1c.local/buh/odata/standard.odata/".to_owned(),
            ));
        }
        let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
            base_url
                .get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        });
        if !scheme_ok {
            return Err(Error::InvalidInput(format!(
                "setting `base_url` is \"{}\", not an http(s) URL such as http://1c.local/buh/odata/standard.odata/",
                clip(base_url, 80)
            )));
        }
        let lookback_days = match lookback_days {
            None => DEFAULT_LOOKBACK_DAYS,
            Some(days) => u32::try_from(days)
                .ok()
                .filter(|&d| i64::from(d) <= MAX_LOOKBACK_DAYS)
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "setting `lookback_days` is {days}; it must be a whole number of days from 0 to {MAX_LOOKBACK_DAYS}"
                    ))
                })?,
        };
        let currency = default_currency.map(str::trim).unwrap_or("");
        let default_currency = if currency.is_empty() {
            "RUB".to_owned()
        } else if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            currency.to_ascii_uppercase()
        } else {
            return Err(Error::InvalidInput(format!(
                "setting `default_currency` is \"{}\"; it must be an ISO 4217 letter code such as RUB",
                clip(currency, 20)
            )));
        };
        let mut root = base_url.trim_end_matches('/').to_owned();
        root.push('/');
        Ok(Settings {
            base_url: root,
            configuration: Configuration::from_setting(configuration)?,
            lookback_days,
            default_currency,
            ruble_currency_ref: None,
            primary_document: PrimaryDocument::Auto,
            contract_manager_field: None,
        })
    }

    /// The optional settings: `ruble_currency_ref` (a GUID), `primary_document` (`auto`,
    /// `none`, or the document every sale is issued as, e.g. `УПД`) and
    /// `contract_manager_field` (one of [`CONTRACT_MANAGER_FIELDS`]).
    pub fn with_options(
        mut self,
        ruble_currency_ref: Option<&str>,
        primary_document: Option<&str>,
        contract_manager_field: Option<&str>,
    ) -> Result<Settings, Error> {
        if let Some(key) = ruble_currency_ref.map(str::trim).filter(|k| !k.is_empty()) {
            if !is_guid(key) {
                return Err(Error::InvalidInput(format!(
                    "setting `ruble_currency_ref` is \"{}\", not a 1C reference (a GUID such as 6a2b8e4c-1c3b-11ef-8a3e-00155d010a01)",
                    clip(key, 60)
                )));
            }
            self.ruble_currency_ref = Some(key.to_ascii_lowercase());
        }
        self.primary_document = match primary_document.map(str::trim).unwrap_or("") {
            "" | "auto" => PrimaryDocument::Auto,
            "none" => PrimaryDocument::Never,
            other if other.chars().count() <= 40 => PrimaryDocument::Always(other.to_owned()),
            other => {
                return Err(Error::InvalidInput(format!(
                    "setting `primary_document` is \"{}\"; use auto, none, or the document every sale is issued as (УПД, ТОРГ-12, Акт)",
                    clip(other, 40)
                )));
            }
        };
        if let Some(field) = contract_manager_field.map(str::trim).filter(|f| !f.is_empty()) {
            let known = CONTRACT_MANAGER_FIELDS.iter().find(|k| **k == field).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "setting `contract_manager_field` is \"{}\"; allowed values: {}",
                    clip(field, 40),
                    CONTRACT_MANAGER_FIELDS.join(", ")
                ))
            })?;
            self.contract_manager_field = Some(known);
        }
        Ok(self)
    }
}

// ---------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------

/// `$select` and the fixed part of `$filter` for `kind`, and whether the entity set is
/// a document list (dated, read incrementally).
fn query_parts(kind: EntityKind, settings: &Settings) -> (String, &'static str, bool) {
    let (select, filter, dated) = base_query_parts(kind, settings.configuration);
    let mut select = select.to_owned();
    match (kind, settings.configuration) {
        // УТ 11: the partner, whose main manager is the client's responsible manager.
        (EntityKind::Counterparty, Configuration::Ut11) => select.push_str(",Партнер_Key"),
        (EntityKind::Contract, _) => {
            if let Some(field) = settings.contract_manager_field {
                select.push(',');
                select.push_str(field);
            }
        }
        (EntityKind::SalesDocument, Configuration::Bp30) if settings.primary_document == PrimaryDocument::Auto => {
            select.push_str(",ВидОперации");
        }
        _ => {}
    }
    (select, filter, dated)
}

fn base_query_parts(
    kind: EntityKind,
    configuration: Configuration,
) -> (&'static str, &'static str, bool) {
    use Configuration::{Bp30, Ut11};
    match (kind, configuration) {
        (EntityKind::Counterparty, Bp30) => (
            "Ref_Key,DeletionMark,IsFolder,Description,НаименованиеПолное,ИНН,КПП",
            "IsFolder eq false",
            false,
        ),
        (EntityKind::Counterparty, Ut11) => (
            "Ref_Key,DeletionMark,Description,НаименованиеПолное,ИНН,КПП",
            "",
            false,
        ),
        (EntityKind::Contract, Bp30) => (
            "Ref_Key,DeletionMark,IsFolder,Owner_Key,Description,Номер,Дата,УстановленСрокОплаты,СрокОплаты",
            "IsFolder eq false",
            false,
        ),
        (EntityKind::Contract, Ut11) => (
            "Ref_Key,DeletionMark,Owner_Key,Description,Номер,Дата,УстановленСрокОплаты,СрокОплаты",
            "",
            false,
        ),
        (EntityKind::SalesDocument, Bp30) => (
            "Ref_Key,Number,Date,Posted,DeletionMark,Организация_Key,Контрагент_Key,ДоговорКонтрагента_Key,ВалютаДокумента_Key,СуммаДокумента",
            "",
            true,
        ),
        (EntityKind::SalesDocument, Ut11) => (
            "Ref_Key,Number,Date,Posted,DeletionMark,Организация_Key,Контрагент_Key,Договор_Key,Валюта_Key,СуммаДокумента",
            "",
            true,
        ),
        (EntityKind::Payment, _) => (
            "Ref_Key,Number,Date,Posted,DeletionMark,Контрагент_Key,ДоговорКонтрагента_Key,СуммаДокумента,РасшифровкаПлатежа",
            "ВидОперации eq 'ОплатаПокупателя'",
            true,
        ),
    }
}

/// The URL of one page of `kind`: `$skip=skip`, `$top=top`, and for documents with
/// `since` the window `Date ge datetime'<since's date − lookback_days>T00:00:00'`.
///
/// [`Error::InvalidInput`] when `since` is not RFC 3339 (for catalogs too, which
/// otherwise ignore it).
pub fn page_url(
    settings: &Settings,
    kind: EntityKind,
    since: Option<&str>,
    skip: u64,
    top: u32,
) -> Result<String, Error> {
    let (select, fixed_filter, dated) = query_parts(kind, settings);
    // Checked for every kind (catalogs then ignore it).
    let window = since
        .map(|since| window_start(since, settings.lookback_days))
        .transpose()?;
    let mut filter = String::from(fixed_filter);
    if let (true, Some(from)) = (dated, window) {
        if !filter.is_empty() {
            filter.push_str(" and ");
        }
        // Writing to a String cannot fail.
        let _ = write!(filter, "Date ge datetime'{from}T00:00:00'");
    }
    let mut url = String::with_capacity(settings.base_url.len() + 512);
    url.push_str(&settings.base_url);
    push_encoded(&mut url, entity_set(kind));
    url.push_str("?$format=json&$select=");
    push_encoded(&mut url, &select);
    if !filter.is_empty() {
        url.push_str("&$filter=");
        push_encoded(&mut url, &filter);
    }
    let _ = write!(url, "&$orderby=Ref_Key&$top={top}&$skip={skip}");
    Ok(url)
}

/// The URL of the records of `set` with the given references (`Ref_Key eq guid'…' or …`),
/// selecting `select`: how partners and users are looked up, a few dozen at a time.
pub fn lookup_url(settings: &Settings, set: &str, select: &str, keys: &[&str]) -> String {
    let mut url = settings.base_url.clone();
    push_encoded(&mut url, set);
    url.push_str("?$format=json&$select=");
    push_encoded(&mut url, select);
    let filter = keys.iter().map(|k| format!("Ref_Key eq guid'{k}'")).collect::<Vec<_>>().join(" or ");
    url.push_str("&$filter=");
    push_encoded(&mut url, &filter);
    url
}

/// References looked up per request (keeps the URL well under common 8 KB limits).
pub const LOOKUP_CHUNK: usize = 40;

/// The URL of the currency catalog (read whole: it is small).
pub fn currencies_url(settings: &Settings) -> String {
    let mut url = settings.base_url.clone();
    push_encoded(&mut url, CURRENCIES);
    url.push_str("?$format=json&$select=");
    push_encoded(&mut url, "Ref_Key,Code,Description");
    url
}

/// Appends `text` percent-encoded: every UTF-8 byte outside the unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`.
pub fn push_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// The `$skip` offset a cursor stands for: none is 0.
pub fn parse_cursor(cursor: Option<&str>) -> Result<u64, Error> {
    let Some(cursor) = cursor else { return Ok(0) };
    if !cursor.is_empty()
        && cursor.bytes().all(|b| b.is_ascii_digit())
        && let Ok(offset) = cursor.parse()
    {
        return Ok(offset);
    }
    Err(Error::InvalidInput(format!(
        "cursor \"{}\" is not a decimal offset: pass back the previous page's next_cursor unchanged",
        clip(cursor, 40)
    )))
}

/// The next page's cursor: the offset after this page when the page was full
/// (`count` source records, rejected ones included, equal to `page_size`).
pub fn next_cursor(skip: u64, count: usize, page_size: u32) -> Option<String> {
    let count = u64::try_from(count).ok()?;
    (count == u64::from(page_size) && count > 0).then(|| (skip.saturating_add(count)).to_string())
}

/// The `Authorization` header value for HTTP Basic: `Basic base64(user:password)`.
/// Never log it.
pub fn basic_auth(username: &str, password: &str) -> String {
    let mut raw = Vec::with_capacity(username.len() + 1 + password.len());
    raw.extend_from_slice(username.as_bytes());
    raw.push(b':');
    raw.extend_from_slice(password.as_bytes());
    let mut header = String::with_capacity(6 + raw.len().div_ceil(3) * 4);
    header.push_str("Basic ");
    push_base64(&mut header, &raw);
    header
}

/// Appends `bytes` in standard base64 with padding (RFC 4648).
fn push_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |n: u32, shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        out.push(sextet(n, 18));
        out.push(sextet(n, 12));
        out.push(if chunk.len() > 1 { sextet(n, 6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(n, 0) } else { '=' });
    }
}

// ---------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------

/// The first day an incremental sync reads, `YYYY-MM-DD`: the calendar date written
/// in `since` (RFC 3339, its own offset) minus `lookback_days`, no earlier than
/// 0001-01-01.
pub fn window_start(since: &str, lookback_days: u32) -> Result<String, Error> {
    let (year, month, day) = rfc3339_date(since).ok_or_else(|| {
        Error::InvalidInput(format!(
            "since \"{}\" is not an RFC 3339 date-time such as 2026-11-20T03:00:00Z",
            clip(since, 40)
        ))
    })?;
    let days = days_from_civil(year, month, day) - i64::from(lookback_days);
    let (year, month, day) = if days < days_from_civil(1, 1, 1) {
        (1, 1, 1)
    } else {
        civil_from_days(days)
    };
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// The date of an RFC 3339 date-time (`2026-11-20T03:00:00Z`,
/// `2026-11-20T03:00:00.5+03:00`), checked field by field.
fn rfc3339_date(text: &str) -> Option<(i64, u32, u32)> {
    let b = text.as_bytes();
    let (year, month, day) = date_fields(b.get(..10)?)?;
    if !matches!(b.get(10)?, b'T' | b't' | b' ') {
        return None;
    }
    let time = b.get(11..19)?;
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        number(&time[0..2])?,
        number(&time[3..5])?,
        number(&time[6..8])?,
    );
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    match rest {
        [b'Z' | b'z'] => {}
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            if number(&[*h1, *h2])? > 23 || number(&[*m1, *m2])? > 59 {
                return None;
            }
        }
        _ => return None,
    }
    Some((year, month, day))
}

/// `YYYY-MM-DD` (exactly 10 bytes) as a valid calendar date.
fn date_fields(b: &[u8]) -> Option<(i64, u32, u32)> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(number(&b[0..4])?);
    let month = number(&b[5..7])?;
    let day = number(&b[8..10])?;
    let valid =
        year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    valid.then_some((year, month, day))
}

/// ASCII digits as a number.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction.
    (year, month as u32, day as u32)
}

/// The date part of a 1C date `YYYY-MM-DDTHH:MM:SS` (a bare `YYYY-MM-DD` is accepted
/// too); `None` when it is not one.
pub fn date_part(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    date_fields(b.get(..10)?)?;
    match b.get(10..) {
        Some([]) => {}
        Some([b'T', h1, h2, b':', m1, m2, b':', s1, s2]) => {
            let (h, m, s) = (
                number(&[*h1, *h2])?,
                number(&[*m1, *m2])?,
                number(&[*s1, *s2])?,
            );
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
        }
        _ => return None,
    }
    text.get(..10)
}

// ---------------------------------------------------------------------------------
// Amounts
// ---------------------------------------------------------------------------------

/// Why an amount is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    NotANumber,
    Negative,
    FinerThanKopeck,
    TooLarge,
}

impl Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AmountError::NotANumber => "is not a number",
            AmountError::Negative => "is negative",
            AmountError::FinerThanKopeck => "has more than two decimal places",
            AmountError::TooLarge => "is too large (10^13 or more)",
        })
    }
}

/// A decimal string (`"1234.5"`, `"-0"`, `"007.10"`) as kopecks: an optional `-`,
/// digits, optionally `.` and digits. Trailing zeros after the point do not count as
/// places.
pub fn kopecks_from_decimal(text: &str) -> Result<u64, AmountError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(units) || !all_digits(fraction) {
        return Err(AmountError::NotANumber);
    }
    let units = units.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    if negative && !(units.is_empty() && fraction.is_empty()) {
        return Err(AmountError::Negative);
    }
    if fraction.len() > 2 {
        return Err(AmountError::FinerThanKopeck);
    }
    if units.len() > 13 {
        return Err(AmountError::TooLarge);
    }
    let decimal = |s: &str| s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    let units = decimal(units);
    if units >= MAX_UNITS {
        return Err(AmountError::TooLarge);
    }
    let kopecks = decimal(fraction) * if fraction.len() == 1 { 10 } else { 1 };
    Ok(units * 100 + kopecks)
}

/// A double as kopecks, exactly: its shortest round-trip decimal form (Rust's
/// `Display`) must have at most two places. `1234.5` → 123450, `99.99` → 9999,
/// `0.1 + 0.2` (0.30000000000000004) → finer than a kopeck.
pub fn kopecks_from_f64(value: f64) -> Result<u64, AmountError> {
    if !value.is_finite() {
        return Err(AmountError::NotANumber);
    }
    let mut buffer = SmallBuf::default();
    if write!(buffer, "{value}").is_err() {
        // Longer than any valid amount: decide without the digits.
        return Err(if value < 0.0 {
            AmountError::Negative
        } else if value >= 1e13 {
            AmountError::TooLarge
        } else {
            AmountError::FinerThanKopeck
        });
    }
    kopecks_from_decimal(buffer.as_str())
}

/// Kopecks as a decimal with two places: 123450 → `"1234.50"`.
pub fn format_kopecks(kopecks: u64) -> String {
    let (units, cents) = (kopecks / 100, kopecks % 100);
    let mut text = String::with_capacity(24);
    let _ = write!(text, "{units}");
    text.push('.');
    for digit in [cents / 10, cents % 10] {
        text.push(char::from(b'0' + digit as u8));
    }
    text
}

/// A stack buffer for formatting one number without allocating.
struct SmallBuf {
    bytes: [u8; 40],
    len: usize,
}

impl Default for SmallBuf {
    fn default() -> Self {
        SmallBuf {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl SmallBuf {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for SmallBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Errors from 1C
// ---------------------------------------------------------------------------------

/// The error for an answer other than HTTP 200 to a request for `entity_set`. What
/// retrying cannot mend — credentials, an entity set 1C does not publish, a field the
/// base does not have — is [`Error::Misconfigured`] (the sync fails at once and says what
/// to change); anything else is [`Error::Unavailable`] (retried).
pub fn status_error(status: u16, body: &[u8], entity_set: &str) -> Error {
    if status == 401 {
        return Error::Misconfigured(format!(
            "1С rejected the user name or password (HTTP {status}): check the module's username and password settings"
        ));
    }
    let detail = odata_error(body).map(|(code, text)| format!(" [{code}] {text}")).unwrap_or_default();
    match status {
        403 => Error::Misconfigured(format!(
            "1С refused the user access to {entity_set} (HTTP 403{}): give the 1C user the right to read {}",
            detail.trim_end(),
            metadata_name(entity_set)
        )),
        404 => Error::Misconfigured(format!(
            "1С does not publish {entity_set} (HTTP 404{}): {}. If 1С answers so for every entity set, check the base_url setting",
            if detail.is_empty() { String::new() } else { format!(":{detail}") },
            how_to_publish(entity_set)
        )),
        400 => Error::Misconfigured(format!(
            "1С refused the request for {entity_set} (HTTP 400{}): check that the configuration setting, bp30 or ut11, matches the 1C base",
            if detail.is_empty() { String::new() } else { format!(":{detail}") },
        )),
        _ => {
            let mut message = format!("1С answered HTTP {status}");
            if !detail.is_empty() {
                let _ = write!(message, ":{detail}");
            }
            Error::Unavailable(message)
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(rename = "odata.error", borrow)]
    error: ErrorDetail<'a>,
}

#[derive(Deserialize)]
struct ErrorDetail<'a> {
    #[serde(borrow)]
    code: Option<Json<'a>>,
    #[serde(borrow)]
    message: Option<ErrorMessage<'a>>,
}

#[derive(Deserialize)]
struct ErrorMessage<'a> {
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
}

/// The code and message text of an `odata.error` body, whitespace collapsed and cut.
fn odata_error(body: &[u8]) -> Option<(String, String)> {
    let body: ErrorBody<'_> = serde_json::from_slice(body).ok()?;
    let code = match &body.error.code {
        Some(Json::Str(code)) => code.trim().to_owned(),
        Some(Json::Int(code)) => code.to_string(),
        _ => String::new(),
    };
    let text = body.error.message.and_then(|m| m.value).unwrap_or_default();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some((code, clip(&text, 500).to_owned()))
}

// ---------------------------------------------------------------------------------
// Loose JSON
// ---------------------------------------------------------------------------------

/// A field's value, whatever its JSON type (`null` and absent fields are `None` in
/// the `Option` around it).
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// An object, an array or `null`, skipped: its kind.
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor(PhantomData))
    }
}

struct JsonVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for JsonVisitor<'a> {
    type Value = Json<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json<'a>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json<'a>, E> {
        Ok(Json::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json<'a>, E> {
        Ok(i64::try_from(v).map_or(Json::Float(v as f64), Json::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'a>, E> {
        Ok(Json::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Json<'a>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json<'a>, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Json<'a>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json<'a>, E> {
        Ok(Json::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Json<'a>, E> {
        Ok(Json::Other("null"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Json::Other("an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Json::Other("an array"))
    }
}

/// Shows a field's value in a reason: strings quoted and cut, numbers as they are.
struct Shown<'v, 'a>(&'v Json<'a>);

impl Display for Shown<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Json::Bool(b) => write!(f, "{b}"),
            Json::Int(i) => write!(f, "{i}"),
            Json::Float(x) => write!(f, "{x}"),
            Json::Str(s) => write!(f, "\"{}\"", clip(s, 60)),
            Json::Other(kind) => f.write_str(kind),
        }
    }
}

/// A record (or a tabular-part line): an object, or something else (its kind).
pub enum Obj<T> {
    Ok(T),
    Not(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj::Ok)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Obj::Not("an array"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Obj<T>, E> {
        Ok(Obj::Not("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Obj<T>, E> {
        Ok(Obj::Not("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Obj<T>, E> {
        Ok(Obj::Not("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Obj<T>, E> {
        Ok(Obj::Not("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Obj<T>, E> {
        Ok(Obj::Not("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Obj<T>, E> {
        Ok(Obj::Not("null"))
    }
}

/// A tabular part: an array of lines, or something else (its kind).
enum Lines<T> {
    Ok(Vec<Obj<T>>),
    Not(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lines<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LinesVisitor(PhantomData))
    }
}

struct LinesVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LinesVisitor<T> {
    type Value = Lines<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lines<T>, A::Error> {
        let mut lines = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(line) = seq.next_element()? {
            lines.push(line);
        }
        Ok(Lines::Ok(lines))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lines<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Lines::Not("an object"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lines<T>, E> {
        Ok(Lines::Not("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Lines<T>, E> {
        Ok(Lines::Not("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lines<T>, E> {
        Ok(Lines::Not("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Lines<T>, E> {
        Ok(Lines::Not("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Lines<T>, E> {
        Ok(Lines::Not("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Lines<T>, E> {
        Ok(Lines::Not("null"))
    }
}

// ---------------------------------------------------------------------------------
// Source records
// ---------------------------------------------------------------------------------

#[derive(Deserialize)]
struct List<T> {
    value: Option<Vec<Obj<T>>>,
}

#[derive(Deserialize)]
struct RawCounterparty<'a> {
    #[serde(rename = "Ref_Key", borrow)]
    ref_key: Option<Json<'a>>,
    #[serde(rename = "DeletionMark", borrow)]
    deletion_mark: Option<Json<'a>>,
    #[serde(rename = "IsFolder", borrow)]
    is_folder: Option<Json<'a>>,
    #[serde(rename = "Description", borrow)]
    description: Option<Json<'a>>,
    #[serde(rename = "НаименованиеПолное", borrow)]
    full_name: Option<Json<'a>>,
    #[serde(rename = "ИНН", borrow)]
    inn: Option<Json<'a>>,
    #[serde(rename = "КПП", borrow)]
    kpp: Option<Json<'a>>,
    /// УТ 11: the partner (`Catalog_Партнеры`), whose main manager manages the client.
    #[serde(rename = "Партнер_Key", borrow)]
    partner: Option<Json<'a>>,
}

#[derive(Deserialize)]
struct RawContract<'a> {
    #[serde(rename = "Ref_Key", borrow)]
    ref_key: Option<Json<'a>>,
    #[serde(rename = "DeletionMark", borrow)]
    deletion_mark: Option<Json<'a>>,
    #[serde(rename = "IsFolder", borrow)]
    is_folder: Option<Json<'a>>,
    #[serde(rename = "Owner_Key", borrow)]
    owner: Option<Json<'a>>,
    #[serde(rename = "Description", borrow)]
    description: Option<Json<'a>>,
    #[serde(rename = "Номер", borrow)]
    number: Option<Json<'a>>,
    #[serde(rename = "Дата", borrow)]
    date: Option<Json<'a>>,
    #[serde(rename = "УстановленСрокОплаты", borrow)]
    has_deferral: Option<Json<'a>>,
    #[serde(rename = "СрокОплаты", borrow)]
    deferral: Option<Json<'a>>,
    /// The responsible user, under the name the `contract_manager_field` setting gives
    /// (only that one is selected).
    #[serde(rename = "Менеджер_Key", alias = "Ответственный_Key", alias = "ОсновнойМенеджер_Key", borrow)]
    manager: Option<Json<'a>>,
}

/// A sales document; the УТ 11 names are aliases (only one of each pair is selected).
#[derive(Deserialize)]
struct RawSales<'a> {
    #[serde(rename = "Ref_Key", borrow)]
    ref_key: Option<Json<'a>>,
    #[serde(rename = "Number", borrow)]
    number: Option<Json<'a>>,
    #[serde(rename = "Date", borrow)]
    date: Option<Json<'a>>,
    #[serde(rename = "Posted", borrow)]
    posted: Option<Json<'a>>,
    #[serde(rename = "DeletionMark", borrow)]
    deletion_mark: Option<Json<'a>>,
    #[serde(rename = "Организация_Key", borrow)]
    organisation: Option<Json<'a>>,
    #[serde(rename = "Контрагент_Key", borrow)]
    counterparty: Option<Json<'a>>,
    #[serde(rename = "ДоговорКонтрагента_Key", alias = "Договор_Key", borrow)]
    contract: Option<Json<'a>>,
    #[serde(rename = "ВалютаДокумента_Key", alias = "Валюта_Key", borrow)]
    currency: Option<Json<'a>>,
    #[serde(rename = "СуммаДокумента", borrow)]
    amount: Option<Json<'a>>,
    /// bp30: the kind of operation («Товары», «Услуги»…), which tells the primary document.
    #[serde(rename = "ВидОперации", borrow)]
    operation: Option<Json<'a>>,
}

#[derive(Deserialize)]
struct RawPayment<'a> {
    #[serde(rename = "Ref_Key", borrow)]
    ref_key: Option<Json<'a>>,
    #[serde(rename = "Number", borrow)]
    number: Option<Json<'a>>,
    #[serde(rename = "Date", borrow)]
    date: Option<Json<'a>>,
    #[serde(rename = "Posted", borrow)]
    posted: Option<Json<'a>>,
    #[serde(rename = "DeletionMark", borrow)]
    deletion_mark: Option<Json<'a>>,
    #[serde(rename = "Контрагент_Key", borrow)]
    counterparty: Option<Json<'a>>,
    #[serde(rename = "ДоговорКонтрагента_Key", borrow)]
    contract: Option<Json<'a>>,
    #[serde(rename = "СуммаДокумента", borrow)]
    amount: Option<Json<'a>>,
    #[serde(rename = "РасшифровкаПлатежа", borrow)]
    lines: Option<Lines<RawPaymentLine<'a>>>,
}

#[derive(Deserialize)]
struct RawPaymentLine<'a> {
    #[serde(rename = "LineNumber", borrow)]
    line_number: Option<Json<'a>>,
    #[serde(rename = "ДоговорКонтрагента_Key", borrow)]
    contract: Option<Json<'a>>,
    #[serde(rename = "СуммаПлатежа", borrow)]
    amount: Option<Json<'a>>,
    #[serde(rename = "СпособПогашенияЗадолженности", borrow)]
    settlement: Option<Json<'a>>,
    #[serde(rename = "Сделка", borrow)]
    deal: Option<Json<'a>>,
    #[serde(rename = "Сделка_Type", borrow)]
    deal_type: Option<Json<'a>>,
}

#[derive(Deserialize)]
struct RawPartner<'a> {
    #[serde(rename = "Ref_Key", borrow)]
    ref_key: Option<Json<'a>>,
    #[serde(rename = "ОсновнойМенеджер_Key", borrow)]
    manager: Option<Json<'a>>,
}

#[derive(Deserialize)]
struct RawUser<'a> {
    #[serde(rename = "Ref_Key", borrow)]
    ref_key: Option<Json<'a>>,
    #[serde(rename = "Description", borrow)]
    description: Option<Json<'a>>,
}

#[derive(Deserialize)]
struct RawCurrency<'a> {
    #[serde(rename = "Ref_Key", borrow)]
    ref_key: Option<Json<'a>>,
    #[serde(rename = "Code", borrow)]
    code: Option<Json<'a>>,
    #[serde(rename = "Description", borrow)]
    description: Option<Json<'a>>,
}

/// The records of one page, parsed and borrowing from the response body.
pub struct Records<'a>(Parsed<'a>);

enum Parsed<'a> {
    Counterparties(Vec<Obj<RawCounterparty<'a>>>),
    Contracts(Vec<Obj<RawContract<'a>>>),
    Sales(Vec<Obj<RawSales<'a>>>),
    Payments(Vec<Obj<RawPayment<'a>>>),
}

/// Parses a page of `kind` (an HTTP 200 body). A body that is not an OData list is
/// [`Error::Unavailable`] saying what is wrong; single records of an unexpected shape
/// are kept, to be rejected by [`map_records`].
pub fn parse_records(kind: EntityKind, body: &[u8]) -> Result<Records<'_>, Error> {
    let set = entity_set(kind);
    Ok(Records(match kind {
        EntityKind::Counterparty => Parsed::Counterparties(parse_list(set, body)?),
        EntityKind::Contract => Parsed::Contracts(parse_list(set, body)?),
        EntityKind::SalesDocument => Parsed::Sales(parse_list(set, body)?),
        EntityKind::Payment => Parsed::Payments(parse_list(set, body)?),
    }))
}

fn parse_list<'a, T: Deserialize<'a>>(set: &str, body: &'a [u8]) -> Result<Vec<Obj<T>>, Error> {
    // Checking the whole body once is cheaper than serde_json checking every string.
    let text = std::str::from_utf8(body).map_err(|e| {
        Error::Unavailable(format!(
            "1С's answer for {set} is not UTF-8 text ({e}); check that the base_url setting points at …/odata/standard.odata/"
        ))
    })?;
    let list: List<T> = serde_json::from_str(text).map_err(|e| {
        Error::Unavailable(if e.is_data() {
            format!("1С's answer for {set} is not the expected OData list ({e})")
        } else {
            format!(
                "1С's answer for {set} is not JSON ({e}); check that the base_url setting points at …/odata/standard.odata/"
            )
        })
    })?;
    list.value
        .ok_or_else(|| Error::Unavailable(format!("1С's answer for {set} has no `value` array")))
}

impl Records<'_> {
    /// How many source records the page had.
    pub fn len(&self) -> usize {
        match &self.0 {
            Parsed::Counterparties(r) => r.len(),
            Parsed::Contracts(r) => r.len(),
            Parsed::Sales(r) => r.len(),
            Parsed::Payments(r) => r.len(),
        }
    }

    /// Whether the page had no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The partners the page's counterparties name (УТ 11), lower case, each once.
    pub fn partner_keys(&self) -> Vec<String> {
        let Parsed::Counterparties(records) = &self.0 else { return Vec::new() };
        let mut keys: Vec<String> = records
            .iter()
            .filter_map(|r| match r {
                Obj::Ok(r) => reference("Партнер_Key", r.partner.as_ref()).ok().flatten(),
                Obj::Not(_) => None,
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The users the page's contracts name as responsible, lower case, each once.
    pub fn contract_manager_keys(&self) -> Vec<String> {
        let Parsed::Contracts(records) = &self.0 else { return Vec::new() };
        let mut keys: Vec<String> = records
            .iter()
            .filter_map(|r| match r {
                Obj::Ok(r) => reference("manager", r.manager.as_ref()).ok().flatten(),
                Obj::Not(_) => None,
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The currency references of the page's sales documents that the catalog would be
    /// needed for: neither empty nor the ruble's (`ruble_currency_ref`). Lower case, each once.
    pub fn currencies_needing_the_catalog(&self, settings: &Settings) -> Vec<String> {
        let Parsed::Sales(records) = &self.0 else { return Vec::new() };
        let mut keys: Vec<String> = records
            .iter()
            .filter_map(|r| match r {
                Obj::Ok(r) => reference("", r.currency.as_ref()).ok().flatten(),
                Obj::Not(_) => None,
            })
            .filter(|k| settings.ruble_currency_ref.as_deref() != Some(k.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Whether a sales document on the page names a currency, so that the currency
    /// catalog must be read to map it.
    pub fn needs_currencies(&self) -> bool {
        let Parsed::Sales(records) = &self.0 else {
            return false;
        };
        records.iter().any(|r| match r {
            Obj::Ok(r) => matches!(reference_str("", r.currency.as_ref()), Ok(Some(_))),
            Obj::Not(_) => false,
        })
    }
}

// ---------------------------------------------------------------------------------
// Currencies
// ---------------------------------------------------------------------------------

/// The currency catalog: reference → ISO 4217 letter code (or what 1C says, when the
/// code is not known). A base has a handful of currencies: a list is enough.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Currencies(Vec<Currency>);

impl Currencies {
    /// The currency with reference `key` (a GUID, either case).
    fn get(&self, key: &str) -> Option<&Currency> {
        let mut lower = [0u8; 36];
        lower.get_mut(..key.len())?.copy_from_slice(key.as_bytes());
        lower.make_ascii_lowercase();
        let lower = lower.get(..key.len())?;
        self.0.iter().find(|c| c.key.as_bytes() == lower)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Currency {
    key: String,
    letter: Option<&'static str>,
    code: String,
    description: String,
}

/// What the page's managers are: partner → its main manager (УТ 11), and user → name.
/// Filled from `Catalog_Партнеры` and `Catalog_Пользователи` when the base publishes them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Managers {
    pub partner_manager: std::collections::HashMap<String, String>,
    pub user_name: std::collections::HashMap<String, String>,
}

impl Managers {
    /// The person a user reference names (its name, or empty when 1C did not say).
    fn person(&self, user: Option<String>) -> Option<crm_plugin_sdk::accounting::Person> {
        let user = user?;
        let name = self.user_name.get(&user).cloned().unwrap_or_default();
        Some(crm_plugin_sdk::accounting::Person { external_id: user, name })
    }
}

/// Parses a page of `Catalog_Партнеры` (`Ref_Key`, `ОсновнойМенеджер_Key`) into
/// `managers.partner_manager`.
pub fn parse_partners(body: &[u8], managers: &mut Managers) -> Result<(), Error> {
    let records: Vec<Obj<RawPartner<'_>>> = parse_list(PARTNERS, body)?;
    for record in records {
        let Obj::Ok(record) = record else { continue };
        if let (Ok(Some(key)), Ok(Some(manager))) = (reference("Ref_Key", record.ref_key.as_ref()), reference("ОсновнойМенеджер_Key", record.manager.as_ref())) {
            managers.partner_manager.insert(key, manager);
        }
    }
    Ok(())
}

/// Parses a page of `Catalog_Пользователи` (`Ref_Key`, `Description`) into
/// `managers.user_name`.
pub fn parse_users(body: &[u8], managers: &mut Managers) -> Result<(), Error> {
    let records: Vec<Obj<RawUser<'_>>> = parse_list(USERS, body)?;
    for record in records {
        let Obj::Ok(record) = record else { continue };
        if let Ok(Some(key)) = reference("Ref_Key", record.ref_key.as_ref()) {
            let name = match &record.description {
                Some(Json::Str(d)) => clip(d.trim(), 200).to_owned(),
                _ => String::new(),
            };
            managers.user_name.insert(key, name);
        }
    }
    Ok(())
}

/// Parses `Catalog_Валюты` (an HTTP 200 body). Records without a usable `Ref_Key` are
/// skipped.
pub fn parse_currencies(body: &[u8]) -> Result<Currencies, Error> {
    let records: Vec<Obj<RawCurrency<'_>>> = parse_list(CURRENCIES, body)?;
    let mut currencies = Vec::with_capacity(records.len());
    for record in records {
        let Obj::Ok(record) = record else { continue };
        let Ok(Some(key)) = reference("Ref_Key", record.ref_key.as_ref()) else {
            continue;
        };
        let code = match &record.code {
            Some(Json::Str(code)) => code.trim().to_owned(),
            Some(Json::Int(code)) => code.to_string(),
            _ => String::new(),
        };
        let description = match &record.description {
            Some(Json::Str(d)) => d.trim().to_owned(),
            _ => String::new(),
        };
        currencies.push(Currency {
            key,
            letter: iso_letter_code(&code),
            code,
            description,
        });
    }
    Ok(Currencies(currencies))
}

/// The ISO 4217 letter code of a numeric code (`"643"` → `RUB`; leading zeros allowed:
/// `"051"` → `AMD`).
pub fn iso_letter_code(numeric: &str) -> Option<&'static str> {
    let numeric = numeric.trim();
    if numeric.is_empty() || numeric.len() > 3 || !numeric.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match number(numeric.as_bytes())? {
        643 => "RUB",
        // The rouble's code before 1998 (RUR), still the rouble's Code in old bases.
        810 => "RUB",
        840 => "USD",
        978 => "EUR",
        156 => "CNY",
        398 => "KZT",
        933 => "BYN",
        826 => "GBP",
        756 => "CHF",
        392 => "JPY",
        949 => "TRY",
        51 => "AMD",
        417 => "KGS",
        860 => "UZS",
        944 => "AZN",
        981 => "GEL",
        784 => "AED",
        356 => "INR",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------

/// A mapped page: the records that mapped, and those that did not with the reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub entries: Vec<Entry>,
    pub rejected: Vec<Rejected>,
}

/// Maps a page. `currencies` is the currency catalog when
/// [`Records::needs_currencies`] asked for it; a document naming a currency that is
/// not in it is rejected (with no catalog, one naming the ruble's reference of the
/// `ruble_currency_ref` setting is in rubles). `managers` resolves the responsible users.
pub fn map_records(
    records: &Records<'_>,
    settings: &Settings,
    currencies: Option<&Currencies>,
    managers: &Managers,
) -> Mapped {
    let configuration = settings.configuration;
    match &records.0 {
        Parsed::Counterparties(r) => collect(COUNTERPARTIES, r, |c| counterparty(c, configuration, managers)),
        Parsed::Contracts(r) => collect(CONTRACTS, r, |c| contract(c, configuration, managers)),
        Parsed::Sales(r) => collect(SALES, r, |s| sales_document(s, settings, currencies)),
        Parsed::Payments(r) => collect(PAYMENTS, r, payment),
    }
}

/// How a record is named in a reason.
enum Label<'s> {
    /// A document or contract number: `№ 0000-000123`.
    Number(&'s str),
    /// A catalog item's name: `«ООО Ромашка»`.
    Name(&'s str),
    None,
}

trait Record {
    fn ref_key(&self) -> Option<&Json<'_>>;
    fn label(&self) -> Label<'_>;
    /// The counterparty the record belongs to, when it names one (so the host can group
    /// rejections by client).
    fn counterparty_ref(&self) -> Option<String>;
}

/// The first non-blank string among `values`.
fn first_text<'v>(values: [Option<&'v Json<'_>>; 2]) -> Option<&'v str> {
    values.into_iter().find_map(|v| match v {
        Some(Json::Str(s)) if !s.trim().is_empty() => Some(s.trim()),
        _ => None,
    })
}

impl Record for RawCounterparty<'_> {
    fn ref_key(&self) -> Option<&Json<'_>> {
        self.ref_key.as_ref()
    }
    fn counterparty_ref(&self) -> Option<String> {
        reference("Ref_Key", self.ref_key.as_ref()).ok().flatten()
    }
    fn label(&self) -> Label<'_> {
        first_text([self.description.as_ref(), self.full_name.as_ref()])
            .map_or(Label::None, Label::Name)
    }
}

impl Record for RawContract<'_> {
    fn ref_key(&self) -> Option<&Json<'_>> {
        self.ref_key.as_ref()
    }
    fn counterparty_ref(&self) -> Option<String> {
        reference("Owner_Key", self.owner.as_ref()).ok().flatten()
    }
    fn label(&self) -> Label<'_> {
        match first_text([self.description.as_ref(), None]) {
            Some(name) => Label::Name(name),
            None => first_text([self.number.as_ref(), None]).map_or(Label::None, Label::Number),
        }
    }
}

impl Record for RawSales<'_> {
    fn ref_key(&self) -> Option<&Json<'_>> {
        self.ref_key.as_ref()
    }
    fn counterparty_ref(&self) -> Option<String> {
        reference("Контрагент_Key", self.counterparty.as_ref()).ok().flatten()
    }
    fn label(&self) -> Label<'_> {
        first_text([self.number.as_ref(), None]).map_or(Label::None, Label::Number)
    }
}

impl Record for RawPayment<'_> {
    fn ref_key(&self) -> Option<&Json<'_>> {
        self.ref_key.as_ref()
    }
    fn counterparty_ref(&self) -> Option<String> {
        reference("Контрагент_Key", self.counterparty.as_ref()).ok().flatten()
    }
    fn label(&self) -> Label<'_> {
        first_text([self.number.as_ref(), None]).map_or(Label::None, Label::Number)
    }
}

/// Maps every record with `map`; a record that does not map (`Err(problem)`, the
/// problem naming the field) is rejected with a reason naming the entity set and the
/// record.
fn collect<T: Record>(
    set: &str,
    records: &[Obj<T>],
    map: impl Fn(&T) -> Result<Entry, String>,
) -> Mapped {
    let mut mapped = Mapped {
        entries: Vec::with_capacity(records.len()),
        rejected: Vec::new(),
    };
    for (i, record) in records.iter().enumerate() {
        let record = match record {
            Obj::Ok(record) => record,
            Obj::Not(kind) => {
                mapped.rejected.push(Rejected {
                    external_id: None,
                    counterparty_id: None,
                    reason: format!(
                        "{set}: record {} of the page is {kind}, not an object",
                        i + 1
                    ),
                });
                continue;
            }
        };
        match map(record) {
            Ok(entry) => mapped.entries.push(entry),
            Err(problem) => {
                let external_id = match record.ref_key() {
                    Some(Json::Str(key)) if !key.trim().is_empty() => {
                        let key = key.trim();
                        Some(if is_guid(key) {
                            key.to_ascii_lowercase()
                        } else {
                            key.to_owned()
                        })
                    }
                    _ => None,
                };
                let reason = match record.label() {
                    Label::Number(n) => format!("{set} № {}: {problem}", clip(n, 80)),
                    Label::Name(n) => format!("{set} «{}»: {problem}", clip(n, 80)),
                    Label::None => match &external_id {
                        Some(id) if !problem.starts_with("Ref_Key") => {
                            format!("{set} {}: {problem}", clip(id, 40))
                        }
                        _ => format!("{set}: {problem}"),
                    },
                };
                mapped.rejected.push(Rejected {
                    external_id,
                    counterparty_id: record.counterparty_ref(),
                    reason,
                });
            }
        }
    }
    mapped
}

fn counterparty(r: &RawCounterparty<'_>, configuration: Configuration, managers: &Managers) -> Result<Entry, String> {
    let external_id = required_reference("Ref_Key", r.ref_key.as_ref())?;
    if configuration == Configuration::Bp30 && flag("IsFolder", r.is_folder.as_ref())? {
        return Err("IsFolder is true: a group of counterparties, not a counterparty".to_owned());
    }
    let full_name = text("НаименованиеПолное", r.full_name.as_ref())?;
    let name = if full_name.is_empty() {
        text("Description", r.description.as_ref())?
    } else {
        full_name
    };
    if name.is_empty() {
        return Err("НаименованиеПолное and Description are both empty".to_owned());
    }
    Ok(Entry::Counterparty(Counterparty {
        external_id,
        name: name.to_owned(),
        inn: optional_text("ИНН", r.inn.as_ref())?,
        kpp: optional_text("КПП", r.kpp.as_ref())?,
        manager: managers.person(
            reference("Партнер_Key", r.partner.as_ref())
                .ok()
                .flatten()
                .and_then(|partner| managers.partner_manager.get(&partner).cloned()),
        ),
        deleted: flag("DeletionMark", r.deletion_mark.as_ref())?,
    }))
}

fn contract(r: &RawContract<'_>, configuration: Configuration, managers: &Managers) -> Result<Entry, String> {
    let external_id = required_reference("Ref_Key", r.ref_key.as_ref())?;
    if configuration == Configuration::Bp30 && flag("IsFolder", r.is_folder.as_ref())? {
        return Err("IsFolder is true: a group of contracts, not a contract".to_owned());
    }
    let number = match optional_text("Номер", r.number.as_ref())? {
        Some(number) => Some(number),
        None => optional_text("Description", r.description.as_ref())?,
    };
    let deferral_days = if flag("УстановленСрокОплаты", r.has_deferral.as_ref())?
    {
        Some(deferral_days(r.deferral.as_ref())?)
    } else {
        None
    };
    Ok(Entry::Contract(Contract {
        external_id,
        counterparty_id: required_reference("Owner_Key", r.owner.as_ref())?,
        number,
        signed_on: date("Дата", r.date.as_ref())?,
        deferral_days,
        manager: managers.person(reference("manager", r.manager.as_ref()).ok().flatten()),
        deleted: flag("DeletionMark", r.deletion_mark.as_ref())?,
    }))
}

/// `СрокОплаты`: a whole number of days, 0…3650.
fn deferral_days(value: Option<&Json<'_>>) -> Result<u32, String> {
    const FIELD: &str = "СрокОплаты";
    let Some(value) = value else {
        return Err(format!(
            "{FIELD} is empty while УстановленСрокОплаты is true"
        ));
    };
    let days = match value {
        Json::Int(days) => Some(*days),
        Json::Float(days) if days.fract() == 0.0 && days.abs() <= 1e9 => Some(*days as i64),
        Json::Str(days) => days.trim().parse::<i64>().ok(),
        _ => None,
    };
    days.filter(|d| (0..=3650).contains(d))
        .and_then(|d| u32::try_from(d).ok())
        .ok_or_else(|| {
            format!(
                "{FIELD} is not a whole number of days from 0 to 3650 ({})",
                Shown(value)
            )
        })
}

fn sales_document(
    r: &RawSales<'_>,
    settings: &Settings,
    currencies: Option<&Currencies>,
) -> Result<Entry, String> {
    let configuration = settings.configuration;
    Ok(Entry::SalesDocument(SalesDocument {
        external_id: required_reference("Ref_Key", r.ref_key.as_ref())?,
        number: text("Number", r.number.as_ref())?.to_owned(),
        issued_on: required_date("Date", r.date.as_ref())?,
        counterparty_id: required_reference("Контрагент_Key", r.counterparty.as_ref())?,
        contract_id: reference(configuration.sales_contract_field(), r.contract.as_ref())?,
        legal_entity_id: reference("Организация_Key", r.organisation.as_ref())?,
        amount: format_kopecks(amount("СуммаДокумента", r.amount.as_ref())?),
        currency: currency(
            configuration.sales_currency_field(),
            r.currency.as_ref(),
            settings,
            currencies,
        )?,
        primary_document: primary_document(settings, r.operation.as_ref()),
        posted: flag("Posted", r.posted.as_ref())?,
        deleted: flag("DeletionMark", r.deletion_mark.as_ref())?,
    }))
}

/// The primary document a sale is cited by (see [`PrimaryDocument`]).
fn primary_document(settings: &Settings, operation: Option<&Json<'_>>) -> Option<String> {
    match &settings.primary_document {
        PrimaryDocument::Never => None,
        PrimaryDocument::Always(document) => Some(document.clone()),
        PrimaryDocument::Auto => match operation {
            Some(Json::Str(op)) => match op.trim() {
                "Услуги" => Some("Акт".to_owned()),
                "Товары" => Some("ТОРГ-12".to_owned()),
                _ => None,
            },
            _ => None,
        },
    }
}

/// The letter code of a currency reference; the default for the empty reference, and
/// rubles for the ruble's reference (`ruble_currency_ref`) when there is no catalog.
fn currency(
    field: &str,
    value: Option<&Json<'_>>,
    settings: &Settings,
    currencies: Option<&Currencies>,
) -> Result<String, String> {
    let Some(key) = reference_str(field, value)? else {
        return Ok(settings.default_currency.clone());
    };
    if currencies.is_none() && settings.ruble_currency_ref.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(key)) {
        return Ok("RUB".to_owned());
    }
    let Some(currency) = currencies.and_then(|c| c.get(key)) else {
        return Err(format!(
            "{field} refers to currency {}, which is not in {CURRENCIES}",
            key.to_ascii_lowercase()
        ));
    };
    match currency.letter {
        Some(letter) => Ok(letter.to_owned()),
        None => Err(format!(
            "{field} refers to currency «{}» with code \"{}\", which is not a known ISO 4217 numeric code",
            clip(&currency.description, 60),
            clip(&currency.code, 20)
        )),
    }
}

/// Line `i` of `РасшифровкаПлатежа`, which must be an object (even a line that
/// allocates nothing).
fn line_object<'l, 'a>(
    i: usize,
    line: &'l Obj<RawPaymentLine<'a>>,
) -> Result<&'l RawPaymentLine<'a>, String> {
    match line {
        Obj::Ok(line) => Ok(line),
        Obj::Not(kind) => Err(format!(
            "РасшифровкаПлатежа line {} is {kind}, not an object",
            i + 1
        )),
    }
}

fn payment(r: &RawPayment<'_>) -> Result<Entry, String> {
    const LINES: &str = "РасшифровкаПлатежа";
    let external_id = required_reference("Ref_Key", r.ref_key.as_ref())?;
    let number = text("Number", r.number.as_ref())?.to_owned();
    let paid_on = required_date("Date", r.date.as_ref())?;
    let counterparty_id = required_reference("Контрагент_Key", r.counterparty.as_ref())?;
    let lines: &[Obj<RawPaymentLine<'_>>] = match &r.lines {
        None => &[],
        Some(Lines::Ok(lines)) => lines,
        Some(Lines::Not(kind)) => return Err(format!("{LINES} is {kind}, not a list of lines")),
    };
    let in_line = |i: usize, line: &RawPaymentLine<'_>, problem: String| {
        let number = match &line.line_number {
            Some(Json::Str(n)) if !n.trim().is_empty() => clip(n.trim(), 10).to_owned(),
            Some(Json::Int(n)) => n.to_string(),
            _ => (i + 1).to_string(),
        };
        format!("{LINES} line {number}: {problem}")
    };

    let contract_id = match reference("ДоговорКонтрагента_Key", r.contract.as_ref())?
    {
        Some(contract) => Some(contract),
        None => match lines.first() {
            Some(line) => {
                let line = line_object(0, line)?;
                reference("ДоговорКонтрагента_Key", line.contract.as_ref())
                    .map_err(|problem| in_line(0, line, problem))?
            }
            None => None,
        },
    };

    let total = amount("СуммаДокумента", r.amount.as_ref())?;
    if total == 0 {
        let shown = r
            .amount
            .as_ref()
            .map_or_else(|| "0".to_owned(), |v| Shown(v).to_string());
        return Err(format!("СуммаДокумента is not positive ({shown})"));
    }

    let mut allocations = Vec::new();
    let mut allocated: u64 = 0;
    for (i, line) in lines.iter().enumerate() {
        let line = line_object(i, line)?;
        let by_document =
            matches!(&line.settlement, Some(Json::Str(s)) if s.trim() == "ПоДокументу");
        let sales_deal =
            matches!(&line.deal_type, Some(Json::Str(t)) if t.trim() == SALES_DEAL_TYPE);
        if !(by_document && sales_deal) {
            continue;
        }
        let Some(document_id) =
            reference("Сделка", line.deal.as_ref()).map_err(|problem| in_line(i, line, problem))?
        else {
            continue;
        };
        let kopecks = amount("СуммаПлатежа", line.amount.as_ref())
            .map_err(|problem| in_line(i, line, problem))?;
        allocated = allocated.saturating_add(kopecks);
        allocations.push(Allocation {
            document_id,
            amount: format_kopecks(kopecks),
        });
    }
    if allocated > total {
        return Err(format!(
            "{LINES} allocates {} to sales documents, more than СуммаДокумента {}",
            format_kopecks(allocated),
            format_kopecks(total)
        ));
    }

    Ok(Entry::Payment(Payment {
        external_id,
        number,
        paid_on,
        counterparty_id,
        contract_id,
        amount: format_kopecks(total),
        allocations,
        posted: flag("Posted", r.posted.as_ref())?,
        deleted: flag("DeletionMark", r.deletion_mark.as_ref())?,
    }))
}

// ---------------------------------------------------------------------------------
// Field readers: `Err` is the problem, starting with the field's name.
// ---------------------------------------------------------------------------------

/// Whether `text` is a GUID `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (either case).
pub fn is_guid(text: &str) -> bool {
    /// `DASHES[i]`: 1 where byte `i` is a dash, 0 where it is a hex digit.
    const DASHES: [u8; 36] = {
        let mut shape = [0; 36];
        shape[8] = 1;
        shape[13] = 1;
        shape[18] = 1;
        shape[23] = 1;
        shape
    };
    /// 1 for a dash, 0 for a hex digit, 2 for anything else.
    const CLASS: [u8; 256] = {
        let mut class = [2; 256];
        let mut b = 0;
        while b < 256 {
            if (b as u8).is_ascii_hexdigit() {
                class[b] = 0;
            }
            b += 1;
        }
        class[b'-' as usize] = 1;
        class
    };
    let b = text.as_bytes();
    b.len() == 36
        && b.iter()
            .zip(DASHES)
            .all(|(&c, dash)| CLASS[usize::from(c)] == dash)
}

/// A reference, lower-cased; `None` when absent, blank or the empty reference.
fn reference(field: &str, value: Option<&Json<'_>>) -> Result<Option<String>, String> {
    Ok(reference_str(field, value)?.map(|guid| {
        // Hex digits and dashes only: setting bit 0x20 lower-cases A-F and keeps the rest.
        String::from_utf8(guid.bytes().map(|b| b | 0x20).collect()).unwrap_or_default()
    }))
}

/// A reference as 1C wrote it (either case); `None` when absent, blank or the empty
/// reference.
fn reference_str<'v>(field: &str, value: Option<&'v Json<'_>>) -> Result<Option<&'v str>, String> {
    match value {
        None => Ok(None),
        Some(Json::Str(s)) => {
            let s = s.trim();
            if s.is_empty() || s == EMPTY_REF {
                Ok(None)
            } else if is_guid(s) {
                Ok(Some(s))
            } else {
                Err(format!("{field} is not a GUID (\"{}\")", clip(s, 60)))
            }
        }
        Some(other) => Err(format!("{field} is not a GUID ({})", Shown(other))),
    }
}

/// A reference that must not be empty.
fn required_reference(field: &str, value: Option<&Json<'_>>) -> Result<String, String> {
    reference(field, value)?.ok_or_else(|| format!("{field} is empty"))
}

/// A string, trimmed; `""` when absent.
fn text<'v>(field: &str, value: Option<&'v Json<'_>>) -> Result<&'v str, String> {
    match value {
        None => Ok(""),
        Some(Json::Str(s)) => Ok(s.trim()),
        Some(other) => Err(format!("{field} is not a string ({})", Shown(other))),
    }
}

/// A string, trimmed; `None` when absent or blank.
fn optional_text(field: &str, value: Option<&Json<'_>>) -> Result<Option<String>, String> {
    let text = text(field, value)?;
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// A boolean; `false` when absent.
fn flag(field: &str, value: Option<&Json<'_>>) -> Result<bool, String> {
    match value {
        None => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("{field} is not a boolean ({})", Shown(other))),
    }
}

/// The date part of a 1C date; `None` when absent, blank or the empty date.
fn date(field: &str, value: Option<&Json<'_>>) -> Result<Option<String>, String> {
    match value {
        None => Ok(None),
        Some(Json::Str(s)) => {
            let s = s.trim();
            if s.is_empty() || s == EMPTY_DATE {
                return Ok(None);
            }
            match date_part(s) {
                Some(date) => Ok(Some(date.to_owned())),
                None => Err(format!(
                    "{field} is not a date YYYY-MM-DDTHH:MM:SS (\"{}\")",
                    clip(s, 40)
                )),
            }
        }
        Some(other) => Err(format!(
            "{field} is not a date YYYY-MM-DDTHH:MM:SS ({})",
            Shown(other)
        )),
    }
}

/// A date that must not be empty.
fn required_date(field: &str, value: Option<&Json<'_>>) -> Result<String, String> {
    date(field, value)?.ok_or_else(|| format!("{field} is empty"))
}

/// An amount in kopecks: a JSON number or a numeric string, not negative, at most two
/// places, below 10^13.
fn amount(field: &str, value: Option<&Json<'_>>) -> Result<u64, String> {
    let Some(value) = value else {
        return Err(format!("{field} is empty"));
    };
    let kopecks = match value {
        Json::Int(units) if *units < 0 => Err(AmountError::Negative),
        Json::Int(units) => u64::try_from(*units)
            .ok()
            .filter(|&u| u < MAX_UNITS)
            .map(|u| u * 100)
            .ok_or(AmountError::TooLarge),
        Json::Float(x) => kopecks_from_f64(*x),
        Json::Str(s) => kopecks_from_decimal(s.trim()),
        Json::Bool(_) | Json::Other(_) => Err(AmountError::NotANumber),
    };
    kopecks.map_err(|e| format!("{field} {e} ({})", Shown(value)))
}

/// At most `max` characters of `text`.
fn clip(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests;
