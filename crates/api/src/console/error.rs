//! What a console page answers when it cannot show what was asked: a short HTML page with the
//! status, never a stack of internals (storage errors are logged, not shown).
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{frame, html_response};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Not there, or not visible to the viewer: the two look the same, so a private
    /// namespace's existence is not revealed.
    #[error("not found")]
    NotFound,
    #[error("you may not do this")]
    Forbidden,
    /// The form's CSRF token is missing or is not the session's.
    #[error("the form expired or did not come from this console; reload the page and retry")]
    Csrf,
    #[error("{0}")]
    Invalid(String),
    #[error("storage: {0}")]
    Store(#[from] berth_store::StoreError),
    #[error("{0}")]
    Internal(String),
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        self.into_response_page()
    }
}

impl ConsoleError {
    pub fn into_response_page(self) -> Response {
        let (status, message) = match &self {
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, self.to_string()),
            ConsoleError::Forbidden => (StatusCode::FORBIDDEN, self.to_string()),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, self.to_string()),
            ConsoleError::Invalid(_) => (StatusCode::BAD_REQUEST, self.to_string()),
            ConsoleError::Store(e) => {
                tracing::error!(error = %e, "console: storage failure");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage is unavailable; retry".to_string(),
                )
            }
            ConsoleError::Internal(m) => {
                tracing::error!(error = %m, "console: internal failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_string(),
                )
            }
        };
        html_response(
            status,
            frame(
                status.canonical_reason().unwrap_or("Error"),
                html! {
                    main id="main" {
                        h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                        p role="alert" { (message) }
                        p { a href="/ui/" { "Back to the console" } }
                    }
                },
            ),
        )
    }
}
