//! Background jobs across instances: each due run happens on one instance, and what it deletes
//! is only what is past its time. Runs on SQLite and PostgreSQL like the rest of the suite.

use portcullis::jobs::{run_due_jobs, CLEANUP};

use crate::support::TestServer;

#[tokio::test]
async fn a_due_cleanup_runs_on_one_of_two_instances_and_deletes_only_expired_rows() {
    let first = TestServer::start().await;
    let second = first.second_instance().await;
    let now = portcullis::clock::unix_now();
    first.state.store.save_session("expired-session", "{}", now - 10).await.unwrap();
    first.state.store.save_session("live-session", "{}", now + 3_600).await.unwrap();

    let (a, b) = tokio::join!(
        run_due_jobs(&first.state, "instance-a"),
        run_due_jobs(&second.state, "instance-b")
    );
    let ran: Vec<_> = a.iter().chain(b.iter()).filter(|job| **job == CLEANUP).collect();
    assert_eq!(ran.len(), 1, "one instance ran it: {a:?} {b:?}");
    assert_eq!(first.state.store.job_runs(CLEANUP).await.unwrap(), 1);

    let store = &second.state.store;
    assert!(store.load_session("expired-session", now - 20).await.unwrap().is_none(), "deleted");
    assert!(store.load_session("live-session", now).await.unwrap().is_some(), "kept");

    // Not due again for ten minutes, on either instance.
    assert!(run_due_jobs(&first.state, "instance-a").await.is_empty());
    assert!(run_due_jobs(&second.state, "instance-b").await.is_empty());
}
