//! SDK-HMAC-SHA256, the request signature of Huawei Cloud's API gateway, as the official
//! Python SDK signs it (`huaweicloudsdkcore` 3.1.x, `huaweicloudsdkcore/signer/signer.py`,
//! class `Signer`):
//!
//! ```text
//! Authorization: SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<a;b;..>, Signature=<hex>
//! X-Sdk-Date:    20240102T030405Z
//! Signature    = hex(hmac_sha256(secret, StringToSign))
//! ```
//!
//! The canonical request is described in [`canonical`]. The signer signs every header it was
//! given whose name has no `_` (so `host`, `x-sdk-date`, `user-agent`, `content-type`,
//! `x-project-id`, ...); the list to verify is the one in `SignedHeaders`, of which berth
//! requires `host` and `x-sdk-date`.
//!
//! Use: [`parse`] the request (no secret needed), look the secret of
//! [`Unverified::access_key_id`] up, then [`Unverified::verify`]. The other schemes of the same
//! file (SDK-HMAC-SM3, V11-HMAC-SHA256 derived keys, SDK-ECDSA-P256-SHA256, SDK-SM2-SM3) are
//! refused with [`SignError::UnsupportedAlgorithm`].
pub mod authorization;
pub mod canonical;
pub mod encoding;
mod error;
mod request;
pub mod time;
mod verify;

pub use error::SignError;
pub use request::Request;
pub use time::MAX_SKEW_SECS;
pub use verify::{Options, Secret, Unverified, parse};
