//! Errors of the management API in the seed's format:
//! `{"RequestId": "...", "Error": {"Type": "Sender", "Code": "...", "Message": "..."}}` with the
//! seed's HTTP status per code. Storage errors are mapped here, once.
use axum::http::StatusCode;
use berth_kcr::RequestError;
use berth_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KcrError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

pub type KcrResult<T> = Result<T, KcrError>;

impl KcrError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> KcrError {
        KcrError {
            status,
            code,
            message: message.into(),
        }
    }

    /// "Sender" for the caller's mistakes, "Receiver" for the service's.
    pub fn kind(&self) -> &'static str {
        if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        }
    }

    pub fn missing_parameter(name: &str) -> KcrError {
        RequestError::missing_parameter(name).into()
    }

    pub fn invalid_value(name: &str) -> KcrError {
        RequestError::invalid_value(name).into()
    }

    /// An invalid value with a reason after the seed's sentence.
    pub fn invalid_value_because(name: &str, why: &str) -> KcrError {
        RequestError::invalid_value_because(name, why).into()
    }

    pub fn invalid_query_parameter(name: &str) -> KcrError {
        RequestError::invalid_query_parameter(name).into()
    }

    pub fn invalid_method(method: &str) -> KcrError {
        KcrError::new(
            StatusCode::BAD_REQUEST,
            "InvalidMethod",
            format!("The method {method} for is not valid for this web service."),
        )
    }

    /// A referenced resource (instance, namespace, token...) does not exist. The seed has no
    /// not-found code; its parameter-value error names the parameter that points nowhere.
    pub fn not_found(name: &str, what: &str) -> KcrError {
        KcrError::invalid_value_because(name, &format!("{what} does not exist."))
    }

    /// berth extension: the resource exists already (409).
    pub fn already_exists(what: &str) -> KcrError {
        KcrError::new(
            StatusCode::CONFLICT,
            "ResourceAlreadyExists",
            format!("{what} already exists."),
        )
    }

    /// berth extension: the resource is in use and cannot be changed that way (409).
    pub fn in_use(what: &str) -> KcrError {
        KcrError::new(StatusCode::CONFLICT, "ResourceInUse", what.to_string())
    }

    /// berth extension: a quota would be exceeded (409, like the seed's LimitExceeded).
    pub fn quota_exceeded(what: &str) -> KcrError {
        KcrError::new(StatusCode::CONFLICT, "QuotaExceeded", what.to_string())
    }

    /// berth extension: the repository's tags are immutable, so the tag (or the image it
    /// names) cannot be deleted or moved (409, like `ResourceInUse`: the state of the resource,
    /// not the caller's rights, refuses it).
    pub fn tag_immutable(repository: &str, tag: &str) -> KcrError {
        KcrError::new(
            StatusCode::CONFLICT,
            "TagImmutable",
            format!(
                "The tag {tag} in repository {repository} is immutable: it cannot be moved or \
                 deleted, nor the image it names, while the repository's TagImmutable is on \
                 (ModifyRepoTagImmutability)."
            ),
        )
    }

    pub fn missing_authentication_token(message: impl Into<String>) -> KcrError {
        RequestError::missing_authentication_token(message).into()
    }

    pub fn signature_does_not_match(message: impl Into<String>) -> KcrError {
        RequestError::signature_does_not_match(message).into()
    }

    pub fn incomplete_signature(message: impl Into<String>) -> KcrError {
        RequestError::incomplete_signature(message).into()
    }

    pub fn invalid_client_token_id() -> KcrError {
        KcrError::new(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    }

    pub fn access_denied(user: &str, action: &str) -> KcrError {
        KcrError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!("User: {user} is not authorized to perform: {action}."),
        )
    }

    /// The signature could not be checked for a reason of the server's own.
    pub fn auth_service_unavailable() -> KcrError {
        KcrError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceUnavailable",
            "Auth Service is unavailable because of an unknown error, exception or failure",
        )
    }

    /// An action this build cannot perform (a registry-only build asked to scan).
    pub fn unsupported_operation(detail: impl Into<String>) -> KcrError {
        KcrError::new(StatusCode::BAD_REQUEST, "UnsupportedOperation", detail)
    }

    pub fn service_unavailable(detail: impl std::fmt::Display) -> KcrError {
        RequestError::service_unavailable(detail).into()
    }
}

/// The wire crate's errors carry the seed's status, code and message already.
impl From<RequestError> for KcrError {
    fn from(e: RequestError) -> KcrError {
        KcrError {
            status: e.status,
            code: e.code,
            message: e.message,
        }
    }
}

impl From<StoreError> for KcrError {
    fn from(e: StoreError) -> KcrError {
        if let StoreError::TagImmutable { repository, tag } = &e {
            return KcrError::tag_immutable(repository, tag);
        }
        tracing::error!(error = %e, "management API storage failure");
        KcrError::service_unavailable(e)
    }
}
