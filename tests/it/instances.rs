//! Two instances on one database behave like one server (issue "several instances"): a
//! sign-in on one is a session on the other, a family or a client's tokens revoked on one are
//! refused by the other within a second even after it cached them, and a rotated signing key is
//! published and used by both. (Single revocations, key disabling, lockouts and the shared
//! Redis limits have their own two-instance tests in changes.rs, api_keys.rs, user_flows.rs,
//! api_keys_redis.rs and operations.rs.)

use std::time::Duration;

use axum::http::StatusCode;
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::store::TokenSelection;

use crate::browser::{Browser, Flow, VERIFIER};
use crate::support::{within, TestServer};

const ONE_SECOND: Duration = Duration::from_secs(1);

async fn active_on(server: &TestServer, flow: &Flow, token: &str) -> bool {
    server.introspect(&flow.web, token).await.json()["active"] == true
}

#[tokio::test]
async fn sessions_revocations_and_key_rotation_agree_across_two_instances() {
    let flow = Flow::start().await;
    let second = flow.server.second_instance().await;
    second.wait_for_client(&flow.web.id).await;

    // A sign-in on the first instance is a session on the second (sessions live in the
    // database).
    let mut browser = Browser::default();
    let code = flow.code(&mut browser, &[]).await;
    let account = browser.get(&second, "/account").await;
    assert_eq!(account.status, StatusCode::OK, "signed in on the other instance too");
    assert!(account.text().contains("alice"));

    // A family revoked on the first (refresh replay) is refused by the second, which had
    // cached its access token as active.
    let tokens = flow.exchange(&code, VERIFIER).await.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let rotated = flow.refresh(&refresh, None).await.json();
    let rotated_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert!(active_on(&second, &flow, &rotated_access).await, "cached on the second");
    crate::support::outlast_duplicate_window().await;
    assert_eq!(flow.refresh(&refresh, None).await.error(), "invalid_grant", "a replay");
    let took =
        within(ONE_SECOND, || async { !active_on(&second, &flow, &rotated_access).await }).await;
    eprintln!("family revocation reached the second instance after {took:?}");
    assert!(!active_on(&second, &flow, &access).await);

    // Every token of the client, revoked in bulk on the first.
    let code = flow.code(&mut browser, &[]).await;
    let fresh = flow.exchange(&code, VERIFIER).await.json();
    let fresh_access = fresh["access_token"].as_str().unwrap().to_owned();
    assert!(active_on(&second, &flow, &fresh_access).await, "cached on the second");
    let selection = TokenSelection::Client(flow.web.id.clone());
    flow.server.operator.revoke_tokens(&selection, "incident").await.unwrap();
    within(ONE_SECOND, || async { !active_on(&second, &flow, &fresh_access).await }).await;

    // A signing key rotated through the first is published and used by the second.
    let before = second.get("/oauth2/jwks").await.json();
    let kid = portcullis::bootstrap::rotate_signing_key(
        &flow.server.state.store,
        &flow.server.state.master_key,
        SigningAlgorithm::ES256,
        3600,
    )
    .await
    .unwrap();
    within(ONE_SECOND, || async { second.get("/oauth2/jwks").await.text().contains(&kid) }).await;
    assert_ne!(before, second.get("/oauth2/jwks").await.json());
    let code = flow.code(&mut browser, &[]).await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        crate::support::urlencode(crate::browser::REDIRECT)
    );
    let issued = second.post_form("/oauth2/token", Some(&flow.web.basic()), &body).await.json();
    let header = issued["access_token"].as_str().unwrap().split('.').next().unwrap().to_owned();
    let header =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap();
    assert!(String::from_utf8(header).unwrap().contains(&kid), "the second signs with it");
}
