//! The storage conformance suite. The same tests run on SQLite (default) and on PostgreSQL
//! (`PORTCULLIS_TEST_BACKEND=postgres`), each on a fresh database, so the engines cannot drift.

// A panic is how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use portcullis_core::client::{
    parse_wire_list, Client, ClientId, ClientPermission, ClientStatus, ClientType, TokenAuthMethod,
};
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::redirect_uri::RedirectUri;
use portcullis_core::scope::{ScopeDefinition, ScopeName, ScopeSet};
use portcullis_core::store::{
    Change, ChangeFeed, ClientStore, KeyStore, ScopeStore, StoreError, StoredSigningKey,
    TokenRecord, TokenStore,
};
use portcullis_store::testing::{fresh_database, TestDatabase};
use portcullis_store::{GroupCommit, SqlStore};

async fn store() -> (SqlStore, TestDatabase) {
    let db = fresh_database().await;
    let store = SqlStore::connect(&db.url, 8).await.expect("connect and migrate");
    (store, db)
}

fn scope(name: &str, includes: &str) -> ScopeDefinition {
    ScopeDefinition {
        name: ScopeName::parse(name).unwrap(),
        description: format!("{name} — description with ' quotes"),
        category: Some("quote".into()),
        requires_user: name.starts_with("user"),
        includes: ScopeSet::parse_list(includes).unwrap(),
        built_in: false,
        public: false,
    }
}

fn client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: "Client ' name; DROP TABLE clients--".into(),
        client_type: ClientType::Confidential,
        grant_types: parse_wire_list("authorization_code refresh_token").unwrap(),
        allowed_scopes: ScopeSet::parse_list("quote:read quote:write").unwrap(),
        redirect_uris: vec![RedirectUri::parse("https://c1.example/cb").unwrap()],
        post_logout_redirect_uris: vec![],
        id_token_signing_alg: None,
        auth_method: TokenAuthMethod::ClientSecretBasic,
        access_token_lifetime: 600,
        refresh_token_lifetime: 86_400,
        lifetime_policy: None,
        status: ClientStatus::Active,
        permissions: BTreeSet::new(),
        secret_hash: Some(vec![1, 2, 3, 255]),
        previous_secret: None,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn token(jti: &str, client_id: &str) -> TokenRecord {
    TokenRecord {
        jti: jti.into(),
        client_id: client_id.into(),
        subject: format!("client:{client_id}"),
        scopes: "quote:read".into(),
        grant_type: portcullis_core::client::GrantType::ClientCredentials,
        issued_at: 1_000,
        expires_at: 2_000,
        grant_id: None,
    }
}

#[tokio::test]
async fn scopes_round_trip_and_replace() {
    let (store, _db) = store().await;
    store.put_scope(&scope("quote:read", "")).await.unwrap();
    store.put_scope(&scope("quote:write", "quote:read")).await.unwrap();
    let mut changed = scope("quote:read", "");
    changed.description = "changed".into();
    store.put_scope(&changed).await.unwrap();

    let scopes = store.list_scopes().await.unwrap();
    assert_eq!(scopes.len(), 2);
    assert_eq!(scopes[0].description, "changed");
    assert_eq!(scopes[1].includes.to_wire(), "quote:read");
    assert_eq!(scopes[1].category.as_deref(), Some("quote"));

    assert!(store.delete_scope(&ScopeName::parse("quote:write").unwrap()).await.unwrap());
    assert!(!store.delete_scope(&ScopeName::parse("nope").unwrap()).await.unwrap());
}

#[tokio::test]
async fn built_in_scopes_cannot_be_deleted() {
    let (store, _db) = store().await;
    let openid = ScopeDefinition::built_ins().remove(0);
    store.put_scope(&openid).await.unwrap();
    assert!(!store.delete_scope(&openid.name).await.unwrap());
    assert_eq!(store.list_scopes().await.unwrap().len(), 1);
}

#[tokio::test]
async fn clients_round_trip_every_field() {
    let (store, _db) = store().await;
    let c1 = client("c1");
    store.insert_client(&c1).await.unwrap();
    let loaded = store.get_client(&c1.id).await.unwrap().unwrap();
    assert_eq!(loaded, c1);
    assert_eq!(loaded.secret_hash, c1.secret_hash);
    assert!(store.get_client(&ClientId::parse("nope").unwrap()).await.unwrap().is_none());
    assert!(matches!(store.insert_client(&c1).await, Err(StoreError::Conflict(_))));
}

#[tokio::test]
async fn a_regenerated_secret_may_overlap_and_its_last_use_is_kept() {
    let (store, _db) = store().await;
    let c1 = client("c1");
    store.insert_client(&c1).await.unwrap();
    let old = c1.secret_hash.clone().unwrap();

    assert!(store.set_client_secret_hash(&c1.id, &[7; 32], Some(9_000), 2_000).await.unwrap());
    let loaded = store.get_client(&c1.id).await.unwrap().unwrap();
    let previous = loaded.previous_secret.unwrap();
    assert_eq!((previous.hash, previous.valid_until), (old, 9_000));
    assert_eq!(previous.last_used_at, None);

    store.note_previous_secret_use(&c1.id, 2_500, Some("198.51.100.7")).await.unwrap();
    let previous = store.get_client(&c1.id).await.unwrap().unwrap().previous_secret.unwrap();
    assert_eq!(
        (previous.last_used_at, previous.last_used_ip.as_deref()),
        (Some(2_500), Some("198.51.100.7"))
    );

    // Regenerating again without an overlap retires every older secret at once.
    assert!(store.set_client_secret_hash(&c1.id, &[8; 32], None, 3_000).await.unwrap());
    assert_eq!(store.get_client(&c1.id).await.unwrap().unwrap().previous_secret, None);
}

#[tokio::test]
async fn client_updates_apply() {
    let (store, _db) = store().await;
    let c1 = client("c1");
    store.insert_client(&c1).await.unwrap();

    assert!(store.set_client_status(&c1.id, ClientStatus::Disabled, 2_000).await.unwrap());
    assert!(store.set_client_secret_hash(&c1.id, &[9; 32], None, 2_001).await.unwrap());
    assert!(store
        .set_client_permission(&c1.id, ClientPermission::IntrospectAny, true, 2_002)
        .await
        .unwrap());
    let loaded = store.get_client(&c1.id).await.unwrap().unwrap();
    assert_eq!(loaded.status, ClientStatus::Disabled);
    assert_eq!(loaded.secret_hash.as_deref(), Some(&[9u8; 32][..]));
    assert!(loaded.has_permission(ClientPermission::IntrospectAny));
    assert_eq!(loaded.updated_at, 2_002);

    assert!(store
        .set_client_permission(&c1.id, ClientPermission::IntrospectAny, false, 2_003)
        .await
        .unwrap());
    assert!(store.get_client(&c1.id).await.unwrap().unwrap().permissions.is_empty());

    assert!(store.delete_client(&c1.id).await.unwrap());
    assert!(store.list_clients().await.unwrap().is_empty());
}

#[tokio::test]
async fn public_clients_never_get_a_secret_hash() {
    let (store, _db) = store().await;
    let mut p1 = client("p1");
    p1.client_type = ClientType::Public;
    p1.auth_method = TokenAuthMethod::None;
    p1.secret_hash = None;
    store.insert_client(&p1).await.unwrap();
    assert!(!store.set_client_secret_hash(&p1.id, &[1; 32], None, 2_000).await.unwrap());
    assert_eq!(store.get_client(&p1.id).await.unwrap().unwrap().secret_hash, None);
}

#[tokio::test]
async fn key_rotation_keeps_one_current_key_per_algorithm() {
    let (store, _db) = store().await;
    let key = |kid: &str, at| StoredSigningKey {
        kid: kid.into(),
        alg: if kid.starts_with('r') { SigningAlgorithm::RS256 } else { SigningAlgorithm::ES256 },
        public_jwk: "{}".into(),
        sealed_private_key: vec![0; 40],
        created_at: at,
        retired_at: None,
        publish_until: None,
    };
    store.rotate_signing_key(&key("k1", 100), 0).await.unwrap();
    store.rotate_signing_key(&key("r1", 150), 0).await.unwrap();
    store.rotate_signing_key(&key("k2", 200), 5_000).await.unwrap();
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys.len(), 3);
    let by_kid = |kid: &str| keys.iter().find(|k| k.kid == kid).unwrap();
    assert_eq!((by_kid("k1").retired_at, by_kid("k1").publish_until), (Some(200), Some(5_000)));
    assert_eq!(by_kid("k2").retired_at, None);
    // Rotating ES256 leaves the RS256 key current.
    assert_eq!(by_kid("r1").retired_at, None);
}

#[tokio::test]
async fn master_key_check_keeps_the_first_value() {
    let (store, _db) = store().await;
    assert_eq!(store.master_key_check("first").await.unwrap(), "first");
    assert_eq!(store.master_key_check("second").await.unwrap(), "first");
}

#[tokio::test]
async fn tokens_are_recorded_and_revoked_only_by_their_client() {
    let (store, _db) = store().await;
    store.record_tokens(&[token("j1", "c1"), token("j2", "c2")]).await.unwrap();
    assert_eq!(store.get_token("j1").await.unwrap().unwrap().record, token("j1", "c1"));
    assert!(store.get_token("nope").await.unwrap().is_none());

    assert!(!store.revoke_token("j1", "c2", 1_500).await.unwrap(), "another client cannot revoke");
    assert!(store.get_token("j1").await.unwrap().unwrap().revoked_at.is_none());
    assert!(store.revoke_token("j1", "c1", 1_500).await.unwrap());
    assert!(!store.revoke_token("j1", "c1", 1_600).await.unwrap(), "second revocation is a no-op");
    assert_eq!(store.get_token("j1").await.unwrap().unwrap().revoked_at, Some(1_500));
}

#[tokio::test]
async fn a_duplicate_jti_is_refused() {
    let (store, _db) = store().await;
    store.record_tokens(&[token("j1", "c1")]).await.unwrap();
    assert!(store.record_tokens(&[token("j1", "c1")]).await.is_err());
}

#[tokio::test]
async fn group_commit_records_every_concurrent_token() {
    let (store, _db) = store().await;
    let writer = GroupCommit::start(store.clone());
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.record(token(&format!("j{i}"), "c1")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for i in [0, 150, 299] {
        assert!(store.get_token(&format!("j{i}")).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn group_commit_reports_a_failed_batch_to_every_waiter() {
    let (store, _db) = store().await;
    store.record_tokens(&[token("dup", "c1")]).await.unwrap();
    let writer = GroupCommit::start(store.clone());
    assert!(writer.record(token("dup", "c1")).await.is_err());
    writer.record(token("fresh", "c1")).await.unwrap();
}

#[tokio::test]
async fn the_change_feed_announces_every_change_in_order() {
    let (store, _db) = store().await;
    let start = store.latest_change_id().await.unwrap();
    store.put_scope(&scope("quote:read", "")).await.unwrap();
    store.insert_client(&client("c1")).await.unwrap();
    store.record_tokens(&[token("j1", "c1")]).await.unwrap();
    store.revoke_token("j1", "c1", 1_500).await.unwrap();

    let (changes, last) = store.changes_since(start).await.unwrap();
    assert_eq!(
        changes,
        vec![
            Change::Scope("quote:read".into()),
            Change::Client("c1".into()),
            Change::TokenRevoked("j1".into()),
        ]
    );
    assert_eq!(last, store.latest_change_id().await.unwrap());
    assert!(store.changes_since(last).await.unwrap().0.is_empty());
}

/// On PostgreSQL a committed change also wakes every listener (LISTEN/NOTIFY), so other
/// instances need not wait for their next poll. The listener starts asynchronously, so the
/// change is repeated until one wakes it; a listener that never wakes fails the test.
#[tokio::test]
async fn committed_changes_wake_listeners_on_postgres() {
    let (store, db) = store().await;
    if store.backend() != portcullis_store::Backend::Postgres {
        return; // SQLite has one instance and no notifications: it polls.
    }
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let listener = tokio::spawn(portcullis_store::listen_for_changes(db.url.clone(), wake.clone()));
    let mut woken = false;
    for attempt in 0..100 {
        store.put_scope(&scope(&format!("wake:n{attempt}"), "")).await.unwrap();
        let wait = tokio::time::timeout(std::time::Duration::from_millis(100), wake.notified());
        if wait.await.is_ok() {
            woken = true;
            break;
        }
    }
    listener.abort();
    assert!(woken, "a committed change must wake the listener");
}

#[tokio::test]
async fn hostile_strings_are_data_not_sql() {
    let (store, _db) = store().await;
    for hostile in ["' OR '1'='1", "1;DROP TABLE tokens--", "\\'", "%27"] {
        assert!(store.get_token(hostile).await.unwrap().is_none());
        assert!(!store.revoke_token(hostile, hostile, 1).await.unwrap());
    }
    store.record_tokens(&[token("j1", "c1")]).await.unwrap();
    assert!(store.get_token("j1").await.unwrap().is_some());
}
