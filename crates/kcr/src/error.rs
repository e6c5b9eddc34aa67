//! What is wrong with a request, in the seed's terms: the HTTP status, the seed's error code and
//! its message. The management API turns it into its error body (`KcrError` in berth-api, which
//! adds the codes of the layers below: storage, quotas, permissions).
use http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

pub type RequestResult<T> = Result<T, RequestError>;

impl RequestError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> RequestError {
        RequestError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn missing_parameter(name: &str) -> RequestError {
        RequestError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!("An value must be supplied for the input parameter {name}."),
        )
    }

    pub fn invalid_value(name: &str) -> RequestError {
        RequestError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!(
                "An invalid or out-of-range value was supplied for the input parameter {name}."
            ),
        )
    }

    /// An invalid value with a reason after the seed's sentence.
    pub fn invalid_value_because(name: &str, why: &str) -> RequestError {
        let mut e = RequestError::invalid_value(name);
        e.message.push(' ');
        e.message.push_str(why);
        e
    }

    pub fn invalid_query_parameter(name: &str) -> RequestError {
        RequestError::new(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameter",
            format!("The query parameter {name} is malformed or does not adhere to KSC standards."),
        )
    }

    pub fn missing_authentication_token(message: impl Into<String>) -> RequestError {
        RequestError::new(StatusCode::FORBIDDEN, "MissingAuthenticationToken", message)
    }

    pub fn signature_does_not_match(message: impl Into<String>) -> RequestError {
        RequestError::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", message)
    }

    pub fn incomplete_signature(message: impl Into<String>) -> RequestError {
        RequestError::new(StatusCode::BAD_REQUEST, "IncompleteSignature", message)
    }

    pub fn service_unavailable(detail: impl std::fmt::Display) -> RequestError {
        RequestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceUnavailable",
            format!("Exception {detail}"),
        )
    }
}
