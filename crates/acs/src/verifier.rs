//! The entry points: reading a request into an [`Unverified`] (ACS3 or v2, by its shape) and
//! the [`Verifier`] that takes it to a [`Verified`]. Here, not in `verify.rs`: the two schemes'
//! parsers build the types `verify.rs` defines, so the dispatch to them lives above both.
use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::error::{AcsError, AcsResult};
use crate::nonce::NonceCache;
use crate::params::{Limits, is_form, merge_into, parse_pairs};
use crate::verify::{Request, SecretLookup, Unverified, Verified, header_value};
use crate::{acs3, rpc};

/// Reads a request's parameters and signature without any secret: everything that can be
/// refused before a key lookup is refused here (limits, encoding, a missing or malformed
/// signature part, the time's format, an ACS3 body whose hash is not the signed one).
///
/// Parameters: the query string's and, when the body is `application/x-www-form-urlencoded`,
/// the form's, decoded as the SDKs encode them (`+` and `%20` are spaces). Query and form are
/// one set: a name in both with the same value is one parameter; with different values the
/// request is refused (`InvalidParameter`), so neither can override the other. A non-empty body
/// of any other type is refused too: these RPC operations take none, and a v2 signature would
/// not cover it.
///
/// The scheme: an `Authorization` header makes it ACS3 (and a `Signature` parameter beside it
/// is refused as ambiguous); without one it is the v2 parameter signature.
pub fn parse(req: &Request<'_>, limits: &Limits) -> AcsResult<Unverified> {
    let query = req.uri.query().unwrap_or("");
    if query.len() > limits.max_query_bytes {
        return Err(AcsError::invalid(format!(
            "The query string exceeds {} bytes.",
            limits.max_query_bytes
        )));
    }
    if req.body.len() > limits.max_body_bytes {
        return Err(AcsError::invalid(format!(
            "The request body exceeds {} bytes.",
            limits.max_body_bytes
        )));
    }
    let mut query_params = BTreeMap::new();
    merge_into(
        &mut query_params,
        parse_pairs(query, limits.max_params)?,
        limits.max_params,
    )?;
    let mut params = query_params.clone();
    if !req.body.is_empty() {
        let content_type = header_value(req, "content-type", limits)?.unwrap_or_default();
        if !is_form(&content_type) {
            return Err(AcsError::invalid(
                "A request body must be application/x-www-form-urlencoded.",
            ));
        }
        let form = std::str::from_utf8(req.body)
            .map_err(|_| AcsError::invalid("The form body is not valid UTF-8."))?;
        merge_into(
            &mut params,
            parse_pairs(form, limits.max_params)?,
            limits.max_params,
        )?;
    }
    match header_value(req, "authorization", limits)? {
        Some(authorization) => {
            if params.contains_key("Signature") {
                return Err(AcsError::invalid(
                    "The request carries both an Authorization header and a Signature parameter.",
                ));
            }
            acs3::parse(req, &authorization, &query_params, params, limits)
        }
        None => rpc::parse(req, params, limits),
    }
}

/// Verifies requests against a nonce cache it owns.
#[derive(Debug, Default)]
pub struct Verifier {
    limits: Limits,
    nonces: NonceCache,
}

impl Verifier {
    pub fn new(limits: Limits, nonces: NonceCache) -> Self {
        Verifier { limits, nonces }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn nonces(&self) -> &NonceCache {
        &self.nonces
    }

    /// [`parse`], the time check, the key lookup (`InvalidAccessKeyId.NotFound` for an unknown
    /// key), then [`Unverified::verify`]. `now` is the server's clock, a parameter so tests can
    /// fix it.
    pub fn verify<S: SecretLookup + ?Sized>(
        &self,
        req: &Request<'_>,
        secrets: &S,
        now: SystemTime,
    ) -> AcsResult<Verified> {
        let unverified = parse(req, &self.limits)?;
        unverified.check_time(now)?;
        let secret = secrets
            .secret(unverified.access_key_id())
            .ok_or(AcsError::InvalidAccessKeyIdNotFound)?;
        unverified.verify(&secret, &self.nonces, now)
    }
}
