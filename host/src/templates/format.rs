//! Russian formatting of amounts, dates, rates and words, for every document.
//!
//! Templates reach these through their filters (`templates::filters`); the renderers apply
//! [`tie`] to all text.
//!
//! Every formatted value is one unbreakable unit: the thousands separator, the space before
//! «руб.», «%» and «г.» are NO-BREAK SPACEs (U+00A0), so neither a browser nor the PDF line
//! breaker splits «1 234 567,89 руб.» across two lines. [`rubles_in_words`] uses ordinary
//! spaces: it is long running text and must wrap.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::money::Money;

/// NO-BREAK SPACE, the separator inside formatted values.
pub const NBSP: char = '\u{a0}';

/// An amount in figures without the currency: `"1 234 567,89"` (thousands separated by
/// U+00A0, decimal comma, always two kopeck digits).
pub fn amount(m: Money) -> String {
    let minor = m.minor();
    let abs = minor.unsigned_abs();
    let (rubles, kopecks) = (abs / 100, abs % 100);
    let digits = rubles.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2 + 4);
    if minor < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(NBSP);
        }
        out.push(ch);
    }
    out.push(',');
    out.push_str(&format!("{kopecks:02}"));
    out
}

/// An amount in figures with the currency: `"1 234 567,89 руб."` (U+00A0 between thousands
/// and before «руб.»).
pub fn rubles(m: Money) -> String {
    format!("{}{NBSP}руб.", amount(m))
}

/// An amount in words, rubles in words and kopecks in figures, the way Russian documents
/// write it: `"один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей
/// 89 копеек"`. Lower case; negative amounts start with «минус». Covers the whole range of
/// [`Money`] (up to quadrillions).
pub fn rubles_in_words(m: Money) -> String {
    let minor = m.minor();
    let abs = minor.unsigned_abs();
    let (rubles, kopecks) = (abs / 100, abs % 100);
    let mut out = String::new();
    if minor < 0 {
        out.push_str("минус ");
    }
    out.push_str(&number_in_words(rubles, Gender::Masculine));
    out.push(' ');
    out.push_str(plural(rubles, ["рубль", "рубля", "рублей"]));
    out.push_str(&format!(" {kopecks:02} "));
    out.push_str(plural(kopecks, ["копейка", "копейки", "копеек"]));
    out
}

/// A date in figures: `"22.11.2026"`.
pub fn date_short(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// A date in the long form of Russian documents: `"«22» ноября 2026 г."` (U+00A0 after the
/// day and before «г.»).
pub fn date_long(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ];
    let month = MONTHS.get(d.month0() as usize).copied().unwrap_or("");
    format!("«{:02}»{NBSP}{month} {}{NBSP}г.", d.day(), d.year())
}

/// A percent with a decimal comma and no trailing zeros: `0.1` → `"0,1 %"`, `16.50` →
/// `"16,5 %"` (U+00A0 before «%»).
pub fn percent(rate: Decimal) -> String {
    format!("{}{NBSP}%", decimal(rate))
}

/// A decimal with a comma and no trailing zeros: `16.50` → `"16,5"`.
pub fn decimal(d: Decimal) -> String {
    d.normalize().to_string().replace('.', ",")
}

/// The Russian plural form for `n`: `forms` are for 1 (рубль), 2–4 (рубля) and 5–20 (рублей);
/// 11–14 take the third form.
pub fn plural(n: u64, forms: [&str; 3]) -> &str {
    let [one, few, many] = forms;
    match (n % 100, n % 10) {
        (11..=14, _) => many,
        (_, 1) => one,
        (_, 2..=4) => few,
        _ => many,
    }
}

/// Russian typographic ties: no line break after «№», after a one-letter word («в», «с», «и»)
/// or a short abbreviation («г.», «ул.», «д.», «п.», «ст.»), nor before a dash. The spaces
/// become NO-BREAK SPACEs; the text is otherwise unchanged (the same characters, one for one).
pub fn tie(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in words.iter().enumerate() {
        out.push_str(word);
        let Some(next) = words.get(i + 1) else { break };
        let bare = word.rsplit(NBSP).next().unwrap_or(word).trim_start_matches(['(', '«', '"', '„']);
        let letters = bare.trim_end_matches('.');
        let short_abbreviation = bare.ends_with('.')
            && (1..=3).contains(&letters.chars().count())
            && letters.chars().all(|c| c.is_alphabetic() && c.is_lowercase());
        let one_letter = bare.chars().count() == 1 && bare.chars().all(char::is_alphabetic);
        let before_dash = next.starts_with(['—', '–']);
        let glue =
            !word.is_empty() && !next.is_empty() && (bare == "№" || short_abbreviation || one_letter || before_dash);
        out.push(if glue { NBSP } else { ' ' });
    }
    out
}

/// Lower-cases the first letter of a capitalised word («Договор № 1» → «договор № 1»), but not
/// of an abbreviation («ДКП № 1» stays), to put a document's name inside a sentence.
pub fn in_sentence(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(std::iter::once(second)).chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

/// «a», «a и b», «a, b и c».
pub fn enumerate_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} и {last}", init.join(", ")),
    }
}

/// Ends a sentence with a period, unless it already ends with one («… руб.», «…?»).
pub fn end_sentence(text: &str) -> String {
    let trimmed = text.trim_end();
    if trimmed.is_empty() || trimmed.ends_with(['.', '!', '?', '…']) {
        trimmed.to_owned()
    } else {
        format!("{trimmed}.")
    }
}

/// Grammatical gender of the counted noun: «один рубль», but «одна тысяча».
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gender {
    Masculine,
    Feminine,
}

/// A non-negative integer in words, with «один/два» agreeing with `gender` in the last group.
fn number_in_words(n: u64, gender: Gender) -> String {
    if n == 0 {
        return "ноль".to_owned();
    }
    // (gender, forms) of each group of three digits above the units, from thousands up.
    const SCALES: [(Gender, [&str; 3]); 6] = [
        (Gender::Feminine, ["тысяча", "тысячи", "тысяч"]),
        (Gender::Masculine, ["миллион", "миллиона", "миллионов"]),
        (Gender::Masculine, ["миллиард", "миллиарда", "миллиардов"]),
        (Gender::Masculine, ["триллион", "триллиона", "триллионов"]),
        (Gender::Masculine, ["квадриллион", "квадриллиона", "квадриллионов"]),
        (Gender::Masculine, ["квинтиллион", "квинтиллиона", "квинтиллионов"]),
    ];
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut words: Vec<&str> = Vec::new();
    for (i, &group) in groups.iter().enumerate().rev() {
        if group == 0 {
            continue;
        }
        if i == 0 {
            hundreds_in_words(group, gender, &mut words);
        } else if let Some(&(scale_gender, forms)) = SCALES.get(i - 1) {
            hundreds_in_words(group, scale_gender, &mut words);
            words.push(plural(group, forms));
        }
    }
    words.join(" ")
}

/// Appends the words for `n` in 1..=999.
fn hundreds_in_words(n: u64, gender: Gender, words: &mut Vec<&'static str>) {
    const HUNDREDS: [&str; 10] =
        ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"];
    const TENS: [&str; 10] =
        ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"];
    const TEENS: [&str; 10] = [
        "десять",
        "одиннадцать",
        "двенадцать",
        "тринадцать",
        "четырнадцать",
        "пятнадцать",
        "шестнадцать",
        "семнадцать",
        "восемнадцать",
        "девятнадцать",
    ];
    const UNITS: [&str; 10] = ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"];
    let (h, t, u) = ((n / 100 % 10) as usize, (n / 10 % 10) as usize, (n % 10) as usize);
    let mut push = |w: &'static str| {
        if !w.is_empty() {
            words.push(w);
        }
    };
    push(HUNDREDS[h]);
    if t == 1 {
        push(TEENS[u]);
        return;
    }
    push(TENS[t]);
    match (u, gender) {
        (1, Gender::Feminine) => push("одна"),
        (2, Gender::Feminine) => push("две"),
        _ => push(UNITS[u]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub(s: &str) -> Money {
        s.parse().expect("valid amount")
    }

    /// The tests spell U+00A0 as a plain space for readability.
    fn plain(s: String) -> String {
        s.replace(NBSP, " ")
    }

    #[test]
    fn amounts_in_words_follow_russian_grammar() {
        let cases = [
            ("0.00", "ноль рублей 00 копеек"),
            ("1.00", "один рубль 00 копеек"),
            ("2.00", "два рубля 00 копеек"),
            ("3.00", "три рубля 00 копеек"),
            ("4.00", "четыре рубля 00 копеек"),
            ("5.00", "пять рублей 00 копеек"),
            ("10.00", "десять рублей 00 копеек"),
            ("11.00", "одиннадцать рублей 00 копеек"),
            ("12.00", "двенадцать рублей 00 копеек"),
            ("14.00", "четырнадцать рублей 00 копеек"),
            ("19.00", "девятнадцать рублей 00 копеек"),
            ("20.00", "двадцать рублей 00 копеек"),
            ("21.00", "двадцать один рубль 00 копеек"),
            ("22.00", "двадцать два рубля 00 копеек"),
            ("40.00", "сорок рублей 00 копеек"),
            ("90.00", "девяносто рублей 00 копеек"),
            ("100.00", "сто рублей 00 копеек"),
            ("101.00", "сто один рубль 00 копеек"),
            ("111.00", "сто одиннадцать рублей 00 копеек"),
            ("112.00", "сто двенадцать рублей 00 копеек"),
            ("200.00", "двести рублей 00 копеек"),
            ("999.00", "девятьсот девяносто девять рублей 00 копеек"),
            ("1000.00", "одна тысяча рублей 00 копеек"),
            ("1001.00", "одна тысяча один рубль 00 копеек"),
            ("2000.00", "две тысячи рублей 00 копеек"),
            ("4000.00", "четыре тысячи рублей 00 копеек"),
            ("5000.00", "пять тысяч рублей 00 копеек"),
            ("11000.00", "одиннадцать тысяч рублей 00 копеек"),
            ("12000.00", "двенадцать тысяч рублей 00 копеек"),
            ("21000.00", "двадцать одна тысяча рублей 00 копеек"),
            ("22000.00", "двадцать две тысячи рублей 00 копеек"),
            ("100000.00", "сто тысяч рублей 00 копеек"),
            ("111000.00", "сто одиннадцать тысяч рублей 00 копеек"),
            ("1000000.00", "один миллион рублей 00 копеек"),
            ("2000000.00", "два миллиона рублей 00 копеек"),
            ("5000000.00", "пять миллионов рублей 00 копеек"),
            ("1000001.00", "один миллион один рубль 00 копеек"),
            ("1234567.89", "один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей 89 копеек"),
            ("1000000000.00", "один миллиард рублей 00 копеек"),
            ("21000000000.00", "двадцать один миллиард рублей 00 копеек"),
            (
                "999999999999.99",
                "девятьсот девяносто девять миллиардов девятьсот девяносто девять миллионов \
                 девятьсот девяносто девять тысяч девятьсот девяносто девять рублей 99 копеек",
            ),
            ("1000000000000.00", "один триллион рублей 00 копеек"),
            ("0.01", "ноль рублей 01 копейка"),
            ("0.02", "ноль рублей 02 копейки"),
            ("0.05", "ноль рублей 05 копеек"),
            ("0.11", "ноль рублей 11 копеек"),
            ("0.12", "ноль рублей 12 копеек"),
            ("0.21", "ноль рублей 21 копейка"),
            ("0.22", "ноль рублей 22 копейки"),
            ("0.25", "ноль рублей 25 копеек"),
            ("1.01", "один рубль 01 копейка"),
            ("-5.50", "минус пять рублей 50 копеек"),
        ];
        for (money, words) in cases {
            assert_eq!(rubles_in_words(rub(money)), words, "{money}");
        }
    }

    #[test]
    fn the_whole_range_of_money_has_words() {
        let max = rubles_in_words(Money::from_minor(i64::MAX));
        assert!(max.starts_with("девяносто два квадриллиона двести тридцать три триллиона"), "{max}");
        assert!(max.ends_with("семьсот пятьдесят восемь рублей 07 копеек"), "{max}");
        let min = rubles_in_words(Money::from_minor(i64::MIN));
        assert!(min.starts_with("минус девяносто два квадриллиона"), "{min}");
        assert!(min.ends_with("рублей 08 копеек"), "{min}");
    }

    #[test]
    fn amounts_in_figures_group_thousands_with_no_break_spaces() {
        let cases = [
            ("0.00", "0,00 руб."),
            ("0.05", "0,05 руб."),
            ("1.00", "1,00 руб."),
            ("999.99", "999,99 руб."),
            ("1000.00", "1 000,00 руб."),
            ("123456.70", "123 456,70 руб."),
            ("1234567.89", "1 234 567,89 руб."),
            ("999999999999.99", "999 999 999 999,99 руб."),
            ("-1234.50", "-1 234,50 руб."),
        ];
        for (money, figures) in cases {
            assert_eq!(plain(rubles(rub(money))), figures, "{money}");
        }
        assert_eq!(rubles(rub("1234567.89")), "1\u{a0}234\u{a0}567,89\u{a0}руб.");
        assert!(!rubles(rub("1234567.89")).contains(' '), "no breakable space inside an amount");
        assert_eq!(amount(rub("100000.00")), "100\u{a0}000,00");
    }

    #[test]
    fn dates_in_short_and_long_form() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 22).expect("valid date");
        assert_eq!(date_short(d), "22.11.2026");
        assert_eq!(plain(date_long(d)), "«22» ноября 2026 г.");
        let d = NaiveDate::from_ymd_opt(2025, 3, 1).expect("valid date");
        assert_eq!(date_short(d), "01.03.2025");
        assert_eq!(plain(date_long(d)), "«01» марта 2025 г.");
        let months: Vec<String> = (1..=12)
            .filter_map(|m| NaiveDate::from_ymd_opt(2025, m, 5))
            .map(|d| plain(date_long(d)).split(' ').nth(1).unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            months,
            [
                "января",
                "февраля",
                "марта",
                "апреля",
                "мая",
                "июня",
                "июля",
                "августа",
                "сентября",
                "октября",
                "ноября",
                "декабря"
            ]
        );
    }

    #[test]
    fn percents_use_a_decimal_comma_without_trailing_zeros() {
        let cases = [("0.1", "0,1 %"), ("16.5", "16,5 %"), ("16.50", "16,5 %"), ("21", "21 %"), ("17.00", "17 %")];
        for (rate, text) in cases {
            let rate: Decimal = rate.parse().expect("valid decimal");
            assert_eq!(plain(percent(rate)), text);
        }
    }

    #[test]
    fn ties_keep_numbers_abbreviations_and_short_words_with_what_follows() {
        let tied = |s: &str| tie(s).replace(NBSP, "~");
        assert_eq!(tied("договор подряда № 7/П от 01.04.2025"), "договор подряда №~7/П от 01.04.2025");
        assert_eq!(tied("г. Москва, ул. Тверская, д. 7"), "г.~Москва, ул.~Тверская, д.~7");
        assert_eq!(tied("(п. 6.2 договора)"), "(п.~6.2 договора)");
        assert_eq!(tied("товары в срок и с опозданием"), "товары в~срок и~с~опозданием");
        assert_eq!(tied("долг — 5 руб. (пять)"), "долг~— 5 руб.~(пять)");
        assert_eq!(tied("составляет 10. Однако"), "составляет 10. Однако", "a sentence end is no abbreviation");
        assert_eq!(tied("ООО «Ромашка»"), "ООО «Ромашка»");
        assert_eq!(tied("  два  пробела "), "  два  пробела ");
        assert_eq!(tie("а б в").chars().count(), "а б в".chars().count(), "one character for one");
    }

    #[test]
    fn names_go_inside_sentences_and_lists_read_as_russian() {
        assert_eq!(in_sentence("Договор № 1"), "договор № 1");
        assert_eq!(in_sentence("ДКП № 1"), "ДКП № 1");
        assert_eq!(in_sentence("Д"), "Д");
        assert_eq!(enumerate_and(&["а".into(), "б".into(), "в".into()]), "а, б и в");
        assert_eq!(enumerate_and(&["а".into(), "б".into()]), "а и б");
        assert_eq!(enumerate_and(&["а".into()]), "а");
        assert_eq!(enumerate_and(&[]), "");
        assert_eq!(end_sentence("по договору"), "по договору.");
        assert_eq!(end_sentence("5 руб."), "5 руб.");
        assert_eq!(end_sentence("верно? "), "верно?");
        assert_eq!(end_sentence(""), "");
    }

    #[test]
    fn plural_forms_include_the_eleven_to_fourteen_exception() {
        let forms = ["день", "дня", "дней"];
        let cases = [
            (0, "дней"),
            (1, "день"),
            (2, "дня"),
            (4, "дня"),
            (5, "дней"),
            (11, "дней"),
            (12, "дней"),
            (14, "дней"),
            (21, "день"),
            (22, "дня"),
            (111, "дней"),
            (101, "день"),
            (1012, "дней"),
        ];
        for (n, form) in cases {
            assert_eq!(plural(n, forms), form, "{n}");
        }
    }
}
