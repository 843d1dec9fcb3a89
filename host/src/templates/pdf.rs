//! A document as an A4 PDF.
//!
//! The document is laid out here, in two passes: `layout` flows its blocks onto pages
//! (wrapping text by the font's advance widths, breaking tables between rows and repeating
//! their heading, keeping payment details and the signature with the text before them), then
//! `render` draws the pages with `krilla`, adding «Стр. N из M» now that the number of pages is
//! known.
//!
//! The font is Liberation Serif (SIL Open Font License 1.1, metrically compatible with Times New
//! Roman, the customary face of Russian business documents), regular and bold, compiled in from
//! `assets/fonts/`; `krilla` embeds only the glyphs used, so a document stays small.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use super::format::NBSP;
use super::markup::{Align, Block, Document, Signature, Span, Spans, Table};

const REGULAR_TTF: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts/LiberationSerif-Regular.ttf"));
const BOLD_TTF: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts/LiberationSerif-Bold.ttf"));

/// Why the PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The compiled-in font cannot be read (a broken build, not bad data).
    #[error("the embedded font cannot be read")]
    Font,
    /// `krilla` refused to write the document.
    #[error("the PDF cannot be written: {0}")]
    Write(String),
}

/// Renders the document as an A4 PDF: 20 mm margins, embedded subsetted font, text that wraps
/// and can be copied, tables that flow onto following pages with their heading repeated, and
/// «Стр. N из M» at the foot of every page.
pub fn to_pdf(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts::load()?;
    let pages = layout(doc, &fonts);
    render(doc, &pages, &fonts)
}

/// The characters of `doc` the embedded font cannot draw (they print as a box), each once.
pub fn missing_glyphs(doc: &Document) -> Result<Vec<char>, PdfError> {
    let fonts = Fonts::load()?;
    let mut missing: Vec<char> = Vec::new();
    for ch in doc.texts().iter().flat_map(|t| t.chars()) {
        let drawn = ch.is_whitespace() || ch.is_control() || (fonts.regular.has(ch) && fonts.bold.has(ch));
        if !drawn && !missing.contains(&ch) {
            missing.push(ch);
        }
    }
    Ok(missing)
}

// --- Geometry, in PDF points (1/72 inch); y grows downwards from the top of the page. --------

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0 * MM;
const PAGE_H: f32 = 297.0 * MM;
const LEFT: f32 = 20.0 * MM;
const RIGHT: f32 = PAGE_W - 20.0 * MM;
const TOP: f32 = 20.0 * MM;
const BOTTOM: f32 = PAGE_H - 20.0 * MM;
const WIDTH: f32 = RIGHT - LEFT;
/// Baseline of the page number, inside the bottom margin.
const FOOTER_BASELINE: f32 = PAGE_H - 11.0 * MM;

const BODY: f32 = 12.0;
const BODY_LEADING: f32 = 1.2;
const SMALL: f32 = 10.0;
const NOTE: f32 = 10.5;
const TABLE: f32 = 9.0;
const TABLE_LEADING: f32 = 1.15;
const INDENT: f32 = 12.5 * MM;
const CELL_PAD_X: f32 = 3.0;
const CELL_PAD_Y: f32 = 2.0;
const RULE: f32 = 0.5;
const EPS: f32 = 0.01;

// --- Fonts ------------------------------------------------------------------------------------

/// One face: the `krilla` font to draw with and the `skrifa` tables to measure with.
struct Face {
    font: krilla::text::Font,
    charmap: skrifa::charmap::Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
    /// Ascent and descent in ems (both positive).
    ascent: f32,
    descent: f32,
}

impl Face {
    fn load(ttf: &'static [u8]) -> Result<Face, PdfError> {
        let font_ref = FontRef::new(ttf).map_err(|_| PdfError::Font)?;
        let m = font_ref.metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(m.units_per_em);
        if units_per_em <= 0.0 {
            return Err(PdfError::Font);
        }
        Ok(Face {
            font: krilla::text::Font::new(ttf.into(), 0).ok_or(PdfError::Font)?,
            charmap: font_ref.charmap(),
            metrics: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em,
            ascent: m.ascent / units_per_em,
            descent: -m.descent / units_per_em,
        })
    }

    /// The glyph for `ch` and its advance in ems. Spaces the font lacks fall back to the
    /// space glyph; anything else it lacks to .notdef (a visible box), never to nothing.
    fn glyph(&self, ch: char) -> (u32, f32) {
        let gid = self
            .charmap
            .map(ch)
            .or_else(|| if ch.is_whitespace() { self.charmap.map(' ') } else { None })
            .unwrap_or_default();
        let advance = self.metrics.advance_width(gid).unwrap_or(0.0) / self.units_per_em;
        (gid.to_u32(), advance)
    }

    fn has(&self, ch: char) -> bool {
        self.charmap.map(ch).is_some()
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|ch| self.glyph(ch).1).sum::<f32>() * size
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    fn load() -> Result<Fonts, PdfError> {
        Ok(Fonts { regular: Face::load(REGULAR_TTF)?, bold: Face::load(BOLD_TTF)? })
    }

    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    /// Height of a line of `size` text with `leading`, and its baseline below the line's top.
    fn line_metrics(&self, size: f32, leading: f32) -> (f32, f32) {
        let f = &self.regular;
        let height = size * leading;
        let content = (f.ascent + f.descent) * size;
        (height, (height - content) / 2.0 + f.ascent * size)
    }
}

// --- The display list ---------------------------------------------------------------------------

/// One drawing operation on a page.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// A run of text in one face starting at `(x, baseline)`, with the advance of each
    /// character in points (justification widens the spaces).
    Text { x: f32, baseline: f32, size: f32, bold: bool, text: String, advances: Vec<f32> },
    /// A straight line.
    Line { x1: f32, y1: f32, x2: f32, y2: f32, width: f32 },
    /// A grey rectangle (table heading background).
    Shade { x: f32, y: f32, w: f32, h: f32 },
}

// --- Line breaking ---------------------------------------------------------------------------

/// A piece of a word in one face.
#[derive(Debug, Clone, Default)]
struct Piece {
    bold: bool,
    text: String,
    width: f32,
}

/// Text between two breakable spaces (U+0020); no-break spaces stay inside words.
#[derive(Debug, Clone, Default)]
struct Word {
    pieces: Vec<Piece>,
    width: f32,
}

impl Word {
    fn push(&mut self, bold: bool, ch: char, width: f32) {
        match self.pieces.last_mut() {
            Some(p) if p.bold == bold => {
                p.text.push(ch);
                p.width += width;
            }
            _ => self.pieces.push(Piece { bold, text: ch.to_string(), width }),
        }
        self.width += width;
    }

    fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
}

/// One line of a wrapped paragraph.
#[derive(Debug, Clone, Default)]
struct Line {
    words: Vec<Word>,
    /// Natural width: the words and one space between each two.
    width: f32,
    /// The paragraph's last line (or one ended by a line feed): never justified.
    last: bool,
}

/// How a line sits in its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextAlign {
    Left,
    Center,
    Right,
    Justify,
}

impl From<Align> for TextAlign {
    fn from(a: Align) -> TextAlign {
        match a {
            Align::Left => TextAlign::Left,
            Align::Center => TextAlign::Center,
            Align::Right => TextAlign::Right,
        }
    }
}

/// Breaks `spans` into lines no wider than `first` (the first line) and `rest` (the others),
/// at spaces; a word wider than its line is broken between letters.
fn wrap(fonts: &Fonts, spans: &[Span], size: f32, first: f32, rest: f32) -> Vec<Line> {
    let mut w = Wrapper {
        fonts,
        size,
        first,
        rest,
        space: fonts.regular.width(" ", size),
        lines: Vec::new(),
        line: Line::default(),
    };
    let mut word = Word::default();
    for span in spans {
        let face = fonts.face(span.bold);
        for ch in span.text.chars() {
            match ch {
                ' ' | '\t' | '\r' => w.place(std::mem::take(&mut word)),
                '\n' => {
                    w.place(std::mem::take(&mut word));
                    w.line.last = true;
                    w.lines.push(std::mem::take(&mut w.line));
                }
                c if c.is_control() => {}
                c => word.push(span.bold, c, face.glyph(c).1 * size),
            }
        }
    }
    w.place(word);
    let mut lines = w.lines;
    if !w.line.words.is_empty() || lines.is_empty() {
        lines.push(w.line);
    }
    if let Some(last) = lines.last_mut() {
        last.last = true;
    }
    lines
}

/// The state of [`wrap`]: the lines so far and the one being filled.
struct Wrapper<'f> {
    fonts: &'f Fonts,
    size: f32,
    first: f32,
    rest: f32,
    space: f32,
    lines: Vec<Line>,
    line: Line,
}

impl Wrapper<'_> {
    /// The width of the line being filled.
    fn avail(&self) -> f32 {
        if self.lines.is_empty() { self.first } else { self.rest }
    }

    /// Puts a word on the current line, or starts a new one (cutting the word if it is wider
    /// than a whole line).
    fn place(&mut self, word: Word) {
        if word.is_empty() {
            return;
        }
        let gap = if self.line.words.is_empty() { 0.0 } else { self.space };
        if self.line.width + gap + word.width <= self.avail() + EPS {
            self.line.width += gap + word.width;
            self.line.words.push(word);
            return;
        }
        if !self.line.words.is_empty() {
            self.lines.push(std::mem::take(&mut self.line));
        }
        let mut word = word;
        while word.width > self.avail() + EPS {
            let (head, tail) = split_word(self.fonts, word, self.size, self.avail());
            self.lines.push(Line { width: head.width, words: vec![head], last: false });
            word = tail;
        }
        if !word.is_empty() {
            self.line.width = word.width;
            self.line.words.push(word);
        }
    }
}

/// Splits a word that does not fit into a head no wider than `avail` (at least one letter)
/// and the rest.
fn split_word(fonts: &Fonts, word: Word, size: f32, avail: f32) -> (Word, Word) {
    let mut head = Word::default();
    let mut tail = Word::default();
    for piece in word.pieces {
        let face = fonts.face(piece.bold);
        for ch in piece.text.chars() {
            let width = face.glyph(ch).1 * size;
            if tail.is_empty() && (head.is_empty() || head.width + width <= avail + EPS) {
                head.push(piece.bold, ch, width);
            } else {
                tail.push(piece.bold, ch, width);
            }
        }
    }
    (head, tail)
}

// --- Page flow -------------------------------------------------------------------------------

/// The pages being filled and the position on the last one.
struct Flow<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl<'f> Flow<'f> {
    fn new(fonts: &'f Fonts) -> Flow<'f> {
        Flow { fonts, pages: vec![Vec::new()], y: TOP }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` fits below the current position (or the page is
    /// still empty: what does not fit on an empty page is placed anyway).
    fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM + EPS && self.y > TOP + EPS {
            self.new_page();
        }
    }

    fn space(&mut self, height: f32) {
        if self.y > TOP + EPS {
            self.y = (self.y + height).min(BOTTOM);
        }
    }

    /// Draws one line with its top at `top`, in the box `x..x + avail`.
    #[allow(clippy::too_many_arguments)]
    fn line(&mut self, line: &Line, x: f32, avail: f32, top: f32, size: f32, leading: f32, align: TextAlign) {
        let (_, baseline) = self.fonts.line_metrics(size, leading);
        let space = self.fonts.regular.width(" ", size);
        // Each word as (bold, char, stretches): no-break spaces stretch with the line too,
        // except between digits (the thousands separator of an amount keeps its width).
        let words: Vec<Vec<(bool, char, bool)>> = line
            .words
            .iter()
            .map(|w| {
                let chars: Vec<(bool, char)> =
                    w.pieces.iter().flat_map(|p| p.text.chars().map(move |c| (p.bold, c))).collect();
                (0..chars.len())
                    .map(|i| {
                        let digit =
                            |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| c.1.is_ascii_digit());
                        let (bold, ch) = chars[i];
                        let stretches = ch == NBSP && !(digit(i.checked_sub(1)) && digit(Some(i + 1)));
                        (bold, ch, stretches)
                    })
                    .collect()
            })
            .collect();
        let stretches =
            words.len().saturating_sub(1) + words.iter().flatten().filter(|(_, _, stretches)| *stretches).count();
        let slack = (avail - line.width).max(0.0);
        let (mut cursor, extra) = match align {
            TextAlign::Left => (x, 0.0),
            TextAlign::Right => (x + slack, 0.0),
            TextAlign::Center => (x + slack / 2.0, 0.0),
            // A line with a huge gap (before an unbreakable long word) reads better ragged.
            TextAlign::Justify if !line.last && stretches > 0 && slack / (stretches as f32) < size * 1.5 => {
                (x, slack / stretches as f32)
            }
            TextAlign::Justify => (x, 0.0),
        };
        let mut runs: Vec<Op> = Vec::new();
        let push = |runs: &mut Vec<Op>, cursor: f32, bold: bool, ch: char, advance: f32| match runs.last_mut() {
            Some(Op::Text { bold: b, text, advances, .. }) if *b == bold => {
                text.push(ch);
                advances.push(advance);
            }
            _ => runs.push(Op::Text {
                x: cursor,
                baseline: top + baseline,
                size,
                bold,
                text: ch.to_string(),
                advances: vec![advance],
            }),
        };
        for (i, word) in words.iter().enumerate() {
            for &(bold, ch, stretches) in word {
                let advance = self.fonts.face(bold).glyph(ch).1 * size + if stretches { extra } else { 0.0 };
                push(&mut runs, cursor, bold, ch, advance);
                cursor += advance;
            }
            if i + 1 < words.len() {
                let bold = word.last().is_some_and(|c| c.0);
                push(&mut runs, cursor, bold, ' ', space + extra);
                cursor += space + extra;
            }
        }
        self.ops().extend(runs);
    }

    /// A paragraph flowing across pages line by line, never leaving one line alone at the foot
    /// or the head of a page. `keep_after` is the height of what must follow on the same page
    /// as the paragraph's last lines (payment details, the signature).
    #[allow(clippy::too_many_arguments)]
    fn paragraph(
        &mut self,
        spans: &[Span],
        size: f32,
        leading: f32,
        align: TextAlign,
        x: f32,
        indent: f32,
        keep_after: f32,
    ) {
        let width = RIGHT - x;
        let lines = wrap(self.fonts, spans, size, width - indent, width);
        let (height, _) = self.fonts.line_metrics(size, leading);
        let n = lines.len();
        // The lines that go with what follows: the last two, or all of a short paragraph.
        let tail = if n <= 3 { 0 } else { n - 2 };
        self.ensure(height * n.min(2) as f32);
        for (i, line) in lines.iter().enumerate() {
            if i == tail && keep_after > 0.0 {
                self.ensure(height * (n - i) as f32 + keep_after);
            } else if i >= 2 && n - i == 2 && self.y + 2.0 * height > BOTTOM + EPS {
                // No single last line at the top of a page: take one more line along.
                self.new_page();
            }
            self.ensure(height);
            let (lx, avail) = if i == 0 { (x + indent, width - indent) } else { (x, width) };
            let top = self.y;
            self.line(line, lx, avail, top, size, leading, align);
            self.y += height;
        }
    }

    fn rule(&mut self, width: f32) {
        let y = self.y;
        self.ops().push(Op::Line { x1: LEFT, y1: y, x2: RIGHT, y2: y, width });
    }

    /// Lines of text stacked in a box, without page breaks (for blocks kept together).
    /// Returns the height used.
    fn stack(&mut self, lines: &[Spans], x: f32, width: f32, top: f32, size: f32, align: TextAlign) -> f32 {
        let (height, _) = self.fonts.line_metrics(size, BODY_LEADING);
        let mut y = top;
        for spans in lines {
            for line in wrap(self.fonts, spans, size, width, width) {
                self.line(&line, x, width, y, size, BODY_LEADING, align);
                y += height;
            }
        }
        y - top
    }

    /// Height of [`Self::stack`] without drawing.
    fn stack_height(&self, lines: &[Spans], width: f32, size: f32) -> f32 {
        let (height, _) = self.fonts.line_metrics(size, BODY_LEADING);
        lines.iter().map(|spans| wrap(self.fonts, spans, size, width, width).len() as f32 * height).sum()
    }
}

// --- Tables ----------------------------------------------------------------------------------

/// A table cell wrapped to its width.
struct LaidCell {
    x: f32,
    width: f32,
    lines: Vec<Line>,
    align: TextAlign,
}

/// A table row ready to draw.
struct LaidRow {
    cells: Vec<LaidCell>,
    height: f32,
}

/// Column widths: every column gets its widest unbreakable content (whole dates and amounts,
/// the longest word elsewhere); the room left goes to the columns whose text would otherwise
/// wrap, in proportion to how much more they want, the way browsers size tables.
fn column_widths(fonts: &Fonts, table: &Table, total: f32) -> Vec<f32> {
    let n = table.columns.len();
    let mut min = vec![0.0_f32; n];
    let mut pref = vec![0.0_f32; n];
    let space = fonts.regular.width(" ", TABLE);
    let longest_word =
        |text: &str, bold: bool| text.split(' ').map(|w| fonts.face(bold).width(w, TABLE)).fold(0.0_f32, f32::max);
    for (c, column) in table.columns.iter().enumerate() {
        min[c] = longest_word(&column.title, true);
    }
    for row in &table.rows {
        let mut c = 0;
        for cell in &row.cells {
            let span = cell.span.max(1);
            if span == 1 && c < n {
                let full = fonts.face(row.total).width(&cell.text, TABLE);
                let unbreakable = if table.columns[c].nowrap { full } else { longest_word(&cell.text, row.total) };
                min[c] = min[c].max(unbreakable);
                pref[c] = pref[c].max(full);
            }
            c += span;
        }
    }
    let pad = 2.0 * CELL_PAD_X + space * 0.25;
    for c in 0..n {
        min[c] += pad;
        pref[c] = (pref[c] + pad).max(min[c]);
    }
    let min_sum: f32 = min.iter().sum();
    if min_sum >= total {
        // Too narrow even for the unbreakable content: shrink everything; long words then
        // break between letters rather than run out of the cell.
        return min.iter().map(|m| m * total / min_sum).collect();
    }
    let extra = total - min_sum;
    let want: Vec<f32> = (0..n).map(|c| pref[c] - min[c]).collect();
    let want_sum: f32 = want.iter().sum();
    if want_sum > extra {
        (0..n).map(|c| min[c] + extra * want[c] / want_sum).collect()
    } else {
        let pref_sum: f32 = pref.iter().sum();
        let left = extra - want_sum;
        (0..n).map(|c| pref[c] + left * pref[c] / pref_sum).collect()
    }
}

impl Flow<'_> {
    fn lay_row(&self, texts: &[(String, usize)], widths: &[f32], table: &Table, bold: bool, header: bool) -> LaidRow {
        let (line_h, _) = self.fonts.line_metrics(TABLE, TABLE_LEADING);
        let mut x = LEFT;
        let mut c = 0;
        let mut cells = Vec::new();
        let mut height: f32 = 0.0;
        for (text, span) in texts {
            let span = (*span).max(1);
            let width: f32 = widths.iter().skip(c).take(span).sum();
            let align = if header {
                TextAlign::Center
            } else if span > 1 {
                TextAlign::Left
            } else {
                table.columns.get(c).map_or(TextAlign::Left, |col| col.align.into())
            };
            let spans = [Span { text: text.clone(), bold }];
            let inner = (width - 2.0 * CELL_PAD_X).max(1.0);
            let lines = wrap(self.fonts, &spans, TABLE, inner, inner);
            height = height.max(lines.len() as f32 * line_h);
            cells.push(LaidCell { x, width, lines, align });
            x += width;
            c += span;
        }
        LaidRow { cells, height: height + 2.0 * CELL_PAD_Y }
    }

    fn draw_row(&mut self, row: &LaidRow, header: bool) {
        let (line_h, _) = self.fonts.line_metrics(TABLE, TABLE_LEADING);
        let top = self.y;
        let bottom = top + row.height;
        if header {
            self.ops().push(Op::Shade { x: LEFT, y: top, w: WIDTH, h: row.height });
        }
        for cell in &row.cells {
            let used = cell.lines.len() as f32 * line_h;
            // Headings are centred vertically; data rows hang from the top.
            let mut y = if header { top + (row.height - used) / 2.0 } else { top + CELL_PAD_Y };
            for line in &cell.lines {
                self.line(
                    line,
                    cell.x + CELL_PAD_X,
                    cell.width - 2.0 * CELL_PAD_X,
                    y,
                    TABLE,
                    TABLE_LEADING,
                    cell.align,
                );
                y += line_h;
            }
            self.ops().push(Op::Line { x1: cell.x, y1: top, x2: cell.x, y2: bottom, width: RULE });
        }
        let ops = self.ops();
        ops.push(Op::Line { x1: RIGHT, y1: top, x2: RIGHT, y2: bottom, width: RULE });
        ops.push(Op::Line { x1: LEFT, y1: top, x2: RIGHT, y2: top, width: RULE });
        ops.push(Op::Line { x1: LEFT, y1: bottom, x2: RIGHT, y2: bottom, width: RULE });
        self.y = bottom;
    }

    /// A table: the caption kept with the heading and the first row (and the total rows
    /// right after it), so a heading never stands alone at the bottom of a page; rows never
    /// split; on each following page «Продолжение таблицы N» and the heading again.
    fn table(&mut self, table: &Table) {
        let widths = column_widths(self.fonts, table, WIDTH);
        let titles: Vec<(String, usize)> = table.columns.iter().map(|c| (c.title.clone(), 1)).collect();
        let header = self.lay_row(&titles, &widths, table, true, true);
        let rows: Vec<LaidRow> = table
            .rows
            .iter()
            .map(|r| {
                let texts: Vec<(String, usize)> = r.cells.iter().map(|c| (c.text.clone(), c.span)).collect();
                self.lay_row(&texts, &widths, table, r.total, false)
            })
            .collect();
        let caption_lines = match table.caption_text() {
            Some(text) => wrap(self.fonts, &[Span { text, bold: true }], NOTE, WIDTH, WIDTH),
            None => Vec::new(),
        };
        let (caption_h, _) = self.fonts.line_metrics(NOTE, BODY_LEADING);
        // The first row goes with the heading, and with it the total rows that follow it
        // (the rows below never leave those alone either): otherwise a table whose first row
        // moves to the next page would leave its caption and heading alone at the bottom.
        let first = rows.first().map_or(0.0, |r| r.height)
            + rows.iter().zip(&table.rows).skip(1).take_while(|(_, r)| r.total && !table.rows.first().is_some_and(|f| f.total)).map(|(laid, _)| laid.height).sum::<f32>();
        self.space(4.0);
        let caption_gap = if caption_lines.is_empty() { 0.0 } else { 2.0 };
        self.ensure(caption_lines.len() as f32 * caption_h + caption_gap + header.height + first);
        for line in &caption_lines {
            let top = self.y;
            self.line(line, LEFT, WIDTH, top, NOTE, BODY_LEADING, TextAlign::Left);
            self.y += caption_h;
        }
        self.y += caption_gap;
        self.draw_row(&header, true);
        let continued = [Span { text: table.continued_text(), bold: false }];
        let continued = wrap(self.fonts, &continued, SMALL, WIDTH, WIDTH);
        let (continued_h, _) = self.fonts.line_metrics(SMALL, BODY_LEADING);
        for (j, row) in rows.iter().enumerate() {
            // The total rows stay with the last data row above them.
            let totals: f32 = if table.rows.get(j).is_some_and(|r| r.total) {
                0.0
            } else {
                rows.iter().zip(&table.rows).skip(j + 1).take_while(|(_, r)| r.total).map(|(laid, _)| laid.height).sum()
            };
            if self.y + row.height + totals > BOTTOM + EPS {
                self.new_page();
                for line in &continued {
                    let top = self.y;
                    self.line(line, LEFT, WIDTH, top, SMALL, BODY_LEADING, TextAlign::Right);
                    self.y += continued_h;
                }
                self.draw_row(&header, true);
            }
            self.draw_row(row, false);
        }
        self.space(6.0);
    }
}

// --- The document ----------------------------------------------------------------------------

/// Lays the document out on pages; returns each page's drawing operations (without page numbers).
fn layout(doc: &Document, fonts: &Fonts) -> Vec<Vec<Op>> {
    let mut flow = Flow::new(fonts);
    let (body_h, _) = fonts.line_metrics(BODY, BODY_LEADING);
    let blocks = &doc.blocks;
    for (i, block) in blocks.iter().enumerate() {
        // Payment details and the signature never start a page alone.
        let keep_after = match blocks.get(i + 1) {
            Some(Block::Requisites(lines)) => PARA_GAP + requisites_height(&flow, lines),
            Some(Block::Signature(s)) => PARA_GAP + signature_height(&flow, s),
            _ => 0.0,
        };
        match block {
            Block::Letterhead { name, lines } => {
                let mut all = vec![vec![Span { text: name.clone(), bold: true }]];
                let top = flow.y;
                let used = flow.stack(&all, LEFT, WIDTH, top, 13.0, TextAlign::Center);
                flow.y += used;
                all = lines.iter().map(|l| vec![Span { text: l.clone(), bold: false }]).collect();
                let top = flow.y;
                let used = flow.stack(&all, LEFT, WIDTH, top, SMALL, TextAlign::Center);
                flow.y += used + 3.0;
                flow.rule(1.2);
                flow.y += 14.0;
            }
            Block::Addressing { left, right } => {
                let left_w = WIDTH * 0.42;
                let right_x = LEFT + WIDTH * 0.5;
                let right_w = RIGHT - right_x;
                let height = flow.stack_height(left, left_w, 11.0).max(flow.stack_height(right, right_w, 11.0));
                flow.ensure(height);
                let top = flow.y;
                flow.stack(left, LEFT, left_w, top, 11.0, TextAlign::Left);
                flow.stack(right, right_x, right_w, top, 11.0, TextAlign::Left);
                flow.y += height + 22.0;
            }
            Block::Title(title) => {
                let lines = [vec![Span { text: title.clone(), bold: true }]];
                // Kept with the subtitle and the first lines after it.
                flow.ensure(14.0 * BODY_LEADING + body_h * 4.0);
                let top = flow.y;
                flow.y += flow.stack(&lines, LEFT, WIDTH, top, 14.0, TextAlign::Center);
                if !matches!(blocks.get(i + 1), Some(Block::Subtitle(_))) {
                    flow.y += 10.0;
                }
            }
            Block::Subtitle(subtitle) => {
                let lines = [vec![Span { text: subtitle.clone(), bold: true }]];
                flow.ensure(body_h * 4.0);
                let top = flow.y;
                flow.y += flow.stack(&lines, LEFT, WIDTH, top, BODY, TextAlign::Center);
                flow.y += 10.0;
            }
            Block::Heading(text) => {
                flow.space(6.0);
                // Keep the heading with the first lines after it.
                flow.ensure(body_h * 4.0);
                let spans = [Span { text: text.clone(), bold: true }];
                flow.paragraph(&spans, BODY, BODY_LEADING, TextAlign::Center, LEFT, 0.0, 0.0);
                flow.space(3.0);
            }
            Block::Para(spans) => {
                flow.paragraph(spans, BODY, BODY_LEADING, TextAlign::Justify, LEFT, INDENT, keep_after);
                flow.space(PARA_GAP);
            }
            Block::Note(spans) => {
                flow.paragraph(spans, NOTE, BODY_LEADING, TextAlign::Justify, LEFT, 0.0, keep_after);
                flow.space(6.0);
            }
            Block::Table(table) => flow.table(table),
            Block::Requisites(lines) => {
                // Kept together: payment details split over two pages invite mistakes.
                let x = LEFT + INDENT;
                flow.ensure(requisites_height(&flow, lines));
                let top = flow.y;
                flow.y += flow.stack(lines, x, RIGHT - x, top, BODY, TextAlign::Left);
                flow.space(6.0);
            }
            Block::PageBreak => {
                if flow.y > TOP + EPS {
                    flow.new_page();
                }
            }
            Block::Signature(signature) => {
                let Signature { post, name, seal } = signature;
                let lines = signature_post(post);
                let (post_h, block_h) = signature_box(&flow, signature);
                flow.space(SIGNATURE_GAP);
                flow.ensure(signature_height(&flow, signature) - SIGNATURE_GAP);
                let top = flow.y;
                flow.stack(&lines, LEFT, SIGNATURE_POST_W, top, BODY, TextAlign::Left);
                // The line to sign on and the name sit on the last line of the post.
                let last_top = top + post_h - body_h;
                let (_, baseline) = fonts.line_metrics(BODY, BODY_LEADING);
                flow.ops().push(Op::Line {
                    x1: SIGN_X,
                    y1: last_top + baseline + 2.0,
                    x2: SIGN_X + SIGN_W,
                    y2: last_top + baseline + 2.0,
                    width: RULE,
                });
                let name_lines = [vec![Span { text: name.clone(), bold: false }]];
                flow.stack(&name_lines, NAME_X, RIGHT - NAME_X, last_top, BODY, TextAlign::Right);
                flow.y = top + block_h;
                if let Some(seal) = seal {
                    flow.y += body_h * 0.6;
                    let lines = [vec![Span { text: seal.clone(), bold: false }]];
                    let top = flow.y;
                    flow.y += flow.stack(&lines, LEFT, SIGNATURE_POST_W, top, BODY, TextAlign::Left);
                }
            }
        }
    }
    flow.pages
}

const PARA_GAP: f32 = 3.0;
const SIGNATURE_GAP: f32 = 24.0;
const SIGNATURE_POST_W: f32 = WIDTH * 0.45;
/// The line to sign on, and the name right of it.
const SIGN_X: f32 = LEFT + WIDTH * 0.5;
const SIGN_W: f32 = WIDTH * 0.22;
const NAME_X: f32 = SIGN_X + SIGN_W + 6.0;

fn requisites_height(flow: &Flow<'_>, lines: &[Spans]) -> f32 {
    flow.stack_height(lines, RIGHT - LEFT - INDENT, BODY)
}

fn signature_post(post: &[String]) -> Vec<Spans> {
    post.iter().map(|p| vec![Span { text: p.clone(), bold: false }]).collect()
}

/// The signature's post height (at least one line, which the name and the line to sign on
/// share) and its whole height, a long name wrapping below the post.
fn signature_box(flow: &Flow<'_>, s: &Signature) -> (f32, f32) {
    let (body_h, _) = flow.fonts.line_metrics(BODY, BODY_LEADING);
    let post_h = flow.stack_height(&signature_post(&s.post), SIGNATURE_POST_W, BODY).max(body_h);
    let name_h = flow.stack_height(&[vec![Span::plain(s.name.clone())]], RIGHT - NAME_X, BODY);
    (post_h, post_h.max(post_h - body_h + name_h))
}

/// Height of the signature block, with the gap above it.
fn signature_height(flow: &Flow<'_>, s: &Signature) -> f32 {
    let (body_h, _) = flow.fonts.line_metrics(BODY, BODY_LEADING);
    let seal_h = if s.seal.is_some() { body_h * 1.6 } else { 0.0 };
    SIGNATURE_GAP + signature_box(flow, s).1 + seal_h
}

// --- Drawing ---------------------------------------------------------------------------------

fn render(doc: &Document, pages: &[Vec<Op>], fonts: &Fonts) -> Result<Vec<u8>, PdfError> {
    let mut document = krilla::Document::new();
    let mut metadata = Metadata::new().language("ru".to_owned()).creator("CRM".to_owned());
    if !doc.title.is_empty() {
        metadata = metadata.title(doc.title.clone());
    }
    document.set_metadata(metadata);
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Write("bad page size".into()))?;
    let count = pages.len();
    for (i, ops) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let footer = format!("Стр. {} из {count}", i + 1);
        let advances: Vec<f32> = footer.chars().map(|c| fonts.regular.glyph(c).1 * 9.0).collect();
        let footer_op = Op::Text {
            x: RIGHT - advances.iter().sum::<f32>(),
            baseline: FOOTER_BASELINE,
            size: 9.0,
            bold: false,
            text: footer,
            advances,
        };
        for op in ops.iter().chain(std::iter::once(&footer_op)) {
            match op {
                Op::Text { x, baseline, size, bold, text, advances } => {
                    let face = fonts.face(*bold);
                    let glyphs: Vec<KrillaGlyph> = text
                        .char_indices()
                        .zip(advances)
                        .map(|((at, ch), advance)| {
                            let (gid, _) = face.glyph(ch);
                            // krilla takes advances in ems.
                            let em = advance / size;
                            KrillaGlyph::new(GlyphId::new(gid), em, 0.0, 0.0, 0.0, at..at + ch.len_utf8(), None)
                        })
                        .collect();
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                    surface.draw_glyphs(Point::from_xy(*x, *baseline), &glyphs, face.font.clone(), text, *size, false);
                }
                Op::Line { x1, y1, x2, y2, width } => {
                    let mut path = PathBuilder::new();
                    path.move_to(*x1, *y1);
                    path.line_to(*x2, *y2);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke { width: *width, ..Stroke::default() }));
                        surface.draw_path(&path);
                    }
                }
                Op::Shade { x, y, w, h } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(Fill { paint: luma::Color::new(236).into(), ..Fill::default() }));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| PdfError::Write(e.to_string()))
}

/// Test helpers for documents built on this renderer (their own layout tests).
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The texts drawn on each page, in drawing order (without page numbers).
    pub(crate) fn page_texts(doc: &Document) -> Vec<Vec<String>> {
        let fonts = Fonts::load().expect("the compiled-in fonts load");
        layout(doc, &fonts)
            .iter()
            .map(|ops| ops.iter().filter_map(|op| if let Op::Text { text, .. } = op { Some(text.clone()) } else { None }).collect())
            .collect()
    }

    /// The number of pages of a PDF file, counted from its page objects.
    pub(crate) fn page_count(pdf: &[u8]) -> usize {
        let text = String::from_utf8_lossy(pdf);
        let pages = text.matches("/Type/Page").count() + text.matches("/Type /Page").count();
        pages - text.matches("/Type/Pages").count() - text.matches("/Type /Pages").count()
    }

    /// Everything drawn stays inside the 20 mm margins, even text that cannot wrap.
    pub(crate) fn assert_inside_margins(doc: &Document) {
        let fonts = Fonts::load().expect("the compiled-in fonts load");
        for (n, ops) in layout(doc, &fonts).iter().enumerate() {
            for op in ops {
                let (x0, x1, y0, y1) = match op {
                    Op::Text { x, baseline, size, bold, text, advances } => {
                        let face = fonts.face(*bold);
                        assert_eq!(text.chars().count(), advances.len(), "one advance per character");
                        let width: f32 = advances.iter().sum();
                        (*x, x + width, baseline - face.ascent * size, baseline + face.descent * size)
                    }
                    Op::Line { x1, y1, x2, y2, .. } => (x1.min(*x2), x1.max(*x2), y1.min(*y2), y1.max(*y2)),
                    Op::Shade { x, y, w, h } => (*x, x + w, *y, y + h),
                };
                let inside = x0 >= LEFT - 0.5 && x1 <= RIGHT + 0.5 && y0 >= TOP - 0.5 && y1 <= BOTTOM + 0.5;
                assert!(inside, "page {}: {op:?} runs outside the margins ({x0}..{x1}, {y0}..{y1})", n + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::templates::markup::parse;

    fn fonts() -> Fonts {
        Fonts::load().expect("the compiled-in fonts load")
    }

    fn doc(body: &str) -> Document {
        parse(&format!("<document title=\"Проба\">{body}</document>")).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A document with a captioned table of `rows` rows and a total row, then `after`.
    fn table_doc(rows: usize, after: &str) -> Document {
        let mut body = String::from(
            "<title>ДОКУМЕНТ</title><subtitle>проба</subtitle><p>Вступление.</p>\
             <table><caption>Строки</caption><col align=\"center\" nowrap=\"true\">№</col><col>Документ</col>\
             <col align=\"right\" nowrap=\"true\">Сумма</col><col align=\"center\" nowrap=\"true\">Дней просрочки</col>",
        );
        for i in 0..rows {
            body.push_str(&format!(
                "<row><cell>{}</cell><cell>Реализация товаров и услуг № 0000-{i:06} от 01.02.2025</cell>\
                 <cell>1&nbsp;000,00</cell><cell>10</cell></row>",
                i + 1
            ));
        }
        body.push_str("<row total=\"true\"><cell span=\"2\">Итого</cell><cell>9&nbsp;000,00</cell><cell/></row></table>");
        body.push_str(after);
        doc(&body)
    }

    #[test]
    fn pdf_is_a_complete_file() {
        let pdf = to_pdf(&table_doc(3, "<p>Конец.</p>")).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(String::from_utf8_lossy(&pdf[pdf.len().saturating_sub(16)..]).trim_end().ends_with("%%EOF"));
        assert_eq!(page_count(&pdf), 1);
    }

    #[test]
    fn font_is_embedded_as_a_small_subset_with_a_unicode_map() {
        let pdf = to_pdf(&table_doc(10, "<p>Конец.</p>")).expect("renders");
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/FontFile2"), "the TrueType font is embedded");
        assert!(text.contains("+LiberationSerif"), "as a subset (its name has a subset tag)");
        assert!(text.contains("/ToUnicode"), "with a map back to Unicode, so the text can be copied");
        assert!(pdf.len() < 60_000, "a one-page document is small: {} bytes", pdf.len());
    }

    #[test]
    fn the_font_draws_russian_documents_and_names_what_it_cannot() {
        let russian = doc("<p>Продолжение таблицы Стр. 1 из 2 ёЁ№«»„“—–×%&amp;\"'&lt;&gt;/\\()[]{}@# АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ \
                           абвгдежзийклмнопрстуфхцчшщъыьэюя</p>");
        assert_eq!(missing_glyphs(&russian).expect("fonts"), Vec::<char>::new());
        let other = doc("<p>漢字 ok 漢</p>");
        assert_eq!(missing_glyphs(&other).expect("fonts"), vec!['漢', '字']);
    }

    #[test]
    fn a_long_table_runs_onto_more_pages_with_its_heading_repeated() {
        let d = table_doc(150, "<p>Конец.</p>");
        let pages = page_texts(&d);
        assert!(pages.len() >= 3, "{} pages", pages.len());
        for (n, page) in pages.iter().enumerate().skip(1) {
            assert!(page.iter().any(|t| t == "просрочки"), "page {}: the heading is repeated", n + 1);
            assert!(page.iter().any(|t| t == "Продолжение таблицы\u{a0}1"), "page {}: continued table marked: {page:?}", n + 1);
        }
        let pdf = to_pdf(&d).expect("renders");
        assert_eq!(page_count(&pdf), pages.len());
        assert!(String::from_utf8_lossy(&pdf).contains(&format!("/Count {}", pages.len())));
    }

    #[test]
    fn a_total_row_never_starts_a_page() {
        for rows in 20..70 {
            for (k, page) in page_texts(&table_doc(rows, "")).iter().enumerate().skip(1) {
                for (at, _) in page.iter().enumerate().filter(|(_, t)| t.starts_with("Итого")) {
                    assert!(!(at > 0 && page[at - 1] == "просрочки"), "{rows} rows, page {}: «Итого» right under the heading", k + 1);
                }
            }
        }
    }

    #[test]
    fn the_signature_and_payment_details_never_start_a_page_alone() {
        let mut page_counts = std::collections::BTreeSet::new();
        for rows in 0..45 {
            let d = table_doc(
                rows,
                "<p>Перечислите задолженность по следующим реквизитам:</p>\
                 <requisites><line>Получатель: ООО «Север»</line><line>БИК: 044525225</line></requisites>\
                 <p>Ответ на претензию просим направить по адресу: г. Москва.</p>\
                 <signature><post>Генеральный директор</post><post>ООО «Север»</post><name>Петров П. П.</name><seal>М.П.</seal></signature>",
            );
            let pages = page_texts(&d);
            page_counts.insert(pages.len());
            let last = pages.last().expect("a page");
            assert!(last.iter().any(|t| t.starts_with("Ответ") || t.contains("адресу")), "{rows}: the signature page has no text: {last:?}");
            for page in &pages {
                if let Some(at) = page.iter().position(|t| t.starts_with("Получатель")) {
                    assert!(at > 0 && page[..at].iter().any(|t| t.contains("реквизитам")), "{rows}: {page:?}");
                }
            }
        }
        assert!(page_counts.len() >= 2, "the sweep crosses a page end: {page_counts:?}");
    }

    #[test]
    fn a_page_break_starts_a_new_page_but_never_an_empty_one() {
        let pages = page_texts(&doc("<pagebreak/><p>Первая</p><pagebreak/><pagebreak/><p>Вторая</p>"));
        assert_eq!(pages.len(), 2, "{pages:?}");
        assert_eq!(pages[0], ["Первая"]);
        assert_eq!(pages[1], ["Вторая"]);
    }

    #[test]
    fn nothing_runs_off_the_page() {
        assert_inside_margins(&table_doc(120, "<p>Конец.</p>"));
        let long_word = "Оченьдлинноеназваниебезпробелов".repeat(6);
        let hostile = doc(&format!(
            "<letterhead><name>ООО «{long_word}»</name><line>{}</line></letterhead>\
             <addressing><left><line>{long_word}</line></left><right><line>{long_word}</line></right></addressing>\
             <title>{long_word}</title><p>{}</p><note>{}</note>\
             <table><caption>{long_word}</caption><col>№</col><col nowrap=\"true\">Сумма</col>\
             <row><cell>{}</cell><cell>92&nbsp;233&nbsp;720&nbsp;368&nbsp;547&nbsp;758,07</cell></row></table>\
             <requisites><line>{long_word}</line></requisites>\
             <signature><post>{long_word}</post><name>{long_word}</name></signature>",
            "а ".repeat(400),
            "x".repeat(500),
            "Д".repeat(200),
            "0".repeat(120),
        ));
        assert_inside_margins(&hostile);
    }

    #[test]
    fn wrapping_respects_widths_and_no_break_spaces() {
        let fonts = fonts();
        let spans = [Span { text: "сумма 1\u{a0}234\u{a0}567,89\u{a0}руб. подлежит уплате".to_owned(), bold: false }];
        let narrow = fonts.regular.width("сумма 1\u{a0}234\u{a0}567,89\u{a0}руб.", BODY) - 1.0;
        let lines = wrap(&fonts, &spans, BODY, narrow, narrow);
        let words: Vec<Vec<String>> = lines
            .iter()
            .map(|l| l.words.iter().map(|w| w.pieces.iter().map(|p| p.text.clone()).collect()).collect())
            .collect();
        assert_eq!(words[0], ["сумма"]);
        assert_eq!(words[1], ["1\u{a0}234\u{a0}567,89\u{a0}руб."], "an amount is never split");
        for line in &lines {
            assert!(line.width <= narrow + EPS);
        }
        let long = [Span { text: "Ж".repeat(100), bold: true }];
        for line in wrap(&fonts, &long, BODY, 100.0, 100.0) {
            assert!(line.width <= 100.0 + EPS, "an unbreakable word is cut between letters");
        }
        let broken = wrap(&fonts, &[Span::plain("одна\nдве")], BODY, 400.0, 400.0);
        assert_eq!(broken.len(), 2, "a line break from <br/> starts a new line");
    }
}
