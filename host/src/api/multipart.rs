//! `multipart/form-data` bodies (uploads). Axum's own extractor answers a body that is
//! not multipart, or has no boundary, in plain text; this one answers a 400 problem
//! document like every other error of the API.

use axum::extract::{FromRequest, Request};

use super::error::ApiError;

/// A multipart body; its fields are read with `next_field` as on axum's `Multipart`.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Multipart::from_request(req, state).await.map(Multipart).map_err(|e| {
            ApiError::BadRequest(format!(
                "{}. Send the upload as `multipart/form-data` with a boundary (curl -F does).",
                e.body_text()
            ))
        })
    }
}

impl std::ops::Deref for Multipart {
    type Target = axum::extract::Multipart;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Multipart {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
