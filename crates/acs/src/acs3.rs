//! ACS3-HMAC-SHA256, the SDKs' default signature (tea-openapi's `Utils.get_authorization`).
//!
//! ```text
//! Authorization: ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<a;b;..>,Signature=<hex>
//!
//! CanonicalRequest = METHOD \n path \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n
//!                    hex(sha256(body))
//! StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
//! Signature        = hex(hmac_sha256(secret, StringToSign))
//! ```
//!
//! - CanonicalQuery: the query's parameters sorted by name, `name=quote(value, safe='~')`
//!   joined by `&`. The SDK writes the *name* as it is, unencoded (only the value goes through
//!   `quote`); the vendor's document says both are encoded. For the names these operations use
//!   (ASCII letters and digits) the two agree; this follows the SDK.
//! - CanonicalHeaders: for each signed header (lower-case, sorted) `name:values\n`, the values
//!   trimmed (Python's `str.strip`), several values sorted and joined by `,`. Since the list
//!   already ends in `\n`, the canonical request has an empty line after it.
//! - The SDK signs *every* header it set before signing: `host`, `x-acs-action`,
//!   `x-acs-version`, `x-acs-date`, `x-acs-signature-nonce`, `x-acs-content-sha256`, `accept`,
//!   `user-agent`, `x-acs-credentials-provider`, and `content-type` when there is a body. The
//!   list to verify is the one in the `Authorization` header.
//! - `host` is signed as the SDK *sent* it: the endpoint string from its configuration. Given as
//!   `http://127.0.0.1:8080`, the SDK puts `Host: http://127.0.0.1:8080` on the wire (scheme
//!   included) and signs that; the verifier therefore reads the header as received, never a
//!   reconstructed authority (only when there is no `Host` header at all, as in HTTP/2, is the
//!   URI's authority used).
//! - Header values are read as Latin-1, as Python's `http.client` writes them, and canonicalized
//!   as UTF-8, as the SDK hashes them.
use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use crate::error::{AcsError, AcsResult};
use crate::params::RESERVED_PARAMS;
use crate::params::{Limits, percent_encode};
use crate::time;
use crate::verify::{
    MAX_ACCESS_KEY_ID_BYTES, Request, Signing, Unverified, check_nonce, header_values,
    required_header,
};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Headers every ACS3 request must sign (the vendor: all common request headers present).
const MUST_SIGN: [&str; 6] = [
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
];

#[derive(Debug)]
struct Authorization {
    access_key_id: String,
    signed_headers: Vec<String>,
    signature: Vec<u8>,
}

fn malformed() -> AcsError {
    AcsError::incomplete(
        "The Authorization header must be \"ACS3-HMAC-SHA256 Credential=<AccessKeyId>,\
         SignedHeaders=<header;..>,Signature=<hex>\".",
    )
}

fn parse_authorization(value: &str, limits: &Limits) -> AcsResult<Authorization> {
    let (algorithm, rest) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if algorithm != ALGORITHM {
        return Err(if algorithm.starts_with("ACS3-") {
            AcsError::InvalidSignatureMethod
        } else {
            malformed()
        });
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=').ok_or_else(malformed)?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(malformed()),
        };
        if slot.replace(value).is_some() {
            return Err(malformed());
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(malformed());
    };
    if credential.is_empty() || credential.len() > MAX_ACCESS_KEY_ID_BYTES {
        return Err(AcsError::incomplete(
            "The Credential of the Authorization header is not an AccessKey ID.",
        ));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    if signed_headers.len() > limits.max_signed_headers {
        return Err(AcsError::invalid(format!(
            "The request signs more than {} headers.",
            limits.max_signed_headers
        )));
    }
    let well_formed = signed_headers.iter().all(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    });
    // As the SDK writes it: lower-case names, sorted, each once.
    let sorted = signed_headers.windows(2).all(|w| match w {
        [a, b] => a < b,
        _ => true,
    });
    if !well_formed || !sorted {
        return Err(AcsError::incomplete(
            "SignedHeaders must list lower-case header names, sorted, separated by ';'.",
        ));
    }
    let signature = if signature.len() == 64 {
        hex::decode(signature).ok()
    } else {
        None
    };
    let Some(signature) = signature else {
        return Err(AcsError::incomplete(
            "The Signature of the Authorization header is not 64 hexadecimal digits.",
        ));
    };
    Ok(Authorization {
        access_key_id: credential.to_string(),
        signed_headers,
        signature,
    })
}

/// Reads an ACS3-signed request. `query` holds the query string's parameters alone (they are
/// what is canonicalized), `params` the query's and the form body's together.
pub(crate) fn parse(
    req: &Request<'_>,
    authorization: &str,
    query: &BTreeMap<String, String>,
    params: BTreeMap<String, String>,
    limits: &Limits,
) -> AcsResult<Unverified> {
    let auth = parse_authorization(authorization, limits)?;
    let action = required_header(req, "x-acs-action", limits)?;
    let version = required_header(req, "x-acs-version", limits)?;
    let date = required_header(req, "x-acs-date", limits)?;
    let nonce = required_header(req, "x-acs-signature-nonce", limits)?;
    let content_sha256 = required_header(req, "x-acs-content-sha256", limits)?;
    check_nonce(&nonce)?;
    let timestamp = time::parse(&date).ok_or(AcsError::TimestampFormat)?;

    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    if let Some(name) = MUST_SIGN.iter().find(|h| !signed(h)) {
        return Err(AcsError::incomplete(format!(
            "The header \"{name}\" must be signed."
        )));
    }
    // Every x-acs-* header, and the content type that decides how the body is read, is signed
    // when present: nothing the surface might act on travels unsigned.
    for name in req.headers.keys() {
        let name = name.as_str();
        if (name.starts_with("x-acs-") || name == "content-type") && !signed(name) {
            return Err(AcsError::incomplete(format!(
                "The header \"{name}\" must be signed."
            )));
        }
    }
    if let Some(name) = RESERVED_PARAMS.iter().find(|n| params.contains_key(**n)) {
        return Err(AcsError::invalid(format!(
            "The parameter \"{name}\" belongs to the RPC signature; an ACS3-HMAC-SHA256 request \
             carries it in its headers."
        )));
    }

    let body_sha256 = hex::encode(Sha256::digest(req.body));
    if !content_sha256.eq_ignore_ascii_case(&body_sha256) {
        return Err(AcsError::SignatureDoesNotMatch(
            "x-acs-content-sha256 does not match the request body.".to_string(),
        ));
    }

    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let mut values = header_values(req, name, limits)?;
        if values.is_empty() {
            return Err(AcsError::incomplete(format!(
                "The signed header \"{name}\" is not in the request."
            )));
        }
        values.sort();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
        if canonical_headers.len() > limits.max_signed_header_bytes {
            return Err(AcsError::invalid(format!(
                "The signed headers exceed {} bytes.",
                limits.max_signed_header_bytes
            )));
        }
    }
    let canonical_query = query
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let path = match req.uri.path() {
        "" => "/",
        path => path,
    };
    let canonical_request = format!(
        "{}\n{path}\n{canonical_query}\n{canonical_headers}\n{}\n{content_sha256}",
        req.method.as_str(),
        auth.signed_headers.join(";"),
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    Ok(Unverified {
        signing: Signing::Acs3,
        access_key_id: auth.access_key_id,
        action,
        version,
        params,
        nonce,
        timestamp,
        string_to_sign,
        signature: auth.signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_auth(value: &str) -> AcsResult<Authorization> {
        parse_authorization(value, &Limits::default())
    }

    const SIG: &str = "de59a40af28f2a4b2e6eaad6eb1e9eb036e92d44825ef0932faee551a919e4a8";

    #[test]
    fn reads_the_sdks_authorization() {
        let auth = parse_auth(&format!(
            "ACS3-HMAC-SHA256 Credential=LTAI5t,SignedHeaders=accept;host;x-acs-date,Signature={SIG}"
        ));
        let Ok(auth) = auth else {
            panic!("{auth:?}");
        };
        assert_eq!(auth.access_key_id, "LTAI5t");
        assert_eq!(auth.signed_headers, ["accept", "host", "x-acs-date"]);
        assert_eq!(auth.signature.len(), 32);
    }

    #[test]
    fn refuses_malformed_authorizations() {
        let ok_tail = format!("Credential=AK,SignedHeaders=host,Signature={SIG}");
        let incomplete = [
            String::new(),
            "ACS3-HMAC-SHA256".to_string(),
            format!("AWS4-HMAC-SHA256 {ok_tail}"),
            format!("ACS3-HMAC-SHA256 {ok_tail},Signature={SIG}"),
            format!("ACS3-HMAC-SHA256 {ok_tail},Extra=1"),
            format!("ACS3-HMAC-SHA256 SignedHeaders=host,Signature={SIG}"),
            format!("ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature={SIG}"),
            format!("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=Host,Signature={SIG}"),
            format!("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=x;host,Signature={SIG}"),
            format!("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;host,Signature={SIG}"),
            format!("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;;x,Signature={SIG}"),
            "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature=abc".to_string(),
            format!("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature={SIG}0"),
        ];
        for value in incomplete {
            assert!(
                matches!(parse_auth(&value), Err(AcsError::IncompleteSignature(_))),
                "{value}: {:?}",
                parse_auth(&value)
            );
        }
        for algorithm in ["ACS3-HMAC-SM3", "ACS3-RSA-SHA256"] {
            assert_eq!(
                parse_auth(&format!("{algorithm} {ok_tail}")).err(),
                Some(AcsError::InvalidSignatureMethod)
            );
        }
        let many = (0..40)
            .map(|i| format!("h{i:02}"))
            .collect::<Vec<_>>()
            .join(";");
        assert!(matches!(
            parse_auth(&format!(
                "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders={many},Signature={SIG}"
            )),
            Err(AcsError::InvalidParameter(_))
        ));
    }

    #[test]
    fn signature_check_is_hmac_sha256_hex() {
        // Python: hmac.new(b"key", b"ACS3-HMAC-SHA256\nabc", hashlib.sha256).hexdigest()
        let expected = "d2aabf0cbbd8e66d6bd0d58c1a71581c1f26298c104eff8170c04cc474c14d9f";
        let bytes = hex::decode(expected).unwrap_or_default();
        assert!(crate::mac::acs3_signature_matches(
            b"key",
            "ACS3-HMAC-SHA256\nabc",
            &bytes
        ));
        assert!(!crate::mac::acs3_signature_matches(
            b"key2",
            "ACS3-HMAC-SHA256\nabc",
            &bytes
        ));
        assert!(!crate::mac::acs3_signature_matches(
            b"key",
            "ACS3-HMAC-SHA256\nabd",
            &bytes
        ));
        assert!(!crate::mac::acs3_signature_matches(
            b"key",
            "ACS3-HMAC-SHA256\nabc",
            &bytes[..31]
        ));
    }

    /// A request built by hand, its string to sign computed by tea-openapi 0.4.6's own
    /// `get_canonical_query_string` and `get_canonicalized_headers` (header names differing in
    /// case are one header, values trimmed and sorted): `tests/vectors` covers what the SDK
    /// sends, this covers what it would do with repeated headers and padded values.
    #[test]
    fn canonicalizes_as_the_sdk() {
        use crate::{NonceCache, Request, Secret, Verifier, time};
        let method = http::Method::POST;
        let uri: http::Uri = "/?B=x+y&A=%E6%B5%8B%2A~%2F%2B&C="
            .parse()
            .unwrap_or_default();
        let mut headers = http::HeaderMap::new();
        let empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        for (name, value) in [
            ("host", "http://h:1"),
            ("x-acs-action", "ListImageRisk"),
            ("x-acs-version", "2018-12-03"),
            ("x-acs-date", "2025-01-02T03:04:05Z"),
            ("x-acs-signature-nonce", "n1"),
            ("x-acs-content-sha256", empty_sha256),
            ("accept", "application/json"),
            ("x-acs-foo", "b"),
            ("x-acs-foo", " a "),
            (
                "authorization",
                "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=accept;host;x-acs-action;\
                 x-acs-content-sha256;x-acs-date;x-acs-foo;x-acs-signature-nonce;x-acs-version,\
                 Signature=19d23ab6a5514456dee882cd791b413e3818fb31e230f76ffe45366b452a7a76",
            ),
        ] {
            headers.append(name, http::HeaderValue::from_static(value));
        }
        let req = Request::new(&method, &uri, &headers, b"");
        let parsed = crate::parse(&req, &Limits::default());
        assert_eq!(
            parsed.as_ref().map(|u| u.string_to_sign()).ok(),
            Some(
                "ACS3-HMAC-SHA256\n276010dfccfbcc0a20e2dfe2ae5bdcb89d5ebcb40416850e6cb29d5702e3a6d4"
            ),
            "{parsed:?}"
        );
        let secrets = std::collections::HashMap::from([("AK".to_string(), Secret::new("secret"))]);
        let now = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(
                time::parse("2025-01-02T03:04:05Z")
                    .unwrap_or_default()
                    .unsigned_abs(),
            );
        let verifier = Verifier::new(Limits::default(), NonceCache::default());
        let verified = verifier.verify(&req, &secrets, now);
        assert_eq!(
            verified.as_ref().map(|v| v.params().len()).ok(),
            Some(3),
            "{verified:?}"
        );
        assert_eq!(
            verified
                .map(|v| v.into_params())
                .ok()
                .and_then(|p| p.get("A").cloned())
                .as_deref(),
            Some("测*~/+")
        );
    }
}
