//! `POST /oauth2/token` (RFC 6749 §3.2). Today it serves the client_credentials grant
//! (RFC 6749 §4.4); the user-facing grants arrive with the end-user flows.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::client::GrantType;
use portcullis_core::error::{ErrorCode, OAuthError};
use portcullis_core::grant::{client_credentials, IssueDecision};
use portcullis_core::secret::random_id;
use portcullis_core::store::TokenRecord;
use portcullis_core::token::AccessTokenClaims;
use serde::Serialize;

use super::client_auth::authenticate;
use super::form::{Form, FormBody};
use super::oauth_error::{no_store, ErrorReply};
use super::{AppState, PeerAddr};
use crate::clock::unix_now;

/// RFC 6749 §5.1 successful response.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u32,
    scope: String,
}

pub async fn token(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    match exchange(&state, peer, &headers, &body).await {
        Ok(response) => (no_store(), Json(response)).into_response(),
        Err(reply) => reply.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    peer: PeerAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, ErrorReply> {
    let form = Form::parse(headers, body)?;
    let grant_type = form.require("grant_type")?;
    let grant_type = match grant_type.parse::<GrantType>() {
        Ok(GrantType::ClientCredentials) => GrantType::ClientCredentials,
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "this server supports grant_type=client_credentials at the token endpoint",
            )
            .into())
        }
    };

    let client = authenticate(state, headers, &form, peer)?;
    let now = unix_now();
    let registry = state.live.registry();
    let decision = client_credentials::decide(
        &client,
        form.get("scope"),
        &registry,
        now,
        state.config.storage.max_access_token_lifetime,
    )
    .inspect_err(|e| {
        let (grant, error) = (grant_type.as_str(), e.code.as_str());
        tracing::info!(client_id = %client.id, grant_type = grant, error, "token refused");
    })?;

    let response = issue_access_token(state, client.id.as_str(), grant_type, decision, now).await?;
    let grant = grant_type.as_str();
    tracing::info!(client_id = %client.id, grant_type = grant, outcome = "issued", "token issued");
    Ok(response)
}

/// Signs an access token off the async executor, records it durably, and answers only when both
/// are done. A failed record means no token is handed out (503).
async fn issue_access_token(
    state: &AppState,
    client_id: &str,
    grant_type: GrantType,
    decision: IssueDecision,
    now: i64,
) -> Result<TokenResponse, ErrorReply> {
    let claims = AccessTokenClaims {
        iss: state.config.issuer.clone(),
        sub: decision.subject,
        aud: state.config.audience.clone(),
        client_id: client_id.to_owned(),
        scope: decision.scopes.to_wire(),
        jti: random_id(),
        iat: now,
        exp: now + i64::from(decision.lifetime),
    };
    let record = TokenRecord {
        jti: claims.jti.clone(),
        client_id: client_id.to_owned(),
        subject: claims.sub.clone(),
        scopes: claims.scope.clone(),
        grant_type,
        issued_at: now,
        expires_at: claims.exp,
        grant_id: None,
    };

    let key = state.live.keys().current.clone();
    let scope = claims.scope.clone();
    let (signed, recorded) =
        tokio::join!(state.signer.sign(key, claims), state.tokens.record(record));

    recorded.map_err(|err| {
        tracing::error!(error = %err, "could not record an issued token");
        ErrorReply::from(OAuthError::unavailable())
    })?;
    let access_token = signed.map_err(|err| {
        tracing::error!(error = %err, "signing failed");
        OAuthError::new(ErrorCode::ServerError, "signing failed")
    })?;

    Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: decision.lifetime, scope })
}
