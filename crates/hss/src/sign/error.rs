//! Why a request was refused. Messages name what was wrong, never the secret nor the expected
//! signature (either would help a forger).
use thiserror::Error;

/// A request whose signature could not be checked, or did not check out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// A header the scheme needs (`Authorization`, `X-Sdk-Date`) is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header that must be read as one value came more than once.
    #[error("header {0} is given more than once")]
    DuplicateHeader(String),
    /// The `Authorization` header is not
    /// `SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<a;b>, Signature=<hex>`.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(&'static str),
    /// Another of the vendor's schemes (SDK-HMAC-SM3, V11-HMAC-SHA256, SDK-ECDSA-P256-SHA256,
    /// SDK-SM2-SM3) or an unknown one. Only SDK-HMAC-SHA256 is verified here.
    #[error("unsupported signing algorithm {0:?}: only SDK-HMAC-SHA256 is accepted")]
    UnsupportedAlgorithm(String),
    /// `X-Sdk-Date` is not `YYYYMMDDTHHMMSSZ`.
    #[error("malformed X-Sdk-Date: expected YYYYMMDDTHHMMSSZ")]
    MalformedDate,
    /// The request's time is too far from the server's.
    #[error(
        "X-Sdk-Date is {skew_secs} s from the server's time, more than the {max_secs} s allowed"
    )]
    DateSkew { skew_secs: i64, max_secs: i64 },
    /// A header that berth requires to be covered by the signature is not in `SignedHeaders`.
    #[error("header {0} must be signed")]
    HeaderNotSigned(&'static str),
    /// `SignedHeaders` names a header the request does not carry.
    #[error("signed header {0} is missing from the request")]
    MissingSignedHeader(String),
    /// A signed header's value is not UTF-8 (the signer hashes values as UTF-8).
    #[error("signed header {0} is not valid UTF-8")]
    InvalidHeaderValue(String),
    /// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` on a request with a body, and the caller's
    /// [`Options`](crate::sign::Options) do not allow unsigned bodies.
    #[error("the body is not signed (X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD)")]
    UnsignedPayload,
    /// `X-Sdk-Content-Sha256` is neither `UNSIGNED-PAYLOAD` nor the body's SHA-256.
    #[error("X-Sdk-Content-Sha256 does not match the body")]
    ContentHashMismatch,
    /// Everything was well formed, and the signature is not the one the secret makes.
    #[error("signature does not match")]
    SignatureMismatch,
}
