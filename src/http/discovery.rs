//! `GET /.well-known/openid-configuration`, `GET /.well-known/oauth-authorization-server`
//! (RFC 8414) and `GET /oauth2/jwks` (RFC 7517). Public, cacheable for a few minutes.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::discovery;

use super::AppState;

const PUBLIC_CACHE: HeaderValue = HeaderValue::from_static("public, max-age=300");

pub async fn metadata(State(state): State<AppState>) -> Response {
    let registry = state.live.registry();
    let scopes = registry.iter().filter(|s| s.public).map(|s| s.name.to_string()).collect();
    let algorithms = state.live.keys().algorithms.clone();
    let document = discovery::metadata(&state.config.issuer, scopes, &algorithms);
    ([(header::CACHE_CONTROL, PUBLIC_CACHE)], Json(document)).into_response()
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    let keys = state.live.keys();
    (
        [
            (header::CACHE_CONTROL, PUBLIC_CACHE),
            (header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json")),
        ],
        keys.jwks_json.clone(),
    )
        .into_response()
}
