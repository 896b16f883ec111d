//! The API-key rate limit: the generic cell rate algorithm (GCRA), the arithmetic only.
//!
//! A key allowed `R` requests per minute with a burst of `B` is served one request every
//! `T = 60 s / R` on average, and `B` more may arrive at once after a quiet spell. In any 60 s
//! window at most `R + B` requests pass, so a window boundary never lets twice the limit through
//! (the fault of fixed per-minute buckets). These are the semantics of nginx's `limit_req rate=
//! burst= nodelay`. The state per key is one number, the theoretical arrival time (TAT), so the
//! same step runs in process or atomically inside Redis (`src/rate_limiter.rs` carries the Lua
//! transcription of [`RateLimit::check`]).

/// Times here are microseconds since the Unix epoch.
pub type Micros = i64;

const MINUTE_MICROS: i64 = 60_000_000;

/// A key's configured limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

/// The outcome of one request against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// The TAT to store when allowed (unchanged state when refused).
    pub new_tat: Micros,
    /// `RateLimit-Limit`: requests per minute.
    pub limit: u32,
    /// Requests that would pass right now after this one.
    pub remaining: u32,
    /// Seconds until the limit is fully replenished.
    pub reset_seconds: u64,
    /// When refused: seconds until one request would pass.
    pub retry_after_seconds: u64,
}

impl RateLimit {
    /// `T`: the average spacing of requests.
    pub fn emission_interval(&self) -> Micros {
        (MINUTE_MICROS / i64::from(self.per_minute.max(1))).max(1)
    }

    /// `τ`: how far ahead of schedule a request may be and still pass.
    pub fn tolerance(&self) -> Micros {
        self.emission_interval() * i64::from(self.burst)
    }

    /// One GCRA step: whether a request at `now` passes given the stored TAT (`None` for a key
    /// never seen or whose state expired).
    pub fn check(&self, stored_tat: Option<Micros>, now: Micros) -> RateDecision {
        let interval = self.emission_interval();
        let tolerance = self.tolerance();
        let tat = stored_tat.unwrap_or(now).max(now);
        let allow_at = tat - tolerance;

        if now < allow_at {
            return RateDecision {
                allowed: false,
                new_tat: tat,
                limit: self.per_minute,
                remaining: 0,
                reset_seconds: ceil_seconds(tat - now),
                retry_after_seconds: ceil_seconds(allow_at - now).max(1),
            };
        }
        let new_tat = tat + interval;
        let headroom = now + tolerance - new_tat;
        let remaining = if headroom < 0 { 0 } else { headroom / interval + 1 };
        RateDecision {
            allowed: true,
            new_tat,
            limit: self.per_minute,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_seconds: ceil_seconds(new_tat - now),
            retry_after_seconds: 0,
        }
    }

    /// How long the stored TAT matters: after this, a missing entry means the same as the old one.
    pub fn state_ttl_micros(&self, tat: Micros, now: Micros) -> Micros {
        (tat - now).max(0) + self.emission_interval()
    }
}

fn ceil_seconds(micros: Micros) -> u64 {
    u64::try_from(micros.max(0)).unwrap_or(0).div_ceil(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `count` requests at `at` (microseconds) and returns how many passed.
    fn burst_at(limit: &RateLimit, tat: &mut Option<Micros>, at: Micros, count: u32) -> u32 {
        let mut passed = 0;
        for _ in 0..count {
            let decision = limit.check(*tat, at);
            if decision.allowed {
                *tat = Some(decision.new_tat);
                passed += 1;
            }
        }
        passed
    }

    #[test]
    fn burst_then_steady_rate() {
        let limit = RateLimit { per_minute: 5, burst: 4 };
        let mut tat = None;
        assert_eq!(burst_at(&limit, &mut tat, 0, 10), 5, "one plus the burst at once");
        let refused = limit.check(tat, 1);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_seconds, 12);
        assert_eq!(burst_at(&limit, &mut tat, 12_000_000, 3), 1, "then one per 12 s");
    }

    #[test]
    fn without_burst_requests_are_spaced() {
        let limit = RateLimit { per_minute: 60, burst: 0 };
        let mut tat = None;
        assert_eq!(burst_at(&limit, &mut tat, 0, 3), 1);
        assert_eq!(burst_at(&limit, &mut tat, 999_999, 1), 0);
        assert_eq!(burst_at(&limit, &mut tat, 1_000_000, 1), 1);
    }

    #[test]
    fn no_window_ever_exceeds_limit_plus_burst() {
        // Hammer the limit at 10 ms steps for five minutes, then slide a 60 s window over the
        // accepted requests: no window may hold more than R + B.
        let limit = RateLimit { per_minute: 30, burst: 5 };
        let mut tat = None;
        let mut accepted = Vec::new();
        for step in 0..30_000 {
            let at = step * 10_000;
            if burst_at(&limit, &mut tat, at, 3) > 0 {
                accepted.push(at);
            }
        }
        let mut start = 0;
        for end in 0..accepted.len() {
            while accepted[end] - accepted[start] >= MINUTE_MICROS {
                start += 1;
            }
            let in_window = end - start + 1;
            assert!(in_window <= 35, "window holds {in_window}");
        }
    }

    #[test]
    fn remaining_and_reset_count_down() {
        let limit = RateLimit { per_minute: 10, burst: 2 };
        let first = limit.check(None, 0);
        assert_eq!((first.remaining, first.reset_seconds), (2, 6));
        let second = limit.check(Some(first.new_tat), 0);
        assert_eq!((second.remaining, second.reset_seconds), (1, 12));
    }
}
