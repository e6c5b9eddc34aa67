//! The `Authorization` header, as `Signer._process_auth_header_value` writes it:
//!
//! ```text
//! SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<a;b;..>, Signature=<64 hex digits>
//! ```
use super::error::SignError;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// The vendor's other schemes (`huaweicloudsdkcore/signer/signer.py`: `SM3Signer`,
/// `DerivationAKSKSigner`, `P256SHA256Signer`, `SM2SM3Signer`), named in the refusal so a
/// client's operator sees which setting to change.
const OTHER_ALGORITHMS: [&str; 4] = [
    "SDK-HMAC-SM3",
    "V11-HMAC-SHA256",
    "SDK-ECDSA-P256-SHA256",
    "SDK-SM2-SM3",
];

/// The longest access key id accepted (the vendor's are 20 characters).
const MAX_ACCESS_KEY_ID_BYTES: usize = 128;
/// The most signed headers accepted: the SDK signs about eight; the cap bounds the work an
/// unauthenticated request can cause.
pub const MAX_SIGNED_HEADERS: usize = 64;
/// The longest `Authorization` value read at all.
const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// Lower-case, sorted, each once: as the signer writes the list.
    pub signed_headers: Vec<String>,
    pub signature: [u8; 32],
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b))
}

/// Parses the header's value.
pub fn parse(value: &str) -> Result<Authorization, SignError> {
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(SignError::MalformedAuthorization("too long"));
    }
    let value = value.trim();
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        if OTHER_ALGORITHMS.contains(&algorithm) {
            return Err(SignError::UnsupportedAlgorithm(algorithm.to_string()));
        }
        // Echo an unknown name only when it looks like one, and never at length.
        return Err(if is_token(algorithm) && algorithm.len() <= 64 {
            SignError::UnsupportedAlgorithm(algorithm.to_string())
        } else {
            SignError::MalformedAuthorization("no algorithm name")
        });
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) =
            part.trim()
                .split_once('=')
                .ok_or(SignError::MalformedAuthorization(
                    "expected name=value parts",
                ))?;
        let slot = match name {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(SignError::MalformedAuthorization("unknown part")),
        };
        if slot.replace(value).is_some() {
            return Err(SignError::MalformedAuthorization("a part is given twice"));
        }
    }
    let access = access.ok_or(SignError::MalformedAuthorization("no Access"))?;
    let signed = signed.ok_or(SignError::MalformedAuthorization("no SignedHeaders"))?;
    let signature = signature.ok_or(SignError::MalformedAuthorization("no Signature"))?;
    if access.is_empty()
        || access.len() > MAX_ACCESS_KEY_ID_BYTES
        || !access.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(SignError::MalformedAuthorization(
            "Access is not an access key id",
        ));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    if signed_headers.len() > MAX_SIGNED_HEADERS {
        return Err(SignError::MalformedAuthorization("too many SignedHeaders"));
    }
    let well_formed = signed_headers
        .iter()
        .all(|h| is_token(h) && !h.bytes().any(|b| b.is_ascii_uppercase()));
    let sorted = signed_headers.windows(2).all(|w| match w {
        [a, b] => a < b,
        _ => true,
    });
    if !well_formed || !sorted {
        return Err(SignError::MalformedAuthorization(
            "SignedHeaders must be lower-case header names, sorted, separated by ';'",
        ));
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(signature, &mut bytes)
        .map_err(|_| SignError::MalformedAuthorization("Signature is not 64 hex digits"))?;
    Ok(Authorization {
        access_key_id: access.to_string(),
        signed_headers,
        signature: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "35940da179ab79910061274b65e12d68e6d8b6ea9f9d5da84ab7345dd529243f";

    #[test]
    fn parses_the_signers_form() -> Result<(), SignError> {
        let a = parse(&format!(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature={SIG}"
        ))?;
        assert_eq!(a.access_key_id, "AK1");
        assert_eq!(a.signed_headers, ["host", "x-sdk-date"]);
        assert_eq!(hex::encode(a.signature), SIG);
        Ok(())
    }

    #[test]
    fn names_other_schemes() {
        for alg in OTHER_ALGORITHMS {
            assert_eq!(
                parse(&format!(
                    "{alg} Access=AK, SignedHeaders=host, Signature={SIG}"
                )),
                Err(SignError::UnsupportedAlgorithm(alg.to_string()))
            );
        }
        assert_eq!(
            parse("Bearer abc"),
            Err(SignError::UnsupportedAlgorithm("Bearer".into()))
        );
        assert!(matches!(
            parse(&"x".repeat(100)),
            Err(SignError::MalformedAuthorization(_))
        ));
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [
            "",
            "SDK-HMAC-SHA256",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=00",
            "SDK-HMAC-SHA256 Access=AK, Access=AK, SignedHeaders=host, Signature=00",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;host, Signature=00",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host, Signature=00",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;x, Signature=00",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00, Extra=1",
        ] {
            assert!(
                matches!(parse(bad), Err(SignError::MalformedAuthorization(_))),
                "{bad}"
            );
        }
    }
}
