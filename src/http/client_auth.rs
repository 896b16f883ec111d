//! Authenticating the calling client from request headers and form parameters, against the
//! live client table.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use portcullis_core::client::Client;
use portcullis_core::client_auth::{self, AuthError};
use portcullis_core::error::OAuthError;

use super::form::Form;
use super::oauth_error::ErrorReply;
use super::AppState;

/// Authenticates the caller, answering every failure with one indistinguishable
/// `invalid_client` (plus `WWW-Authenticate` when the Authorization header was used).
pub fn authenticate(state: &AppState, headers: &HeaderMap, form: &Form) -> Result<Arc<Client>, ErrorReply> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let presented = client_auth::extract(authorization, form.get("client_id"), form.get("client_secret"))
        .map_err(ErrorReply::from)?
        .map_err(|failure| reject(None, failure))?;

    let client = state.live.client(presented.client_id());
    match client_auth::authenticate(client.as_deref(), &presented, &state.hasher) {
        Ok(_) => client.ok_or_else(|| reject(Some(presented.client_id()), unknown(&presented))),
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
    }
}
