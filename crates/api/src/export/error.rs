//! The export's errors in grpc-gateway's shapes (the seed's `RuntimeError` before the first
//! message, `RuntimeStreamError` as the stream's last line after it), with the gRPC code and
//! the HTTP status grpc-gateway maps it to.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The gRPC status codes the export answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grpc {
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    Internal = 13,
    Unauthenticated = 16,
}

impl Grpc {
    /// grpc-gateway's `HTTPStatusFromCode`.
    pub fn http(self) -> StatusCode {
        match self {
            Grpc::InvalidArgument => StatusCode::BAD_REQUEST,
            Grpc::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Grpc::PermissionDenied => StatusCode::FORBIDDEN,
            Grpc::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Grpc::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Grpc::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ExportError {
    pub code: Grpc,
    pub message: String,
}

impl ExportError {
    pub fn new(code: Grpc, message: impl Into<String>) -> Self {
        ExportError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Grpc::InvalidArgument, message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(Grpc::Internal, message.to_string())
    }

    /// The stream's last line: `{"error": RuntimeStreamError}` and a newline.
    pub fn stream_line(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct StreamError<'a> {
            grpc_code: i32,
            http_code: u16,
            message: &'a str,
            http_status: &'a str,
            details: [(); 0],
        }
        #[derive(Serialize)]
        struct Line<'a> {
            error: StreamError<'a>,
        }
        let status = self.code.http();
        let line = Line {
            error: StreamError {
                grpc_code: self.code as i32,
                http_code: status.as_u16(),
                message: &self.message,
                http_status: status.canonical_reason().unwrap_or(""),
                details: [],
            },
        };
        let mut out = serde_json::to_vec(&line).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

impl IntoResponse for ExportError {
    /// The seed's `RuntimeError`: `{"error", "code", "message", "details"}`.
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.message,
            "code": self.code as i32,
            "message": self.message,
            "details": [],
        });
        let mut res = (self.code.http(), axum::Json(body)).into_response();
        if self.code == Grpc::Unauthenticated {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"berth\", Basic realm=\"berth\""),
            );
        }
        res
    }
}

pub type ExportResult<T> = Result<T, ExportError>;
