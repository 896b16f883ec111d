//! Where API-key rate-limit state lives: in this process (one instance), or in Redis when
//! `PORTCULLIS_REDIS_URL` is set so every instance draws on the same limit.
//!
//! Both run the GCRA step of `portcullis_core::rate_limit`. In Redis the admission test and the
//! write of the new TAT run inside one Lua script, atomically, on Redis's own clock, so two
//! instances can never both spend the last unit. The script only decides and stores; the
//! remaining/reset figures are then computed by the core from the TAT the script saw, so that
//! arithmetic exists once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use portcullis_core::rate_limit::{Micros, RateDecision, RateLimit};

/// Keys tracked in process before entries whose state has lapsed are swept.
const SWEEP_AT: usize = 100_000;

/// The GCRA admission test, transcribed from `RateLimit::check`. Returns
/// `{allowed (0|1), TAT before the request, now}`, all in microseconds.
const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if now < tat - tolerance then
  return {0, tat, now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, tat, now}
";

#[derive(Debug, thiserror::Error)]
#[error("the shared rate limiter is unavailable: {0}")]
pub struct LimiterUnavailable(String);

pub enum RateLimiter {
    InProcess(Mutex<HashMap<String, Micros>>),
    Redis { connection: redis::aio::ConnectionManager, script: redis::Script, prefix: String },
}

impl RateLimiter {
    pub fn in_process() -> Self {
        Self::InProcess(Mutex::new(HashMap::new()))
    }

    /// Connects to Redis; `prefix` namespaces the keys (several deployments may share a server).
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, LimiterUnavailable> {
        let unavailable = |e: redis::RedisError| LimiterUnavailable(e.to_string());
        let client = redis::Client::open(url).map_err(unavailable)?;
        // Fail fast: a verification waiting on Redis is a gateway request waiting too. A lost
        // connection is re-established in the background by the manager.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_millis(500))
            .set_number_of_retries(2)
            .set_max_delay(500);
        let connection = redis::aio::ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(Self::Redis {
            connection,
            script: redis::Script::new(GCRA_SCRIPT),
            prefix: prefix.to_owned(),
        })
    }

    /// The in-process state still in force, to save at shutdown (empty for Redis, which keeps
    /// its own).
    pub fn snapshot(&self) -> Vec<(String, Micros)> {
        match self {
            Self::InProcess(state) => {
                let now = now_micros();
                let state = state.lock().unwrap_or_else(|e| e.into_inner());
                state.iter().filter(|(_, tat)| **tat > now).map(|(k, t)| (k.clone(), *t)).collect()
            }
            Self::Redis { .. } => Vec::new(),
        }
    }

    /// Takes back state saved by [`RateLimiter::snapshot`] before a restart.
    pub fn restore(&self, saved: Vec<(String, Micros)>) {
        if let Self::InProcess(state) = self {
            state.lock().unwrap_or_else(|e| e.into_inner()).extend(saved);
        }
    }

    /// Spends one unit of `key_id`'s limit if it has one left.
    pub async fn check(
        &self,
        key_id: &str,
        limit: RateLimit,
    ) -> Result<RateDecision, LimiterUnavailable> {
        match self {
            Self::InProcess(state) => {
                let now = now_micros();
                let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                if state.len() >= SWEEP_AT {
                    state.retain(|_, tat| *tat > now);
                }
                let decision = limit.check(state.get(key_id).copied(), now);
                if decision.allowed {
                    state.insert(key_id.to_owned(), decision.new_tat);
                }
                Ok(decision)
            }
            Self::Redis { connection, script, prefix } => {
                let mut connection = connection.clone();
                let (allowed, tat, now): (i64, Micros, Micros) = script
                    .key(format!("{prefix}:ratelimit:{key_id}"))
                    .arg(limit.emission_interval())
                    .arg(limit.tolerance())
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|e| LimiterUnavailable(e.to_string()))?;
                let decision = limit.check(Some(tat), now);
                if decision.allowed != (allowed == 1) {
                    // Only possible if the script and the core ever disagree: trust the script,
                    // which is what was stored.
                    tracing::error!(key_id, "rate-limit script and core disagree");
                    return Ok(RateDecision { allowed: allowed == 1, ..decision });
                }
                Ok(decision)
            }
        }
    }
}

fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as Micros)
        .unwrap_or_default()
}
