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

    /// Counts an attempt against every key *before* the password is checked, so concurrent
    /// guesses cannot all slip under the allowance (SECURITY.md H-18). Within the allowance
    /// attempts run freely; past it a key admits one attempt per lockout period: the attempt
    /// that manages to set the next lock goes on, every other one is refused.
    pub async fn begin(&self, keys: &[String], now: UnixTime) -> StoreResult<Attempt> {
        let mut attempt = Attempt { allowed: true, self_locked: Vec::new() };
        if self.locked(keys, now).await? {
            attempt.allowed = false;
            return Ok(attempt);
        }
        for key in keys {
            let attempts = self.store.count_login_attempt(key, now).await?;
            let free = free_failures(key);
            if attempts > free {
                let until = now + lockout_seconds(attempts - free);
                if self.store.try_lock_login(key, now, until).await? {
                    attempt.self_locked.push((key.clone(), until));
                } else {
                    attempt.allowed = false;
                }
            }
        }
        Ok(attempt)
    }

    /// The attempt failed: a key that has used up its allowance is locked.
    pub async fn failed(&self, keys: &[String], now: UnixTime) -> StoreResult<()> {
        for key in keys {
            let attempts = self.store.login_failures(key).await?.map_or(0, |(n, _)| n);
            let free = free_failures(key);
            if attempts >= free {
                self.store.lock_login(key, now + lockout_seconds(attempts - free)).await?;
            }
        }
        Ok(())
    }

    /// The attempt succeeded: the account's counter is cleared; the address gets its attempt
    /// back and loses the lock this attempt set (earlier failures from it still count).
    pub async fn succeeded(
        &self,
        attempt: &Attempt,
        account: &str,
        address: &str,
    ) -> StoreResult<()> {
        self.store.clear_login_failures(account).await?;
        self.store.forgive_login_attempt(address).await?;
        for (key, until) in attempt.self_locked.iter().filter(|(key, _)| key == address) {
            self.store.release_login_lock(key, *until).await?;
        }
        Ok(())
    }
}

/// How a sign-in attempt run through [`LoginThrottle::guard`] ended.
pub enum Guarded<T> {
    /// The check passed, with what it found.
    Passed(T),
    /// The check failed; the failure is counted.
    Refused,
    /// The account or address is locked; the check did not run.
    Locked,
}

impl LoginThrottle<'_> {
    /// Runs one sign-in check under the throttle: the attempt is counted before `check` runs,
    /// so parallel guesses are all counted; a failure may lock the account or address, a
    /// success clears the account and gives the address its attempt back. Only counting the
    /// attempt must succeed; the bookkeeping after the check is logged if it fails.
    pub async fn guard<T>(
        &self,
        account: &str,
        address: &str,
        check: impl std::future::Future<Output = Option<T>>,
    ) -> StoreResult<Guarded<T>> {
        let keys = [account.to_owned(), address.to_owned()];
        let attempt = self.begin(&keys, crate::clock::unix_now()).await?;
        if !attempt.allowed {
            return Ok(Guarded::Locked);
        }
        match check.await {
            Some(found) => {
                if let Err(err) = self.succeeded(&attempt, account, address).await {
                    tracing::warn!(error = %err, "could not clear sign-in failures");
                }
                Ok(Guarded::Passed(found))
            }
            None => {
                if let Err(err) = self.failed(&keys, crate::clock::unix_now()).await {
                    tracing::error!(error = %err, "could not count a failed sign-in");
                }
                Ok(Guarded::Refused)
            }
        }
    }
}

/// What [`LoginThrottle::begin`] decided.
pub struct Attempt {
    pub allowed: bool,
    /// Locks this attempt set on itself past the allowance, released if it succeeds.
    self_locked: Vec<(String, UnixTime)>,
}

fn free_failures(key: &str) -> i64 {
    // An address may be many people; every other key names one account (end user, admin or
    // partner) and gets few tries. Unknown kinds of key get the stricter allowance.
    if key.starts_with("ip:") || key.contains("-ip:") {
        ADDRESS_FREE_FAILURES
    } else {
        ACCOUNT_FREE_FAILURES
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
