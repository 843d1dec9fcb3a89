//! A document as one self-contained HTML page: UTF-8, inline CSS, A4 print layout, no outside
//! resources. For previews and browser printing; it draws the same [`Document`] as the PDF.

use std::fmt::Write as _;

use super::markup::{Align, Block, Document, Signature, Spans, Table};

/// The page's style: A4 with 20 mm margins when printed, page numbers where the browser
/// supports page-margin boxes, the document's width on screen.
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
h1 { margin: 0 0 5mm; text-align: center; font-size: 14pt; }
h1:has(+ .subtitle) { margin-bottom: 0; }
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
.requisites { margin: 0 0 3mm 12.5mm; break-inside: avoid; page-break-inside: avoid; }
.signature { display: flex; align-items: flex-end; gap: 6mm; margin-top: 12mm; break-inside: avoid; page-break-inside: avoid; break-before: avoid; page-break-before: avoid; }
.signature .post { flex: 1 1 45%; }
.signature .line { flex: 0 0 40mm; border-bottom: .5pt solid #000; height: 6mm; }
.signature .who { flex: 1 1 25%; text-align: right; }
.seal { margin-top: 4mm; }
.page-break { break-after: page; page-break-after: always; border-top: 1px dashed #aaa; margin: 8mm -20mm; }
@media print { .page-break { border: 0; margin: 0; } }
"#;

/// Renders the document as a complete HTML5 page (UTF-8, inline CSS, no outside resources),
/// laid out for printing on A4. Every piece of text is escaped.
pub fn to_html(doc: &Document) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&doc.title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main class=\"sheet\">");
    for block in &doc.blocks {
        block_html(block, &mut out);
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
        Block::Title(title) => {
            let _ = writeln!(out, "<h1>{}</h1>", escape(title));
        }
        Block::Subtitle(subtitle) => {
            let _ = writeln!(out, "<div class=\"subtitle\">{}</div>", escape(subtitle));
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
        Block::Signature(Signature { post, name, seal }) => {
            out.push_str("<section class=\"signature\">\n<div class=\"post\">");
            let post: Vec<String> = post.iter().map(|p| escape(p)).collect();
            out.push_str(&post.join("<br>"));
            let _ = writeln!(
                out,
                "</div>\n<div class=\"line\"></div>\n<div class=\"who\">{}</div>\n</section>",
                escape(name)
            );
            if let Some(seal) = seal {
                let _ = writeln!(out, "<div class=\"seal\">{}</div>", escape(seal));
            }
        }
        Block::PageBreak => out.push_str("<div class=\"page-break\"></div>\n"),
    }
}

fn table_html(table: &Table, out: &mut String) {
    out.push_str("<table class=\"grid\">\n");
    if let Some(caption) = table.caption_text() {
        let _ = writeln!(out, "<caption>{}</caption>", escape(&caption));
    }
    out.push_str("<thead><tr>");
    for column in &table.columns {
        let _ = write!(out, "<th>{}</th>", escape(&column.title));
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
        let text = escape(&span.text).replace('\n', "<br>");
        if span.bold {
            let _ = write!(out, "<b>{text}</b>");
        } else {
            out.push_str(&text);
        }
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
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
    use super::*;
    use crate::templates::markup::parse;

    fn page(body: &str) -> String {
        to_html(&parse(&format!("<document title=\"Заголовок &amp; &lt;x&gt;\">{body}</document>")).expect("parses"))
            .replace('\u{a0}', " ")
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
    fn page_is_a_self_contained_printable_html5_document() {
        let html = page("<title>Т</title><p>x</p>");
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ru\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>Заголовок &amp; &lt;x&gt;</title>"));
        assert!(html.contains("@page { size: A4; margin: 20mm;"));
        assert!(html.trim_end().ends_with("</html>"));
        for outside in ["http://", "https://", "<link", "<script", "src="] {
            assert!(!html.contains(outside), "the page refers to the outside: «{outside}»");
        }
    }

    #[test]
    fn each_block_has_its_html() {
        let html = page(
            "<letterhead><name>ООО «Север»</name><line>ИНН 1</line></letterhead>\
             <addressing><left><line>Исх.</line></left><right><line><b>Кому: </b>Ромашке</line></right></addressing>\
             <title>ПРЕТЕНЗИЯ</title><subtitle>о долге</subtitle><heading>Раздел</heading>\
             <p>Текст <b>жирный</b><br/>дальше</p><note>Заметка</note>\
             <table><caption>Суммы</caption><col align=\"center\" nowrap=\"true\">№</col><col>Что</col>\
             <col align=\"right\" nowrap=\"true\">Сумма</col>\
             <row><cell>1</cell><cell>Акт</cell><cell>5,00</cell></row>\
             <row total=\"true\"><cell span=\"2\">Итого</cell><cell>5,00</cell></row></table>\
             <requisites><line>БИК: 1</line></requisites><pagebreak/>\
             <signature><post>Директор</post><post>ООО «Север»</post><name>Петров</name><seal>М.П.</seal></signature>",
        );
        for expected in [
            "<header class=\"letterhead\">\n<div class=\"name\">ООО «Север»</div>\n<div>ИНН 1</div>\n</header>",
            "<div class=\"out\">\n<div>Исх.</div>\n</div>\n<div class=\"to\">\n<div><b>Кому: </b>Ромашке</div>",
            "<h1>ПРЕТЕНЗИЯ</h1>\n<div class=\"subtitle\">о долге</div>",
            "<h2>Раздел</h2>",
            "<p>Текст <b>жирный</b><br>дальше</p>",
            "<p class=\"note\">Заметка</p>",
            "<caption>Таблица 1. Суммы</caption>\n<thead><tr><th>№</th><th>Что</th><th>Сумма</th></tr></thead>",
            "<tr><td class=\"c nw\">1</td><td class=\"l\">Акт</td><td class=\"r nw\">5,00</td></tr>",
            "<tr class=\"total\"><td class=\"l\" colspan=\"2\">Итого</td><td class=\"r nw\">5,00</td></tr>",
            "<div class=\"requisites\">\n<div>БИК: 1</div>\n</div>",
            "<div class=\"page-break\"></div>",
            "<div class=\"post\">Директор<br>ООО «Север»</div>\n<div class=\"line\"></div>\n<div class=\"who\">Петров</div>",
            "<div class=\"seal\">М.П.</div>",
        ] {
            assert!(html.contains(expected), "missing «{expected}» in\n{html}");
        }
    }

    #[test]
    fn text_that_looks_like_markup_stays_text() {
        let html = page("<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; ООО &quot;Рога &amp; Копыта&quot;</p>");
        assert!(!html.contains("<script"));
        assert!(html.contains("<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; ООО &quot;Рога &amp; Копыта&quot;</p>"));
    }
}
