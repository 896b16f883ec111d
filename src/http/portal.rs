//! What the admin and developer portals share: the CSRF token kept in each portal's own
//! session, reading posted forms, the client-registration and key-request forms (checked by
//! the same rules as the CLI), and how a refused service action becomes a page.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_app::admin::{ClientForm, KeyLine, PreviousSecretLine};
use portcullis_core::api_key::{ApiKey, ApiKeyRequest};
use portcullis_core::cidr::parse_networks;
use portcullis_core::client::{parse_wire_list, Client};
use portcullis_core::scope::ScopeSet;
use portcullis_core::secret::{hashes_equal, random_id};
use tower_sessions::Session;

use super::form::Form;
use super::interaction::{message, unavailable};
use crate::clock::unix_now;
use crate::service::{NewClient, ServiceError};

/// Where a portal session keeps its CSRF token. The portals' sessions are separate (their own
/// cookie and path), so one key name serves both.
const SESSION_CSRF: &str = "csrf";

/// The session's CSRF token, made on first use.
pub async fn csrf_token(session: &Session) -> Option<String> {
    if let Ok(Some(token)) = session.get::<String>(SESSION_CSRF).await {
        return Some(token);
    }
    let token = random_id();
    session.insert(SESSION_CSRF, &token).await.ok()?;
    Some(token)
}

/// A fresh CSRF token, at sign-in: a token from before it proves nothing afterwards.
pub async fn renew_csrf(session: &Session) -> bool {
    session.insert(SESSION_CSRF, random_id()).await.is_ok()
}

pub async fn csrf_ok(session: &Session, form: &Form) -> bool {
    let Ok(Some(expected)) = session.get::<String>(SESSION_CSRF).await else { return false };
    form.get("csrf").is_some_and(|sent| hashes_equal(sent.as_bytes(), expected.as_bytes()))
}

/// Reads a posted form and checks its CSRF token; the error is the response to send.
pub async fn checked_form(
    session: &Session,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Form, Response> {
    let form = Form::parse(headers, body).map_err(|_| {
        message(StatusCode::BAD_REQUEST, "Bad request", "The form could not be read.")
    })?;
    if !csrf_ok(session, &form).await {
        return Err(message(
            StatusCode::FORBIDDEN,
            "Request expired",
            "Reload the page and try again.",
        ));
    }
    Ok(form)
}

/// The sign-in page's message for the `error` its redirect carried; `name` is what the
/// account is called on that page (email, username).
pub fn sign_in_error(code: &str, name: &str) -> String {
    match code {
        "locked" => "Too many failed attempts. Wait a few minutes and try again.".to_owned(),
        "expired" => "Your sign-in form expired. Please try again.".to_owned(),
        _ => format!("The {name} or password is not correct."),
    }
}

/// A form field parsed as a number, empty meaning absent; the error says which field.
pub fn number<T: std::str::FromStr>(form: &Form, name: &str) -> Result<Option<T>, String> {
    match form.get(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| format!("{name} must be a whole number.")),
    }
}

pub fn not_done(problem: &str) -> Response {
    message(StatusCode::BAD_REQUEST, "Not done", problem)
}

/// A refused service action as a page: what to change (400), not found (404, also for what
/// belongs to someone else), or storage trouble (503).
pub fn refusal(err: ServiceError) -> Response {
    match err {
        ServiceError::Invalid(text) => not_done(&text),
        ServiceError::NotFound(what) => {
            message(StatusCode::NOT_FOUND, "Not found", &format!("{what} does not exist."))
        }
        ServiceError::Store(err) => {
            tracing::error!(error = %err, "portal action failed in storage");
            unavailable()
        }
    }
}

/// The posted client form's values, kept verbatim for redisplay.
pub fn client_form_from(form: &Form) -> ClientForm {
    let get = |name: &str| form.get(name).unwrap_or_default().trim().to_owned();
    ClientForm {
        name: get("name"),
        client_type: get("client_type"),
        grant_types: get("grant_types"),
        scopes: get("scopes"),
        redirect_uris: get("redirect_uris"),
        post_logout_redirect_uris: get("post_logout_redirect_uris"),
        token_auth_method: get("token_auth_method"),
        id_token_signing_alg: get("id_token_signing_alg"),
        access_token_lifetime: get("access_token_lifetime"),
        refresh_token_lifetime: get("refresh_token_lifetime"),
    }
}

/// A registration from the form, with the same rules the CLI applies (nothing defaults);
/// the error is the message to show above the form.
pub fn registration_of(form: &ClientForm) -> Result<NewClient, String> {
    let required = |value: &str, what: &str| {
        if value.is_empty() {
            Err(format!("{what} is required."))
        } else {
            Ok(())
        }
    };
    required(&form.client_type, "The client type")?;
    required(&form.token_auth_method, "The token endpoint authentication method")?;
    let lifetime = |value: &str, what: &str| -> Result<i64, String> {
        value.parse().map_err(|_| format!("{what} is required, in seconds."))
    };
    let list = |value: &str| -> Vec<String> {
        value.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect()
    };
    Ok(NewClient {
        name: form.name.clone(),
        client_type: form.client_type.parse()?,
        grant_types: parse_wire_list(&form.grant_types)?,
        allowed_scopes: ScopeSet::parse_list(&form.scopes).map_err(|e| e.to_string())?,
        redirect_uris: list(&form.redirect_uris),
        post_logout_redirect_uris: list(&form.post_logout_redirect_uris),
        auth_method: form.token_auth_method.parse()?,
        id_token_signing_alg: match form.id_token_signing_alg.as_str() {
            "" => None,
            alg => Some(alg.parse()?),
        },
        access_token_lifetime: lifetime(&form.access_token_lifetime, "The access token lifetime")?,
        refresh_token_lifetime: lifetime(
            &form.refresh_token_lifetime,
            "The refresh token lifetime",
        )?,
        lifetime_policy: None,
    })
}

/// A key request from the form (name, scopes, rate limit, optional burst, allowlist and
/// expiry); the rate limit is required. The error says what to correct.
pub fn key_request_of(form: &Form) -> Result<ApiKeyRequest, String> {
    let limit = number::<i64>(form, "rate_limit_per_minute")?
        .ok_or("A key needs a rate limit per minute.")?;
    let burst = number::<i64>(form, "burst")?;
    let expires = number::<i64>(form, "expires_in_days")?;
    let scopes = ScopeSet::parse_list(form.get("scopes").unwrap_or_default())
        .map_err(|err| format!("Invalid scopes: {err}"))?;
    let allowed_ips = parse_networks(form.get("allowed_ips").unwrap_or_default())
        .map_err(|err| format!("Invalid addresses: {err}"))?;
    Ok(ApiKeyRequest {
        name: form.get("name").unwrap_or_default().to_owned(),
        scopes,
        rate_limit_per_minute: limit,
        burst,
        allowed_ips,
        expires_in_days: expires,
    })
}

/// A Unix time as UTC, `YYYY-MM-DD HH:MM:SS`.
pub fn utc(at: i64) -> String {
    let day = portcullis_core::api_key::format_day(at.div_euclid(86_400));
    let seconds = at.rem_euclid(86_400);
    format!("{day} {:02}:{:02}:{:02}", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

/// An API key as both portals list it (never its secret or hash).
pub fn key_line(key: &ApiKey) -> KeyLine {
    KeyLine {
        key_id: key.id.clone(),
        client_id: key.client_id.to_string(),
        name: key.name.clone(),
        prefix: key.key_prefix.clone(),
        status: key.status.to_string(),
        scopes: key.scopes.to_wire(),
        rate_limit_per_minute: key.rate_limit_per_minute,
        last_used: key.last_used_at.map_or_else(|| "never".to_owned(), utc),
    }
}

/// While a replaced secret still works: until when, and its last use (time, address).
pub fn previous_secret_line(client: &Client) -> Option<PreviousSecretLine> {
    client.previous_secret.as_ref().filter(|p| p.valid_until > unix_now()).map(|p| {
        PreviousSecretLine {
            valid_until: utc(p.valid_until),
            last_used: p.last_used_at.map_or_else(|| "never".to_owned(), utc),
            last_used_ip: p.last_used_ip.clone().unwrap_or_default(),
        }
    })
}
