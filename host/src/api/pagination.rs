//! Stable keyset pagination. Lists are ordered newest first by id (ids are UUIDv7, so
//! they sort by creation); the cursor is the last id of the page, so rows added or
//! archived meanwhile never shift a page.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// `?limit=&cursor=` on every list route.
#[derive(Debug, Deserialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> ApiResult<u32> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::field("limit", format!("must be between 1 and {MAX_LIMIT}"))),
        }
    }

    /// The id to continue after, or a fresh start (the largest possible id).
    pub fn after(&self) -> ApiResult<Uuid> {
        match &self.cursor {
            None => Ok(Uuid::max()),
            Some(c) => c
                .parse()
                .map_err(|_| ApiError::field("cursor", "is not a cursor returned by this list")),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> Uuid) -> Page<T> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| id_of(r).to_string()) } else { None };
        Page { items: rows, next_cursor }
    }
}

/// Lower-cased text for case-insensitive search on both engines (SQLite's `LIKE`
/// folds ASCII only, and names here are mostly Cyrillic).
pub fn search_key(parts: &[Option<&str>]) -> String {
    parts.iter().flatten().map(|s| s.to_lowercase()).collect::<Vec<_>>().join(" ")
}

/// A `LIKE` pattern matching `q` anywhere, with LIKE's wildcards escaped (`ESCAPE '\'`).
pub fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for ch in q.trim().to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}
