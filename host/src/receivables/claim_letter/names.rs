//! How a letter names a party: the short name with its legal form (ООО «Ромашка», not the
//! registry's ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "РОМАШКА"), and that name in the
//! instrumental case, as it reads after «Между … и …».
//!
//! An organisation's short name declines by its abbreviation (которое не склоняется):
//! «Между ООО «Север» и АО «Ромашка»». A sole proprietor or a person is named by the full
//! name, declined: «и индивидуальным предпринимателем Бетой Борисом Борисовичем». The
//! declension covers the regular Russian patterns (the surname by its ending, the first
//! name, the patronymic, the sex taken from the patronymic); a word it does not know how
//! to decline is left as it is.

/// Legal forms as registries spell them out, and their abbreviations (longest first, so
/// «Публичное акционерное общество» is not read as «Акционерное общество»).
const LEGAL_FORMS: &[(&str, &str)] = &[
    ("общество с ограниченной ответственностью", "ООО"),
    ("публичное акционерное общество", "ПАО"),
    ("непубличное акционерное общество", "АО"),
    ("закрытое акционерное общество", "ЗАО"),
    ("открытое акционерное общество", "ОАО"),
    ("акционерное общество", "АО"),
    ("общество с дополнительной ответственностью", "ОДО"),
    ("государственное унитарное предприятие", "ГУП"),
    ("муниципальное унитарное предприятие", "МУП"),
    ("автономная некоммерческая организация", "АНО"),
    ("индивидуальный предприниматель", "ИП"),
];

/// Abbreviations a short name may already start with.
const ABBREVIATIONS: &[&str] = &["ООО", "ПАО", "АО", "ЗАО", "ОАО", "ОДО", "ГУП", "МУП", "АНО", "НАО", "ИП"];

/// Straight or typewriter quotes turned into «ёлочки», with „лапки“ inside them.
pub fn russian_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut depth = 0usize;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c != '"' {
            if c == '«' {
                depth += 1;
            } else if c == '»' {
                depth = depth.saturating_sub(1);
            }
            out.push(c);
            continue;
        }
        // Opening when nothing (or a space or an opening bracket) precedes it.
        let opening = i == 0 || matches!(chars[i - 1], ' ' | '(' | '«' | '„');
        if opening {
            out.push(if depth == 0 { '«' } else { '„' });
            depth += 1;
        } else {
            depth = depth.saturating_sub(1);
            out.push(if depth == 0 { '»' } else { '“' });
        }
    }
    out
}

/// The short name with its legal form: the card's short name when it has one, else made
/// from the full name («ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "АЛЬФА"» → «ООО «АЛЬФА»»).
/// Quotes become «ёлочки».
pub fn short_name(full_name: &str, short: Option<&str>) -> String {
    if let Some(s) = short.map(str::trim).filter(|s| !s.is_empty()) {
        return russian_quotes(s);
    }
    let full = full_name.trim();
    let lower = full.to_lowercase();
    for (form, abbr) in LEGAL_FORMS {
        if let Some(rest) = lower.strip_prefix(form) {
            // The same length in bytes: lower-casing Cyrillic keeps each letter's width.
            let rest = &full[full.len() - rest.len()..];
            let rest = rest.trim();
            return russian_quotes(&format!("{abbr} {rest}"));
        }
    }
    russian_quotes(full)
}

/// Whether a short name belongs to a sole proprietor («ИП …»).
fn is_sole_proprietor(short: &str) -> bool {
    short.starts_with("ИП ")
}

/// The name as it reads after «Между … и …» (the instrumental case).
pub fn instrumental(short: &str, person: bool) -> String {
    if let Some(name) = short.strip_prefix("ИП ").filter(|_| is_sole_proprietor(short)) {
        return format!("индивидуальным предпринимателем {}", person_instrumental(name.trim()));
    }
    let is_org = ABBREVIATIONS.iter().any(|a| short.starts_with(&format!("{a} "))) || short.contains('«');
    if person && !is_org {
        return person_instrumental(short);
    }
    short.to_owned()
}

/// The sex a patronymic says, if it says one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sex {
    Male,
    Female,
}

fn sex_of(patronymic: &str) -> Option<Sex> {
    let p = patronymic.to_lowercase();
    if p.ends_with("ич") {
        Some(Sex::Male)
    } else if p.ends_with("вна") || p.ends_with("чна") || p.ends_with("шна") {
        Some(Sex::Female)
    } else {
        None
    }
}

/// «Бета Борис Борисович» → «Бетой Борисом Борисовичем». Only a name of three words with a
/// patronymic that tells the sex is declined; anything else is returned as it is.
pub fn person_instrumental(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let [surname, first, patronymic] = words.as_slice() else { return name.to_owned() };
    let Some(sex) = sex_of(patronymic) else { return name.to_owned() };
    format!("{} {} {}", surname_instrumental(surname, sex), first_name_instrumental(first, sex), patronymic_instrumental(patronymic, sex))
}

/// Replaces the last `cut` letters of `w` with `ending`.
fn swap(w: &str, cut: usize, ending: &str) -> String {
    let keep: String = w.chars().take(w.chars().count().saturating_sub(cut)).collect();
    format!("{keep}{ending}")
}

fn ends(w: &str, suffixes: &[&str]) -> bool {
    let l = w.to_lowercase();
    suffixes.iter().any(|s| l.ends_with(s))
}

/// The hissing consonants and ц, after which an unstressed ending is written with «е».
fn after_hissing(w: &str, cut: usize) -> bool {
    let chars: Vec<char> = w.to_lowercase().chars().collect();
    chars.len() > cut && matches!(chars[chars.len() - cut - 1], 'ж' | 'ш' | 'ч' | 'щ' | 'ц')
}

fn surname_instrumental(w: &str, sex: Sex) -> String {
    match sex {
        Sex::Male => {
            if ends(w, &["ов", "ев", "ёв", "ин", "ын"]) {
                format!("{w}ым")
            } else if ends(w, &["ский", "цкий", "ой", "ый"]) {
                swap(w, 2, "ым").replace("скым", "ским").replace("цкым", "цким")
            } else if ends(w, &["ий"]) {
                swap(w, 2, "им")
            } else if ends(w, &["о", "е", "и", "у", "ю", "ых", "их", "э"]) {
                w.to_owned()
            } else if ends(w, &["а"]) {
                swap(w, 1, if after_hissing(w, 1) { "ей" } else { "ой" })
            } else if ends(w, &["я"]) {
                swap(w, 1, "ей")
            } else if ends(w, &["ь", "й"]) {
                swap(w, 1, "ем")
            } else if after_hissing(w, 0) {
                format!("{w}ем")
            } else {
                format!("{w}ом")
            }
        }
        Sex::Female => {
            if ends(w, &["ова", "ева", "ёва", "ина", "ына"]) {
                swap(w, 1, "ой")
            } else if ends(w, &["ская", "цкая", "ая"]) {
                swap(w, 2, "ой")
            } else if ends(w, &["яя"]) {
                swap(w, 2, "ей")
            } else if ends(w, &["а"]) {
                swap(w, 1, if after_hissing(w, 1) { "ей" } else { "ой" })
            } else if ends(w, &["я"]) {
                swap(w, 1, "ей")
            } else {
                // A woman's surname ending in a consonant or another vowel does not decline.
                w.to_owned()
            }
        }
    }
}

fn first_name_instrumental(w: &str, sex: Sex) -> String {
    if ends(w, &["ий"]) {
        return swap(w, 2, "ием");
    }
    if ends(w, &["ия"]) {
        return swap(w, 1, "ей");
    }
    match sex {
        Sex::Male if ends(w, &["й", "ь"]) => swap(w, 1, "ем"),
        Sex::Male if ends(w, &["а"]) => swap(w, 1, if after_hissing(w, 1) { "ей" } else { "ой" }),
        Sex::Male if ends(w, &["я"]) => swap(w, 1, "ей"),
        Sex::Male if ends(w, &["о", "е", "и", "у", "ю"]) => w.to_owned(),
        Sex::Male => format!("{w}ом"),
        Sex::Female if ends(w, &["а"]) => swap(w, 1, if after_hissing(w, 1) { "ей" } else { "ой" }),
        Sex::Female if ends(w, &["я"]) => swap(w, 1, "ей"),
        Sex::Female if ends(w, &["ь"]) => swap(w, 1, "ью"),
        Sex::Female => w.to_owned(),
    }
}

fn patronymic_instrumental(w: &str, sex: Sex) -> String {
    match sex {
        // Борисович → Борисовичем, Ильич → Ильичом (stressed).
        Sex::Male if ends(w, &["вич"]) => format!("{w}ем"),
        Sex::Male => format!("{w}ом"),
        Sex::Female => swap(w, 1, "ой"),
    }
}

/// «Петров Петр Петрович» → «Петров П. П.»; anything else as it is.
pub fn with_initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    match words.as_slice() {
        [surname, first, patronymic] if [first, patronymic].iter().all(|w| w.chars().count() > 2) => {
            let initial = |w: &str| w.chars().next().map(|c| format!("{c}.")).unwrap_or_default();
            format!("{surname} {} {}", initial(first), initial(patronymic))
        }
        _ => name.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_name_becomes_the_short_name_with_its_legal_form() {
        assert_eq!(short_name("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"АЛЬФА\"", None), "ООО «АЛЬФА»");
        assert_eq!(short_name("Публичное акционерное общество \"Сбербанк России\"", None), "ПАО «Сбербанк России»");
        assert_eq!(short_name("АКЦИОНЕРНОЕ ОБЩЕСТВО \"ТОРГОВЫЙ ДОМ \"СЕВЕР\"\"", None), "АО «ТОРГОВЫЙ ДОМ „СЕВЕР“»");
        assert_eq!(short_name("ИНДИВИДУАЛЬНЫЙ ПРЕДПРИНИМАТЕЛЬ Бета Борис Борисович", None), "ИП Бета Борис Борисович");
        // The card's own short name wins, with its quotes made Russian.
        assert_eq!(short_name("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МОТОРИКА\"", Some("ООО \"МОТОРИКА\"")), "ООО «МОТОРИКА»");
        assert_eq!(short_name("ООО \"Альфа\"", None), "ООО «Альфа»");
        assert_eq!(short_name("Альфа", None), "Альфа");
    }

    #[test]
    fn after_between_an_organisation_keeps_its_abbreviation_and_a_person_declines() {
        assert_eq!(instrumental("ООО «Альфа»", false), "ООО «Альфа»");
        assert_eq!(instrumental("ИП Бета Борис Борисович", true), "индивидуальным предпринимателем Бетой Борисом Борисовичем");
        assert_eq!(instrumental("ИП Иванова Мария Сергеевна", true), "индивидуальным предпринимателем Ивановой Марией Сергеевной");
        assert_eq!(person_instrumental("Шевчук Андрей Ильич"), "Шевчуком Андреем Ильичом");
        assert_eq!(person_instrumental("Шевчук Ольга Петровна"), "Шевчук Ольгой Петровной");
        assert_eq!(person_instrumental("Достоевский Фёдор Михайлович"), "Достоевским Фёдором Михайловичем");
        assert_eq!(person_instrumental("Толстой Николай Львович"), "Толстым Николаем Львовичем");
        assert_eq!(person_instrumental("Гордеева Любовь Ильинична"), "Гордеевой Любовью Ильиничной");
        assert_eq!(person_instrumental("Дурново Игорь Юрьевич"), "Дурново Игорем Юрьевичем");
        assert_eq!(person_instrumental("Кузнецов Юрий Иванович"), "Кузнецовым Юрием Ивановичем");
        // Not a full name with a patronymic: left as it is.
        assert_eq!(person_instrumental("John Smith"), "John Smith");
    }

    #[test]
    fn a_full_name_is_signed_with_initials() {
        assert_eq!(with_initials("Петров Петр Петрович"), "Петров П. П.");
        assert_eq!(with_initials("Петров П. П."), "Петров П. П.");
        assert_eq!(with_initials("Иванов"), "Иванов");
    }
}
