//! The canonical request and the string to sign, as `Signer._process_canonical_request` and
//! `Signer._process_string_to_sign` build them:
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//!                    SignedHeaders \n PayloadHash
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! ```
//!
//! - CanonicalURI: the path unquoted, split on `/`, each segment quoted (`safe='~'`), joined by
//!   `/`, and always ending in `/`.
//! - CanonicalQuery: the signer sorts `(name, value)` pairs, quotes both and joins them with
//!   `&`; it then sends exactly that string as the query (`process_request_uri`). The server
//!   decodes each pair (`+` as a space, as the vendor's Go and Java signers read queries), sorts
//!   the pairs by name keeping the order of one name's values as received, and re-quotes. Sorting
//!   by name only matters: the signer sorted a list value's items by their own type (`[10, 9]`
//!   as numbers), which the text cannot tell, and wrote them in that order.
//! - CanonicalHeaders: `name:value\n` for each signed header, the value stripped
//!   (`str.strip()`); the list ends in `\n`, so an empty line follows it.
//! - PayloadHash: the SHA-256 of the body in hex; for an empty body that of nothing; with an
//!   `X-Sdk-Content-Sha256` header on a non-empty body, that header's value (the signer sets
//!   `UNSIGNED-PAYLOAD` for content types other than JSON and BSON).
use sha2::{Digest as _, Sha256};

use super::authorization::ALGORITHM;
use super::encoding::{percent_decode, quote, unquote};
use super::error::SignError;
use super::request::Request;

/// The SHA-256 of nothing, the payload hash of an empty body.
pub const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The header that replaces the body's hash, and its one value that is not a hash.
pub const CONTENT_HEADER: &str = "x-sdk-content-sha256";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// `_process_canonical_uri`.
pub fn canonical_uri(raw_path: &str) -> String {
    let mut uri = unquote(raw_path)
        .split('/')
        .map(|segment| quote(segment.as_bytes()))
        .collect::<Vec<_>>()
        .join("/");
    // The signer would fail on an empty path; no HTTP request has one.
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The query the signer signed, from the raw query it sent.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = raw_query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            (
                percent_decode(name.as_bytes(), true),
                percent_decode(value.as_bytes(), true),
            )
        })
        .collect();
    // Stable: one name's values keep their order.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", quote(name), quote(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `_process_canonical_headers` for the header names in `signed` (lower-case).
pub fn canonical_headers(req: &Request<'_>, signed: &[String]) -> Result<String, SignError> {
    let mut out = String::new();
    for name in signed {
        let value = if name == "host" {
            req.host()?
        } else {
            req.header(name)?
        };
        let value = value.ok_or_else(|| SignError::MissingSignedHeader(name.clone()))?;
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    Ok(out)
}

/// `_process_hash_payload`, refusing what the signer would have let through unchecked: an
/// `X-Sdk-Content-Sha256` that is not the body's hash, an unsigned one, and (unless allowed)
/// an unsigned body.
pub fn payload_hash(
    req: &Request<'_>,
    signed: &[String],
    allow_unsigned_payload: bool,
) -> Result<String, SignError> {
    if req.body.is_empty() {
        return Ok(EMPTY_HASH.to_string());
    }
    let body_hash = hex::encode(Sha256::digest(req.body));
    let Some(claimed) = req.header(CONTENT_HEADER)? else {
        return Ok(body_hash);
    };
    // Unsigned, the header could be added on the way to replace the body's hash.
    if !signed.iter().any(|h| h == CONTENT_HEADER) {
        return Err(SignError::HeaderNotSigned(CONTENT_HEADER));
    }
    if claimed == UNSIGNED_PAYLOAD {
        return if allow_unsigned_payload {
            Ok(claimed.to_string())
        } else {
            Err(SignError::UnsignedPayload)
        };
    }
    // The signer signs the header's value as given; a value that is not the body's hash
    // would let the body change under a valid signature.
    if claimed != body_hash {
        return Err(SignError::ContentHashMismatch);
    }
    Ok(body_hash)
}

/// The whole canonical request.
pub fn canonical_request(
    req: &Request<'_>,
    signed: &[String],
    allow_unsigned_payload: bool,
) -> Result<String, SignError> {
    let headers = canonical_headers(req, signed)?;
    let payload = payload_hash(req, signed, allow_unsigned_payload)?;
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        headers,
        signed.join(";"),
        payload
    ))
}

/// `_process_string_to_sign`, `date` being the `X-Sdk-Date` value (already checked to be in
/// the signer's own format, so it is what `strftime` would write again).
pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_always_ends_in_a_slash() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/v5/p"), "/v5/p/");
        assert_eq!(canonical_uri("/v5/p/"), "/v5/p/");
        // An encoded '/' is a separator once unquoted, as in the signer.
        assert_eq!(canonical_uri("/a%2Fb%20c"), "/a/b%20c/");
        assert_eq!(canonical_uri("/a~b*c"), "/a~b%2Ac/");
    }

    #[test]
    fn query_is_sorted_by_name_and_requoted() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1"), "a=1&b=2");
        assert_eq!(canonical_query("k=10&a&k=9"), "a=&k=10&k=9");
        assert_eq!(canonical_query("x=a+b%2B~*"), "x=a%20b%2B~%2A");
        assert_eq!(canonical_query("&&a=1&"), "a=1");
    }
}
