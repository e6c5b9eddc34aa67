//! The verifier: from a request to a [`Verified`] or the error to answer.
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{AcsError, AcsResult};
use crate::nonce::NonceCache;
use crate::params::Limits;
use crate::time::MAX_SKEW_SECS;

/// The longest access key id accepted (the vendor's are 24 to 30 characters).
pub(crate) const MAX_ACCESS_KEY_ID_BYTES: usize = 128;
/// The longest nonce accepted (the SDKs send 32 hex digits or a 36-character UUID).
pub(crate) const MAX_NONCE_BYTES: usize = 128;

/// What the verifier reads of a request: `http` types, so an axum handler passes its parts.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a http::Method,
    /// The request target as received: its path and raw (still percent-encoded) query.
    pub uri: &'a http::Uri,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn new(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Request {
            method,
            uri,
            headers,
            body,
        }
    }

    pub fn from_parts(parts: &'a http::request::Parts, body: &'a [u8]) -> Self {
        Request::new(&parts.method, &parts.uri, &parts.headers, body)
    }
}

/// Which scheme a request was signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signing {
    /// `Authorization: ACS3-HMAC-SHA256 ...` (the SDKs' default).
    Acs3,
    /// `SignatureVersion=1.0`, `SignatureMethod=HMAC-SHA1` parameters (tea-openapi's `v2`,
    /// aliyun-python-sdk-core).
    RpcV2,
}

/// An access key's secret. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// Where the verifier finds an access key's secret; the caller implements it over its own store.
/// `None` is answered `InvalidAccessKeyId.NotFound` (404), as the vendor does; a disabled key
/// should be `None` too.
pub trait SecretLookup {
    fn secret(&self, access_key_id: &str) -> Option<Secret>;
}

impl SecretLookup for HashMap<String, Secret> {
    fn secret(&self, access_key_id: &str) -> Option<Secret> {
        self.get(access_key_id).cloned()
    }
}

impl SecretLookup for BTreeMap<String, Secret> {
    fn secret(&self, access_key_id: &str) -> Option<Secret> {
        self.get(access_key_id).cloned()
    }
}

impl<T: SecretLookup + ?Sized> SecretLookup for &T {
    fn secret(&self, access_key_id: &str) -> Option<Secret> {
        (**self).secret(access_key_id)
    }
}

impl<T: SecretLookup + ?Sized> SecretLookup for Arc<T> {
    fn secret(&self, access_key_id: &str) -> Option<Secret> {
        (**self).secret(access_key_id)
    }
}

/// A request whose signature, time and nonce checked out. Only this crate makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    access_key_id: String,
    /// The (access key, nonce) pair as one replay key, and until when (Unix seconds) it must
    /// stay remembered: what a process's own cache recorded, for a check shared by processes.
    replay_key: String,
    remember_until: i64,
    action: String,
    version: String,
    params: BTreeMap<String, String>,
    signing: Signing,
}

impl Verified {
    /// The request's replay key (access key and nonce) and until when (Unix seconds) it must be
    /// refused if seen again; a process's own cache already refuses it there.
    pub fn replay_key(&self) -> (&str, i64) {
        (&self.replay_key, self.remember_until)
    }

    /// The access key that signed the request.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The operation, from the signed `Action` parameter or `x-acs-action` header.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The API version, from the signed `Version` parameter or `x-acs-version` header.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The operation's own parameters (query and form), decoded; the signature's parameters are
    /// not among them. `RegionId` is: aliyun-python-sdk-core always sends it.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    pub fn into_params(self) -> BTreeMap<String, String> {
        self.params
    }

    pub fn signing(&self) -> Signing {
        self.signing
    }
}

/// A well-formed signed request whose key is still to be looked up and whose signature is still
/// to be checked. For callers whose secret store is asynchronous: [`parse`], then
/// [`Unverified::check_time`] (cheap, before any lookup), look up
/// [`Unverified::access_key_id`], then [`Unverified::verify`].
#[derive(Debug, Clone)]
pub struct Unverified {
    pub(crate) signing: Signing,
    pub(crate) access_key_id: String,
    pub(crate) action: String,
    pub(crate) version: String,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) nonce: String,
    /// The request's own time, seconds since the epoch.
    pub(crate) timestamp: i64,
    pub(crate) string_to_sign: String,
    pub(crate) signature: Vec<u8>,
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

impl Unverified {
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn signing(&self) -> Signing {
        self.signing
    }

    /// The time the request claims, seconds since the epoch.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The string the signature covers (what the vendor quotes in `SignatureDoesNotMatch`).
    pub fn string_to_sign(&self) -> &str {
        &self.string_to_sign
    }

    /// `InvalidTimeStamp.Expired` if the request's time is more than [`MAX_SKEW_SECS`] from
    /// `now`, either way.
    pub fn check_time(&self, now: SystemTime) -> AcsResult<()> {
        self.check_time_at(unix_seconds(now))
    }

    fn check_time_at(&self, now: i64) -> AcsResult<()> {
        if now.abs_diff(self.timestamp) > MAX_SKEW_SECS.unsigned_abs() {
            return Err(AcsError::TimestampExpired);
        }
        Ok(())
    }

    /// Checks the time, then the signature against `secret` (in constant time), then records
    /// the nonce: only a request that passed all three is a [`Verified`], and a request whose
    /// signature failed leaves no nonce behind.
    pub fn verify(
        self,
        secret: &Secret,
        nonces: &NonceCache,
        now: SystemTime,
    ) -> AcsResult<Verified> {
        let now = unix_seconds(now);
        self.check_time_at(now)?;
        let matches = match self.signing {
            Signing::Acs3 => crate::mac::acs3_signature_matches(
                secret.as_bytes(),
                &self.string_to_sign,
                &self.signature,
            ),
            Signing::RpcV2 => crate::mac::rpc_signature_matches(
                secret.as_bytes(),
                &self.string_to_sign,
                &self.signature,
            ),
        };
        if !matches {
            return Err(AcsError::SignatureDoesNotMatch(format!(
                "server string to sign is:{}",
                self.string_to_sign
            )));
        }
        nonces.check_and_insert(&self.access_key_id, &self.nonce, self.timestamp, now)?;
        Ok(Verified {
            replay_key: format!("acs/{}/{}", self.access_key_id, self.nonce),
            remember_until: self.timestamp.saturating_add(crate::MAX_SKEW_SECS).max(now),
            access_key_id: self.access_key_id,
            action: self.action,
            version: self.version,
            params: self.params,
            signing: self.signing,
        })
    }
}

/// Python's `str.strip()` over Latin-1 text: the characters `str.isspace()` is true of below
/// U+0100.
fn python_trim(s: &str) -> &str {
    s.trim_matches(|c: char| {
        matches!(
            c,
            '\t' | '\n'
                | '\u{0b}'
                | '\u{0c}'
                | '\r'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{1f}'
                | ' '
                | '\u{85}'
                | '\u{a0}'
        )
    })
}

/// A header value's bytes as Latin-1 (what Python's `http.client` encodes a `str` to), trimmed.
fn latin1(value: &http::HeaderValue) -> String {
    let text: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
    python_trim(&text).to_string()
}

/// Every value of a header, decoded and trimmed; for `host`, the URI's authority when the
/// request has no `Host` header (HTTP/2).
pub(crate) fn header_values(
    req: &Request<'_>,
    name: &str,
    limits: &Limits,
) -> AcsResult<Vec<String>> {
    let mut values = Vec::new();
    for value in req.headers.get_all(name) {
        if value.len() > limits.max_header_bytes {
            return Err(too_long(name, limits));
        }
        values.push(latin1(value));
    }
    if values.is_empty()
        && name == "host"
        && let Some(authority) = req.uri.authority()
    {
        values.push(authority.as_str().to_string());
    }
    Ok(values)
}

fn too_long(name: &str, limits: &Limits) -> AcsError {
    AcsError::invalid(format!(
        "The {name} header exceeds {} bytes.",
        limits.max_header_bytes
    ))
}

/// A header that may appear once: its decoded, trimmed value.
pub(crate) fn header_value(
    req: &Request<'_>,
    name: &str,
    limits: &Limits,
) -> AcsResult<Option<String>> {
    let mut all = req.headers.get_all(name).iter();
    let Some(value) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(AcsError::invalid(format!(
            "The {name} header appears more than once."
        )));
    }
    if value.len() > limits.max_header_bytes {
        return Err(too_long(name, limits));
    }
    Ok(Some(latin1(value)))
}

/// A header the scheme needs: absent or empty is `MissingParameter`.
pub(crate) fn required_header(req: &Request<'_>, name: &str, limits: &Limits) -> AcsResult<String> {
    match header_value(req, name, limits)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(AcsError::missing(name)),
    }
}

pub(crate) fn check_nonce(nonce: &str) -> AcsResult<()> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_BYTES {
        return Err(AcsError::invalid(
            "Specified parameter SignatureNonce is not valid.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_as_python_str_strip() {
        assert_eq!(python_trim(" \t\u{a0}a b\u{85}\u{1f}"), "a b");
        assert_eq!(python_trim("x"), "x");
    }

    #[test]
    fn header_bytes_are_latin1() {
        let value = http::HeaderValue::from_bytes(b"caf\xe9")
            .unwrap_or(http::HeaderValue::from_static("x"));
        assert_eq!(latin1(&value), "café");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(..)");
    }

    #[test]
    fn time_window_is_inclusive() {
        let unverified = Unverified {
            signing: Signing::RpcV2,
            access_key_id: "ak".into(),
            action: String::new(),
            version: String::new(),
            params: BTreeMap::new(),
            nonce: "n".into(),
            timestamp: 1_000_000,
            string_to_sign: String::new(),
            signature: Vec::new(),
        };
        for (now, ok) in [
            (1_000_000 - MAX_SKEW_SECS - 1, false),
            (1_000_000 - MAX_SKEW_SECS, true),
            (1_000_000, true),
            (1_000_000 + MAX_SKEW_SECS, true),
            (1_000_000 + MAX_SKEW_SECS + 1, false),
            (i64::MIN, false),
            (i64::MAX, false),
        ] {
            assert_eq!(unverified.check_time_at(now).is_ok(), ok, "{now}");
        }
    }

    fn refusal(target: &str, headers: &[(&str, &str)], body: &[u8], limits: &Limits) -> String {
        let method = http::Method::POST;
        let uri: http::Uri = target.parse().unwrap_or_default();
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                map.append(n, v);
            }
        }
        match crate::verifier::parse(&Request::new(&method, &uri, &map, body), limits) {
            Ok(u) => format!("parsed {u:?}"),
            Err(e) => format!("{}: {e}", e.code()),
        }
    }

    #[test]
    fn limits_are_enforced_before_anything_else() {
        let limits = Limits {
            max_query_bytes: 32,
            max_body_bytes: 8,
            max_params: 3,
            max_header_bytes: 40,
            ..Limits::default()
        };
        let form = [("content-type", "application/x-www-form-urlencoded")];
        for (target, headers, body, expected) in [
            (
                "/?a=0123456789012345678901234567890",
                &[][..],
                &b""[..],
                "query string exceeds 32",
            ),
            ("/", &form[..], &b"a=123456789"[..], "body exceeds 8"),
            ("/?a=1&b=2&c=3&d=4", &[], b"", "more than 3 parameters"),
            ("/?a=1&b=2", &form, b"c=3&d=4", "more than 3 parameters"),
            (
                "/",
                &[(
                    "authorization",
                    "ACS3-HMAC-SHA256 Credential=0123456789abcdef",
                )],
                b"",
                "authorization header exceeds 40",
            ),
            (
                "/",
                &[("authorization", "a"), ("authorization", "b")],
                b"",
                "appears more than once",
            ),
            (
                "/?a=1",
                &[("content-type", "application/json")],
                b"{}",
                "must be application/x-www-form-urlencoded",
            ),
            (
                "/?a=1",
                &form,
                b"a=2",
                "given more than once with different values",
            ),
            ("/?a=%zz", &[], b"", "malformed percent-encoding"),
            ("/?a=%C3", &[], b"", "not valid UTF-8"),
            (
                "/?a=1",
                &[],
                b"",
                "MissingParameter: The input parameter \"AccessKeyId\"",
            ),
        ] {
            let got = refusal(target, headers, body, &limits);
            assert!(got.contains(expected), "{target}: {got}");
        }
    }
}
