//! Introspection (RFC 7662), SECURITY.md group G, plus forged tokens (F-11) and oversize input
//! (K-16).

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_core::client::ClientPermission;
use serde_json::json;

use crate::support::{TestClient, TestServer, ISSUER};

async fn setup() -> (TestServer, TestClient, String) {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let client = server.service_client("quote:write").await;
    let token = server.access_token(&client, "quote:write").await;
    (server, client, token)
}

#[tokio::test]
async fn g01_introspection_needs_client_authentication() {
    let (server, _client, token) = setup().await;
    let reply = server.post_form("/oauth2/introspect", None, &format!("token={token}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error(), "invalid_client");
}

#[tokio::test]
async fn g02_an_active_token_reports_its_claims() {
    let (server, client, token) = setup().await;
    let reply = server.introspect(&client, &token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"), "G-08");
    let body = reply.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "quote:read quote:write", "same expansion as the token");
    assert_eq!(body["client_id"], client.id);
    assert_eq!(body["sub"], format!("client:{}", client.id));
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn g03_inactive_tokens_say_nothing_else() {
    let (server, client, token) = setup().await;
    let mut tampered = token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    for garbage in ["garbage", "a.b.c", "", tampered.as_str()] {
        let reply = server.introspect(&client, garbage).await;
        if garbage.is_empty() {
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "token is required");
            continue;
        }
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json(), json!({ "active": false }), "{garbage}");
    }
}

#[tokio::test]
async fn g03_expired_tokens_are_inactive() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let client = server.service_client("quote:read").await;
    // Sign a token that expired a minute ago with the server's own key.
    let now = portcullis::clock::unix_now();
    let claims = portcullis_core::token::AccessTokenClaims {
        iss: ISSUER.into(),
        sub: format!("client:{}", client.id),
        aud: crate::support::AUDIENCE.into(),
        client_id: client.id.clone(),
        scope: "quote:read".into(),
        jti: "expired-jti".into(),
        iat: now - 120,
        exp: now - 60,
    };
    let token = claims.sign(&server.state.live.keys().current).unwrap();
    assert_eq!(server.introspect(&client, &token).await.json(), json!({ "active": false }));
}

#[tokio::test]
async fn a_signed_token_that_was_never_recorded_is_inactive() {
    let (server, client, _) = setup().await;
    let now = portcullis::clock::unix_now();
    let claims = portcullis_core::token::AccessTokenClaims {
        iss: ISSUER.into(),
        sub: format!("client:{}", client.id),
        aud: crate::support::AUDIENCE.into(),
        client_id: client.id.clone(),
        scope: "quote:read".into(),
        jti: "never-recorded".into(),
        iat: now,
        exp: now + 60,
    };
    let token = claims.sign(&server.state.live.keys().current).unwrap();
    assert_eq!(server.introspect(&client, &token).await.json(), json!({ "active": false }));
}

#[tokio::test]
async fn g04_other_clients_see_inactive_unless_granted_introspect_any() {
    let (server, _client, token) = setup().await;
    let resource_server = server.service_client("quote:read").await;
    assert_eq!(
        server.introspect(&resource_server, &token).await.json(),
        json!({ "active": false })
    );

    server
        .operator
        .set_client_permission(&resource_server.id, ClientPermission::IntrospectAny, true)
        .await
        .unwrap();
    crate::support::within(std::time::Duration::from_secs(1), || async {
        server.introspect(&resource_server, &token).await.json()["active"] == true
    })
    .await;
}

#[tokio::test]
async fn g05_the_type_hint_is_only_a_hint() {
    let (server, client, token) = setup().await;
    for hint in ["refresh_token", "access_token", "bogus"] {
        let body = format!("token={token}&token_type_hint={hint}");
        let reply = server.post_form("/oauth2/introspect", Some(&client.basic()), &body).await;
        assert_eq!(reply.json()["active"], true, "{hint}");
    }
}

#[tokio::test]
async fn f11_forged_tokens_are_inactive_and_never_5xx() {
    let (server, client, token) = setup().await;
    let payload = token.split('.').nth(1).unwrap();
    let signature = token.split('.').nth(2).unwrap();
    let kid = server.state.live.keys().current.kid.clone();
    let forge = |header: serde_json::Value| {
        format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode(header.to_string()))
    };
    let forged = [
        format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#)),
        forge(json!({"alg": "HS256", "typ": "at+jwt", "kid": kid})),
        forge(json!({"alg": "ES256", "typ": "at+jwt", "kid": "../../../dev/null"})),
        forge(json!({"alg": "ES256", "typ": "at+jwt", "kid": "' OR 1=1 --"})),
        forge(json!({"alg": "ES256", "typ": "at+jwt", "kid": kid, "jku": "https://evil.test/k"})),
        forge(
            json!({"alg": "ES256", "typ": "at+jwt", "kid": kid, "x5u": "https://evil.example/c"}),
        ),
        forge(json!({"alg": "ES256", "typ": "JWT", "kid": kid})),
    ];
    for token in &forged {
        let reply = server.introspect(&client, token).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json(), json!({ "active": false }), "{token}");
    }
}

#[tokio::test]
async fn k16_oversize_tokens_fail_closed() {
    let (server, client, _) = setup().await;
    let huge = "a".repeat(15_000);
    let reply = server.introspect(&client, &huge).await;
    assert_eq!(reply.json(), json!({ "active": false }));
    let reply = server.introspect(&client, &"a".repeat(100_000)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn g17_get_is_405() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/oauth2/introspect").await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn results_are_cached_and_answer_through_a_brief_storage_outage() {
    let (server, client, token) = setup().await;
    assert_eq!(server.introspect(&client, &token).await.json()["active"], true);
    // The cached answer does not need the database while the change feed was read under a
    // second ago (live::TRUSTED_FOR); after that it does (faults.rs FT-04). Which side of that
    // line this answer fell on is known only if the instance is still in step after it.
    server.state.store.close().await;
    let cached = server.introspect(&client, &token).await;
    if server.state.live.in_sync() {
        assert_eq!(cached.json()["active"], true, "answered from the cache");
    } else {
        // The line was crossed around this request: the cache or a refusal, never "inactive".
        let refused = cached.status == StatusCode::SERVICE_UNAVAILABLE;
        assert!(refused || cached.json()["active"] == true, "{}", cached.text());
    }
    // A token never seen needs the database.
    let other = server.state.live.keys().current.clone();
    let now = portcullis::clock::unix_now();
    let unseen = portcullis_core::token::AccessTokenClaims {
        iss: ISSUER.into(),
        sub: "client:x".into(),
        aud: "a".into(),
        client_id: client.id.clone(),
        scope: "quote:read".into(),
        jti: "unseen".into(),
        iat: now,
        exp: now + 60,
    }
    .sign(&other)
    .unwrap();
    let reply = server.introspect(&client, &unseen).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "unknown state denies: never a guess"
    );
    assert_eq!(reply.error(), "temporarily_unavailable");
}

#[tokio::test]
async fn g07_scanning_for_tokens_is_throttled() {
    let (server, client, token) = setup().await;
    for i in 0..600 {
        let reply = server.introspect(&client, &format!("random-{i}")).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let reply = server.introspect(&client, "random-601").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.header("retry-after").is_some());
    let other = server.service_client("quote:read").await;
    assert_eq!(
        server.introspect(&other, &token).await.status,
        StatusCode::OK,
        "other callers unaffected"
    );
}
