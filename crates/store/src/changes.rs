//! The change feed: rows other processes poll to learn that a client, scope, key or token
//! changed. Rows are written in the same transaction as the change they announce; on
//! PostgreSQL their commit also wakes the pollers through LISTEN/NOTIFY.

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::store::{Change, ChangeFeed, StoreResult};
use sqlx::postgres::PgListener;
use sqlx::Row;
use tokio::sync::Notify;

use crate::{map_err, SqlStore};

/// The PostgreSQL channel on which every committed change row is announced (the trigger of
/// migration 0010).
pub const CHANGES_CHANNEL: &str = "portcullis_changes";

/// Wakes `wake` each time any process commits a change row on the PostgreSQL database at
/// `url` (LISTEN/NOTIFY), until the process ends. A wake-up only: the poller still reads the
/// table, so a notification lost while the listening connection reconnects costs at most one
/// poll interval, never a change.
pub async fn listen_for_changes(url: String, wake: Arc<Notify>) {
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(CHANGES_CHANNEL).await {
                Ok(()) => loop {
                    match listener.recv().await {
                        Ok(_) => wake.notify_one(),
                        Err(err) => {
                            tracing::warn!(error = %err, "change notifications interrupted");
                            break;
                        }
                    }
                },
                Err(err) => tracing::warn!(error = %err, "cannot LISTEN for changes"),
            },
            Err(err) => tracing::warn!(error = %err, "cannot connect to LISTEN for changes"),
        }
        // Polling carries on meanwhile; try again shortly.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Most changes returned by one poll; the poller asks again at once when it gets a full page.
const PAGE: i64 = 1000;

impl ChangeFeed for SqlStore {
    async fn changes_since(&self, after: i64) -> StoreResult<(Vec<Change>, i64)> {
        let rows =
            sqlx::query("SELECT id, kind, target FROM changes WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(PAGE)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;

        let mut last = after;
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            last = row.try_get("id").map_err(map_err)?;
            let kind: String = row.try_get("kind").map_err(map_err)?;
            let target: String = row.try_get("target").map_err(map_err)?;
            let change = match kind.as_str() {
                "client" => Change::Client(target),
                "scope" => Change::Scope(target),
                "signing_key" => Change::SigningKey(target),
                "token_revoked" => Change::TokenRevoked(target),
                "api_key" => Change::ApiKey(target),
                // A newer version may announce kinds this one does not know; skipping them is
                // safe because every kind this version caches is listed above.
                _ => continue,
            };
            changes.push(change);
        }
        Ok((changes, last))
    }

    async fn latest_change_id(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM changes")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        row.try_get::<i64, _>("id").map_err(map_err)
    }
}
