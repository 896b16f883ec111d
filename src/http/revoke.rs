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
use super::token::FamilyRevocation;
use super::{AppState, PeerAddr};
use crate::clock::unix_now;
use crate::service::Acting;

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
                    let why = FamilyRevocation {
                        actor: format!("client:{}", caller.id),
                        peer,
                        reason: "client_request",
                    };
                    super::token::revoke_family(&state, &record.grant_id, now, why).await?;
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
            audit_token_revocation(&state, &caller.id.to_string(), &claims.jti, peer).await?;
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

/// Audits a client's revocation of one of its access tokens. Failing to write it is a 503, as a
/// failed revocation is: the client retries, and the retry is a no-op on the token.
async fn audit_token_revocation(
    state: &AppState,
    client_id: &str,
    jti: &str,
    peer: PeerAddr,
) -> Result<(), ErrorReply> {
    let acting =
        Acting { actor: format!("client:{client_id}"), source_ip: peer.0.map(|ip| ip.to_string()) };
    let details = serde_json::json!({ "reason": "client_request" });
    state
        .operator()
        .acting_as(acting)
        .audit("token.revoke", format!("token:{jti}"), details)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "token revocation could not be audited");
            ErrorReply::from(OAuthError::unavailable())
        })
}
