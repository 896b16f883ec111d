//! OAuth clients: identifiers, types, grant types, authentication methods, status, and the
//! registration rules that leave nothing to a default (RFC 6749 §2, RFC 7591 §2 metadata names).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::keys::SigningAlgorithm;
use crate::lifetime::LifetimePolicy;
use crate::redirect_uri::{RedirectUri, RedirectUriError};
use crate::scope::{ScopeRegistry, ScopeSet};
use crate::UnixTime;

/// Longest accepted client_id.
pub const MAX_CLIENT_ID_LEN: usize = 128;
/// Longest refresh-token lifetime a client may register: one year.
pub const MAX_REFRESH_TOKEN_LIFETIME: u32 = 365 * 24 * 3600;

/// A client identifier: 1-128 characters of `A-Z a-z 0-9 - . _ ~`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(text: &str) -> Option<Self> {
        let ok_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        let ok = !text.is_empty() && text.len() <= MAX_CLIENT_ID_LEN && text.bytes().all(ok_char);
        ok.then(|| Self(text.to_owned()))
    }

    /// A fresh random client id.
    pub fn generate() -> Self {
        Self(crate::secret::random_id())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| format!("invalid client id {value:?}"))
    }
}

impl From<ClientId> for String {
    fn from(value: ClientId) -> Self {
        value.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a string-backed enum with one wire spelling per variant.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} {s:?}: expected one of {}",
                        stringify!($name),
                        [$($wire),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Other modules of the core declare their wire enums the same way.
pub(crate) use wire_enum;

wire_enum!(
    /// RFC 6749 §2.1 client types.
    ClientType { Confidential = "confidential", Public = "public" }
);

wire_enum!(
    /// Grant types Portcullis implements (RFC 6749 §4.1, §4.4, §6).
    GrantType {
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
    }
);

wire_enum!(
    /// Token endpoint authentication methods (RFC 7591 §2). A client uses exactly one.
    TokenAuthMethod {
        ClientSecretBasic = "client_secret_basic",
        ClientSecretPost = "client_secret_post",
        None = "none",
    }
);

wire_enum!(
    /// Whether a client may act at all. Only `active` clients authenticate.
    ClientStatus { Active = "active", Pending = "pending", Disabled = "disabled" }
);

wire_enum!(
    /// Extra powers an admin grants a client (`portcullis client grant`).
    ClientPermission {
        IntrospectAny = "introspect-any",
        VerifyApiKeys = "verify-api-keys",
        /// A first-party client whose users are not asked for consent.
        SkipConsent = "skip-consent",
    }
);

/// A registered client, as the protocol sees it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: BTreeSet<GrantType>,
    pub allowed_scopes: ScopeSet,
    pub redirect_uris: Vec<RedirectUri>,
    /// Where RP-initiated logout may send the user afterwards (OpenID Connect RP-Initiated
    /// Logout §3); empty means nowhere.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub auth_method: TokenAuthMethod,
    /// How the client's ID tokens are signed (`id_token_signed_response_alg`, OpenID Connect
    /// Dynamic Client Registration §2). Set exactly when the client may receive `openid`.
    pub id_token_signing_alg: Option<SigningAlgorithm>,
    pub access_token_lifetime: u32,
    pub refresh_token_lifetime: u32,
    pub lifetime_policy: Option<LifetimePolicy>,
    pub status: ClientStatus,
    pub permissions: BTreeSet<ClientPermission>,
    /// Keyed hash of the current secret (confidential clients only). Never serialised out.
    #[serde(skip)]
    pub secret_hash: Option<Vec<u8>>,
    /// The secret before the last regeneration, while an overlap keeps it valid.
    pub previous_secret: Option<PreviousSecret>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("client_type", &self.client_type)
            .field("status", &self.status)
            .field("secret_hash", &self.secret_hash.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn has_permission(&self, permission: ClientPermission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The subject of tokens the client obtains for itself. The `client:` namespace keeps client
    /// subjects apart from user subjects (SECURITY.md E-11).
    pub fn subject(&self) -> String {
        format!("client:{}", self.id)
    }
}

/// A replaced secret that still works until `valid_until`, so a partner can roll the new one
/// out; when and from where it was last used tells the admin when it is safe to retire.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    #[serde(skip)]
    pub hash: Vec<u8>,
    pub valid_until: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub last_used_ip: Option<String>,
}

impl fmt::Debug for PreviousSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreviousSecret")
            .field("hash", &"[REDACTED]")
            .field("valid_until", &self.valid_until)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

/// Everything a registration must state; see [`ClientRegistration::validate`].
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: BTreeSet<GrantType>,
    pub allowed_scopes: ScopeSet,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: TokenAuthMethod,
    pub id_token_signing_alg: Option<SigningAlgorithm>,
    pub access_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub lifetime_policy: Option<LifetimePolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("client name must be 1-200 printable characters, without bidirectional controls")]
    Name,
    #[error(
        "at least one grant type is required: \
         choose from authorization_code, refresh_token, client_credentials"
    )]
    NoGrantTypes,
    #[error("at least one allowed scope is required")]
    NoScopes,
    #[error("{0}")]
    Scope(String),
    #[error(
        "confidential clients authenticate with client_secret_basic or client_secret_post, not {0}"
    )]
    ConfidentialAuth(TokenAuthMethod),
    #[error("public clients have no secret: their token auth method must be none, not {0}")]
    PublicAuth(TokenAuthMethod),
    #[error(
        "public clients cannot use client_credentials: there is no secret to prove who they are"
    )]
    PublicClientCredentials,
    #[error("refresh_token requires the authorization_code grant")]
    RefreshWithoutCode,
    #[error("authorization_code requires at least one redirect URI")]
    NoRedirectUri,
    #[error("redirect URIs are only used by authorization_code; remove them or add that grant")]
    UnusedRedirectUri,
    #[error(transparent)]
    RedirectUri(#[from] RedirectUriError),
    #[error(
        "clients allowed the openid scope receive ID tokens: choose how they are signed with \
         --id-token-signing-alg (ES256, RS256 or EdDSA)"
    )]
    NoIdTokenAlg,
    #[error("an ID token algorithm only applies to clients allowed the openid scope")]
    UnusedIdTokenAlg,
    #[error("access token lifetime must be between 1 and {max} seconds, got {got}")]
    AccessLifetime { got: i64, max: u32 },
    #[error(
        "refresh token lifetime must be between 1 and {MAX_REFRESH_TOKEN_LIFETIME} seconds, \
         got {0}"
    )]
    RefreshLifetime(i64),
    #[error("the lifetime policy's lifetime must be between 1 and {max} seconds, got {got}")]
    PolicyLifetime { got: u32, max: u32 },
}

impl ClientRegistration {
    /// Checks every rule and returns the protocol view of the client (status and secret are the
    /// caller's business). `server_max_access` caps every access-token lifetime.
    pub fn validate(
        self,
        registry: &ScopeRegistry,
        server_max_access: u32,
    ) -> Result<ValidatedRegistration, RegistrationError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(hides_text) {
            return Err(RegistrationError::Name);
        }
        if self.grant_types.is_empty() {
            return Err(RegistrationError::NoGrantTypes);
        }
        if self.allowed_scopes.is_empty() {
            return Err(RegistrationError::NoScopes);
        }
        if let Some(unknown) = self.allowed_scopes.iter().find(|s| registry.get(s).is_none()) {
            return Err(RegistrationError::Scope(format!(
                "scope {unknown} is not in the registry: create it first"
            )));
        }

        match (self.client_type, self.auth_method) {
            (ClientType::Confidential, TokenAuthMethod::None) => {
                return Err(RegistrationError::ConfidentialAuth(self.auth_method))
            }
            (ClientType::Public, m) if m != TokenAuthMethod::None => {
                return Err(RegistrationError::PublicAuth(m))
            }
            _ => {}
        }
        let has = |g| self.grant_types.contains(&g);
        if self.client_type == ClientType::Public && has(GrantType::ClientCredentials) {
            return Err(RegistrationError::PublicClientCredentials);
        }
        if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
            return Err(RegistrationError::RefreshWithoutCode);
        }

        let redirect_uris = self
            .redirect_uris
            .iter()
            .map(|u| RedirectUri::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        if has(GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(RegistrationError::NoRedirectUri);
        }
        if !has(GrantType::AuthorizationCode) && !redirect_uris.is_empty() {
            return Err(RegistrationError::UnusedRedirectUri);
        }
        let post_logout_redirect_uris = self
            .post_logout_redirect_uris
            .iter()
            .map(|u| RedirectUri::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        if !has(GrantType::AuthorizationCode) && !post_logout_redirect_uris.is_empty() {
            return Err(RegistrationError::UnusedRedirectUri);
        }

        // No assumed RS256 (the registration spec's default): the operator chooses.
        match (self.allowed_scopes.contains_str("openid"), self.id_token_signing_alg) {
            (true, None) => return Err(RegistrationError::NoIdTokenAlg),
            (false, Some(_)) => return Err(RegistrationError::UnusedIdTokenAlg),
            _ => {}
        }

        let access = self.access_token_lifetime;
        if access < 1 || access > i64::from(server_max_access) {
            return Err(RegistrationError::AccessLifetime { got: access, max: server_max_access });
        }
        let refresh = self.refresh_token_lifetime;
        if refresh < 1 || refresh > i64::from(MAX_REFRESH_TOKEN_LIFETIME) {
            return Err(RegistrationError::RefreshLifetime(refresh));
        }
        if let Some(policy) = &self.lifetime_policy {
            let got = policy.access_token_lifetime;
            if got < 1 || got > server_max_access {
                return Err(RegistrationError::PolicyLifetime { got, max: server_max_access });
            }
        }

        Ok(ValidatedRegistration {
            name,
            client_type: self.client_type,
            grant_types: self.grant_types,
            allowed_scopes: self.allowed_scopes,
            redirect_uris,
            post_logout_redirect_uris,
            auth_method: self.auth_method,
            id_token_signing_alg: self.id_token_signing_alg,
            access_token_lifetime: access as u32,
            refresh_token_lifetime: refresh as u32,
            lifetime_policy: self.lifetime_policy,
        })
    }
}

/// A registration that passed every rule.
#[derive(Debug, Clone)]
pub struct ValidatedRegistration {
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: BTreeSet<GrantType>,
    pub allowed_scopes: ScopeSet,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub auth_method: TokenAuthMethod,
    pub id_token_signing_alg: Option<SigningAlgorithm>,
    pub access_token_lifetime: u32,
    pub refresh_token_lifetime: u32,
    pub lifetime_policy: Option<LifetimePolicy>,
}

impl ValidatedRegistration {
    /// The client this registration describes, with the given id, status and secret hash.
    pub fn into_client(
        self,
        id: ClientId,
        status: ClientStatus,
        secret_hash: Option<Vec<u8>>,
        now: UnixTime,
    ) -> Client {
        Client {
            id,
            name: self.name,
            client_type: self.client_type,
            grant_types: self.grant_types,
            allowed_scopes: self.allowed_scopes,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            auth_method: self.auth_method,
            id_token_signing_alg: self.id_token_signing_alg,
            access_token_lifetime: self.access_token_lifetime,
            refresh_token_lifetime: self.refresh_token_lifetime,
            lifetime_policy: self.lifetime_policy,
            status,
            permissions: BTreeSet::new(),
            secret_hash,
            previous_secret: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Characters a client name may not hold: controls, and the bidirectional overrides and
/// isolates that can make a name on the consent screen read as something else (SECURITY.md
/// K-08, H-15; Unicode TR 36 §2.4).
fn hides_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Parses a comma- or space-separated list of wire values.
pub fn parse_wire_list<T: FromStr<Err = String> + Ord>(list: &str) -> Result<BTreeSet<T>, String> {
    list.split([',', ' ']).filter(|s| !s.is_empty()).map(T::from_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::{ScopeDefinition, ScopeName};

    fn registry() -> ScopeRegistry {
        let api = ScopeDefinition {
            name: ScopeName::parse("api.read").unwrap(),
            description: "read".into(),
            category: None,
            requires_user: false,
            includes: ScopeSet::default(),
            built_in: false,
            public: false,
        };
        ScopeRegistry::new(ScopeDefinition::built_ins().into_iter().chain([api])).unwrap()
    }

    fn service_client() -> ClientRegistration {
        ClientRegistration {
            name: "Billing sync".into(),
            client_type: ClientType::Confidential,
            grant_types: parse_wire_list("client_credentials").unwrap(),
            allowed_scopes: ScopeSet::parse_list("api.read").unwrap(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            auth_method: TokenAuthMethod::ClientSecretBasic,
            id_token_signing_alg: None,
            access_token_lifetime: 600,
            refresh_token_lifetime: 3600,
            lifetime_policy: None,
        }
    }

    #[test]
    fn a_complete_registration_validates() {
        assert!(service_client().validate(&registry(), 86_400).is_ok());
    }

    #[test]
    fn nothing_defaults() {
        let reg = ClientRegistration { grant_types: BTreeSet::new(), ..service_client() };
        assert_eq!(reg.validate(&registry(), 86_400).unwrap_err(), RegistrationError::NoGrantTypes);
        let reg = ClientRegistration { allowed_scopes: ScopeSet::default(), ..service_client() };
        assert_eq!(reg.validate(&registry(), 86_400).unwrap_err(), RegistrationError::NoScopes);
        let reg = ClientRegistration {
            grant_types: parse_wire_list("authorization_code").unwrap(),
            ..service_client()
        };
        assert_eq!(
            reg.validate(&registry(), 86_400).unwrap_err(),
            RegistrationError::NoRedirectUri
        );
    }

    #[test]
    fn names_cannot_hide_or_reorder_text() {
        for name in ["", "tab\there", "Bank\u{202E}lapyap", "a\u{2066}b"] {
            let reg = ClientRegistration { name: name.into(), ..service_client() };
            assert_eq!(reg.validate(&registry(), 86_400).unwrap_err(), RegistrationError::Name);
        }
        let reg = ClientRegistration { name: "<img src=x> Ünïcødé".into(), ..service_client() };
        assert!(reg.validate(&registry(), 86_400).is_ok(), "markup is escaped, not refused");
    }

    #[test]
    fn openid_clients_choose_their_id_token_algorithm() {
        let web = || ClientRegistration {
            grant_types: parse_wire_list("authorization_code").unwrap(),
            allowed_scopes: ScopeSet::parse_list("openid api.read").unwrap(),
            redirect_uris: vec!["https://app.example/cb".into()],
            ..service_client()
        };
        assert_eq!(
            web().validate(&registry(), 86_400).unwrap_err(),
            RegistrationError::NoIdTokenAlg
        );
        let chosen =
            ClientRegistration { id_token_signing_alg: Some(SigningAlgorithm::RS256), ..web() };
        assert_eq!(
            chosen.validate(&registry(), 86_400).unwrap().id_token_signing_alg,
            Some(SigningAlgorithm::RS256)
        );
        let unused = ClientRegistration {
            id_token_signing_alg: Some(SigningAlgorithm::ES256),
            ..service_client()
        };
        assert_eq!(
            unused.validate(&registry(), 86_400).unwrap_err(),
            RegistrationError::UnusedIdTokenAlg
        );
    }

    #[test]
    fn lifetimes_are_bounded() {
        for bad in [-1, 0, 99_999_999_999] {
            let reg = ClientRegistration { access_token_lifetime: bad, ..service_client() };
            assert!(reg.validate(&registry(), 86_400).is_err(), "{bad}");
            let reg = ClientRegistration { refresh_token_lifetime: bad, ..service_client() };
            assert!(reg.validate(&registry(), 86_400).is_err(), "{bad}");
        }
    }

    #[test]
    fn auth_method_must_fit_the_client_type() {
        let reg = ClientRegistration { auth_method: TokenAuthMethod::None, ..service_client() };
        assert!(reg.validate(&registry(), 86_400).is_err());
        let reg = ClientRegistration { client_type: ClientType::Public, ..service_client() };
        assert!(reg.validate(&registry(), 86_400).is_err());
        let reg = ClientRegistration {
            client_type: ClientType::Public,
            auth_method: TokenAuthMethod::None,
            ..service_client()
        };
        assert_eq!(
            reg.validate(&registry(), 86_400).unwrap_err(),
            RegistrationError::PublicClientCredentials
        );
    }

    #[test]
    fn unknown_scopes_cannot_be_allowed() {
        let reg = ClientRegistration {
            allowed_scopes: ScopeSet::parse_list("nope").unwrap(),
            ..service_client()
        };
        assert!(matches!(reg.validate(&registry(), 86_400), Err(RegistrationError::Scope(_))));
    }

    #[test]
    fn client_ids_are_restricted() {
        assert!(ClientId::parse("abc-DEF_1.2~").is_some());
        for bad in ["", "a b", "a'b", "a\0", "é", &"a".repeat(129)] {
            assert!(ClientId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
