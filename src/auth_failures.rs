//! Failed client authentications counted per day, client and reason, for the admin dashboard
//! and analytics. Counted in memory on the request path and written with the API-key usage
//! flush (and at shutdown), like those counters; a failed write keeps them for the next one.

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_core::store::StoreResult;
use portcullis_core::UnixTime;
use portcullis_store::SqlStore;

/// The client name for attempts whose client id is not a registered client: attacker-chosen ids
/// must not grow the table.
pub const UNKNOWN_CLIENT: &str = "unknown";

#[derive(Default)]
pub struct AuthFailureCounter {
    pending: Mutex<HashMap<(i64, String, &'static str), u64>>,
}

impl AuthFailureCounter {
    /// Counts one failure; `client_id` only when it names a registered client.
    pub fn record(&self, client_id: Option<&str>, reason: &'static str, now: UnixTime) {
        let client = client_id.unwrap_or(UNKNOWN_CLIENT).to_owned();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        *pending.entry((now.div_euclid(86_400), client, reason)).or_default() += 1;
    }

    /// Writes what was counted; on failure the counts go back for the next flush.
    pub async fn flush(&self, store: &SqlStore) -> StoreResult<()> {
        let batch: Vec<((i64, String, &'static str), u64)> =
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<(i64, String, String, u64)> = batch
            .iter()
            .map(|((day, client, reason), n)| (*day, client.clone(), (*reason).to_owned(), *n))
            .collect();
        if let Err(err) = store.add_auth_failures(&rows).await {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (key, n) in batch {
                *pending.entry(key).or_default() += n;
            }
            return Err(err);
        }
        Ok(())
    }
}
