//! `POST /oauth2/token` (RFC 6749 §3.2): the client_credentials (§4.4), authorization_code
//! (§4.1.3) and refresh_token (§6) grants. The rules live in `portcullis_core::grant`; this
//! module finds the records, signs, and records what it issues before answering.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::client::{Client, GrantType};
use portcullis_core::error::{ErrorCode, OAuthError};
use portcullis_core::grant::authorization_code::{
    check_code, check_code_binding, check_refresh, judge_spent_code, judge_spent_refresh, SecondUse,
};
use portcullis_core::grant::{client_credentials, IssueDecision};
use portcullis_core::id_token::{at_hash, IdTokenClaims, UserClaims};
use portcullis_core::lifetime::access_token_lifetime;
use portcullis_core::scope::ScopeSet;
use portcullis_core::secret::{random_id, Secret, SecretKind};
use portcullis_core::store::{
    CodeRecord, CodeState, GrantStore, IssuedGrantTokens, RefreshRecord, RefreshRotation,
    RefreshState, TokenRecord, UserStore,
};
use portcullis_core::token::AccessTokenClaims;
use portcullis_core::user::UserStatus;
use serde::Serialize;

use super::client_auth::authenticate;
use super::form::{Form, FormBody};
use super::oauth_error::{no_store, ErrorReply};
use super::{AppState, PeerAddr};
use crate::clock::unix_now;
use crate::service::Acting;

/// RFC 6749 §5.1 successful response.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u32,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

pub async fn token(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let mut decision = None;
    let mut response = match exchange(&state, peer, &headers, &body, &mut decision).await {
        Ok(response) => (no_store(), Json(response)).into_response(),
        Err(reply) => reply.into_response(),
    };
    if let Some(decision) = decision {
        super::limits::set_headers(&mut response, &decision);
    }
    response
}

/// `limit` receives the client's rate-limit decision when the token endpoint is limited.
async fn exchange(
    state: &AppState,
    peer: PeerAddr,
    headers: &HeaderMap,
    body: &[u8],
    limit: &mut Option<portcullis_core::rate_limit::RateDecision>,
) -> Result<TokenResponse, ErrorReply> {
    // The time the request arrived: a second use of a spent code or refresh token is judged by
    // it, not by when the request got its turn at the database.
    let now = unix_now();
    let form = Form::parse(headers, body)?;
    let grant_type = form.require("grant_type")?.parse::<GrantType>().map_err(|_| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "supported grant types: authorization_code, refresh_token, client_credentials",
        )
    })?;

    let client = authenticate(state, headers, &form, peer)?;
    match super::limits::token_request(state, &client, peer).await {
        Ok(decision) => *limit = decision,
        Err((reply, decision)) => {
            *limit = decision;
            return Err(reply);
        }
    }
    let result = match grant_type {
        GrantType::ClientCredentials => {
            let registry = state.live.registry();
            let decision = client_credentials::decide(
                &client,
                form.get("scope"),
                &registry,
                now,
                state.config.storage.max_access_token_lifetime,
            )?;
            issue_service_token(state, client.id.as_str(), decision, now).await
        }
        GrantType::AuthorizationCode => redeem_code(state, &client, &form, peer, now).await,
        GrantType::RefreshToken => refresh(state, &client, &form, peer, now).await,
    };
    let grant = grant_type.as_str();
    match &result {
        Ok(_) => {
            state.metrics.token_issued(grant, client.id.as_str());
            let outcome = "issued";
            tracing::info!(client_id = %client.id, grant_type = grant, outcome, "token issued")
        }
        Err(reply) => {
            let error = reply.error.code.as_str();
            tracing::info!(client_id = %client.id, grant_type = grant, error, "token refused");
        }
    }
    result
}

/// The authorization_code grant. A code is spent by its first redemption whatever follows: a
/// failed check burns it, a successful one spends it and records its tokens in one transaction.
/// A later redemption that proves the code's binding revokes every token issued from it
/// (RFC 6749 §4.1.2, RFC 9700 §4.5), unless it is a concurrent duplicate.
async fn redeem_code(
    state: &AppState,
    client: &Client,
    form: &Form,
    peer: PeerAddr,
    now: i64,
) -> Result<TokenResponse, ErrorReply> {
    let code = form.require("code")?;
    let hash = state.hasher.hash(code);
    let invalid = || OAuthError::invalid_grant("the code is invalid, expired or already used");
    let (redirect_uri, verifier) = (form.get("redirect_uri"), form.get("code_verifier"));
    let (record, code_state) =
        state.store.find_code(&hash).await.map_err(storage)?.ok_or_else(invalid)?;
    if code_state != CodeState::Unused {
        second_code_use(state, client, &record, code_state, form, peer, now).await?;
        return Err(invalid().into());
    }
    if let Err(refused) = check_code(&record, client, redirect_uri, verifier, now) {
        state.store.burn_code(&hash, now).await.map_err(storage)?;
        return Err(refused.into());
    }

    let Ok(scopes) = ScopeSet::parse_list(&record.scopes) else {
        tracing::error!(client_id = %client.id, "a stored code has unreadable scopes");
        state.store.burn_code(&hash, now).await.map_err(storage)?;
        return Err(invalid().into());
    };
    let grant = UserGrant {
        grant_id: record.grant_id,
        user_id: record.user_id,
        auth_time: record.auth_time,
        nonce: record.nonce,
    };
    let issued =
        issue_user_tokens(state, client, &grant, &scopes, GrantType::AuthorizationCode, now).await;
    let (mut response, access) = match issued {
        Ok(issued) => issued,
        Err(refused) => {
            // A refusal (the user can no longer sign in) spends the code like a failed check;
            // a server failure leaves it redeemable for the client's retry (FT-01).
            if refused.error.code == ErrorCode::InvalidGrant {
                state.store.burn_code(&hash, now).await.map_err(storage)?;
            }
            return Err(refused);
        }
    };
    let refresh = client.allows_grant(GrantType::RefreshToken).then(|| {
        let secret = Secret::generate(SecretKind::RefreshToken);
        let record = RefreshRecord {
            token_hash: state.hasher.hash(secret.expose()),
            grant_id: grant.grant_id.clone(),
            client_id: client.id.to_string(),
            user_id: grant.user_id.clone(),
            scopes: scopes.to_wire(),
            auth_time: grant.auth_time,
            issued_at: now,
            expires_at: now + i64::from(client.refresh_token_lifetime),
        };
        (secret, record)
    });
    let (secret, refresh) = refresh.unzip();
    let issued = IssuedGrantTokens { access, refresh };
    // The duplicate window opens when the spend begins, not when this request arrived: a twin
    // that arrived while this one waited for the database is judged against the spend.
    let spent_at = unix_now();
    if !state.store.exchange_code(&hash, &issued, spent_at).await.map_err(storage)? {
        // Spent between the read above and this transaction, by a twin that answers instead
        // (or by a failed check that burnt it).
        state.metrics.second_use("authorization_code", "duplicate");
        tracing::warn!(client_id = %client.id, "authorization code redeemed concurrently");
        return Err(invalid().into());
    }
    response.refresh_token = secret.map(|secret| secret.expose().to_owned());
    Ok(response)
}

/// A code presented after it was spent: a concurrent duplicate revokes nothing; a replay does,
/// but only when it proves the code's binding (SECURITY.md B-04).
async fn second_code_use(
    state: &AppState,
    client: &Client,
    record: &CodeRecord,
    code_state: CodeState,
    form: &Form,
    peer: PeerAddr,
    now: i64,
) -> Result<(), ErrorReply> {
    let outcome = match judge_spent_code(code_state, now) {
        SecondUse::NothingIssued => "nothing_issued",
        SecondUse::Duplicate => "duplicate",
        SecondUse::Replay => "replay",
    };
    if outcome != "replay" {
        state.metrics.second_use("authorization_code", outcome);
        tracing::warn!(client_id = %client.id, outcome, "spent authorization code presented");
        return Ok(());
    }
    let binding =
        check_code_binding(record, client, form.get("redirect_uri"), form.get("code_verifier"));
    if binding.is_err() {
        state.metrics.second_use("authorization_code", "unbound_replay");
        tracing::warn!(client_id = %client.id, "unbound replay of a used code");
        return Ok(());
    }
    state.metrics.second_use("authorization_code", "replay");
    let revoked = revoke_family(state, &record.grant_id, now, replay(peer, "code_replay")).await?;
    tracing::warn!(client_id = %client.id, revoked, "authorization code replayed");
    Ok(())
}

/// The refresh_token grant with rotation: every use returns a successor and retires the
/// presented token in the transaction that records the new access token; a retired token
/// presented again revokes the whole family (RFC 9700 §4.14.2) unless it is a concurrent
/// duplicate. The family's absolute lifetime does not move.
async fn refresh(
    state: &AppState,
    client: &Client,
    form: &Form,
    peer: PeerAddr,
    now: i64,
) -> Result<TokenResponse, ErrorReply> {
    let presented = form.require("refresh_token")?;
    let hash = state.hasher.hash(presented);
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let (record, token_state) =
        state.store.refresh_token_state(&hash).await.map_err(storage)?.ok_or_else(invalid)?;
    // Another client presenting it proves nothing about its family: refuse, revoke nothing
    // (SECURITY.md D-05; otherwise a leaked token would be a lever to log strangers out).
    if record.client_id != client.id.as_str() {
        return Err(
            OAuthError::invalid_grant("the refresh token was not issued to this client").into()
        );
    }
    if token_state != RefreshState::Live {
        if judge_spent_refresh(token_state, now) == SecondUse::Duplicate {
            state.metrics.second_use("refresh_token", "duplicate");
            tracing::warn!(client_id = %client.id, "refresh token rotated concurrently");
            return Err(invalid().into());
        }
        state.metrics.second_use("refresh_token", "replay");
        let why = replay(peer, "refresh_token_replay");
        let revoked = revoke_family(state, &record.grant_id, now, why).await?;
        tracing::warn!(client_id = %client.id, revoked, "rotated refresh token replayed");
        return Err(invalid().into());
    }
    let registry = state.live.registry();
    let scopes = check_refresh(&record, client, form.get("scope"), &registry, now)?;

    let grant = UserGrant {
        grant_id: record.grant_id.clone(),
        user_id: record.user_id.clone(),
        auth_time: record.auth_time,
        nonce: None,
    };
    let (mut response, access) =
        issue_user_tokens(state, client, &grant, &scopes, GrantType::RefreshToken, now).await?;
    let secret = Secret::generate(SecretKind::RefreshToken);
    let successor =
        RefreshRecord { token_hash: state.hasher.hash(secret.expose()), issued_at: now, ..record };
    // As for codes, the window opens when the spend begins.
    let spent_at = unix_now();
    match state.store.rotate_refresh_token(&hash, &successor, &access, spent_at).await {
        Ok(RefreshRotation::Rotated(_)) => {}
        Ok(RefreshRotation::Unknown) => return Err(invalid().into()),
        Ok(RefreshRotation::AlreadySpent(_)) => {
            // Live when this request read it: a twin rotated it meanwhile and answers instead
            // (or a revocation came first, and there is nothing to answer).
            state.metrics.second_use("refresh_token", "duplicate");
            tracing::warn!(client_id = %client.id, "refresh token rotated concurrently");
            return Err(invalid().into());
        }
        Err(err) => return Err(storage(err)),
    }
    response.refresh_token = Some(secret.expose().to_owned());
    Ok(response)
}

/// The user grant tokens descend from.
struct UserGrant {
    grant_id: String,
    user_id: String,
    auth_time: i64,
    nonce: Option<String>,
}

/// An access token for the user, and an ID token when `openid` was granted, signed; the access
/// token's record is returned for the caller's transaction.
async fn issue_user_tokens(
    state: &AppState,
    client: &Client,
    grant: &UserGrant,
    scopes: &ScopeSet,
    grant_type: GrantType,
    now: i64,
) -> Result<(TokenResponse, TokenRecord), ErrorReply> {
    let user = state.store.get_user(&grant.user_id).await.map_err(storage)?;
    let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
        return Err(
            OAuthError::invalid_grant("the user of this grant can no longer sign in").into()
        );
    };
    let lifetime = access_token_lifetime(
        client.access_token_lifetime,
        client.lifetime_policy.as_ref(),
        scopes,
        now,
        state.config.storage.max_access_token_lifetime,
    );
    let decision = IssueDecision { subject: user.id.clone(), scopes: scopes.clone(), lifetime };
    let (claims, record) =
        access_token(state, client.id.as_str(), grant_type, decision, Some(&grant.grant_id), now);
    let mut response = sign_access_token(state, claims, lifetime).await?;

    if scopes.contains_str("openid") {
        // Registration guarantees an algorithm and a key for clients allowed `openid`; should
        // either be missing, no ID token is better than one the client cannot verify.
        let key = client
            .id_token_signing_alg
            .and_then(|alg| state.live.keys().by_alg.get(&alg).cloned())
            .ok_or_else(|| {
                tracing::error!(client_id = %client.id, "no ID token signing key for the client");
                OAuthError::new(
                    ErrorCode::ServerError,
                    "no signing key for this client's ID tokens",
                )
            })?;
        let claims = IdTokenClaims {
            iss: state.config.issuer.clone(),
            sub: user.id.clone(),
            aud: client.id.to_string(),
            exp: now + i64::from(client.access_token_lifetime),
            iat: now,
            auth_time: grant.auth_time,
            nonce: grant.nonce.clone(),
            at_hash: at_hash(&response.access_token, key.alg),
            profile: UserClaims::for_scopes(&user, scopes),
        };
        let payload = serde_json::to_vec(&claims)
            .map_err(|_| OAuthError::new(ErrorCode::ServerError, "ID token encoding failed"))?;
        let signed = state.signer.sign_payload(key, "JWT", payload).await.map_err(|err| {
            tracing::error!(error = %err, "ID token signing failed");
            OAuthError::new(ErrorCode::ServerError, "signing failed")
        })?;
        response.id_token = Some(signed);
    }
    Ok((response, record))
}

/// Why a grant's tokens were revoked, and by whom, for the audit log.
pub(super) struct FamilyRevocation<'a> {
    /// `client:<id>` when the client asked (RFC 7009), `server` when a replay was detected.
    pub actor: String,
    pub peer: PeerAddr,
    /// `client_request`, `code_replay` or `refresh_token_replay`.
    pub reason: &'a str,
}

/// Revokes every token of a grant, forgets them in this instance's introspection cache and
/// audits the revocation; returns how many access tokens were revoked. An audit entry that
/// cannot be written is a 503 like the revocation itself: the caller's retry finds the grant
/// already revoked, and the log says why it failed.
pub(super) async fn revoke_family(
    state: &AppState,
    grant_id: &str,
    now: i64,
    why: FamilyRevocation<'_>,
) -> Result<usize, ErrorReply> {
    let jtis = state.store.revoke_grant(grant_id, now).await.map_err(storage)?;
    for jti in &jtis {
        state.introspection.invalidate(jti);
    }

    let acting = Acting { actor: why.actor, source_ip: why.peer.0.map(|ip| ip.to_string()) };
    let details = serde_json::json!({ "reason": why.reason, "access_tokens": jtis.len() });
    state
        .operator()
        .acting_as(acting)
        .audit("grant.revoke", format!("grant:{grant_id}"), details)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "grant revocation could not be audited");
            ErrorReply::from(OAuthError::unavailable())
        })?;
    Ok(jtis.len())
}

fn replay(peer: PeerAddr, reason: &str) -> FamilyRevocation<'_> {
    FamilyRevocation { actor: "server".into(), peer, reason }
}

fn storage(err: portcullis_core::store::StoreError) -> ErrorReply {
    tracing::error!(error = %err, "storage failed at the token endpoint");
    OAuthError::unavailable().into()
}

/// The claims of a new access token and the record that makes it revocable and introspectable.
fn access_token(
    state: &AppState,
    client_id: &str,
    grant_type: GrantType,
    decision: IssueDecision,
    grant_id: Option<&str>,
    now: i64,
) -> (AccessTokenClaims, TokenRecord) {
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
        grant_id: grant_id.map(str::to_owned),
    };
    (claims, record)
}

/// Signs an access token off the async executor.
async fn sign_access_token(
    state: &AppState,
    claims: AccessTokenClaims,
    lifetime: u32,
) -> Result<TokenResponse, ErrorReply> {
    let key = state.live.keys().current.clone();
    let scope = claims.scope.clone();
    let access_token = state.signer.sign(key, claims).await.map_err(signing_failed)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope,
        refresh_token: None,
        id_token: None,
    })
}

/// A client_credentials token: signed while its record joins the next group commit, and handed
/// out only when both are done. A failed record means no token is handed out (503).
async fn issue_service_token(
    state: &AppState,
    client_id: &str,
    decision: IssueDecision,
    now: i64,
) -> Result<TokenResponse, ErrorReply> {
    let lifetime = decision.lifetime;
    let (claims, record) =
        access_token(state, client_id, GrantType::ClientCredentials, decision, None, now);
    let (signed, recorded) =
        tokio::join!(sign_access_token(state, claims, lifetime), state.tokens.record(record));
    recorded.map_err(|err| {
        tracing::error!(error = %err, "could not record an issued token");
        ErrorReply::from(OAuthError::unavailable())
    })?;
    signed
}

fn signing_failed(err: impl std::fmt::Display) -> ErrorReply {
    tracing::error!(error = %err, "signing failed");
    OAuthError::new(ErrorCode::ServerError, "signing failed").into()
}
