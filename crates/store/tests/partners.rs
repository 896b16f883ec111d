//! Storage conformance for partner accounts, the clients their organisations own and their
//! notifications, on SQLite and PostgreSQL (`PORTCULLIS_TEST_BACKEND=postgres`).

// A panic is how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use portcullis_core::client::{
    parse_wire_list, Client, ClientId, ClientStatus, ClientType, TokenAuthMethod,
};
use portcullis_core::partner::{Invitation, Notification, Partner, PartnerClient, PartnerStatus};
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::{ClientStore, StoreError};
use portcullis_store::testing::{fresh_database, TestDatabase};
use portcullis_store::{InvitedSignUp, SqlStore};

async fn store() -> (SqlStore, TestDatabase) {
    let db = fresh_database().await;
    let store = SqlStore::connect(&db.url, 8).await.expect("connect and migrate");
    (store, db)
}

fn partner(id: &str, email: &str, organisation_id: &str) -> Partner {
    Partner {
        id: id.into(),
        email: email.into(),
        name: "Dana O'Brien".into(),
        organisation: "Partner ' Ltd".into(),
        organisation_id: organisation_id.into(),
        invited_by: None,
        password_hash: "$argon2id$x".into(),
        status: PartnerStatus::Pending,
        decision_reason: None,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: "Quote sync".into(),
        client_type: ClientType::Confidential,
        grant_types: parse_wire_list("client_credentials").unwrap(),
        allowed_scopes: ScopeSet::parse_list("quote:read").unwrap(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        id_token_signing_alg: None,
        auth_method: TokenAuthMethod::ClientSecretBasic,
        access_token_lifetime: 600,
        refresh_token_lifetime: 3_600,
        lifetime_policy: None,
        status: ClientStatus::Pending,
        permissions: BTreeSet::new(),
        secret_hash: Some(vec![9; 32]),
        previous_secret: None,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn owner(client_id: &str, organisation_id: &str) -> PartnerClient {
    PartnerClient {
        client_id: client_id.into(),
        organisation_id: organisation_id.into(),
        description: "Nightly sync".into(),
        justification: "Brokers need prices".into(),
        max_overlap_hours: None,
        decision_reason: None,
        secret_revealed_at: None,
        requested_at: 1_000,
    }
}

#[tokio::test]
async fn partners_round_trip_and_decisions_are_conditional() {
    let (store, _db) = store().await;
    let dana = partner("p1", "dana@partner.example", "org-1");
    store.insert_partner(&dana).await.unwrap();
    let again = store.insert_partner(&partner("p2", "dana@partner.example", "org-2")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "one account per email");

    assert_eq!(store.find_partner("dana@partner.example").await.unwrap().unwrap(), dana);
    assert_eq!(store.list_partners(Some(PartnerStatus::Pending)).await.unwrap().len(), 1);
    assert!(store.list_partners(Some(PartnerStatus::Active)).await.unwrap().is_empty());
    assert_eq!(store.organisation_name("org-1").await.unwrap().as_deref(), Some("Partner ' Ltd"));

    // A decision applies only to the status it was made for: the second one finds it gone.
    let approve = |reason| {
        store.set_partner_status("p1", PartnerStatus::Pending, PartnerStatus::Active, reason, 2_000)
    };
    assert!(approve(Some("known")).await.unwrap());
    assert!(!approve(None).await.unwrap());
    let decided = store.get_partner("p1").await.unwrap().unwrap();
    assert_eq!(decided.status, PartnerStatus::Active);
    assert_eq!(decided.decision_reason.as_deref(), Some("known"));
    assert_eq!(decided.updated_at, 2_000);
}

#[tokio::test]
async fn a_partner_client_and_its_owner_are_written_together_and_scoped_by_organisation() {
    let (store, _db) = store().await;
    store.insert_partner_client(&client("c-one"), &owner("c-one", "org-1")).await.unwrap();
    store.insert_partner_client(&client("c-two"), &owner("c-two", "org-2")).await.unwrap();
    assert_eq!(
        store.get_client(&ClientId::parse("c-one").unwrap()).await.unwrap().unwrap().name,
        "Quote sync"
    );

    // A client id already taken fails the whole request: no owner row without its client.
    let duplicate = store.insert_partner_client(&client("c-one"), &owner("c-one", "org-2")).await;
    assert!(duplicate.is_err());
    assert_eq!(store.client_owner("c-one").await.unwrap().unwrap().organisation_id, "org-1");

    let mine = store.organisation_clients("org-1").await.unwrap();
    assert_eq!(mine.iter().map(|o| o.client_id.as_str()).collect::<Vec<_>>(), ["c-one"]);
    assert!(store.client_owner("not-a-partner-client").await.unwrap().is_none());

    store.record_client_decision("c-one", "reads only", Some(24)).await.unwrap();
    let decided = store.client_owner("c-one").await.unwrap().unwrap();
    assert_eq!(decided.decision_reason.as_deref(), Some("reads only"));
    assert_eq!(decided.max_overlap_hours, Some(24));

    // The first secret is revealed once.
    assert!(store.mark_secret_revealed("c-one", 3_000).await.unwrap());
    assert!(!store.mark_secret_revealed("c-one", 3_001).await.unwrap());
    assert_eq!(store.client_owner("c-one").await.unwrap().unwrap().secret_revealed_at, Some(3_000));

    // Deleting the client takes its owner row with it.
    store.delete_client(&ClientId::parse("c-two").unwrap()).await.unwrap();
    assert!(store.client_owner("c-two").await.unwrap().is_none());
}

#[tokio::test]
async fn notifications_are_per_organisation_newest_first_and_marked_read() {
    let (store, _db) = store().await;
    for (id, organisation, at) in
        [("n1", "org-1", 1_000), ("n2", "org-1", 2_000), ("n3", "org-2", 1_500)]
    {
        let notification = Notification {
            id: id.into(),
            organisation_id: organisation.into(),
            at,
            kind: "client.approve".into(),
            target: "client:c-one".into(),
            message: format!("message {id}"),
            read_at: None,
        };
        store.insert_notification(&notification).await.unwrap();
    }
    let mine = store.notifications("org-1", 10).await.unwrap();
    assert_eq!(mine.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["n2", "n1"]);
    assert_eq!(store.notifications("org-1", 1).await.unwrap().len(), 1, "limit");

    assert_eq!(store.unread_notifications("org-1").await.unwrap(), 2);
    store.mark_notifications_read("org-1", 5_000).await.unwrap();
    assert_eq!(store.unread_notifications("org-1").await.unwrap(), 0);
    assert_eq!(store.unread_notifications("org-2").await.unwrap(), 1);
    assert!(store
        .notifications("org-1", 10)
        .await
        .unwrap()
        .iter()
        .all(|n| n.read_at == Some(5_000)));
    assert!(
        store.notifications("org-2", 10).await.unwrap()[0].read_at.is_none(),
        "others untouched"
    );
}

#[tokio::test]
async fn an_invitation_adds_one_member_to_its_organisation_once() {
    let (store, _db) = store().await;
    let founder =
        Partner { status: PartnerStatus::Active, ..partner("p1", "dana@example.com", "org-1") };
    store.insert_partner(&founder).await.unwrap();
    let invitation = |hash: u8, expires_at: i64| Invitation {
        code_hash: vec![hash; 32],
        organisation_id: "org-1".into(),
        organisation: founder.organisation.clone(),
        invited_by: founder.email.clone(),
        created_at: 1_000,
        expires_at,
    };
    store.insert_invitation(&invitation(1, 5_000)).await.unwrap();
    store.insert_invitation(&invitation(2, 1_500)).await.unwrap();

    // The colleague lands in the inviting organisation, whatever it typed.
    let colleague = partner("p2", "sam@example.com", "org-typed");
    let joined = match store.insert_invited_partner(&colleague, &[1; 32], 2_000).await.unwrap() {
        InvitedSignUp::Joined(joined) => joined,
        other => panic!("{other:?}"),
    };
    assert_eq!(joined.organisation_id, "org-1");
    assert_eq!(joined.invited_by.as_deref(), Some("dana@example.com"));
    assert_eq!(store.get_partner("p2").await.unwrap(), Some(*joined));
    assert_eq!(store.organisation_members("org-1").await.unwrap().len(), 2);

    // Used, expired or unknown codes create nothing.
    let third = partner("p3", "kim@example.com", "org-3");
    for (code, at) in [([1u8; 32], 2_000), ([2; 32], 2_000), ([7; 32], 2_000)] {
        assert_eq!(
            store.insert_invited_partner(&third, &code, at).await.unwrap(),
            InvitedSignUp::InvalidInvitation
        );
    }
    assert_eq!(store.get_partner("p3").await.unwrap(), None);

    // An email already taken leaves the invitation unspent for the right person.
    store.insert_invitation(&invitation(3, 5_000)).await.unwrap();
    let twin = partner("p4", "sam@example.com", "org-4");
    assert_eq!(
        store.insert_invited_partner(&twin, &[3; 32], 2_000).await.unwrap(),
        InvitedSignUp::EmailTaken
    );
    assert!(matches!(
        store.insert_invited_partner(&third, &[3; 32], 2_000).await.unwrap(),
        InvitedSignUp::Joined(_)
    ));

    assert_eq!(store.other_active_members("org-1", "p1").await.unwrap(), 0, "p2, p3 pending");
    assert_eq!(store.other_active_members("org-1", "p2").await.unwrap(), 1);
}
