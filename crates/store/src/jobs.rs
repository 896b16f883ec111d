//! Background-job bookkeeping shared by every instance: claiming a job's next run, and the
//! cleanup of rows whose time has passed.

use portcullis_core::store::StoreResult;
use portcullis_core::UnixTime;

use crate::{map_err, SqlStore};

/// How many rows one cleanup run deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleanup {
    pub authorization_codes: u64,
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub login_failures: u64,
    pub tokens: u64,
    pub partner_invitations: u64,
}

impl Cleanup {
    pub fn total(&self) -> u64 {
        self.authorization_codes
            + self.refresh_tokens
            + self.sessions
            + self.login_failures
            + self.tokens
            + self.partner_invitations
    }
}

/// How long a spent or expired authorization code is kept: a replay within it still revokes
/// what the code issued (RFC 6749 §4.1.2); after it the code is simply unknown.
pub const CODE_KEPT_SECONDS: i64 = 24 * 3600;
/// How long token records are kept after they expire: the analytics pages reach back a year.
pub const TOKEN_RECORD_KEPT_SECONDS: i64 = 400 * 86_400;
/// How long a lifted sign-in lockout's counter is kept.
pub const LOGIN_FAILURES_KEPT_SECONDS: i64 = 86_400;

impl SqlStore {
    /// Claims the run of `job` due at `now` for `holder`, and sets the next one `interval`
    /// seconds later, in one statement. True for exactly one caller per due run, whichever
    /// instance it is on; false while the job is not due (another instance ran it).
    pub async fn claim_job_run(
        &self,
        job: &str,
        holder: &str,
        now: UnixTime,
        interval: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO job_runs (job, holder, next_run_at, runs) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, \
             next_run_at = excluded.next_run_at, runs = job_runs.runs + 1 \
             WHERE job_runs.next_run_at <= $4",
        )
        .bind(job)
        .bind(holder)
        .bind(now + interval)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// How many times `job` has been claimed, across instances.
    pub async fn job_runs(&self, job: &str) -> StoreResult<u64> {
        let runs: Option<i64> = sqlx::query_scalar("SELECT runs FROM job_runs WHERE job = $1")
            .bind(job)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(runs.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// Deletes what can no longer be used: sessions past their expiry or absolute end,
    /// partner invitations past theirs, codes a day after theirs, refresh tokens past their
    /// family's end, lifted lockouts a day on, and token records once the analytics window has
    /// passed them. Safe to run twice or concurrently: every statement only deletes rows that
    /// are past their time.
    pub async fn delete_expired(&self, now: UnixTime) -> StoreResult<Cleanup> {
        let delete = |sql: &'static str, before: UnixTime| async move {
            let done =
                sqlx::query(sql).bind(before).execute(&self.writer).await.map_err(map_err)?;
            Ok::<u64, portcullis_core::store::StoreError>(done.rows_affected())
        };
        Ok(Cleanup {
            sessions: delete("DELETE FROM sessions WHERE expires_at < $1 OR ends_at < $1", now)
                .await?,
            authorization_codes: delete(
                "DELETE FROM authorization_codes WHERE expires_at < $1",
                now - CODE_KEPT_SECONDS,
            )
            .await?,
            refresh_tokens: delete("DELETE FROM refresh_tokens WHERE expires_at < $1", now).await?,
            login_failures: delete(
                "DELETE FROM login_failures WHERE locked_until < $1 AND updated_at < $1",
                now - LOGIN_FAILURES_KEPT_SECONDS,
            )
            .await?,
            tokens: delete(
                "DELETE FROM tokens WHERE expires_at < $1",
                now - TOKEN_RECORD_KEPT_SECONDS,
            )
            .await?,
            // Invitations past their expiry, used or not (an account keeps `invited_by`).
            partner_invitations: delete(
                "DELETE FROM partner_invitations WHERE expires_at < $1",
                now,
            )
            .await?,
        })
    }
}
