//! Path and query extractors whose rejections are problem documents naming the
//! offending parameter, like every other error of the API. A parameter holding U+0000
//! is refused here, for every route (see `validation::NUL_MESSAGE`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::validation::text_without_nul;

/// Path parameters (ids). A malformed id is a 400 problem, not plain text.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await {
            for (name, value) in &raw {
                text_without_nul(name, value)?;
            }
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rejection) => Err(ApiError::BadRequest(format!(
                "{}. Ids in paths are the UUIDs the API returns.",
                rejection.body_text()
            ))),
        }
    }
}

/// Query parameters. A bad value is a 422 naming the parameter (`limit`, `status`).
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            text_without_nul("query", &name)?;
            text_without_nul(&name, &value)?;
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let field = if path == "." { "query".to_string() } else { path };
            ApiError::field(field, message)
        })
    }
}
