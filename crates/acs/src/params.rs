//! RPC parameters: decoding them from a query string or a form body, merging the two, and the
//! percent-encoding both signature schemes canonicalize with.
//!
//! What the SDKs put on the wire (recorded in `tests/vectors/requests.json`):
//!
//! - tea-openapi (ACS3 and v2) builds the query with Python's `urlencode`, i.e. `quote_plus`:
//!   a space is `+`, `~` stays, everything else outside `A-Za-z0-9-_.~` is `%XX` (UTF-8,
//!   upper-case hex). A form body (`application/x-www-form-urlencoded`) is encoded the same way.
//! - aliyun-python-sdk-core does the same and then turns `+` into `%20`, `*` into `%2A` and
//!   `%7E` into `~`.
//!
//! So decoding is: `+` is a space, `%XX` a byte, the bytes UTF-8. Anything else (a `%` not
//! followed by two hex digits, bytes that are not UTF-8) is refused rather than guessed at.
use std::collections::BTreeMap;

use crate::error::{AcsError, AcsResult};

/// Caps on what the verifier reads from a request. A request over any of them is refused with
/// `InvalidParameter` before anything else is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The raw query string, in bytes.
    pub max_query_bytes: usize,
    /// The body, in bytes (only form bodies carry parameters; any body is hashed for ACS3).
    pub max_body_bytes: usize,
    /// Parameters in the query and the form together.
    pub max_params: usize,
    /// Any one header value the verifier reads, in bytes.
    pub max_header_bytes: usize,
    /// Headers named in an ACS3 `SignedHeaders` list.
    pub max_signed_headers: usize,
    /// All the signed headers' values together, in bytes.
    pub max_signed_header_bytes: usize,
}

impl Default for Limits {
    /// Far above what the SDKs send for these operations (a few hundred bytes of query and
    /// headers), far below what would cost memory.
    fn default() -> Self {
        Limits {
            max_query_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_params: 128,
            max_header_bytes: 4 * 1024,
            max_signed_headers: 32,
            max_signed_header_bytes: 16 * 1024,
        }
    }
}

/// Percent-encodes as Python's `urllib.parse.quote(s, safe='~')`, which both signature schemes
/// use: every byte of the UTF-8 form but ASCII letters, digits and `-_.~` becomes `%XX` with
/// upper-case hex; a space is `%20`, never `+`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte; the
/// result must be UTF-8.
pub fn percent_decode(s: &str) -> AcsResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(AcsError::invalid(
                        "The request contains a malformed percent-encoding.",
                    ));
                };
                out.push((hi << 4) | lo);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| AcsError::invalid("A request parameter is not valid UTF-8 once decoded."))
}

/// The decoded `(name, value)` pairs of a query string or form body, in order. Empty segments
/// (`a=1&&b=2`) are skipped; a segment without `=` is a name with an empty value (as
/// aliyun-python-sdk-core's `SignatureType=` is one with `=`); an empty name is refused.
pub fn parse_pairs(input: &str, max_params: usize) -> AcsResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for segment in input.split('&') {
        if segment.is_empty() {
            continue;
        }
        if pairs.len() >= max_params {
            return Err(too_many_params(max_params));
        }
        let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
        let name = percent_decode(name)?;
        if name.is_empty() {
            return Err(AcsError::invalid(
                "The request contains a parameter without a name.",
            ));
        }
        pairs.push((name, percent_decode(value)?));
    }
    Ok(pairs)
}

fn too_many_params(max: usize) -> AcsError {
    AcsError::invalid(format!("The request carries more than {max} parameters."))
}

/// Adds `pairs` to `params`. A name already there with the same value is one parameter; with a
/// different value the request is ambiguous and refused: neither the query nor the form
/// overrides the other.
pub fn merge_into(
    params: &mut BTreeMap<String, String>,
    pairs: Vec<(String, String)>,
    max_params: usize,
) -> AcsResult<()> {
    for (name, value) in pairs {
        match params.get(&name) {
            Some(existing) if *existing == value => {}
            Some(_) => {
                return Err(AcsError::invalid(format!(
                    "The parameter \"{name}\" is given more than once with different values."
                )));
            }
            None => {
                if params.len() >= max_params {
                    return Err(too_many_params(max_params));
                }
                params.insert(name, value);
            }
        }
    }
    Ok(())
}

/// Whether a `Content-Type` value is `application/x-www-form-urlencoded` (parameters such as
/// `; charset=UTF-8` allowed, the type case-insensitive).
pub fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// The parameters of the v2 signature itself (plus token parameters this crate refuses): never
/// among [`Verified::params`], and refused in an ACS3 request, which carries its signature in
/// headers.
pub const RESERVED_PARAMS: [&str; 12] = [
    "AccessKeyId",
    "Action",
    "BearerToken",
    "Format",
    "SecurityToken",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureType",
    "SignatureVersion",
    "Timestamp",
    "Version",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_python_quote_with_tilde_safe() {
        // Expected values from Python 3.11: urllib.parse.quote(s, safe='~').
        let cases = [
            ("abcXYZ019-_.~", "abcXYZ019-_.~"),
            ("a b", "a%20b"),
            ("*", "%2A"),
            ("/", "%2F"),
            ("+", "%2B"),
            ("=&%", "%3D%26%25"),
            (":", "%3A"),
            ("测试", "%E6%B5%8B%E8%AF%95"),
            ("ä", "%C3%A4"),
            ("🚀", "%F0%9F%9A%80"),
            ("", ""),
        ];
        for (raw, encoded) in cases {
            assert_eq!(percent_encode(raw), encoded, "{raw}");
        }
    }

    #[test]
    fn decodes_plus_and_percent() {
        assert_eq!(percent_decode("a+b%20c").ok().as_deref(), Some("a b c"));
        assert_eq!(percent_decode("%2B%2a~").ok().as_deref(), Some("+*~"));
        assert_eq!(
            percent_decode("%E6%B5%8B%E8%AF%95").ok().as_deref(),
            Some("测试")
        );
        for bad in ["%", "%2", "%G0", "a%zz", "%FF", "%C3"] {
            assert!(
                matches!(percent_decode(bad), Err(AcsError::InvalidParameter(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn parses_pairs() {
        let pairs = parse_pairs("a=1&&b=&c&d=x%3Dy=z", 10).unwrap_or_default();
        let expected = [("a", "1"), ("b", ""), ("c", ""), ("d", "x=y=z")];
        assert_eq!(pairs.len(), expected.len());
        for ((n, v), (en, ev)) in pairs.iter().zip(expected) {
            assert_eq!((n.as_str(), v.as_str()), (en, ev));
        }
        assert!(parse_pairs("=1", 10).is_err());
        assert!(parse_pairs("a=1&b=2&c=3", 2).is_err());
        assert_eq!(parse_pairs("", 0).map(|p| p.len()).ok(), Some(0));
    }

    #[test]
    fn merging_refuses_conflicts_only() {
        let mut params = BTreeMap::new();
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert!(merge_into(&mut params, vec![pair("a", "1"), pair("a", "1")], 10).is_ok());
        assert_eq!(params.len(), 1);
        assert!(merge_into(&mut params, vec![pair("a", "2")], 10).is_err());
        assert!(merge_into(&mut params, vec![pair("b", "1"), pair("c", "1")], 2).is_err());
    }

    #[test]
    fn form_content_types() {
        assert!(is_form("application/x-www-form-urlencoded"));
        assert!(is_form("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(!is_form("application/json"));
        assert!(!is_form(""));
    }
}
