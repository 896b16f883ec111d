//! Registered redirect URIs: validated at registration, then matched byte for byte.
//!
//! RFC 9700 §2.1 and §4.1.3 require exact string matching; the one exception is the port of a
//! loopback redirect URI, which native apps pick at run time (RFC 8252 §7.3). The registered text
//! is kept as written: normalising URLs before comparing them is how open redirects happen.

use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// Longest redirect URI accepted at registration.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("redirect URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} has a fragment; RFC 6749 §3.1.2 forbids one")]
    Fragment(String),
    #[error("redirect URI {0:?} must use https (http is allowed only for 127.0.0.1 or [::1])")]
    NotHttps(String),
    #[error("redirect URI {0:?} contains whitespace, control or non-ASCII characters")]
    BadCharacters(String),
    #[error("redirect URI {0:?} must not carry user information")]
    UserInfo(String),
    #[error("redirect URI is longer than {MAX_REDIRECT_URI_LEN} bytes")]
    TooLong,
    #[error("redirect URI {0:?} has a wildcard; every redirect URI is registered exactly")]
    Wildcard(String),
    #[error(
        "redirect URI {0:?} carries {1:?} in its query, which the authorization response sets"
    )]
    ReservedParameter(String, String),
    #[error(
        "redirect URI {0:?}: a private-use scheme must be a reversed domain name with a dot, \
         like com.example.app:/cb (RFC 8252 §7.1)"
    )]
    PrivateScheme(String),
}

/// Query parameters the authorization response adds (RFC 6749 §4.1.2, RFC 9207): a redirect
/// URI that already carries one would hand the client two values to choose from.
const RESPONSE_PARAMETERS: [&str; 6] =
    ["code", "state", "error", "error_description", "error_uri", "iss"];

/// A native app's private-use scheme redirect (RFC 8252 §7.1): a reversed domain name it
/// controls as the scheme (`com.example.app`), no authority, an absolute path.
fn private_use(text: &str, url: &Url) -> Result<RedirectUri, RedirectUriError> {
    let scheme = url.scheme();
    let rest = &text[scheme.len() + 1..];
    let reversed_domain = scheme.contains('.') && !scheme.starts_with("javascript");
    if !reversed_domain || !rest.starts_with('/') || rest.starts_with("//") {
        return Err(RedirectUriError::PrivateScheme(text.into()));
    }
    Ok(RedirectUri(text.to_owned()))
}

impl RedirectUri {
    pub fn parse(text: &str) -> Result<Self, RedirectUriError> {
        if text.len() > MAX_REDIRECT_URI_LEN {
            return Err(RedirectUriError::TooLong);
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RedirectUriError::BadCharacters(text.into()));
        }
        let url = Url::parse(text).map_err(|_| RedirectUriError::NotAbsolute(text.into()))?;
        if url.fragment().is_some() || text.contains('#') {
            return Err(RedirectUriError::Fragment(text.into()));
        }
        if text.contains('*') {
            return Err(RedirectUriError::Wildcard(text.into()));
        }
        if let Some((name, _)) =
            url.query_pairs().find(|(name, _)| RESPONSE_PARAMETERS.contains(&name.as_ref()))
        {
            return Err(RedirectUriError::ReservedParameter(text.into(), name.into_owned()));
        }
        if !matches!(url.scheme(), "http" | "https") {
            return private_use(text, &url);
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(RedirectUriError::NotAbsolute(text.into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::UserInfo(text.into()));
        }
        if url.scheme() == "http" && !is_loopback(&url) {
            return Err(RedirectUriError::NotHttps(text.into()));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a redirect_uri sent in a request matches this registered one: byte for byte, or,
    /// for a loopback URI, equal in everything but the port (RFC 8252 §7.3).
    pub fn matches(&self, requested: &str) -> bool {
        if self.0 == requested {
            return true;
        }
        let (Ok(registered), Ok(requested_url)) = (Url::parse(&self.0), Url::parse(requested))
        else {
            return false;
        };
        if !is_loopback(&registered) || registered.scheme() != "http" {
            return false;
        }
        // Compare the requested text with the registered text carrying the requested port, so
        // that nothing but the port may differ, byte for byte.
        let mut with_port = registered.clone();
        if with_port.set_port(requested_url.port()).is_err() {
            return false;
        }
        requested_url.host() == registered.host()
            && strip_port_text(&self.0) == strip_port_text(requested)
            && with_port.as_str() == requested_url.as_str()
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = RedirectUriError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RedirectUri> for String {
    fn from(value: RedirectUri) -> Self {
        value.0
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// The URI text with the `:port` after the authority removed, for the loopback comparison.
fn strip_port_text(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else { return text.to_owned() };
    let authority_start = scheme_end + 3;
    let rest = &text[authority_start..];
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let host = match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => &authority[..colon],
        _ => authority,
    };
    format!("{}{}{}", &text[..authority_start], host, &rest[authority_len..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        for ok in [
            "https://c1.example/cb",
            "https://c1.example/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "com.example.app:/cb",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/cb",
            "c1.example/cb",
            "https://c1.example/cb#frag",
            "http://c1.example/cb",
            "http://localhost/cb",
            "https://c1.example/c b",
            "https://user:pw@c1.example/cb",
            "https://c1.example/cb\0.evil",
            "javascript:alert(1)",
            "https://с1.example/cb",
            // SECURITY.md I-08.
            "https://*.c1.example/cb",
            "https://c1.example/cb?code=1",
            "https://c1.example/cb?x=1&state=2",
            "myapp:/cb",
            "com.example.app://host/cb",
            "javascript:alert(1)//x",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_is_exact() {
        let uri = RedirectUri::parse("https://c1.example/cb").unwrap();
        assert!(uri.matches("https://c1.example/cb"));
        for other in [
            "https://c1.example/cb/",
            "https://C1.example/cb",
            "https://c1.example/cb?x=1",
            "https://c1.example/CB",
            "https://c1.example:443/cb",
            "https://c1.example/cb%00.evil.example",
            "https://c1.example.evil/cb",
        ] {
            assert!(!uri.matches(other), "{other}");
        }
    }

    #[test]
    fn loopback_may_differ_only_in_port() {
        let uri = RedirectUri::parse("http://127.0.0.1/cb").unwrap();
        assert!(uri.matches("http://127.0.0.1:51234/cb"));
        assert!(!uri.matches("http://127.0.0.1:51234/cb2"));
        assert!(!uri.matches("http://127.0.0.2:51234/cb"));
        assert!(!uri.matches("http://localhost:51234/cb"));
        let v6 = RedirectUri::parse("http://[::1]/cb").unwrap();
        assert!(v6.matches("http://[::1]:9000/cb"));
    }
}
