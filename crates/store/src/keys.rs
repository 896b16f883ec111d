//! The signing_keys table and the master-key check value.

use std::str::FromStr;

use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::store::{KeyStore, StoreResult, StoredSigningKey};
use portcullis_core::UnixTime;
use sqlx::Row;

use crate::{corrupt, map_err, record_change, SqlStore};

impl KeyStore for SqlStore {
    async fn list_signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, public_jwk, sealed_private_key, created_at, retired_at, \
             publish_until \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;

        rows.iter()
            .map(|row| {
                let alg: String = row.try_get("alg").map_err(map_err)?;
                Ok(StoredSigningKey {
                    kid: row.try_get("kid").map_err(map_err)?,
                    alg: SigningAlgorithm::from_str(&alg).map_err(corrupt)?,
                    public_jwk: row.try_get("public_jwk").map_err(map_err)?,
                    sealed_private_key: row.try_get("sealed_private_key").map_err(map_err)?,
                    created_at: row.try_get("created_at").map_err(map_err)?,
                    retired_at: row.try_get("retired_at").map_err(map_err)?,
                    publish_until: row.try_get("publish_until").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn rotate_signing_key(
        &self,
        new_key: &StoredSigningKey,
        publish_until: UnixTime,
    ) -> StoreResult<()> {
        let now = new_key.created_at;
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1, publish_until = $2 \
             WHERE retired_at IS NULL AND alg = $3",
        )
        .bind(now)
        .bind(publish_until)
        .bind(new_key.alg.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if publish_until <= now {
            // Unpublishing now means every older key of the algorithm too, not just the one
            // retired here (after restoring a backup, or a leak).
            sqlx::query(
                "UPDATE signing_keys SET publish_until = $1 \
                 WHERE alg = $2 AND retired_at IS NOT NULL AND publish_until > $1",
            )
            .bind(publish_until)
            .bind(new_key.alg.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private_key, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&new_key.kid)
        .bind(new_key.alg.as_str())
        .bind(&new_key.public_jwk)
        .bind(new_key.sealed_private_key.clone())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        record_change(&mut tx, "signing_key", &new_key.kid, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn master_key_check(&self, value: &str) -> StoreResult<String> {
        let sql = "INSERT INTO meta (key, value) VALUES ('master_key_check', $1) \
                   ON CONFLICT (key) DO NOTHING";
        sqlx::query(sql).bind(value).execute(&self.writer).await.map_err(map_err)?;
        sqlx::query("SELECT value FROM meta WHERE key = 'master_key_check'")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get("value")
            .map_err(map_err)
    }
}
