//! Core errors as HTTP answers: RFC 6749 §5.2 JSON with `Cache-Control: no-store`, and
//! `WWW-Authenticate` for client-authentication failures that used the Authorization header
//! (RFC 6749 §5.2, "invalid_client").

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::error::{ErrorCode, OAuthError};
use serde::Serialize;

/// An error answer from a JSON protocol endpoint.
#[derive(Debug)]
pub struct ErrorReply {
    pub error: OAuthError,
    /// Add `WWW-Authenticate: Basic` (the client used HTTP Basic).
    pub basic_challenge: bool,
    /// Override the catalogue's status (413 for oversized bodies, 429 when throttled).
    pub status: Option<StatusCode>,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl From<OAuthError> for ErrorReply {
    fn from(error: OAuthError) -> Self {
        Self { error, basic_challenge: false, status: None, retry_after: None }
    }
}

impl ErrorReply {
    /// 429 with `Retry-After`: a rate limit was reached.
    pub fn throttled(error: OAuthError, retry_after_seconds: u64) -> Self {
        Self {
            error,
            basic_challenge: false,
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            retry_after: Some(retry_after_seconds),
        }
    }

    /// 429 with `Retry-After` after too many failures from one source.
    pub fn too_many(retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs().max(1);
        Self {
            error: OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                format!("too many failed attempts; retry after {seconds} seconds"),
            ),
            basic_challenge: false,
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            retry_after: Some(seconds),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        });
        let body =
            Body { error: self.error.code.as_str(), error_description: &self.error.description };
        let mut response = (status, no_store(), Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.basic_challenge && self.error.code == ErrorCode::InvalidClient {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Headers every token, introspection and revocation answer carries (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}
