//! The two schemes' signature checks (constant-time, through `Mac::verify_slice`).
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Whether `signature` is the HMAC-SHA256 of `string_to_sign` under `secret`, compared in
/// constant time.
pub(crate) fn acs3_signature_matches(
    secret: &[u8],
    string_to_sign: &str,
    signature: &[u8],
) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(signature).is_ok()
}

/// Whether `signature` is the HMAC-SHA1 of `string_to_sign` under `secret&`, compared in
/// constant time.
pub(crate) fn rpc_signature_matches(secret: &[u8], string_to_sign: &str, signature: &[u8]) -> bool {
    let mut key = Vec::with_capacity(secret.len() + 1);
    key.extend_from_slice(secret);
    key.push(b'&');
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&key) else {
        return false;
    };
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(signature).is_ok()
}
