//! Portcullis protocol core: the OAuth 2 / OpenID Connect rules, free of I/O.
//!
//! Invariants this crate keeps, so the layers above cannot break them:
//! - It depends on no web, storage or UI framework (checked by `tests/boundary.rs` at the root).
//! - Protocol values are newtypes validated when constructed; after that nobody re-checks them.
//! - Every error an endpoint can return comes from the closed catalogue in [`error`].
//! - Scope inheritance is declared in the [`scope::ScopeRegistry`] and expanded only there.
//! - Secrets live in [`secret::Secret`]: redacted in `Debug`, compared in constant time, stored
//!   only as keyed hashes.
//! - Storage is reached through the small traits in [`store`]; time is passed in explicitly.

// Test helpers unwrap: a panic is how a test reports a broken expectation.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod admin;
pub mod api_key;
pub mod audit;
pub mod authorize;
pub mod cidr;
pub mod client;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod grant;
pub mod id_token;
pub mod introspection;
pub mod keys;
pub mod lifetime;
pub mod partner;
pub mod password;
pub mod pkce;
pub mod rate_limit;
pub mod redirect_uri;
pub mod scope;
pub mod secret;
pub mod store;
pub mod token;
pub mod totp;
pub mod user;

/// Seconds since the Unix epoch. Every time in the core is passed in as this, never read inline,
/// so tests can pin the clock.
pub type UnixTime = i64;
