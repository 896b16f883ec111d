//! Authenticating the calling client from request headers and form parameters, against the
//! live client table.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use portcullis_core::client::Client;
use portcullis_core::client_auth::{self, AuthError};
use portcullis_core::error::OAuthError;

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
    let result = match client_auth::authenticate(client.as_deref(), &presented, &state.hasher) {
        Ok(_) => client.ok_or_else(|| unknown(&presented)),
        Err(failure) => Err(failure),
    };
    match result {
        Ok(client) => {
            state.throttles.client_auth.forgive(&throttle_key);
            Ok(client)
        }
        Err(failure) => Err(reject(Some(presented.client_id()), failure)),
    }
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
