//! Storage conformance for admins and the audit log, on SQLite and PostgreSQL
//! (`PORTCULLIS_TEST_BACKEND=postgres`).

// A panic is how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use portcullis_core::admin::{Admin, AdminPermission};
use portcullis_core::audit::{verify_chain, NewAuditEntry, GENESIS};
use portcullis_core::store::{AdminStore, AuditFilter, AuditStore, StoreError};
use portcullis_store::testing::{fresh_database, TestDatabase};
use portcullis_store::SqlStore;

async fn store() -> (SqlStore, TestDatabase) {
    let db = fresh_database().await;
    let store = SqlStore::connect(&db.url, 8).await.expect("connect and migrate");
    (store, db)
}

fn admin(id: &str, email: &str, permissions: &[AdminPermission]) -> Admin {
    Admin {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$x".into(),
        permissions: permissions.iter().copied().collect(),
        totp_sealed: None,
        totp_last_step: None,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn entry(action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: 1_000,
        actor: "admin:root@example.com".into(),
        action: action.into(),
        target: target.into(),
        source_ip: Some("198.51.100.7".into()),
        details: serde_json::json!({ "reason": "it's fine" }),
    }
}

#[tokio::test]
async fn admins_round_trip_and_the_last_manager_stays() {
    let (store, _db) = store().await;
    let root =
        admin("a1", "root@example.com", &[AdminPermission::Admins, AdminPermission::Clients]);
    store.insert_admin(&root).await.unwrap();
    assert_eq!(store.find_admin("root@example.com").await.unwrap(), Some(root.clone()));
    assert!(matches!(
        store.insert_admin(&admin("a2", "root@example.com", &[])).await,
        Err(StoreError::Conflict(_))
    ));

    let only_clients = BTreeSet::from([AdminPermission::Clients]);
    assert!(matches!(
        store.set_admin_permissions("a1", &only_clients, 2_000).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(store.delete_admin("a1").await, Err(StoreError::Conflict(_))));

    store.insert_admin(&admin("a2", "ops@example.com", &[AdminPermission::Admins])).await.unwrap();
    assert!(store.set_admin_permissions("a1", &only_clients, 2_000).await.unwrap());
    assert_eq!(store.get_admin("a1").await.unwrap().unwrap().permissions, only_clients);
    assert!(store.delete_admin("a1").await.unwrap());
    assert_eq!(store.list_admins().await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_demotions_leave_one_manager() {
    let (store, _db) = store().await;
    let store = Arc::new(store);
    let demote = |id: String| {
        let store = store.clone();
        tokio::spawn(async move {
            let auditor = BTreeSet::from([AdminPermission::Audit]);
            store.set_admin_permissions(&id, &auditor, 2_000).await
        })
    };
    // Several rounds: the race is between two transactions each counting the other.
    let mut previous_survivor: Option<String> = None;
    for round in 0..10 {
        let (a, b) = (format!("r{round}a"), format!("r{round}b"));
        for id in [&a, &b] {
            let email = format!("{id}@example.com");
            store.insert_admin(&admin(id, &email, &[AdminPermission::Admins])).await.unwrap();
        }
        if let Some(old) = previous_survivor.take() {
            store.delete_admin(&old).await.unwrap();
        }

        let (first, second) = (demote(a.clone()), demote(b.clone()));
        let outcomes = [first.await.unwrap(), second.await.unwrap()];
        let refused = outcomes.iter().filter(|o| matches!(o, Err(StoreError::Conflict(_)))).count();
        assert_eq!(refused, 1, "round {round}: exactly one demotion must be refused");

        let (survivor, demoted) = if outcomes[0].is_err() { (a, b) } else { (b, a) };
        let managers: Vec<String> = store
            .list_admins()
            .await
            .unwrap()
            .into_iter()
            .filter(|x| x.permissions.contains(&AdminPermission::Admins))
            .map(|x| x.id)
            .collect();
        assert_eq!(managers, vec![survivor.clone()], "round {round}");
        store.delete_admin(&demoted).await.unwrap();
        previous_survivor = Some(survivor);
    }
}

#[tokio::test]
async fn concurrent_appends_form_one_unbroken_chain() {
    let (store, _db) = store().await;
    let store = Arc::new(store);
    let appends: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.append_audit(&entry("client.approve", &format!("client:c{i}"))).await.unwrap()
            })
        })
        .collect();
    for append in appends {
        append.await.unwrap();
    }
    let (anchor, chain) = store.audit_chain().await.unwrap();
    assert_eq!(anchor, GENESIS.to_vec());
    assert_eq!(chain.len(), 20);
    assert_eq!(chain.iter().map(|e| e.id).collect::<Vec<_>>(), (1..=20).collect::<Vec<i64>>());
    assert_eq!(verify_chain(&chain, &anchor), Ok(()));
}

#[tokio::test]
async fn the_log_filters_by_actor_action_target_and_time() {
    let (store, _db) = store().await;
    store.append_audit(&entry("client.approve", "client:c1")).await.unwrap();
    store
        .append_audit(&NewAuditEntry { at: 2_000, ..entry("client.reject", "client:c2") })
        .await
        .unwrap();
    store
        .append_audit(&NewAuditEntry { actor: "cli".into(), ..entry("scope.put", "scope:s") })
        .await
        .unwrap();

    let by = |filter: AuditFilter| {
        let store = &store;
        async move { store.list_audit(&filter).await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>() }
    };
    assert_eq!(by(AuditFilter::default()).await, [3, 2, 1], "newest first");
    assert_eq!(by(AuditFilter { actor: Some("cli".into()), ..Default::default() }).await, [3]);
    assert_eq!(
        by(AuditFilter { action: Some("client.reject".into()), ..Default::default() }).await,
        [2]
    );
    assert_eq!(
        by(AuditFilter { target: Some("client:c1".into()), ..Default::default() }).await,
        [1]
    );
    assert_eq!(by(AuditFilter { from: Some(1_500), ..Default::default() }).await, [2]);
    assert_eq!(by(AuditFilter { to: Some(1_500), ..Default::default() }).await, [3, 1]);
    assert_eq!(by(AuditFilter { limit: Some(1), ..Default::default() }).await, [3]);
    let first = &store
        .list_audit(&AuditFilter { target: Some("client:c1".into()), ..Default::default() })
        .await
        .unwrap()[0];
    assert_eq!(first.details, "{\"reason\":\"it's fine\"}");
    assert_eq!(first.source_ip.as_deref(), Some("198.51.100.7"));
}

#[tokio::test]
async fn pruning_drops_a_prefix_and_the_rest_verifies_from_its_anchor() {
    let (store, _db) = store().await;
    for at in 1_000..1_005 {
        store.append_audit(&NewAuditEntry { at, ..entry("scope.put", "scope:s") }).await.unwrap();
    }
    assert_eq!(store.prune_audit(1_003).await.unwrap(), 3);
    let (anchor, chain) = store.audit_chain().await.unwrap();
    assert_eq!(chain.iter().map(|e| e.id).collect::<Vec<_>>(), [4, 5]);
    assert_ne!(anchor, GENESIS.to_vec());
    assert_eq!(verify_chain(&chain, &anchor), Ok(()));
    assert_eq!(store.prune_audit(1_003).await.unwrap(), 0, "idempotent");

    // New entries keep linking on.
    store.append_audit(&entry("client.approve", "client:c1")).await.unwrap();
    let (anchor, chain) = store.audit_chain().await.unwrap();
    assert_eq!(verify_chain(&chain, &anchor), Ok(()));
    assert_eq!(chain.last().unwrap().id, 6);
}
