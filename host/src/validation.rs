//! Input validation shared by every domain: what is wrong, field by field. Domain code
//! reports an [`Invalid`]; the HTTP layer turns it into a 422 problem document.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One offending input: a JSON pointer-like path (`inn`, `params.limit`, `checklist[2].text`)
/// and what is wrong with it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the offending field in the request (`inn`, `params.limit`).
    pub field: String,
    /// What is wrong and, where it helps, what to send instead.
    pub message: String,
    /// For a field holding text with lines (a template): the line at fault, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The column in that line, from 1, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), line: None, column: None }
    }

    /// The same error, placed at a line (and column) of the field's text.
    pub fn at(self, line: Option<usize>, column: Option<usize>) -> Self {
        Self { line, column, ..self }
    }
}

/// Input that failed validation, with every offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    /// A validation error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid(vec![FieldError::new(field, message)])
    }
}

/// Collects field errors from a validation pass; `finish` fails if any were found.
#[derive(Default, Debug)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.add(field, message);
        }
    }
    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.0.extend(errors);
    }
    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(Invalid(self.0)) }
    }
}

/// What is wrong with text holding U+0000. PostgreSQL cannot store it and SQLite
/// would, so it is refused at the edge, the same on both engines.
pub const NUL_MESSAGE: &str = "contains a NUL character (U+0000), which text may not hold; remove it";

/// The most items a list in a request body may hold (tags, phones, checklist items, …).
pub const MAX_LIST_ITEMS: usize = 1000;

/// At most this many problems are listed for one JSON document.
const MAX_JSON_PROBLEMS: usize = 20;

/// Whether text holds U+0000.
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// Checks one text input (a form field, a query or path parameter) for U+0000.
pub fn text_without_nul(field: &str, s: &str) -> Result<(), Invalid> {
    if has_nul(s) { Err(Invalid::field(field, NUL_MESSAGE)) } else { Ok(()) }
}

/// What is wrong with the shape of a JSON document as input, whatever type it is read
/// into: a string (or an object's key) holding U+0000, and, when `max_items` is given,
/// a list longer than that. Each problem is named by its path in the notation of the
/// body's other field errors (`contacts[0].phones[2]`; the document itself is `body`).
pub fn json_problems(value: &Value, max_items: Option<usize>) -> Vec<FieldError> {
    fn field(path: &str) -> String {
        if path.is_empty() { "body".to_string() } else { path.to_string() }
    }
    fn walk(v: &Value, path: &mut String, max_items: Option<usize>, out: &mut Vec<FieldError>) {
        if out.len() >= MAX_JSON_PROBLEMS {
            return;
        }
        match v {
            Value::String(s) if has_nul(s) => out.push(FieldError::new(field(path), NUL_MESSAGE)),
            Value::Array(items) => {
                if let Some(max) = max_items
                    && items.len() > max
                {
                    out.push(FieldError::new(field(path), format!("has {} items; a list may hold at most {max}", items.len())));
                    return;
                }
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path, max_items, out);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    if has_nul(k) {
                        path.push_str(&k.replace('\0', "\\u0000"));
                        out.push(FieldError::new(field(path), format!("the name of this field {NUL_MESSAGE}")));
                    } else {
                        path.push_str(k);
                        walk(item, path, max_items, out);
                    }
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut String::new(), max_items, &mut out);
    out
}

/// What a check against stored records fails with: bad input, or the database.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_problems_name_the_path_of_nul_and_of_overlong_lists() {
        let v = serde_json::json!({"full_name": "a\u{0}b", "contacts": [{"phones": ["1", "2\u{0}"]}], "tags": ["x", "y", "z"], "ok": "fine"});
        let mut fields: Vec<String> = json_problems(&v, Some(2)).into_iter().map(|e| e.field).collect();
        fields.sort();
        assert_eq!(fields, ["contacts[0].phones[1]", "full_name", "tags"]);
        assert!(json_problems(&v, None).iter().all(|e| e.field != "tags"));
        assert_eq!(json_problems(&serde_json::json!("\u{0}"), None)[0].field, "body");
    }
}
