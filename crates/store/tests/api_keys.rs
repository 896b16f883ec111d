//! Storage conformance for API keys, their usage counters and the saved limiter state. Runs on
//! SQLite and on PostgreSQL (`PORTCULLIS_TEST_BACKEND=postgres`), each on a fresh database.

// A panic is how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use portcullis_core::api_key::{ApiKey, ApiKeyStatus, VerifyOutcome};
use portcullis_core::cidr::parse_networks;
use portcullis_core::client::{
    parse_wire_list, Client, ClientId, ClientStatus, ClientType, TokenAuthMethod,
};
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::{
    ApiKeyStore, Change, ChangeFeed, ClientStore, StoreError, UsageBatch,
};
use portcullis_store::testing::{fresh_database, TestDatabase};
use portcullis_store::SqlStore;

async fn store_with_client() -> (SqlStore, TestDatabase) {
    let db = fresh_database().await;
    let store = SqlStore::connect(&db.url, 8).await.expect("connect and migrate");
    let client = Client {
        id: ClientId::parse("c1").unwrap(),
        name: "Partner".into(),
        client_type: ClientType::Confidential,
        grant_types: parse_wire_list("client_credentials").unwrap(),
        allowed_scopes: ScopeSet::parse_list("quote:read").unwrap(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        id_token_signing_alg: None,
        auth_method: TokenAuthMethod::ClientSecretBasic,
        access_token_lifetime: 600,
        refresh_token_lifetime: 3600,
        lifetime_policy: None,
        status: ClientStatus::Active,
        permissions: BTreeSet::new(),
        secret_hash: Some(vec![1]),
        previous_secret: None,
        created_at: 1_000,
        updated_at: 1_000,
    };
    store.insert_client(&client).await.unwrap();
    (store, db)
}

fn key(id: &str, hash: u8) -> ApiKey {
    ApiKey {
        id: id.into(),
        client_id: ClientId::parse("c1").unwrap(),
        name: "sync ' key".into(),
        scopes: ScopeSet::parse_list("quote:read").unwrap(),
        rate_limit_per_minute: 600,
        burst: Some(10),
        allowed_ips: parse_networks("10.0.0.0/24,2001:db8::/32").unwrap(),
        expires_at: Some(5_000),
        status: ApiKeyStatus::Active,
        key_prefix: "pcak_abcdef".into(),
        key_hash: vec![hash; 32],
        created_at: 1_000,
        updated_at: 1_000,
        last_used_at: None,
        replaced_by: None,
    }
}

#[tokio::test]
async fn keys_round_trip_and_announce_changes() {
    let (store, _db) = store_with_client().await;
    let before = store.latest_change_id().await.unwrap();
    store.insert_api_key(&key("k1", 1)).await.unwrap();
    let plain = ApiKey { burst: None, allowed_ips: vec![], expires_at: None, ..key("k2", 2) };
    store.insert_api_key(&plain).await.unwrap();

    assert_eq!(store.get_api_key("k1").await.unwrap(), Some(key("k1", 1)));
    assert_eq!(store.get_api_key("k2").await.unwrap(), Some(plain));
    assert_eq!(store.get_api_key("nope").await.unwrap(), None);
    let client = ClientId::parse("c1").unwrap();
    assert_eq!(store.list_api_keys(Some(&client)).await.unwrap().len(), 2);
    let other = ClientId::parse("c2").unwrap();
    assert!(store.list_api_keys(Some(&other)).await.unwrap().is_empty());

    let (changes, _) = store.changes_since(before).await.unwrap();
    assert!(changes.contains(&Change::ApiKey("k1".into())));

    let duplicate_hash = store.insert_api_key(&key("k3", 1)).await;
    assert!(matches!(duplicate_hash, Err(StoreError::Conflict(_))));
}

#[tokio::test]
async fn revocation_is_final() {
    let (store, _db) = store_with_client().await;
    store.insert_api_key(&key("k1", 1)).await.unwrap();
    assert!(store.set_api_key_status("k1", ApiKeyStatus::Disabled, 2_000).await.unwrap());
    assert!(store.set_api_key_status("k1", ApiKeyStatus::Revoked, 2_001).await.unwrap());
    assert!(!store.set_api_key_status("k1", ApiKeyStatus::Active, 2_002).await.unwrap());
    let stored = store.get_api_key("k1").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.updated_at), (ApiKeyStatus::Revoked, 2_001));
}

#[tokio::test]
async fn rotation_is_one_transaction() {
    let (store, _db) = store_with_client().await;
    store.insert_api_key(&key("k1", 1)).await.unwrap();
    store.insert_api_key(&key("k2", 2)).await.unwrap();

    // Without overlap the old key is revoked.
    assert!(store.rotate_api_key("k1", &key("k1b", 11), None).await.unwrap());
    let old = store.get_api_key("k1").await.unwrap().unwrap();
    assert_eq!((old.status, old.replaced_by.as_deref()), (ApiKeyStatus::Revoked, Some("k1b")));

    // With overlap it expires at the earlier of its own expiry and the chosen time.
    assert!(store.rotate_api_key("k2", &key("k2b", 12), Some(3_000)).await.unwrap());
    let old = store.get_api_key("k2").await.unwrap().unwrap();
    assert_eq!((old.status, old.expires_at), (ApiKeyStatus::Active, Some(3_000)));

    // A key rotates once; a failed rotation writes nothing.
    assert!(!store.rotate_api_key("k2", &key("k2c", 13), None).await.unwrap());
    assert_eq!(store.get_api_key("k2c").await.unwrap(), None);
}

#[tokio::test]
async fn usage_counters_add_up_across_flushes() {
    let (store, _db) = store_with_client().await;
    store.insert_api_key(&key("k1", 1)).await.unwrap();
    let batch = UsageBatch {
        outcomes: vec![
            ("k1".into(), 20_000, VerifyOutcome::Valid, 5),
            ("k1".into(), 20_000, VerifyOutcome::RateLimited, 2),
            ("k1".into(), 20_001, VerifyOutcome::Valid, 1),
        ],
        sources: vec![
            ("k1".into(), 20_000, "192.0.2.1".into(), 4),
            ("k1".into(), 20_000, "2001:db8::1".into(), 3),
        ],
        last_used: vec![("k1".into(), 1_728_000_000)],
    };
    store.record_usage(&batch).await.unwrap();
    store.record_usage(&batch).await.unwrap();
    let older = UsageBatch { last_used: vec![("k1".into(), 5)], ..UsageBatch::default() };
    store.record_usage(&older).await.unwrap();

    let days = store.key_usage("k1", 20_000, 20_000).await.unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].outcomes, vec![(VerifyOutcome::RateLimited, 4), (VerifyOutcome::Valid, 10)]);
    assert_eq!(days[0].sources, vec![("192.0.2.1".to_owned(), 8), ("2001:db8::1".to_owned(), 6)]);
    assert_eq!(store.key_usage("k1", 19_000, 30_000).await.unwrap().len(), 2);
    let last_used = store.get_api_key("k1").await.unwrap().unwrap().last_used_at;
    assert_eq!(last_used, Some(1_728_000_000), "last use only moves forward");
}

#[tokio::test]
async fn limiter_state_is_replaced_whole() {
    let (store, _db) = store_with_client().await;
    store.save_rate_state(&[("k1".into(), 1_700_000_000_000_000), ("k2".into(), 7)]).await.unwrap();
    store.save_rate_state(&[("k3".into(), 9)]).await.unwrap();
    assert_eq!(store.load_rate_state().await.unwrap(), vec![("k3".to_owned(), 9)]);
}

#[tokio::test]
async fn deleting_a_client_deletes_its_keys() {
    let (store, _db) = store_with_client().await;
    store.insert_api_key(&key("k1", 1)).await.unwrap();
    store.delete_client(&ClientId::parse("c1").unwrap()).await.unwrap();
    assert_eq!(store.get_api_key("k1").await.unwrap(), None);
}
