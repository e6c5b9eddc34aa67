//! The classic RPC signature (SignatureVersion 1.0, HMAC-SHA1): tea-openapi with
//! `signature_algorithm='v2'` (`Utils.get_rpcsignature`) and aliyun-python-sdk-core
//! (`rpc_signature_composer`).
//!
//! ```text
//! Canonicalized = sorted by name, every parameter but Signature: quote(name)=quote(value), by '&'
//! StringToSign  = METHOD & "%2F" & quote(Canonicalized)        (quote: safe='~')
//! Signature     = base64(hmac_sha1(secret + "&", StringToSign))
//! ```
//!
//! The parameters are the query's and the form body's together (both SDKs sign the merged
//! set). What the two SDKs send differs, and all of it is signed:
//!
//! - tea-openapi v2: `Action`, `Format=json`, `Version`, `Timestamp`, `SignatureNonce`,
//!   `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`, `AccessKeyId`, `Signature`, POST with
//!   an empty body, spaces as `+`. Its unsigned `x-acs-action`/`x-acs-version` headers are
//!   checked to agree with the parameters.
//! - aliyun-python-sdk-core: also `Format=JSON`, `RegionId`, and `SignatureType=` (empty), GET,
//!   spaces as `%20`.
use std::collections::BTreeMap;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::error::{AcsError, AcsResult};
use crate::params::RESERVED_PARAMS;
use crate::params::{Limits, percent_encode};
use crate::time;
use crate::verify::{
    MAX_ACCESS_KEY_ID_BYTES, Request, Signing, Unverified, check_nonce, header_value,
};

pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
pub const SIGNATURE_VERSION: &str = "1.0";

/// Parameters a v2 request must carry, in the order their absence is reported.
const REQUIRED: [&str; 8] = [
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Action",
    "Version",
];

fn take(params: &mut BTreeMap<String, String>, name: &str) -> AcsResult<String> {
    params.remove(name).ok_or_else(|| AcsError::missing(name))
}

/// `METHOD&%2F&quote(canonicalized)` for the signed parameters (all but `Signature`).
pub fn string_to_sign(method: &str, signed: &BTreeMap<String, String>) -> String {
    let canonicalized = signed
        .iter()
        .filter(|(name, _)| name.as_str() != "Signature")
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&%2F&{}", percent_encode(&canonicalized))
}

/// The `Signature` parameter for a string to sign, as the SDKs compute it (for tests and for
/// clients written in Rust).
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let key = format!("{secret}&");
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Reads a v2-signed request from its merged parameters.
pub(crate) fn parse(
    req: &Request<'_>,
    params: BTreeMap<String, String>,
    limits: &Limits,
) -> AcsResult<Unverified> {
    let string_to_sign = string_to_sign(req.method.as_str(), &params);
    let mut business = params;
    let mut signing = BTreeMap::new();
    for name in REQUIRED {
        signing.insert(name, take(&mut business, name)?);
    }
    let get = |name: &str| signing.get(name).cloned().unwrap_or_default();
    if get("SignatureMethod") != SIGNATURE_METHOD {
        return Err(AcsError::InvalidSignatureMethod);
    }
    if get("SignatureVersion") != SIGNATURE_VERSION {
        return Err(AcsError::invalid(
            "Specified parameter SignatureVersion is not valid.",
        ));
    }
    // aliyun-python-sdk-core sends it empty; a bearer token (BEARERTOKEN) is not a key pair.
    if business
        .remove("SignatureType")
        .is_some_and(|t| !t.is_empty())
    {
        return Err(AcsError::invalid(
            "Specified parameter SignatureType is not valid.",
        ));
    }
    if business
        .remove("Format")
        .is_some_and(|f| !f.eq_ignore_ascii_case("json"))
    {
        return Err(AcsError::invalid(
            "Specified parameter Format is not valid: this service answers JSON.",
        ));
    }
    if let Some(name) = RESERVED_PARAMS.iter().find(|n| business.contains_key(**n)) {
        return Err(AcsError::invalid(format!(
            "The parameter \"{name}\" is not supported: sign with an AccessKey pair."
        )));
    }
    let access_key_id = get("AccessKeyId");
    if access_key_id.is_empty() || access_key_id.len() > MAX_ACCESS_KEY_ID_BYTES {
        return Err(AcsError::invalid(
            "Specified parameter AccessKeyId is not valid.",
        ));
    }
    let nonce = get("SignatureNonce");
    check_nonce(&nonce)?;
    let timestamp = time::parse(&get("Timestamp")).ok_or(AcsError::TimestampFormat)?;
    let (action, version) = (get("Action"), get("Version"));
    // tea-openapi also sends these headers, unsigned: they must say what the signed parameters
    // say, so nothing downstream can be misled by them.
    for (header, param, value) in [
        ("x-acs-action", "Action", &action),
        ("x-acs-version", "Version", &version),
    ] {
        if header_value(req, header, limits)?.is_some_and(|h| h != *value) {
            return Err(AcsError::invalid(format!(
                "The {header} header does not match the {param} parameter."
            )));
        }
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(get("Signature"))
        .ok()
        .filter(|s| s.len() == 20);
    let Some(signature) = signature else {
        return Err(AcsError::incomplete(
            "The Signature parameter is not a base64 HMAC-SHA1.",
        ));
    };
    Ok(Unverified {
        signing: Signing::RpcV2,
        access_key_id,
        action,
        version,
        params: business,
        nonce,
        timestamp,
        string_to_sign,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn string_to_sign_sorts_encodes_and_skips_the_signature() {
        let params = map(&[
            ("Version", "2018-12-03"),
            ("Action", "ListImageRisk"),
            ("Signature", "ignored"),
            ("ImageName", "a b*~/+测"),
            ("SignatureType", ""),
        ]);
        // Python: "GET&%2F&" + quote_plus("Action=ListImageRisk&ImageName=a%20b%2A~%2F%2B%E6%B5%8B
        //   &SignatureType=&Version=2018-12-03", safe="~")
        assert_eq!(
            string_to_sign("GET", &params),
            "GET&%2F&Action%3DListImageRisk%26ImageName%3Da%2520b%252A~%252F%252B%25E6%25B5%258B\
             %26SignatureType%3D%26Version%3D2018-12-03"
        );
    }

    #[test]
    fn signs_as_python_hmac_sha1() {
        // Python: base64.b64encode(hmac.new(b"key&", b"GET&%2F&a%3D1", hashlib.sha1).digest())
        assert_eq!(sign("key", "GET&%2F&a%3D1"), "8AMppRLhjRNZ+RYr+i49hwak8P4=");
        let Ok(raw) =
            base64::engine::general_purpose::STANDARD.decode("8AMppRLhjRNZ+RYr+i49hwak8P4=")
        else {
            panic!("base64");
        };
        assert!(crate::mac::rpc_signature_matches(
            b"key",
            "GET&%2F&a%3D1",
            &raw
        ));
        assert!(!crate::mac::rpc_signature_matches(
            b"key",
            "GET&%2F&a%3D2",
            &raw
        ));
        assert!(!crate::mac::rpc_signature_matches(
            b"kez",
            "GET&%2F&a%3D1",
            &raw
        ));
    }
}
