//! What every operation of the surface gets: the application, the verified project, the
//! query's parameters and the body; and the helpers they share (parameters, paging, JSON).
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{HssError, HssResult};
use crate::http_util::query_one;
use crate::state::App;

/// Default and largest `limit` of a list. The vendor documents 10 by default and 10–200 for
/// some lists; berth takes 1–200 for all (a smaller page is never harmful).
pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 200;
/// The vendor's documented largest `offset`.
pub const MAX_OFFSET: u64 = 2_000_000;

/// A verified request to one operation.
pub struct Call {
    pub app: App,
    /// The berth instance id from the path, known to exist.
    pub project_id: String,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

/// `offset`/`limit` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub offset: u64,
    pub limit: u64,
}

impl Paging {
    /// The page of `items`.
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let offset = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        items.into_iter().skip(offset).take(limit).collect()
    }
}

impl Call {
    /// A query parameter, `None` when absent or empty (the SDK omits unset ones).
    pub fn param(&self, name: &str) -> Option<&str> {
        query_one(&self.query, name).filter(|v| !v.is_empty())
    }

    /// A query parameter the operation requires.
    pub fn required(&self, name: &str) -> HssResult<&str> {
        self.param(name)
            .ok_or_else(|| HssError::invalid_parameter(name, "it is required"))
    }

    fn number(&self, name: &str, default: u64, range: (u64, u64)) -> HssResult<u64> {
        let Some(text) = self.param(name) else {
            return Ok(default);
        };
        let n: u64 = text
            .parse()
            .map_err(|_| HssError::invalid_parameter(name, "expected a non-negative integer"))?;
        if n < range.0 || n > range.1 {
            let why = format!("expected {} to {}", range.0, range.1);
            return Err(HssError::invalid_parameter(name, &why));
        }
        Ok(n)
    }

    pub fn paging(&self) -> HssResult<Paging> {
        Ok(Paging {
            offset: self.number("offset", 0, (0, MAX_OFFSET))?,
            limit: self.number("limit", DEFAULT_LIMIT, (1, MAX_LIMIT))?,
        })
    }

    /// The body as the operation's request model; every serde error names the field.
    pub fn body_json<T: DeserializeOwned>(&self) -> HssResult<T> {
        if self.body.is_empty() {
            return Err(HssError::invalid_body("a JSON body is required"));
        }
        serde_json::from_slice(&self.body).map_err(HssError::invalid_body)
    }
}

/// An operation's answer: its model as JSON.
pub fn reply<T: Serialize>(body: &T) -> HssResult<String> {
    serde_json::to_string(body).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a cluster-protection answer");
        HssError::internal()
    })
}

/// The answer of an operation whose response model has no fields.
pub fn empty() -> HssResult<String> {
    Ok("{}".to_string())
}
