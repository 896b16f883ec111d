//! Storage conformance for background jobs: claiming a run and deleting expired rows, on SQLite
//! and PostgreSQL (`PORTCULLIS_TEST_BACKEND=postgres`).

// A panic is how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use portcullis_store::testing::{fresh_database, TestDatabase};
use portcullis_store::SqlStore;

async fn store() -> (SqlStore, TestDatabase) {
    let db = fresh_database().await;
    let store = SqlStore::connect(&db.url, 8).await.expect("connect and migrate");
    (store, db)
}

#[tokio::test]
async fn one_claimer_wins_each_due_run_across_instances() {
    let (store, db) = store().await;
    // A second instance: its own pools on the same database.
    let other = SqlStore::connect(&db.url, 8).await.unwrap();

    let mut claims = Vec::new();
    for i in 0..10 {
        let store = if i % 2 == 0 { store.clone() } else { other.clone() };
        claims.push(tokio::spawn(async move {
            store.claim_job_run("cleanup", &format!("instance-{i}"), 1_000, 600).await.unwrap()
        }));
    }
    let mut won = 0;
    for claim in claims {
        won += usize::from(claim.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one of ten concurrent claims runs the job");

    // Not due again until the interval has passed; then exactly once more.
    assert!(!store.claim_job_run("cleanup", "instance-x", 1_599, 600).await.unwrap());
    assert!(other.claim_job_run("cleanup", "instance-y", 1_600, 600).await.unwrap());
    assert!(!store.claim_job_run("cleanup", "instance-x", 1_600, 600).await.unwrap());
    assert_eq!(store.job_runs("cleanup").await.unwrap(), 2);
    // Jobs are independent.
    assert!(store.claim_job_run("audit-prune", "instance-x", 1_600, 3_600).await.unwrap());
}

#[tokio::test]
async fn cleanup_deletes_only_what_is_past_its_time_and_can_run_twice() {
    let (store, _db) = store().await;
    store.save_session("expired", "{}", 900, 90_000).await.unwrap();
    store.save_session("live", "{}", 2_000, 90_000).await.unwrap();

    let first = store.delete_expired(1_000).await.unwrap();
    assert_eq!(first.sessions, 1);
    assert!(store.load_session("live", 1_000).await.unwrap().is_some());
    let again = store.delete_expired(1_000).await.unwrap();
    assert_eq!(again.total(), 0, "a second run finds nothing more");
}
