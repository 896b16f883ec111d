//! Remembered consents and the append-only record of every consent decision.

use portcullis_core::store::{ConsentStore, StoreResult};
use portcullis_core::UnixTime;
use sqlx::Row;

use crate::{map_err, SqlStore};

impl ConsentStore for SqlStore {
    async fn remembered_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get("scopes").map_err(map_err)).transpose()
    }

    async fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &str,
        allowed: bool,
        consent_version: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO consent_records \
             (user_id, client_id, scopes, decision, consent_version, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(scopes)
        .bind(if allowed { "allowed" } else { "denied" })
        .bind(consent_version)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if allowed {
            sqlx::query(
                "INSERT INTO consents (user_id, client_id, scopes, granted_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) \
                 DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
            )
            .bind(user_id)
            .bind(client_id)
            .bind(scopes)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<(String, String, UnixTime)>> {
        let rows = sqlx::query(
            "SELECT client_id, scopes, granted_at FROM consents WHERE user_id = $1 \
             ORDER BY granted_at, client_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("client_id").map_err(map_err)?,
                    r.try_get("scopes").map_err(map_err)?,
                    r.try_get("granted_at").map_err(map_err)?,
                ))
            })
            .collect()
    }

    async fn forget_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(result.rows_affected() > 0)
    }
}
