//! Background jobs across instances: each due run happens on one instance, and what it deletes or
//! replaces is only what is past its time. Runs on SQLite and PostgreSQL like the rest of the
//! suite.

use std::time::Duration;

use portcullis::jobs::{run_due_jobs, CLEANUP, KEY_ROTATION};
use portcullis_core::store::{AuditStore, KeyStore};
use sqlx::Connection;

use crate::support::TestServer;

#[tokio::test]
async fn a_due_cleanup_runs_on_one_of_two_instances_and_deletes_only_expired_rows() {
    let first = TestServer::start().await;
    let second = first.second_instance().await;
    let now = portcullis::clock::unix_now();
    let store = &first.state.store;
    store.save_session("expired-session", "{}", now - 10, now + 86_400).await.unwrap();
    store.save_session("live-session", "{}", now + 3_600, now + 86_400).await.unwrap();
    // Active enough, but past its absolute end (SECURITY.md H-25).
    store.save_session("ended-session", "{}", now + 3_600, now - 10).await.unwrap();

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
    assert!(store.load_session("ended-session", now - 20).await.unwrap().is_none(), "deleted");

    // Not due again for ten minutes, on either instance.
    assert!(run_due_jobs(&first.state, "instance-a").await.is_empty());
    assert!(run_due_jobs(&second.state, "instance-b").await.is_empty());
}

#[tokio::test]
async fn scheduled_rotation_replaces_only_keys_past_their_age_and_keeps_the_old_one_published() {
    let server = TestServer::start_with(&[("PORTCULLIS_SIGNING_KEY_ROTATION_DAYS", "30")]).await;
    server.scope("svc:read", &[], false).await;
    let client = server.service_client("svc:read").await;
    let before = server.access_token(&client, "svc:read").await;
    let kid_of = |jwt: &str| jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap();
    let old_kid = kid_of(&before);

    let current_kids = || async {
        let keys = server.state.store.list_signing_keys().await.unwrap();
        let mut kids: Vec<String> =
            keys.into_iter().filter(|k| k.retired_at.is_none()).map(|k| k.kid).collect();
        kids.sort();
        kids
    };
    let first_keys = current_kids().await;

    // Young keys are left alone.
    assert!(run_due_jobs(&server.state, "instance-a").await.contains(&KEY_ROTATION));
    assert_eq!(current_kids().await, first_keys);

    // Thirty-one days later (the key's birth moved back instead of the clock forward).
    let mut db = sqlx::AnyConnection::connect(&server.db.url).await.unwrap();
    sqlx::query("UPDATE signing_keys SET created_at = created_at - 31 * 86400")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE job_runs SET next_run_at = 0 WHERE job = 'key-rotation'")
        .execute(&mut db)
        .await
        .unwrap();
    assert!(run_due_jobs(&server.state, "instance-a").await.contains(&KEY_ROTATION));

    let second_keys = current_kids().await;
    assert_eq!(second_keys.len(), first_keys.len(), "one current key per algorithm");
    assert!(second_keys.iter().all(|kid| !first_keys.contains(kid)), "every old key replaced");
    crate::support::within(Duration::from_secs(2), || async {
        second_keys.contains(&kid_of(&server.access_token(&client, "svc:read").await))
    })
    .await;
    let jwks = server.get("/oauth2/jwks").await.json();
    let published: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert!(published.contains(&old_kid.as_str()), "tokens it signed still verify (FT-11)");
    assert_eq!(server.introspect(&client, &before).await.json()["active"], true);
    let audit = server.state.store.list_audit(&Default::default()).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "signing_key.rotate" && e.details.contains("scheduled")));

    // Run again at once (another instance, a retry): the new key is young, nothing changes.
    sqlx::query("UPDATE job_runs SET next_run_at = 0 WHERE job = 'key-rotation'")
        .execute(&mut db)
        .await
        .unwrap();
    assert!(run_due_jobs(&server.state, "instance-b").await.contains(&KEY_ROTATION));
    assert_eq!(current_kids().await, second_keys);
}
