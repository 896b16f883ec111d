//! Rows behind the browser sessions (tower-sessions records as JSON) and the persistent
//! sign-in failure counters, so a lockout survives a restart.

use portcullis_core::store::StoreResult;
use portcullis_core::UnixTime;
use sqlx::Row;

use crate::{map_err, SqlStore};

impl SqlStore {
    pub async fn load_session(&self, id: &str, now: UnixTime) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT data FROM sessions WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get("data").map_err(map_err)).transpose()
    }

    pub async fn save_session(
        &self,
        id: &str,
        data: &str,
        expires_at: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Inserts a session only if the id is new; false when it is taken.
    pub async fn create_session(
        &self,
        id: &str,
        data: &str,
        expires_at: UnixTime,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(result.rows_affected() > 0)
    }

    pub async fn delete_session(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// (failures so far, locked until) for a sign-in throttle key.
    pub async fn login_failures(&self, key: &str) -> StoreResult<Option<(i64, UnixTime)>> {
        let row = sqlx::query(
            "SELECT failures, locked_until FROM login_failures WHERE throttle_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok((
                r.try_get("failures").map_err(map_err)?,
                r.try_get("locked_until").map_err(map_err)?,
            ))
        })
        .transpose()
    }

    pub async fn put_login_failures(
        &self,
        key: &str,
        failures: i64,
        locked_until: UnixTime,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_failures (throttle_key, failures, locked_until, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (throttle_key) DO UPDATE SET \
             failures = excluded.failures, locked_until = excluded.locked_until, \
             updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(failures)
        .bind(locked_until)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
