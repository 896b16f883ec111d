//! Authorization server metadata (RFC 8414 §2) and OpenID Provider metadata (OpenID Connect
//! Discovery §3). Every URL is built from the configured issuer, never from the request's Host
//! header (SECURITY.md F-02), and the lists say exactly what is implemented.

use serde::Serialize;

use crate::client::{GrantType, TokenAuthMethod};
use crate::keys::SigningAlgorithm;

/// Paths of the endpoints, relative to the issuer.
pub mod paths {
    pub const AUTHORIZE: &str = "/oauth2/authorize";
    pub const USERINFO: &str = "/oauth2/userinfo";
    pub const END_SESSION: &str = "/oauth2/logout";
    pub const TOKEN: &str = "/oauth2/token";
    pub const JWKS: &str = "/oauth2/jwks";
    pub const INTROSPECT: &str = "/oauth2/introspect";
    pub const REVOKE: &str = "/oauth2/revoke";
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub prompt_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub scopes_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub authorization_response_iss_parameter_supported: bool,
}

/// Builds the metadata for an issuer. `scopes` are the scopes to advertise.
pub fn metadata(
    issuer: &str,
    scopes: Vec<String>,
    signing_algs: &[SigningAlgorithm],
) -> ServerMetadata {
    let url = |path: &str| format!("{}{}", issuer.trim_end_matches('/'), path);
    let secret_methods = vec![
        TokenAuthMethod::ClientSecretBasic.as_str(),
        TokenAuthMethod::ClientSecretPost.as_str(),
    ];
    let mut token_methods = secret_methods.clone();
    token_methods.push(TokenAuthMethod::None.as_str());
    ServerMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: url(paths::AUTHORIZE),
        token_endpoint: url(paths::TOKEN),
        userinfo_endpoint: url(paths::USERINFO),
        end_session_endpoint: url(paths::END_SESSION),
        jwks_uri: url(paths::JWKS),
        introspection_endpoint: url(paths::INTROSPECT),
        revocation_endpoint: url(paths::REVOKE),
        grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        prompt_values_supported: vec!["none", "login", "consent", "select_account"],
        claims_supported: vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "name",
            "preferred_username",
            "email",
        ],
        token_endpoint_auth_methods_supported: token_methods,
        introspection_endpoint_auth_methods_supported: secret_methods.clone(),
        revocation_endpoint_auth_methods_supported: secret_methods,
        scopes_supported: scopes,
        code_challenge_methods_supported: vec!["S256"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: signing_algs.iter().map(|a| a.as_str()).collect(),
        authorization_response_iss_parameter_supported: true,
    }
}
