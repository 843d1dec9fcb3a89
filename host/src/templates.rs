//! Templates as data: one document renderer for every domain, and per-tenant templates with
//! shipped Russian defaults.
//!
//! A document is made in three steps, all or nothing:
//! 1. [`engine`] renders a template (MiniJinja, Jinja syntax) with the document's data into
//!    the document markup, escaping every variable; [`filters`] format amounts, dates and
//!    words the Russian way ([`format`]);
//! 2. [`markup`] parses that markup — a small XML vocabulary of letterheads, paragraphs,
//!    tables, signatures, page breaks — into a checked [`markup::Document`], applying the
//!    Russian typographic ties;
//! 3. [`html`] (a self-contained page) or [`pdf`] (A4, embedded Cyrillic font) draws it.
//!
//! A domain adds a document by declaring a [`TemplateKind`] — its key, Russian title, shipped
//! default template, documented variables and sample data — and listing it in [`KINDS`].
//! Tenants replace a kind's template through the API ([`routes`]); [`store`] keeps their
//! versions, and a tenant without one uses the default.

pub mod engine;
pub mod filters;
pub mod format;
pub mod html;
pub mod markup;
pub mod pdf;
pub mod routes;
pub mod store;

use serde::Serialize;
use utoipa::ToSchema;

pub use engine::{Format, TemplateError, TemplateProblem};

/// Every document kind, one line each. A kind listed here is listed, documented, stored,
/// previewed and checked by the API without further code.
pub static KINDS: &[&TemplateKind] = &[
    &crate::receivables::claim_letter::TEMPLATE,
    &crate::approvals::committee::PROTOCOL,
    &crate::approvals::application::APPLICATION,
    &crate::reminders::templates::BEFORE,
    &crate::reminders::templates::OVERDUE,
    &crate::reminders::templates::SHORT,
    &crate::reminders::templates::TASK,
    &crate::reminders::templates::DIGEST,
];

/// A kind of document rendered from a per-tenant template.
#[derive(Debug)]
pub struct TemplateKind {
    /// The key in the API and the database, e.g. `claim_letter`.
    pub key: &'static str,
    /// The Russian title shown to users, e.g. «Претензия о погашении задолженности».
    pub title: &'static str,
    /// What the document is and when it is made (English, for admins and developers).
    pub description: &'static str,
    /// The shipped Russian template (`host/assets/templates/…`), used until a tenant replaces it.
    pub default_source: &'static str,
    /// The variables the template gets: every name a template may use.
    pub variables: &'static [Variable],
    /// Sample data for previews and for checking a template before it is stored; the first
    /// is the default preview.
    pub samples: fn() -> Vec<Sample>,
}

/// A variable a template gets, as documented to admins (`GET /templates/{key}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Variable {
    /// The name as written in a template: `debtor.name`; `debts[].open` for a field of each
    /// item of the list `debts`.
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: VarType,
    /// The value may be absent (`none`): print it inside `{% if … %}`.
    pub optional: bool,
    pub description: &'static str,
}

/// A documented [`Variable`] in one line: `var!("debtor.name", Text, "its name")`, or with
/// `Text?` for an optional one.
macro_rules! var {
    ($name:literal, $ty:ident, $description:literal) => {
        $crate::templates::Variable { name: $name, ty: $crate::templates::VarType::$ty, optional: false, description: $description }
    };
    ($name:literal, $ty:ident?, $description:literal) => {
        $crate::templates::Variable { name: $name, ty: $crate::templates::VarType::$ty, optional: true, description: $description }
    };
}
pub(crate) use var;

/// The type of a template variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VarType {
    Text,
    Integer,
    Boolean,
    /// A decimal string with two decimals (`"1855500.50"`): format it with `amount`, `rubles`.
    Money,
    /// A decimal string (`"16.5"`): format it with `percent`, `decimal`.
    Decimal,
    /// An ISO date (`"2025-11-10"`): format it with `date_short`, `date_long`.
    Date,
    List,
    Object,
}

/// Sample data of a kind, for previews and checks.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The key to ask for it in a preview, e.g. `typical`.
    pub key: &'static str,
    /// What it shows, in Russian, e.g. «Три вида неустойки, ограничение размера».
    pub title: &'static str,
    /// The data, as the template gets it.
    pub data: serde_json::Value,
}

/// The kind with this key.
pub fn kind(key: &str) -> Result<&'static TemplateKind, TemplateError> {
    KINDS.iter().copied().find(|k| k.key == key).ok_or_else(|| TemplateError::UnknownKind(key.to_owned()))
}

impl TemplateKind {
    /// Whether `path` (`debtor.name`, `debtor`, `debts`) is a documented variable or an object
    /// holding one.
    pub fn documents(&self, path: &str) -> bool {
        self.variables.iter().any(|v| {
            v.name == path || v.name.strip_prefix(path).is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    }

    /// The documented variable spelled most like `path`, for a hint.
    pub fn closest(&self, path: &str) -> Option<&'static str> {
        self.variables
            .iter()
            .filter(|v| !v.name.contains('['))
            .map(|v| (edit_distance(v.name, path), v.name))
            .filter(|(d, name)| *d <= 2.max(name.chars().count() / 4))
            .min_by_key(|(d, _)| *d)
            .map(|(_, name)| name)
    }

    /// The sample with this key, or the first when `key` is `None`.
    pub fn sample(&self, key: Option<&str>) -> Option<Sample> {
        let mut samples = (self.samples)().into_iter();
        match key {
            None => samples.next(),
            Some(key) => samples.find(|s| s.key == key),
        }
    }
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_unique_keys_valid_defaults_and_samples() {
        let mut keys: Vec<&str> = KINDS.iter().map(|k| k.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), KINDS.len(), "keys are unique");
        for kind in KINDS {
            assert!(kind.key.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}: keys are snake_case", kind.key);
            assert!(!(kind.samples)().is_empty(), "{}: a kind has samples", kind.key);
            engine::check(kind, kind.default_source).unwrap_or_else(|e| panic!("{}: the shipped template fails its own checks: {e}", kind.key));
        }
    }

    /// The documentation of a kind's variables is the truth: every documented name is in the
    /// samples, and every value in the samples is documented.
    #[test]
    fn documented_variables_are_exactly_those_in_the_samples() {
        fn walk(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                        out.push(p.clone());
                        walk(v, &p, out);
                    }
                }
                serde_json::Value::Array(items) => {
                    for item in items {
                        walk(item, &format!("{path}[]"), out);
                    }
                }
                _ => {}
            }
        }
        for kind in KINDS {
            let mut seen = Vec::new();
            for sample in (kind.samples)() {
                walk(&sample.data, "", &mut seen);
            }
            seen.sort();
            seen.dedup();
            let documented: Vec<&str> = kind.variables.iter().map(|v| v.name).collect();
            for path in &seen {
                assert!(documented.contains(&path.as_str()), "{}: `{path}` is in the samples but not documented", kind.key);
            }
            for name in &documented {
                assert!(seen.iter().any(|p| p == name), "{}: `{name}` is documented but in no sample", kind.key);
            }
        }
    }

    #[test]
    fn close_misspellings_get_a_hint() {
        assert_eq!(edit_distance("debtor.nmae", "debtor.name"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("кот", "кит"), 1);
        let kind = kind("claim_letter").expect("the claim letter is a kind");
        assert_eq!(kind.closest("debtor.nmae"), Some("debtor.name"));
        assert_eq!(kind.closest("zzzzzz"), None);
        assert!(kind.documents("debtor") && kind.documents("debtor.name") && kind.documents("debts"));
        assert!(!kind.documents("debt") && !kind.documents("debtor.nam"));
    }
}
