//! JWT access tokens (RFC 9068): the claims, issuing them, and validating them once.
//!
//! Validation is strict in the ways RFC 8725 asks: the algorithm must be one we sign with and
//! must match the key named by `kid`; `typ` must be `at+jwt` (so an ID token is never accepted as
//! an access token); `jku`, `x5u` and embedded `jwk` headers are refused, never followed; the
//! issuer must match byte for byte; expired tokens are rejected.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::keys::{KeyError, PublicJwk, SigningAlgorithm, SigningKey};
use crate::UnixTime;

/// `typ` header value of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Longest token string any endpoint will parse (SECURITY.md K-16: oversize input fails closed).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// RFC 9068 §2.2 claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
}

impl AccessTokenClaims {
    pub fn sign(&self, key: &SigningKey) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(self).map_err(|_| KeyError::Corrupt("claims encoding"))?;
        key.sign_jws(ACCESS_TOKEN_TYP, &payload)
    }
}

/// Why a token was not accepted. Callers map all of these to "inactive" / `invalid_token`; the
/// reason is for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    TooLong,
    Malformed,
    WrongType,
    ForbiddenHeader,
    UnknownKey,
    BadSignature,
    WrongIssuer,
    Expired,
}

/// Who an `id_token_hint` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    pub client_id: String,
    pub user_id: String,
}

/// Public keys that verify access tokens, by `kid`: the current key and every retired key whose
/// tokens may still be alive.
#[derive(Default, Clone)]
pub struct VerificationKeys {
    keys: HashMap<String, (SigningAlgorithm, jsonwebtoken::DecodingKey)>,
}

impl VerificationKeys {
    pub fn new(jwks: &[(SigningAlgorithm, PublicJwk)]) -> Result<Self, KeyError> {
        let mut keys = HashMap::new();
        for (alg, jwk) in jwks {
            keys.insert(jwk.kid.clone(), (*alg, jwk.decoding_key()?));
        }
        Ok(Self { keys })
    }

    /// Validates signature, type, issuer and expiry; returns the claims.
    pub fn verify_access_token(
        &self,
        token: &str,
        issuer: &str,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, TokenRejection> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenRejection::TooLong);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(TokenRejection::WrongType);
        }
        if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() {
            return Err(TokenRejection::ForbiddenHeader);
        }
        let kid = header.kid.as_deref().ok_or(TokenRejection::UnknownKey)?;
        let (alg, key) = self.keys.get(kid).ok_or(TokenRejection::UnknownKey)?;
        if header.alg != alg.jsonwebtoken() {
            return Err(TokenRejection::BadSignature);
        }

        let mut validation = jsonwebtoken::Validation::new(alg.jsonwebtoken());
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<AccessTokenClaims>(token, key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenRejection::BadSignature,
                _ => TokenRejection::Malformed,
            })?
            .claims;

        if claims.iss != issuer {
            return Err(TokenRejection::WrongIssuer);
        }
        if claims.exp <= now {
            return Err(TokenRejection::Expired);
        }
        Ok(claims)
    }
}

impl VerificationKeys {
    /// The client and user of an ID token we issued, checking its signature, `typ` and issuer
    /// but not its expiry: hints may be old (OpenID Connect Core §3.1.2.1, RP-Initiated
    /// Logout §2). Anything else, `alg: none` and foreign keys included, is no hint at all.
    pub fn id_token_hint(&self, token: &str, issuer: &str) -> Option<IdTokenHint> {
        #[derive(Deserialize)]
        struct Claims {
            iss: String,
            aud: String,
            sub: String,
        }
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.typ.as_deref() != Some("JWT") {
            return None;
        }
        let (alg, key) = self.keys.get(header.kid.as_deref()?)?;
        if header.alg != alg.jsonwebtoken() {
            return None;
        }
        let mut validation = jsonwebtoken::Validation::new(alg.jsonwebtoken());
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation).ok()?.claims;
        (claims.iss == issuer).then_some(IdTokenHint { client_id: claims.aud, user_id: claims.sub })
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;
    use crate::keys::generate;

    const ISS: &str = "https://as.example";

    fn setup() -> (SigningKey, VerificationKeys, AccessTokenClaims) {
        let key = generate(SigningAlgorithm::ES256).unwrap();
        let signer =
            SigningKey::from_der(key.public.kid.clone(), key.alg, &key.private_der).unwrap();
        let keys = VerificationKeys::new(&[(key.alg, key.public)]).unwrap();
        let claims = AccessTokenClaims {
            iss: ISS.into(),
            sub: "client:c1".into(),
            aud: "https://api.example".into(),
            client_id: "c1".into(),
            scope: "api.read".into(),
            jti: "j1".into(),
            iat: 1000,
            exp: 2000,
        };
        (signer, keys, claims)
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let (signer, keys, claims) = setup();
        let token = claims.sign(&signer).unwrap();
        assert_eq!(keys.verify_access_token(&token, ISS, 1500).unwrap(), claims);
        assert_eq!(keys.verify_access_token(&token, ISS, 2000), Err(TokenRejection::Expired));
        assert_eq!(
            keys.verify_access_token(&token, "https://other", 1500),
            Err(TokenRejection::WrongIssuer)
        );
    }

    #[test]
    fn forged_tokens_are_rejected() {
        let (signer, keys, claims) = setup();
        let token = claims.sign(&signer).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forge =
            |header: &str| format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header), parts[1], parts[2]);

        let none =
            format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
        assert!(keys.verify_access_token(&none, ISS, 1500).is_err());
        let hs = forge(&format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, signer.kid));
        assert_eq!(keys.verify_access_token(&hs, ISS, 1500), Err(TokenRejection::BadSignature));
        let traversal = forge(r#"{"alg":"ES256","typ":"at+jwt","kid":"../../../dev/null"}"#);
        assert_eq!(
            keys.verify_access_token(&traversal, ISS, 1500),
            Err(TokenRejection::UnknownKey)
        );
        let jku = forge(&format!(
            r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}","jku":"https://evil"}}"#,
            signer.kid
        ));
        assert_eq!(keys.verify_access_token(&jku, ISS, 1500), Err(TokenRejection::ForbiddenHeader));
        let id_token = forge(&format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{}"}}"#, signer.kid));
        assert_eq!(keys.verify_access_token(&id_token, ISS, 1500), Err(TokenRejection::WrongType));
        let mut tampered = token.clone();
        tampered.push('A');
        assert!(keys.verify_access_token(&tampered, ISS, 1500).is_err());
        assert_eq!(
            keys.verify_access_token(&"a".repeat(100_000), ISS, 1500),
            Err(TokenRejection::TooLong)
        );
        for garbage in ["", "a.b.c", "...", "\0"] {
            assert!(keys.verify_access_token(garbage, ISS, 1500).is_err());
        }
    }
}
