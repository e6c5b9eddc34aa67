//! Errors of the registry API, in the OCI distribution spec's JSON format. Library errors are
//! mapped here, once, to a code and a status; nothing else builds error responses.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    RangeInvalid,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BlobUnknown => "BLOB_UNKNOWN",
            Code::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Code::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Code::DigestInvalid => "DIGEST_INVALID",
            Code::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Code::ManifestInvalid => "MANIFEST_INVALID",
            Code::ManifestUnknown => "MANIFEST_UNKNOWN",
            Code::NameInvalid => "NAME_INVALID",
            Code::NameUnknown => "NAME_UNKNOWN",
            Code::SizeInvalid => "SIZE_INVALID",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Denied => "DENIED",
            Code::Unsupported => "UNSUPPORTED",
            Code::TooManyRequests => "TOOMANYREQUESTS",
            Code::RangeInvalid => "RANGE_INVALID",
            Code::Internal => "UNKNOWN",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Code::BlobUnknown
            | Code::BlobUploadUnknown
            | Code::ManifestUnknown
            | Code::NameUnknown => StatusCode::NOT_FOUND,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Denied => StatusCode::FORBIDDEN,
            Code::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Code::RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Code::BlobUnknown => "blob unknown to registry",
            Code::BlobUploadInvalid => "blob upload invalid",
            Code::BlobUploadUnknown => "blob upload unknown to registry",
            Code::DigestInvalid => "provided digest did not match uploaded content",
            Code::ManifestBlobUnknown => {
                "manifest references a manifest or blob unknown to registry"
            }
            Code::ManifestInvalid => "manifest invalid",
            Code::ManifestUnknown => "manifest unknown to registry",
            Code::NameInvalid => "invalid repository name",
            Code::NameUnknown => "repository name not known to registry",
            Code::SizeInvalid => "provided length did not match content length",
            Code::Unauthorized => "authentication required",
            Code::Denied => "requested access to the resource is denied",
            Code::Unsupported => "the operation is unsupported",
            Code::TooManyRequests => "too many requests",
            Code::RangeInvalid => "invalid content range",
            Code::Internal => "internal error",
        }
    }
}

/// An error response: a code, a detail, and the headers it needs (challenges, ranges).
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub detail: String,
    pub status: Option<StatusCode>,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
    /// Replaces the code's standard `message`, for refusals whose reason a client should show
    /// (docker prints the message, not the detail).
    pub message: Option<String>,
}

impl ApiError {
    pub fn new(code: Code, detail: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: detail.into(),
            status: None,
            headers: Vec::new(),
            message: None,
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> ApiError {
        self.message = Some(message.into());
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = Some(status);
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> ApiError {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::UploadUnknown(id) => {
                ApiError::new(Code::BlobUploadUnknown, format!("upload {id} is unknown"))
            }
            StoreError::UploadOffset { expected, got } => ApiError::new(
                Code::BlobUploadInvalid,
                format!(
                    "the upload holds {expected} bytes; a chunk starting at {got} is out of order"
                ),
            )
            .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
            .with_header(header::RANGE, &format!("0-{}", expected.saturating_sub(1))),
            // As Harbor answers a push over quota.
            StoreError::QuotaExceeded(msg) => ApiError::new(Code::Denied, msg),
            StoreError::TooLarge(msg) => {
                ApiError::new(Code::SizeInvalid, msg).with_status(StatusCode::PAYLOAD_TOO_LARGE)
            }
            StoreError::BlobBeingDeleted { digest, .. } => ApiError::new(
                Code::TooManyRequests,
                format!("blob {digest} is being deleted by garbage collection; retry"),
            )
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .with_header(header::RETRY_AFTER, "1"),
            // As Harbor refuses a push or delete of an immutable tag: 403 DENIED, with a
            // message that says why (the spec's DENIED is "access to the resource is denied").
            StoreError::TagImmutable { repository, tag } => {
                let why = format!(
                    "the tag {tag} in {repository} is immutable: the repository's tags cannot be \
                     moved or deleted while tag immutability is on"
                );
                ApiError::new(Code::Denied, why.clone()).with_message(why)
            }
            other if other.is_storage_full() => {
                tracing::error!(error = %other, "storage is full");
                ApiError::new(
                    Code::Internal,
                    "the registry's storage is full; nothing was stored",
                )
                .with_status(StatusCode::INSUFFICIENT_STORAGE)
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::new(Code::Internal, "storage failure")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "errors": [{
                "code": self.code.as_str(),
                "message": self.message.as_deref().unwrap_or(self.code.message()),
                "detail": self.detail,
            }]
        });
        let status = self.status.unwrap_or_else(|| self.code.status());
        let mut resp = (status, axum::Json(body)).into_response();
        for (k, v) in self.headers {
            resp.headers_mut().append(k, v);
        }
        resp
    }
}
