//! The vendor's common error codes, their HTTP statuses, and the JSON bodies the SDKs parse.
//!
//! Codes, statuses and messages are Alibaba Cloud's own, as its API gateway answers them (the
//! SDKs' users match on the codes). What the SDKs read from an error answer, checked against the
//! installed sources and by `tests/vectors/record.py`:
//!
//! - tea-openapi (`alibabacloud_tea_openapi`, ACS3 and v2): the JSON object's `RequestId` (or
//!   `requestId`), `Code` (or `code`), `Message` (or `message`); a 4xx raises `ClientException`, a
//!   5xx `ServerException`, and any status with an `x-acs-retry-after` header (a positive integer)
//!   `ThrottlingException`. A `Content-Type` of exactly `text/xml;charset=utf-8` would make it
//!   parse XML instead: answer JSON.
//! - aliyun-python-sdk-core: `Code`, `Message` and `RequestId`; a 400 `SignatureDoesNotMatch`
//!   whose message, after its first `:`, equals the client's own string to sign is reported to
//!   the user as `InvalidAccessKeySecret` (the key exists, its secret is wrong). That is why the
//!   message carries the server's string to sign, as the vendor's does.
use http::StatusCode;
use serde::{Deserialize, Serialize};

/// A request refused, with the vendor's code for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcsError {
    /// A parameter (or `x-acs-*` header) the signature needs is absent.
    #[error(
        "The input parameter \"{0}\" that is mandatory for processing this request is not supplied."
    )]
    MissingParameter(String),
    /// A parameter is malformed, duplicated with different values, over a limit, or not
    /// supported here.
    #[error("{0}")]
    InvalidParameter(String),
    /// The `Authorization` header (or the signature value) is not in the scheme's form.
    #[error("The request signature does not conform to Aliyun standards. {0}")]
    IncompleteSignature(String),
    /// A signature algorithm other than ACS3-HMAC-SHA256 or HMAC-SHA1.
    #[error("Specified signature method is not supported.")]
    InvalidSignatureMethod,
    /// The signature (or the body's hash) does not match. The detail is the server's string to
    /// sign, as the vendor answers it.
    #[error("Specified signature is not matched with our calculation. {0}")]
    SignatureDoesNotMatch(String),
    /// No secret is known for the access key.
    #[error("Specified access key is not found.")]
    InvalidAccessKeyIdNotFound,
    /// The (access key, nonce) pair was seen within the time window.
    #[error("Specified signature nonce was used already.")]
    SignatureNonceUsed,
    /// The request's time is more than [`crate::time::MAX_SKEW_SECS`] from the server's.
    #[error("Specified time stamp or date value is expired.")]
    TimestampExpired,
    /// The request's time is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("Specified time stamp or date value is not well formatted.")]
    TimestampFormat,
    /// The caller may not call this operation (the seed's 403).
    #[error("caller has no permission")]
    NoPermission,
    /// The operation does not exist (for the HTTP surface's router).
    #[error("Specified api is not found, please check your url and method.")]
    InvalidActionNotFound,
    /// The caller sends too much (for the HTTP surface's rate limits).
    #[error("Request was denied due to request throttling.")]
    Throttling,
    /// The server cannot take the request now; the nonce cache is full (see
    /// [`crate::NonceCache`]).
    #[error("The request has failed due to a temporary failure of the server.")]
    ServiceUnavailable,
    /// Anything else (the seed's 500).
    #[error("ServerError")]
    ServerError,
}

/// Shorthand for results whose error is an [`AcsError`].
pub type AcsResult<T> = Result<T, AcsError>;

impl AcsError {
    /// The vendor's error code, the `Code` of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            AcsError::MissingParameter(_) => "MissingParameter",
            AcsError::InvalidParameter(_) => "InvalidParameter",
            AcsError::IncompleteSignature(_) => "IncompleteSignature",
            AcsError::InvalidSignatureMethod => "InvalidSignatureMethod",
            AcsError::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            AcsError::InvalidAccessKeyIdNotFound => "InvalidAccessKeyId.NotFound",
            AcsError::SignatureNonceUsed => "SignatureNonceUsed",
            AcsError::TimestampExpired => "InvalidTimeStamp.Expired",
            AcsError::TimestampFormat => "InvalidTimeStamp.Format",
            AcsError::NoPermission => "NoPermission",
            AcsError::InvalidActionNotFound => "InvalidAction.NotFound",
            AcsError::Throttling => "Throttling",
            AcsError::ServiceUnavailable => "ServiceUnavailable",
            AcsError::ServerError => "ServerError",
        }
    }

    /// The HTTP status the vendor answers the code with.
    pub fn status(&self) -> StatusCode {
        match self {
            AcsError::InvalidAccessKeyIdNotFound | AcsError::InvalidActionNotFound => {
                StatusCode::NOT_FOUND
            }
            AcsError::NoPermission => StatusCode::FORBIDDEN,
            AcsError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AcsError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            AcsError::MissingParameter(_)
            | AcsError::InvalidParameter(_)
            | AcsError::IncompleteSignature(_)
            | AcsError::InvalidSignatureMethod
            | AcsError::SignatureDoesNotMatch(_)
            | AcsError::SignatureNonceUsed
            | AcsError::TimestampExpired
            | AcsError::TimestampFormat
            | AcsError::Throttling => StatusCode::BAD_REQUEST,
        }
    }

    /// The answer's `Message`.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The answer's body for this error.
    pub fn body(&self, request_id: &str, host_id: &str) -> ErrorBody {
        ErrorBody {
            request_id: request_id.to_string(),
            host_id: host_id.to_string(),
            code: self.code().to_string(),
            message: self.message(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        AcsError::InvalidParameter(message.into())
    }

    pub(crate) fn incomplete(detail: impl Into<String>) -> Self {
        AcsError::IncompleteSignature(detail.into())
    }

    pub(crate) fn missing(name: &str) -> Self {
        AcsError::MissingParameter(name.to_string())
    }
}

/// An error answer's JSON body: `{"RequestId":..,"HostId":..,"Code":..,"Message":..}`, the
/// fields in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    /// The host the client called (the vendor answers its endpoint, e.g. `tds.aliyuncs.com`).
    #[serde(rename = "HostId")]
    pub host_id: String,
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message")]
    pub message: String,
}

/// A success answer: the operation's fields with `RequestId` first, as the vendor answers.
///
/// `body` must serialize as a map (a struct or a map); its own `RequestId`, if any, would be
/// written twice, so leave it out.
#[derive(Debug, Serialize)]
pub struct Envelope<'a, T: Serialize> {
    #[serde(rename = "RequestId")]
    pub request_id: &'a str,
    #[serde(flatten)]
    pub body: &'a T,
}

impl<'a, T: Serialize> Envelope<'a, T> {
    pub fn new(request_id: &'a str, body: &'a T) -> Self {
        Envelope { request_id, body }
    }
}

/// A new request id in the vendor's form: an upper-case UUID, `050ACC7A-D4FD-45C6-B861-BA9569C1A2B3`.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4()
        .hyphenated()
        .to_string()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let cases = [
            (
                AcsError::SignatureDoesNotMatch(String::new()),
                "SignatureDoesNotMatch",
                400,
            ),
            (
                AcsError::InvalidAccessKeyIdNotFound,
                "InvalidAccessKeyId.NotFound",
                404,
            ),
            (AcsError::incomplete(""), "IncompleteSignature", 400),
            (AcsError::missing("Action"), "MissingParameter", 400),
            (AcsError::invalid("x"), "InvalidParameter", 400),
            (AcsError::SignatureNonceUsed, "SignatureNonceUsed", 400),
            (AcsError::TimestampExpired, "InvalidTimeStamp.Expired", 400),
            (AcsError::TimestampFormat, "InvalidTimeStamp.Format", 400),
            (
                AcsError::InvalidSignatureMethod,
                "InvalidSignatureMethod",
                400,
            ),
            (AcsError::NoPermission, "NoPermission", 403),
            (
                AcsError::InvalidActionNotFound,
                "InvalidAction.NotFound",
                404,
            ),
            (AcsError::Throttling, "Throttling", 400),
            (AcsError::ServiceUnavailable, "ServiceUnavailable", 503),
            (AcsError::ServerError, "ServerError", 500),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.status().as_u16(), status, "{code}");
        }
        assert_eq!(AcsError::NoPermission.message(), "caller has no permission");
        assert_eq!(
            AcsError::missing("Timestamp").message(),
            "The input parameter \"Timestamp\" that is mandatory for processing this request is \
             not supplied."
        );
    }

    #[test]
    fn error_body_field_names_and_order() {
        let body = AcsError::SignatureNonceUsed.body("REQ", "127.0.0.1");
        assert_eq!(
            serde_json::to_string(&body).ok().as_deref(),
            Some(
                r#"{"RequestId":"REQ","HostId":"127.0.0.1","Code":"SignatureNonceUsed","Message":"Specified signature nonce was used already."}"#
            )
        );
    }

    #[test]
    fn envelope_puts_request_id_first() {
        #[derive(Serialize)]
        struct Page {
            #[serde(rename = "TotalCount")]
            total: u32,
        }
        let json = serde_json::to_string(&Envelope::new("ID", &Page { total: 3 })).ok();
        assert_eq!(
            json.as_deref(),
            Some(r#"{"RequestId":"ID","TotalCount":3}"#)
        );
    }

    #[test]
    fn request_ids_are_upper_case_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_ne!(id, new_request_id());
    }
}
