//! The closed catalogue of OAuth error codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
//! RFC 7009 §2.2.1) and the error value every endpoint returns.
//!
//! Each code fixes its wire name and HTTP status. Call sites add a client-safe description; an
//! optional internal detail is logged by the server and never sent.

use std::borrow::Cow;

/// An OAuth error code. The wire spelling is [`ErrorCode::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §5.2: missing, repeated or malformed parameter.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed (unknown client, bad secret, wrong method).
    InvalidClient,
    /// RFC 6749 §5.2: the grant (code, refresh token) is invalid, expired, revoked or foreign.
    InvalidGrant,
    /// RFC 6749 §5.2: the client may not use this grant type.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the server does not support this grant type.
    UnsupportedGrantType,
    /// RFC 6749 §5.2: the scope is missing, unknown or exceeds what the client may get.
    InvalidScope,
    /// RFC 6749 §4.1.2.1: the resource owner or server denied the request.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: the response type is not supported (only `code` is).
    UnsupportedResponseType,
    /// RFC 7009 §2.2.1: revocation of this token type is not supported.
    UnsupportedTokenType,
    /// RFC 6750 §3.1: the bearer token is missing, expired, revoked or malformed.
    InvalidToken,
    /// RFC 6750 §3.1: the bearer token lacks a scope the resource needs.
    InsufficientScope,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` but the user must sign in.
    LoginRequired,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` but the user must consent.
    ConsentRequired,
    /// OpenID Connect Core §3.1.2.6: request objects are not supported.
    RequestNotSupported,
    /// OpenID Connect Core §3.1.2.6: `request_uri` is not supported (nothing is fetched).
    RequestUriNotSupported,
    /// RFC 6749 §4.1.2.1: an unexpected condition; details stay in the server log.
    ServerError,
    /// RFC 6749 §4.1.2.1: the server cannot answer now (storage unavailable); retry later.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The `error` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status this code is answered with at a JSON endpoint.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error answer: a catalogue code plus a description safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Client-visible text. Kept within the RFC 6749 §5.2 character set by [`OAuthError::new`].
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        let description = sanitize_description(description.into());
        Self { code, description }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// One indistinguishable answer for every client authentication failure, so the response
    /// never tells an attacker whether the client exists (SECURITY.md E-03).
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "storage is unavailable; retry the request later",
        )
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// RFC 6749 §5.2 limits `error_description` to %x20-21 / %x23-5B / %x5D-7E. Anything else
/// (quotes, backslashes, control characters, non-ASCII) is replaced so that echoing user input
/// can never break the JSON or a header.
fn sanitize_description(text: Cow<'static, str>) -> Cow<'static, str> {
    let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if text.chars().all(allowed) {
        return text;
    }
    Cow::Owned(text.chars().map(|c| if allowed(c) { c } else { '?' }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_stay_in_the_rfc_character_set() {
        let err = OAuthError::invalid_request("bad \"value\"\r\n\\ é");
        assert_eq!(err.description, "bad ?value???? ?");
    }

    #[test]
    fn client_authentication_failures_are_401() {
        assert_eq!(OAuthError::invalid_client().code.http_status(), 401);
        assert_eq!(OAuthError::unavailable().code.http_status(), 503);
    }
}
