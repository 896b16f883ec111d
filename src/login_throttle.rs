//! Failed sign-ins, throttled per account and per source address with a growing lockout
//! (RFC 6749 §10.10; SECURITY.md H). Counters live in the database, so neither a restart nor
//! another instance resets them.

use portcullis_core::store::StoreResult;
use portcullis_core::UnixTime;
use portcullis_store::SqlStore;

/// Failures allowed before the first lockout: per account, and per source address (which may
/// be many users behind one NAT).
const ACCOUNT_FREE_FAILURES: i64 = 5;
const ADDRESS_FREE_FAILURES: i64 = 20;
/// The first lockout lasts this long and doubles with every further failure, up to the cap.
const FIRST_LOCKOUT_SECONDS: i64 = 30;
const MAX_LOCKOUT_SECONDS: i64 = 15 * 60;

pub struct LoginThrottle<'a> {
    store: &'a SqlStore,
}

impl<'a> LoginThrottle<'a> {
    pub fn new(store: &'a SqlStore) -> Self {
        Self { store }
    }

    /// Whether any of the keys (`user:<name>`, `ip:<address>`) is locked now.
    pub async fn locked(&self, keys: &[String], now: UnixTime) -> StoreResult<bool> {
        for key in keys {
            if self.store.login_failures(key).await?.is_some_and(|(_, until)| until > now) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Counts a failure against every key, locking those past their allowance.
    pub async fn failed(&self, keys: &[String], now: UnixTime) -> StoreResult<()> {
        for key in keys {
            let failures = self.store.login_failures(key).await?.map_or(0, |(n, _)| n) + 1;
            let free = if key.starts_with("user:") {
                ACCOUNT_FREE_FAILURES
            } else {
                ADDRESS_FREE_FAILURES
            };
            let locked_until =
                if failures >= free { now + lockout_seconds(failures - free) } else { 0 };
            self.store.put_login_failures(key, failures, locked_until, now).await?;
        }
        Ok(())
    }

    /// A successful sign-in clears the account's counter (not the address's).
    pub async fn succeeded(&self, account_key: &str) -> StoreResult<()> {
        self.store.clear_login_failures(account_key).await
    }
}

fn lockout_seconds(past_allowance: i64) -> i64 {
    let doublings = u32::try_from(past_allowance.clamp(0, 16)).unwrap_or(16);
    (FIRST_LOCKOUT_SECONDS << doublings).min(MAX_LOCKOUT_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_grow_and_are_capped() {
        assert_eq!(lockout_seconds(0), 30);
        assert_eq!(lockout_seconds(1), 60);
        assert_eq!(lockout_seconds(5), 900);
        assert_eq!(lockout_seconds(1000), 900);
    }
}
