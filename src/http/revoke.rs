//! `POST /oauth2/revoke` (RFC 7009). The caller authenticates; a token is revoked only if it was
//! issued to the caller. Unknown, malformed, expired or foreign tokens get 200 with no effect
//! (RFC 7009 §2.2), so the endpoint is no oracle. A storage failure is 503, never 200.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::error::OAuthError;
use portcullis_core::secret::SecretKind;
use portcullis_core::store::{GrantStore, TokenStore};

use super::client_auth::authenticate;
use super::form::{Form, FormBody};
use super::oauth_error::{no_store, ErrorReply};
use super::{AppState, PeerAddr};
use crate::clock::unix_now;

pub async fn revoke(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let result = async {
        let form = Form::parse(&headers, &body)?;
        let caller = authenticate(&state, &headers, &form, peer)?;
        let token = form.require("token")?;

        let now = unix_now();
        // A refresh token revokes its whole grant: every refresh and access token descended
        // from the same authorization (RFC 7009 §2.1; SECURITY.md G-10).
        if token.starts_with(SecretKind::RefreshToken.prefix()) {
            let hash = state.hasher.hash(token);
            let found = state.store.find_refresh_token(&hash).await.map_err(|err| {
                tracing::error!(error = %err, "refresh token lookup failed during revocation");
                ErrorReply::from(OAuthError::unavailable())
            })?;
            let outcome = match found {
                Some((record, _)) if record.client_id == caller.id.as_str() => {
                    super::token::revoke_family(&state, &record.grant_id, now).await?;
                    "revoked"
                }
                _ => "no_effect",
            };
            tracing::info!(client_id = %caller.id, outcome, "refresh token revocation");
            return Ok(());
        }
        let keys = state.live.keys();
        let Ok(claims) = keys.verification.verify_access_token(token, &state.config.issuer, now)
        else {
            tracing::info!(client_id = %caller.id, outcome = "not_a_live_token", "revocation");
            return Ok(());
        };
        let revoked =
            state.store.revoke_token(&claims.jti, caller.id.as_str(), now).await.map_err(
                |err| {
                    tracing::error!(error = %err, "revocation could not be stored");
                    ErrorReply::from(OAuthError::unavailable())
                },
            )?;
        if revoked {
            // This instance forgets the token before answering; others learn through the feed.
            state.introspection.invalidate(&claims.jti);
        }
        let outcome = if revoked { "revoked" } else { "no_effect" };
        tracing::info!(client_id = %caller.id, outcome, "revocation");
        Ok::<_, ErrorReply>(())
    }
    .await;

    match result {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(reply) => reply.into_response(),
    }
}
