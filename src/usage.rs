//! API-key usage counters, aggregated in memory and flushed to the database periodically and
//! at shutdown, so the verification hot path never writes to the database. A crash loses at
//! most one flush interval of counters; a failed flush keeps them for the next one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use portcullis_core::api_key::VerifyOutcome;
use portcullis_core::store::{ApiKeyStore, StoreResult, UsageBatch};
use portcullis_core::UnixTime;
use portcullis_store::SqlStore;

/// Distinct source addresses kept per key between two flushes; more are counted as "other".
const MAX_SOURCES_PER_KEY: usize = 1000;
const OTHER_SOURCES: &str = "other";

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    outcomes: HashMap<(String, i64, VerifyOutcome), u64>,
    sources: HashMap<(String, i64), HashMap<String, u64>>,
    last_used: HashMap<String, UnixTime>,
}

impl UsageRecorder {
    /// Counts one verification of `key_id`.
    pub fn record(
        &self,
        key_id: &str,
        outcome: VerifyOutcome,
        source: Option<IpAddr>,
        now: UnixTime,
    ) {
        let day = now.div_euclid(86_400);
        let mut pending = self.lock();
        *pending.outcomes.entry((key_id.to_owned(), day, outcome)).or_default() += 1;
        if let Some(ip) = source {
            let sources = pending.sources.entry((key_id.to_owned(), day)).or_default();
            let ip = ip.to_string();
            let slot = if sources.len() < MAX_SOURCES_PER_KEY || sources.contains_key(&ip) {
                ip
            } else {
                OTHER_SOURCES.to_owned()
            };
            *sources.entry(slot).or_default() += 1;
        }
        if outcome == VerifyOutcome::Valid {
            pending.last_used.insert(key_id.to_owned(), now);
        }
    }

    /// Writes everything counted so far. On failure the counters go back into the pending set.
    pub async fn flush(&self, store: &SqlStore) -> StoreResult<()> {
        let batch = self.take();
        if batch.is_empty() {
            return Ok(());
        }
        let result = store.record_usage(&batch).await;
        if result.is_err() {
            self.restore(batch);
        }
        result
    }

    fn take(&self) -> UsageBatch {
        let pending = std::mem::take(&mut *self.lock());
        UsageBatch {
            outcomes: pending.outcomes.into_iter().map(|((k, d, o), n)| (k, d, o, n)).collect(),
            sources: pending
                .sources
                .into_iter()
                .flat_map(|((k, d), ips)| ips.into_iter().map(move |(ip, n)| (k.clone(), d, ip, n)))
                .collect(),
            last_used: pending.last_used.into_iter().collect(),
        }
    }

    fn restore(&self, batch: UsageBatch) {
        let mut pending = self.lock();
        for (key, day, outcome, count) in batch.outcomes {
            *pending.outcomes.entry((key, day, outcome)).or_default() += count;
        }
        for (key, day, source, count) in batch.sources {
            *pending.sources.entry((key, day)).or_default().entry(source).or_default() += count;
        }
        for (key, at) in batch.last_used {
            let entry = pending.last_used.entry(key).or_insert(at);
            *entry = (*entry).max(at);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Flushes every `interval` until the process ends.
pub async fn flush_periodically(
    recorder: std::sync::Arc<UsageRecorder>,
    store: SqlStore,
    interval: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(err) = recorder.flush(&store).await {
            tracing::warn!(error = %err, "could not flush API-key usage; keeping it for later");
        }
    }
}
