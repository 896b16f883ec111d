//! `GET`/`POST /oauth2/userinfo` (OpenID Connect Core §5.3): the user's claims for a bearer
//! access token that carries `openid`. Errors follow RFC 6750 §3: 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`, 403 for a missing scope.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::id_token::UserClaims;
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::{TokenStore, UserStore};
use portcullis_core::user::UserStatus;
use serde_json::json;

use super::oauth_error::no_store;
use super::AppState;
use crate::clock::unix_now;

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // The token travels in the Authorization header only: never in the URL (RFC 6750 §5.3, a
    // query `access_token` is ignored), and a body copy is refused rather than guessed between
    // (RFC 6750 §2: one method per request).
    if form_urlencoded::parse(&body).any(|(name, _)| name == "access_token") {
        return bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token else {
        return bearer_error(StatusCode::UNAUTHORIZED, None);
    };
    let now = unix_now();
    let keys = state.live.keys();
    let Ok(claims) = keys.verification.verify_access_token(token, &state.config.issuer, now) else {
        return bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token"));
    };
    let record = match state.store.get_token(&claims.jti).await {
        Ok(record) => record,
        Err(err) => {
            tracing::error!(error = %err, "token lookup failed at userinfo");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if record.is_none_or(|r| r.revoked_at.is_some()) {
        return bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token"));
    }
    let scopes = ScopeSet::parse_list(&claims.scope).unwrap_or_default();
    if !scopes.contains_str("openid") {
        return bearer_error(StatusCode::FORBIDDEN, Some("insufficient_scope"));
    }
    let user = match state.store.get_user(&claims.sub).await {
        Ok(Some(user)) if user.status == UserStatus::Active => user,
        Ok(_) => return bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token")),
        Err(err) => {
            tracing::error!(error = %err, "user lookup failed at userinfo");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut body = json!({ "sub": user.id });
    if let (Some(map), Ok(serde_json::Value::Object(extra))) =
        (body.as_object_mut(), serde_json::to_value(UserClaims::for_scopes(&user, &scopes)))
    {
        map.extend(extra);
    }
    (no_store(), Json(body)).into_response()
}

fn bearer_error(status: StatusCode, error: Option<&str>) -> Response {
    let challenge = match error {
        Some(error) => format!("Bearer realm=\"portcullis\", error=\"{error}\""),
        None => "Bearer realm=\"portcullis\"".to_owned(),
    };
    let mut response = (status, no_store()).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
