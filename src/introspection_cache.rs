//! Cache of introspection results: a token that passed every check (signature, issuer, expiry,
//! record present, not revoked) is remembered until it expires, and forgotten the moment it is
//! revoked, here or on another instance (through the change feed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use portcullis_core::token::AccessTokenClaims;

/// Entries kept before expired ones are swept; beyond twice this the cache starts over.
const SWEEP_AT: usize = 100_000;

#[derive(Default)]
pub struct IntrospectionCache {
    inner: Mutex<Inner>,
    /// Bumped on every invalidation; a lookup that started before a bump does not store its
    /// result, so a revocation racing a cache fill cannot be undone by the fill.
    generation: AtomicU64,
}

#[derive(Default)]
struct Inner {
    by_token: HashMap<String, AccessTokenClaims>,
    token_by_jti: HashMap<String, String>,
}

impl IntrospectionCache {
    pub fn get(&self, token: &str, now: i64) -> Option<AccessTokenClaims> {
        let inner = self.lock();
        inner.by_token.get(token).filter(|c| c.exp > now).cloned()
    }

    /// The generation to pass to [`IntrospectionCache::insert`] after the storage check.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn insert(&self, token: &str, claims: AccessTokenClaims, generation: u64, now: i64) {
        let mut inner = self.lock();
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if inner.by_token.len() >= SWEEP_AT {
            inner.by_token.retain(|_, c| c.exp > now);
            let live: std::collections::HashSet<String> =
                inner.by_token.values().map(|c| c.jti.clone()).collect();
            inner.token_by_jti.retain(|jti, _| live.contains(jti));
            if inner.by_token.len() >= 2 * SWEEP_AT {
                *inner = Inner::default();
            }
        }
        inner.token_by_jti.insert(claims.jti.clone(), token.to_owned());
        inner.by_token.insert(token.to_owned(), claims);
    }

    pub fn invalidate(&self, jti: &str) {
        let mut inner = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(token) = inner.token_by_jti.remove(jti) {
            inner.by_token.remove(&token);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
