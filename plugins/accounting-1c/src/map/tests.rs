use super::*;

const COUNTERPARTIES_BP30: &[u8] = include_bytes!("../../tests/fixtures/counterparties-bp30.json");
const COUNTERPARTIES_UT11: &[u8] = include_bytes!("../../tests/fixtures/counterparties-ut11.json");
const CONTRACTS_BP30: &[u8] = include_bytes!("../../tests/fixtures/contracts-bp30.json");
const CONTRACTS_UT11: &[u8] = include_bytes!("../../tests/fixtures/contracts-ut11.json");
const SALES_BP30: &[u8] = include_bytes!("../../tests/fixtures/sales-bp30.json");
const SALES_UT11: &[u8] = include_bytes!("../../tests/fixtures/sales-ut11.json");
const PAYMENTS_BP30: &[u8] = include_bytes!("../../tests/fixtures/payments-bp30.json");
const CURRENCIES_JSON: &[u8] = include_bytes!("../../tests/fixtures/currencies.json");
const ODATA_ERROR: &[u8] = include_bytes!("../../tests/fixtures/odata-error.json");

const BASE: &str = "http://1c.local/buh/odata/standard.odata/";

fn settings(configuration: &str) -> Settings {
    Settings::new(Some(BASE), Some(configuration), None, None).unwrap()
}

/// Parses and maps a page the way the plugin does, reading the currency catalog
/// fixture only when the page asks for it.
fn map_page(kind: EntityKind, body: &[u8], configuration: &str) -> Mapped {
    let records = parse_records(kind, body).unwrap();
    let currencies = records
        .needs_currencies()
        .then(|| parse_currencies(CURRENCIES_JSON).unwrap());
    map_records(&records, &settings(configuration), currencies.as_ref(), &Managers::default())
}

fn reasons(mapped: &Mapped) -> Vec<(Option<&str>, &str)> {
    mapped
        .rejected
        .iter()
        .map(|r| (r.external_id.as_deref(), r.reason.as_str()))
        .collect()
}

fn invalid_input(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::InvalidInput(message)) => message,
        other => panic!("expected Error::InvalidInput, got {other:?}"),
    }
}

fn unavailable(error: Error) -> String {
    match error {
        Error::Unavailable(message) => message,
        other => panic!("expected Error::Unavailable, got {other:?}"),
    }
}

/// Decodes `%XX` (test helper, to compare URLs in readable form).
fn decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The query options of a URL, decoded, in order.
fn options(url: &str) -> Vec<(String, String)> {
    let (_, query) = url.split_once('?').unwrap();
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

fn option(url: &str, name: &str) -> Option<String> {
    options(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

// --- URLs -------------------------------------------------------------------------

#[test]
fn the_counterparty_url_is_percent_encoded_utf8_with_every_option() {
    let url = page_url(&settings("bp30"), EntityKind::Counterparty, None, 0, 1000).unwrap();
    assert_eq!(
        url,
        "http://1c.local/buh/odata/standard.odata/Catalog_%D0%9A%D0%BE%D0%BD%D1%82%D1%80%D0%B0%D0%B3%D0%B5%D0%BD%D1%82%D1%8B\
         ?$format=json\
         &$select=Ref_Key%2CDeletionMark%2CIsFolder%2CDescription%2C%D0%9D%D0%B0%D0%B8%D0%BC%D0%B5%D0%BD%D0%BE%D0%B2%D0%B0%D0%BD%D0%B8%D0%B5%D0%9F%D0%BE%D0%BB%D0%BD%D0%BE%D0%B5%2C%D0%98%D0%9D%D0%9D%2C%D0%9A%D0%9F%D0%9F\
         &$filter=IsFolder%20eq%20false\
         &$orderby=Ref_Key&$top=1000&$skip=0"
    );
}

#[test]
fn the_base_url_works_with_and_without_a_trailing_slash() {
    for base in [
        "http://1c.local/buh/odata/standard.odata/",
        "http://1c.local/buh/odata/standard.odata",
        "  http://1c.local/buh/odata/standard.odata//  ",
    ] {
        let settings = Settings::new(Some(base), None, None, None).unwrap();
        assert_eq!(settings.base_url, BASE, "{base}");
        let url = page_url(&settings, EntityKind::Payment, None, 0, 10).unwrap();
        assert!(
            url.starts_with("http://1c.local/buh/odata/standard.odata/Document_%D0%9F"),
            "{url}"
        );
    }
}

#[test]
fn percent_encoding_keeps_only_unreserved_characters() {
    let mut out = String::new();
    push_encoded(&mut out, "Az09-._~ '/,:$&=?%+Ё");
    assert_eq!(out, "Az09-._~%20%27%2F%2C%3A%24%26%3D%3F%25%2B%D0%81");
}

#[test]
fn catalogs_ignore_since_and_select_per_configuration() {
    let bp30 = page_url(
        &settings("bp30"),
        EntityKind::Contract,
        Some("2026-11-20T03:00:00Z"),
        2000,
        1000,
    )
    .unwrap();
    assert_eq!(
        options(&bp30),
        [
            ("$format", "json"),
            ("$select", "Ref_Key,DeletionMark,IsFolder,Owner_Key,Description,Номер,Дата,УстановленСрокОплаты,СрокОплаты"),
            ("$filter", "IsFolder eq false"),
            ("$orderby", "Ref_Key"),
            ("$top", "1000"),
            ("$skip", "2000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    assert!(
        decode(&bp30).contains("/Catalog_ДоговорыКонтрагентов?"),
        "{bp30}"
    );

    let ut11 = page_url(
        &settings("ut11"),
        EntityKind::Contract,
        Some("2026-11-20T03:00:00Z"),
        0,
        50,
    )
    .unwrap();
    assert_eq!(
        option(&ut11, "$select").unwrap(),
        "Ref_Key,DeletionMark,Owner_Key,Description,Номер,Дата,УстановленСрокОплаты,СрокОплаты"
    );
    assert_eq!(option(&ut11, "$filter"), None);

    // УТ 11 counterparties come with their partner, whose main manager is theirs.
    let ut11 = page_url(&settings("ut11"), EntityKind::Counterparty, None, 0, 50).unwrap();
    assert_eq!(
        option(&ut11, "$select").unwrap(),
        "Ref_Key,DeletionMark,Description,НаименованиеПолное,ИНН,КПП,Партнер_Key"
    );
    assert_eq!(option(&ut11, "$filter"), None);
}

#[test]
fn sales_select_the_configurations_field_names_and_filter_by_the_lookback_window() {
    let bp30 = page_url(
        &settings("bp30"),
        EntityKind::SalesDocument,
        Some("2026-11-20T03:00:00Z"),
        0,
        1000,
    )
    .unwrap();
    assert!(
        decode(&bp30).contains("/Document_РеализацияТоваровУслуг?"),
        "{bp30}"
    );
    // The kind of operation tells the primary document (bp30).
    assert_eq!(
        option(&bp30, "$select").unwrap(),
        "Ref_Key,Number,Date,Posted,DeletionMark,Организация_Key,Контрагент_Key,ДоговорКонтрагента_Key,ВалютаДокумента_Key,СуммаДокумента,ВидОперации"
    );
    // 2026-11-20 − 31 days.
    assert_eq!(
        option(&bp30, "$filter").unwrap(),
        "Date ge datetime'2026-10-20T00:00:00'"
    );

    let ut11 = page_url(&settings("ut11"), EntityKind::SalesDocument, None, 0, 1000).unwrap();
    assert_eq!(
        option(&ut11, "$select").unwrap(),
        "Ref_Key,Number,Date,Posted,DeletionMark,Организация_Key,Контрагент_Key,Договор_Key,Валюта_Key,СуммаДокумента"
    );
    // Without since the whole list is read.
    assert_eq!(option(&ut11, "$filter"), None);
}

#[test]
fn payments_keep_customer_payments_and_add_the_window() {
    let url = page_url(&settings("bp30"), EntityKind::Payment, None, 0, 1000).unwrap();
    assert!(
        decode(&url).contains("/Document_ПоступлениеНаРасчетныйСчет?"),
        "{url}"
    );
    assert_eq!(
        option(&url, "$select").unwrap(),
        "Ref_Key,Number,Date,Posted,DeletionMark,Контрагент_Key,ДоговорКонтрагента_Key,СуммаДокумента,РасшифровкаПлатежа"
    );
    assert_eq!(
        option(&url, "$filter").unwrap(),
        "ВидОперации eq 'ОплатаПокупателя'"
    );

    let settings = Settings::new(Some(BASE), None, Some(0), None).unwrap();
    let url = page_url(
        &settings,
        EntityKind::Payment,
        Some("2026-03-01T01:30:00+03:00"),
        0,
        1000,
    )
    .unwrap();
    assert_eq!(
        option(&url, "$filter").unwrap(),
        "ВидОперации eq 'ОплатаПокупателя' and Date ge datetime'2026-03-01T00:00:00'"
    );
    // The raw query has no spaces or quotes left.
    assert!(!url.contains(' ') && !url.contains('\''), "{url}");
}

#[test]
fn the_currency_catalog_url_selects_code_and_description() {
    let url = currencies_url(&settings("bp30"));
    assert_eq!(
        decode(&url),
        "http://1c.local/buh/odata/standard.odata/Catalog_Валюты?$format=json&$select=Ref_Key,Code,Description"
    );
}

#[test]
fn a_malformed_since_is_invalid_input() {
    for since in [
        "",
        "2026-11-20",
        "2026-11-20T03:00:00",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-11-20T24:00:00Z",
        "2026-11-20T03:00:00+3:00",
        "2026-11-20T03:00:00.Z",
        "20.11.2026",
        "yesterday",
    ] {
        for kind in [EntityKind::SalesDocument, EntityKind::Counterparty] {
            let message = invalid_input(page_url(&settings("bp30"), kind, Some(since), 0, 10));
            assert!(message.starts_with("since \""), "{since}: {message}");
        }
    }
}

// --- Dates ------------------------------------------------------------------------

#[test]
fn the_window_starts_lookback_days_before_sinces_own_date() {
    assert_eq!(
        window_start("2026-11-20T03:00:00Z", 31).unwrap(),
        "2026-10-20"
    );
    // The date as written, in since's own offset.
    assert_eq!(
        window_start("2026-11-20T01:00:00+03:00", 0).unwrap(),
        "2026-11-20"
    );
    assert_eq!(
        window_start("2026-11-20t23:59:60.123-05:00", 0).unwrap(),
        "2026-11-20"
    );
    assert_eq!(
        window_start("2026-11-20 03:00:00z", 1).unwrap(),
        "2026-11-19"
    );
    // Across a leap day and a year end.
    assert_eq!(
        window_start("2024-03-01T00:00:00Z", 1).unwrap(),
        "2024-02-29"
    );
    assert_eq!(
        window_start("2025-01-15T00:00:00Z", 31).unwrap(),
        "2024-12-15"
    );
    assert_eq!(
        window_start("2000-03-01T00:00:00Z", 366).unwrap(),
        "1999-03-01"
    );
    // Never before the first day of the calendar.
    assert_eq!(
        window_start("0001-01-05T00:00:00Z", 3650).unwrap(),
        "0001-01-01"
    );
}

#[test]
fn civil_dates_and_day_numbers_round_trip() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
    for days in (days_from_civil(1, 1, 1)..days_from_civil(2101, 1, 1)).step_by(97) {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
}

#[test]
fn one_c_dates_keep_their_date_part() {
    assert_eq!(date_part("2024-02-01T00:00:00"), Some("2024-02-01"));
    assert_eq!(date_part("2024-02-29T23:59:59"), Some("2024-02-29"));
    assert_eq!(date_part("2024-02-01"), Some("2024-02-01"));
    for bad in [
        "2023-02-29T00:00:00",
        "2024-02-01T25:00:00",
        "01.02.2024",
        "2024-02-01T00:00",
        "2024-2-1T00:00:00",
    ] {
        assert_eq!(date_part(bad), None, "{bad}");
    }
    assert_eq!(date("Дата", Some(&Json::Str(EMPTY_DATE.into()))), Ok(None));
    assert_eq!(date("Дата", None), Ok(None));
    assert_eq!(
        date("Дата", Some(&Json::Str("32.01.2024".into()))),
        Err("Дата is not a date YYYY-MM-DDTHH:MM:SS (\"32.01.2024\")".to_owned())
    );
}

// --- Amounts ----------------------------------------------------------------------

#[test]
fn doubles_become_exact_two_place_decimals() {
    let two_places = |x: f64| kopecks_from_f64(x).map(format_kopecks);
    assert_eq!(two_places(1234.5), Ok("1234.50".to_owned()));
    assert_eq!(two_places(99.99), Ok("99.99".to_owned()));
    // Arithmetic that lands on the nearest double of a kopeck value is that value …
    assert_eq!(two_places(33.33 * 3.0), Ok("99.99".to_owned()));
    assert_eq!(two_places(0.1 + 0.2 - 0.3 + 99.99), Ok("99.99".to_owned()));
    // … and arithmetic that does not is finer than a kopeck, not silently rounded.
    assert_eq!(two_places(1.1 * 3.0), Err(AmountError::FinerThanKopeck));
    assert_eq!(two_places(100.0 * 1.1), Err(AmountError::FinerThanKopeck));
    assert_eq!(two_places(0.1 + 0.2), Err(AmountError::FinerThanKopeck));
    assert_eq!(two_places(1500000.0), Ok("1500000.00".to_owned()));
    assert_eq!(two_places(1e12), Ok("1000000000000.00".to_owned()));
    assert_eq!(
        two_places(9_999_999_999_999.99),
        Ok("9999999999999.99".to_owned())
    );
    assert_eq!(two_places(1e13), Err(AmountError::TooLarge));
    assert_eq!(two_places(1e300), Err(AmountError::TooLarge));
    assert_eq!(two_places(0.0), Ok("0.00".to_owned()));
    assert_eq!(two_places(-0.0), Ok("0.00".to_owned()));
    assert_eq!(two_places(0.05), Ok("0.05".to_owned()));
    assert_eq!(two_places(10.125), Err(AmountError::FinerThanKopeck));
    assert_eq!(two_places(1e-300), Err(AmountError::FinerThanKopeck));
    assert_eq!(two_places(-5.0), Err(AmountError::Negative));
    assert_eq!(two_places(-1e300), Err(AmountError::Negative));
    assert_eq!(two_places(f64::NAN), Err(AmountError::NotANumber));
    assert_eq!(two_places(f64::INFINITY), Err(AmountError::NotANumber));
}

#[test]
fn numeric_strings_are_exact_decimals() {
    assert_eq!(kopecks_from_decimal("250.10"), Ok(25_010));
    assert_eq!(kopecks_from_decimal("007.1"), Ok(710));
    assert_eq!(kopecks_from_decimal("12.3400"), Ok(1234));
    assert_eq!(kopecks_from_decimal("-0.00"), Ok(0));
    assert_eq!(kopecks_from_decimal("-0.01"), Err(AmountError::Negative));
    assert_eq!(
        kopecks_from_decimal("0.001"),
        Err(AmountError::FinerThanKopeck)
    );
    assert_eq!(kopecks_from_decimal("00000000000000012"), Ok(1200));
    assert_eq!(
        kopecks_from_decimal("10000000000000"),
        Err(AmountError::TooLarge)
    );
    for bad in [
        "", "-", ".5", "5.", "1,5", "1 000", "+5", "1e3", "abc", "5.5.5",
    ] {
        assert_eq!(
            kopecks_from_decimal(bad),
            Err(AmountError::NotANumber),
            "{bad:?}"
        );
    }
}

#[test]
fn amount_problems_name_the_field_and_show_the_value() {
    let check = |value: Json<'_>| amount("СуммаДокумента", Some(&value));
    assert_eq!(check(Json::Int(1_500_000)), Ok(150_000_000));
    assert_eq!(
        check(Json::Int(-5)),
        Err("СуммаДокумента is negative (-5)".to_owned())
    );
    assert_eq!(
        check(Json::Float(-5.5)),
        Err("СуммаДокумента is negative (-5.5)".to_owned())
    );
    assert_eq!(
        check(Json::Float(10.125)),
        Err("СуммаДокумента has more than two decimal places (10.125)".to_owned())
    );
    assert_eq!(
        check(Json::Int(10_000_000_000_000)),
        Err("СуммаДокумента is too large (10^13 or more) (10000000000000)".to_owned())
    );
    assert_eq!(
        check(Json::Str("12,50".into())),
        Err("СуммаДокумента is not a number (\"12,50\")".to_owned())
    );
    assert_eq!(
        check(Json::Bool(true)),
        Err("СуммаДокумента is not a number (true)".to_owned())
    );
    assert_eq!(
        amount("СуммаДокумента", None),
        Err("СуммаДокумента is empty".to_owned())
    );
}

// --- Counterparties ---------------------------------------------------------------

#[test]
fn counterparties_map_names_tax_ids_and_deletion() {
    let mapped = map_page(EntityKind::Counterparty, COUNTERPARTIES_BP30, "bp30");
    assert_eq!(
        mapped.entries,
        vec![
            Entry::Counterparty(Counterparty {
                external_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3".into(),
                name: "Общество с ограниченной ответственностью \"Ромашка\"".into(),
                inn: Some("7707083893".into()),
                kpp: Some("773601001".into()),
                manager: None,
                deleted: false,
            }),
            // Empty НаименованиеПолное → Description; empty ИНН and КПП → none.
            Entry::Counterparty(Counterparty {
                external_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c4".into(),
                name: "Иванов Иван Иванович".into(),
                inn: None,
                kpp: None,
                manager: None,
                deleted: false,
            }),
            Entry::Counterparty(Counterparty {
                external_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c5".into(),
                name: "ООО \"Лютик\"".into(),
                inn: Some("5001007322".into()),
                kpp: Some("500101001".into()),
                manager: None,
                deleted: true,
            }),
            // The GUID is lower-cased, texts trimmed.
            Entry::Counterparty(Counterparty {
                external_id: "4a9b2c3d-5e6f-11ef-8a3b-005056a1b2c6".into(),
                name: "ООО \"МОТОРИКА\"".into(),
                inn: Some("7719402047".into()),
                kpp: Some("773101001".into()),
                manager: None,
                deleted: false,
            }),
        ]
    );
    assert_eq!(
        reasons(&mapped),
        [(
            Some("12345"),
            "Catalog_Контрагенты «Битая ссылка»: Ref_Key is not a GUID (\"12345\")"
        )]
    );
}

#[test]
fn ut11_counterparties_have_no_folders() {
    let mapped = map_page(EntityKind::Counterparty, COUNTERPARTIES_UT11, "ut11");
    assert_eq!(
        mapped.entries,
        vec![Entry::Counterparty(Counterparty {
            external_id: "a1b2c3d4-0000-11ef-9c1a-0cc47a0b1d01".into(),
            name: "АО \"Василёк\"".into(),
            inn: Some("7728168971".into()),
            kpp: Some("772801001".into()),
            manager: None,
            deleted: false,
        })]
    );
    assert!(mapped.rejected.is_empty());
}

#[test]
fn a_folder_or_a_nameless_counterparty_is_rejected() {
    let body = r#"{"value": [
        {"Ref_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3", "IsFolder": true, "Description": "Покупатели"},
        {"Ref_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c4", "Description": " ", "НаименованиеПолное": ""}
    ]}"#.as_bytes();
    let mapped = map_page(EntityKind::Counterparty, body, "bp30");
    assert!(mapped.entries.is_empty());
    assert_eq!(
        reasons(&mapped),
        [
            (
                Some("3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3"),
                "Catalog_Контрагенты «Покупатели»: IsFolder is true: a group of counterparties, not a counterparty"
            ),
            (
                Some("3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c4"),
                "Catalog_Контрагенты 3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c4: НаименованиеПолное and Description are both empty"
            ),
        ]
    );
}

// --- Contracts --------------------------------------------------------------------

#[test]
fn contracts_map_number_date_and_deferral_only_when_set() {
    let mapped = map_page(EntityKind::Contract, CONTRACTS_BP30, "bp30");
    assert_eq!(
        mapped.entries,
        vec![
            Entry::Contract(Contract {
                external_id: "d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c3".into(),
                counterparty_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3".into(),
                number: Some("15/2024".into()),
                signed_on: Some("2024-02-01".into()),
                deferral_days: Some(30),
                manager: None,
                deleted: false,
            }),
            // Empty Номер → Description; the empty date → none; УстановленСрокОплаты
            // false → no deferral even with СрокОплаты 0.
            Entry::Contract(Contract {
                external_id: "d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c4".into(),
                counterparty_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c4".into(),
                number: Some("Основной договор".into()),
                signed_on: None,
                deferral_days: None,
                manager: None,
                deleted: false,
            }),
            // No number at all; УстановленСрокОплаты missing → false.
            Entry::Contract(Contract {
                external_id: "d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c5".into(),
                counterparty_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c5".into(),
                number: None,
                signed_on: Some("2023-12-29".into()),
                deferral_days: None,
                manager: None,
                deleted: true,
            }),
        ]
    );
    assert_eq!(
        reasons(&mapped),
        [
            (
                Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c6"),
                "Catalog_ДоговорыКонтрагентов «Договор на 13 лет»: СрокОплаты is not a whole number of days from 0 to 3650 (5000)"
            ),
            (
                Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c7"),
                "Catalog_ДоговорыКонтрагентов «Договор без владельца»: Owner_Key is empty"
            ),
            (
                Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c8"),
                "Catalog_ДоговорыКонтрагентов «Договор с дробным сроком»: СрокОплаты is not a whole number of days from 0 to 3650 (14.5)"
            ),
        ]
    );
}

#[test]
fn ut11_contracts_map_the_same_fields() {
    let mapped = map_page(EntityKind::Contract, CONTRACTS_UT11, "ut11");
    assert_eq!(
        mapped.entries,
        vec![Entry::Contract(Contract {
            external_id: "e2d1b8f3-0000-11ef-9c1a-0cc47a0b1d01".into(),
            counterparty_id: "a1b2c3d4-0000-11ef-9c1a-0cc47a0b1d01".into(),
            number: Some("УТ-42".into()),
            signed_on: Some("2025-01-15".into()),
            deferral_days: Some(45),
            manager: None,
            deleted: false,
        })]
    );
}

#[test]
fn deferral_days_are_whole_numbers_up_to_ten_years() {
    assert_eq!(deferral_days(Some(&Json::Int(0))), Ok(0));
    assert_eq!(deferral_days(Some(&Json::Int(3650))), Ok(3650));
    assert_eq!(deferral_days(Some(&Json::Float(14.0))), Ok(14));
    assert_eq!(deferral_days(Some(&Json::Str("21".into()))), Ok(21));
    assert!(deferral_days(Some(&Json::Int(-1))).is_err());
    assert!(deferral_days(Some(&Json::Int(3651))).is_err());
    assert_eq!(
        deferral_days(None),
        Err("СрокОплаты is empty while УстановленСрокОплаты is true".to_owned())
    );
}

// --- Sales ------------------------------------------------------------------------

#[test]
fn sales_map_amounts_currencies_and_references() {
    let mapped = map_page(EntityKind::SalesDocument, SALES_BP30, "bp30");
    let sale = |id: &str,
                number: &str,
                on: &str,
                cp: &str,
                contract: Option<&str>,
                le: Option<&str>,
                amount: &str,
                currency: &str,
                posted: bool,
                deleted: bool| {
        Entry::SalesDocument(SalesDocument {
            external_id: id.into(),
            number: number.into(),
            issued_on: on.into(),
            counterparty_id: cp.into(),
            contract_id: contract.map(Into::into),
            legal_entity_id: le.map(Into::into),
            amount: amount.into(),
            currency: currency.into(),
            primary_document: None,
            posted,
            deleted,
        })
    };
    let org = Some("0a000000-0b1d-11ef-8a3b-000000000001");
    assert_eq!(
        mapped.entries,
        vec![
            sale(
                "5a1e0000-0b1d-11ef-8a3b-000000000001",
                "0000-000101",
                "2026-10-05",
                "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3",
                Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c3"),
                org,
                "1234.50",
                "RUB",
                true,
                false,
            ),
            // An upper-case currency reference finds the catalog's lower-case one.
            sale(
                "5a1e0000-0b1d-11ef-8a3b-000000000002",
                "0000-000102",
                "2026-10-06",
                "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c4",
                Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c4"),
                org,
                "99.99",
                "USD",
                false,
                false,
            ),
            // Empty references → none; the empty currency → default_currency.
            sale(
                "5a1e0000-0b1d-11ef-8a3b-000000000129",
                "0000-000129",
                "2026-10-09",
                "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c5",
                None,
                None,
                "1500000.00",
                "RUB",
                true,
                true,
            ),
            // A numeric string amount; missing booleans → false.
            sale(
                "5a1e0000-0b1d-11ef-8a3b-000000000130",
                "0000-000130",
                "2026-10-10",
                "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3",
                None,
                None,
                "250.10",
                "EUR",
                false,
                false,
            ),
        ]
    );
    assert_eq!(
        reasons(&mapped),
        [
            (
                Some("5a1e0000-0b1d-11ef-8a3b-000000000123"),
                "Document_РеализацияТоваровУслуг № 0000-000123: СуммаДокумента is negative (-5)"
            ),
            (
                Some("5a1e0000-0b1d-11ef-8a3b-000000000124"),
                "Document_РеализацияТоваровУслуг № 0000-000124: СуммаДокумента has more than two decimal places (10.125)"
            ),
            (
                Some("5a1e0000-0b1d-11ef-8a3b-000000000125"),
                "Document_РеализацияТоваровУслуг № 0000-000125: Контрагент_Key is empty"
            ),
            (
                Some("not-a-guid"),
                "Document_РеализацияТоваровУслуг № 0000-000126: Ref_Key is not a GUID (\"not-a-guid\")"
            ),
            (
                Some("5a1e0000-0b1d-11ef-8a3b-000000000127"),
                "Document_РеализацияТоваровУслуг № 0000-000127: ВалютаДокумента_Key refers to currency cc000000-0b1d-11ef-8a3b-00000000dead, which is not in Catalog_Валюты"
            ),
            (
                Some("5a1e0000-0b1d-11ef-8a3b-000000000128"),
                "Document_РеализацияТоваровУслуг № 0000-000128: ВалютаДокумента_Key refers to currency «Условная единица» with code \"999\", which is not a known ISO 4217 numeric code"
            ),
        ]
    );
}

#[test]
fn ut11_sales_read_договор_and_валюта() {
    let mapped = map_page(EntityKind::SalesDocument, SALES_UT11, "ut11");
    assert_eq!(
        mapped.entries,
        vec![Entry::SalesDocument(SalesDocument {
            external_id: "f00d0000-0000-11ef-9c1a-0cc47a0b1d01".into(),
            number: "УТ-000045".into(),
            issued_on: "2026-11-02".into(),
            counterparty_id: "a1b2c3d4-0000-11ef-9c1a-0cc47a0b1d01".into(),
            contract_id: Some("e2d1b8f3-0000-11ef-9c1a-0cc47a0b1d01".into()),
            legal_entity_id: Some("0b000000-0000-11ef-9c1a-0cc47a0b1d01".into()),
            amount: "45000.75".into(),
            currency: "EUR".into(),
            primary_document: None,
            posted: true,
            deleted: false,
        })]
    );
    // Reasons use the configuration's field names.
    assert_eq!(
        reasons(&mapped),
        [(
            Some("f00d0000-0000-11ef-9c1a-0cc47a0b1d02"),
            "Document_РеализацияТоваровУслуг № УТ-000046: Договор_Key is not a GUID (\"not a guid\")"
        )]
    );
}

#[test]
fn the_currency_catalog_is_needed_only_when_a_document_names_a_currency() {
    let without = r#"{"value": [{"Ref_Key": "5a1e0000-0b1d-11ef-8a3b-000000000001", "ВалютаДокумента_Key": "00000000-0000-0000-0000-000000000000"}]}"#.as_bytes();
    assert!(
        !parse_records(EntityKind::SalesDocument, without)
            .unwrap()
            .needs_currencies()
    );
    assert!(
        parse_records(EntityKind::SalesDocument, SALES_BP30)
            .unwrap()
            .needs_currencies()
    );
    assert!(
        !parse_records(EntityKind::Payment, PAYMENTS_BP30)
            .unwrap()
            .needs_currencies()
    );
    // Without the catalog a named currency cannot be resolved: the document is rejected.
    let records = parse_records(EntityKind::SalesDocument, SALES_BP30).unwrap();
    let mapped = map_records(&records, &settings("bp30"), None, &Managers::default());
    assert!(
        mapped
            .rejected
            .iter()
            .any(|r| r.reason.contains("which is not in Catalog_Валюты"))
    );
}

#[test]
fn currency_codes_map_to_letter_codes() {
    let currencies = parse_currencies(CURRENCIES_JSON).unwrap();
    assert_eq!(currencies.0.len(), 5);
    assert_eq!(
        currencies
            .get("cc000000-0b1d-11ef-8a3b-000000000051")
            .unwrap()
            .letter,
        Some("AMD")
    );
    for (code, letter) in [
        ("643", "RUB"),
        ("840", "USD"),
        ("978", "EUR"),
        ("156", "CNY"),
        ("398", "KZT"),
        ("933", "BYN"),
        ("826", "GBP"),
        ("756", "CHF"),
        ("392", "JPY"),
        ("949", "TRY"),
        ("051", "AMD"),
        ("51", "AMD"),
        ("417", "KGS"),
        ("860", "UZS"),
        ("944", "AZN"),
        ("981", "GEL"),
        ("784", "AED"),
        ("356", "INR"),
        (" 643 ", "RUB"),
        ("810", "RUB"),
    ] {
        assert_eq!(iso_letter_code(code), Some(letter), "{code}");
    }
    for code in ["", "999", "RUB", "6430", "-643"] {
        assert_eq!(iso_letter_code(code), None, "{code}");
    }
}

#[test]
fn the_default_currency_setting_applies_to_documents_without_one() {
    let body = r#"{"value": [{"Ref_Key": "5a1e0000-0b1d-11ef-8a3b-000000000001", "Number": "1", "Date": "2026-01-01T00:00:00",
        "Контрагент_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3", "СуммаДокумента": 1}]}"#.as_bytes();
    let records = parse_records(EntityKind::SalesDocument, body).unwrap();
    let settings = Settings::new(Some(BASE), None, None, Some("kzt")).unwrap();
    let mapped = map_records(&records, &settings, None, &Managers::default());
    let [Entry::SalesDocument(sale)] = mapped.entries.as_slice() else {
        panic!("{mapped:?}")
    };
    assert_eq!(
        (sale.amount.as_str(), sale.currency.as_str()),
        ("1.00", "KZT")
    );
}

// --- Payments ---------------------------------------------------------------------

#[test]
fn payments_allocate_only_by_document_lines_to_sales() {
    let mapped = map_page(EntityKind::Payment, PAYMENTS_BP30, "bp30");
    assert_eq!(
        mapped.entries,
        vec![
            // ПоДокументу → an allocation; Автоматически → none.
            Entry::Payment(Payment {
                external_id: "9a000000-0b1d-11ef-8a3b-000000000001".into(),
                number: "0000-000501".into(),
                paid_on: "2026-10-20".into(),
                counterparty_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3".into(),
                contract_id: Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c3".into()),
                amount: "1000.50".into(),
                allocations: vec![Allocation {
                    document_id: "5a1e0000-0b1d-11ef-8a3b-000000000001".into(),
                    amount: "900.25".into(),
                }],
                posted: true,
                deleted: false,
            }),
            // The header's empty contract → the first line's.
            Entry::Payment(Payment {
                external_id: "9a000000-0b1d-11ef-8a3b-000000000002".into(),
                number: "0000-000502".into(),
                paid_on: "2026-10-21".into(),
                counterparty_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c4".into(),
                contract_id: Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c4".into()),
                amount: "500.00".into(),
                allocations: vec![],
                posted: true,
                deleted: false,
            }),
            // Only the line by document to a sale with a non-empty Сделка allocates.
            Entry::Payment(Payment {
                external_id: "9a000000-0b1d-11ef-8a3b-000000000005".into(),
                number: "0000-000505".into(),
                paid_on: "2026-10-24".into(),
                counterparty_id: "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3".into(),
                contract_id: Some("d1c0a7e2-0b1d-11ef-8a3b-005056a1b2c3".into()),
                amount: "300.00".into(),
                allocations: vec![Allocation {
                    document_id: "5a1e0000-0b1d-11ef-8a3b-000000000002".into(),
                    amount: "100.00".into(),
                }],
                posted: true,
                deleted: false,
            }),
        ]
    );
    assert_eq!(
        reasons(&mapped),
        [
            (
                Some("9a000000-0b1d-11ef-8a3b-000000000003"),
                "Document_ПоступлениеНаРасчетныйСчет № 0000-000503: РасшифровкаПлатежа allocates 1100.01 to sales documents, more than СуммаДокумента 1000.00"
            ),
            (
                Some("9a000000-0b1d-11ef-8a3b-000000000004"),
                "Document_ПоступлениеНаРасчетныйСчет № 0000-000504: СуммаДокумента is not positive (0)"
            ),
        ]
    );
}

#[test]
fn a_bad_payment_line_names_its_line_number() {
    let body = r#"{"value": [{"Ref_Key": "9a000000-0b1d-11ef-8a3b-000000000001", "Number": "7", "Date": "2026-10-20T00:00:00",
        "Контрагент_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3", "СуммаДокумента": 100,
        "РасшифровкаПлатежа": [{"LineNumber": "3", "СуммаПлатежа": -1, "СпособПогашенияЗадолженности": "ПоДокументу",
            "Сделка": "5a1e0000-0b1d-11ef-8a3b-000000000001", "Сделка_Type": "StandardODATA.Document_РеализацияТоваровУслуг"}]},
        {"Ref_Key": "9a000000-0b1d-11ef-8a3b-000000000002", "Number": "8", "Date": "2026-10-20T00:00:00",
        "Контрагент_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3", "СуммаДокумента": 100, "РасшифровкаПлатежа": "oops"}]}"#;
    let mapped = map_page(EntityKind::Payment, body.as_bytes(), "bp30");
    assert_eq!(
        reasons(&mapped),
        [
            (
                Some("9a000000-0b1d-11ef-8a3b-000000000001"),
                "Document_ПоступлениеНаРасчетныйСчет № 7: РасшифровкаПлатежа line 3: СуммаПлатежа is negative (-1)"
            ),
            (
                Some("9a000000-0b1d-11ef-8a3b-000000000002"),
                "Document_ПоступлениеНаРасчетныйСчет № 8: РасшифровкаПлатежа is a string, not a list of lines"
            ),
        ]
    );
}

// --- One bad record never fails the page -----------------------------------------

#[test]
fn records_of_unexpected_shapes_are_rejected_one_by_one() {
    let body = r#"{"value": [
        42,
        {"Ref_Key": {"nested": [1, 2]}, "Number": ["x"]},
        {"Ref_Key": "5a1e0000-0b1d-11ef-8a3b-000000000001", "Number": "1", "Date": 20261001,
         "Контрагент_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3", "СуммаДокумента": 1},
        {"Ref_Key": "5a1e0000-0b1d-11ef-8a3b-000000000002", "Number": "2", "Date": "2026-10-01T00:00:00",
         "Контрагент_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3", "СуммаДокумента": 1, "Posted": "да"},
        {"Ref_Key": "5a1e0000-0b1d-11ef-8a3b-000000000003", "Number": "3", "Date": "2026-10-01T00:00:00",
         "Контрагент_Key": "3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3", "СуммаДокумента": 2, "Posted": null}
    ]}"#;
    let records = parse_records(EntityKind::SalesDocument, body.as_bytes()).unwrap();
    assert_eq!(records.len(), 5);
    let mapped = map_records(&records, &settings("bp30"), None, &Managers::default());
    assert_eq!(mapped.entries.len(), 1);
    assert_eq!(
        reasons(&mapped),
        [
            (
                None,
                "Document_РеализацияТоваровУслуг: record 1 of the page is a number, not an object"
            ),
            (
                None,
                "Document_РеализацияТоваровУслуг: Ref_Key is not a GUID (an object)"
            ),
            (
                Some("5a1e0000-0b1d-11ef-8a3b-000000000001"),
                "Document_РеализацияТоваровУслуг № 1: Date is not a date YYYY-MM-DDTHH:MM:SS (20261001)"
            ),
            (
                Some("5a1e0000-0b1d-11ef-8a3b-000000000002"),
                "Document_РеализацияТоваровУслуг № 2: Posted is not a boolean (\"да\")"
            ),
        ]
    );
}

#[test]
fn an_unusable_body_is_unavailable_and_says_why() {
    let message = unavailable(
        parse_records(EntityKind::Counterparty, b"<html>login</html>")
            .err()
            .unwrap(),
    );
    assert!(
        message.starts_with("1С's answer for Catalog_Контрагенты is not JSON"),
        "{message}"
    );
    let message = unavailable(parse_records(EntityKind::Counterparty, b"").err().unwrap());
    assert!(message.contains("is not JSON"), "{message}");
    let message = unavailable(
        parse_records(EntityKind::Contract, br#"{"odata.metadata": "x"}"#)
            .err()
            .unwrap(),
    );
    assert_eq!(
        message,
        "1С's answer for Catalog_ДоговорыКонтрагентов has no `value` array"
    );
    let message = unavailable(
        parse_records(EntityKind::Payment, br#"{"value": {"a": 1}}"#)
            .err()
            .unwrap(),
    );
    assert!(
        message.starts_with(
            "1С's answer for Document_ПоступлениеНаРасчетныйСчет is not the expected OData list"
        ),
        "{message}"
    );
    let message = unavailable(parse_records(EntityKind::Payment, br#"[]"#).err().unwrap());
    assert!(
        message.contains("is not the expected OData list"),
        "{message}"
    );
    // An empty list is a valid (last) page.
    assert!(
        parse_records(EntityKind::Payment, br#"{"value": []}"#)
            .unwrap()
            .is_empty()
    );
}

// --- HTTP errors ------------------------------------------------------------------

#[test]
fn http_errors_name_the_status_and_1cs_message() {
    assert_eq!(
        unavailable(status_error(500, ODATA_ERROR, SALES)),
        "1С answered HTTP 500: [-1] Произошла внутренняя ошибка OData сервиса"
    );
    assert_eq!(
        unavailable(status_error(502, b"<html>Bad Gateway</html>", SALES)),
        "1С answered HTTP 502"
    );
}

fn misconfigured(error: Error) -> String {
    match error {
        Error::Misconfigured(message) => message,
        other => panic!("expected Error::Misconfigured, got {other:?}"),
    }
}

/// What retrying cannot mend fails the sync at once, saying what to change.
#[test]
fn settings_errors_say_what_to_change_and_are_not_retried() {
    assert_eq!(
        misconfigured(status_error(401, b"", SALES)),
        "1С rejected the user name or password (HTTP 401): check the module's username and password settings"
    );
    assert!(misconfigured(status_error(403, b"", SALES)).contains("give the 1C user the right to read Документ.РеализацияТоваровУслуг"));
    let not_found = r#"{"odata.error": {"code": "6", "message": {"lang": "ru", "value": "Не найдена сущность"}}}"#.as_bytes();
    assert_eq!(
        misconfigured(status_error(404, not_found, CURRENCIES)),
        "1С does not publish Catalog_Валюты (HTTP 404: [6] Не найдена сущность): in 1С, open Администрирование → Общие настройки → \
         Интеграция с другими программами → Настройки стандартного интерфейса OData, tick Справочник.Валюты and save, then sync again. \
         If 1С answers so for every entity set, check the base_url setting"
    );
    let bad_property = r#"{"odata.error": {"code": 9, "message": {"lang": "ru", "value": "Неправильное имя свойства\n  Валюта_Key"}}}"#.as_bytes();
    assert_eq!(
        misconfigured(status_error(400, bad_property, SALES)),
        "1С refused the request for Document_РеализацияТоваровУслуг (HTTP 400: [9] Неправильное имя свойства Валюта_Key): \
         check that the configuration setting, bp30 or ut11, matches the 1C base"
    );
}

#[test]
fn optional_settings_are_checked_and_change_what_is_asked() {
    let s = settings("bp30").with_options(Some("6A2B8E4C-1C3B-11EF-8A3E-00155D010A01"), Some("УПД"), Some("Менеджер_Key")).unwrap();
    assert_eq!(s.ruble_currency_ref.as_deref(), Some("6a2b8e4c-1c3b-11ef-8a3e-00155d010a01"));
    assert_eq!(s.primary_document, PrimaryDocument::Always("УПД".into()));
    assert_eq!(s.contract_manager_field, Some("Менеджер_Key"));
    let url = decode(&page_url(&s, EntityKind::Contract, None, 0, 10).unwrap());
    assert!(url.contains(",СрокОплаты,Менеджер_Key&"), "{url}");
    // With the primary document fixed, the kind of operation is not asked for.
    assert!(!decode(&page_url(&s, EntityKind::SalesDocument, None, 0, 10).unwrap()).contains("ВидОперации"));
    assert!(decode(&page_url(&settings("bp30"), EntityKind::SalesDocument, None, 0, 10).unwrap()).contains(",ВидОперации&"));
    // УТ 11 counterparties come with their partner (the manager is the partner's).
    assert!(decode(&page_url(&settings("ut11"), EntityKind::Counterparty, None, 0, 10).unwrap()).contains(",Партнер_Key&"));
    assert!(invalid_input(settings("bp30").with_options(Some("рубль"), None, None)).starts_with("setting `ruble_currency_ref`"));
    assert!(invalid_input(settings("bp30").with_options(None, None, Some("Менеджер"))).starts_with("setting `contract_manager_field`"));
    let url = decode(&lookup_url(&settings("ut11"), PARTNERS, "Ref_Key,ОсновнойМенеджер_Key", &["a", "b"]));
    assert!(url.ends_with("Catalog_Партнеры?$format=json&$select=Ref_Key,ОсновнойМенеджер_Key&$filter=Ref_Key eq guid'a' or Ref_Key eq guid'b'"), "{url}");
}

// --- Settings, cursor, credentials ------------------------------------------------

#[test]
fn settings_apply_defaults_and_name_what_is_wrong() {
    assert_eq!(
        Settings::new(Some(BASE), None, None, None).unwrap(),
        Settings {
            base_url: BASE.into(),
            configuration: Configuration::Bp30,
            lookback_days: 31,
            default_currency: "RUB".into(),
            ruble_currency_ref: None,
            primary_document: PrimaryDocument::Auto,
            contract_manager_field: None,
        }
    );
    assert_eq!(settings("UT11").configuration, Configuration::Ut11);
    let message = invalid_input(Settings::new(Some(BASE), Some("erp"), None, None));
    assert_eq!(
        message,
        "setting `configuration` is \"erp\"; allowed values: bp30 (1С:Бухгалтерия 3.0), ut11 (1С:Управление торговлей 11)"
    );
    assert!(
        invalid_input(Settings::new(None, None, None, None))
            .starts_with("setting `base_url` is not set")
    );
    assert!(
        invalid_input(Settings::new(Some("1c.local/buh"), None, None, None))
            .starts_with("setting `base_url` is \"1c.local/buh\"")
    );
    assert!(
        invalid_input(Settings::new(Some(BASE), None, Some(-1), None))
            .starts_with("setting `lookback_days` is -1")
    );
    assert!(
        invalid_input(Settings::new(Some(BASE), None, Some(3651), None))
            .starts_with("setting `lookback_days` is 3651")
    );
    assert!(
        invalid_input(Settings::new(Some(BASE), None, None, Some("рубль")))
            .starts_with("setting `default_currency`")
    );
    assert_eq!(
        Settings::new(Some("HTTPS://1c.local/x"), None, Some(0), Some(""))
            .unwrap()
            .lookback_days,
        0
    );
}

#[test]
fn the_cursor_is_a_decimal_offset() {
    assert_eq!(parse_cursor(None), Ok(0));
    assert_eq!(parse_cursor(Some("0")), Ok(0));
    assert_eq!(parse_cursor(Some("3000")), Ok(3000));
    for bad in [
        "",
        "-1",
        "+5",
        " 5",
        "1e3",
        "abc",
        "99999999999999999999999",
    ] {
        let message = invalid_input(parse_cursor(Some(bad)));
        assert!(
            message.starts_with(&format!("cursor \"{bad}\" is not a decimal offset")),
            "{message}"
        );
    }
}

#[test]
fn a_full_page_continues_after_its_source_records() {
    assert_eq!(next_cursor(0, 1000, 1000), Some("1000".into()));
    assert_eq!(next_cursor(3000, 1000, 1000), Some("4000".into()));
    assert_eq!(next_cursor(3000, 999, 1000), None);
    assert_eq!(next_cursor(0, 0, 1000), None);
    // Rejected records count: the sales fixture has 10 source records, 6 rejected.
    let records = parse_records(EntityKind::SalesDocument, SALES_BP30).unwrap();
    assert_eq!(next_cursor(20, records.len(), 10), Some("30".into()));
}

#[test]
fn basic_auth_is_base64_of_user_colon_password() {
    assert_eq!(
        basic_auth("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    assert_eq!(basic_auth("a", ""), "Basic YTo=");
    assert_eq!(basic_auth("ab", ""), "Basic YWI6");
    assert_eq!(basic_auth("abc", "d"), "Basic YWJjOmQ=");
    // UTF-8, as 1C users are often Cyrillic.
    assert_eq!(
        basic_auth("Администратор", "пароль 123"),
        "Basic 0JDQtNC80LjQvdC40YHRgtGA0LDRgtC+0YA60L/QsNGA0L7Qu9GMIDEyMw=="
    );
}

#[test]
fn guids_need_dashes_in_place_and_hex_elsewhere() {
    assert!(is_guid("3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c3"));
    assert!(is_guid("4A9B2C3D-5E6F-11EF-8A3B-005056A1B2C6"));
    assert!(is_guid(EMPTY_REF));
    assert!(!is_guid("3f8a1c2e0b1d11ef8a3b005056a1b2c3"));
    assert!(!is_guid("3f8a1c2e-0b1d-11ef-8a3b-005056a1b2cg"));
    assert!(!is_guid("3f8a1c2e-0b1d-11ef-8a3b005056a1b2c3-"));
    assert!(!is_guid("{3f8a1c2e-0b1d-11ef-8a3b-005056a1b2c}"));
    assert_eq!(
        reference("Сделка", Some(&Json::Str(EMPTY_REF.into()))),
        Ok(None)
    );
    assert_eq!(reference("Сделка", Some(&Json::Str("".into()))), Ok(None));
    assert_eq!(reference("Сделка", None), Ok(None));
}

#[test]
fn two_place_amounts_in_json_text_survive_the_double() {
    // 1C writes exact decimals; serde_json reads the nearest double, whose shortest
    // round-trip form is the text again, so no real amount is rejected as finer than a
    // kopeck.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..200_000u32 {
        // xorshift: amounts of every length from 1 to 13 digits before the point.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kopecks = seed % (100 * 10u64.pow(i % 13 + 1));
        let text = format!("{}.{:02}", kopecks / 100, kopecks % 100);
        let value: f64 = serde_json::from_str(&text).unwrap();
        assert_eq!(kopecks_from_f64(value), Ok(kopecks), "{text}");
    }
    for text in [
        "0.07",
        "1234.57",
        "9999999999999.99",
        "4503599627370.49",
        "1e2",
        "12.5E1",
    ] {
        let value: f64 = serde_json::from_str(text).unwrap();
        assert!(kopecks_from_f64(value).is_ok(), "{text}");
    }
}

// --- Managers, primary documents, whose a rejected record is ---------------------

#[test]
fn managers_primary_documents_and_the_client_of_a_rejected_record_are_mapped() {
    const P: &str = "00000006-0000-4000-8000-000000000001";
    const U: &str = "00000007-0000-4000-8000-000000000001";
    const C: &str = "00000001-0000-4000-8000-000000000001";
    let page = format!(
        r#"{{"value": [{{"Ref_Key": "{C}", "DeletionMark": false, "Description": "Альфа", "НаименованиеПолное": "ООО Альфа", "ИНН": "7719402047", "КПП": "", "Партнер_Key": "{P}"}}]}}"#
    );
    let records = parse_records(EntityKind::Counterparty, page.as_bytes()).unwrap();
    assert_eq!(records.partner_keys(), vec![P.to_owned()]);
    let mut managers = Managers::default();
    parse_partners(format!(r#"{{"value": [{{"Ref_Key": "{P}", "ОсновнойМенеджер_Key": "{U}"}}]}}"#).as_bytes(), &mut managers).unwrap();
    parse_users(format!(r#"{{"value": [{{"Ref_Key": "{U}", "Description": " Петрова Анна "}}]}}"#).as_bytes(), &mut managers).unwrap();
    let mapped = map_records(&records, &settings("ut11"), None, &managers);
    let Entry::Counterparty(c) = &mapped.entries[0] else { panic!("{mapped:?}") };
    let manager = c.manager.as_ref().expect("the partner's manager");
    assert_eq!((manager.external_id.as_str(), manager.name.as_str()), (U, "Петрова Анна"));
    // Without the partners looked up: no manager, the record still maps.
    let mapped = map_records(&records, &settings("ut11"), None, &Managers::default());
    let Entry::Counterparty(c) = &mapped.entries[0] else { panic!("{mapped:?}") };
    assert!(c.manager.is_none());

    // The kind of operation tells the primary document; a setting can fix it.
    let sales = format!(
        r#"{{"value": [{{"Ref_Key": "00000003-0000-4000-8000-000000000001", "Number": "1", "Date": "2025-03-10T00:00:00", "Posted": true, "DeletionMark": false,
            "Контрагент_Key": "{C}", "СуммаДокумента": 100, "ВидОперации": "Услуги"}},
           {{"Ref_Key": "00000003-0000-4000-8000-000000000002", "Number": "2", "Date": "2025-03-10T00:00:00", "Posted": true, "DeletionMark": false,
            "Контрагент_Key": "{C}", "СуммаДокумента": -1, "ВидОперации": "Товары"}}]}}"#
    );
    let records = parse_records(EntityKind::SalesDocument, sales.as_bytes()).unwrap();
    let mapped = map_records(&records, &settings("bp30"), None, &Managers::default());
    let Entry::SalesDocument(s) = &mapped.entries[0] else { panic!("{mapped:?}") };
    assert_eq!(s.primary_document.as_deref(), Some("Акт"));
    // The rejected one names its counterparty, so the host can name the client.
    assert_eq!(mapped.rejected[0].counterparty_id.as_deref(), Some(C));
    let upd = settings("bp30").with_options(None, Some("УПД"), None).unwrap();
    let Entry::SalesDocument(s) = &map_records(&records, &upd, None, &Managers::default()).entries[0] else { panic!() };
    assert_eq!(s.primary_document.as_deref(), Some("УПД"));
    let none = settings("bp30").with_options(None, Some("none"), None).unwrap();
    let Entry::SalesDocument(s) = &map_records(&records, &none, None, &Managers::default()).entries[0] else { panic!() };
    assert_eq!(s.primary_document, None);
}

#[test]
fn without_the_currency_catalog_only_empty_or_ruble_references_map() {
    const RUB: &str = "11111111-0000-4000-8000-000000000643";
    let sales = format!(
        r#"{{"value": [{{"Ref_Key": "00000003-0000-4000-8000-000000000001", "Number": "1", "Date": "2025-03-10T00:00:00", "Posted": true, "DeletionMark": false,
            "Контрагент_Key": "00000001-0000-4000-8000-000000000001", "СуммаДокумента": 100, "ВалютаДокумента_Key": "{RUB}"}},
           {{"Ref_Key": "00000003-0000-4000-8000-000000000002", "Number": "2", "Date": "2025-03-10T00:00:00", "Posted": true, "DeletionMark": false,
            "Контрагент_Key": "00000001-0000-4000-8000-000000000001", "СуммаДокумента": 100, "ВалютаДокумента_Key": "00000000-0000-0000-0000-000000000000"}}]}}"#
    );
    let records = parse_records(EntityKind::SalesDocument, sales.as_bytes()).unwrap();
    assert_eq!(records.currencies_needing_the_catalog(&settings("bp30")), vec![RUB.to_owned()]);
    let ruble = settings("bp30").with_options(Some(RUB), None, None).unwrap();
    assert!(records.currencies_needing_the_catalog(&ruble).is_empty());
    let mapped = map_records(&records, &ruble, None, &Managers::default());
    let currencies: Vec<&str> = mapped.entries.iter().map(|e| match e { Entry::SalesDocument(s) => s.currency.as_str(), _ => "" }).collect();
    assert_eq!(currencies, vec!["RUB", "RUB"], "{mapped:?}");
}
