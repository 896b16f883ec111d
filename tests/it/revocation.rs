//! Revocation (RFC 7009), SECURITY.md G-09 to G-17.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestServer;

async fn setup() -> (TestServer, crate::support::TestClient, String) {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let client = server.service_client("quote:read").await;
    let token = server.access_token(&client, "quote:read").await;
    (server, client, token)
}

#[tokio::test]
async fn g09_revocation_is_visible_to_introspection_at_once() {
    let (server, client, token) = setup().await;
    assert_eq!(server.introspect(&client, &token).await.json()["active"], true, "cached as active");
    let reply = server.revoke(&client, &token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(server.introspect(&client, &token).await.json(), json!({ "active": false }));
}

#[tokio::test]
async fn g11_g15_unknown_tokens_and_hints_get_200() {
    let (server, client, token) = setup().await;
    assert_eq!(server.revoke(&client, "garbage").await.status, StatusCode::OK);
    let body = format!("token={token}&token_type_hint=foo");
    assert_eq!(
        server.post_form("/oauth2/revoke", Some(&client.basic()), &body).await.status,
        StatusCode::OK
    );
    assert_eq!(server.introspect(&client, &token).await.json()["active"], false);
}

#[tokio::test]
async fn g12_another_client_cannot_revoke_my_token() {
    let (server, client, token) = setup().await;
    let other = server.service_client("quote:read").await;
    assert_eq!(server.revoke(&other, &token).await.status, StatusCode::OK, "no oracle");
    assert_eq!(
        server.introspect(&client, &token).await.json()["active"],
        true,
        "token stays active"
    );
}

#[tokio::test]
async fn g14_revocation_needs_client_authentication() {
    let (server, client, token) = setup().await;
    let reply = server.post_form("/oauth2/revoke", None, &format!("token={token}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error(), "invalid_client");
    assert_eq!(server.introspect(&client, &token).await.json()["active"], true);
}

#[tokio::test]
async fn g16_a_storage_failure_is_503_never_200() {
    let (server, client, token) = setup().await;
    server.state.store.close().await;
    let reply = server.revoke(&client, &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error(), "temporarily_unavailable");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn a_storage_failure_during_issuance_hands_out_no_token() {
    let (server, client, _) = setup().await;
    server.state.store.close().await;
    let reply = server.token(&client, "quote:read").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.json().get("access_token").is_none());
}

#[tokio::test]
async fn g17_get_is_405() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/oauth2/revoke").await.status, StatusCode::METHOD_NOT_ALLOWED);
}
