//! Token introspection (RFC 7662): who may ask about which token, and the response shape.
//!
//! A client may introspect tokens issued to it; an admin may grant `introspect-any`. A token the
//! caller may not see is reported exactly like an invalid one, `{"active":false}` (RFC 7662 §2.2,
//! SECURITY.md G-04), so introspection is no oracle for other clients' tokens.

use serde::Serialize;

use crate::client::{Client, ClientPermission};
use crate::token::AccessTokenClaims;
use crate::UnixTime;

/// The RFC 7662 §2.2 response. Inactive responses carry `active: false` and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<ActiveToken>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveToken {
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    pub aud: String,
    pub iss: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub jti: String,
    pub token_type: &'static str,
}

impl IntrospectionResponse {
    pub fn inactive() -> Self {
        Self { active: false, details: None }
    }

    pub fn active(claims: &AccessTokenClaims) -> Self {
        Self {
            active: true,
            details: Some(ActiveToken {
                scope: claims.scope.clone(),
                client_id: claims.client_id.clone(),
                sub: claims.sub.clone(),
                aud: claims.aud.clone(),
                iss: claims.iss.clone(),
                exp: claims.exp,
                iat: claims.iat,
                jti: claims.jti.clone(),
                token_type: "Bearer",
            }),
        }
    }
}

/// Whether `caller` may learn about a token issued to `token_client_id`.
pub fn may_introspect(caller: &Client, token_client_id: &str) -> bool {
    caller.id.as_str() == token_client_id || caller.has_permission(ClientPermission::IntrospectAny)
}
