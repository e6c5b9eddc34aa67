//! Errors of the cluster-protection surface, in the vendor's format: a JSON body
//! `{"error_code": "...", "error_msg": "..."}` with the HTTP status; the request id is the
//! `X-Request-Id` response header (set for every answer by the router's request-id layers),
//! which is where huaweicloudsdkcore reads it from. Store and signature errors are mapped here,
//! once.
//!
//! Codes: the API gateway's for what the gateway decides (`APIGW.0101` no such API,
//! `APIGW.0301` authentication failed), berth's `HSS.xxxx` for the rest (the vendor publishes no
//! per-operation codes for this family); ARCHITECTURE.md lists them.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_hss::sign::SignError;
use berth_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct HssError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

pub type HssResult<T> = Result<T, HssError>;

impl HssError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        HssError {
            status,
            code,
            message: message.into(),
        }
    }

    /// No operation of this family at that method and path.
    pub fn no_such_api(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            format!("The API does not exist: {method} {path}"),
        )
    }

    /// The signature, its key or its time did not check out.
    pub fn unauthenticated(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            format!("Incorrect IAM authentication information: {why}"),
        )
    }

    /// An API token whose role may not use this surface.
    pub fn role_refused(role: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "HSS.0403",
            format!(
                "An API token of role {role:?} may not use the cluster-protection API \
                 (admin reads and writes, read-only reads)"
            ),
        )
    }

    pub fn read_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "HSS.0403",
            "The caller (access key or API token) is read-only: it cannot change cluster protection",
        )
    }

    pub fn no_project(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "HSS.0404",
            format!("No project {id:?}: the project id is a berth instance id"),
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "HSS.0413",
            format!("The request body exceeds {limit} bytes"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "HSS.0500",
            "Internal error; the request changed nothing",
        )
    }

    pub fn invalid_parameter(name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "HSS.1001",
            format!("Invalid parameter {name}: {why}"),
        )
    }

    pub fn invalid_body(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "HSS.1002",
            format!("Invalid request body: {why}"),
        )
    }

    pub fn not_found(code: &'static str, what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, format!("No {what} {id:?}"))
    }

    pub fn policy_not_found(id: &str) -> Self {
        Self::not_found("HSS.1004", "policy", id)
    }

    pub fn policy_exists(id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "HSS.1005",
            format!("A policy {id:?} already exists in this project"),
        )
    }

    pub fn cluster_not_found(id: &str) -> Self {
        Self::not_found("HSS.1006", "cluster", id)
    }

    pub fn template_not_found(id: &str) -> Self {
        Self::not_found("HSS.1007", "policy template", id)
    }

    pub fn event_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "HSS.1008",
            "One of the events does not exist in this project; none was changed",
        )
    }

    pub fn unsupported(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "HSS.1009",
            format!("Not supported by berth: {what}"),
        )
    }

    /// A storage failure: logged here, answered without its details.
    pub fn store(e: &StoreError) -> Self {
        tracing::error!(error = %e, "cluster protection: storage failed");
        Self::internal()
    }
}

impl From<SignError> for HssError {
    fn from(e: SignError) -> Self {
        HssError::unauthenticated(e)
    }
}

impl From<StoreError> for HssError {
    fn from(e: StoreError) -> Self {
        HssError::store(&e)
    }
}

/// A JSON answer with the vendor's content type.
pub fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

impl IntoResponse for HssError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error_code": self.code, "error_msg": self.message});
        json(self.status, body.to_string())
    }
}
