//! Custom deal parameters: each pipeline declares typed fields; a deal's `params`
//! object is checked against them (unknown keys, wrong types, missing required ones).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::error::Violations;
use crate::money::Money;

/// The type of a custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Integer,
    /// A decimal number sent as a string (`"12.5"`).
    Decimal,
    /// Money sent as a string with at most two decimals (`"1500000.00"`).
    Money,
    /// `YYYY-MM-DD`.
    Date,
    Boolean,
    /// One of `options`.
    Enum,
}

/// One custom field of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Key in the deal's `params` (`snake_case`, e.g. `factoring_type`).
    #[schema(example = "factoring_type")]
    pub key: String,
    /// What users see.
    #[schema(example = "Вид факторинга")]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    /// Allowed values of an `enum` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// Checks a schema itself: keys well-formed and unique, enums with options.
pub fn validate_schema(v: &mut Violations, schema: &[FieldDef]) {
    for (i, f) in schema.iter().enumerate() {
        let key_ok = !f.key.is_empty()
            && f.key.len() <= 64
            && f.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && f.key.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        v.check(key_ok, &format!("field_schema[{i}].key"), "must be snake_case: a–z, 0–9, _; starting with a letter");
        v.check(!schema[..i].iter().any(|g| g.key == f.key), &format!("field_schema[{i}].key"), "is used twice");
        v.check(!f.label.trim().is_empty(), &format!("field_schema[{i}].label"), "must not be empty");
        if f.field_type == FieldType::Enum {
            v.check(!f.options.is_empty(), &format!("field_schema[{i}].options"), "an enum field needs its options");
        } else {
            v.check(f.options.is_empty(), &format!("field_schema[{i}].options"), "only enum fields have options");
        }
    }
}

/// Checks `params` against the schema and returns it normalised (nulls dropped,
/// money and decimals in canonical form).
pub fn validate_params(v: &mut Violations, schema: &[FieldDef], params: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(obj) = params.as_object() else {
        v.add("params", "must be a JSON object of the pipeline's fields");
        return out;
    };
    // Sorted, so errors come in the same order whatever the map implementation.
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    for key in keys {
        let value = &obj[key];
        let field = format!("params.{key}");
        let Some(def) = schema.iter().find(|f| &f.key == key) else {
            let known: Vec<&str> = schema.iter().map(|f| f.key.as_str()).collect();
            v.add(field, format!("is not a field of this pipeline; its fields are: {}", if known.is_empty() { "(none)".into() } else { known.join(", ") }));
            continue;
        };
        if value.is_null() {
            continue;
        }
        match check(def, value) {
            Ok(normalised) => {
                out.insert(key.clone(), normalised);
            }
            Err(msg) => v.add(field, msg),
        }
    }
    for def in schema.iter().filter(|f| f.required) {
        if !out.contains_key(&def.key) && obj.get(&def.key).is_none_or(|x| x.is_null()) {
            v.add(format!("params.{}", def.key), format!("is required ({})", def.label));
        }
    }
    out
}

fn check(def: &FieldDef, value: &Value) -> Result<Value, String> {
    match def.field_type {
        FieldType::String => value.as_str().map(|s| Value::String(s.to_string())).ok_or_else(|| "must be a string".into()),
        FieldType::Integer => value.as_i64().map(Value::from).ok_or_else(|| "must be a whole number".into()),
        FieldType::Boolean => value.as_bool().map(Value::Bool).ok_or_else(|| "must be true or false".into()),
        FieldType::Decimal => {
            let s = value.as_str().ok_or("must be a decimal number written as a string, e.g. \"12.5\"")?;
            let d = Decimal::from_str_exact(s.trim()).map_err(|_| format!("`{s}` is not a decimal number"))?;
            Ok(Value::String(d.normalize().to_string()))
        }
        FieldType::Money => {
            let s = value.as_str().ok_or("must be an amount written as a string, e.g. \"1500000.00\"")?;
            let m: Money = s.parse().map_err(|e| format!("`{s}` {e}"))?;
            Ok(Value::String(m.to_string()))
        }
        FieldType::Date => {
            let s = value.as_str().ok_or("must be a date string YYYY-MM-DD")?;
            crate::dates::parse(s).map_err(|e| crate::dates::message(s, e))?;
            Ok(Value::String(s.to_string()))
        }
        FieldType::Enum => {
            let s = value.as_str().ok_or("must be one of the field's options")?;
            if def.options.iter().any(|o| o == s) {
                Ok(Value::String(s.to_string()))
            } else {
                Err(format!("`{s}` is not one of: {}", def.options.join(", ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Vec<FieldDef> {
        serde_json::from_value(json!([
            {"key": "factoring_type", "label": "Вид", "type": "enum", "options": ["with_recourse", "without_recourse"], "required": true},
            {"key": "limit", "label": "Лимит", "type": "money"},
            {"key": "term_days", "label": "Срок", "type": "integer"},
            {"key": "signed_on", "label": "Дата", "type": "date"}
        ]))
        .unwrap()
    }

    #[test]
    fn params_are_checked_by_type_and_normalised() {
        let mut v = Violations::new();
        let out = validate_params(&mut v, &schema(), &json!({"factoring_type": "with_recourse", "limit": "1000000", "term_days": 90}));
        assert!(v.finish().is_ok());
        assert_eq!(out["limit"], json!("1000000.00"));
    }

    #[test]
    fn each_bad_param_is_named() {
        let mut v = Violations::new();
        validate_params(&mut v, &schema(), &json!({"limit": 5, "term_days": "x", "colour": "red", "signed_on": "2026-13-01"}));
        let err = v.finish().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["params.colour", "params.limit", "params.signed_on", "params.term_days", "params.factoring_type"]);
    }
}
