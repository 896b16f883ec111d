//! Storage conformance for the end-user flows: users, authorization codes, refresh-token
//! families, consents, sessions and sign-in failure counters. Runs on SQLite and on PostgreSQL
//! (`PORTCULLIS_TEST_BACKEND=postgres`), each test on a fresh database.

// A panic is how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use portcullis_core::client::GrantType;
use portcullis_core::store::{
    CodeRecord, CodeState, ConsentStore, GrantStore, IssuedGrantTokens, RefreshRecord,
    RefreshRotation, RefreshState, StoreError, TokenRecord, TokenStore, UserStore,
};
use portcullis_core::user::{User, UserStatus};
use portcullis_store::testing::{fresh_database, TestDatabase};
use portcullis_store::SqlStore;

async fn store() -> (SqlStore, TestDatabase) {
    let db = fresh_database().await;
    let store = SqlStore::connect(&db.url, 8).await.expect("connect and migrate");
    (store, db)
}

fn user(id: &str, username: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        name: Some("O'Brien".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        status: UserStatus::Active,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn code(hash: u8) -> CodeRecord {
    CodeRecord {
        code_hash: vec![hash; 32],
        grant_id: format!("g{hash}"),
        client_id: "c1".into(),
        user_id: "u1".into(),
        redirect_uri: "https://app.example/cb".into(),
        scopes: "openid email".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        nonce: Some("n-1".into()),
        auth_time: 900,
        expires_at: 1_060,
    }
}

fn refresh(hash: u8, grant: &str) -> RefreshRecord {
    RefreshRecord {
        token_hash: vec![hash; 32],
        grant_id: grant.into(),
        client_id: "c1".into(),
        user_id: "u1".into(),
        scopes: "openid".into(),
        auth_time: 900,
        issued_at: 1_000,
        expires_at: 5_000,
    }
}

fn access(jti: &str, grant: Option<&str>) -> TokenRecord {
    TokenRecord {
        jti: jti.into(),
        client_id: "c1".into(),
        subject: "u1".into(),
        scopes: "openid".into(),
        grant_type: GrantType::AuthorizationCode,
        issued_at: 1_000,
        expires_at: 2_000,
        grant_id: grant.map(str::to_owned),
    }
}

#[tokio::test]
async fn users_round_trip_and_usernames_are_unique() {
    let (store, _db) = store().await;
    store.insert_user(&user("u1", "alice")).await.unwrap();
    assert_eq!(store.get_user("u1").await.unwrap(), Some(user("u1", "alice")));
    assert_eq!(store.find_user("alice").await.unwrap().unwrap().id, "u1");
    assert_eq!(store.find_user("ALICE").await.unwrap(), None, "usernames match exactly");

    let taken = store.insert_user(&user("u2", "alice")).await.unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)), "{taken:?}");

    assert!(store.set_user_status("u1", UserStatus::Disabled, 2_000).await.unwrap());
    assert!(store.set_user_password("u1", "$argon2id$new", 2_000).await.unwrap());
    let changed = store.get_user("u1").await.unwrap().unwrap();
    assert_eq!(
        (changed.status, changed.password_hash.as_str()),
        (UserStatus::Disabled, "$argon2id$new")
    );
    assert!(!store.set_user_status("nobody", UserStatus::Active, 2_000).await.unwrap());
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

fn issued(jti: &str, grant: &str, refresh_hash: Option<u8>) -> IssuedGrantTokens {
    IssuedGrantTokens {
        access: access(jti, Some(grant)),
        refresh: refresh_hash.map(|hash| refresh(hash, grant)),
    }
}

/// Rotates the token whose hash is `presented` into `successor`, recording access token `jti`.
async fn rotate(
    store: &SqlStore,
    presented: u8,
    successor: RefreshRecord,
    jti: &str,
    now: i64,
) -> portcullis_core::store::StoreResult<RefreshRotation> {
    let access = access(jti, Some(&successor.grant_id));
    store.rotate_refresh_token(&[presented; 32], &successor, &access, now).await
}

#[tokio::test]
async fn a_code_is_exchanged_once_with_its_tokens_in_the_same_commit() {
    let (store, _db) = store().await;
    store.insert_code(&code(1)).await.unwrap();
    assert_eq!(store.find_code(&[1; 32]).await.unwrap(), Some((code(1), CodeState::Unused)));

    assert!(store.exchange_code(&[1; 32], &issued("a1", "g1", Some(5)), 1_010).await.unwrap());
    let spent = CodeState::Spent { at: 1_010, tokens_issued: true };
    assert_eq!(store.find_code(&[1; 32]).await.unwrap(), Some((code(1), spent)));
    assert!(store.get_token("a1").await.unwrap().is_some(), "the access token is recorded");
    assert!(store.find_refresh_token(&[5; 32]).await.unwrap().unwrap().1, "the refresh token");

    // A second exchange writes nothing, whatever it carries.
    assert!(!store.exchange_code(&[1; 32], &issued("a2", "g1", Some(6)), 1_020).await.unwrap());
    assert_eq!(store.get_token("a2").await.unwrap(), None);
    assert_eq!(store.find_refresh_token(&[6; 32]).await.unwrap(), None);
    assert_eq!(store.find_code(&[9; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn a_burnt_code_issued_nothing_and_cannot_be_exchanged() {
    let (store, _db) = store().await;
    store.insert_code(&code(1)).await.unwrap();
    assert!(store.burn_code(&[1; 32], 1_010).await.unwrap());
    assert!(!store.burn_code(&[1; 32], 1_011).await.unwrap(), "already spent");
    let burnt = CodeState::Spent { at: 1_010, tokens_issued: false };
    assert_eq!(store.find_code(&[1; 32]).await.unwrap(), Some((code(1), burnt)));
    assert!(!store.exchange_code(&[1; 32], &issued("a1", "g1", None), 1_020).await.unwrap());
    assert_eq!(store.get_token("a1").await.unwrap(), None);
}

#[tokio::test]
async fn an_exchange_that_cannot_record_its_tokens_leaves_the_code_unused() {
    let (store, _db) = store().await;
    store.insert_code(&code(1)).await.unwrap();
    store.insert_code(&code(2)).await.unwrap();
    assert!(store.exchange_code(&[2; 32], &issued("a1", "g2", None), 1_010).await.unwrap());

    // The same jti again violates the tokens table's key inside the transaction: the spend of
    // code 1 must roll back with it (FT-01: never "code spent, tokens missing").
    let failing = issued("a1", "g1", Some(7));
    assert!(store.exchange_code(&[1; 32], &failing, 1_020).await.is_err());
    assert_eq!(store.find_code(&[1; 32]).await.unwrap(), Some((code(1), CodeState::Unused)));
    assert_eq!(store.find_refresh_token(&[7; 32]).await.unwrap(), None);
    assert!(store.exchange_code(&[1; 32], &issued("a3", "g1", None), 1_030).await.unwrap());
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_commit_exactly_once() {
    let (store, _db) = store().await;
    store.insert_code(&code(2)).await.unwrap();
    let store = Arc::new(store);
    let attempts: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            let tokens = issued(&format!("a{i}"), "g2", Some(10 + i));
            tokio::spawn(async move { store.exchange_code(&[2; 32], &tokens, 1_010).await })
        })
        .collect();
    let mut committed = 0;
    for attempt in attempts {
        if attempt.await.unwrap().unwrap() {
            committed += 1;
        }
    }
    assert_eq!(committed, 1);
    let mut recorded = 0;
    for i in 0..8u8 {
        if store.get_token(&format!("a{i}")).await.unwrap().is_some() {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1, "one set of tokens");
}

#[tokio::test]
async fn rotation_keeps_exactly_one_live_token_and_knows_the_immediate_predecessor() {
    let (store, _db) = store().await;
    store.insert_refresh_token(&refresh(1, "g1")).await.unwrap();
    assert_eq!(
        store.refresh_token_state(&[1; 32]).await.unwrap(),
        Some((refresh(1, "g1"), RefreshState::Live))
    );

    let successor = RefreshRecord { issued_at: 1_500, ..refresh(2, "g1") };
    let rotated = rotate(&store, 1, successor, "a1", 1_500).await.unwrap();
    assert_eq!(rotated, RefreshRotation::Rotated(refresh(1, "g1")));
    assert!(store.get_token("a1").await.unwrap().is_some(), "recorded with the rotation");
    let (stored, state) = store.refresh_token_state(&[2; 32]).await.unwrap().unwrap();
    assert_eq!(state, RefreshState::Live);
    assert_eq!(stored.expires_at, 5_000, "rotation keeps the family's absolute end");
    let predecessor = RefreshState::Rotated { at: 1_500, successor_live: true };
    assert_eq!(store.refresh_token_state(&[1; 32]).await.unwrap().unwrap().1, predecessor);

    // Once the successor is rotated in turn, the first token is two generations old.
    let third = RefreshRecord { issued_at: 1_600, ..refresh(3, "g1") };
    let again = rotate(&store, 2, third, "a2", 1_600).await.unwrap();
    assert!(matches!(again, RefreshRotation::Rotated(_)));
    let older = RefreshState::Rotated { at: 1_500, successor_live: false };
    assert_eq!(store.refresh_token_state(&[1; 32]).await.unwrap().unwrap().1, older);

    // A spent token writes nothing; an unknown one is unknown.
    let spent = rotate(&store, 1, refresh(4, "g1"), "a3", 1_700).await.unwrap();
    assert_eq!(spent, RefreshRotation::AlreadySpent(refresh(1, "g1")));
    assert_eq!(store.find_refresh_token(&[4; 32]).await.unwrap(), None);
    assert_eq!(store.get_token("a3").await.unwrap(), None);
    let unknown = rotate(&store, 7, refresh(8, "g1"), "a4", 1_700).await.unwrap();
    assert_eq!(unknown, RefreshRotation::Unknown);

    store.revoke_grant("g1", 1_800).await.unwrap();
    assert_eq!(
        store.refresh_token_state(&[3; 32]).await.unwrap().unwrap().1,
        RefreshState::Revoked
    );
}

#[tokio::test]
async fn a_rotation_that_cannot_record_its_access_token_keeps_the_old_token_live() {
    let (store, _db) = store().await;
    store.insert_refresh_token(&refresh(1, "g1")).await.unwrap();
    store.record_tokens(&[access("a1", Some("g1"))]).await.unwrap();

    // A duplicate jti fails the insert inside the transaction (FT-02: never zero live tokens).
    assert!(rotate(&store, 1, refresh(2, "g1"), "a1", 1_500).await.is_err());
    assert_eq!(store.refresh_token_state(&[1; 32]).await.unwrap().unwrap().1, RefreshState::Live);
    assert_eq!(store.find_refresh_token(&[2; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_rotations_of_one_token_leave_one_successor() {
    let (store, _db) = store().await;
    store.insert_refresh_token(&refresh(1, "g1")).await.unwrap();
    let store = Arc::new(store);
    let attempts: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                rotate(&store, 1, refresh(10 + i, "g1"), &format!("a{i}"), 1_500).await
            })
        })
        .collect();
    let mut rotated = 0;
    for attempt in attempts {
        if matches!(attempt.await.unwrap().unwrap(), RefreshRotation::Rotated(_)) {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
    let mut live = 0;
    for i in 0..8u8 {
        if let Some((_, true)) = store.find_refresh_token(&[10 + i; 32]).await.unwrap() {
            live += 1;
        }
    }
    assert_eq!(live, 1, "exactly one live token in the family");
}

#[tokio::test]
async fn a_rotation_racing_a_revocation_never_leaves_a_live_token() {
    let (store, _db) = store().await;
    let store = Arc::new(store);
    for round in 0..20u8 {
        let grant = format!("race{round}");
        let (presented, successor) = (100 + round, 200 - round);
        store.insert_refresh_token(&refresh(presented, &grant)).await.unwrap();
        let rotating = {
            let (store, grant) = (store.clone(), grant.clone());
            let jti = format!("race-a{round}");
            tokio::spawn(async move {
                rotate(&store, presented, refresh(successor, &grant), &jti, 1_500).await.unwrap()
            })
        };
        let revoking = {
            let (store, grant) = (store.clone(), grant.clone());
            tokio::spawn(async move { store.revoke_grant(&grant, 1_500).await.unwrap() })
        };
        rotating.await.unwrap();
        revoking.await.unwrap();
        for hash in [presented, successor] {
            let found = store.find_refresh_token(&[hash; 32]).await.unwrap();
            assert!(!found.is_some_and(|(_, live)| live), "round {round}: a live token survived");
        }
    }
}

#[tokio::test]
async fn revoking_a_grant_revokes_its_refresh_and_access_tokens_only() {
    let (store, _db) = store().await;
    store.insert_refresh_token(&refresh(1, "g1")).await.unwrap();
    store.insert_refresh_token(&refresh(2, "g2")).await.unwrap();
    let tokens = [access("a1", Some("g1")), access("a2", Some("g1")), access("b1", Some("g2"))];
    store.record_tokens(&tokens).await.unwrap();

    let mut revoked = store.revoke_grant("g1", 1_500).await.unwrap();
    revoked.sort();
    assert_eq!(revoked, ["a1", "a2"]);
    assert!(!store.find_refresh_token(&[1; 32]).await.unwrap().unwrap().1);
    assert!(store.find_refresh_token(&[2; 32]).await.unwrap().unwrap().1);
    assert!(store.get_token("a1").await.unwrap().unwrap().revoked_at.is_some());
    assert!(store.get_token("b1").await.unwrap().unwrap().revoked_at.is_none());
}

#[tokio::test]
async fn withdrawing_consent_revokes_every_grant_of_that_user_and_client_only() {
    let (store, _db) = store().await;
    store.insert_refresh_token(&refresh(1, "g1")).await.unwrap();
    store.insert_refresh_token(&refresh(2, "g2")).await.unwrap();
    let other_client = RefreshRecord { client_id: "c2".into(), ..refresh(3, "g3") };
    store.insert_refresh_token(&other_client).await.unwrap();
    let service = TokenRecord { subject: "client:c1".into(), ..access("s1", None) };
    let c2 = TokenRecord { client_id: "c2".into(), ..access("x1", Some("g3")) };
    let tokens = [access("a1", Some("g1")), access("a2", Some("g2")), service, c2];
    store.record_tokens(&tokens).await.unwrap();

    let mut revoked = store.revoke_user_grants("u1", "c1", 1_500).await.unwrap();
    revoked.sort();
    assert_eq!(revoked, ["a1", "a2"]);
    for (hash, live) in [(1, false), (2, false), (3, true)] {
        assert_eq!(store.find_refresh_token(&[hash; 32]).await.unwrap().unwrap().1, live);
    }
    assert!(store.get_token("s1").await.unwrap().unwrap().revoked_at.is_none());
    assert!(store.get_token("x1").await.unwrap().unwrap().revoked_at.is_none());
}

#[tokio::test]
async fn consents_are_remembered_only_when_allowed_and_can_be_forgotten() {
    let (store, _db) = store().await;
    store.record_consent("u1", "c1", "openid", false, "v1", 1_000).await.unwrap();
    assert_eq!(
        store.remembered_consent("u1", "c1").await.unwrap(),
        None,
        "a denial remembers nothing"
    );

    store.record_consent("u1", "c1", "email openid", true, "v1", 1_100).await.unwrap();
    assert_eq!(
        store.remembered_consent("u1", "c1").await.unwrap().as_deref(),
        Some("email openid")
    );
    assert_eq!(store.remembered_consent("u2", "c1").await.unwrap(), None);
    let listed = store.list_consents("u1").await.unwrap();
    assert_eq!(listed, [("c1".to_owned(), "email openid".to_owned(), 1_100)]);

    assert!(store.forget_consent("u1", "c1").await.unwrap());
    assert!(!store.forget_consent("u1", "c1").await.unwrap());
    assert_eq!(store.remembered_consent("u1", "c1").await.unwrap(), None);
}

#[tokio::test]
async fn sessions_expire_and_ids_are_never_reused() {
    let (store, _db) = store().await;
    assert!(store.create_session("s1", "{\"user\":\"u1\"}", 2_000, 10_000).await.unwrap());
    assert!(!store.create_session("s1", "{}", 3_000, 10_000).await.unwrap(), "an id is taken once");
    assert_eq!(
        store.load_session("s1", 1_500).await.unwrap().as_deref(),
        Some("{\"user\":\"u1\"}")
    );
    assert_eq!(store.load_session("s1", 2_000).await.unwrap(), None, "expired");

    store.save_session("s1", "{\"user\":\"u2\"}", 4_000, 99_000).await.unwrap();
    assert_eq!(
        store.load_session("s1", 3_000).await.unwrap().as_deref(),
        Some("{\"user\":\"u2\"}")
    );
    store.delete_session("s1").await.unwrap();
    assert_eq!(store.load_session("s1", 3_000).await.unwrap(), None);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_end_however_often_it_is_saved() {
    let (store, _db) = store().await;
    assert!(store.create_session("s2", "{}", 2_000, 5_000).await.unwrap());
    // Activity moves the idle expiry, never the absolute end given at creation.
    store.save_session("s2", "{\"seen\":1}", 7_000, 99_000).await.unwrap();
    assert!(store.load_session("s2", 4_999).await.unwrap().is_some());
    assert_eq!(store.load_session("s2", 5_000).await.unwrap(), None, "past its absolute end");
    assert_eq!(store.delete_expired(5_001).await.unwrap().sessions, 1);
}

#[tokio::test]
async fn sign_in_attempts_are_counted_atomically_and_one_caller_wins_a_lock() {
    let (store, _db) = store().await;
    assert_eq!(store.login_failures("user:alice").await.unwrap(), None);
    let store = Arc::new(store);
    let counts: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(
                async move { store.count_login_attempt("user:alice", 1_000).await.unwrap() },
            )
        })
        .collect();
    let mut seen = Vec::new();
    for count in counts {
        seen.push(count.await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, (1..=20).collect::<Vec<i64>>(), "no attempt lost or counted twice");

    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(
                async move { store.try_lock_login("user:alice", 1_000, 1_030).await.unwrap() },
            )
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
    assert_eq!(store.login_failures("user:alice").await.unwrap(), Some((20, 1_030)));

    store.lock_login("user:alice", 1_010).await.unwrap();
    assert_eq!(store.login_failures("user:alice").await.unwrap(), Some((20, 1_030)), "kept");
    store.release_login_lock("user:alice", 1_030).await.unwrap();
    store.forgive_login_attempt("user:alice").await.unwrap();
    assert_eq!(store.login_failures("user:alice").await.unwrap(), Some((19, 0)));
    store.clear_login_failures("user:alice").await.unwrap();
    assert_eq!(store.login_failures("user:alice").await.unwrap(), None);
}
