//! OpenID Connect ID tokens (Core §2, §3.1.3.6) and the userinfo claims (Core §5.1, §5.3.2).
//!
//! The ID token is signed with the server's current key, whose algorithm discovery lists; its
//! `typ` is `JWT`, so it can never pass as an access token (`at+jwt`, RFC 9068 §4).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest;
use serde::Serialize;

use crate::keys::{KeyError, SigningAlgorithm, SigningKey};
use crate::scope::ScopeSet;
use crate::user::User;
use crate::UnixTime;

/// ID token claims. Profile and email claims appear only when their scope was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    #[serde(flatten)]
    pub profile: UserClaims,
}

/// The claims about the user that the granted scopes release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl UserClaims {
    pub fn for_scopes(user: &User, scopes: &ScopeSet) -> Self {
        let profile = scopes.contains_str("profile");
        let email = scopes.contains_str("email");
        Self {
            name: user.name.clone().filter(|_| profile),
            preferred_username: Some(user.username.clone()).filter(|_| profile),
            email: user.email.clone().filter(|_| email),
        }
    }
}

impl IdTokenClaims {
    pub fn sign(&self, key: &SigningKey) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(self).map_err(|_| KeyError::Corrupt("claims encoding"))?;
        key.sign_jws("JWT", &payload)
    }
}

/// `at_hash` (Core §3.1.3.6): the left half of the hash of the access token, with the hash of
/// the signing algorithm (SHA-256 for ES256 and RS256, SHA-512 for Ed25519).
pub fn at_hash(access_token: &str, alg: SigningAlgorithm) -> String {
    let algorithm = match alg {
        SigningAlgorithm::EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let hash = digest::digest(algorithm, access_token.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::UserStatus;

    #[test]
    fn at_hash_matches_the_spec_example() {
        // OpenID Connect Core, Appendix A.3 (RS256): at_hash of the access token below.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(at_hash(token, SigningAlgorithm::RS256), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    #[test]
    fn claims_follow_the_scopes() {
        let user = User {
            id: "u1".into(),
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            name: Some("Alice".into()),
            password_hash: String::new(),
            status: UserStatus::Active,
            created_at: 0,
            updated_at: 0,
        };
        let none = UserClaims::for_scopes(&user, &ScopeSet::parse_list("openid").unwrap());
        assert_eq!(none, UserClaims::default());
        let all =
            UserClaims::for_scopes(&user, &ScopeSet::parse_list("openid profile email").unwrap());
        assert_eq!(all.email.as_deref(), Some("alice@example.com"));
        assert_eq!(all.preferred_username.as_deref(), Some("alice"));
    }
}
