//! `POST /api-keys/verify` for gateways and resource servers, and `GET /api-keys/{id}/usage`
//! for a key's owner.
//!
//! Every verification that reaches a decision answers 200 with `valid` and, when refused, a
//! machine-readable `reason`; the HTTP status describes the call itself (a bad body is 400, a
//! caller that failed to authenticate 401, a caller without the `verify-api-keys` permission
//! 403). The hot path reads only memory: the key index, the limiter (or one Redis round trip)
//! and the usage counters, which are flushed to the database in the background.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::api_key::{day_of, format_day, parse_day, ApiKey, VerifyOutcome};
use portcullis_core::cidr::canonical;
use portcullis_core::client::{ClientPermission, ClientStatus};
use portcullis_core::error::{ErrorCode, OAuthError};
use portcullis_core::rate_limit::RateDecision;
use portcullis_core::scope::ScopeSet;
use portcullis_core::secret::hashes_equal;
use portcullis_core::store::{ApiKeyStore, ClientStore, StoreError};
use serde::{Deserialize, Serialize};

use super::client_auth::authenticate_with;
use super::form::FormBody;
use super::oauth_error::{no_store, ErrorReply};
use super::{AppState, PeerAddr};
use crate::clock::unix_now;
use crate::service::ServiceError;

/// Compared against when no key matched, so unknown and wrong keys cost the same.
const NO_HASH: [u8; 32] = [0; 32];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    key: String,
    /// Space-separated scopes the request needs; all must be held.
    #[serde(default)]
    scope: Option<String>,
    /// The end client's address as the gateway saw it.
    #[serde(default)]
    ip: Option<String>,
    /// For callers registered with client_secret_post.
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
}

#[derive(Serialize, Default)]
struct VerifyResponse {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<VerifyOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reset: Option<u64>,
}

impl IntoResponse for VerifyResponse {
    fn into_response(self) -> Response {
        (no_store(), Json(self)).into_response()
    }
}

pub async fn verify(
    State(state): State<AppState>,
    peer: PeerAddr,
    uri: Uri,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    match decide(&state, peer, &uri, &headers, &body).await {
        Ok(response) => response,
        Err(reply) => reply.into_response(),
    }
}

async fn decide(
    state: &AppState,
    peer: PeerAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ErrorReply> {
    // A key in a URL ends up in access logs and proxies' histories (SECURITY.md J-03).
    if uri.query().is_some() {
        return Err(OAuthError::invalid_request(
            "send the key in the JSON body; this endpoint takes no query parameters",
        )
        .into());
    }
    let request = parse_request(headers, body)?;
    let caller = authenticate_with(
        state,
        headers,
        request.client_id.as_deref(),
        request.client_secret.as_deref(),
        peer,
    )?;
    if !caller.has_permission(ClientPermission::VerifyApiKeys) {
        tracing::info!(client_id = %caller.id, "API-key verification refused: no permission");
        return Err(ErrorReply {
            status: Some(StatusCode::FORBIDDEN),
            ..OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not verify API keys; an admin grants it with \
                 `portcullis client grant CLIENT_ID verify-api-keys`",
            )
            .into()
        });
    }

    let source = match request.ip.as_deref() {
        Some(text) => Some(parse_ip(text)?),
        None => peer.0,
    };
    let required = match request.scope.as_deref() {
        None => ScopeSet::default(),
        Some(text) => ScopeSet::parse_request(text).map_err(|_| {
            OAuthError::invalid_request("scope must be one or more space-separated scope names")
        })?,
    };

    // Unknown keys from one source are throttled like failed client authentications: every
    // attempt counts until the key is found (SECURITY.md J-17).
    let guess_key = source.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    if let Err(retry) = state.throttles.api_key_guesses.acquire(&guess_key) {
        let mut response = refused(VerifyOutcome::TooManyInvalidKeys).into_response();
        let seconds = retry.as_secs().max(1);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return Ok(response);
    }

    let hash = state.hasher.hash(&request.key);
    let found = state.live.api_key_by_hash(&hash);
    let matches = hashes_equal(&hash, found.as_ref().map_or(&NO_HASH[..], |k| &k.key_hash[..]));
    let Some(mut key) = found.filter(|_| matches) else {
        tracing::debug!(client_id = %caller.id, outcome = "not_found", "API key verified");
        return Ok(refused(VerifyOutcome::NotFound).into_response());
    };
    state.throttles.api_key_guesses.forgive(&guess_key);

    // A revocation or disablement made on another instance reaches this one through the
    // change feed; while the feed is not being read, the key and its owner are read from the
    // database instead, and a database that cannot answer refuses the key rather than vouch.
    let owner_active = if state.live.in_sync() {
        let owner = state.live.client(key.client_id.as_str());
        owner.is_some_and(|c| c.status == ClientStatus::Active)
    } else {
        let unavailable = |err: StoreError| {
            tracing::error!(error = %err, "API-key lookup failed while the change feed is stale");
            ErrorReply::from(OAuthError::unavailable())
        };
        let Some(stored) = state.store.get_api_key(&key.id).await.map_err(unavailable)? else {
            return Ok(refused(VerifyOutcome::NotFound).into_response());
        };
        let owner = state.store.get_client(&key.client_id).await.map_err(unavailable)?;
        key = Arc::new(stored);
        owner.is_some_and(|c| c.status == ClientStatus::Active)
    };

    let now = unix_now();
    if let Err(outcome) = key.check(owner_active, &required, source, now) {
        return Ok(finish(state, &key, outcome, source, now, refused(outcome), None));
    }

    let decision = state.rate_limiter.check(&key.id, key.rate_limit()).await.map_err(|err| {
        // Unknown state denies: without the shared limiter no key is let through.
        tracing::error!(error = %err, "rate limiter unavailable");
        ErrorReply::from(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the rate limiter is unavailable; retry the request later",
        ))
    })?;
    let (outcome, body) = if decision.allowed {
        (VerifyOutcome::Valid, accepted(&key, &decision))
    } else {
        let limited = VerifyResponse {
            limit: Some(decision.limit),
            remaining: Some(0),
            reset: Some(decision.reset_seconds),
            ..refused(VerifyOutcome::RateLimited)
        };
        (VerifyOutcome::RateLimited, limited)
    };
    Ok(finish(state, &key, outcome, source, now, body, Some(decision)))
}

fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<VerifyRequest, ErrorReply> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(OAuthError::invalid_request("send the request as application/json").into());
    }
    serde_json::from_slice(body).map_err(|_| {
        OAuthError::invalid_request(
            "the body must be a JSON object with key, and optionally scope and ip",
        )
        .into()
    })
}

/// The gateway's view of the end client's address. Garbage is refused, never skipped
/// (SECURITY.md J-10).
fn parse_ip(text: &str) -> Result<IpAddr, ErrorReply> {
    text.parse::<IpAddr>()
        .map(canonical)
        .map_err(|_| OAuthError::invalid_request("ip must be a single IPv4 or IPv6 address").into())
}

fn refused(reason: VerifyOutcome) -> VerifyResponse {
    VerifyResponse { valid: false, reason: Some(reason), ..VerifyResponse::default() }
}

fn accepted(key: &ApiKey, decision: &RateDecision) -> VerifyResponse {
    VerifyResponse {
        valid: true,
        key_id: Some(key.id.clone()),
        client_id: Some(key.client_id.to_string()),
        scopes: Some(key.scopes.iter().map(ToString::to_string).collect()),
        expires_at: key.expires_at,
        limit: Some(decision.limit),
        remaining: Some(decision.remaining),
        reset: Some(decision.reset_seconds),
        ..VerifyResponse::default()
    }
}

/// Counts the outcome, logs it, and builds the answer with the rate-limit headers.
fn finish(
    state: &AppState,
    key: &ApiKey,
    outcome: VerifyOutcome,
    source: Option<IpAddr>,
    now: i64,
    body: VerifyResponse,
    decision: Option<RateDecision>,
) -> Response {
    state.usage.record(&key.id, outcome, source, now);
    state.metrics.key_verification(outcome.as_str());
    tracing::debug!(key_id = %key.id, outcome = outcome.as_str(), "API key verified");

    let mut response = body.into_response();
    if let Some(decision) = decision {
        super::limits::set_headers(&mut response, &decision);
    }
    response
}

#[derive(Deserialize)]
pub struct UsagePeriod {
    from: Option<String>,
    to: Option<String>,
}

/// Per-day verifications by outcome and source addresses of one key, for its owning client
/// (HTTP Basic). Counters reach the database one flush interval after they happen.
pub async fn usage(
    State(state): State<AppState>,
    peer: PeerAddr,
    Path(key_id): Path<String>,
    Query(period): Query<UsagePeriod>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let caller = authenticate_with(&state, &headers, None, None, peer)?;
        let today = day_of(unix_now());
        let day = |text: Option<&str>, default: i64| match text {
            None => Ok(default),
            Some(text) => parse_day(text)
                .ok_or_else(|| OAuthError::invalid_request("dates must be written YYYY-MM-DD")),
        };
        let to = day(period.to.as_deref(), today)?;
        let from = day(period.from.as_deref(), to - 29)?;

        let operator = state.operator();
        let key = operator.api_key(&key_id).await.map_err(service_error)?;
        // Another client's key is reported exactly like a missing one.
        if key.client_id != caller.id {
            return Err(service_error(ServiceError::NotFound(format!("API key {key_id}"))));
        }
        let days = operator.api_key_usage(&key.id, from, to).await.map_err(service_error)?;
        Ok::<_, ErrorReply>(usage_json(&key.id, from, to, &days))
    }
    .await;
    match result {
        Ok(body) => (no_store(), Json(body)).into_response(),
        Err(reply) => reply.into_response(),
    }
}

/// The usage document shared by the HTTP endpoint and `portcullis api-key usage --json`.
pub fn usage_json(
    key_id: &str,
    from: i64,
    to: i64,
    days: &[portcullis_core::store::DailyKeyUsage],
) -> serde_json::Value {
    let days: Vec<serde_json::Value> = days
        .iter()
        .map(|d| {
            let outcomes: serde_json::Map<String, serde_json::Value> =
                d.outcomes.iter().map(|(o, n)| (o.as_str().to_owned(), (*n).into())).collect();
            let sources: Vec<serde_json::Value> = d
                .sources
                .iter()
                .map(|(ip, n)| serde_json::json!({ "ip": ip, "count": n }))
                .collect();
            serde_json::json!({ "date": format_day(d.day), "outcomes": outcomes, "sources": sources })
        })
        .collect();
    serde_json::json!({
        "key_id": key_id,
        "from": format_day(from),
        "to": format_day(to),
        "days": days,
    })
}

/// Service refusals as protocol answers: invalid input 400, unknown 404, storage trouble 503.
fn service_error(err: ServiceError) -> ErrorReply {
    match err {
        ServiceError::Invalid(text) => OAuthError::invalid_request(text).into(),
        ServiceError::NotFound(what) => ErrorReply {
            status: Some(StatusCode::NOT_FOUND),
            ..OAuthError::invalid_request(format!("{what} does not exist for this client")).into()
        },
        ServiceError::Store(err) => {
            tracing::error!(error = %err, "storage failed while reading API-key usage");
            OAuthError::unavailable().into()
        }
    }
}
