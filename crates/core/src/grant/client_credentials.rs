//! The client_credentials grant (RFC 6749 §4.4): a confidential client obtains a token for
//! itself. The scope parameter is required (no default scope) and is checked by the registry.

use super::IssueDecision;
use crate::client::{Client, ClientType, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::lifetime::access_token_lifetime;
use crate::scope::{GrantSubject, ScopeRegistry, ScopeSet};
use crate::UnixTime;

/// Decides a client_credentials request from an already authenticated client.
pub fn decide(
    client: &Client,
    scope_param: Option<&str>,
    registry: &ScopeRegistry,
    now: UnixTime,
    server_max_lifetime: u32,
) -> Result<IssueDecision, OAuthError> {
    if client.client_type != ClientType::Confidential
        || !client.allows_grant(GrantType::ClientCredentials)
    {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for the client_credentials grant",
        ));
    }

    let requested = ScopeSet::parse_request(scope_param.unwrap_or_default())?;
    let scopes = registry.grant(&requested, &client.allowed_scopes, GrantSubject::ClientOnly)?;
    let lifetime = access_token_lifetime(
        client.access_token_lifetime,
        client.lifetime_policy.as_ref(),
        &scopes,
        now,
        server_max_lifetime,
    );
    Ok(IssueDecision { subject: client.subject(), scopes, lifetime })
}
