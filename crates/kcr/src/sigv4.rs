//! Verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256`), in the `Authorization` header or
//! in query parameters, with the seed's error for each failure.
//!
//! Hand-written: the SigV4 crates sign outgoing requests; none verifies an incoming one with the
//! checks and messages the seed lists. The tests sign with independent implementations (the
//! `aws-sigv4` crate, botocore's signer inside ksc-sdk-python, requests-aws4auth inside
//! kingsoftcloud-sdk-python).
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest as _, Sha256};

use crate::{RequestError, RequestResult};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
/// How far a header-signed request's time may be from the server's.
const MAX_SKEW_SECS: i64 = 15 * 60;
/// The longest a query-signed (presigned) request may stay valid: 7 days, as in AWS.
const MAX_EXPIRES_SECS: i64 = 7 * 24 * 3600;
const QUERY_AUTH: [&str; 5] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
    "X-Amz-Signature",
];

/// What the verifier needs of a request.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw (still percent-encoded) query string.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A parsed, well-formed signature whose key is still to be looked up.
#[derive(Debug, Clone)]
pub struct Signature {
    pub access_key_id: String,
    scope_date: String,
    region: String,
    service: String,
    terminator: String,
    signed_headers: Vec<String>,
    signature: String,
    amz_date: String,
    from_query: bool,
}

impl Signature {
    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.scope_date, self.region, self.service
        )
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Decoded `(name, value)` pairs of a raw query string, with form semantics (`+` is a space),
/// as the clients build them.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Percent-encodes all but the unreserved characters, as SigV4 canonical forms require.
fn aws_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The parts of `AKID/YYYYMMDD/region/service/aws4_request`.
struct Credential {
    key: String,
    date: String,
    region: String,
    service: String,
    terminator: String,
}

fn parse_credential(value: &str) -> RequestResult<Credential> {
    let parts: Vec<&str> = value.split('/').collect();
    let [key, date, region, service, terminator] = parts.as_slice() else {
        return Err(RequestError::incomplete_signature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             accesskeyid/date/region/service/aws4_request, got: {value}."
        )));
    };
    Ok(Credential {
        key: key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        terminator: terminator.to_string(),
    })
}

/// Reads the signature from the `Authorization` header or the query; `None` when the request
/// carries none.
pub fn parse(req: &Request<'_>) -> RequestResult<Option<Signature>> {
    let pairs = query_pairs(req.query);
    let query_value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(auth) = header(req.headers, "authorization") {
        return parse_header(auth, req.headers).map(Some);
    }
    if QUERY_AUTH.iter().any(|n| query_value(n).is_some()) {
        for name in QUERY_AUTH {
            if query_value(name).is_none() {
                return Err(RequestError::incomplete_signature(format!(
                    "KSC query-string parameters must include {name}. Re-examine the \
                     query-string parameters."
                )));
            }
        }
        let algorithm = query_value("X-Amz-Algorithm").unwrap_or_default();
        if algorithm != ALGORITHM {
            return Err(RequestError::incomplete_signature(format!(
                "Unsupported ksc 'algorithm': {algorithm}."
            )));
        }
        let credential = query_value("X-Amz-Credential").unwrap_or_default();
        let c = parse_credential(credential)?;
        return Ok(Some(Signature {
            access_key_id: c.key,
            scope_date: c.date,
            region: c.region,
            service: c.service,
            terminator: c.terminator,
            signed_headers: signed_header_list(
                query_value("X-Amz-SignedHeaders").unwrap_or_default(),
            ),
            signature: query_value("X-Amz-Signature")
                .unwrap_or_default()
                .to_string(),
            amz_date: query_value("X-Amz-Date").unwrap_or_default().to_string(),
            from_query: true,
        }));
    }
    Ok(None)
}

fn signed_header_list(value: &str) -> Vec<String> {
    value
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

fn parse_header(auth: &str, headers: &HeaderMap) -> RequestResult<Signature> {
    let auth = auth.trim();
    let Some((algorithm, rest)) = auth.split_once(' ') else {
        return Err(RequestError::incomplete_signature(
            "Authorization header format error.",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(RequestError::incomplete_signature(format!(
            "Unsupported ksc 'algorithm': {algorithm}."
        )));
    }
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(RequestError::incomplete_signature(
                "Authorization header format error.",
            ));
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {
                return Err(RequestError::incomplete_signature(
                    "Authorization header format error.",
                ));
            }
        }
    }
    // The seed ends only the Credential message with a period.
    let requires = |what: &str, end: &str| {
        RequestError::incomplete_signature(format!(
            "Authorization header requires '{what}' parameter. Authorization={auth}{end}"
        ))
    };
    let credential = credential.ok_or_else(|| requires("Credential", "."))?;
    let signature = signature.ok_or_else(|| requires("Signature", ""))?;
    let signed = signed.ok_or_else(|| requires("SignedHeaders", ""))?;
    let c = parse_credential(credential)?;
    let amz_date = match (header(headers, "x-amz-date"), header(headers, "date")) {
        (Some(d), _) => d.to_string(),
        (None, Some(d)) => DateTime::parse_from_rfc2822(d)
            .map(|t| t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string())
            .map_err(|_| {
                RequestError::incomplete_signature(format!(
                    "Date must be in ISO-8601 'basic format'. Got '{d}'. See \
                     http://en.wikipedia.org/wiki/ISO_8601."
                ))
            })?,
        (None, None) => {
            return Err(RequestError::incomplete_signature(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header, Authorization={auth}"
            )));
        }
    };
    Ok(Signature {
        access_key_id: c.key,
        scope_date: c.date,
        region: c.region,
        service: c.service,
        terminator: c.terminator,
        signed_headers: signed_header_list(signed),
        signature: signature.to_string(),
        amz_date,
        from_query: false,
    })
}

/// What the server accepts in a credential scope.
pub struct Scope<'a> {
    pub service: &'a str,
    pub regions: &'a [String],
}

/// Checks everything that does not need the secret: scope, time, signed headers.
pub fn check(
    sig: &Signature,
    req: &Request<'_>,
    scope: &Scope<'_>,
    now: DateTime<Utc>,
) -> RequestResult<()> {
    let (service, terminator) = (sig.service.as_str(), sig.terminator.as_str());
    if terminator != TERMINATOR {
        return Err(RequestError::signature_does_not_match(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not: {terminator}."
        )));
    }
    if service != scope.service {
        return Err(RequestError::signature_does_not_match(format!(
            "Credential should be scoped to correct service: {}.",
            scope.service
        )));
    }
    if !scope.regions.iter().any(|r| r == &sig.region) {
        return Err(RequestError::signature_does_not_match(format!(
            "Credential should be scoped to a valid region, not:{}.",
            sig.region
        )));
    }
    let signed_at = NaiveDateTime::parse_from_str(&sig.amz_date, "%Y%m%dT%H%M%SZ")
        .map(|t| Utc.from_utc_datetime(&t))
        .map_err(|_| {
            RequestError::incomplete_signature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601.",
                sig.amz_date
            ))
        })?;
    if signed_at.format("%Y%m%d").to_string() != sig.scope_date {
        return Err(RequestError::signature_does_not_match(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP.",
        ));
    }
    // The seed's "Signature expired:%s.", with AWS's explanation as the %s.
    let expired = |window: chrono::Duration, what: &str| {
        RequestError::signature_does_not_match(format!(
            "Signature expired:{} is now earlier than {} ({} - {what}).",
            sig.amz_date,
            (now - window).format("%Y%m%dT%H%M%SZ"),
            now.format("%Y%m%dT%H%M%SZ")
        ))
    };
    let skew = chrono::Duration::seconds(MAX_SKEW_SECS);
    if signed_at > now + skew {
        return Err(RequestError::signature_does_not_match(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            sig.amz_date,
            (now + skew).format("%Y%m%dT%H%M%SZ"),
            now.format("%Y%m%dT%H%M%SZ")
        )));
    }
    if sig.from_query {
        let pairs = query_pairs(req.query);
        let expires = match pairs.iter().find(|(k, _)| k == "X-Amz-Expires") {
            None => MAX_SKEW_SECS,
            Some((_, v)) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_EXPIRES_SECS).contains(n))
                .ok_or_else(|| RequestError::invalid_value("X-Amz-Expires"))?,
        };
        let window = chrono::Duration::seconds(expires);
        if now > signed_at + window {
            return Err(expired(window, &format!("{expires} s")));
        }
    } else if signed_at < now - skew {
        return Err(expired(skew, "15 min."));
    }
    if !sig.signed_headers.iter().any(|h| h == "host") {
        return Err(RequestError::signature_does_not_match(
            "'Host' must be a 'SignedHeader' in the Authorization.",
        ));
    }
    for name in &sig.signed_headers {
        if !req.headers.contains_key(name.as_str()) {
            return Err(RequestError::missing_authentication_token(format!(
                "{name} not in Http Header."
            )));
        }
    }
    Ok(())
}

/// What `x-amz-content-sha256` says of the body, which decides whether the signature can be
/// verified before the body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `UNSIGNED-PAYLOAD`: the signature leaves the body out (accepted only without one).
    Unsigned,
    /// The body's SHA-256 as the client declared it: the signature covers this value, and the
    /// body must then match it.
    Declared(String),
    /// No header: the signature covers the body's hash, known only once the body is read.
    Body,
}

impl Payload {
    pub fn of(headers: &HeaderMap) -> Payload {
        match header(headers, "x-amz-content-sha256") {
            Some("UNSIGNED-PAYLOAD") => Payload::Unsigned,
            Some(declared) => Payload::Declared(declared.to_ascii_lowercase()),
            None => Payload::Body,
        }
    }
}

fn unsigned_body() -> RequestError {
    RequestError::signature_does_not_match(
        "The request body must be signed: 'UNSIGNED-PAYLOAD' is accepted only without one.",
    )
}

fn hash_mismatch() -> RequestError {
    RequestError::signature_does_not_match(
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
}

/// Checks a body read after [`verify_declared`] against what the signed header declared.
pub fn check_body(payload: &Payload, body: &[u8]) -> RequestResult<()> {
    match payload {
        // A POST's parameters are its body: a signature that leaves it out would let the
        // request be replayed with other parameters.
        Payload::Unsigned if !body.is_empty() => Err(unsigned_body()),
        Payload::Declared(declared) if *declared != hex::encode(Sha256::digest(body)) => {
            Err(hash_mismatch())
        }
        _ => Ok(()),
    }
}

/// Verifies the signature over the payload hash the client declared, before the body is read
/// (which [`check_body`] then checks). `None` when the request declares none, and the body is
/// needed: then [`verify`].
pub fn verify_declared(
    sig: &Signature,
    req: &Request<'_>,
    payload: &Payload,
    secret: &str,
) -> Option<RequestResult<()>> {
    let hash = match payload {
        Payload::Unsigned => "UNSIGNED-PAYLOAD",
        Payload::Declared(declared) => {
            // Not a SHA-256 at all: no body can match it.
            if declared.len() != 64 || !declared.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(Err(hash_mismatch()));
            }
            declared
        }
        Payload::Body => return None,
    };
    Some(verify_canonical(
        sig,
        &canonical_request_with(sig, req, hash),
        secret,
    ))
}

fn canonical_request(sig: &Signature, req: &Request<'_>) -> RequestResult<String> {
    let body_hash = hex::encode(Sha256::digest(req.body));
    let payload = match header(req.headers, "x-amz-content-sha256") {
        // A POST's parameters are its body: a signature that leaves it out would let the
        // request be replayed with other parameters.
        Some("UNSIGNED-PAYLOAD") if req.body.is_empty() => "UNSIGNED-PAYLOAD".to_string(),
        Some("UNSIGNED-PAYLOAD") => return Err(unsigned_body()),
        Some(declared) if !declared.eq_ignore_ascii_case(&body_hash) => {
            return Err(hash_mismatch());
        }
        _ => body_hash,
    };
    Ok(canonical_request_with(sig, req, &payload))
}

/// The canonical request with `payload` as the body's hash.
fn canonical_request_with(sig: &Signature, req: &Request<'_>, payload: &str) -> String {
    let mut query: Vec<(String, String)> = query_pairs(req.query)
        .into_iter()
        .filter(|(k, _)| !(sig.from_query && k == "X-Amz-Signature"))
        .map(|(k, v)| (aws_encode(&k, false), aws_encode(&v, false)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in &sig.signed_headers {
        let values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    let path = if req.path.is_empty() { "/" } else { req.path };
    let path = aws_encode(&percent_decode(path), true);
    format!(
        "{}\n{path}\n{query}\n{headers}\n{}\n{payload}",
        req.method,
        sig.signed_headers.join(";")
    )
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("p={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    crate::hmac_sha256(key, data)
}

/// Checks the signature against the secret, in constant time.
pub fn verify(sig: &Signature, req: &Request<'_>, secret: &str) -> RequestResult<()> {
    verify_canonical(sig, &canonical_request(sig, req)?, secret)
}

fn verify_canonical(sig: &Signature, canonical: &str, secret: &str) -> RequestResult<()> {
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        sig.amz_date,
        sig.scope(),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let service = sig.service.as_str();
    let k_date = hmac(
        format!("AWS4{secret}").as_bytes(),
        sig.scope_date.as_bytes(),
    );
    let k_region = hmac(&k_date, sig.region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, TERMINATOR.as_bytes());
    let provided = hex::decode(&sig.signature).unwrap_or_default();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&k_signing) else {
        return Err(RequestError::service_unavailable("signing key"));
    };
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&provided).map_err(|_| {
        RequestError::signature_does_not_match(
            "The request signature we calculated does not match the signature you provided.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// The AWS SigV4 test suite's `get-vanilla-query-order-key-case` vector.
    #[test]
    fn aws_test_suite_vector() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
        );
        let req = Request {
            method: "GET",
            path: "/",
            query: "Param2=value2&Param1=value1",
            headers: &headers,
            body: b"",
        };
        let sig = parse(&req).unwrap().unwrap();
        let regions = vec!["us-east-1".to_string()];
        let scope = Scope {
            service: "service",
            regions: &regions,
        };
        let now = Utc.with_ymd_and_hms(2015, 8, 30, 12, 40, 0).unwrap();
        check(&sig, &req, &scope, now).unwrap();
        verify(&sig, &req, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").unwrap();
        let err = verify(&sig, &req, "wrong").unwrap_err();
        assert_eq!(err.code, "SignatureDoesNotMatch");
        let late = Utc.with_ymd_and_hms(2015, 8, 30, 13, 0, 0).unwrap();
        assert!(
            check(&sig, &req, &scope, late)
                .unwrap_err()
                .message
                .starts_with("Signature expired")
        );
        let other = vec!["cn-beijing-6".to_string()];
        let scope = Scope {
            service: "service",
            regions: &other,
        };
        assert!(
            check(&sig, &req, &scope, now)
                .unwrap_err()
                .message
                .contains("valid region")
        );
    }

    #[test]
    fn malformed_authorization_headers() {
        let cases = [
            ("AWS4-HMAC-SHA256", "Authorization header format error."),
            (
                "HMAC-SHA1 Credential=a",
                "Unsupported ksc 'algorithm': HMAC-SHA1.",
            ),
            (
                "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
                "requires 'Credential'",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, Signature=00",
                "requires 'SignedHeaders'",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host",
                "requires 'Signature'",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00",
                "exactly 5",
            ),
        ];
        for (auth, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", HeaderValue::from_str(auth).unwrap());
            headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
            let req = Request {
                method: "GET",
                path: "/",
                query: "",
                headers: &headers,
                body: b"",
            };
            let err = parse(&req).unwrap_err();
            assert_eq!(err.code, "IncompleteSignature", "{auth}");
            assert!(err.message.contains(expected), "{auth}: {}", err.message);
        }
        let headers = HeaderMap::new();
        let req = Request {
            method: "GET",
            path: "/",
            query: "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            headers: &headers,
            body: b"",
        };
        assert!(
            parse(&req)
                .unwrap_err()
                .message
                .contains("must include X-Amz-Credential")
        );
        let req = Request {
            method: "GET",
            path: "/",
            query: "Action=X",
            headers: &headers,
            body: b"",
        };
        assert!(parse(&req).unwrap().is_none());
    }
}
