//! Authenticating the calling client from request headers and form parameters, against the
//! live client table.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use portcullis_core::client::Client;
use portcullis_core::client_auth::{self, AuthError, SecretUsed};
use portcullis_core::error::OAuthError;
use portcullis_core::store::ClientStore;

use super::form::Form;
use super::oauth_error::ErrorReply;
use super::{AppState, PeerAddr};

/// Authenticates the caller, answering every failure with one indistinguishable
/// `invalid_client` (plus `WWW-Authenticate` when the Authorization header was used).
///
/// Failures are counted per client id and source address; past the limit the pair gets 429
/// before any secret is checked, while the same client from elsewhere is unaffected (no
/// lock-out of a legitimate client by an attacker on another network).
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
    peer: PeerAddr,
) -> Result<Arc<Client>, ErrorReply> {
    authenticate_with(state, headers, form.get("client_id"), form.get("client_secret"), peer)
}

/// [`authenticate`] for endpoints whose body is not a form (JSON): the body's `client_id` and
/// `client_secret`, if any, are passed in.
pub fn authenticate_with(
    state: &AppState,
    headers: &HeaderMap,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
    peer: PeerAddr,
) -> Result<Arc<Client>, ErrorReply> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let presented = client_auth::extract(authorization, body_client_id, body_secret)
        .map_err(ErrorReply::from)?
        .map_err(|failure| reject(None, failure))?;

    let throttle_key = format!("{}|{peer}", presented.client_id());
    state.throttles.client_auth.acquire(&throttle_key).map_err(ErrorReply::too_many)?;

    let client = state.live.client(presented.client_id());
    let now = crate::clock::unix_now();
    let result = match client_auth::authenticate(client.as_deref(), &presented, &state.hasher, now)
    {
        Ok((_, used)) => {
            if used == SecretUsed::Previous {
                note_previous_secret_use(state, client.as_deref(), &peer, now);
            }
            client.ok_or_else(|| unknown(&presented))
        }
        Err(failure) => {
            // Counted under the client only when the id names a registered one.
            let known = client.as_ref().map(|c| c.id.as_str());
            state.auth_failures.record(known, failure.reason.as_str(), now);
            state.metrics.client_auth_failure(failure.reason.as_str());
            Err(failure)
        }
    };
    match result {
        Ok(client) => {
            state.throttles.client_auth.forgive(&throttle_key);
            Ok(client)
        }
        Err(failure) => Err(reject(Some(presented.client_id()), failure)),
    }
}

/// Records, at most once a minute per client, that the secret from before the last
/// regeneration was used and from where: the admin portal shows it so an admin knows when the
/// old secret is no longer needed. Off the request path; a failure only loses the note.
fn note_previous_secret_use(state: &AppState, client: Option<&Client>, peer: &PeerAddr, now: i64) {
    let Some(client) = client else { return };
    let recent = client
        .previous_secret
        .as_ref()
        .and_then(|p| p.last_used_at)
        .is_some_and(|at| now - at < 60);
    if recent {
        return;
    }
    let (store, id, ip) = (state.store.clone(), client.id.clone(), peer.to_string());
    tokio::spawn(async move {
        if let Err(err) = store.note_previous_secret_use(&id, now, Some(&ip)).await {
            tracing::warn!(error = %err, "could not note the use of a previous client secret");
        }
    });
}

fn unknown(presented: &client_auth::PresentedCredentials) -> AuthError {
    AuthError {
        reason: client_auth::AuthFailure::UnknownClient,
        header_used: presented.used_authorization_header(),
    }
}

fn reject(client_id: Option<&str>, failure: AuthError) -> ErrorReply {
    // The client id is attacker-supplied text: log it only when it is a well-formed id.
    let client_id = client_id.filter(|id| portcullis_core::client::ClientId::parse(id).is_some());
    tracing::info!(client_id, reason = failure.reason.as_str(), "client authentication failed");
    ErrorReply {
        error: OAuthError::invalid_client(),
        basic_challenge: failure.header_used,
        status: None,
        retry_after: None,
    }
}
