//! Request rate limits beside the API keys' own: the token endpoint per authenticated client
//! (`PORTCULLIS_TOKEN_RATE_LIMIT_PER_MINUTE`), and the sign-in and sign-up forms per source
//! address (`PORTCULLIS_FORM_RATE_LIMIT_PER_MINUTE`). Both run the same GCRA as API keys, in
//! process or shared through Redis when it is configured, and answer with the `RateLimit-*`
//! headers (draft-ietf-httpapi-ratelimit-headers) and `Retry-After` when refused. A limiter
//! that cannot be reached refuses (503): a limit that silently stops limiting is no limit.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portcullis_core::error::{ErrorCode, OAuthError};
use portcullis_core::rate_limit::RateDecision;

use super::interaction::{message, unavailable};
use super::oauth_error::ErrorReply;
use super::peer::PeerAddr;
use super::AppState;

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// The form posts limited per source address: every sign-in and sign-up.
const FORM_PATHS: [&str; 5] =
    ["/login", "/admin/login", "/admin/login/totp", "/developers/login", "/developers/signup"];

/// The `RateLimit-*` headers of a decision, and `Retry-After` when it refused.
pub fn set_headers(response: &mut Response, decision: &RateDecision) {
    let headers = response.headers_mut();
    headers.insert(RATELIMIT_LIMIT, HeaderValue::from(u64::from(decision.limit)));
    headers.insert(RATELIMIT_REMAINING, HeaderValue::from(u64::from(decision.remaining)));
    headers.insert(RATELIMIT_RESET, HeaderValue::from(decision.reset_seconds));
    if !decision.allowed {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(decision.retry_after_seconds));
    }
}

/// The token endpoint's limit for an authenticated client, if one is configured: the decision
/// for the headers, or the 429 (or 503) to answer with.
///
/// A confidential client's budget is its own: it is counted after the secret was checked. A
/// public client proves nothing but its id, so its budget is per client and source address,
/// or anyone knowing the id could spend it for every user of the app.
pub async fn token_request(
    state: &AppState,
    client: &portcullis_core::client::Client,
    peer: PeerAddr,
) -> Result<Option<RateDecision>, (ErrorReply, Option<RateDecision>)> {
    let Some(limit) = state.config.token_rate_limit else { return Ok(None) };
    let client_id = client.id.as_str();
    let key = match client.client_type {
        portcullis_core::client::ClientType::Confidential => format!("token:{client_id}"),
        portcullis_core::client::ClientType::Public => format!("token:{client_id}:{peer}"),
    };
    let decision = state.rate_limiter.check(&key, limit).await.map_err(|err| {
        tracing::error!(error = %err, "token-endpoint rate limiter unavailable");
        (ErrorReply::from(OAuthError::unavailable()), None)
    })?;
    if decision.allowed {
        return Ok(Some(decision));
    }
    tracing::info!(client_id, "token request rate limited");
    let seconds = decision.retry_after_seconds.max(1);
    let error = OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        format!("this client's token request limit is reached; retry after {seconds} seconds"),
    );
    Err((ErrorReply::throttled(error, seconds), Some(decision)))
}

/// Limits the sign-in and sign-up form posts per source address (an unknown address shares
/// one bucket, so hiding it gains nothing). Everything else passes untouched.
pub async fn forms(
    State(state): State<AppState>,
    peer: PeerAddr,
    request: Request,
    next: Next,
) -> Response {
    let limited = request.method() == Method::POST && FORM_PATHS.contains(&request.uri().path());
    let Some(limit) = state.config.form_rate_limit.filter(|_| limited) else {
        return next.run(request).await;
    };
    let decision = match state.rate_limiter.check(&format!("form:{peer}"), limit).await {
        Ok(decision) => decision,
        Err(err) => {
            tracing::error!(error = %err, "form rate limiter unavailable");
            return unavailable();
        }
    };
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        tracing::info!(source = %peer, "form posts rate limited");
        let text = "Too many attempts from your address. Wait a moment and try again.";
        message(StatusCode::TOO_MANY_REQUESTS, "Slow down", text).into_response()
    };
    set_headers(&mut response, &decision);
    response
}
