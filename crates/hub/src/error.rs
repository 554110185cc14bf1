//! What can go wrong with a request, as the HTTP status and `ErrorBody` the client gets. Messages are
//! plain words and name what is wrong; they never carry practice data.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lifeboat_protocol::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{0}")]
    BadRequest(String),
    /// The body is over `MAX_BODY_BYTES`.
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Well formed, but refused by a rule the OpenAPI description cannot state: the request
    /// contradicts what the server holds (a change re-sent with other content, a sequence number
    /// reused, a gap), or itself (a change not matching its content hash, a change twice in one
    /// push, a hand-over to the sender's own practice).
    #[error("{0}")]
    Refused(String),
    /// The pull cursor does not fit this server's history: start again from 0.
    #[error("{0}")]
    CursorUnknown(String),
    #[error("{0}")]
    UnsupportedVersion(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("the server's store failed: {0}")]
    Store(String),
}

impl HubError {
    pub fn code(&self) -> &'static str {
        match self {
            HubError::BadRequest(_) => "bad_request",
            HubError::TooLarge(_) => "too_large",
            HubError::Unauthorized(_) => "unauthorized",
            HubError::Forbidden(_) => "forbidden",
            HubError::NotFound(_) => "not_found",
            HubError::Refused(_) => "refused",
            HubError::CursorUnknown(_) => "cursor_unknown",
            HubError::UnsupportedVersion(_) => "unsupported_version",
            HubError::RateLimited(_) => "rate_limited",
            HubError::Store(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            HubError::BadRequest(_) | HubError::UnsupportedVersion(_) => StatusCode::BAD_REQUEST,
            HubError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            HubError::Forbidden(_) => StatusCode::FORBIDDEN,
            HubError::NotFound(_) => StatusCode::NOT_FOUND,
            HubError::Refused(_) | HubError::CursorUnknown(_) => StatusCode::CONFLICT,
            HubError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            HubError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<rusqlite::Error> for HubError {
    fn from(e: rusqlite::Error) -> Self {
        HubError::Store(e.to_string())
    }
}

#[cfg(feature = "postgres")]
impl From<sqlx::Error> for HubError {
    fn from(e: sqlx::Error) -> Self {
        HubError::Store(e.to_string())
    }
}

impl From<tokio::task::JoinError> for HubError {
    fn from(e: tokio::task::JoinError) -> Self {
        HubError::Store(format!("a worker stopped: {e}"))
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code().to_string(), message: self.to_string() };
        (self.status(), Json(body)).into_response()
    }
}

pub type HubResult<T> = std::result::Result<T, HubError>;
