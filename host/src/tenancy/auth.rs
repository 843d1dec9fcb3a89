//! Bearer-token authentication: `Authorization: Bearer crm_<tenant>_<token>_<secret>`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::api::error::ApiError;

use super::access::Caller;
use super::model::{TenantId, TokenId};
use super::store;

/// Splits a token into the tenant id, the token id and the secret.
pub fn parse_token(token: &str) -> Option<(TenantId, TokenId, &str)> {
    let rest = token.strip_prefix("crm_")?;
    let mut parts = rest.splitn(3, '_');
    let tenant = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    let secret = parts.next()?;
    (secret.len() == 64).then_some((tenant, id, secret))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthenticated("No Authorization header"))?
            .to_str()
            .map_err(|_| ApiError::Unauthenticated("Malformed Authorization header"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(ApiError::Unauthenticated("Authorization must use the Bearer scheme"))?
            .trim();
        let (tenant_id, token_id, secret) = parse_token(token).ok_or_else(invalid)?;
        let mut conn = state.db.read().await?;
        let owner = store::token_owner(&mut conn.conn(), tenant_id, token_id).await?.ok_or_else(invalid)?;
        let hash = Sha256::digest(secret.as_bytes());
        if !constant_time_eq(&hash, &owner.token_hash)
            || owner.revoked_at.is_some()
            || owner.user_archived_at.is_some()
        {
            return Err(invalid());
        }
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Caller {
            tenant_id,
            user_id: owner.user_id,
            role: owner.role,
            departments: owner.departments.0,
            name: owner.full_name,
            time_zone: owner.time_zone,
            request_id,
        })
    }
}

/// The same answer for every bad token, so a caller learns nothing about which part failed.
fn invalid() -> ApiError {
    ApiError::Unauthenticated("The token is unknown, revoked or malformed")
}
