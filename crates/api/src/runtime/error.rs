//! The runtime ingestion surface's errors: `{"error": {"code": ..., "message": ...}}` with a
//! status. Inventory and storage errors are mapped here, once.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_inventory::InventoryError;
use berth_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RuntimeError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl RuntimeError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        RuntimeError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 401: no credential, or one that is unknown or revoked.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403: a valid credential of another cluster.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 413: a body over its limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 400: a document that is not a valid inventory.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_document", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the snapshot kept changing under this write.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 500/507: a storage failure (the details go to the log, not to the client).
    pub fn store(e: &StoreError) -> Self {
        if e.is_storage_full() {
            return Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_full",
                "the server's storage is full; nothing was written",
            );
        }
        tracing::error!(error = %e, "runtime inventory storage failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "storage failure; nothing was written",
        )
    }

    /// An inventory document refused: over a limit (413) or malformed (400).
    pub fn inventory(e: &InventoryError) -> Self {
        match e {
            InventoryError::DocumentTooLarge { .. }
            | InventoryError::TooManyItems { .. }
            | InventoryError::SnapshotFull { .. } => Self::too_large(e.to_string()),
            InventoryError::WatchError(_) => {
                Self::new(StatusCode::BAD_REQUEST, "watch_error", e.to_string())
            }
            _ => Self::invalid(e.to_string()),
        }
    }
}

impl IntoResponse for RuntimeError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"berth-runtime\""),
            );
        }
        response
    }
}
