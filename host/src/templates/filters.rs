//! The filters and globals every template gets: Russian formatting of amounts, dates, rates
//! and words ([`super::format`]), exact to the kopeck.
//!
//! Money reaches templates as decimal strings (`"1855500.50"`, as the API writes it) or whole
//! numbers; a float is refused, because it may already have lost a kopeck. Dates are ISO
//! strings (`"2025-11-10"`), rates decimal strings (`"16.5"`).
//!
//! | filter | gives |
//! |---|---|
//! | `amount` | `1 855 500,50` |
//! | `rubles` | `1 855 500,50 руб.` |
//! | `rubles_in_words` | `один миллион … рублей 50 копеек` |
//! | `sum_money(attribute)` | the exact sum of a list of amounts (or of an attribute of its items), as a decimal string |
//! | `date_short` | `10.11.2025` |
//! | `date_long` | `«10» ноября 2025 г.` |
//! | `percent` | `16,5 %` |
//! | `decimal` | `16,5` |
//! | `plural(one, few, many)` | the form for the number: `5\|plural("день", "дня", "дней")` → `дней` |
//! | `in_sentence` | `договор № 1` from `Договор № 1` |
//! | `enumerate_and` | `а, б и в` |
//! | `end_sentence` | the text with a final period unless it has one |
//!
//! The global `nbsp` is a NO-BREAK SPACE for string expressions (`"ГК" ~ nbsp ~ "РФ"`); in the
//! markup itself write `&nbsp;`.

use chrono::NaiveDate;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};
use rust_decimal::Decimal;

use super::format;
use crate::money::Money;

/// The names of the filters below, for the documentation the API shows.
pub const FILTERS: &[(&str, &str)] = &[
    ("amount", "an amount in figures: 1 855 500,50"),
    ("rubles", "an amount with the currency: 1 855 500,50 руб."),
    ("rubles_in_words", "an amount in words: один миллион восемьсот пятьдесят пять тысяч пятьсот рублей 50 копеек"),
    ("sum_money", "the exact sum of a list of amounts, or of one attribute of its items: debts|sum_money(\"open\")"),
    ("date_short", "a date in figures: 10.11.2025"),
    ("date_long", "a date in words: «10» ноября 2025 г."),
    ("percent", "a rate: 16,5 %"),
    ("decimal", "a decimal with a comma and no trailing zeros: 16,5"),
    ("plural", "the Russian plural form for a number: n|plural(\"день\", \"дня\", \"дней\")"),
    ("in_sentence", "a capitalised name inside a sentence: Договор № 1 → договор № 1 (abbreviations stay)"),
    ("enumerate_and", "a list as Russian enumeration: а, б и в"),
    ("end_sentence", "the text with a final period unless it ends with . ! ? or …"),
];

/// Adds the filters and the `nbsp` global to `env`.
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("amount", |v: Value| money(&v, "amount").map(format::amount));
    env.add_filter("rubles", |v: Value| money(&v, "rubles").map(format::rubles));
    env.add_filter("rubles_in_words", |v: Value| money(&v, "rubles_in_words").map(format::rubles_in_words));
    env.add_filter("sum_money", sum_money);
    env.add_filter("date_short", |v: Value| date(&v, "date_short").map(format::date_short));
    env.add_filter("date_long", |v: Value| date(&v, "date_long").map(format::date_long));
    env.add_filter("percent", |v: Value| decimal(&v, "percent").map(format::percent));
    env.add_filter("decimal", |v: Value| decimal(&v, "decimal").map(format::decimal));
    env.add_filter("plural", plural);
    env.add_filter("in_sentence", |v: Value| text(&v, "in_sentence").map(|s| format::in_sentence(&s)));
    env.add_filter("enumerate_and", enumerate_and);
    env.add_filter("end_sentence", |v: Value| text(&v, "end_sentence").map(|s| format::end_sentence(&s)));
    env.add_global("nbsp", Value::from(format::NBSP.to_string()));
}

fn bad(filter: &str, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{filter}: {message}"))
}

/// A short, printable picture of a value for error messages.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s }
}

/// An amount of money from a decimal string or a whole number of rubles; never from a float.
fn money(v: &Value, filter: &str) -> Result<Money, Error> {
    if let Some(s) = v.as_str() {
        return Money::parse_stored(s).map_err(|e| bad(filter, format!("`{}` {e}", shown(v))));
    }
    if v.is_integer()
        && let Ok(rubles) = i64::try_from(v.clone())
    {
        return rubles.checked_mul(100).map(Money::from_minor).ok_or_else(|| bad(filter, "the amount is too large"));
    }
    if v.is_number() {
        return Err(bad(filter, format!("`{}` is a fractional number; amounts must be exact: pass a decimal string such as \"1500.00\"", shown(v))));
    }
    if v.is_none() || v.is_undefined() {
        return Err(bad(filter, "the amount is empty (check it with {% if … %} first)"));
    }
    Err(bad(filter, format!("`{}` is not an amount of money", shown(v))))
}

fn date(v: &Value, filter: &str) -> Result<NaiveDate, Error> {
    match v.as_str() {
        Some(s) => {
            // A timestamp prints as its date.
            let day = s.get(..10).unwrap_or(s);
            crate::dates::parse(day).map_err(|_| bad(filter, format!("`{}` is not a date (expected 2025-11-10)", shown(v))))
        }
        None if v.is_none() || v.is_undefined() => Err(bad(filter, "the date is empty (check it with {% if … %} first)")),
        None => Err(bad(filter, format!("`{}` is not a date (expected a string like 2025-11-10)", shown(v)))),
    }
}

fn decimal(v: &Value, filter: &str) -> Result<Decimal, Error> {
    if let Some(s) = v.as_str() {
        return Decimal::from_str_exact(s.trim()).map_err(|_| bad(filter, format!("`{}` is not a decimal number", shown(v))));
    }
    if v.is_integer()
        && let Ok(n) = i64::try_from(v.clone())
    {
        return Ok(Decimal::from(n));
    }
    if v.is_number() {
        return Err(bad(filter, format!("`{}` is a fractional number; pass rates as decimal strings such as \"16.5\"", shown(v))));
    }
    Err(bad(filter, format!("`{}` is not a decimal number", shown(v))))
}

fn text(v: &Value, filter: &str) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_owned()),
        None if v.is_none() || v.is_undefined() => Err(bad(filter, "the text is empty")),
        None => Ok(v.to_string()),
    }
}

fn whole(v: &Value, filter: &str) -> Result<u64, Error> {
    let n = if v.is_integer() {
        i64::try_from(v.clone()).ok()
    } else {
        v.as_str().and_then(|s| s.trim().parse::<i64>().ok())
    };
    n.map(i64::unsigned_abs).ok_or_else(|| bad(filter, format!("`{}` is not a whole number", shown(v))))
}

/// `n|plural("день", "дня", "дней")`.
fn plural(n: Value, one: String, few: String, many: String) -> Result<String, Error> {
    let n = whole(&n, "plural")?;
    Ok(format::plural(n, [one.as_str(), few.as_str(), many.as_str()]).to_owned())
}

/// `debts|sum_money("open")` or `amounts|sum_money`: an exact sum as a decimal string.
fn sum_money(list: Value, attribute: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let attribute = match attribute {
        Some(a) => Some(a),
        None => kwargs.get::<Option<String>>("attribute")?,
    };
    kwargs.assert_all_used()?;
    let mut total = Money::ZERO;
    for item in list.try_iter().map_err(|_| bad("sum_money", format!("`{}` is not a list", shown(&list))))? {
        let value = match &attribute {
            Some(a) => item.get_attr(a)?,
            None => item,
        };
        let amount = money(&value, "sum_money")?;
        total = total.checked_add(amount).ok_or_else(|| bad("sum_money", "the sum is too large"))?;
    }
    Ok(total.to_string())
}

fn enumerate_and(list: Value) -> Result<String, Error> {
    let items = list.try_iter().map_err(|_| bad("enumerate_and", format!("`{}` is not a list", shown(&list))))?;
    let items: Vec<String> = items.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
    Ok(format::enumerate_and(&items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, ctx: serde_json::Value) -> Result<String, Error> {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(source, minijinja::Value::from(minijinja::value::Serde(ctx)))
    }

    fn ok(source: &str, ctx: serde_json::Value) -> String {
        render(source, ctx).unwrap_or_else(|e| panic!("{source}: {e}")).replace('\u{a0}', " ")
    }

    #[test]
    fn amounts_format_exactly_from_decimal_strings_and_whole_numbers() {
        let ctx = serde_json::json!({"a": "1638297.15", "w": 5, "big": "92233720368547758.07"});
        assert_eq!(ok("{{ a|amount }}", ctx.clone()), "1 638 297,15");
        assert_eq!(ok("{{ a|rubles }}", ctx.clone()), "1 638 297,15 руб.");
        assert_eq!(ok("{{ w|rubles }}", ctx.clone()), "5,00 руб.");
        assert_eq!(ok("{{ big|amount }}", ctx.clone()), "92 233 720 368 547 758,07");
        assert_eq!(
            ok("{{ a|rubles_in_words }}", ctx),
            "один миллион шестьсот тридцать восемь тысяч двести девяносто семь рублей 15 копеек"
        );
    }

    #[test]
    fn floats_and_non_amounts_are_refused_with_the_reason() {
        let e = render("{{ x|amount }}", serde_json::json!({"x": 0.1})).expect_err("a float");
        assert!(e.to_string().contains("amounts must be exact"), "{e}");
        let e = render("{{ x|rubles }}", serde_json::json!({"x": "1.005"})).expect_err("too precise");
        assert!(e.to_string().contains("more than two decimal places"), "{e}");
        let e = render("{{ x|amount }}", serde_json::json!({"x": null})).expect_err("empty");
        assert!(e.to_string().contains("the amount is empty"), "{e}");
        let e = render("{{ x|date_long }}", serde_json::json!({"x": "10.11.2025"})).expect_err("not ISO");
        assert!(e.to_string().contains("is not a date"), "{e}");
        let e = render("{{ x|percent }}", serde_json::json!({"x": 16.5})).expect_err("a float rate");
        assert!(e.to_string().contains("decimal strings"), "{e}");
    }

    #[test]
    fn sums_of_money_are_exact() {
        // 0.1 + 0.2 in floats is 0.30000000000000004.
        let ctx = serde_json::json!({"rows": [{"x": "0.10"}, {"x": "0.20"}, {"x": "1000000.05"}], "plain": ["1.01", "2.02"]});
        assert_eq!(ok("{{ rows|sum_money('x') }}", ctx.clone()), "1000000.35");
        assert_eq!(ok("{{ rows|sum_money(attribute='x')|rubles }}", ctx.clone()), "1 000 000,35 руб.");
        assert_eq!(ok("{{ plain|sum_money }}", ctx.clone()), "3.03");
        assert_eq!(ok("{{ []|sum_money }}", ctx), "0.00");
    }

    #[test]
    fn dates_rates_and_words_read_as_russian() {
        let ctx = serde_json::json!({"d": "2025-03-10", "t": "2025-03-10T12:00:00Z", "r": "16.50", "n": 21,
                                     "c": ["Договор № 1", "ДКП № 2", "Договор № 3"]});
        assert_eq!(ok("{{ d|date_short }} {{ d|date_long }} {{ t|date_short }}", ctx.clone()), "10.03.2025 «10» марта 2025 г. 10.03.2025");
        assert_eq!(ok("{{ r|percent }} {{ r|decimal }} {{ 17|percent }}", ctx.clone()), "16,5 % 16,5 17 %");
        assert_eq!(ok("{{ n }} {{ n|plural('день', 'дня', 'дней') }}, 12 {{ 12|plural('день', 'дня', 'дней') }}", ctx.clone()), "21 день, 12 дней");
        assert_eq!(ok("{{ c|map('in_sentence')|enumerate_and }}", ctx.clone()), "договор № 1, ДКП № 2 и договор № 3");
        assert_eq!(ok("{{ 'по договору'|end_sentence }} {{ '5 руб.'|end_sentence }}", ctx.clone()), "по договору. 5 руб.");
        assert_eq!(render("ГК{{ nbsp }}РФ", ctx).expect("renders"), "ГК\u{a0}РФ");
    }

    #[test]
    fn every_filter_is_documented() {
        let mut env = Environment::new();
        register(&mut env);
        for (name, _) in FILTERS {
            let probe = env.render_str(&format!("{{{{ none|{name} }}}}"), ());
            assert!(!matches!(probe, Err(ref e) if e.kind() == ErrorKind::UnknownFilter), "{name} is documented but not registered");
        }
        assert_eq!(FILTERS.len(), 12);
    }
}
