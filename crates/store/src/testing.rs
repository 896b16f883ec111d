//! Fresh, isolated databases for tests, on either engine.
//!
//! `PORTCULLIS_TEST_BACKEND` picks the engine (`sqlite`, the default, or `postgres`). PostgreSQL
//! tests create one database per test on the server named by `PORTCULLIS_TEST_POSTGRES_URL`
//! (default: the local server, user postgres), so tests never see each other's rows.

use std::path::PathBuf;

use sqlx::{Connection, Executor};

use crate::Backend;

/// The engine the current test run targets.
pub fn backend_under_test() -> Backend {
    match std::env::var("PORTCULLIS_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// A database for one test; the SQLite file lives in a temporary folder removed on drop.
pub struct TestDatabase {
    pub url: String,
    pub data_dir: PathBuf,
    _dir: Option<tempfile_dir::TempDir>,
}

impl TestDatabase {
    /// The same database for a second server instance; the first keeps ownership of the files.
    pub fn share(&self) -> TestDatabase {
        TestDatabase { url: self.url.clone(), data_dir: self.data_dir.clone(), _dir: None }
    }
}

/// Creates an empty database on the engine under test.
pub async fn fresh_database() -> TestDatabase {
    let dir = tempfile_dir::TempDir::new();
    let data_dir = dir.path().to_owned();
    let url = match backend_under_test() {
        Backend::Sqlite => crate::SqlStore::sqlite_url(&data_dir),
        Backend::Postgres => fresh_postgres_database().await,
    };
    TestDatabase { url, data_dir, _dir: Some(dir) }
}

async fn fresh_postgres_database() -> String {
    let admin_url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("pc_test_{}", crate::unix_now_nanos());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL tests need a server at {admin_url} (PORTCULLIS_TEST_POSTGRES_URL): {e}")
    });
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin_url);
    format!("{base}/{name}")
}

/// A temporary directory without pulling a dependency into the library.
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> Self {
            let path =
                std::env::temp_dir().join(format!("portcullis-test-{}", crate::unix_now_nanos()));
            std::fs::create_dir_all(&path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
            Self(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
