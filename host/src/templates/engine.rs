//! The template engine: MiniJinja with every variable auto-escaped into the document markup,
//! strict about undefined values, on an instruction budget; and the checks a template passes
//! before it is stored.
//!
//! Rendering is all or nothing: the template runs to the end into a string, the string is
//! parsed as a whole [`Document`], and only a whole document goes to a renderer. Every failure
//! is a [`TemplateProblem`] that names the template line (and column where known) and the
//! variable, filter or element at fault.

use std::collections::BTreeSet;

use minijinja::{AutoEscape, Environment, ErrorKind, OutputSpan, OutputSpanKind, UndefinedBehavior, Value};
use serde::Serialize;

use super::markup::{self, Document, MarkupError};
use super::{TemplateKind, filters, html, pdf};

/// The largest template text accepted.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// The largest document markup one render may produce.
const MAX_OUTPUT_BYTES: usize = 16 << 20;
/// Instructions one render may run. The claim letter with 80 documents and 3 × 40 penalty
/// periods takes about 16 000, so a registry of tens of thousands of rows fits; a runaway
/// loop is stopped within a few seconds.
const FUEL: u64 = 50_000_000;

/// One thing wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TemplateProblem {
    /// The template line, from 1.
    pub line: Option<usize>,
    /// The column in that line, from 1 (in characters).
    pub column: Option<usize>,
    /// The variable, filter or test at fault, as written in the template.
    pub variable: Option<String>,
    /// What is wrong, in words.
    pub message: String,
    /// The sample data the problem showed with, when not with all of them.
    pub sample: Option<String>,
}

impl std::fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        f.write_str(&self.message)?;
        if let Some(sample) = &self.sample {
            write!(f, " (with the sample data «{sample}»)")?;
        }
        Ok(())
    }
}

/// Why a template could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// No document kind has this key.
    #[error("there is no template kind `{0}`")]
    UnknownKind(String),
    /// The template text is larger than [`MAX_SOURCE_BYTES`].
    #[error("the template is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    /// The template is wrong: syntax, unknown variables, a failed render or bad markup.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<TemplateProblem>),
    /// The PDF could not be written (a host failure, not the template's).
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
}

/// The print forms of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Html,
    Pdf,
}

impl Format {
    /// `html` or `pdf`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }
}

/// The data a template renders, from anything serialisable (money as decimal strings, dates
/// as ISO strings, as the API writes them).
pub fn context<T: Serialize>(data: &T) -> Value {
    Value::from(minijinja::value::Serde(data))
}

fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Every template renders markup: every value is escaped, whatever its name says.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // An absent optional value prints as nothing, not as "None".
    env.set_formatter(|out, state, value| if value.is_none() { Ok(()) } else { minijinja::escape_formatter(out, state, value) });
    env.set_fuel(Some(FUEL));
    filters::register(&mut env);
    env
}

/// Renders a template of `kind` with `data` into a checked document.
pub fn document(kind: &TemplateKind, source: &str, data: Value) -> Result<Document, TemplateError> {
    check_size(source)?;
    let env = environment();
    let template = env.template_from_named_str(kind.key, source).map_err(|e| invalid(jinja_problem(source, &e)))?;
    render_checked(source, &template, data).map_err(invalid)
}

/// Renders a template of `kind` with `data` as HTML or PDF. Nothing is returned unless the
/// whole document rendered.
pub fn render(kind: &TemplateKind, source: &str, data: Value, format: Format) -> Result<Vec<u8>, TemplateError> {
    let doc = document(kind, source, data)?;
    Ok(match format {
        Format::Html => html::to_html(&doc).into_bytes(),
        Format::Pdf => pdf::to_pdf(&doc)?,
    })
}

/// Checks a template of `kind` before it is stored: its syntax, that it uses only the kind's
/// documented variables and known filters, and that it renders valid markup with each of the
/// kind's samples. Returns every problem found.
pub fn check(kind: &TemplateKind, source: &str) -> Result<(), TemplateError> {
    check_size(source)?;
    let env = environment();
    let template = env.template_from_named_str(kind.key, source).map_err(|e| invalid(jinja_problem(source, &e)))?;
    let problems = static_problems(&env, kind, source, &template);
    if !problems.is_empty() {
        return Err(TemplateError::Invalid(problems));
    }
    let samples = (kind.samples)();
    let mut found: Vec<(TemplateProblem, usize)> = Vec::new();
    for sample in &samples {
        if let Err(mut problem) = render_checked(source, &template, context(&sample.data)) {
            // The same problem with several samples is one problem.
            let same = |p: &TemplateProblem| (p.line, p.column, &p.variable, &p.message) == (problem.line, problem.column, &problem.variable, &problem.message);
            match found.iter_mut().find(|(p, _)| same(p)) {
                Some((_, count)) => *count += 1,
                None => {
                    problem.sample = Some(sample.title.to_owned());
                    found.push((problem, 1));
                }
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let problems = found
        .into_iter()
        .map(|(mut p, count)| {
            if count == samples.len() {
                p.sample = None;
            }
            p
        })
        .collect();
    Err(TemplateError::Invalid(problems))
}

/// The instructions a render of `source` with `data` takes (for tests that keep real
/// documents well inside [`FUEL`]).
#[cfg(test)]
pub(crate) fn fuel_used(kind: &TemplateKind, source: &str, data: Value) -> (u64, u64) {
    let env = environment();
    let template = env.template_from_named_str(kind.key, source).expect("compiles");
    let captured = template.render_captured(data).expect("renders");
    let (used, _) = captured.state().fuel_levels().expect("fuel is tracked");
    (used, FUEL)
}

fn check_size(source: &str) -> Result<(), TemplateError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(TemplateError::TooLarge { size: source.len(), limit: MAX_SOURCE_BYTES });
    }
    Ok(())
}

fn invalid(problem: TemplateProblem) -> TemplateError {
    TemplateError::Invalid(vec![problem])
}

/// Runs the template to the end and parses the whole output as a document.
fn render_checked(source: &str, template: &minijinja::Template<'_, '_>, data: Value) -> Result<Document, TemplateProblem> {
    let (out, spans) = template.render_with_spans(data).map_err(|e| jinja_problem(source, &e))?;
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(TemplateProblem {
            line: None,
            column: None,
            variable: None,
            message: format!("the document is larger than {} MiB", MAX_OUTPUT_BYTES >> 20),
            sample: None,
        });
    }
    markup::parse(&out).map_err(|e| markup_problem(source, &spans, &e))
}

// --- Problems with their place in the template ----------------------------------------------

/// Line and column (from 1, the column in characters) of a byte offset in `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn at(source: &str, offset: usize, variable: Option<String>, message: String) -> TemplateProblem {
    let (line, column) = line_column(source, offset);
    TemplateProblem { line: Some(line), column: Some(column), variable, message, sample: None }
}

/// A MiniJinja error (syntax or render) as a problem: the place comes from its span.
fn jinja_problem(source: &str, e: &minijinja::Error) -> TemplateProblem {
    let detail = e.detail().unwrap_or_default().to_owned();
    // "`debtor.nmae` is undefined", "filter nofilter is unknown", "test nosuchtest is unknown".
    let quoted = detail.split('`').nth(1).map(str::to_owned);
    let (variable, message) = match e.kind() {
        ErrorKind::UndefinedError => {
            let name = quoted.or_else(|| e.range().and_then(|r| source.get(r)).map(str::to_owned));
            let message = match &name {
                Some(n) => format!("unknown variable `{n}`"),
                None => "an undefined value is used".to_owned(),
            };
            (name, message)
        }
        ErrorKind::UnknownFilter => {
            let name = detail.strip_prefix("filter ").and_then(|d| d.strip_suffix(" is unknown")).map(str::to_owned);
            let message = format!("unknown filter `{}`", name.as_deref().unwrap_or("?"));
            (name, message)
        }
        ErrorKind::UnknownTest => {
            let name = detail.strip_prefix("test ").and_then(|d| d.strip_suffix(" is unknown")).map(str::to_owned);
            let message = format!("unknown test `{}`", name.as_deref().unwrap_or("?"));
            (name, message)
        }
        ErrorKind::SyntaxError => (None, format!("syntax error: {detail}")),
        ErrorKind::OutOfFuel => (
            None,
            "the template does too much work (a loop over a huge range?); it was stopped".to_owned(),
        ),
        ErrorKind::UnknownFunction => (quoted, format!("unknown function: {detail}")),
        ErrorKind::UnknownMethod => (None, detail.clone()),
        _ if detail.is_empty() => (None, e.kind().to_string()),
        _ => (None, detail.clone()),
    };
    let offset = e.range().map(|r| r.start);
    match (offset, e.line()) {
        (Some(offset), _) => at(source, offset, variable, message),
        (None, line) => TemplateProblem { line, column: None, variable, message, sample: None },
    }
}

/// A markup error in the output, placed at the template text or expression that wrote it.
fn markup_problem(source: &str, spans: &[OutputSpan], e: &MarkupError) -> TemplateProblem {
    let span = spans
        .iter()
        .find(|s| s.output_range().contains(&e.offset))
        .or_else(|| spans.iter().rev().find(|s| s.output_range().start <= e.offset));
    let message = format!("the document markup is wrong: {}", e.message);
    let Some(span) = span else {
        return TemplateProblem { line: None, column: None, variable: None, message, sample: None };
    };
    let range = span.source_range();
    match span.kind() {
        // Verbatim template text: the very character.
        OutputSpanKind::Raw => {
            let offset = (range.start + e.offset.saturating_sub(span.output_range().start)).min(range.end);
            at(source, offset, None, message)
        }
        _ => {
            let expression = source.get(range.clone()).map(|s| s.trim().to_owned());
            let message = match &expression {
                Some(x) => format!("{message} (in what `{x}` writes)"),
                None => message,
            };
            at(source, range.start, expression, message)
        }
    }
}

// --- Static checks ------------------------------------------------------------------------------

/// Unknown variables (against the kind's documented ones) and unknown filters and tests,
/// found without running the template, so branches the samples do not take are checked too.
fn static_problems(env: &Environment<'_>, kind: &TemplateKind, source: &str, template: &minijinja::Template<'_, '_>) -> Vec<TemplateProblem> {
    let tokens = tokens(source);
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    let mut problems = Vec::new();
    let mut undeclared: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    undeclared.sort();
    for path in undeclared {
        let root = path.split('.').next().unwrap_or(&path);
        if globals.contains(root) || kind.documents(&path) {
            continue;
        }
        let offset = find_path(&tokens, &path).or_else(|| find_path(&tokens, root)).unwrap_or(0);
        let hint = kind.closest(&path).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
        problems.push(at(source, offset, Some(path.clone()), format!("unknown variable `{path}`{hint}")));
    }
    let mut seen = BTreeSet::new();
    for (what, name, offset) in filters_and_tests(&tokens) {
        if !seen.insert((what, name)) {
            continue;
        }
        let probe = match what {
            "filter" => format!("{{{{ none|{name} }}}}"),
            _ => format!("{{% if none is {name} %}}{{% endif %}}"),
        };
        let unknown = env.render_str(&probe, ()).is_err_and(|e| matches!(e.kind(), ErrorKind::UnknownFilter | ErrorKind::UnknownTest));
        if unknown {
            problems.push(at(source, offset, Some(name.to_owned()), format!("unknown {what} `{name}`")));
        }
    }
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

/// A token of the template's expressions and statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token<'s> {
    text: &'s str,
    offset: usize,
    ident: bool,
    /// The first name of its `{% … %}` or `{{ … }}` (a statement's keyword).
    lead: bool,
}

/// The tokens inside `{{ … }}` and `{% … %}` (strings, comments and raw blocks left out),
/// enough to find where a name is used.
fn tokens(source: &str) -> Vec<Token<'_>> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(found) = source.get(i..).and_then(|rest| rest.find('{')) {
        let start = i + found;
        match bytes.get(start + 1) {
            Some(b'#') => {
                i = source.get(start..).and_then(|r| r.find("#}")).map_or(source.len(), |e| start + e + 2);
            }
            Some(b'{') | Some(b'%') => {
                let close = if bytes[start + 1] == b'{' { "}}" } else { "%}" };
                let first = out.len();
                i = region(source, start + 2, close, &mut out);
                // `{% raw %}…{% endraw %}` is text.
                if close == "%}" && out.get(first..).is_some_and(|t| t.iter().any(|t| t.text == "raw") && t.iter().filter(|t| t.ident).count() == 1) {
                    out.truncate(first);
                    let end = source.get(i..).and_then(|r| r.find("endraw")).map_or(source.len(), |e| i + e);
                    i = source.get(end..).and_then(|r| r.find("%}")).map_or(source.len(), |e| end + e + 2);
                }
            }
            _ => i = start + 1,
        }
    }
    out
}

/// Tokenises one `{{ … }}` or `{% … %}` from `i` to its `close`; returns the offset after it.
fn region<'s>(source: &'s str, mut i: usize, close: &str, out: &mut Vec<Token<'s>>) -> usize {
    let bytes = source.as_bytes();
    let first = out.len();
    while i < bytes.len() {
        if source.get(i..).is_some_and(|r| r.starts_with(close)) {
            return i + close.len();
        }
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' || c == b'\'' {
            // A string literal: skipped, escapes included.
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let lead = !out[first..].iter().any(|t: &Token<'_>| t.ident);
            out.push(Token { text: &source[start..i], offset: start, ident: true, lead });
        } else {
            let len = source.get(i..).and_then(|r| r.chars().next()).map_or(1, char::len_utf8);
            out.push(Token { text: source.get(i..i + len).unwrap_or(""), offset: i, ident: false, lead: false });
            i += len;
        }
    }
    bytes.len()
}

/// Where `a.b.c` is first used as a variable (not an attribute, filter or test of something else).
fn find_path(tokens: &[Token<'_>], path: &str) -> Option<usize> {
    let segments: Vec<&str> = path.split('.').collect();
    (0..tokens.len()).find_map(|i| {
        let before = i.checked_sub(1).map(|j| tokens[j].text);
        if matches!(before, Some("." | "|" | "is")) {
            return None;
        }
        let matches = segments.iter().enumerate().all(|(k, seg)| {
            let at = i + 2 * k;
            tokens.get(at).is_some_and(|t| t.ident && t.text == *seg) && (k == 0 || tokens.get(at - 1).is_some_and(|t| t.text == "."))
        });
        matches.then_some(tokens[i].offset)
    })
}

/// Every `|filter`, `{% filter name %}` and `is test` in the template, with its offset.
fn filters_and_tests<'s>(tokens: &[Token<'s>]) -> Vec<(&'static str, &'s str, usize)> {
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let next = |k: usize| tokens.get(i + k).filter(|t| t.ident);
        match t.text {
            "|" if !t.ident => out.extend(next(1).map(|n| ("filter", n.text, n.offset))),
            // `{% filter upper %}…{% endfilter %}`
            "filter" if t.lead => out.extend(next(1).map(|n| ("filter", n.text, n.offset))),
            "is" if t.ident => {
                let name = match next(1) {
                    Some(n) if n.text == "not" => next(2),
                    other => other,
                };
                out.extend(name.map(|n| ("test", n.text, n.offset)));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::{Sample, VarType, Variable};

    const VARIABLES: &[Variable] = &[
        Variable { name: "debtor", ty: VarType::Object, optional: false, description: "the debtor" },
        Variable { name: "debtor.name", ty: VarType::Text, optional: false, description: "its name" },
        Variable { name: "debtor.kpp", ty: VarType::Text, optional: true, description: "its КПП" },
        Variable { name: "debts", ty: VarType::List, optional: false, description: "what it owes" },
        Variable { name: "debts[].open", ty: VarType::Money, optional: false, description: "still owed" },
        Variable { name: "paid", ty: VarType::Boolean, optional: false, description: "paid" },
    ];

    fn samples() -> Vec<Sample> {
        vec![
            Sample {
                key: "full",
                title: "Полный",
                data: serde_json::json!({"debtor": {"name": "ООО \"А & Б\" <script>", "kpp": "770101001"},
                                         "debts": [{"open": "100.00"}, {"open": "0.50"}], "paid": false}),
            },
            Sample {
                key: "empty",
                title: "Пустой",
                data: serde_json::json!({"debtor": {"name": "ИП Иванов", "kpp": null}, "debts": [], "paid": true}),
            },
        ]
    }

    const KIND: TemplateKind = TemplateKind {
        key: "test_kind",
        title: "Проба",
        description: "a kind for tests",
        default_source: "<document><p>{{ debtor.name }}</p></document>",
        variables: VARIABLES,
        samples,
    };

    fn problems(source: &str) -> Vec<TemplateProblem> {
        match check(&KIND, source) {
            Err(TemplateError::Invalid(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    fn one(source: &str) -> String {
        let p = problems(source);
        assert_eq!(p.len(), 1, "{p:?}");
        p[0].to_string()
    }

    #[test]
    fn a_good_template_passes_and_escapes_every_variable() {
        let source = "<document title=\"{{ debtor.name }}\">\n<p>{{ debtor.name }}{% if debtor.kpp %}, КПП {{ debtor.kpp }}{% endif %}</p>\n\
                      {% for d in debts %}<p>{{ d.open|rubles }}</p>{% endfor %}\n<p>{{ debts|sum_money('open')|amount }}</p></document>";
        check(&KIND, source).expect("valid");
        let doc = document(&KIND, source, context(&samples()[0].data)).expect("renders");
        assert_eq!(doc.title, "ООО \"А & Б\" <script>");
        assert_eq!(
            doc.outline(),
            "p: ООО \"А~& Б\" <script>, КПП 770101001\np: 100,00~руб.\np: 0,50~руб.\np: 100,50\n"
        );
        let html = String::from_utf8(render(&KIND, source, context(&samples()[0].data), Format::Html).expect("renders")).expect("utf-8");
        assert!(html.contains("<p>ООО &quot;А\u{a0}&amp; Б&quot; &lt;script&gt;, КПП 770101001</p>"), "{html}");
        assert!(!html.contains("<script"));
    }

    #[test]
    fn a_template_with_an_unknown_variable_is_refused_naming_its_line() {
        let p = problems("<document>\n<p>{{ debtor.name }}</p>\n<p>{{ debtor.nmae }}</p>\n</document>");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].to_string(), "line 3, column 7: unknown variable `debtor.nmae` (did you mean `debtor.name`?)");
        assert_eq!((p[0].line, p[0].column, p[0].variable.as_deref()), (Some(3), Some(7), Some("debtor.nmae")));
        // In a branch no sample takes, and as a whole object.
        let message = one("<document>{% if paid %}\n\n{{ creditor }}{% endif %}</document>");
        assert!(message.starts_with("line 3, column 4: unknown variable `creditor`"), "{message}");
    }

    #[test]
    fn an_unknown_attribute_of_a_loop_variable_is_refused_with_its_line() {
        let message = one("<document>\n{% for d in debts %}\n<p>{{ d.opne }}</p>{% endfor %}</document>");
        assert!(message.starts_with("line 3, column 7: unknown variable `d.opne`"), "{message}");
        assert!(message.ends_with("(with the sample data «Полный»)"), "the empty sample has no debts: {message}");
    }

    #[test]
    fn a_syntax_error_is_refused_with_its_line_and_column() {
        let message = one("<document>\n<p>{% if debtor.kpp %}КПП</p>\n</document>");
        assert!(message.starts_with("line 2, column 23: "), "{message}");
        assert!(message.contains("syntax error: unexpected end of input"), "{message}");
        let message = one("<document>\n\n<p>{{ debtor.name | }}</p></document>");
        assert!(message.starts_with("line 3, column "), "{message}");
        assert!(message.contains("syntax error"), "{message}");
    }

    #[test]
    fn unknown_filters_and_tests_are_refused_even_where_no_sample_goes() {
        let message = one("<document>{% if false %}\n<p>{{ debtor.name|rubels }}</p>{% endif %}</document>");
        assert_eq!(message, "line 2, column 19: unknown filter `rubels`");
        let message = one("<document>\n{% if paid is nosuch %}{% endif %}</document>");
        assert_eq!(message, "line 2, column 15: unknown test `nosuch`");
        // Names inside strings and comments are not uses.
        check(&KIND, "<document>{# {{ nothing|here }} #}<p>{{ 'x|nofilter' }}</p><p>{% raw %}{{ loose|nofilter }}{% endraw %}</p></document>")
            .expect("valid");
    }

    #[test]
    fn a_template_whose_output_is_not_the_markup_is_refused_at_the_line_that_wrote_it() {
        let message = one("<document>\n<p>ok</p>\n  <tabel>x</tabel>\n</document>");
        assert!(message.starts_with("line 3, column 3: the document markup is wrong: unknown element <tabel>"), "{message}");
        let message = one("<document>\n<p>{{ debtor.name }}\n</document>");
        assert!(message.starts_with("line 3, column 1: the document markup is wrong"), "{message}");
        assert!(message.contains("expected `</p>`, but `</document>` was found"), "{message}");
        // Markup smuggled in through `safe` is checked like any other.
        let message = one("<document>\n<p>{{ '<i>x</i>'|safe }}</p></document>");
        assert!(message.starts_with("line 2, column 7: the document markup is wrong: <i> cannot stand inside <p>"), "{message}");
        assert!(message.contains("(in what `'<i>x</i>'|safe` writes)"), "{message}");
    }

    #[test]
    fn a_failing_filter_names_its_line_and_reason() {
        let p = problems("<document>\n<p>{{ debtor.name|rubles }}</p></document>");
        assert_eq!(p.len(), 2, "each sample fails with its own value: {p:?}");
        assert_eq!(
            p[0].to_string(),
            "line 2, column 19: rubles: `ООО \"А & Б\" <script>` is not an amount: digits, an optional leading minus and at most two decimal places after a point, e.g. \"1500000.00\" \
             (with the sample data «Полный»)"
        );
    }

    #[test]
    fn a_runaway_template_is_stopped() {
        let message = one("<document>{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}</document>");
        assert!(message.contains("does too much work"), "{message}");
    }

    #[test]
    fn an_oversized_template_is_refused_before_anything_runs() {
        let big = format!("<document>{}</document>", "x".repeat(MAX_SOURCE_BYTES));
        assert!(matches!(check(&KIND, &big), Err(TemplateError::TooLarge { .. })));
    }

    #[test]
    fn absent_values_print_as_nothing_not_none() {
        let doc = document(&KIND, "<document><p>[{{ debtor.kpp }}]</p></document>", context(&samples()[1].data)).expect("renders");
        assert_eq!(doc.outline(), "p: []\n");
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(line_column("ab\nвгд\nx", 0), (1, 1));
        assert_eq!(line_column("ab\nвгд\nx", 3), (2, 1));
        assert_eq!(line_column("ab\nвгд\nx", 5), (2, 2), "columns count characters, not bytes");
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
