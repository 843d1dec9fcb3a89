//! The document markup: the small XML vocabulary every template renders to, and its parsed
//! form, [`Document`], which both renderers draw (`html` and `pdf`).
//!
//! ```xml
//! <document title="Претензия № 17 от 10.11.2025 — ООО «Ромашка»">
//!   <letterhead><name>ООО «Север»</name><line>ИНН 7701234567</line></letterhead>
//!   <addressing>
//!     <left><line>Исх. № 17</line></left>
//!     <right><line><b>Кому: </b>ООО «Ромашка»</line></right>
//!   </addressing>
//!   <title>ПРЕТЕНЗИЯ</title>
//!   <subtitle>о погашении задолженности</subtitle>
//!   <heading>Расчет неустойки</heading>
//!   <p>Задолженность составляет <b>1 000,00 руб.</b></p>
//!   <note><b>Основание: </b>п. 6.2 договора.</note>
//!   <table>
//!     <caption>Документы</caption>
//!     <col align="center" nowrap="true">№</col>
//!     <col>Документ</col>
//!     <col align="right" nowrap="true">Сумма</col>
//!     <row><cell>1</cell><cell>Акт № 45</cell><cell>1 000,00</cell></row>
//!     <row total="true"><cell span="2">Итого</cell><cell>1 000,00</cell></row>
//!   </table>
//!   <requisites><line>БИК: 044525225</line></requisites>
//!   <signature><post>Генеральный директор</post><name>Петров П. П.</name><seal>М.П.</seal></signature>
//!   <pagebreak/>
//! </document>
//! ```
//!
//! Text is collapsed the way HTML collapses it: any run of spaces, tabs and line feeds is one
//! space, and blocks are trimmed; `<br/>` breaks a line. `&nbsp;` (and any `&#…;` character
//! reference) is allowed besides XML's own five entities. Russian typographic ties
//! ([`format::tie`]) are applied to all text, so no document has to spell them out. Captioned
//! tables are numbered in order («Таблица 1. …»). Anything outside the vocabulary is an error
//! that names the element and what it may contain: a document is either whole or refused.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::format::{self, NBSP};

/// A parsed document, ready for either renderer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// The document's title: the HTML `<title>` and the PDF's metadata.
    pub title: String,
    /// Its blocks, top to bottom.
    pub blocks: Vec<Block>,
}

/// A run of text, bold or not. A line feed in `text` is a hard line break (`<br/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
}

impl Span {
    pub fn plain(text: impl Into<String>) -> Span {
        Span { text: text.into(), bold: false }
    }
}

/// A line or paragraph made of spans.
pub type Spans = Vec<Span>;

/// Horizontal alignment of a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// A table column: its heading, alignment, and whether its cells may wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub title: String,
    pub align: Align,
    /// Dates and amounts: never broken across lines.
    pub nowrap: bool,
}

/// A table cell spanning `span` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub span: usize,
}

/// A table row; `total` rows are bold and stay with the row above them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub total: bool,
}

/// A bordered table; its heading repeats on every page it runs onto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The number of a captioned table, counted in document order from 1.
    pub number: Option<usize>,
    pub caption: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Table {
    /// «Таблица 1. Документы, …», or the caption alone for an unnumbered table.
    pub fn caption_text(&self) -> Option<String> {
        let caption = self.caption.as_deref()?;
        Some(match self.number {
            Some(n) => format!("Таблица{NBSP}{n}. {caption}"),
            None => caption.to_owned(),
        })
    }

    /// «Продолжение таблицы 1», above the heading repeated on a following page.
    pub fn continued_text(&self) -> String {
        match self.number {
            Some(n) => format!("Продолжение таблицы{NBSP}{n}"),
            None => "Продолжение таблицы".to_owned(),
        }
    }
}

/// The signature block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signer's post, one line each (e.g. the post, then the company).
    pub post: Vec<String>,
    /// The signer's name, printed right of the line to sign on.
    pub name: String,
    /// The place of the seal («М.П.»), when printed.
    pub seal: Option<String>,
}

/// One block of a document, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The sender's letterhead: the name in bold and requisites lines, centred, ruled off.
    Letterhead { name: String, lines: Vec<String> },
    /// Two columns of lines: outgoing number and date on the left, the addressee on the right.
    Addressing { left: Vec<Spans>, right: Vec<Spans> },
    /// The document's title, large, bold, centred.
    Title(String),
    /// The line under the title, bold, centred.
    Subtitle(String),
    /// A section heading, bold, centred.
    Heading(String),
    /// A body paragraph: justified, first line indented.
    Para(Spans),
    /// A short paragraph in smaller type, without indent (a table's basis, a remark).
    Note(Spans),
    /// A bordered table.
    Table(Table),
    /// Payment requisites, one per line, indented, kept together on one page.
    Requisites(Vec<Spans>),
    /// The signature: post on the left, a line to sign on, the name on the right.
    Signature(Signature),
    /// What follows starts on a new page.
    PageBreak,
}

impl Document {
    /// Every text of the document, block by block, in order.
    pub fn texts(&self) -> Vec<String> {
        let spans = |s: &Spans| s.iter().map(|s| s.text.as_str()).collect::<String>();
        let mut out = vec![self.title.clone()];
        for block in &self.blocks {
            match block {
                Block::Letterhead { name, lines } => out.extend(std::iter::once(name.clone()).chain(lines.iter().cloned())),
                Block::Addressing { left, right } => out.extend(left.iter().chain(right).map(spans)),
                Block::Title(t) | Block::Subtitle(t) | Block::Heading(t) => out.push(t.clone()),
                Block::Para(s) | Block::Note(s) => out.push(spans(s)),
                Block::Table(t) => {
                    out.extend(t.caption_text());
                    out.extend(t.columns.iter().map(|c| c.title.clone()));
                    out.extend(t.rows.iter().flat_map(|r| r.cells.iter().map(|c| c.text.clone())));
                }
                Block::Requisites(lines) => out.extend(lines.iter().map(spans)),
                Block::Signature(s) => {
                    out.extend(s.post.iter().cloned());
                    out.push(s.name.clone());
                    out.extend(s.seal.clone());
                }
                Block::PageBreak => {}
            }
        }
        out
    }

    /// The document as an indented outline, one line per item, bold runs as `**…**` and
    /// NO-BREAK SPACEs as `~`: what tests compare against.
    #[cfg(test)]
    pub fn outline(&self) -> String {
        let spans = |s: &Spans| -> String {
            s.iter().map(|s| if s.bold { format!("**{}**", s.text) } else { s.text.clone() }).collect()
        };
        let mut lines: Vec<String> = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Letterhead { name, lines: l } => {
                    lines.push("letterhead".into());
                    lines.push(format!("  name: {name}"));
                    lines.extend(l.iter().map(|l| format!("  line: {l}")));
                }
                Block::Addressing { left, right } => {
                    lines.push("addressing".into());
                    lines.extend(left.iter().map(|l| format!("  left: {}", spans(l))));
                    lines.extend(right.iter().map(|l| format!("  right: {}", spans(l))));
                }
                Block::Title(t) => lines.push(format!("title: {t}")),
                Block::Subtitle(t) => lines.push(format!("subtitle: {t}")),
                Block::Heading(t) => lines.push(format!("heading: {t}")),
                Block::Para(s) => lines.push(format!("p: {}", spans(s))),
                Block::Note(s) => lines.push(format!("note: {}", spans(s))),
                Block::Table(t) => {
                    lines.push(format!("table: {}", t.caption_text().unwrap_or_default()));
                    for c in &t.columns {
                        let align = match c.align {
                            Align::Left => "left",
                            Align::Center => "center",
                            Align::Right => "right",
                        };
                        lines.push(format!("  col {align}{}: {}", if c.nowrap { " nowrap" } else { "" }, c.title));
                    }
                    for r in &t.rows {
                        let cells: Vec<String> = r
                            .cells
                            .iter()
                            .map(|c| if c.span > 1 { format!("[{}] {}", c.span, c.text) } else { c.text.clone() })
                            .collect();
                        lines.push(format!("  {}: {}", if r.total { "total" } else { "row" }, cells.join(" | ")));
                    }
                }
                Block::Requisites(l) => {
                    lines.push("requisites".into());
                    lines.extend(l.iter().map(|l| format!("  line: {}", spans(l))));
                }
                Block::Signature(s) => {
                    lines.push("signature".into());
                    lines.extend(s.post.iter().map(|p| format!("  post: {p}")));
                    lines.push(format!("  name: {}", s.name));
                    lines.extend(s.seal.iter().map(|s| format!("  seal: {s}")));
                }
                Block::PageBreak => lines.push("pagebreak".into()),
            }
        }
        let mut out = lines.join("\n").replace(NBSP, "~");
        out.push('\n');
        out
    }
}

/// Why a text is not a document of the vocabulary: what is wrong, and where (a byte offset
/// into the text, which the engine turns into a template line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MarkupError {
    /// Byte offset of the offending element or text in the markup.
    pub offset: usize,
    pub message: String,
}

/// Parses and checks a document. Either the whole document is returned or the first problem.
pub fn parse(xml: &str) -> Result<Document, MarkupError> {
    let root = tree(xml)?;
    if root.name != "document" {
        return Err(root.error(format!("the document must start with <document>, not <{}>", root.name)));
    }
    let mut reader = Interpreter { tables: 0 };
    let title = root.attrs(&["title"])?.first().cloned().flatten().map(|t| collapse_line(&t)).unwrap_or_default();
    let mut blocks = Vec::new();
    for child in root.elements("<document>", "blocks (p, table, signature, …)")? {
        blocks.push(reader.block(child)?);
    }
    Ok(Document { title, blocks })
}

// --- The element tree -----------------------------------------------------------------------

/// An element of the markup with its attributes and children, and where it starts.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
    offset: usize,
}

#[derive(Debug)]
enum Node {
    Element(Element),
    /// Character data as written (entities resolved, whitespace not yet collapsed).
    Text { text: String, offset: usize },
}

/// Deeper nesting than the vocabulary has is a mistake, not a document.
const MAX_DEPTH: usize = 16;

/// Reads the markup into a tree of elements, checking it is well-formed XML.
fn tree(xml: &str) -> Result<Element, MarkupError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let offset = position(reader.buffer_position());
        let event = reader.read_event().map_err(|e| MarkupError {
            offset: position(reader.error_position()),
            message: format!("the markup is not well-formed XML: {e}"),
        })?;
        let at = |message: String| MarkupError { offset, message };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                return Err(at(format!("<{}> after the end of </document>", e.name().as_ref())));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at("elements are nested too deeply".into()));
                }
                stack.push(element(&e, offset)?);
            }
            Event::Empty(e) => {
                let el = element(&e, offset)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else { return Err(at("a closing tag without an opening one".into())) };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => text(&mut stack, &t.xml10_content(), offset, root.is_some())?,
            Event::CData(t) => text(&mut stack, &t.xml10_content(), offset, root.is_some())?,
            Event::GeneralRef(r) => {
                let resolved: Cow<'_, str> = match r.resolve_char_ref() {
                    Ok(Some(ch)) => Cow::Owned(ch.to_string()),
                    Ok(None) => match entity(&r) {
                        Some(s) => Cow::Borrowed(s),
                        None => {
                            return Err(at(format!(
                                "unknown entity `&{};` (use &amp;, &lt;, &gt;, &quot;, &apos;, &nbsp; or &#…;)",
                                &*r
                            )));
                        }
                    },
                    Err(e) => return Err(at(format!("bad character reference `&{};`: {e}", &*r))),
                };
                text(&mut stack, &resolved, offset, root.is_some())?;
            }
            Event::Comment(_) | Event::Decl(_) => {}
            Event::PI(_) => return Err(at("processing instructions are not part of the markup".into())),
            Event::DocType(_) => return Err(at("a DOCTYPE is not part of the markup".into())),
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(open.error(format!("<{}> is never closed", open.name)));
    }
    root.ok_or(MarkupError { offset: 0, message: "the template produced no document (expected <document>…</document>)".into() })
}

fn position(p: u64) -> usize {
    usize::try_from(p).unwrap_or(usize::MAX)
}

/// Entities besides character references: XML's five and `&nbsp;`.
fn entity(name: &str) -> Option<&'static str> {
    match name {
        "nbsp" => Some("\u{a0}"),
        other => quick_xml::escape::resolve_xml_entity(other),
    }
}

fn element(e: &quick_xml::events::BytesStart<'_>, offset: usize) -> Result<Element, MarkupError> {
    let name = e.name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| MarkupError { offset, message: format!("<{name}> has a malformed attribute: {err}") })?;
        let key = attr.key.as_ref().to_owned();
        let value = attr
            .normalized_value_with(XmlVersion::Implicit1_0, 4, entity)
            .map_err(|err| MarkupError { offset, message: format!("<{name} {key}=…> is malformed: {err}") })?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element { name, attributes, children: Vec::new(), offset })
}

fn text(stack: &mut [Element], text: &str, offset: usize, after_root: bool) -> Result<(), MarkupError> {
    match stack.last_mut() {
        Some(parent) => {
            match parent.children.last_mut() {
                Some(Node::Text { text: last, .. }) => last.push_str(text),
                _ => parent.children.push(Node::Text { text: text.to_owned(), offset }),
            }
            Ok(())
        }
        None if is_blank(text) => Ok(()),
        None => Err(MarkupError {
            offset,
            message: format!(
                "text {} <document>: «{}»",
                if after_root { "after the end of" } else { "before" },
                text.trim().chars().take(40).collect::<String>()
            ),
        }),
    }
}

fn is_blank(s: &str) -> bool {
    s.chars().all(is_space)
}

/// XML whitespace (collapsed); NO-BREAK SPACE is not whitespace here.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

impl Element {
    fn error(&self, message: String) -> MarkupError {
        MarkupError { offset: self.offset, message }
    }

    /// The values of `names` in that order; any other attribute is an error.
    fn attrs(&self, names: &[&str]) -> Result<Vec<Option<String>>, MarkupError> {
        if let Some((unknown, _)) = self.attributes.iter().find(|(k, _)| !names.contains(&k.as_str())) {
            let takes = if names.is_empty() { "no attributes".to_owned() } else { format!("only {}", names.join(", ")) };
            return Err(self.error(format!("<{}> has no attribute `{unknown}`; it takes {takes}", self.name)));
        }
        Ok(names.iter().map(|n| self.attributes.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())).collect())
    }

    /// The child elements of a container; text other than whitespace is an error.
    fn elements(&self, what: &str, expected: &str) -> Result<Vec<&Element>, MarkupError> {
        let mut out = Vec::new();
        for child in &self.children {
            match child {
                Node::Element(e) => out.push(e),
                Node::Text { text, .. } if is_blank(text) => {}
                Node::Text { text, offset } => {
                    return Err(MarkupError {
                        offset: *offset,
                        message: format!(
                            "text directly inside {what} («{}»): it holds {expected}",
                            text.trim().chars().take(40).collect::<String>()
                        ),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Inline content (text, `<b>`, `<br/>`) collapsed and tied.
    fn spans(&self) -> Result<Spans, MarkupError> {
        let mut raw = Vec::new();
        self.collect_inline(false, &mut raw)?;
        Ok(finish_inline(raw))
    }

    /// Plain text content (text only), collapsed and tied.
    fn plain(&self) -> Result<String, MarkupError> {
        let mut text = String::new();
        for child in &self.children {
            match child {
                Node::Text { text: t, .. } => text.push_str(t),
                Node::Element(e) => {
                    return Err(e.error(format!("<{}> holds text only, not <{}>", self.name, e.name)));
                }
            }
        }
        Ok(format::tie(&collapse_line(&text)))
    }

    fn collect_inline(&self, bold: bool, out: &mut Vec<RawPiece>) -> Result<(), MarkupError> {
        for child in &self.children {
            match child {
                Node::Text { text, .. } => out.push(RawPiece::Text { text: text.clone(), bold }),
                Node::Element(e) => match e.name.as_str() {
                    "b" => {
                        e.attrs(&[])?;
                        e.collect_inline(true, out)?;
                    }
                    "br" => {
                        e.attrs(&[])?;
                        if !e.children.is_empty() {
                            return Err(e.error("<br/> is empty".into()));
                        }
                        out.push(RawPiece::Break { bold });
                    }
                    other => {
                        return Err(e.error(format!(
                            "<{other}> cannot stand inside <{}>: it holds text, <b> and <br/>",
                            self.name
                        )));
                    }
                },
            }
        }
        Ok(())
    }
}

/// Inline content before whitespace is collapsed.
enum RawPiece {
    Text { text: String, bold: bool },
    Break { bold: bool },
}

/// Collapses whitespace across the pieces the way HTML does (one space for any run, none at
/// the start or end, none around a line break), sanitises control characters, merges
/// neighbours of the same weight only where a piece is empty, and applies the ties across
/// the whole run, so «5 руб.» before a bold «(пять)» stays together too.
fn finish_inline(raw: Vec<RawPiece>) -> Spans {
    let mut spans: Spans = Vec::new();
    // Whether the output so far ends in a space (or is at a line start, where none is wanted).
    let mut at_space = true;
    for piece in raw {
        let (chars, bold, hard_break): (Vec<char>, bool, bool) = match piece {
            RawPiece::Text { text, bold } => (text.chars().collect(), bold, false),
            RawPiece::Break { bold } => (vec!['\n'], bold, true),
        };
        let mut text = String::new();
        if hard_break {
            // No space before a line break.
            trim_trailing_space(&mut spans, &mut text);
            text.push('\n');
            at_space = true;
        } else {
            for c in chars {
                if is_space(c) {
                    if !at_space {
                        text.push(' ');
                        at_space = true;
                    }
                } else {
                    text.push(sanitise(c));
                    at_space = false;
                }
            }
        }
        if text.is_empty() {
            continue;
        }
        match spans.last_mut() {
            Some(last) if last.bold == bold && hard_break => last.text.push_str(&text),
            _ => spans.push(Span { text, bold }),
        }
    }
    let mut tail = String::new();
    trim_trailing_space(&mut spans, &mut tail);
    spans.retain(|s| !s.text.is_empty());
    tie_spans(&mut spans);
    spans
}

/// Drops a trailing space from the text being built, or else from the last span.
fn trim_trailing_space(spans: &mut Spans, current: &mut String) {
    if current.ends_with(' ') {
        current.pop();
        return;
    }
    if current.is_empty()
        && let Some(last) = spans.last_mut()
        && last.text.ends_with(' ')
    {
        last.text.pop();
    }
}

/// Applies [`format::tie`] to the spans' joint text, keeping each span's characters.
fn tie_spans(spans: &mut Spans) {
    let joint: String = spans.iter().map(|s| s.text.as_str()).collect();
    let tied: Vec<char> = format::tie(&joint).chars().collect();
    let mut at = 0;
    for span in spans.iter_mut() {
        let n = span.text.chars().count();
        span.text = tied[at..(at + n).min(tied.len())].iter().collect();
        at += n;
    }
}

/// Control characters (other than the line feed of `<br/>`) cannot be printed or shown: they
/// become U+FFFD, the same in both renderers.
fn sanitise(c: char) -> char {
    if c.is_control() { '\u{fffd}' } else { c }
}

/// One line of plain text: whitespace collapsed, trimmed, control characters sanitised.
fn collapse_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(is_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().map(sanitise));
    }
    out
}

fn boolean(el: &Element, attr: &str, value: Option<String>) -> Result<bool, MarkupError> {
    match value.as_deref().map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(el.error(format!("<{} {attr}=\"{other}\">: use true or false", el.name))),
    }
}

// --- The vocabulary ---------------------------------------------------------------------------

/// Turns elements into blocks, numbering captioned tables.
struct Interpreter {
    tables: usize,
}

impl Interpreter {
    fn block(&mut self, el: &Element) -> Result<Block, MarkupError> {
        match el.name.as_str() {
            "letterhead" => {
                el.attrs(&[])?;
                let mut name = None;
                let mut lines = Vec::new();
                for child in el.elements("<letterhead>", "<name> and <line>")? {
                    child.attrs(&[])?;
                    match child.name.as_str() {
                        "name" if name.is_none() => name = Some(child.plain()?),
                        "name" => return Err(child.error("<letterhead> has one <name>".into())),
                        "line" => lines.push(child.plain()?),
                        other => return Err(child.error(format!("<letterhead> holds <name> and <line>, not <{other}>"))),
                    }
                }
                Ok(Block::Letterhead { name: name.unwrap_or_default(), lines })
            }
            "addressing" => {
                el.attrs(&[])?;
                let (mut left, mut right) = (None, None);
                for side in el.elements("<addressing>", "<left> and <right>")? {
                    side.attrs(&[])?;
                    let slot = match side.name.as_str() {
                        "left" => &mut left,
                        "right" => &mut right,
                        other => return Err(side.error(format!("<addressing> holds <left> and <right>, not <{other}>"))),
                    };
                    if slot.is_some() {
                        return Err(side.error(format!("<addressing> has one <{}>", side.name)));
                    }
                    *slot = Some(lines(side)?);
                }
                Ok(Block::Addressing { left: left.unwrap_or_default(), right: right.unwrap_or_default() })
            }
            "title" => Ok(Block::Title(simple(el)?)),
            "subtitle" => Ok(Block::Subtitle(simple(el)?)),
            "heading" => Ok(Block::Heading(simple(el)?)),
            "p" => {
                el.attrs(&[])?;
                Ok(Block::Para(el.spans()?))
            }
            "note" => {
                el.attrs(&[])?;
                Ok(Block::Note(el.spans()?))
            }
            "table" => self.table(el).map(Block::Table),
            "requisites" => {
                el.attrs(&[])?;
                Ok(Block::Requisites(lines(el)?))
            }
            "signature" => signature(el).map(Block::Signature),
            "pagebreak" => {
                el.attrs(&[])?;
                if el.children.iter().any(|c| !matches!(c, Node::Text { text, .. } if is_blank(text))) {
                    return Err(el.error("<pagebreak/> is empty".into()));
                }
                Ok(Block::PageBreak)
            }
            other => Err(el.error(format!(
                "unknown element <{other}>: a document holds letterhead, addressing, title, subtitle, heading, p, \
                 note, table, requisites, signature and pagebreak"
            ))),
        }
    }

    fn table(&mut self, el: &Element) -> Result<Table, MarkupError> {
        el.attrs(&[])?;
        let mut caption = None;
        let mut columns: Vec<Column> = Vec::new();
        let mut rows = Vec::new();
        for child in el.elements("<table>", "<caption>, <col> and <row>")? {
            match child.name.as_str() {
                "caption" if caption.is_some() => return Err(child.error("<table> has one <caption>".into())),
                "caption" if !columns.is_empty() || !rows.is_empty() => {
                    return Err(child.error("<caption> comes first in <table>".into()));
                }
                "caption" => {
                    child.attrs(&[])?;
                    caption = Some(child.plain()?);
                }
                "col" if !rows.is_empty() => return Err(child.error("every <col> comes before the first <row>".into())),
                "col" => {
                    let [align, nowrap] = <[Option<String>; 2]>::try_from(child.attrs(&["align", "nowrap"])?)
                        .map_err(|_| child.error("<col> attributes".into()))?;
                    let align = match align.as_deref().map(str::trim) {
                        None | Some("left") => Align::Left,
                        Some("center") => Align::Center,
                        Some("right") => Align::Right,
                        Some(other) => {
                            return Err(child.error(format!("<col align=\"{other}\">: use left, center or right")));
                        }
                    };
                    let nowrap = boolean(child, "nowrap", nowrap)?;
                    columns.push(Column { title: child.plain()?, align, nowrap });
                }
                "row" => rows.push(row(child, columns.len())?),
                other => return Err(child.error(format!("<table> holds <caption>, <col> and <row>, not <{other}>"))),
            }
        }
        if columns.is_empty() {
            return Err(el.error("a <table> needs at least one <col>".into()));
        }
        let number = caption.is_some().then(|| {
            self.tables += 1;
            self.tables
        });
        Ok(Table { number, caption, columns, rows })
    }
}

/// `<line>` children with inline content.
fn lines(el: &Element) -> Result<Vec<Spans>, MarkupError> {
    let mut out = Vec::new();
    for line in el.elements(&format!("<{}>", el.name), "<line> elements")? {
        if line.name != "line" {
            return Err(line.error(format!("<{}> holds <line> elements, not <{}>", el.name, line.name)));
        }
        line.attrs(&[])?;
        out.push(line.spans()?);
    }
    Ok(out)
}

fn simple(el: &Element) -> Result<String, MarkupError> {
    el.attrs(&[])?;
    el.plain()
}

fn row(el: &Element, columns: usize) -> Result<Row, MarkupError> {
    let [total] = <[Option<String>; 1]>::try_from(el.attrs(&["total"])?).map_err(|_| el.error("<row> attributes".into()))?;
    let total = boolean(el, "total", total)?;
    let mut cells = Vec::new();
    let mut width = 0;
    for cell in el.elements("<row>", "<cell> elements")? {
        if cell.name != "cell" {
            return Err(cell.error(format!("<row> holds <cell> elements, not <{}>", cell.name)));
        }
        let [span] = <[Option<String>; 1]>::try_from(cell.attrs(&["span"])?).map_err(|_| cell.error("<cell> attributes".into()))?;
        let span = match span.as_deref().map(str::trim) {
            None => 1,
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| cell.error(format!("<cell span=\"{s}\">: a span is a whole number of columns, 1 or more")))?,
        };
        width += span;
        cells.push(Cell { text: cell.plain()?, span });
    }
    if width != columns {
        return Err(el.error(format!(
            "this <row> spans {width} column{} but the table has {columns}",
            if width == 1 { "" } else { "s" }
        )));
    }
    Ok(Row { cells, total })
}

fn signature(el: &Element) -> Result<Signature, MarkupError> {
    el.attrs(&[])?;
    let mut post = Vec::new();
    let (mut name, mut seal) = (None, None);
    for child in el.elements("<signature>", "<post>, <name> and <seal>")? {
        child.attrs(&[])?;
        let slot = match child.name.as_str() {
            "post" => {
                post.push(child.plain()?);
                continue;
            }
            "name" => &mut name,
            "seal" => &mut seal,
            other => return Err(child.error(format!("<signature> holds <post>, <name> and <seal>, not <{other}>"))),
        };
        if slot.is_some() {
            return Err(child.error(format!("<signature> has one <{}>", child.name)));
        }
        *slot = Some(child.plain()?);
    }
    let name = name.ok_or_else(|| el.error("<signature> needs a <name> (the signer's name, or a blank to fill in)".into()))?;
    Ok(Signature { post, name, seal })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> Document {
        parse(&format!("<document title=\"Т\">{body}</document>")).unwrap_or_else(|e| panic!("{e} at {}", e.offset))
    }

    fn refused(xml: &str) -> MarkupError {
        parse(xml).expect_err("refused")
    }

    #[test]
    fn every_block_of_the_vocabulary_parses() {
        let d = parse(
            r#"<?xml version="1.0"?>
            <!-- a comment -->
            <document title="  Претензия
                № 1 ">
              <letterhead><name>ООО «Север»</name><line>ИНН 7701234567</line><line>г. Москва</line></letterhead>
              <addressing>
                <left><line>Исх. № 1</line></left>
                <right><line><b>Кому: </b><b>ООО «Ромашка»</b></line><line>Адрес: г. Омск</line></right>
              </addressing>
              <title>ПРЕТЕНЗИЯ</title>
              <subtitle>о погашении задолженности</subtitle>
              <heading>Расчет</heading>
              <p>Сумма <b>5 руб.</b> (пять)</p>
              <note><b>Основание: </b>договор.</note>
              <table>
                <caption>Документы</caption>
                <col align="center" nowrap="true">№</col>
                <col>Документ</col>
                <col align="right" nowrap="true">Сумма</col>
                <row><cell>1</cell><cell>Акт в срок</cell><cell>5,00</cell></row>
                <row total="true"><cell span="2">Итого</cell><cell/></row>
              </table>
              <table><col>Без подписи</col><row><cell>x</cell></row></table>
              <table><caption>Вторая</caption><col>a</col></table>
              <requisites><line>БИК: 044525225</line></requisites>
              <pagebreak/>
              <signature><post>Директор</post><post>ООО «Север»</post><name>Петров П. П.</name><seal>М.П.</seal></signature>
            </document>"#,
        )
        .expect("parses");
        assert_eq!(d.title, "Претензия № 1");
        assert_eq!(
            d.outline(),
            "letterhead\n  name: ООО «Север»\n  line: ИНН 7701234567\n  line: г.~Москва\n\
             addressing\n  left: Исх. №~1\n  right: **Кому: ****ООО «Ромашка»**\n  right: Адрес: г.~Омск\n\
             title: ПРЕТЕНЗИЯ\nsubtitle: о~погашении задолженности\nheading: Расчет\n\
             p: Сумма **5 руб.**~(пять)\nnote: **Основание: **договор.\n\
             table: Таблица~1. Документы\n  col center nowrap: №\n  col left: Документ\n  col right nowrap: Сумма\n\
             \x20 row: 1 | Акт в~срок | 5,00\n  total: [2] Итого | \n\
             table: \n  col left: Без подписи\n  row: x\n\
             table: Таблица~2. Вторая\n  col left: a\n\
             requisites\n  line: БИК: 044525225\n\
             pagebreak\n\
             signature\n  post: Директор\n  post: ООО «Север»\n  name: Петров П. П.\n  seal: М.П.\n"
        );
        let Block::Table(second) = &d.blocks[8] else { panic!("a table") };
        assert_eq!(second.continued_text(), "Продолжение таблицы");
    }

    #[test]
    fn whitespace_collapses_like_html_and_line_breaks_are_kept() {
        let d = doc("<p>\n   Один  \t два\n<b> три </b> четыре <br/>  пять<br/></p><p> </p>");
        let Block::Para(spans) = &d.blocks[0] else { panic!("a paragraph") };
        let texts: Vec<(&str, bool)> = spans.iter().map(|s| (s.text.as_str(), s.bold)).collect();
        assert_eq!(texts, [("Один два ", false), ("три ", true), ("четыре\n", false), ("пять\n", false)]);
        assert_eq!(d.blocks[1], Block::Para(vec![]));
    }

    #[test]
    fn entities_and_character_references_become_text() {
        let d = doc("<p>ГК&nbsp;РФ &amp; &lt;b&gt; &quot;x&quot; &apos;y&apos; &#x2f; &#160;z</p>");
        let Block::Para(spans) = &d.blocks[0] else { panic!("a paragraph") };
        assert_eq!(spans, &[Span::plain("ГК\u{a0}РФ & <b> \"x\" 'y' / \u{a0}z")]);
        let e = refused("<document><p>&copy;</p></document>");
        assert!(e.message.contains("unknown entity `&copy;`"), "{e}");
    }

    #[test]
    fn ties_run_across_bold_and_plain_runs() {
        let d = doc("<p>Сумма 5 руб. <b>(пять)</b> в срок</p>");
        let Block::Para(spans) = &d.blocks[0] else { panic!("a paragraph") };
        assert_eq!(spans[0].text, "Сумма 5 руб.\u{a0}");
        assert_eq!(spans[2].text, " в\u{a0}срок");
    }

    #[test]
    fn control_characters_are_replaced_not_passed_on() {
        let d = doc("<p>a&#7;b\u{1}c</p><title>x\u{8}y</title>");
        assert_eq!(d.blocks[0], Block::Para(vec![Span::plain("a\u{fffd}b\u{fffd}c")]));
        assert_eq!(d.blocks[1], Block::Title("x\u{fffd}y".into()));
    }

    #[test]
    fn mistakes_are_refused_with_what_is_wrong_and_where() {
        let cases = [
            ("<document><tabel/></document>", "unknown element <tabel>", 10),
            ("<document><p>a</b></p></document>", "not well-formed", 14),
            ("<document><p>a</document>", "not well-formed", 14),
            ("<document><p>a", "<p> is never closed", 10),
            ("<p>x</p>", "must start with <document>", 0),
            ("", "produced no document", 0),
            ("<document/><p/>", "after the end", 11),
            ("текст<document/>", "text before <document>", 0),
            ("<document>голый текст</document>", "text directly inside <document>", 10),
            ("<document><p class=\"x\">a</p></document>", "<p> has no attribute `class`", 10),
            ("<document><p><i>a</i></p></document>", "<i> cannot stand inside <p>", 13),
            ("<document><title><b>a</b></title></document>", "<title> holds text only", 17),
            ("<document><table><row><cell>1</cell></row></table></document>", "this <row> spans 1 column but the table has 0", 17),
            ("<document><table><col>a</col><col>b</col><row><cell>1</cell></row></table></document>", "spans 1 column but the table has 2", 41),
            ("<document><table><col>a</col><row><cell span=\"0\">1</cell></row></table></document>", "a span is a whole number", 34),
            ("<document><table><col align=\"middle\">a</col></table></document>", "use left, center or right", 17),
            ("<document><table><col nowrap=\"yes\">a</col></table></document>", "use true or false", 17),
            ("<document><table></table></document>", "needs at least one <col>", 10),
            ("<document><table><col>a</col><row><cell>1</cell></row><col>b</col></table></document>", "every <col> comes before", 54),
            ("<document><signature><post>x</post></signature></document>", "needs a <name>", 10),
            ("<document><signature><name>a</name><name>b</name></signature></document>", "one <name>", 35),
            ("<document><pagebreak>x</pagebreak></document>", "is empty", 10),
            ("<document><!DOCTYPE x></document>", "DOCTYPE", 10),
        ];
        for (xml, message, offset) in cases {
            let e = refused(xml);
            assert!(e.message.contains(message), "{xml}: «{}» lacks «{message}»", e.message);
            assert_eq!(e.offset, offset, "{xml}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let xml = format!("<document><p>{}x{}</p></document>", "<b>".repeat(20), "</b>".repeat(20));
        assert!(refused(&xml).message.contains("nested too deeply"));
    }
}
