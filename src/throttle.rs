//! Throttles on repeated failures: brute-forcing a client secret (per client and source address)
//! and scanning introspection for valid tokens (per calling client). RFC 6749 §10.10 and
//! RFC 7662 §4 ask for exactly this; SECURITY.md E-09 and G-07 test it.
//!
//! Counting uses a sliding window (the previous window's count, weighted by how much of it still
//! overlaps, plus the current count), so a burst at a window boundary cannot double the limit.
//! Check and count happen under one lock: concurrent attempts cannot slip past the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked before stale ones are swept (attackers choose the keys, so the map is bounded).
const MAX_KEYS: usize = 100_000;

pub struct FailureThrottle {
    limit: u32,
    window: Duration,
    entries: Mutex<HashMap<String, Counter>>,
}

#[derive(Clone, Copy)]
struct Counter {
    window_start: Instant,
    current: u32,
    previous: u32,
}

impl FailureThrottle {
    /// Allows `limit` failures per key in any `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, entries: Mutex::new(HashMap::new()) }
    }

    /// Counts one attempt against `key`, or returns `Err(retry_after)` when the key has reached
    /// its limit. Every attempt counts as a failure until [`FailureThrottle::forgive`] says it
    /// succeeded, so concurrent attempts cannot all pass a check before any of them is counted.
    pub fn acquire(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            let window = self.window;
            entries.retain(|_, c| now.duration_since(c.window_start) < window * 2);
        }
        let counter = entries.entry(key.to_owned()).or_insert(Counter {
            window_start: now,
            current: 0,
            previous: 0,
        });
        self.roll(counter, now);
        if self.weighted(counter, now) >= f64::from(self.limit) {
            let retry = self.window.saturating_sub(now.duration_since(counter.window_start));
            return Err(retry.max(Duration::from_secs(1)));
        }
        counter.current += 1;
        Ok(())
    }

    /// Takes back an attempt that turned out to be a success.
    pub fn forgive(&self, key: &str) {
        if let Some(counter) = self.lock().get_mut(key) {
            counter.current = counter.current.saturating_sub(1);
        }
    }

    fn roll(&self, counter: &mut Counter, now: Instant) {
        let elapsed = now.duration_since(counter.window_start);
        if elapsed >= self.window * 2 {
            *counter = Counter { window_start: now, current: 0, previous: 0 };
        } else if elapsed >= self.window {
            counter.previous = counter.current;
            counter.current = 0;
            counter.window_start += self.window;
        }
    }

    fn weighted(&self, counter: &Counter, now: Instant) -> f64 {
        let into =
            now.duration_since(counter.window_start).as_secs_f64() / self.window.as_secs_f64();
        f64::from(counter.previous) * (1.0 - into.min(1.0)) + f64::from(counter.current)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Counter>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_at_the_limit_per_key() {
        let throttle = FailureThrottle::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(throttle.acquire("a").is_ok());
        }
        assert!(throttle.acquire("a").is_err());
        assert!(throttle.acquire("b").is_ok(), "other keys are unaffected");
    }

    #[test]
    fn the_window_slides() {
        let throttle = FailureThrottle::new(2, Duration::from_millis(50));
        throttle.acquire("a").unwrap();
        throttle.acquire("a").unwrap();
        assert!(throttle.acquire("a").is_err());
        std::thread::sleep(Duration::from_millis(120));
        assert!(throttle.acquire("a").is_ok());
    }

    #[test]
    fn successes_are_forgiven() {
        let throttle = FailureThrottle::new(1, Duration::from_secs(60));
        throttle.acquire("a").unwrap();
        throttle.forgive("a");
        assert!(throttle.acquire("a").is_ok());
    }
}
