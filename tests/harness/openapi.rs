//! Every response the suite receives is checked against the OpenAPI document the server
//! publishes: its status must be documented for the operation, its media type must be
//! one the operation documents for that status, and a JSON body must match the
//! documented schema. A drift between the server and its document fails `cargo test`.
//!
//! The validator is written here rather than taken from a JSON Schema crate: the
//! document utoipa emits uses twelve keywords (`type`, `$ref`, `properties`, `required`,
//! `additionalProperties`, `propertyNames`, `items`, `oneOf`, `allOf`, `enum`, `minimum`, `format`), all
//! covered below with exact semantics (`oneOf` is exactly one), and any other keyword
//! fails loudly instead of being skipped, so a schema feature utoipa starts to emit is
//! noticed. The formats utoipa emits (`uuid`, `date`, `date-time`, `int32`, `int64`) are
//! checked with `uuid` and `chrono`, already in this crate. A general validator
//! (`jsonschema`) would bring some twenty crates (regex engines, bignum fractions,
//! e-mail and IDNA parsing, a reference resolver) into a suite built on two cores.

use std::sync::OnceLock;

use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value};

/// The document, serialised once per test process.
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(crm_host::api::openapi()).expect("the OpenAPI document serialises"))
}

/// The path template of the document that routes `path`, as axum does: the template of
/// the same length whose literal segments match, literals preferred over parameters.
pub fn template_for(path: &str) -> Option<&'static str> {
    let want: Vec<&str> = path.split('/').collect();
    let mut best: Option<(&'static str, Vec<bool>)> = None;
    for tpl in document()["paths"].as_object()?.keys() {
        let segs: Vec<&str> = tpl.split('/').collect();
        if segs.len() != want.len() {
            continue;
        }
        let mut literal = Vec::with_capacity(segs.len());
        let mut matches = true;
        for (s, w) in segs.iter().zip(&want) {
            if s.starts_with('{') && s.ends_with('}') {
                matches &= !w.is_empty();
                literal.push(false);
            } else {
                matches &= s == w;
                literal.push(true);
            }
        }
        // Leftmost literal wins, as in axum's router (a literal segment beats a parameter).
        if matches && best.as_ref().is_none_or(|(_, b)| literal > *b) {
            best = Some((tpl.as_str(), literal));
        }
    }
    best.map(|(t, _)| t)
}

/// Checks one response; panics naming the operation and every violation.
pub fn check_response(method: &Method, path: &str, status: StatusCode, headers: &HeaderMap, bytes: &[u8]) {
    if !path.starts_with(crm_host::api::API_PREFIX) {
        return;
    }
    let Some(tpl) = template_for(path) else { return }; // no such route: the 404 fallback
    let doc = document();
    let Some(op) = doc["paths"][tpl].get(method.as_str().to_ascii_lowercase()) else {
        return; // a method the path does not take: the 405 fallback
    };
    let what = format!("{method} {path} (documented as {tpl}) answered {status}");
    let body_text = || String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]).into_owned();
    let responses = &op["responses"];
    let Some(response) = responses.get(status.as_str()).or_else(|| responses.get("default")) else {
        let documented: Vec<&String> = responses.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        panic!("OpenAPI drift: {what}, a status the document does not list (it lists {documented:?}); body: {}", body_text());
    };
    let response = resolve(doc, response);
    let content = response.get("content").and_then(Value::as_object);
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let content = match content {
        Some(c) if !c.is_empty() => c,
        _ => {
            assert!(bytes.is_empty(), "OpenAPI drift: {what} with a body, but the document lists no content for it; body: {}", body_text());
            return;
        }
    };
    let Some(media_type) = media_type else {
        assert!(bytes.is_empty(), "OpenAPI drift: {what} with a body and no Content-Type");
        panic!("OpenAPI drift: {what} with no body, but the document lists content {:?}", content.keys().collect::<Vec<_>>());
    };
    let documented = content.iter().find(|(k, _)| media_matches(k, &media_type));
    let Some((_, media)) = documented else {
        panic!("OpenAPI drift: {what} as {media_type}, but the document lists only {:?}", content.keys().collect::<Vec<_>>());
    };
    if !(media_type == "application/json" || media_type.ends_with("+json")) {
        return;
    }
    let Some(schema) = media.get("schema") else { return };
    let body: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what} as {media_type}, but the body is not JSON ({e}): {}", body_text()));
    let mut errors = Vec::new();
    validate(doc, schema, &body, "", &mut errors);
    if !errors.is_empty() {
        panic!(
            "OpenAPI drift: {what}, and the body does not match the documented schema:\n  {}\nbody: {}",
            errors.join("\n  "),
            body_text()
        );
    }
}

/// `application/json` against a documented key (`application/json`, `text/*`, `*/*`).
fn media_matches(documented: &str, actual: &str) -> bool {
    let documented = documented.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    documented == actual
        || documented == "*/*"
        || documented.strip_suffix("/*").is_some_and(|t| actual.split('/').next() == Some(t))
}

/// Follows a local `$ref` (`#/components/schemas/X`); a dangling one panics.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {r} in the OpenAPI document"));
            let target = doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {r} in the OpenAPI document"));
            resolve(doc, target)
        }
        None => v,
    }
}

/// Every `$ref` of the document that points nowhere.
pub fn dangling_refs() -> Vec<String> {
    fn walk(doc: &Value, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str)
                    && r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_none()
                    && !out.iter().any(|x| x == r)
                {
                    out.push(r.to_string());
                }
                o.values().for_each(|x| walk(doc, x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(doc, x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(document(), document(), &mut out);
    out
}

/// Keywords that only annotate.
const ANNOTATIONS: &[&str] = &["description", "title", "example", "examples", "default", "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "discriminator", "xml", "externalDocs"];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    let actual = type_name(v);
    actual == t || (t == "number" && actual == "integer") || (t == "integer" && v.as_f64().is_some_and(|f| f.fract() == 0.0))
}

/// Validates `v` against `schema` (JSON Schema 2020-12 as OpenAPI 3.1 uses it), adding
/// `"<json path>: <what is wrong>"` to `errors`.
pub fn validate(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s: &Map<String, Value> = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return errors.push(format!("{}: no value is allowed here", show(at))),
        Value::Object(o) => o,
        other => return errors.push(format!("{}: the document has a schema that is not one: {other}", show(at))),
    };
    for (key, kw) in s {
        match key.as_str() {
            "$ref" => validate(doc, resolve(doc, schema), v, at, errors),
            "type" => {
                let types: Vec<&str> = match kw {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !types.iter().any(|t| has_type(v, t)) {
                    errors.push(format!("{}: {} is not of type {}", show(at), short(v), types.join(" or ")));
                }
            }
            "enum" => {
                if !kw.as_array().is_some_and(|a| a.contains(v)) {
                    errors.push(format!("{}: {} is not one of {kw}", show(at), short(v)));
                }
            }
            "const" => {
                if kw != v {
                    errors.push(format!("{}: {} is not {kw}", show(at), short(v)));
                }
            }
            "minimum" => {
                if let (Some(min), Some(x)) = (kw.as_f64(), v.as_f64())
                    && x < min
                {
                    errors.push(format!("{}: {x} is below the minimum {min}", show(at)));
                }
            }
            "maximum" => {
                if let (Some(max), Some(x)) = (kw.as_f64(), v.as_f64())
                    && x > max
                {
                    errors.push(format!("{}: {x} is above the maximum {max}", show(at)));
                }
            }
            "format" => check_format(kw.as_str().unwrap_or_default(), v, at, errors),
            "required" => {
                if let Value::Object(o) = v {
                    for name in kw.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !o.contains_key(name) {
                            errors.push(format!("{}: required property `{name}` is missing", show(at)));
                        }
                    }
                }
            }
            "properties" => {
                if let (Value::Object(o), Some(props)) = (v, kw.as_object()) {
                    for (name, sub) in props {
                        if let Some(x) = o.get(name) {
                            validate(doc, sub, x, &format!("{at}.{name}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Value::Object(o) = v {
                    let props = s.get("properties").and_then(Value::as_object);
                    for (name, x) in o {
                        if !props.is_some_and(|p| p.contains_key(name)) {
                            if kw == &Value::Bool(false) {
                                errors.push(format!("{}: property `{name}` is not in the schema", show(at)));
                            } else {
                                validate(doc, kw, x, &format!("{at}.{name}"), errors);
                            }
                        }
                    }
                }
            }
            // Maps keyed by an enum or a string (`BTreeMap<K, V>`): every key is a `K`.
            "propertyNames" => {
                if let Value::Object(o) = v {
                    for name in o.keys() {
                        validate(doc, kw, &Value::String(name.clone()), &format!("{at} (key `{name}`)"), errors);
                    }
                }
            }
            "items" => {
                if let Value::Array(a) = v {
                    for (i, x) in a.iter().enumerate() {
                        validate(doc, kw, x, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            "minItems" | "maxItems" | "minLength" | "maxLength" => {
                let n = match v {
                    Value::Array(a) => Some(a.len()),
                    Value::String(t) if key.ends_with("Length") => Some(t.chars().count()),
                    _ => None,
                };
                if let (Some(n), Some(limit)) = (n, kw.as_u64().and_then(|l| usize::try_from(l).ok())) {
                    let bad = if key.starts_with("min") { n < limit } else { n > limit };
                    if bad {
                        errors.push(format!("{}: {key} {limit} not met by {n}", show(at)));
                    }
                }
            }
            "allOf" => {
                for sub in kw.as_array().into_iter().flatten() {
                    validate(doc, sub, v, at, errors);
                }
            }
            "oneOf" | "anyOf" => {
                let mut failures = Vec::new();
                let mut passing = 0;
                for sub in kw.as_array().into_iter().flatten() {
                    let mut e = Vec::new();
                    validate(doc, sub, v, at, &mut e);
                    if e.is_empty() {
                        passing += 1;
                    } else {
                        failures.push(e.join("; "));
                    }
                }
                if passing == 0 {
                    errors.push(format!("{}: {} matches none of {key}: [{}]", show(at), short(v), failures.join(" | ")));
                } else if key == "oneOf" && passing > 1 {
                    errors.push(format!("{}: {} matches {passing} of oneOf, which wants exactly one", show(at), short(v)));
                }
            }
            k if ANNOTATIONS.contains(&k) => {}
            other => errors.push(format!("{}: the schema keyword `{other}` is not known to the suite's validator; teach tests/harness/openapi.rs", show(at))),
        }
    }
}

fn check_format(format: &str, v: &Value, at: &str, errors: &mut Vec<String>) {
    let ok = match (format, v) {
        ("uuid", Value::String(s)) => uuid::Uuid::parse_str(s).is_ok() && s.len() == 36,
        ("date", Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10,
        ("date-time", Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        ("int32", Value::Number(n)) => n.as_i64().is_some_and(|x| i32::try_from(x).is_ok()),
        ("int64", Value::Number(n)) => n.is_i64() || n.is_u64(),
        _ => true, // other formats (`binary`, `double`, …) are annotations; a value of the wrong type fails `type`
    };
    if !ok {
        errors.push(format!("{}: {} is not a valid {format}", show(at), short(v)));
    }
}

fn show(at: &str) -> &str {
    if at.is_empty() { "(body)" } else { at }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 { format!("{}…", s.chars().take(120).collect::<String>()) } else { s }
}
