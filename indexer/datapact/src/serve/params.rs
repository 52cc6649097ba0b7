//! The query parameters every list accepts, checked before any SQL runs: a bad one is a clear
//! 400, never a database error.

use super::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

pub fn limit(l: Option<i64>) -> ApiResult<i64> {
    match l {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit {n}: use 1 to {MAX_LIMIT}"
        ))),
    }
}

pub fn address(field: &str, v: &Option<String>) -> ApiResult<Option<String>> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(a)
            if a.len() <= 128
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '_') =>
        {
            Ok(Some(a.to_string()))
        }
        Some(a) => Err(ApiError::BadRequest(format!(
            "{field} {a:?} is not an address or a subject id"
        ))),
    }
}

pub fn one_of(field: &str, v: &Option<String>, allowed: &[&str]) -> ApiResult<Option<String>> {
    match v.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(x) if allowed.contains(&x) => Ok(Some(x.to_string())),
        Some(x) => Err(ApiError::BadRequest(format!(
            "{field} {x:?}: use one of {}",
            allowed.join(", ")
        ))),
    }
}

/// A path id: a positive number.
pub fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::BadRequest(format!("{id:?} is not an id (a positive number)")))
}
