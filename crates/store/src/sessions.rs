//! Rows behind the browser sessions (tower-sessions records as JSON) and the persistent
//! sign-in failure counters, so a lockout survives a restart.

use portcullis_core::store::StoreResult;
use portcullis_core::UnixTime;
use sqlx::Row;

use crate::{map_err, SqlStore};

impl SqlStore {
    /// The session's data while it is within both its idle and its absolute lifetime.
    pub async fn load_session(&self, id: &str, now: UnixTime) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT data FROM sessions WHERE id = $1 AND expires_at > $2 AND ends_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| r.try_get("data").map_err(map_err)).transpose()
    }

    /// Updates a session's data and idle expiry. Its absolute end never moves: `ends_at` is
    /// used only if the row has to be created again.
    pub async fn save_session(
        &self,
        id: &str,
        data: &str,
        expires_at: UnixTime,
        ends_at: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at, ends_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .bind(ends_at)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Inserts a session only if the id is new; false when it is taken. `ends_at` is its
    /// absolute end, however active it stays.
    pub async fn create_session(
        &self,
        id: &str,
        data: &str,
        expires_at: UnixTime,
        ends_at: UnixTime,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO sessions (id, data, expires_at, ends_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .bind(ends_at)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(result.rows_affected() > 0)
    }

    pub async fn delete_session(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
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

    /// Counts one sign-in attempt against a key, atomically (concurrent attempts are never
    /// lost), and returns the count including this one.
    pub async fn count_login_attempt(&self, key: &str, now: UnixTime) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO login_failures (throttle_key, failures, locked_until, updated_at) \
             VALUES ($1, 1, 0, $2) ON CONFLICT (throttle_key) DO UPDATE SET \
             failures = login_failures.failures + 1, updated_at = excluded.updated_at \
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .fetch_one(&self.writer)
        .await
        .map_err(map_err)?;
        row.try_get("failures").map_err(map_err)
    }

    /// Locks a key until `until`; a lock already running longer is kept.
    pub async fn lock_login(&self, key: &str, until: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE login_failures SET locked_until = $2 \
             WHERE throttle_key = $1 AND locked_until < $2",
        )
        .bind(key)
        .bind(until)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Locks a key until `until` only if it is not locked at `now`; true for the one caller
    /// that set the lock, however many race for it.
    pub async fn try_lock_login(
        &self,
        key: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE login_failures SET locked_until = $3 \
             WHERE throttle_key = $1 AND locked_until <= $2",
        )
        .bind(key)
        .bind(now)
        .bind(until)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(result.rows_affected() == 1)
    }

    /// Lifts the lock `until` that a successful attempt had set on itself.
    pub async fn release_login_lock(&self, key: &str, until: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE login_failures SET locked_until = 0 \
             WHERE throttle_key = $1 AND locked_until = $2",
        )
        .bind(key)
        .bind(until)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Takes back one counted attempt (it turned out to be a successful sign-in).
    pub async fn forgive_login_attempt(&self, key: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1 \
             WHERE throttle_key = $1 AND failures > 0",
        )
        .bind(key)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
