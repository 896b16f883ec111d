//! What the running server keeps in memory: clients, the scope registry and signing keys, kept
//! in step with the database by polling the change feed, so a change made by the CLI or another
//! instance takes effect here within [`POLL_INTERVAL`] (at once on PostgreSQL, whose commits
//! wake the poller through LISTEN/NOTIFY).
//!
//! The replicas are trusted for revocation-sensitive answers only while the feed is being read:
//! once the last complete read is older than [`TRUSTED_FOR`], introspection and API-key checks
//! go back to the database, and fail with it (fail closed, RFC 7662 §4; SECURITY.md FT-04).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use portcullis_core::api_key::ApiKey;
use portcullis_core::client::{Client, ClientId};
use portcullis_core::keys::{MasterKey, PublicJwk, SigningAlgorithm, SigningKey};
use portcullis_core::scope::ScopeRegistry;
use portcullis_core::store::{
    ApiKeyStore, Change, ChangeFeed, ClientStore, KeyStore, ScopeStore, StoreResult,
};
use portcullis_core::token::VerificationKeys;
use portcullis_store::SqlStore;
use tokio::sync::Notify;

use crate::clock::unix_now;
use crate::introspection_cache::IntrospectionCache;

/// How often the change feed is read. Well under the one-second promise.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How long after its last complete read of the feed this instance still answers from its
/// caches: the one second within which another instance's revocation must be honoured.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// The signing material in use: at most one current key per algorithm, plus every published key
/// for verification.
pub struct KeyRing {
    /// Signs access tokens: the current key of `PORTCULLIS_SIGNING_ALG`.
    pub current: Arc<SigningKey>,
    /// Signs ID tokens, chosen by the client's registered algorithm.
    pub by_alg: HashMap<SigningAlgorithm, Arc<SigningKey>>,
    pub verification: VerificationKeys,
    /// The JWKS document, rendered once per change.
    pub jwks_json: String,
    /// Algorithms with a current key, in a stable order (what discovery advertises).
    pub algorithms: Vec<SigningAlgorithm>,
}

/// Shared in-memory state. Readers take a cheap snapshot (`Arc` clone) under a read lock.
pub struct Live {
    clients: RwLock<Arc<HashMap<ClientId, Arc<Client>>>>,
    registry: RwLock<Arc<ScopeRegistry>>,
    keys: RwLock<Arc<KeyRing>>,
    access_token_alg: SigningAlgorithm,
    /// Updated in place (not swapped whole): there may be many keys and a change touches one.
    api_keys: RwLock<ApiKeyIndex>,
    /// The monotonic clock's origin for `synced_ms`.
    loaded_at: Instant,
    /// When the last complete read of the change feed began, in milliseconds after
    /// `loaded_at`: an atomic, since every introspection and key check reads it.
    synced_ms: AtomicU64,
}

/// API keys by the keyed hash of the key, the only way a presented key is looked up.
#[derive(Default)]
struct ApiKeyIndex {
    by_hash: HashMap<Vec<u8>, Arc<ApiKey>>,
    hash_by_id: HashMap<String, Vec<u8>>,
}

impl ApiKeyIndex {
    fn put(&mut self, key: ApiKey) {
        self.remove(&key.id);
        self.hash_by_id.insert(key.id.clone(), key.key_hash.clone());
        self.by_hash.insert(key.key_hash.clone(), Arc::new(key));
    }

    fn remove(&mut self, id: &str) {
        if let Some(hash) = self.hash_by_id.remove(id) {
            self.by_hash.remove(&hash);
        }
    }
}

impl Live {
    /// Loads everything; access tokens are signed with the current key of `access_token_alg`.
    pub async fn load(
        store: &SqlStore,
        master_key: &MasterKey,
        access_token_alg: SigningAlgorithm,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            clients: RwLock::new(Arc::new(load_clients(store).await?)),
            registry: RwLock::new(Arc::new(load_registry(store).await?)),
            keys: RwLock::new(Arc::new(load_keys(store, master_key, access_token_alg).await?)),
            access_token_alg,
            api_keys: RwLock::new(load_api_keys(store).await?),
            loaded_at: Instant::now(),
            synced_ms: AtomicU64::new(0),
        })
    }

    /// Whether every change committed more than [`TRUSTED_FOR`] ago has been applied here, so
    /// a cached "active" or "valid" may still be given without asking the database.
    pub fn in_sync(&self) -> bool {
        let synced = Duration::from_millis(self.synced_ms.load(Ordering::Acquire));
        self.loaded_at.elapsed().saturating_sub(synced) <= TRUSTED_FOR
    }

    /// Records a complete read of the feed that began at `began`.
    fn mark_synced(&self, began: Instant) {
        let ms = began.saturating_duration_since(self.loaded_at).as_millis();
        self.synced_ms.fetch_max(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Release);
    }

    pub fn client(&self, id: &str) -> Option<Arc<Client>> {
        let id = ClientId::parse(id)?;
        read(&self.clients).get(&id).cloned()
    }

    pub fn registry(&self) -> Arc<ScopeRegistry> {
        read(&self.registry)
    }

    pub fn keys(&self) -> Arc<KeyRing> {
        read(&self.keys)
    }

    /// The API key whose keyed hash is `hash`.
    pub fn api_key_by_hash(&self, hash: &[u8]) -> Option<Arc<ApiKey>> {
        self.api_keys.read().unwrap_or_else(|e| e.into_inner()).by_hash.get(hash).cloned()
    }

    /// Applies one batch of changes from the feed.
    async fn apply(
        &self,
        changes: &[Change],
        store: &SqlStore,
        master_key: &MasterKey,
        introspection: &IntrospectionCache,
    ) -> anyhow::Result<()> {
        let mut reload_registry = false;
        let mut reload_keys = false;
        for change in changes {
            match change {
                Change::Client(id) => self.reload_client(store, id).await?,
                Change::Scope(_) => reload_registry = true,
                Change::SigningKey(_) => reload_keys = true,
                Change::TokenRevoked(jti) => introspection.invalidate(jti),
                Change::ApiKey(id) => self.reload_api_key(store, id).await?,
            }
        }
        if reload_registry {
            *write(&self.registry) = Arc::new(load_registry(store).await?);
        }
        if reload_keys {
            let keys = load_keys(store, master_key, self.access_token_alg).await?;
            *write(&self.keys) = Arc::new(keys);
        }
        Ok(())
    }

    async fn reload_client(&self, store: &SqlStore, id: &str) -> StoreResult<()> {
        let Some(id) = ClientId::parse(id) else { return Ok(()) };
        let client = store.get_client(&id).await?;
        let mut clients = (*read(&self.clients)).clone();
        match client {
            Some(client) => clients.insert(id, Arc::new(client)),
            None => clients.remove(&id),
        };
        *write(&self.clients) = Arc::new(clients);
        Ok(())
    }

    async fn reload_api_key(&self, store: &SqlStore, id: &str) -> StoreResult<()> {
        let key = store.get_api_key(id).await?;
        let mut index = self.api_keys.write().unwrap_or_else(|e| e.into_inner());
        match key {
            Some(key) => index.put(key),
            None => index.remove(id),
        }
        Ok(())
    }
}

async fn load_api_keys(store: &SqlStore) -> StoreResult<ApiKeyIndex> {
    let mut index = ApiKeyIndex::default();
    for key in store.list_api_keys(None).await? {
        index.put(key);
    }
    Ok(index)
}

fn read<T: ?Sized>(lock: &RwLock<Arc<T>>) -> Arc<T> {
    // A poisoned lock only means a writer panicked between whole-value swaps; the Arc inside is
    // still a complete snapshot.
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T: ?Sized>(lock: &RwLock<Arc<T>>) -> std::sync::RwLockWriteGuard<'_, Arc<T>> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

async fn load_clients(store: &SqlStore) -> StoreResult<HashMap<ClientId, Arc<Client>>> {
    Ok(store.list_clients().await?.into_iter().map(|c| (c.id.clone(), Arc::new(c))).collect())
}

async fn load_registry(store: &SqlStore) -> anyhow::Result<ScopeRegistry> {
    Ok(ScopeRegistry::new(store.list_scopes().await?)?)
}

async fn load_keys(
    store: &SqlStore,
    master_key: &MasterKey,
    access_token_alg: SigningAlgorithm,
) -> anyhow::Result<KeyRing> {
    let now = unix_now();
    let stored = store.list_signing_keys().await?;

    // The newest unretired key of each algorithm; the store retires older ones at rotation.
    let mut by_alg = HashMap::new();
    for key in stored.iter().filter(|k| k.retired_at.is_none()) {
        let private = master_key.open(&key.kid, &key.sealed_private_key).map_err(|e| {
            anyhow::anyhow!(
                "signing key {} cannot be unsealed ({e}): the database was altered or restored \
                 without its master key; restore both together, or rotate with \
                 `portcullis keys rotate --alg {} --unpublish-previous`",
                key.kid,
                key.alg
            )
        })?;
        let signer = SigningKey::from_der(key.kid.clone(), key.alg, &private)?;
        by_alg.insert(key.alg, Arc::new(signer));
    }
    let current = by_alg.get(&access_token_alg).cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "no current {access_token_alg} signing key (PORTCULLIS_SIGNING_ALG): run \
             `portcullis keys rotate --alg {access_token_alg}` or start the server"
        )
    })?;

    let mut published = Vec::new();
    for key in &stored {
        let still_needed = key.retired_at.is_none() || key.publish_until.is_some_and(|t| t > now);
        if still_needed {
            let jwk: PublicJwk = serde_json::from_str(&key.public_jwk)?;
            published.push((key.alg, jwk));
        }
    }
    let verification = VerificationKeys::new(&published)?;
    let jwks: Vec<&PublicJwk> = published.iter().map(|(_, jwk)| jwk).collect();
    let jwks_json = serde_json::to_string(&serde_json::json!({ "keys": jwks }))?;
    let mut algorithms: Vec<_> = by_alg.keys().copied().collect();
    algorithms.sort_by_key(|alg| alg.as_str());
    Ok(KeyRing { current, by_alg, verification, jwks_json, algorithms })
}

/// Follows the change feed until the process ends: reads it every [`POLL_INTERVAL`] and
/// whenever `wake` fires (PostgreSQL LISTEN/NOTIFY, `portcullis_store::listen_for_changes`).
/// Errors are logged and retried: a database hiccup must not stop the server from picking up
/// later changes.
pub async fn follow_changes(
    live: Arc<Live>,
    store: SqlStore,
    master_key: Arc<MasterKey>,
    introspection: Arc<IntrospectionCache>,
    mut last_seen: i64,
    wake: Arc<Notify>,
) {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut key_refresh_at = unix_now() + 60;
    loop {
        // Every poll interval, or at once when PostgreSQL announces a committed change.
        tokio::select! {
            _ = ticker.tick() => {}
            () = wake.notified() => {}
        }
        let began = Instant::now();
        match store.changes_since(last_seen).await {
            Ok((changes, last)) => {
                if let Err(err) = live.apply(&changes, &store, &master_key, &introspection).await {
                    tracing::warn!(error = %err, "could not apply changes; retrying");
                    continue;
                }
                last_seen = last;
                live.mark_synced(began);
            }
            Err(err) => tracing::warn!(error = %err, "could not read the change feed; retrying"),
        }
        // Retired keys leave the JWKS once their tokens have expired; nothing announces that
        // moment, so the key ring is rebuilt every minute.
        if unix_now() >= key_refresh_at {
            key_refresh_at = unix_now() + 60;
            let refresh = [Change::SigningKey(String::new())];
            if let Err(err) = live.apply(&refresh, &store, &master_key, &introspection).await {
                tracing::warn!(error = %err, "could not refresh signing keys");
            }
        }
    }
}
