//! Browser sessions (tower-sessions) kept in Portcullis's own database, so every instance sees
//! them and a restart logs nobody out. Session ids are stored only as keyed hashes: a copy of
//! the database does not let anyone ride a session.
//!
//! A session ends after its idle lifetime (`PORTCULLIS_SESSION_LIFETIME`, moved by activity) or
//! at its absolute end (`PORTCULLIS_SESSION_ABSOLUTE_LIFETIME` after it was created, which
//! activity never moves), whichever comes first (SECURITY.md H-25; OWASP session management).
//! Signing in issues a new session id, so the absolute lifetime counts from the sign-in.
//! Expired rows are deleted by the cleanup job (src/jobs.rs).

use async_trait::async_trait;
use portcullis_core::secret::SecretHasher;
use portcullis_store::SqlStore;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone)]
pub struct SqlSessionStore {
    store: SqlStore,
    hasher: SecretHasher,
    /// Seconds from creation to the session's absolute end.
    absolute_lifetime: i64,
}

impl std::fmt::Debug for SqlSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlSessionStore")
    }
}

impl SqlSessionStore {
    pub fn new(
        store: SqlStore,
        hasher: SecretHasher,
        absolute_lifetime: std::time::Duration,
    ) -> Self {
        let absolute_lifetime = i64::try_from(absolute_lifetime.as_secs()).unwrap_or(i64::MAX);
        Self { store, hasher, absolute_lifetime }
    }

    /// The absolute end of a session created now.
    fn ends_at(&self) -> i64 {
        OffsetDateTime::now_utc().unix_timestamp().saturating_add(self.absolute_lifetime)
    }

    fn key(&self, id: &Id) -> String {
        self.hasher.hash(&id.to_string()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id on the (astronomically unlikely) collision, never someone else's session.
        loop {
            let data = encode(record)?;
            let expires = record.expiry_date.unix_timestamp();
            if self
                .store
                .create_session(&self.key(&record.id), &data, expires, self.ends_at())
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let expires = record.expiry_date.unix_timestamp();
        let key = self.key(&record.id);
        self.store.save_session(&key, &data, expires, self.ends_at()).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let Some(data) = self.store.load_session(&self.key(id), now).await.map_err(backend)? else {
            return Ok(None);
        };
        serde_json::from_str(&data)
            .map(Some)
            .map_err(|e| session_store::Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete_session(&self.key(id)).await.map_err(backend)
    }
}
