//! Background jobs that touch shared state: the cleanup of expired rows, the audit-log retention
//! and the scheduled signing-key rotation. Every instance runs the scheduler; each due run is
//! claimed in the database (`SqlStore::claim_job_run`), so across instances a job runs once per
//! interval, on one of them. Each job is also safe to run twice: it only deletes what is past its
//! time, and only replaces a key that is past its age.
//!
//! Usage and failed-authentication counters are not among these jobs: they are counted in each
//! instance's memory and every instance flushes its own (src/usage.rs), adding to the stored
//! totals.

use std::time::Duration;

use portcullis_core::secret::random_id;
use portcullis_core::store::KeyStore;

use crate::clock::unix_now;
use crate::http::AppState;

/// How often each instance looks for a due job.
const TICK: Duration = Duration::from_secs(60);
/// Cleanup of expired sessions, codes, refresh tokens, lockouts and old token records.
pub const CLEANUP: &str = "cleanup";
const CLEANUP_INTERVAL_SECONDS: i64 = 600;
/// Audit-log retention (only with PORTCULLIS_AUDIT_RETENTION_DAYS).
pub const AUDIT_PRUNE: &str = "audit-prune";
const AUDIT_PRUNE_INTERVAL_SECONDS: i64 = 3600;
/// Replacing signing keys older than PORTCULLIS_SIGNING_KEY_ROTATION_DAYS (only when set).
pub const KEY_ROTATION: &str = "key-rotation";
const KEY_ROTATION_INTERVAL_SECONDS: i64 = 3600;

/// One instance's scheduler: claims and runs due jobs every minute until the process ends.
pub async fn run_jobs(state: AppState) {
    let holder = format!("instance-{}", random_id());
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        run_due_jobs(&state, &holder).await;
    }
}

/// Claims and runs every job that is due now; returns the jobs this instance ran.
pub async fn run_due_jobs(state: &AppState, holder: &str) -> Vec<&'static str> {
    let mut ran = Vec::new();
    if claim(state, CLEANUP, holder, CLEANUP_INTERVAL_SECONDS).await {
        cleanup(state).await;
        ran.push(CLEANUP);
    }
    if let Some(days) = state.config.audit_retention_days {
        if claim(state, AUDIT_PRUNE, holder, AUDIT_PRUNE_INTERVAL_SECONDS).await {
            prune_audit(state, days).await;
            ran.push(AUDIT_PRUNE);
        }
    }
    if let Some(days) = state.config.signing_key_rotation_days {
        if claim(state, KEY_ROTATION, holder, KEY_ROTATION_INTERVAL_SECONDS).await {
            rotate_old_keys(state, days).await;
            ran.push(KEY_ROTATION);
        }
    }
    ran
}

async fn claim(state: &AppState, job: &'static str, holder: &str, interval: i64) -> bool {
    match state.store.claim_job_run(job, holder, unix_now(), interval).await {
        Ok(claimed) => claimed,
        Err(err) => {
            tracing::warn!(job, error = %err, "could not claim a job run; trying again later");
            false
        }
    }
}

async fn cleanup(state: &AppState) {
    match state.store.delete_expired(unix_now()).await {
        Ok(deleted) => {
            state.metrics.job_run(CLEANUP, "ok");
            tracing::info!(
                job = CLEANUP,
                sessions = deleted.sessions,
                authorization_codes = deleted.authorization_codes,
                refresh_tokens = deleted.refresh_tokens,
                login_failures = deleted.login_failures,
                tokens = deleted.tokens,
                partner_invitations = deleted.partner_invitations,
                "expired rows deleted"
            )
        }
        Err(err) => {
            state.metrics.job_run(CLEANUP, "failed");
            tracing::warn!(job = CLEANUP, error = %err, "cleanup failed; it runs again")
        }
    }
}

async fn prune_audit(state: &AppState, retention_days: u32) {
    match state.operator().prune_audit(retention_days).await {
        Ok(deleted) => {
            state.metrics.job_run(AUDIT_PRUNE, "ok");
            tracing::info!(job = AUDIT_PRUNE, deleted, retention_days, "audit pruned")
        }
        Err(err) => {
            state.metrics.job_run(AUDIT_PRUNE, "failed");
            tracing::warn!(job = AUDIT_PRUNE, error = %err, "could not prune the audit log")
        }
    }
}

/// Replaces every current signing key that has signed for `days` or more. The retired key
/// stays in the JWKS for the longest access-token lifetime, so nothing it signed stops
/// verifying early (FT-11); other instances pick the new key up from the change feed.
// FIXME(key-prepublish): the new key signs from the moment it exists, so a resource server
// that cached the JWKS (max-age 300) and does not refetch on an unknown `kid` refuses new tokens
// for up to five minutes. Publishing the next key a cache lifetime before it becomes current
// needs an activation time on stored keys.
async fn rotate_old_keys(state: &AppState, days: u32) {
    let keys = match state.store.list_signing_keys().await {
        Ok(keys) => keys,
        Err(err) => {
            state.metrics.job_run(KEY_ROTATION, "failed");
            tracing::warn!(job = KEY_ROTATION, error = %err, "could not list signing keys");
            return;
        }
    };
    let oldest_allowed = unix_now() - i64::from(days) * 86_400;
    let due = keys.iter().filter(|k| k.retired_at.is_none() && k.created_at <= oldest_allowed);
    let mut outcome = "ok";
    let publish_previous_for = state.config.storage.max_access_token_lifetime;
    for key in due {
        match state.operator().rotate_signing_key(key.alg, publish_previous_for, "scheduled").await
        {
            Ok(kid) => {
                tracing::info!(job = KEY_ROTATION, alg = %key.alg, kid, previous = key.kid, "rotated")
            }
            Err(err) => {
                outcome = "failed";
                tracing::warn!(job = KEY_ROTATION, alg = %key.alg, error = %err, "rotation failed");
            }
        }
    }
    state.metrics.job_run(KEY_ROTATION, outcome);
}
