//! `POST /oauth2/introspect` (RFC 7662). The caller authenticates as a client; it learns about
//! its own tokens, or about any token with the `introspect-any` permission. Everything else,
//! including storage trouble while looking up a token it may not see, is `{"active":false}`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::error::OAuthError;
use portcullis_core::introspection::{may_introspect, IntrospectionResponse};
use portcullis_core::store::TokenStore;

use super::client_auth::authenticate;
use super::form::{Form, FormBody};
use super::oauth_error::{no_store, ErrorReply};
use super::{AppState, PeerAddr};
use crate::clock::unix_now;

pub async fn introspect(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let result = async {
        let form = Form::parse(&headers, &body)?;
        let caller = authenticate(&state, &headers, &form, peer)?;
        let token = form.require("token")?;
        let scan_key = caller.id.to_string();
        state.throttles.introspection_scans.acquire(&scan_key).map_err(ErrorReply::too_many)?;
        // token_type_hint is only a hint (RFC 7662 §2.1): every token is looked up the same way.
        let answer = active_claims(&state, token).await?;
        let response = match answer {
            Some(claims) if may_introspect(&caller, &claims.client_id) => {
                // Only inactive answers count: many of them look like scanning for tokens.
                state.throttles.introspection_scans.forgive(&scan_key);
                IntrospectionResponse::active(&claims)
            }
            _ => IntrospectionResponse::inactive(),
        };
        tracing::info!(client_id = %caller.id, active = response.active, "introspection");
        Ok::<_, ErrorReply>(response)
    }
    .await;

    match result {
        Ok(response) => (no_store(), Json(response)).into_response(),
        Err(reply) => reply.into_response(),
    }
}

/// The claims of a token that is currently active, or `None`. Storage failures are an error:
/// the caller must not be told "active" (or "inactive") without knowing.
async fn active_claims(
    state: &AppState,
    token: &str,
) -> Result<Option<portcullis_core::token::AccessTokenClaims>, ErrorReply> {
    let now = unix_now();
    // The cache knows of revocations elsewhere only through the change feed: while the feed
    // is not being read, the database answers (and its failure is a 503, never "active").
    if state.live.in_sync() {
        if let Some(claims) = state.introspection.get(token, now) {
            return Ok(Some(claims));
        }
    }

    let keys = state.live.keys();
    let Ok(claims) = keys.verification.verify_access_token(token, &state.config.issuer, now) else {
        return Ok(None);
    };

    let generation = state.introspection.generation();
    let stored = state.store.get_token(&claims.jti).await.map_err(|err| {
        tracing::error!(error = %err, "token lookup failed during introspection");
        ErrorReply::from(OAuthError::unavailable())
    })?;
    let active =
        stored.is_some_and(|s| s.revoked_at.is_none() && s.record.client_id == claims.client_id);
    if !active {
        return Ok(None);
    }
    state.introspection.insert(token, claims.clone(), generation, now);
    Ok(Some(claims))
}
