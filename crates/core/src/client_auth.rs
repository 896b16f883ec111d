//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, §3.2.1).
//!
//! A client authenticates only the way it registered: a `client_secret_basic` client that sends
//! its secret in the body is refused, a public client that sends any secret is refused, and no
//! second method is ever tried after the first fails. Every failure looks the same on the wire.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::client::{Client, ClientId, ClientStatus, TokenAuthMethod};
use crate::error::OAuthError;
use crate::secret::{Secret, SecretHasher};
use crate::UnixTime;

/// Longest Authorization header value considered; longer ones fail without decoding.
const MAX_AUTHORIZATION_LEN: usize = 1024;

/// The credentials a request carried, before any lookup.
#[derive(Debug)]
pub enum PresentedCredentials {
    /// `Authorization: Basic` (client_secret_basic).
    Basic { client_id: String, secret: Secret },
    /// `client_id` and `client_secret` in the form body (client_secret_post).
    Post { client_id: String, secret: Secret },
    /// Only `client_id` in the body: a public client (`none`).
    ClientIdOnly { client_id: String },
}

impl PresentedCredentials {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::ClientIdOnly { client_id } => client_id,
        }
    }

    fn method(&self) -> TokenAuthMethod {
        match self {
            Self::Basic { .. } => TokenAuthMethod::ClientSecretBasic,
            Self::Post { .. } => TokenAuthMethod::ClientSecretPost,
            Self::ClientIdOnly { .. } => TokenAuthMethod::None,
        }
    }

    pub fn used_authorization_header(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

/// Why authentication failed: for logs and metrics only, never for the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingCredentials,
    MalformedHeader,
    UnknownClient,
    NotActive,
    WrongMethod,
    BadSecret,
}

impl AuthFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::MalformedHeader => "malformed_header",
            Self::UnknownClient => "unknown_client",
            Self::NotActive => "client_not_active",
            Self::WrongMethod => "wrong_auth_method",
            Self::BadSecret => "bad_secret",
        }
    }
}

/// A failed authentication: the reason, and whether the answer needs `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthError {
    pub reason: AuthFailure,
    pub header_used: bool,
}

/// Extracts credentials from the Authorization header value (if any) and the form's `client_id`
/// and `client_secret` (if any).
///
/// Using both the header and a body secret is `invalid_request` (RFC 6749 §2.3: one method per
/// request). An empty `client_secret` counts as absent (SECURITY.md E-07).
pub fn extract(
    authorization: Option<&[u8]>,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<Result<PresentedCredentials, AuthError>, OAuthError> {
    let body_secret = body_secret.filter(|s| !s.is_empty());

    if let Some(header) = authorization {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method: the Authorization header or client_secret",
            ));
        }
        let malformed = AuthError { reason: AuthFailure::MalformedHeader, header_used: true };
        let Some((client_id, secret)) = parse_basic(header) else {
            return Ok(Err(malformed));
        };
        if body_client_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body does not match the Authorization header",
            ));
        }
        return Ok(Ok(PresentedCredentials::Basic { client_id, secret }));
    }

    let missing = AuthError { reason: AuthFailure::MissingCredentials, header_used: false };
    Ok(match (body_client_id.filter(|id| !id.is_empty()), body_secret) {
        (Some(id), Some(secret)) => Ok(PresentedCredentials::Post {
            client_id: id.to_owned(),
            secret: Secret::new(secret.to_owned()),
        }),
        (Some(id), None) => Ok(PresentedCredentials::ClientIdOnly { client_id: id.to_owned() }),
        (None, _) => Err(missing),
    })
}

/// Decodes `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(header: &[u8]) -> Option<(String, Secret)> {
    if header.len() > MAX_AUTHORIZATION_LEN {
        return None;
    }
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = form_decode(id)?;
    let secret = form_decode(secret)?;
    if id.is_empty() || secret.is_empty() {
        return None;
    }
    Some((id, Secret::new(secret)))
}

/// application/x-www-form-urlencoded decoding of one value ('+' is a space). `None` when an
/// escape is malformed or the bytes are not UTF-8.
pub fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Authenticates presented credentials against the registered client (if it exists).
///
/// Exactly one keyed-hash comparison runs on every path that reaches a secret check, including
/// the unknown-client path, so response time does not reveal whether a client exists.
pub fn authenticate<'c>(
    client: Option<&'c Client>,
    presented: &PresentedCredentials,
    hasher: &SecretHasher,
    now: UnixTime,
) -> Result<(&'c Client, SecretUsed), AuthError> {
    let header_used = presented.used_authorization_header();
    let fail = |reason| AuthError { reason, header_used };

    let presented_secret = match presented {
        PresentedCredentials::Basic { secret, .. } | PresentedCredentials::Post { secret, .. } => {
            Some(secret.expose())
        }
        PresentedCredentials::ClientIdOnly { .. } => None,
    };
    let stored_hash = client.and_then(|c| c.secret_hash.as_deref());
    // The previous secret is compared too, always (against a dummy when there is none in its
    // overlap), so the work done does not reveal whether an overlap is running.
    let previous_hash = client
        .and_then(|c| c.previous_secret.as_ref())
        .filter(|p| p.valid_until > now)
        .map(|p| p.hash.as_slice());
    let (current_ok, previous_ok) = match presented_secret {
        Some(secret) => (
            hasher.verify(secret, stored_hash.unwrap_or(&[0u8; 32])),
            hasher.verify(secret, previous_hash.unwrap_or(&[0u8; 32])) && previous_hash.is_some(),
        ),
        None => (false, false),
    };
    let secret_ok = current_ok || previous_ok;

    let Some(client) = client else { return Err(fail(AuthFailure::UnknownClient)) };
    if ClientId::parse(presented.client_id()).as_ref() != Some(&client.id) {
        return Err(fail(AuthFailure::UnknownClient));
    }
    if client.auth_method != presented.method() {
        return Err(fail(AuthFailure::WrongMethod));
    }
    if client.status != ClientStatus::Active {
        return Err(fail(AuthFailure::NotActive));
    }
    if client.auth_method == TokenAuthMethod::None {
        return Ok((client, SecretUsed::None));
    }
    if !(secret_ok && stored_hash.is_some()) {
        return Err(fail(AuthFailure::BadSecret));
    }
    Ok((client, if current_ok { SecretUsed::Current } else { SecretUsed::Previous }))
}

/// Which secret a client authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretUsed {
    /// A public client: no secret.
    None,
    Current,
    /// The one before the last regeneration, inside its overlap: worth recording.
    Previous,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(raw)).into_bytes()
    }

    #[test]
    fn basic_values_are_form_decoded() {
        let header = basic("my%20client:a%3Ab%25c%2Bd+e");
        let creds = extract(Some(&header), None, None).unwrap().unwrap();
        let PresentedCredentials::Basic { client_id, secret } = creds else { panic!() };
        assert_eq!(client_id, "my client");
        assert_eq!(secret.expose(), "a:b%c+d e");
    }

    #[test]
    fn malformed_headers_fail_without_panicking() {
        let long = format!("Basic {}", "A".repeat(16 * 1024));
        for header in ["Basic !!!", "Basic ", "Basic Zm9v", "Bearer x", "Basic", long.as_str()] {
            let result = extract(Some(header.as_bytes()), None, None).unwrap();
            let err = result.unwrap_err();
            assert_eq!(err.reason, AuthFailure::MalformedHeader, "{header}");
            assert!(err.header_used);
        }
        let latin1 = b"Basic \xe9\xe9";
        assert!(extract(Some(latin1), None, None).unwrap().is_err());
    }

    #[test]
    fn header_and_body_secret_together_is_invalid_request() {
        let header = basic("c1:s1");
        let err = extract(Some(&header), Some("c1"), Some("s1")).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidRequest);
    }

    #[test]
    fn empty_body_secret_counts_as_absent() {
        let creds = extract(None, Some("c1"), Some("")).unwrap().unwrap();
        assert!(matches!(creds, PresentedCredentials::ClientIdOnly { .. }));
    }
}
