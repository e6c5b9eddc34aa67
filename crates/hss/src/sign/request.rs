//! What the verifier reads of a request: the parts as received, before any decoding.
use http::HeaderMap;

use super::encoding::python_strip;
use super::error::SignError;

/// A request as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method as sent; the canonical request upper-cases it, as the signer does.
    pub method: &'a str,
    /// The raw path, still percent-encoded (`/v5/p%201/x`).
    pub path: &'a str,
    /// The raw query after `?`, still percent-encoded; empty when there is none.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// The URI's authority, used for `host` only when there is no `Host` header (HTTP/2).
    pub authority: Option<&'a str>,
    /// The whole body.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Request {
            method,
            path,
            query,
            headers,
            authority: None,
            body,
        }
    }

    /// From an `http` request's parts (an axum handler's), with the body already read within
    /// the caller's limits.
    pub fn from_parts(parts: &'a http::request::Parts, body: &'a [u8]) -> Self {
        Request {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            authority: parts.uri.authority().map(http::uri::Authority::as_str),
            body,
        }
    }

    /// A header's one value, UTF-8 and trimmed as the signer trims (`str.strip()`); `None`
    /// when absent. Several values are refused: the signer's headers are a dict, one value a
    /// name, so a second one could only have been added on the way.
    pub(crate) fn header(&self, name: &str) -> Result<Option<&'a str>, SignError> {
        let mut values = self.headers.get_all(name).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(SignError::DuplicateHeader(name.to_string()));
        }
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| SignError::InvalidHeaderValue(name.to_string()))?;
        Ok(Some(python_strip(text)))
    }

    /// The value signed as `host`: the `Host` header, or the URI's authority without one.
    pub(crate) fn host(&self) -> Result<Option<&'a str>, SignError> {
        Ok(self.header("host")?.or(self.authority))
    }
}
