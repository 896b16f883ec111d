//! The authorization endpoint and the end-user pages around it: sign-in, consent, the account
//! page and RP-initiated logout (RFC 6749 §4.1, OpenID Connect Core §3.1.2, RP-Initiated
//! Logout 1.0).
//!
//! A validated authorization request waits in the browser session while the user signs in and
//! consents; every form carries the session's CSRF token; pages that take decisions cannot be
//! framed. Nothing here trusts the client or its redirect URI before `authorize::validate` has.

use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_app::pages::{render_document, ConsentLine, Page, ScopeLine};
use portcullis_core::authorize::{
    validate, AuthorizationRedirect, AuthorizeParams, AuthorizeRejection,
};
use portcullis_core::client::{Client, ClientPermission, ClientStatus, ClientType};
use portcullis_core::error::{ErrorCode, OAuthError};
use portcullis_core::scope::ScopeSet;
use portcullis_core::secret::{hashes_equal, random_id, Secret, SecretKind};
use portcullis_core::store::{CodeRecord, ConsentStore, GrantStore, UserStore};
use portcullis_core::user::{User, UserStatus};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::form::{Form, FormBody};
use super::{AppState, PeerAddr};
use crate::clock::unix_now;
use crate::login_throttle::LoginThrottle;
use crate::service::{verify_off_executor, Acting};

/// Version of the consent text; recorded with every decision.
pub const CONSENT_VERSION: &str = "consent-2026-12";

const SESSION_USER: &str = "user";
const SESSION_CSRF: &str = "csrf";
const SESSION_PENDING: &str = "pending";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionUser {
    user_id: String,
    auth_time: i64,
}

/// An authorization request waiting for sign-in or consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    /// Random id the consent form carries back, so a decision made on one request's page can
    /// never apply to another request started meanwhile in the same session (SECURITY.md H-05).
    request_id: String,
    client_id: String,
    redirect_uri: String,
    scopes: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    prompt_none: bool,
    prompt_consent: bool,
    /// `prompt=login`: a sign-in must happen during this request, whatever the session says.
    force_login: bool,
    /// The user an `id_token_hint` names (empty when the hint was not one of our ID tokens):
    /// a session of anyone else does not count as signed in (SECURITY.md F-09).
    hinted_user: Option<String>,
    max_age: Option<u64>,
}

impl Pending {
    fn error(&self, issuer: &str, error: OAuthError) -> Response {
        let redirect =
            AuthorizationRedirect::error(&self.redirect_uri, &error, self.state.as_deref(), issuer);
        see_other(&redirect.location())
    }
}

/// `GET /oauth2/authorize`.
pub async fn authorize_get(
    State(state): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    let params = params_of(query.as_deref().unwrap_or_default().as_bytes());
    authorize(&state, &session, &params).await
}

/// `POST /oauth2/authorize` (OpenID Connect Core §3.1.2.1: form-encoded, like GET).
pub async fn authorize_post(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return message(StatusCode::BAD_REQUEST, "Bad request", "Send the form url-encoded.");
    }
    authorize(&state, &session, &params_of(&body)).await
}

fn params_of(bytes: &[u8]) -> AuthorizeParams {
    AuthorizeParams::from_pairs(
        form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())),
    )
}

async fn authorize(state: &AppState, session: &Session, params: &AuthorizeParams) -> Response {
    let client = state.live.client(params.get("client_id").unwrap_or_default());
    let registry = state.live.registry();
    match validate(params, client.as_deref(), &registry, &state.config.issuer) {
        Err(AuthorizeRejection::ErrorPage(text)) => {
            tracing::info!(outcome = "error_page", "authorization refused");
            message(StatusCode::BAD_REQUEST, "This request cannot continue", &text)
        }
        Err(AuthorizeRejection::Redirect(redirect)) => {
            tracing::info!(outcome = redirect.error_code(), "authorization refused");
            see_other(&redirect.location())
        }
        Ok(request) => {
            let pending = Pending {
                request_id: random_id(),
                client_id: request.client_id,
                redirect_uri: request.redirect_uri,
                scopes: request.scopes.to_wire(),
                state: request.state,
                nonce: request.nonce,
                code_challenge: request.code_challenge.as_str().to_owned(),
                prompt_none: request.prompt.none,
                prompt_consent: request.prompt.consent,
                force_login: request.prompt.login,
                hinted_user: params.get("id_token_hint").map(|hint| {
                    let keys = state.live.keys();
                    keys.verification
                        .id_token_hint(hint, &state.config.issuer)
                        .map(|hint| hint.user_id)
                        .unwrap_or_default()
                }),
                max_age: request.max_age,
            };
            proceed(state, session, pending).await
        }
    }
}

/// Moves a validated request on: to sign-in, to consent, or back to the client with a code.
async fn proceed(state: &AppState, session: &Session, pending: Pending) -> Response {
    let issuer = &state.config.issuer;
    let Some(client) =
        state.live.client(&pending.client_id).filter(|c| c.status == ClientStatus::Active)
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "This request cannot continue",
            "The application is no longer available.",
        );
    };
    let now = unix_now();

    let signed_in = match current_user(state, session).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let fresh_enough = |u: &SessionUser| {
        pending
            .max_age
            .is_none_or(|max| now - u.auth_time <= i64::try_from(max).unwrap_or(i64::MAX))
    };
    let hint_matches =
        |s: &SessionUser| pending.hinted_user.as_ref().is_none_or(|hinted| *hinted == s.user_id);
    let Some((user, session_user)) =
        signed_in.filter(|(_, s)| !pending.force_login && fresh_enough(s) && hint_matches(s))
    else {
        if pending.prompt_none {
            return pending
                .error(issuer, OAuthError::new(ErrorCode::LoginRequired, "the user must sign in"));
        }
        return wait_for(session, &pending, "/login").await;
    };

    let scopes = ScopeSet::parse_list(&pending.scopes).unwrap_or_default();
    // A public client's identity is not proven (anyone can send its client_id), so a
    // remembered consent is not reused for it: its users decide every time (SECURITY.md H-16,
    // RFC 6749 §10.2). Only an admin's skip-consent overrides that.
    let consented = if client.has_permission(ClientPermission::SkipConsent) {
        true
    } else if pending.prompt_consent || client.client_type == ClientType::Public {
        false
    } else {
        match state.store.remembered_consent(&user.id, client.id.as_str()).await {
            Ok(remembered) => remembered
                .and_then(|s| ScopeSet::parse_list(&s).ok())
                .is_some_and(|remembered| scopes.is_subset(&remembered)),
            Err(err) => {
                tracing::error!(error = %err, "consent lookup failed");
                return unavailable();
            }
        }
    };
    if !consented {
        if pending.prompt_none {
            return pending.error(
                issuer,
                OAuthError::new(ErrorCode::ConsentRequired, "the user must consent"),
            );
        }
        return wait_for(session, &pending, "/consent").await;
    }
    issue_code(state, session, &client, &pending, &user, session_user.auth_time).await
}

async fn wait_for(session: &Session, pending: &Pending, page: &str) -> Response {
    if session.insert(SESSION_PENDING, pending).await.is_err() {
        return unavailable();
    }
    see_other(page)
}

async fn issue_code(
    state: &AppState,
    session: &Session,
    client: &Client,
    pending: &Pending,
    user: &User,
    auth_time: i64,
) -> Response {
    let now = unix_now();
    let code = Secret::generate(SecretKind::AuthorizationCode);
    let record = CodeRecord {
        code_hash: state.hasher.hash(code.expose()),
        grant_id: random_id(),
        client_id: client.id.to_string(),
        user_id: user.id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        scopes: pending.scopes.clone(),
        code_challenge: pending.code_challenge.clone(),
        nonce: pending.nonce.clone(),
        auth_time,
        expires_at: now + i64::from(state.config.authorization_code_lifetime),
    };
    if let Err(err) = state.store.insert_code(&record).await {
        tracing::error!(error = %err, "could not store an authorization code");
        return unavailable();
    }
    let _ = session.remove::<Pending>(SESSION_PENDING).await;
    tracing::info!(client_id = %client.id, outcome = "code_issued", "authorization");
    let redirect = AuthorizationRedirect::success(
        &pending.redirect_uri,
        code.expose(),
        pending.state.as_deref(),
        &state.config.issuer,
    );
    see_other(&redirect.location())
}

/// The signed-in, still active user of this session, if any.
async fn current_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<(User, SessionUser)>, Response> {
    let Ok(Some(session_user)) = session.get::<SessionUser>(SESSION_USER).await else {
        return Ok(None);
    };
    match state.store.get_user(&session_user.user_id).await {
        Ok(Some(user)) if user.status == UserStatus::Active => Ok(Some((user, session_user))),
        Ok(_) => Ok(None),
        Err(err) => {
            tracing::error!(error = %err, "user lookup failed");
            Err(unavailable())
        }
    }
}

/// The session's CSRF token, created on first use.
async fn csrf_token(session: &Session) -> Option<String> {
    if let Ok(Some(token)) = session.get::<String>(SESSION_CSRF).await {
        return Some(token);
    }
    let token = random_id();
    session.insert(SESSION_CSRF, &token).await.ok()?;
    Some(token)
}

async fn csrf_ok(session: &Session, form: &Form) -> bool {
    let Ok(Some(expected)) = session.get::<String>(SESSION_CSRF).await else { return false };
    form.get("csrf").is_some_and(|sent| hashes_equal(sent.as_bytes(), expected.as_bytes()))
}

#[derive(Deserialize)]
pub struct LoginQuery {
    error: Option<String>,
}

/// `GET /login`.
pub async fn login_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> Response {
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let pending = session.get::<Pending>(SESSION_PENDING).await.ok().flatten();
    let client_name = pending.and_then(|p| state.live.client(&p.client_id)).map(|c| c.name.clone());
    let error = query.error.as_deref().map(|e| super::portal::sign_in_error(e, "username"));
    page("Sign in", Page::Login { client_name, csrf, error, username: String::new() })
}

/// `POST /login`: checks the CSRF token, the throttles, then the password (argon2id, off the
/// executor). Success rotates the session id before anything is stored in it.
pub async fn login_submit(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let Ok(form) = Form::parse(&headers, &body) else {
        return see_other("/login?error=invalid");
    };
    if !csrf_ok(&session, &form).await {
        return see_other("/login?error=expired");
    }
    let username = form.get("username").unwrap_or_default().trim().to_ascii_lowercase();
    let password = form.get("password").unwrap_or_default().to_owned();

    let throttle = LoginThrottle::new(&state.store);
    let keys = [format!("user:{username}"), format!("ip:{peer}")];
    let attempt = match throttle.begin(&keys, unix_now()).await {
        Ok(attempt) if attempt.allowed => attempt,
        Ok(_) => {
            tracing::info!(outcome = "locked", "sign-in refused");
            return see_other("/login?error=locked");
        }
        Err(err) => {
            tracing::error!(error = %err, "sign-in throttle unavailable");
            return unavailable();
        }
    };

    let user = match state.store.find_user(&username).await {
        Ok(user) => user,
        Err(err) => {
            tracing::error!(error = %err, "user lookup failed");
            return unavailable();
        }
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = verify_off_executor(password, stored).await;
    let user = user.filter(|u| password_ok && u.status == UserStatus::Active);
    let Some(user) = user else {
        if let Err(err) = throttle.failed(&keys, unix_now()).await {
            tracing::error!(error = %err, "could not count a failed sign-in");
        }
        tracing::info!(outcome = "bad_credentials", "sign-in refused");
        return see_other("/login?error=invalid");
    };
    if let Err(err) = throttle.succeeded(&attempt, &keys[0], &keys[1]).await {
        tracing::warn!(error = %err, "could not clear sign-in failures");
    }

    // A new session id at the privilege change (session fixation, RFC 9700 §4.7 context).
    if session.cycle_id().await.is_err() {
        return unavailable();
    }
    let signed_in = SessionUser { user_id: user.id.clone(), auth_time: unix_now() };
    if session.insert(SESSION_USER, &signed_in).await.is_err() {
        return unavailable();
    }
    let _ = session.insert(SESSION_CSRF, random_id()).await;
    tracing::info!(outcome = "signed_in", "sign-in");

    match session.get::<Pending>(SESSION_PENDING).await.ok().flatten() {
        Some(mut pending) => {
            // The user just signed in on purpose: that answers prompt=login and any hint.
            pending.force_login = false;
            pending.hinted_user = None;
            proceed(&state, &session, pending).await
        }
        None => see_other("/account"),
    }
}

/// `GET /consent`.
pub async fn consent_page(State(state): State<AppState>, session: Session) -> Response {
    let Some(pending) = session.get::<Pending>(SESSION_PENDING).await.ok().flatten() else {
        return message(
            StatusCode::BAD_REQUEST,
            "Nothing to approve",
            "There is no request waiting for your consent.",
        );
    };
    let user = match current_user(&state, &session).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return see_other("/login"),
        Err(response) => return response,
    };
    let Some(client) = state.live.client(&pending.client_id) else {
        return message(
            StatusCode::BAD_REQUEST,
            "This request cannot continue",
            "The application is no longer available.",
        );
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let registry = state.live.registry();
    let requested = ScopeSet::parse_list(&pending.scopes).unwrap_or_default();
    let scopes: Vec<ScopeLine> = requested
        .iter()
        .filter_map(|name| registry.get(name))
        .map(|def| ScopeLine {
            name: def.name.to_string(),
            description: def.description.clone(),
            includes: def
                .includes
                .iter()
                .filter_map(|i| registry.get(i))
                .map(|i| i.description.clone())
                .collect(),
        })
        .collect();
    let client_name = client.name.clone();
    let request = pending.request_id.clone();
    page(
        "Allow access",
        Page::Consent { client_name, username: user.username, scopes, csrf, request },
    )
}

/// `POST /consent`: Allow records and remembers the consent and issues the code; Deny answers
/// `access_denied`. Both decisions are recorded with the consent text's version.
pub async fn consent_submit(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let Ok(form) = Form::parse(&headers, &body) else {
        return message(StatusCode::BAD_REQUEST, "Bad request", "The form could not be read.");
    };
    if !csrf_ok(&session, &form).await {
        return message(
            StatusCode::FORBIDDEN,
            "Request expired",
            "Reload the page and decide again.",
        );
    }
    let Some(pending) = session.get::<Pending>(SESSION_PENDING).await.ok().flatten() else {
        return message(
            StatusCode::BAD_REQUEST,
            "Nothing to approve",
            "There is no request waiting for your consent.",
        );
    };
    if form.get("request") != Some(pending.request_id.as_str()) {
        return message(
            StatusCode::BAD_REQUEST,
            "This request changed",
            "Another sign-in was started in this browser. Return to the application and try again.",
        );
    }
    // The form is spent: a replay of it fails the CSRF check (SECURITY.md H-24).
    if session.insert(SESSION_CSRF, random_id()).await.is_err() {
        return unavailable();
    }
    let (user, session_user) = match current_user(&state, &session).await {
        Ok(Some(found)) => found,
        Ok(None) => return see_other("/login"),
        Err(response) => return response,
    };
    let Some(client) =
        state.live.client(&pending.client_id).filter(|c| c.status == ClientStatus::Active)
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "This request cannot continue",
            "The application is no longer available.",
        );
    };
    let allowed = form.get("decision") == Some("allow");
    let recorded = state
        .store
        .record_consent(
            &user.id,
            client.id.as_str(),
            &pending.scopes,
            allowed,
            CONSENT_VERSION,
            unix_now(),
        )
        .await;
    if let Err(err) = recorded {
        tracing::error!(error = %err, "could not record a consent decision");
        return unavailable();
    }
    let operator = state.operator().acting_as(Acting {
        actor: format!("user:{}", user.username),
        source_ip: Some(peer.to_string()),
    });
    let action = if allowed { "consent.allow" } else { "consent.deny" };
    let details = serde_json::json!({
        "client_id": client.id,
        "scopes": pending.scopes,
        "consent_version": CONSENT_VERSION,
    });
    if let Err(err) = operator.audit(action, format!("user:{}", user.username), details).await {
        tracing::error!(error = %err, "could not audit a consent decision");
        return unavailable();
    }
    tracing::info!(client_id = %client.id, allowed, "consent decision");
    if !allowed {
        let _ = session.remove::<Pending>(SESSION_PENDING).await;
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return pending.error(&state.config.issuer, denied);
    }
    issue_code(&state, &session, &client, &pending, &user, session_user.auth_time).await
}

/// `GET /account`: the signed-in user's remembered consents.
pub async fn account_page(State(state): State<AppState>, session: Session) -> Response {
    let user = match current_user(&state, &session).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return see_other("/login"),
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let consents = match state.store.list_consents(&user.id).await {
        Ok(consents) => consents,
        Err(err) => {
            tracing::error!(error = %err, "consent listing failed");
            return unavailable();
        }
    };
    let consents: Vec<ConsentLine> = consents
        .into_iter()
        .map(|(client_id, scopes, _)| ConsentLine {
            client_name: state
                .live
                .client(&client_id)
                .map_or_else(|| client_id.clone(), |c| c.name.clone()),
            client_id,
            scopes,
        })
        .collect();
    page("Your account", Page::Account { username: user.username, consents, csrf })
}

/// `POST /account/consents/revoke`.
pub async fn revoke_consent(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let Ok(form) = Form::parse(&headers, &body) else { return see_other("/account") };
    if !csrf_ok(&session, &form).await {
        return message(StatusCode::FORBIDDEN, "Request expired", "Reload the page and try again.");
    }
    let user = match current_user(&state, &session).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return see_other("/login"),
        Err(response) => return response,
    };
    // Withdrawing consent also ends what it granted: every refresh and access token the client
    // holds for this user (SECURITY.md D-10, H-26). Failing any step fails the request.
    let client_id = form.get("client_id").unwrap_or_default();
    let operator = state.operator().acting_as(Acting {
        actor: format!("user:{}", user.username),
        source_ip: Some(peer.to_string()),
    });
    match operator.withdraw_consent(&user, client_id).await {
        Ok(jtis) => {
            for jti in &jtis {
                state.introspection.invalidate(jti);
            }
            tracing::info!(client_id, revoked = jtis.len(), "consent withdrawn");
        }
        Err(err) => {
            tracing::error!(error = %err, "could not withdraw a consent");
            return unavailable();
        }
    }
    see_other("/account")
}

#[derive(Deserialize)]
pub struct LogoutQuery {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /oauth2/logout` (RP-Initiated Logout 1.0 §2): ends the session. It redirects only to a
/// `post_logout_redirect_uri` registered by the client the `id_token_hint` was issued to.
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LogoutQuery>,
) -> Response {
    let hinted_client = query.id_token_hint.as_deref().and_then(|hint| {
        let keys = state.live.keys();
        keys.verification.id_token_hint(hint, &state.config.issuer).map(|hint| hint.client_id)
    });
    let _ = session.flush().await;
    tracing::info!(outcome = "signed_out", "logout");

    let target =
        match (hinted_client.and_then(|id| state.live.client(&id)), query.post_logout_redirect_uri)
        {
            (Some(client), Some(uri))
                if client.post_logout_redirect_uris.iter().any(|r| r.as_str() == uri) =>
            {
                Some(uri)
            }
            _ => None,
        };
    match target {
        Some(mut uri) => {
            if let Some(value) = query.state {
                uri.push(if uri.contains('?') { '&' } else { '?' });
                uri.push_str("state=");
                uri.extend(form_urlencoded::byte_serialize(value.as_bytes()));
            }
            see_other(&uri)
        }
        None => message(StatusCode::OK, "Signed out", "You are signed out of Portcullis."),
    }
}

pub(super) fn page(title: &'static str, page: Page) -> Response {
    html(StatusCode::OK, render_document(title, page))
}

pub(super) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let page = Page::Message { title: title.to_owned(), message: text.to_owned() };
    html(status, render_document(title, page))
}

pub(super) fn unavailable() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "Portcullis cannot complete this right now. Please try again in a moment.",
    )
}

/// What end-user pages may load: their own scripts, styles and the wasm bundle, nothing inline
/// and nothing from elsewhere; no plugins, no `<base>`, no framing (SECURITY.md H-13, H-14).
/// `wasm-unsafe-eval` lets the bundle be compiled; it allows no JavaScript eval.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// HTML with the headers every end-user page carries: no framing (clickjacking), no referrer
/// (codes and state never leak), no caching.
///
/// There is deliberately no `form-action` directive: browsers apply it to every redirect that
/// follows a form post, and the sign-in and consent posts end in a redirect to the client's
/// registered redirect URI, which is another origin. Those URIs are checked byte for byte before
/// any page is shown, so the directive would add nothing but a broken flow.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 303 (RFC 9700 §4.11: never 307 after a POST carrying credentials).
pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
