//! JSON bodies in and out. `ApiJson` rejects a malformed body with a problem document
//! that names the offending field path (`params.limit`, `checklist[0].text`). Every body
//! is checked as a whole before it is read into its type: no text holds U+0000 and no
//! list holds more than [`MAX_LIST_ITEMS`] items, whatever the field.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldError};
use crate::validation::{MAX_LIST_ITEMS, json_problems};

/// A JSON request or response body.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                ct == "application/json" || ct.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::BadRequest(
                "Send the body as JSON with `Content-Type: application/json`.".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("The request body exceeds the size limit.".into())
            } else {
                ApiError::BadRequest(format!("Could not read the request body: {e}"))
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses JSON, turning serde's error into a field error with the path to the culprit.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let whole: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}")))?;
    from_value(whole)
}

/// serde names a missing field in the message, not the path: lift it out.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Reads a parsed body (or an already-built value, e.g. a merge-patched representation)
/// into its type: the whole is checked first, then read once, naming the path to a culprit.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    let problems = json_problems(&value, Some(MAX_LIST_ITEMS));
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        // Read from a value, serde's messages carry no line and column.
        let message = err.into_inner().to_string();
        let field = match path.as_str() {
            "." => missing_field(&message).unwrap_or_else(|| "body".into()),
            p => match missing_field(&message) {
                Some(f) => format!("{p}.{f}"),
                None => p.to_string(),
            },
        };
        ApiError::Validation(vec![FieldError::new(field, message)])
    })
}

/// Applies an RFC 7396 JSON merge patch: fields in `patch` replace those in `target`,
/// `null` removes them (which an input type reads as "clear").
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// `PATCH` bodies: a JSON merge patch over the entity's input shape. The merged result
/// is parsed and validated as a whole, so a patch can never leave an invalid record.
pub fn apply_patch<I: Serialize + DeserializeOwned>(current: &I, patch: &serde_json::Value) -> Result<I, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::BadRequest("A PATCH body is a JSON object with the fields to change.".into()));
    }
    let mut value = serde_json::to_value(current).map_err(|e| ApiError::Internal(e.into()))?;
    merge_patch(&mut value, patch);
    from_value(value)
}
