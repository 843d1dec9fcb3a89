//! The claim letter as one self-contained HTML page: UTF-8, inline CSS, A4 print layout.

use std::fmt::Write as _;

use super::words::date_short;
use super::{Align, Block, ClaimLetter, Spans, Table, compose, known};

/// The page's style: A4 with 20 mm margins when printed, page numbers where the browser
/// supports page-margin boxes, the letter's width on screen.
const STYLE: &str = r#"
@page { size: A4; margin: 20mm;
  @bottom-right { content: "Стр. " counter(page) " из " counter(pages); font: 9pt "Times New Roman", "Liberation Serif", serif; } }
* { box-sizing: border-box; }
html { background: #f2f2f2; }
body { margin: 0; color: #000; font: 12pt/1.3 "Times New Roman", "Liberation Serif", Times, serif; }
.sheet { width: 210mm; min-height: 297mm; margin: 8mm auto; padding: 20mm; background: #fff; box-shadow: 0 0 3mm rgba(0,0,0,.25); }
@media print { html { background: none; } .sheet { width: auto; min-height: 0; margin: 0; padding: 0; box-shadow: none; } }
.letterhead { text-align: center; font-size: 10pt; border-bottom: 1.5pt solid #000; padding-bottom: 2mm; margin-bottom: 6mm; }
.letterhead .name { font-size: 13pt; font-weight: bold; }
.addressing { display: flex; justify-content: space-between; gap: 10mm; margin-bottom: 8mm; font-size: 11pt; }
.addressing > div { flex: 0 0 46%; }
.addressing div div { text-align: left; }
h1 { margin: 0; text-align: center; font-size: 14pt; }
.subtitle { margin: 0 0 5mm; text-align: center; font-weight: bold; }
h2 { margin: 5mm 0 2mm; text-align: center; font-size: 12pt; }
p { margin: 0 0 2mm; text-align: justify; text-indent: 12.5mm; }
p.note { text-indent: 0; font-size: 10.5pt; margin-bottom: 4mm; }
table.grid { width: 100%; border-collapse: collapse; font-size: 9pt; line-height: 1.2; margin: 2mm 0; }
table.grid caption { caption-side: top; text-align: left; font-size: 10.5pt; font-weight: bold; padding-bottom: 1mm; }
table.grid th, table.grid td { border: .5pt solid #000; padding: .8mm 1.2mm; vertical-align: top; }
table.grid th { background: #ececec; text-align: center; vertical-align: middle; }
table.grid thead { display: table-header-group; }
table.grid tr { break-inside: avoid; page-break-inside: avoid; }
table.grid tr.total td { font-weight: bold; }
.l { text-align: left; } .c { text-align: center; } .r { text-align: right; } .nw { white-space: nowrap; }
.requisites { margin: 0 0 3mm 12.5mm; }
.signature { display: flex; align-items: flex-end; gap: 6mm; margin-top: 12mm; break-inside: avoid; page-break-inside: avoid; break-before: avoid; page-break-before: avoid; }
.signature .post { flex: 1 1 45%; }
.signature .line { flex: 0 0 40mm; border-bottom: .5pt solid #000; height: 6mm; }
.signature .who { flex: 1 1 25%; text-align: right; }
.seal { margin-top: 4mm; }
"#;

/// Renders the letter as a complete HTML5 document (UTF-8, inline CSS, no outside resources),
/// laid out for printing on A4. Every piece of data is escaped.
pub fn to_html(letter: &ClaimLetter) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let number = known(&letter.number).map(|n| format!(" № {n}")).unwrap_or_default();
    let title = format!("Претензия{number} от {} — {}", date_short(letter.date), letter.debtor.name.trim());
    out.push_str("<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main class=\"sheet\">");
    for block in compose(letter) {
        block_html(&block, &mut out);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn block_html(block: &Block, out: &mut String) {
    match block {
        Block::Letterhead { name, lines } => {
            let _ = write!(out, "<header class=\"letterhead\">\n<div class=\"name\">{}</div>\n", escape(name));
            for line in lines {
                let _ = writeln!(out, "<div>{}</div>", escape(line));
            }
            out.push_str("</header>\n");
        }
        Block::Addressing { left, right } => {
            out.push_str("<section class=\"addressing\">\n<div class=\"out\">\n");
            for line in left {
                let _ = writeln!(out, "<div>{}</div>", spans(line));
            }
            out.push_str("</div>\n<div class=\"to\">\n");
            for line in right {
                let _ = writeln!(out, "<div>{}</div>", spans(line));
            }
            out.push_str("</div>\n</section>\n");
        }
        Block::Title { title, subtitle } => {
            let _ = writeln!(out, "<h1>{}</h1>\n<div class=\"subtitle\">{}</div>", escape(title), escape(subtitle));
        }
        Block::Heading(text) => {
            let _ = writeln!(out, "<h2>{}</h2>", escape(text));
        }
        Block::Para(s) => {
            let _ = writeln!(out, "<p>{}</p>", spans(s));
        }
        Block::Note(s) => {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", spans(s));
        }
        Block::Table(table) => table_html(table, out),
        Block::Requisites(lines) => {
            out.push_str("<div class=\"requisites\">\n");
            for line in lines {
                let _ = writeln!(out, "<div>{}</div>", spans(line));
            }
            out.push_str("</div>\n");
        }
        Block::Signature { post, name, seal } => {
            out.push_str("<section class=\"signature\">\n<div class=\"post\">");
            let post: Vec<String> = post.iter().map(|p| escape(p)).collect();
            out.push_str(&post.join("<br>"));
            let _ = writeln!(
                out,
                "</div>\n<div class=\"line\"></div>\n<div class=\"who\">{}</div>\n</section>",
                escape(name)
            );
            if *seal {
                out.push_str("<div class=\"seal\">М.П.</div>\n");
            }
        }
    }
}

fn table_html(table: &Table, out: &mut String) {
    let _ = write!(out, "<table class=\"grid\">\n<caption>{}</caption>\n<thead><tr>", escape(&table.caption()));
    for column in &table.columns {
        let _ = write!(out, "<th>{}</th>", escape(column.title));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str(if row.total { "<tr class=\"total\">" } else { "<tr>" });
        let mut col = 0;
        for cell in &row.cells {
            let span = cell.span.max(1);
            let class = match table.columns.get(col) {
                // A cell spanning several columns is a label: left-aligned.
                Some(_) if span > 1 => "l".to_owned(),
                Some(c) => {
                    let align = match c.align {
                        Align::Left => "l",
                        Align::Center => "c",
                        Align::Right => "r",
                    };
                    if c.nowrap { format!("{align} nw") } else { align.to_owned() }
                }
                None => "l".to_owned(),
            };
            if span > 1 {
                let _ = write!(out, "<td class=\"{class}\" colspan=\"{span}\">{}</td>", escape(&cell.text));
            } else {
                let _ = write!(out, "<td class=\"{class}\">{}</td>", escape(&cell.text));
            }
            col += span;
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn spans(spans: &Spans) -> String {
    let mut out = String::new();
    for span in spans {
        if span.bold {
            let _ = write!(out, "<b>{}</b>", escape(&span.text));
        } else {
            out.push_str(&escape(&span.text));
        }
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed in HTML text.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// The page with no-break spaces shown as plain ones, for readable assertions.
    fn page(letter: &ClaimLetter) -> String {
        to_html(letter).replace('\u{a0}', " ")
    }

    #[test]
    fn escape_neutralises_markup_quotes_and_ampersands() {
        assert_eq!(escape("<script>alert('x')</script>"), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
        assert_eq!(escape(r#"ООО "Рога & Копыта" «Ко»"#), "ООО &quot;Рога &amp; Копыта&quot; «Ко»");
        assert_eq!(escape("&amp;"), "&amp;amp;", "already-escaped text is escaped again, not trusted");
        assert_eq!(escape("a\u{0}b\u{7}c"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(escape("обычный текст"), "обычный текст");
    }

    #[test]
    fn hostile_data_cannot_inject_markup() {
        let mut letter = typical();
        letter.debtor.name = r#"<script>alert("x")</script> ООО "Рога & Копыта""#.to_owned();
        letter.creditor.name = "</title><img src=x onerror=alert(1)>".to_owned();
        letter.debts[0].document = "<b>Документ</b> & \"кавычки\" 'апостроф'".to_owned();
        letter.penalties[0].basis = "</p><iframe src=//evil>".to_owned();
        letter.number = Some("1\"><svg onload=alert(1)>".to_owned());
        let html = to_html(&letter);
        for forbidden in ["<script", "<img", "<iframe", "<svg", "</title><", "<b>Документ"] {
            assert!(!html.contains(forbidden), "«{forbidden}» leaked into the page");
        }
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; ООО &quot;Рога &amp; Копыта&quot;"));
        assert!(html.contains("&lt;b&gt;Документ&lt;/b&gt; &amp; &quot;кавычки&quot; &#39;апостроф&#39;"));
        assert_eq!(html.matches("<title>").count(), 1);
    }

    #[test]
    fn page_is_a_self_contained_printable_html5_document() {
        let html = to_html(&typical());
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ru\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("@page { size: A4; margin: 20mm;"));
        assert!(html.trim_end().ends_with("</html>"));
        for outside in ["http://", "https://", "<link", "<script", "src="] {
            assert!(!html.contains(outside), "the page refers to the outside: «{outside}»");
        }
    }

    #[test]
    fn page_has_every_section_and_amount() {
        let html = page(&typical());
        for expected in [
            "<h1>ПРЕТЕНЗИЯ</h1>",
            "о погашении задолженности",
            "ООО «Торговый дом „Север“»",
            "ИНН 7701234567, КПП 770101001, ОГРН 1027700123456",
            "Исх. № 117/25-Ю",
            "от «10» ноября 2025 г.",
            "<b>Кому: </b><b>ООО «Ромашка»</b>",
            "Генеральный директор: Иванов И. И.",
            "Адрес: 630099, г. Новосибирск",
            "Таблица 1. Документы, по которым имеется задолженность",
            "<th>Дней просрочки</th>",
            "Реализация товаров и услуг № 0000-000123 от 01.02.2025",
            "<td class=\"r nw\">1 250 000,00</td><td class=\"r nw\">250 000,00</td><td class=\"r nw\">1 000 000,00</td>",
            "<td class=\"l\" colspan=\"5\">Итого</td><td class=\"r nw\">2 105 500,50</td><td class=\"r nw\">250 000,00</td>\
             <td class=\"r nw\">1 855 500,50</td>",
            "<b>1 855 500,50 руб.</b> (один миллион восемьсот пятьдесят пять тысяч пятьсот рублей 50 копеек)",
            "<h2>Расчет неустойки (пени) и процентов за пользование чужими денежными средствами</h2>",
            "Таблица 2. Расчет неустойки по документу: Реализация товаров и услуг № 0000-000123",
            "Таблица 3. Расчет процентов по ст. 395 ГК РФ по документу: Акт выполненных работ № 45",
            "Таблица 4. Расчет пени по документу: Акт оказанных услуг № 311",
            "04.03.2025 – 10.11.2025",
            "1 000 000,00 × 0,1 % × 252 дн.",
            "480 000,00 × 16,5 % × 15 / 365",
            "300 000,00 × 1/300 × 16,5 % × 15",
            "<td class=\"r nw\">252 000,00</td>",
            "Итого по расчету",
            "К уплате с учетом ограничения</td><td class=\"r nw\">125 000,00</td>",
            "<td class=\"r nw\">43 758,90</td>",
            "<td class=\"r nw\">6 725,00</td>",
            "<b>175 483,90 руб.</b> (сто семьдесят пять тысяч четыреста восемьдесят три рубля 90 копеек)",
            "<b>2 030 984,40 руб.</b> (два миллиона тридцать тысяч девятьсот восемьдесят четыре рубля 40 копеек)",
            "руководствуясь ст. 309, 310, 330, 395 ГК РФ",
            "но не позднее <b>«20» ноября 2025 г.</b>",
            "Расчетный счет: 40702810938000012345",
            "Банк: ПАО Сбербанк, г. Москва",
            "Назначение платежа: оплата задолженности по претензии № 117/25-Ю от 10.11.2025",
            "в арбитражный суд",
            "ч. 5 ст. 4 АПК РФ",
            "Генеральный директор<br>ООО «Торговый дом „Север“»",
            "<div class=\"who\">Петров П. П.</div>",
            "М.П.",
        ] {
            assert!(html.contains(expected), "missing «{expected}»");
        }
    }

    #[test]
    fn page_without_penalties_or_bank_details_leaves_those_sections_out() {
        let html = page(&minimal());
        assert!(!html.contains("<h2>"), "no penalty section");
        assert!(!html.contains("Таблица 2"));
        assert!(!html.contains("<th>Договор</th>"));
        assert!(html.contains("по реквизитам, указанным в договоре."));
        assert!(!html.contains("class=\"requisites\""));
        assert!(!html.contains("М.П."));
    }
}
