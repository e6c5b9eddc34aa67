//! The two steps: [`parse`] (no secret needed: the caller learns the access key id and looks
//! its secret up, perhaps asynchronously), then [`Unverified::verify`].
use std::fmt;
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::authorization::{self, Authorization};
use super::canonical::{canonical_request, string_to_sign};
use super::error::SignError;
use super::request::Request;
use super::time::{self, MAX_SKEW_SECS, unix_seconds};

/// Headers berth requires under the signature. The SDK always signs both (it adds `Host` and
/// `X-Sdk-Date` before listing the headers); unsigned, `host` would let a request signed for
/// one endpoint be replayed at another.
const MUST_SIGN: [&str; 2] = ["host", "x-sdk-date"];

/// An access key's secret. Its `Debug` does not show it, and no error carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What a deployment may relax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How far `X-Sdk-Date` may be from the server's clock, either way.
    pub max_skew_secs: i64,
    /// Accept `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` on a body: the SDK sends it for bodies
    /// that are not JSON or BSON (uploads). Off by default: the cluster-protection API takes
    /// JSON, and an unsigned body could be swapped on the way.
    pub allow_unsigned_payload: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_skew_secs: MAX_SKEW_SECS,
            allow_unsigned_payload: false,
        }
    }
}

/// A well-formed signed request whose signature is still to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    authorization: Authorization,
    date: String,
    timestamp: i64,
}

/// Reads the `Authorization` and `X-Sdk-Date` headers; no secret is involved yet.
pub fn parse(req: &Request<'_>) -> Result<Unverified, SignError> {
    let value = req
        .header("authorization")?
        .ok_or(SignError::MissingHeader("Authorization"))?;
    let authorization = authorization::parse(value)?;
    let date = req
        .header("x-sdk-date")?
        .ok_or(SignError::MissingHeader("X-Sdk-Date"))?;
    let timestamp = time::parse(date).ok_or(SignError::MalformedDate)?;
    for name in MUST_SIGN {
        if !authorization.signed_headers.iter().any(|h| h == name) {
            return Err(SignError::HeaderNotSigned(name));
        }
    }
    Ok(Unverified {
        authorization,
        date: date.to_string(),
        timestamp,
    })
}

impl Unverified {
    /// The key to look the secret up by.
    pub fn access_key_id(&self) -> &str {
        &self.authorization.access_key_id
    }

    /// The signed header names, lower-case and sorted.
    pub fn signed_headers(&self) -> &[String] {
        &self.authorization.signed_headers
    }

    /// The request's `X-Sdk-Date`, seconds since the epoch.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Whether the request's time is within `max_skew_secs` of `now`: cheap, so a caller can
    /// check it before looking a key up.
    pub fn check_time(&self, now: SystemTime, max_skew_secs: i64) -> Result<(), SignError> {
        let skew = unix_seconds(now).saturating_sub(self.timestamp);
        if skew.saturating_abs() > max_skew_secs {
            return Err(SignError::DateSkew {
                skew_secs: skew,
                max_secs: max_skew_secs,
            });
        }
        Ok(())
    }

    /// Verifies with the default [`Options`]: `req` must be the request this was parsed from.
    pub fn verify(
        &self,
        secret: &Secret,
        req: &Request<'_>,
        now: SystemTime,
    ) -> Result<(), SignError> {
        self.verify_with(secret, req, now, &Options::default())
    }

    /// Checks the time, rebuilds the canonical request from `req` and compares the signature
    /// in constant time.
    pub fn verify_with(
        &self,
        secret: &Secret,
        req: &Request<'_>,
        now: SystemTime,
        options: &Options,
    ) -> Result<(), SignError> {
        self.check_time(now, options.max_skew_secs)?;
        let signed = &self.authorization.signed_headers;
        let canonical = canonical_request(req, signed, options.allow_unsigned_payload)?;
        let to_sign = string_to_sign(&self.date, &canonical);
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()) else {
            return Err(SignError::SignatureMismatch);
        };
        mac.update(to_sign.as_bytes());
        mac.verify_slice(&self.authorization.signature)
            .map_err(|_| SignError::SignatureMismatch)
    }
}
