//! Portcullis storage: one sqlx query layer over SQLite (the embedded default) and PostgreSQL.
//!
//! Every query is written once, with `$N` placeholders that both engines accept, and runs
//! through sqlx's `Any` driver. Only the migrations differ per dialect (`migrations/sqlite`,
//! `migrations/postgres`). Columns use types both engines decode the same way through `Any`:
//! TEXT, BIGINT (times in Unix seconds, booleans as 0/1) and BLOB/BYTEA.

mod admin;
mod api_keys;
mod changes;
mod clients;
mod consents;
mod grants;
mod group_commit;
mod jobs;
mod keys;
mod partners;
mod scopes;
mod sessions;
mod tokens;
mod users;

/// Helpers for tests of this crate and of the server (fresh databases on either engine).
pub mod testing;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use portcullis_core::store::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use changes::{listen_for_changes, CHANGES_CHANNEL};
pub use group_commit::GroupCommit;
pub use jobs::Cleanup;
pub use partners::InvitedSignUp;
pub use tokens::TokenActivity;

/// Which engine a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The storage handle: connection pools plus the engine they reach.
#[derive(Clone, Debug)]
pub struct SqlStore {
    /// Reads, and everything on PostgreSQL.
    pool: AnyPool,
    /// Writes. On SQLite one connection: the engine allows one writer at a time, and a second
    /// would wait in SQLite's busy handler, which sleeps in steps of up to 100 ms. Queued here
    /// instead, writers take their turn in order the moment the previous one commits.
    writer: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    ///
    /// SQLite files are opened in WAL mode with `synchronous=FULL`: a committed token record
    /// survives a power cut, and group commit (see [`GroupCommit`]) keeps that affordable.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Unavailable(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url).map_err(unavailable)?;
        let pool_options = || {
            AnyPoolOptions::new().acquire_timeout(Duration::from_secs(3)).after_connect(
                move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                        }
                        Ok(())
                    })
                },
            )
        };
        let pool = pool_options()
            .max_connections(max_connections)
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        let writer = match backend {
            Backend::Sqlite => pool_options()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(unavailable)?,
            Backend::Postgres => pool.clone(),
        };
        let store = Self { pool, writer, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// The URL of the embedded default database inside `data_dir`.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("portcullis.db").display())
    }

    /// Applies pending migrations for this engine.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("../../migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("../../migrations/postgres"),
        };
        migrator.run(&self.pool).await.map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(map_err)
    }

    /// (pool, open connections, idle connections) for the metrics.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        vec![
            ("read", self.pool.size(), self.pool.num_idle()),
            ("write", self.writer.size(), self.writer.num_idle()),
        ]
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// Maps sqlx errors onto the three outcomes callers act on: conflict, corrupt data, or the store
/// being unavailable (which the HTTP layer answers with 503).
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(err.to_string()),
        _ => StoreError::Unavailable(err.to_string()),
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Records a change for other processes in the same transaction as the change itself.
pub(crate) async fn record_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    kind: &str,
    target: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO changes (kind, target, created_at) VALUES ($1, $2, $3)")
        .bind(kind)
        .bind(target)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Nanoseconds since the epoch plus a process-wide counter: unique names for test databases.
pub(crate) fn unix_now_nanos() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
