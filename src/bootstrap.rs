//! Opening Portcullis's state: the database (migrated), the master key, the built-in scopes and
//! the signing key. Shared by `serve` and every CLI command, so both see the same state.

use std::io::Write;
use std::path::Path;

use portcullis_core::keys::{self, MasterKey, SigningAlgorithm};
use portcullis_core::scope::ScopeDefinition;
use portcullis_core::store::{KeyStore, ScopeStore, StoredSigningKey};
use portcullis_store::SqlStore;

use crate::clock::unix_now;
use crate::config::StorageConfig;

/// Opened storage plus the master key that protects what is stored.
pub struct Opened {
    pub store: SqlStore,
    pub master_key: MasterKey,
}

/// Opens the database (creating the data directory and SQLite file on first start), applies
/// migrations, loads or creates the master key, and adds the built-in scopes.
pub async fn open(config: &StorageConfig) -> anyhow::Result<Opened> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!("cannot create the data directory {}: {e}", config.data_dir.display())
        })?;
    }
    let store =
        SqlStore::connect(&config.database_url, config.max_connections).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot open the database at {}: {e}; check PORTCULLIS_DATABASE_URL (or \
             PORTCULLIS_DATA_DIR), that the server is up and the file writable",
                without_password(&config.database_url)
            )
        })?;
    let master_key = load_master_key(config)?;

    let stored_check = store.master_key_check(&master_key.check_value()).await?;
    if stored_check != master_key.check_value() {
        anyhow::bail!(
            "the database was set up with a different master key: set PORTCULLIS_MASTER_KEY (or \
             PORTCULLIS_MASTER_KEY_FILE) to the key it was created with"
        );
    }

    ensure_built_in_scopes(&store).await?;
    Ok(Opened { store, master_key })
}

async fn ensure_built_in_scopes(store: &SqlStore) -> anyhow::Result<()> {
    let existing = store.list_scopes().await?;
    for scope in ScopeDefinition::built_ins() {
        if !existing.iter().any(|s| s.name == scope.name) {
            store.put_scope(&scope).await?;
        }
    }
    Ok(())
}

/// The master key from `PORTCULLIS_MASTER_KEY`, else from the key file, which is created with
/// mode 0600 on first start.
fn load_master_key(config: &StorageConfig) -> anyhow::Result<MasterKey> {
    if let Some(text) = &config.master_key {
        return MasterKey::from_base64(text).ok_or_else(|| {
            anyhow::anyhow!("PORTCULLIS_MASTER_KEY must be 32 bytes in base64 (44 characters)")
        });
    }
    let path = &config.master_key_file;
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_base64(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "the master key file {} does not hold a 32-byte base64 key",
                path.display()
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create_key_file(path),
        Err(err) => anyhow::bail!("cannot read the master key file {}: {err}", path.display()),
    }
}

fn create_key_file(path: &Path) -> anyhow::Result<MasterKey> {
    use std::os::unix::fs::OpenOptionsExt;

    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let key = MasterKey::generate();
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    match file {
        Ok(mut file) => {
            file.write_all(key.to_base64().as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created the master key file");
            Ok(key)
        }
        // Another process (the server or a CLI call) created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)?;
            MasterKey::from_base64(&text)
                .ok_or_else(|| anyhow::anyhow!("the master key file {} is invalid", path.display()))
        }
        Err(err) => anyhow::bail!("cannot create the master key file {}: {err}", path.display()),
    }
}

/// Generates a signing key, seals it and makes it the current key; the previous key stays
/// published until `retired_publish_for` seconds from now.
pub async fn rotate_signing_key(
    store: &SqlStore,
    master_key: &MasterKey,
    alg: SigningAlgorithm,
    retired_publish_for: u32,
) -> anyhow::Result<String> {
    let generated = tokio::task::spawn_blocking(move || keys::generate(alg)).await??;
    let kid = generated.public.kid.clone();
    let now = unix_now();
    let stored = StoredSigningKey {
        kid: kid.clone(),
        alg,
        public_jwk: serde_json::to_string(&generated.public)?,
        sealed_private_key: master_key.seal(&kid, &generated.private_der),
        created_at: now,
        retired_at: None,
        publish_until: None,
    };
    store.rotate_signing_key(&stored, now + i64::from(retired_publish_for)).await?;
    Ok(kid)
}

/// Makes sure `alg` has a current signing key, generating one if not: on first start for the
/// access-token algorithm, and when a client is registered for ID tokens of another algorithm.
pub async fn ensure_signing_key(
    store: &SqlStore,
    master_key: &MasterKey,
    alg: SigningAlgorithm,
    max_lifetime: u32,
) -> anyhow::Result<()> {
    let keys = store.list_signing_keys().await?;
    if !keys.iter().any(|k| k.alg == alg && k.retired_at.is_none()) {
        let kid = rotate_signing_key(store, master_key, alg, max_lifetime).await?;
        tracing::info!(kid, alg = %alg, "generated a signing key");
    }
    Ok(())
}

/// A database URL fit for a log line or an error: the password of `scheme://user:pw@host`
/// replaced.
fn without_password(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    match url[start..at].find(':').map(|i| start + i) {
        Some(colon) => format!("{}:***{}", &url[..colon], &url[at..]),
        None => url.to_owned(),
    }
}
