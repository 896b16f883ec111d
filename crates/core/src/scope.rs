//! Scopes: the validated scope name, the scope set, and the registry that declares inheritance.
//!
//! RFC 6749 §3.3 defines the wire form (space-delimited, case-sensitive scope tokens). Portcullis
//! adds declared inheritance (`quote:write` includes `quote:read`). The one function that decides
//! what a request is granted is [`ScopeRegistry::grant`]: every grant type calls it, and nothing
//! else expands or filters scopes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::OAuthError;

/// Longest scope name accepted. Registry names are short; the cap bounds hostile input.
pub const MAX_SCOPE_NAME_LEN: usize = 128;
/// Most scope tokens accepted in one request (SECURITY.md K-15: scope bombs fail fast).
pub const MAX_REQUESTED_SCOPES: usize = 64;
/// Longest `scope` parameter accepted, in bytes.
pub const MAX_SCOPE_PARAM_LEN: usize = 4096;

/// The OpenID Connect scopes every installation has (OpenID Connect Core §5.4).
pub const BUILT_IN_SCOPES: [(&str, &str); 3] = [
    ("openid", "Sign you in and share a stable identifier for your account"),
    ("profile", "Read your name and basic profile"),
    ("email", "Read your email address"),
];

/// A scope token as RFC 6749 §3.3 defines it: one or more of %x21 / %x23-5B / %x5D-7E.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScopeName(String);

impl ScopeName {
    pub fn parse(name: &str) -> Result<Self, ScopeError> {
        let valid_char = |b: u8| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e);
        if name.is_empty() || name.len() > MAX_SCOPE_NAME_LEN {
            return Err(ScopeError::InvalidName(truncate_for_message(name)));
        }
        if !name.bytes().all(valid_char) {
            return Err(ScopeError::InvalidName(truncate_for_message(name)));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ScopeName {
    type Error = ScopeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ScopeName> for String {
    fn from(value: ScopeName) -> Self {
        value.0
    }
}

impl fmt::Display for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ordered set of scopes. Parsed from and written to the space-delimited form only at the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<ScopeName>);

impl ScopeSet {
    /// Parses a `scope` request parameter. Empty input is an error: Portcullis has no default
    /// scope (RFC 6749 §3.3 allows one; we refuse to assume it).
    pub fn parse_request(param: &str) -> Result<Self, OAuthError> {
        if param.len() > MAX_SCOPE_PARAM_LEN {
            return Err(OAuthError::invalid_scope("the scope parameter is too long"));
        }
        let mut set = BTreeSet::new();
        for token in param.split(' ').filter(|t| !t.is_empty()) {
            if set.len() >= MAX_REQUESTED_SCOPES {
                return Err(OAuthError::invalid_scope("too many scopes requested"));
            }
            let name = ScopeName::parse(token).map_err(|_| {
                OAuthError::invalid_scope("scope values may only contain printable ASCII")
            })?;
            set.insert(name);
        }
        if set.is_empty() {
            return Err(missing_scope());
        }
        Ok(Self(set))
    }

    /// Parses a list written by an operator or stored by Portcullis (space or comma separated).
    pub fn parse_list(list: &str) -> Result<Self, ScopeError> {
        list.split([' ', ','])
            .filter(|t| !t.is_empty())
            .map(ScopeName::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, name: &ScopeName) -> bool {
        self.0.contains(name)
    }

    pub fn contains_str(&self, name: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == name)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ScopeName> {
        self.0.iter()
    }

    pub fn insert(&mut self, name: ScopeName) -> bool {
        self.0.insert(name)
    }

    /// Scopes in `self` that are not in `other`.
    pub fn difference(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.difference(&other.0).cloned().collect())
    }

    /// The space-delimited wire form (RFC 6749 §3.3), in a stable order.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(name.as_str());
        }
        out
    }
}

impl FromIterator<ScopeName> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = ScopeName>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

fn missing_scope() -> OAuthError {
    OAuthError::invalid_scope(
        "the scope parameter is required: send scope with the space-separated scopes you need",
    )
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDefinition {
    pub name: ScopeName,
    /// Shown to end users on the consent screen.
    pub description: String,
    pub category: Option<String>,
    /// Makes no sense without an end user; refused for client_credentials.
    pub requires_user: bool,
    /// Scopes this one grants as well (declared inheritance).
    pub includes: ScopeSet,
    /// Built in (the OpenID Connect scopes): cannot be deleted.
    pub built_in: bool,
    /// Listed in discovery's `scopes_supported`. Others work the same but are not advertised
    /// (RFC 8414 §2 lets a server keep some scopes to itself, e.g. partner-only ones).
    pub public: bool,
}

impl ScopeDefinition {
    pub fn built_ins() -> Vec<ScopeDefinition> {
        BUILT_IN_SCOPES
            .iter()
            .map(|(name, description)| ScopeDefinition {
                name: ScopeName(name.to_string()),
                description: description.to_string(),
                category: Some("openid".into()),
                requires_user: true,
                includes: ScopeSet::default(),
                built_in: true,
                public: true,
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error(
        "invalid scope name {0:?}: \
         use 1-128 printable ASCII characters without spaces, quotes or backslashes"
    )]
    InvalidName(String),
    #[error("scope {scope} includes {missing}, which is not in the registry: create it first")]
    UnknownInclude { scope: String, missing: String },
    #[error("scope inheritance would form a cycle: {0}")]
    Cycle(String),
    #[error("scope {0} is not in the registry")]
    Unknown(String),
    #[error("scope {0} is built in and cannot be changed or deleted")]
    BuiltIn(String),
    #[error("scope description must not be empty")]
    EmptyDescription,
}

/// Who a grant is for: decides whether `requires_user` scopes are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantSubject {
    /// client_credentials: the client acts for itself.
    ClientOnly,
    /// An end user authorised the client.
    EndUser,
}

/// The validated scope registry: every included scope exists and inheritance is acyclic.
#[derive(Debug, Clone, Default)]
pub struct ScopeRegistry {
    scopes: BTreeMap<ScopeName, ScopeDefinition>,
}

impl ScopeRegistry {
    /// Builds a registry, rejecting dangling includes and cycles.
    pub fn new(definitions: impl IntoIterator<Item = ScopeDefinition>) -> Result<Self, ScopeError> {
        let scopes: BTreeMap<_, _> = definitions.into_iter().map(|d| (d.name.clone(), d)).collect();
        let registry = Self { scopes };
        registry.validate()?;
        Ok(registry)
    }

    fn validate(&self) -> Result<(), ScopeError> {
        for def in self.scopes.values() {
            if let Some(missing) = def.includes.iter().find(|s| !self.scopes.contains_key(*s)) {
                return Err(ScopeError::UnknownInclude {
                    scope: def.name.to_string(),
                    missing: missing.to_string(),
                });
            }
        }
        for name in self.scopes.keys() {
            self.find_cycle_from(name, &mut Vec::new())?;
        }
        Ok(())
    }

    fn find_cycle_from(
        &self,
        name: &ScopeName,
        path: &mut Vec<ScopeName>,
    ) -> Result<(), ScopeError> {
        if let Some(start) = path.iter().position(|p| p == name) {
            let mut cycle: Vec<_> = path[start..].iter().map(|s| s.to_string()).collect();
            cycle.push(name.to_string());
            return Err(ScopeError::Cycle(cycle.join(" -> ")));
        }
        path.push(name.clone());
        if let Some(def) = self.scopes.get(name) {
            for included in def.includes.iter() {
                self.find_cycle_from(included, path)?;
            }
        }
        path.pop();
        Ok(())
    }

    /// Returns a copy with `definition` added or replaced, validated as a whole.
    pub fn with(&self, definition: ScopeDefinition) -> Result<Self, ScopeError> {
        let mut scopes = self.scopes.clone();
        scopes.insert(definition.name.clone(), definition);
        let registry = Self { scopes };
        registry.validate()?;
        Ok(registry)
    }

    pub fn get(&self, name: &ScopeName) -> Option<&ScopeDefinition> {
        self.scopes.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ScopeDefinition> {
        self.scopes.values()
    }

    /// Scopes whose `includes` name `name` (to refuse deleting a scope others depend on).
    pub fn dependents_of<'a>(&'a self, name: &'a ScopeName) -> impl Iterator<Item = &'a ScopeName> {
        self.scopes.values().filter(move |d| d.includes.contains(name)).map(|d| &d.name)
    }

    /// The set plus everything its members include, transitively.
    pub fn expand(&self, set: &ScopeSet) -> ScopeSet {
        let mut out = ScopeSet::default();
        let mut pending: Vec<&ScopeName> = set.iter().collect();
        while let Some(name) = pending.pop() {
            if out.insert(name.clone()) {
                if let Some(def) = self.scopes.get(name) {
                    pending.extend(def.includes.iter());
                }
            }
        }
        out
    }

    /// The single place that decides what a request is granted.
    ///
    /// `requested` must be non-empty, every scope must be registered, and the request must fit
    /// within what the client is allowed (its allowed set, expanded). Nothing is dropped
    /// silently: any violation is `invalid_scope` (RFC 6749 §5.2). The grant is the requested
    /// set expanded by inheritance; that is exactly what the token's `scope` claim lists.
    pub fn grant(
        &self,
        requested: &ScopeSet,
        allowed: &ScopeSet,
        subject: GrantSubject,
    ) -> Result<ScopeSet, OAuthError> {
        if requested.is_empty() {
            return Err(missing_scope());
        }
        if let Some(unknown) = requested.iter().find(|s| !self.scopes.contains_key(*s)) {
            return Err(OAuthError::invalid_scope(format!("unknown scope {unknown}")));
        }

        let allowed = self.expand(allowed);
        let outside = requested.difference(&allowed);
        if !outside.is_empty() {
            return Err(OAuthError::invalid_scope(format!(
                "the client is not allowed the scope {}",
                outside.to_wire()
            )));
        }

        let granted = self.expand(requested);
        if subject == GrantSubject::ClientOnly {
            let needs_user = granted
                .iter()
                .filter(|s| self.scopes.get(*s).is_some_and(|d| d.requires_user))
                .cloned()
                .collect::<ScopeSet>();
            if !needs_user.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "{} requires an end user and cannot be granted to client_credentials",
                    needs_user.to_wire()
                )));
            }
        }
        Ok(granted)
    }
}

fn truncate_for_message(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, includes: &str, requires_user: bool) -> ScopeDefinition {
        ScopeDefinition {
            name: ScopeName::parse(name).unwrap(),
            description: format!("{name} description"),
            category: None,
            requires_user,
            includes: ScopeSet::parse_list(includes).unwrap(),
            built_in: false,
            public: false,
        }
    }

    fn insurance() -> ScopeRegistry {
        ScopeRegistry::new([
            def("quote:read", "", false),
            def("quote:write", "quote:read", false),
            def("policy:write", "", false),
            def("quote:convert", "quote:read policy:write", false),
            def("user:read", "", true),
        ])
        .unwrap()
    }

    fn set(list: &str) -> ScopeSet {
        ScopeSet::parse_list(list).unwrap()
    }

    #[test]
    fn scope_names_follow_rfc_6749_section_3_3() {
        for ok in ["quote:read", "a", "x!#[]~"] {
            assert!(ScopeName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\0", &"x".repeat(129)] {
            assert!(ScopeName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn missing_scope_names_what_to_send() {
        let err = ScopeSet::parse_request("   ").unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidScope);
        assert!(err.description.contains("send scope"));
    }

    #[test]
    fn scope_bombs_fail_fast() {
        let bomb = vec!["s"; 10_000].join(" ");
        assert!(ScopeSet::parse_request(&bomb).is_err());
        let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        assert!(ScopeSet::parse_request(&many.join(" ")).is_err());
    }

    #[test]
    fn inheritance_expands_transitively() {
        let registry = insurance();
        assert_eq!(
            registry.expand(&set("quote:convert")).to_wire(),
            "policy:write quote:convert quote:read"
        );
    }

    #[test]
    fn cycles_and_dangling_includes_are_rejected() {
        let cycle =
            ScopeRegistry::new([def("a", "b", false), def("b", "c", false), def("c", "a", false)]);
        assert!(matches!(cycle, Err(ScopeError::Cycle(_))));
        let self_loop = ScopeRegistry::new([def("a", "a", false)]);
        assert!(matches!(self_loop, Err(ScopeError::Cycle(_))));
        let dangling = ScopeRegistry::new([def("a", "nope", false)]);
        assert!(matches!(dangling, Err(ScopeError::UnknownInclude { .. })));
    }

    #[test]
    fn grant_is_exactly_the_request_plus_inclusions() {
        let registry = insurance();
        let granted = registry
            .grant(&set("quote:write"), &set("quote:write policy:write"), GrantSubject::ClientOnly)
            .unwrap();
        assert_eq!(granted.to_wire(), "quote:read quote:write");
    }

    #[test]
    fn included_scopes_of_allowed_scopes_may_be_requested() {
        let registry = insurance();
        let granted =
            registry.grant(&set("quote:read"), &set("quote:write"), GrantSubject::ClientOnly);
        assert_eq!(granted.unwrap().to_wire(), "quote:read");
    }

    #[test]
    fn scopes_outside_the_allowed_set_are_refused_not_dropped() {
        let registry = insurance();
        let err = registry
            .grant(&set("quote:read policy:write"), &set("quote:read"), GrantSubject::ClientOnly)
            .unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidScope);
        assert!(err.description.contains("policy:write"));
    }

    #[test]
    fn user_scopes_are_refused_for_client_credentials() {
        let registry = insurance();
        let allowed = set("user:read quote:read");
        assert!(registry.grant(&set("user:read"), &allowed, GrantSubject::ClientOnly).is_err());
        assert!(registry.grant(&set("user:read"), &allowed, GrantSubject::EndUser).is_ok());
    }

    #[test]
    fn unknown_scopes_are_invalid_scope() {
        let registry = insurance();
        let err = registry.grant(&set("nope"), &set("nope"), GrantSubject::ClientOnly).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidScope);
    }
}
