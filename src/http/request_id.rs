//! A request id for every request: taken from an incoming `X-Request-Id` when a trusted proxy
//! (`PORTCULLIS_TRUSTED_PROXIES`) sent it and it is a short token of safe characters (the load
//! balancer's id, so logs correlate), generated otherwise. It is a field of the request's log
//! span and returned in the `X-Request-Id` response header.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use portcullis_core::secret::random_id;

use super::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id, as an extension of the request, for the log span.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether an incoming id is safe to log as it is: no spaces, quotes or control characters
/// that could forge log lines.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub async fn assign(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // Only a proxy we trust may name the request; anyone else could reuse another request's id
    // and muddle the logs.
    let from_proxy = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|info| state.config.proxies.trusted.iter().any(|n| n.contains(info.0.ip())));
    let incoming =
        request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|_| from_proxy);
    let id = incoming.filter(|id| acceptable(id)).map_or_else(random_id, str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_short_safe_ids_are_taken_over() {
        assert!(acceptable("lb-1f2e3d.42_x"));
        for bad in ["", "with space", "quote\"", "line\nbreak", &"x".repeat(65)] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }
}
