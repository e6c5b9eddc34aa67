//! HMAC-SHA256 with any key, infallibly: RFC 2104 turns a key into one block (hashed when
//! longer, zero-padded when shorter), so building the block here gives the MAC of the raw key
//! without the constructor's (never taken) error path.
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_plain_construction_for_every_key_length() {
        for key in [&b""[..], b"Jefe", &[7u8; 64], &[9u8; 65], &[1u8; 200]] {
            let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
            mac.update(b"data");
            let want: [u8; 32] = mac.finalize().into_bytes().into();
            assert_eq!(
                hmac_sha256(key, b"data"),
                want,
                "key of {} bytes",
                key.len()
            );
        }
    }
}
