//! The authorization_code and refresh_token grants (RFC 6749 §4.1.3, §6; RFC 9700 §4.14): the
//! checks on a redeemed code or a presented refresh token, once the store has found it.

use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::pkce::CodeChallenge;
use crate::scope::{ScopeRegistry, ScopeSet};
use crate::store::{CodeRecord, CodeState, RefreshRecord, RefreshState};
use crate::UnixTime;

fn not_registered(grant: GrantType) -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        format!("this client is not registered for the {grant} grant"),
    )
}

/// Checks a freshly redeemed code against the request: not expired, and bound as
/// [`check_code_binding`] says. Every mismatch is `invalid_grant`; the code is spent either way
/// (RFC 6749 §4.1.2: single use).
pub fn check_code(
    code: &CodeRecord,
    client: &Client,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    check_code_binding(code, client, redirect_uri, code_verifier)?;
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    Ok(())
}

/// Whether a request could only come from the code's own client: same client, same redirect
/// URI when one is sent, and a verifier that hashes to the stored challenge. A replay that fails
/// this proves nothing about the code's tokens, so it must not revoke them: otherwise anyone who
/// saw a code could revoke a stranger's grant (SECURITY.md B-04, OAuth 2.1 §7.5.2).
///
/// `redirect_uri` may be left out: OAuth 2.1 §4.1.3 drops it, since PKCE already binds the code
/// to whoever started the request; when sent, it must be byte for byte the one used.
pub fn check_code_binding(
    code: &CodeRecord,
    client: &Client,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<(), OAuthError> {
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(not_registered(GrantType::AuthorizationCode));
    }
    if code.client_id != client.id.as_str() {
        return Err(OAuthError::invalid_grant("the code was not issued to this client"));
    }
    if redirect_uri.is_some_and(|uri| uri != code.redirect_uri) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri must be the one sent with the authorization request",
        ));
    }
    let verifier = code_verifier.ok_or_else(|| {
        OAuthError::invalid_grant("code_verifier is required: the code was issued with PKCE")
    })?;
    if !CodeChallenge::from_stored(code.code_challenge.clone()).verify(verifier) {
        return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
    }
    Ok(())
}

/// Checks a refresh token found live (before rotation) and decides the scopes of the new access
/// token: the original grant, or a narrower `scope` request (RFC 6749 §6: never wider).
pub fn check_refresh(
    token: &RefreshRecord,
    client: &Client,
    scope_param: Option<&str>,
    registry: &ScopeRegistry,
    now: UnixTime,
) -> Result<ScopeSet, OAuthError> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(not_registered(GrantType::RefreshToken));
    }
    if token.client_id != client.id.as_str() {
        return Err(OAuthError::invalid_grant("the refresh token was not issued to this client"));
    }
    if token.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let granted = ScopeSet::parse_list(&token.scopes)
        .map_err(|_| OAuthError::invalid_grant("the refresh token's grant is unreadable"))?;
    let Some(param) = scope_param else { return Ok(granted) };
    let requested = registry.expand(&ScopeSet::parse_request(param)?);
    if !requested.is_subset(&granted) {
        return Err(OAuthError::invalid_scope(
            "a refresh may narrow the scope of the original grant, never widen it",
        ));
    }
    Ok(requested)
}

/// How long after a code or refresh token is spent a second presentation still counts as a
/// concurrent duplicate (a retry, two tabs, a request that queued behind its twin) and not as a
/// replay. In whole seconds of the server clock, from the moment the spending transaction began
/// to the moment the second request arrived: between 1 and 2 s of real time. A duplicate is refused like a replay but revokes nothing,
/// so the one answer that went out stays valid (SECURITY.md D-03, D-04; RFC 9700 §4.14.2).
pub const DUPLICATE_WINDOW_SECONDS: UnixTime = 1;

/// What a second presentation of a spent code or refresh token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondUse {
    /// Refused; nothing is revoked.
    Duplicate,
    /// A code burnt by a failed check: refused, and there is nothing to revoke.
    NothingIssued,
    /// Refused, and everything issued from the grant is revoked (RFC 6749 §4.1.2, RFC 9700
    /// §4.14.2).
    Replay,
}

/// Judges a code found spent. A code burnt by a failed check issued nothing, so there is
/// nothing to revoke; one whose tokens were issued is a duplicate only within the window after
/// its spend, a replay after it.
pub fn judge_spent_code(state: CodeState, now: UnixTime) -> SecondUse {
    match state {
        CodeState::Unused | CodeState::Spent { tokens_issued: false, .. } => {
            SecondUse::NothingIssued
        }
        CodeState::Spent { at, .. } if now - at <= DUPLICATE_WINDOW_SECONDS => SecondUse::Duplicate,
        CodeState::Spent { .. } => SecondUse::Replay,
    }
}

/// Judges a refresh token found not live. Only the family's immediate predecessor (its
/// successor unused) presented within the window is a duplicate; an older generation, a
/// revoked token or a late presentation is a replay (SECURITY.md D-02, D-04).
pub fn judge_spent_refresh(state: RefreshState, now: UnixTime) -> SecondUse {
    match state {
        RefreshState::Rotated { at, successor_live: true }
            if now - at <= DUPLICATE_WINDOW_SECONDS =>
        {
            SecondUse::Duplicate
        }
        _ => SecondUse::Replay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::TokenAuthMethod;
    use crate::client::{parse_wire_list, ClientId, ClientRegistration, ClientStatus, ClientType};
    use crate::scope::ScopeDefinition;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn registry() -> ScopeRegistry {
        ScopeRegistry::new(ScopeDefinition::built_ins()).unwrap()
    }

    fn client(id: &str) -> Client {
        ClientRegistration {
            name: "C".into(),
            client_type: ClientType::Confidential,
            grant_types: parse_wire_list("authorization_code refresh_token").unwrap(),
            allowed_scopes: ScopeSet::parse_list("openid profile email").unwrap(),
            redirect_uris: vec!["https://c1.example/cb".into()],
            post_logout_redirect_uris: vec![],
            id_token_signing_alg: Some(crate::keys::SigningAlgorithm::ES256),
            auth_method: TokenAuthMethod::ClientSecretBasic,
            access_token_lifetime: 600,
            refresh_token_lifetime: 3600,
            lifetime_policy: None,
        }
        .validate(&registry(), 3600)
        .unwrap()
        .into_client(ClientId::parse(id).unwrap(), ClientStatus::Active, None, 0)
    }

    fn code() -> CodeRecord {
        CodeRecord {
            code_hash: vec![1],
            grant_id: "g1".into(),
            client_id: "c1".into(),
            user_id: "u1".into(),
            redirect_uri: "https://c1.example/cb".into(),
            scopes: "openid".into(),
            code_challenge: CHALLENGE.into(),
            nonce: None,
            auth_time: 100,
            expires_at: 160,
        }
    }

    #[test]
    fn a_matching_redemption_passes() {
        let uri = Some("https://c1.example/cb");
        assert_eq!(check_code(&code(), &client("c1"), uri, Some(VERIFIER), 120), Ok(()));
    }

    #[test]
    fn b09_redirect_uri_may_be_left_out_but_never_changed() {
        assert_eq!(check_code(&code(), &client("c1"), None, Some(VERIFIER), 120), Ok(()));
        let other = Some("https://c1.example/other");
        let changed = check_code(&code(), &client("c1"), other, Some(VERIFIER), 120);
        assert_eq!(changed.unwrap_err().code, ErrorCode::InvalidGrant);
    }

    #[test]
    fn b_c_every_mismatch_is_invalid_grant() {
        let uri = Some("https://c1.example/cb");
        let cases = [
            check_code(&code(), &client("c2"), uri, Some(VERIFIER), 120),
            check_code(&code(), &client("c1"), uri, Some(VERIFIER), 160),
            check_code(
                &code(),
                &client("c1"),
                Some("https://c1.example/other"),
                Some(VERIFIER),
                120,
            ),
            check_code(&code(), &client("c1"), uri, None, 120),
            check_code(&code(), &client("c1"), uri, Some(CHALLENGE), 120),
            check_code(&code(), &client("c1"), uri, Some(&"a".repeat(43)), 120),
        ];
        for (i, result) in cases.into_iter().enumerate() {
            assert_eq!(result.unwrap_err().code, ErrorCode::InvalidGrant, "case {i}");
        }
    }

    #[test]
    fn refresh_may_narrow_but_not_widen() {
        let token = RefreshRecord {
            token_hash: vec![1],
            grant_id: "g1".into(),
            client_id: "c1".into(),
            user_id: "u1".into(),
            scopes: "email openid".into(),
            auth_time: 100,
            issued_at: 100,
            expires_at: 1000,
        };
        let c1 = client("c1");
        assert_eq!(
            check_refresh(&token, &c1, None, &registry(), 200).unwrap().to_wire(),
            "email openid"
        );
        assert_eq!(
            check_refresh(&token, &c1, Some("openid"), &registry(), 200).unwrap().to_wire(),
            "openid"
        );
        let wider = check_refresh(&token, &c1, Some("openid profile"), &registry(), 200);
        assert_eq!(wider.unwrap_err().code, ErrorCode::InvalidScope);
        let expired = check_refresh(&token, &c1, None, &registry(), 1000);
        assert_eq!(expired.unwrap_err().code, ErrorCode::InvalidGrant);
        let foreign = check_refresh(&token, &client("c2"), None, &registry(), 200);
        assert_eq!(foreign.unwrap_err().code, ErrorCode::InvalidGrant);
    }

    #[test]
    fn a_spent_code_is_a_duplicate_within_the_window_and_a_replay_after_it() {
        let spent = |at| CodeState::Spent { at, tokens_issued: true };
        assert_eq!(judge_spent_code(spent(100), 100), SecondUse::Duplicate);
        assert_eq!(judge_spent_code(spent(100), 101), SecondUse::Duplicate);
        assert_eq!(judge_spent_code(spent(100), 102), SecondUse::Replay);
        let burnt = CodeState::Spent { at: 100, tokens_issued: false };
        assert_eq!(judge_spent_code(burnt, 10_000), SecondUse::NothingIssued);
    }

    #[test]
    fn only_the_immediate_predecessor_within_the_window_is_a_duplicate() {
        let rotated = |successor_live| RefreshState::Rotated { at: 100, successor_live };
        assert_eq!(judge_spent_refresh(rotated(true), 101), SecondUse::Duplicate);
        assert_eq!(judge_spent_refresh(rotated(true), 102), SecondUse::Replay, "D-02");
        assert_eq!(judge_spent_refresh(rotated(false), 100), SecondUse::Replay, "D-04");
        assert_eq!(judge_spent_refresh(RefreshState::Revoked, 100), SecondUse::Replay);
    }
}
