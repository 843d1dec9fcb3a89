//! A mail linker (test guest): finds arbitration case numbers (`А40-12345/2024`, also
//! typed with a Latin `A` or spaces), the court (`Арбитражный суд …`), the kind of event
//! and its date in court notification e-mails.

use crm_plugin_sdk::linker::{CaseMention, CourtEvent, Email};
use crm_plugin_sdk::{Error, MailLinker};

struct CourtLinker;

impl MailLinker for CourtLinker {
    fn find_cases(emails: Vec<Email>) -> Result<Vec<Vec<CaseMention>>, Error> {
        Ok(emails.iter().map(mentions).collect())
    }
}

fn mentions(e: &Email) -> Vec<CaseMention> {
    let text = format!("{}\n{}", e.subject, e.text_body);
    let court = court(&text);
    let event = event(&text.to_lowercase());
    let date = date_after_na(&text);
    let mut out: Vec<CaseMention> = Vec::new();
    for number in case_numbers(&text) {
        if !out.iter().any(|m| m.number == number) {
            out.push(CaseMention { number, court: court.clone(), event, event_date: date.clone() });
        }
    }
    out
}

/// `А40-12345/2024` in any common spelling: Cyrillic or Latin `A`, spaces around `-`.
fn case_numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if (c == 'А' || c == 'A')
            && boundary
            && let Some((number, end)) = parse_number(&chars, i + 1)
        {
            found.push(number);
            i = end;
            continue;
        }
        i += 1;
    }
    found
}

fn digits(chars: &[char], mut i: usize, max: usize) -> (String, usize) {
    let mut s = String::new();
    while i < chars.len() && chars[i].is_ascii_digit() && s.len() < max {
        s.push(chars[i]);
        i += 1;
    }
    (s, i)
}

fn skip_spaces(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    i
}

fn parse_number(chars: &[char], i: usize) -> Option<(String, usize)> {
    let (court, i) = digits(chars, i, 3);
    if court.is_empty() {
        return None;
    }
    let i = skip_spaces(chars, i);
    if !matches!(chars.get(i), Some('-' | '–' | '—')) {
        return None;
    }
    let i = skip_spaces(chars, i + 1);
    let (serial, i) = digits(chars, i, 9);
    if serial.is_empty() || chars.get(i) != Some(&'/') {
        return None;
    }
    let (year, end) = digits(chars, i + 1, 4);
    (year.len() == 4).then(|| (format!("А{court}-{serial}/{year}"), end))
}

/// `Арбитражный суд города Москвы`: up to the end of the phrase.
fn court(text: &str) -> Option<String> {
    let start = text.find("Арбитражный суд")?;
    let rest = &text[start..];
    let end = rest.find(['.', ',', ';', '\n', '(']).unwrap_or(rest.len());
    let mut name: Vec<&str> = rest[..end].split_whitespace().collect();
    // "… назначил …": the verb is not part of the name.
    if let Some(pos) = name.iter().position(|w| w.ends_with("ил") || w.ends_with("ла") || *w == "по") {
        name.truncate(pos);
    }
    (name.len() > 2).then(|| name.join(" "))
}

fn event(lower: &str) -> Option<CourtEvent> {
    let table: [(&str, CourtEvent); 9] = [
        ("оставлен", CourtEvent::ClaimLeftWithoutMotion),
        ("возвращ", CourtEvent::ClaimReturned),
        ("принят", CourtEvent::ClaimAccepted),
        ("заседани", CourtEvent::HearingScheduled),
        ("отложен", CourtEvent::HearingScheduled),
        ("решени", CourtEvent::JudgmentIssued),
        ("жалоб", CourtEvent::AppealFiled),
        ("исполнительный лист", CourtEvent::WritIssued),
        ("определени", CourtEvent::JudgmentIssued),
    ];
    table.iter().find(|(word, _)| lower.contains(word)).map(|(_, e)| *e).or(if lower.contains("дел") { Some(CourtEvent::Other) } else { None })
}

/// The first `dd.mm.yyyy` after « на », as `yyyy-mm-dd`.
fn date_after_na(text: &str) -> Option<String> {
    const NA: &str = " на ";
    let at = text.find(NA)?;
    let chars: Vec<char> = text[at + NA.len()..].chars().collect();
    let (d, i) = digits(&chars, 0, 2);
    if d.len() != 2 || chars.get(i) != Some(&'.') {
        return None;
    }
    let (m, i) = digits(&chars, i + 1, 2);
    if m.len() != 2 || chars.get(i) != Some(&'.') {
        return None;
    }
    let (y, _) = digits(&chars, i + 1, 4);
    (y.len() == 4).then(|| format!("{y}-{m}-{d}"))
}

crm_plugin_sdk::export_mail_linker!(CourtLinker);
