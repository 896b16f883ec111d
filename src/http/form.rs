//! Strict parsing of `application/x-www-form-urlencoded` request bodies for the protocol
//! endpoints (RFC 6749 §3.2, Appendix B).
//!
//! Repeated parameters are refused (RFC 6749 §3.1, §3.2: parameters MUST NOT be included more
//! than once), as are other content types and bytes that are not UTF-8. Every failure becomes an
//! `invalid_request` JSON answer, never a framework plain-text rejection.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use portcullis_core::client_auth::form_decode;
use portcullis_core::error::OAuthError;

use super::oauth_error::ErrorReply;

/// Largest protocol form body accepted, in bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The raw body of a protocol request, at most [`MAX_FORM_BYTES`]. Bodies over the limit are
/// refused with 413 before they are read in full, as an OAuth JSON error.
pub struct FormBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = ErrorReply;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state).await.map(FormBody).map_err(|rejection| {
            let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
            let (status, text) = if too_large {
                (StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large")
            } else {
                (StatusCode::BAD_REQUEST, "the request body could not be read")
            };
            ErrorReply {
                error: OAuthError::invalid_request(text),
                basic_challenge: false,
                status: Some(status),
                retry_after: None,
            }
        })
    }
}

/// A parsed form with unique parameter names.
#[derive(Debug, Default)]
pub struct Form {
    params: HashMap<String, String>,
}

impl Form {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type =
            headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        let body = std::str::from_utf8(body)
            .map_err(|_| OAuthError::invalid_request("the request body is not valid UTF-8"))?;

        let mut params = HashMap::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let malformed =
                || OAuthError::invalid_request("the request body has a malformed escape");
            let name = form_decode(name).ok_or_else(malformed)?;
            let value = form_decode(value).ok_or_else(malformed)?;
            if params.contains_key(&name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {} is repeated; send each parameter once",
                    printable(&name)
                )));
            }
            params.insert(name, value);
        }
        Ok(Self { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A required parameter; missing or empty is `invalid_request` naming it.
    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| OAuthError::invalid_request(format!("the {name} parameter is required")))
    }
}

/// A parameter name made safe to echo in an error description.
fn printable(name: &str) -> String {
    name.chars().take(40).filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn parses_and_decodes() {
        let form = Form::parse(
            &headers("application/x-www-form-urlencoded; charset=UTF-8"),
            b"a=1+2&b=%3D",
        )
        .unwrap();
        assert_eq!(form.get("a"), Some("1 2"));
        assert_eq!(form.get("b"), Some("="));
    }

    #[test]
    fn rejects_duplicates_wrong_types_and_bad_bytes() {
        let ok = headers("application/x-www-form-urlencoded");
        assert!(Form::parse(&ok, b"grant_type=a&grant_type=b").is_err());
        assert!(Form::parse(&headers("text/plain"), b"a=1").is_err());
        assert!(Form::parse(&headers("multipart/form-data"), b"a=1").is_err());
        assert!(Form::parse(&HeaderMap::new(), b"a=1").is_err());
        assert!(Form::parse(&ok, b"a=%FF%FE").is_err());
        assert!(Form::parse(&ok, b"a=%ED%A0%80").is_err());
        assert!(Form::parse(&ok, b"a=%G1").is_err());
        assert!(Form::parse(&ok, b"a=\xff").is_err());
    }

    #[test]
    fn parameter_names_are_case_sensitive() {
        let form = Form::parse(
            &headers("application/x-www-form-urlencoded"),
            b"Grant_Type=x&grant_type%20=y",
        )
        .unwrap();
        assert_eq!(form.get("grant_type"), None);
    }
}
