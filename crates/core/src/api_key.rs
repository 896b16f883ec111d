//! API keys for partner integrations: the key record, what creating one must state, and the
//! verification decision up to (not including) the rate limit, whose state lives elsewhere.
//!
//! A key belongs to a client and can never do more than that client: its scopes are granted
//! through the scope registry exactly as a client_credentials token would be (no scope that needs
//! an end user), so inheritance applies and nothing is dropped silently.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cidr::IpNetwork;
use crate::client::{wire_enum, Client, ClientId};
use crate::rate_limit::RateLimit;
use crate::scope::{GrantSubject, ScopeRegistry, ScopeSet};
use crate::UnixTime;

/// Highest rate limit a key may have, per minute.
pub const MAX_RATE_LIMIT_PER_MINUTE: i64 = 10_000_000;
/// Largest burst a key may have.
pub const MAX_BURST: i64 = 100_000;
/// Longest expiry a key may be created with.
pub const MAX_EXPIRY_DAYS: i64 = 3650;
/// Longest presented key that is looked up at all; longer input is `not_found` at once.
pub const MAX_PRESENTED_KEY_LEN: usize = 256;
/// Characters of the key kept in clear (the `pcak_` prefix and a few more) so operators and
/// partners can tell keys apart in lists. 6 base64url characters reveal 36 of 256 bits.
const VISIBLE_PREFIX_LEN: usize = 11;

wire_enum!(
    /// A key's lifecycle. Only `active` keys verify; `revoked` is final.
    ApiKeyStatus {
        Active = "active",
        Pending = "pending",
        Disabled = "disabled",
        Revoked = "revoked",
    }
);

wire_enum!(
    /// What a verification concluded: `valid` or the machine-readable reason it was refused.
    /// Also the dimension of the usage counters.
    VerifyOutcome {
        Valid = "valid",
        NotFound = "not_found",
        Expired = "expired",
        Disabled = "disabled",
        Revoked = "revoked",
        PendingApproval = "pending_approval",
        InsufficientScope = "insufficient_scope",
        IpNotAllowed = "ip_not_allowed",
        RateLimited = "rate_limited",
        /// The source presented too many unknown keys recently and is blocked for a while.
        TooManyInvalidKeys = "too_many_invalid_keys",
    }
);

/// The UTC day (days since the epoch) a time falls on: the unit of usage counters.
pub fn day_of(time: UnixTime) -> i64 {
    time.div_euclid(86_400)
}

/// Parses `YYYY-MM-DD` into a day number.
pub fn parse_day(text: &str) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.signed_duration_since(chrono::NaiveDate::default()).num_days())
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_day(day: i64) -> String {
    chrono::TimeDelta::try_days(day)
        .and_then(|delta| chrono::NaiveDate::default().checked_add_signed(delta))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A stored API key. The key itself is never kept: only its keyed hash and a short prefix.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub client_id: ClientId,
    pub name: String,
    /// Granted scopes, already expanded by the registry.
    pub scopes: ScopeSet,
    pub rate_limit_per_minute: u32,
    pub burst: Option<u32>,
    /// Empty means any address.
    pub allowed_ips: Vec<IpNetwork>,
    pub expires_at: Option<UnixTime>,
    pub status: ApiKeyStatus,
    /// The first characters of the key, for telling keys apart; not enough to use it.
    pub key_prefix: String,
    #[serde(skip)]
    pub key_hash: Vec<u8>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    /// Set on a rotated key: the id of its successor.
    pub replaced_by: Option<String>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("status", &self.status)
            .field("key_hash", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    pub fn rate_limit(&self) -> RateLimit {
        RateLimit { per_minute: self.rate_limit_per_minute, burst: self.burst.unwrap_or(0) }
    }

    /// Every check but the rate limit, in a fixed order: the key's own state first, then the
    /// caller's address, then the scope. `owner_active` is whether the owning client is active.
    pub fn check(
        &self,
        owner_active: bool,
        required: &ScopeSet,
        ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<(), VerifyOutcome> {
        match self.status {
            ApiKeyStatus::Revoked => return Err(VerifyOutcome::Revoked),
            ApiKeyStatus::Disabled => return Err(VerifyOutcome::Disabled),
            ApiKeyStatus::Pending => return Err(VerifyOutcome::PendingApproval),
            ApiKeyStatus::Active => {}
        }
        if !owner_active {
            return Err(VerifyOutcome::Disabled);
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(VerifyOutcome::Expired);
        }
        if !self.allowed_ips.is_empty() {
            // No address to check against an allowlist fails closed (SECURITY.md J-10).
            let allowed = ip.is_some_and(|ip| self.allowed_ips.iter().any(|n| n.contains(ip)));
            if !allowed {
                return Err(VerifyOutcome::IpNotAllowed);
            }
        }
        if !required.is_subset(&self.scopes) {
            return Err(VerifyOutcome::InsufficientScope);
        }
        Ok(())
    }

    /// The visible prefix of a freshly generated key.
    pub fn visible_prefix(key: &str) -> String {
        key.chars().take(VISIBLE_PREFIX_LEN).collect()
    }
}

/// What creating a key must state. Only the burst, the allowlist and the expiry are optional,
/// and each is absent (no burst, any address, no expiry) unless given.
#[derive(Debug, Clone)]
pub struct ApiKeyRequest {
    pub name: String,
    pub scopes: ScopeSet,
    pub rate_limit_per_minute: i64,
    pub burst: Option<i64>,
    pub allowed_ips: Vec<IpNetwork>,
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyRequestError {
    #[error("key name must be 1-200 printable characters")]
    Name,
    #[error("{0}")]
    Scope(String),
    #[error("rate limit must be between 1 and {MAX_RATE_LIMIT_PER_MINUTE} per minute, got {0}")]
    RateLimit(i64),
    #[error("burst must be between 0 and {MAX_BURST}, got {0}")]
    Burst(i64),
    #[error("expiry must be between 1 and {MAX_EXPIRY_DAYS} days, got {0}")]
    Expiry(i64),
}

/// A request that passed every rule, with its scopes granted.
#[derive(Debug, Clone)]
pub struct ValidatedApiKey {
    pub name: String,
    pub scopes: ScopeSet,
    pub rate_limit_per_minute: u32,
    pub burst: Option<u32>,
    pub allowed_ips: Vec<IpNetwork>,
    pub expires_at: Option<UnixTime>,
}

impl ApiKeyRequest {
    pub fn validate(
        self,
        owner: &Client,
        registry: &ScopeRegistry,
        now: UnixTime,
    ) -> Result<ValidatedApiKey, ApiKeyRequestError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(ApiKeyRequestError::Name);
        }
        let scopes = registry
            .grant(&self.scopes, &owner.allowed_scopes, GrantSubject::ClientOnly)
            .map_err(|e| ApiKeyRequestError::Scope(e.description.into_owned()))?;
        let rate = self.rate_limit_per_minute;
        if !(1..=MAX_RATE_LIMIT_PER_MINUTE).contains(&rate) {
            return Err(ApiKeyRequestError::RateLimit(rate));
        }
        if let Some(burst) = self.burst.filter(|b| !(0..=MAX_BURST).contains(b)) {
            return Err(ApiKeyRequestError::Burst(burst));
        }
        if let Some(days) = self.expires_in_days.filter(|d| !(1..=MAX_EXPIRY_DAYS).contains(d)) {
            return Err(ApiKeyRequestError::Expiry(days));
        }
        Ok(ValidatedApiKey {
            name,
            scopes,
            rate_limit_per_minute: rate as u32,
            burst: self.burst.map(|b| b as u32),
            allowed_ips: self.allowed_ips,
            expires_at: self.expires_in_days.map(|days| now + days * 86_400),
        })
    }
}

impl ValidatedApiKey {
    pub fn into_key(
        self,
        id: String,
        client_id: ClientId,
        status: ApiKeyStatus,
        key_prefix: String,
        key_hash: Vec<u8>,
        now: UnixTime,
    ) -> ApiKey {
        ApiKey {
            id,
            client_id,
            name: self.name,
            scopes: self.scopes,
            rate_limit_per_minute: self.rate_limit_per_minute,
            burst: self.burst,
            allowed_ips: self.allowed_ips,
            expires_at: self.expires_at,
            status,
            key_prefix,
            key_hash,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            replaced_by: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::parse_networks;
    use crate::client::{parse_wire_list, ClientRegistration, ClientStatus, TokenAuthMethod};
    use crate::scope::{ScopeDefinition, ScopeName};

    fn def(name: &str, includes: &str, requires_user: bool) -> ScopeDefinition {
        ScopeDefinition {
            name: ScopeName::parse(name).unwrap(),
            description: name.into(),
            category: None,
            requires_user,
            includes: ScopeSet::parse_list(includes).unwrap(),
            built_in: false,
            public: false,
        }
    }

    fn registry() -> ScopeRegistry {
        ScopeRegistry::new([
            def("quote:read", "", false),
            def("quote:write", "quote:read", false),
            def("policy:read", "", false),
            def("user:read", "", true),
        ])
        .unwrap()
    }

    fn owner() -> Client {
        ClientRegistration {
            name: "Partner".into(),
            client_type: crate::client::ClientType::Confidential,
            grant_types: parse_wire_list("client_credentials").unwrap(),
            allowed_scopes: ScopeSet::parse_list("quote:write user:read").unwrap(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            id_token_signing_alg: None,
            auth_method: TokenAuthMethod::ClientSecretBasic,
            access_token_lifetime: 600,
            refresh_token_lifetime: 3600,
            lifetime_policy: None,
        }
        .validate(&registry(), 3600)
        .unwrap()
        .into_client(ClientId::parse("c1").unwrap(), ClientStatus::Active, None, 0)
    }

    fn request(scopes: &str) -> ApiKeyRequest {
        ApiKeyRequest {
            name: "sync".into(),
            scopes: ScopeSet::parse_list(scopes).unwrap(),
            rate_limit_per_minute: 60,
            burst: None,
            allowed_ips: vec![],
            expires_in_days: Some(30),
        }
    }

    fn key(request: ApiKeyRequest) -> ApiKey {
        let validated = request.validate(&owner(), &registry(), 1000).unwrap();
        validated.into_key(
            "k1".into(),
            owner().id,
            ApiKeyStatus::Active,
            "pcak_x".into(),
            vec![],
            1000,
        )
    }

    fn scopes(list: &str) -> ScopeSet {
        ScopeSet::parse_list(list).unwrap()
    }

    #[test]
    fn scopes_are_granted_through_the_registry() {
        let key = key(request("quote:write"));
        assert_eq!(key.scopes.to_wire(), "quote:read quote:write");
        assert_eq!(key.expires_at, Some(1000 + 30 * 86_400));
        for refused in ["policy:read", "user:read", "nope", ""] {
            let err = request(refused).validate(&owner(), &registry(), 0).unwrap_err();
            assert!(matches!(err, ApiKeyRequestError::Scope(_)), "{refused}: {err}");
        }
    }

    #[test]
    fn limits_are_bounded_and_nothing_defaults() {
        let bad_rate = ApiKeyRequest { rate_limit_per_minute: 0, ..request("quote:read") };
        assert!(bad_rate.validate(&owner(), &registry(), 0).is_err());
        let bad_burst = ApiKeyRequest { burst: Some(-1), ..request("quote:read") };
        assert!(bad_burst.validate(&owner(), &registry(), 0).is_err());
        let bad_expiry = ApiKeyRequest { expires_in_days: Some(0), ..request("quote:read") };
        assert!(bad_expiry.validate(&owner(), &registry(), 0).is_err());
        let open = key(ApiKeyRequest { expires_in_days: None, ..request("quote:read") });
        assert_eq!((open.expires_at, open.burst), (None, None));
    }

    #[test]
    fn checks_run_in_order() {
        let ips = parse_networks("10.0.0.0/24").unwrap();
        let key = key(ApiKeyRequest { allowed_ips: ips, ..request("quote:write") });
        let inside: IpAddr = "10.0.0.5".parse().unwrap();
        let outside: IpAddr = "10.0.1.1".parse().unwrap();
        let none = ScopeSet::default();

        assert_eq!(key.check(true, &scopes("quote:read"), Some(inside), 2000), Ok(()));
        assert_eq!(
            key.check(true, &scopes("policy:read"), Some(inside), 2000),
            Err(VerifyOutcome::InsufficientScope)
        );
        assert_eq!(key.check(true, &none, Some(outside), 2000), Err(VerifyOutcome::IpNotAllowed));
        assert_eq!(key.check(true, &none, None, 2000), Err(VerifyOutcome::IpNotAllowed));
        assert_eq!(key.check(false, &none, Some(inside), 2000), Err(VerifyOutcome::Disabled));
        let late = key.expires_at.unwrap();
        assert_eq!(key.check(true, &none, Some(inside), late), Err(VerifyOutcome::Expired));
        for (status, outcome) in [
            (ApiKeyStatus::Revoked, VerifyOutcome::Revoked),
            (ApiKeyStatus::Disabled, VerifyOutcome::Disabled),
            (ApiKeyStatus::Pending, VerifyOutcome::PendingApproval),
        ] {
            let key = ApiKey { status, ..key.clone() };
            assert_eq!(key.check(true, &none, Some(inside), 2000), Err(outcome));
        }
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(format_day(day_of(1_796_342_400)), "2026-12-04");
        assert_eq!(parse_day(&format_day(20_000)), Some(20_000));
        for bad in ["2026-13-01", "yesterday", "", "2026-12-4x"] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_hash() {
        let key = ApiKey { key_hash: vec![1, 2, 3], ..key(request("quote:read")) };
        assert!(!format!("{key:?}").contains("[1, 2, 3]"));
    }
}
