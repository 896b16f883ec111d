//! The token endpoint with client_credentials: success, client authentication (group E), scope
//! rules, and input hardening (group K).

use axum::http::StatusCode;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use portcullis_core::client::{ClientStatus, TokenAuthMethod};
use serde_json::Value;

use crate::support::{basic, TestServer, AUDIENCE, ISSUER};

async fn server_with_client() -> (TestServer, crate::support::TestClient) {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let client = server.service_client("quote:write policy:read user:read").await;
    (server, client)
}

fn assert_terr(reply: &crate::support::Reply, status: StatusCode, error: &str) {
    assert_eq!(reply.status, status, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.error(), error);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("content-type").unwrap().starts_with("application/json"));
}

#[tokio::test]
async fn client_credentials_issues_a_verifiable_rfc_9068_token() {
    let (server, client) = server_with_client().await;
    let reply = server.token(&client, "quote:write").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "quote:read quote:write", "granted scope plus what it includes");

    let token = body["access_token"].as_str().unwrap();
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);

    let jwks: Value = server.get("/oauth2/jwks").await.json();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header.kid.clone().unwrap())
        .unwrap();
    let key =
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    let claims: Value = decode(token, &key, &validation).unwrap().claims;
    assert_eq!(
        claims["sub"],
        format!("client:{}", client.id),
        "E-11: client subjects are namespaced"
    );
    assert_eq!(claims["client_id"], client.id);
    assert_eq!(claims["scope"], "quote:read quote:write");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
}

#[tokio::test]
async fn every_issued_token_is_recorded() {
    let (server, client) = server_with_client().await;
    let token = server.access_token(&client, "policy:read").await;
    let header_claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let jti = header_claims["jti"].as_str().unwrap();
    let stored = portcullis_core::store::TokenStore::get_token(&server.state.store, jti)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.record.client_id, client.id);
    assert_eq!(stored.record.scopes, "policy:read");
    assert_eq!(stored.record.grant_type.as_str(), "client_credentials");
}

#[tokio::test]
async fn scope_is_required_and_never_defaulted() {
    let (server, client) = server_with_client().await;
    let reply = server
        .post_form("/oauth2/token", Some(&client.basic()), "grant_type=client_credentials")
        .await;
    assert_terr(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(reply.json()["error_description"].as_str().unwrap().contains("send scope"));
}

#[tokio::test]
async fn scopes_outside_the_allowed_set_are_refused_not_dropped() {
    let (server, client) = server_with_client().await;
    // E-10
    let reply = server.token(&client, "quote:read claim:read").await;
    assert_terr(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(reply.json()["error_description"].as_str().unwrap().contains("claim:read"));
    assert_terr(&server.token(&client, "no:such").await, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn user_scopes_are_refused_for_client_credentials() {
    let (server, client) = server_with_client().await;
    let reply = server.token(&client, "user:read").await;
    assert_terr(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(reply.json()["error_description"].as_str().unwrap().contains("end user"));
}

#[tokio::test]
async fn e01_wrong_secret_in_basic_is_401_with_challenge() {
    let (server, client) = server_with_client().await;
    let reply = server
        .post_form(
            "/oauth2/token",
            Some(&basic(&client.id, "pcs_wrong")),
            "grant_type=client_credentials&scope=quote:read",
        )
        .await;
    assert_terr(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(reply.header("www-authenticate").unwrap().starts_with("Basic realm="));
}

#[tokio::test]
async fn e02_wrong_secret_in_body_is_invalid_client() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let client = server
        .client_with("quote:read", TokenAuthMethod::ClientSecretPost, ClientStatus::Active)
        .await;
    let body = format!(
        "grant_type=client_credentials&scope=quote:read&client_id={}&client_secret=pcs_wrong",
        client.id
    );
    let reply = server.post_form("/oauth2/token", None, &body).await;
    assert_terr(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(reply.header("www-authenticate"), None);

    let body = format!(
        "grant_type=client_credentials&scope=quote:read&client_id={}&client_secret={}",
        client.id,
        client.secret.as_deref().unwrap()
    );
    assert_eq!(server.post_form("/oauth2/token", None, &body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn e03_unknown_client_and_wrong_secret_look_identical() {
    let (server, client) = server_with_client().await;
    let form = "grant_type=client_credentials&scope=quote:read";
    let wrong =
        server.post_form("/oauth2/token", Some(&basic(&client.id, "pcs_wrong")), form).await;
    let unknown =
        server.post_form("/oauth2/token", Some(&basic("nobody", "pcs_wrong")), form).await;
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    let mut wrong_headers = wrong.headers.clone();
    let mut unknown_headers = unknown.headers.clone();
    // The date and the request id differ for every answer, whoever asked.
    for varying in ["date", "x-request-id"] {
        wrong_headers.remove(varying);
        unknown_headers.remove(varying);
    }
    assert_eq!(wrong_headers, unknown_headers);
}

#[tokio::test]
async fn e04_two_authentication_methods_are_invalid_request() {
    let (server, client) = server_with_client().await;
    let body = format!(
        "grant_type=client_credentials&scope=quote:read&client_secret={}",
        client.secret.clone().unwrap()
    );
    let reply = server.post_form("/oauth2/token", Some(&client.basic()), &body).await;
    assert_terr(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_client_authenticates_only_the_way_it_registered() {
    let (server, client) = server_with_client().await;
    // Registered for client_secret_basic, sends the right secret in the body.
    let body = format!(
        "grant_type=client_credentials&scope=quote:read&client_id={}&client_secret={}",
        client.id,
        client.secret.clone().unwrap()
    );
    assert_terr(
        &server.post_form("/oauth2/token", None, &body).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn e05_basic_credentials_are_form_decoded() {
    let (server, client) = server_with_client().await;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64. Percent-encoding an
    // unreserved character must decode to the same id.
    let encoded_id: String = client.id.chars().map(|c| format!("%{:02X}", c as u32)).collect();
    let header = basic(&encoded_id, client.secret.as_deref().unwrap());
    let reply = server
        .post_form("/oauth2/token", Some(&header), "grant_type=client_credentials&scope=quote:read")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn e06_malformed_authorization_headers_are_401_never_5xx() {
    let (server, _client) = server_with_client().await;
    let long = format!("Basic {}", "A".repeat(16 * 1024));
    for header in ["Basic !!!", "Basic ", "Basic Zm9vYmFy", "Bearer x", long.as_str()] {
        let reply = server
            .post_form(
                "/oauth2/token",
                Some(header),
                "grant_type=client_credentials&scope=quote:read",
            )
            .await;
        assert_terr(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(reply.header("www-authenticate").is_some(), "{header}");
    }
}

#[tokio::test]
async fn e07_empty_secret_counts_as_absent() {
    let (server, client) = server_with_client().await;
    let body = format!(
        "grant_type=client_credentials&scope=quote:read&client_id={}&client_secret=",
        client.id
    );
    assert_terr(
        &server.post_form("/oauth2/token", None, &body).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn e08_a_public_client_cannot_present_a_secret() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let registration = portcullis::service::NewClient {
        name: "Mobile app".into(),
        client_type: portcullis_core::client::ClientType::Public,
        grant_types: portcullis_core::client::parse_wire_list("authorization_code").unwrap(),
        allowed_scopes: portcullis_core::scope::ScopeSet::parse_list("quote:read").unwrap(),
        redirect_uris: vec!["https://p1.example/cb".into()],
        post_logout_redirect_uris: vec![],
        id_token_signing_alg: None,
        auth_method: TokenAuthMethod::None,
        access_token_lifetime: 600,
        refresh_token_lifetime: 3600,
        lifetime_policy: None,
    };
    let created = server.operator.create_client(registration, ClientStatus::Active).await.unwrap();
    assert!(created.secret.is_none());
    let id = created.client.id.to_string();
    server.wait_for_client(&id).await;

    for body in [
        format!(
            "grant_type=client_credentials&scope=quote:read&client_id={id}&client_secret=anything"
        ),
        format!("grant_type=client_credentials&scope=quote:read&client_id={id}"),
    ] {
        let reply = server.post_form("/oauth2/token", None, &body).await;
        assert!(reply.status.is_client_error(), "{body}");
        assert_ne!(reply.status, StatusCode::OK);
    }
    let reply = server
        .post_form(
            "/oauth2/token",
            Some(&basic(&id, "anything")),
            "grant_type=client_credentials&scope=quote:read",
        )
        .await;
    assert_terr(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn e12_pending_and_disabled_clients_cannot_authenticate() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let pending = server
        .client_with("quote:read", TokenAuthMethod::ClientSecretBasic, ClientStatus::Pending)
        .await;
    assert_terr(
        &server.token(&pending, "quote:read").await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );

    let client = server.service_client("quote:read").await;
    assert_eq!(server.token(&client, "quote:read").await.status, StatusCode::OK);
    server.operator.set_client_status(&client.id, ClientStatus::Disabled).await.unwrap();
    crate::support::within(std::time::Duration::from_secs(1), || async {
        server.token(&client, "quote:read").await.status == StatusCode::UNAUTHORIZED
    })
    .await;
}

#[tokio::test]
async fn e13_a_rotated_secret_stops_working() {
    let (server, client) = server_with_client().await;
    let new_secret = server.operator.rotate_client_secret(&client.id, None).await.unwrap();
    let rotated = crate::support::TestClient {
        id: client.id.clone(),
        secret: Some(new_secret.expose().to_owned()),
    };
    crate::support::within(std::time::Duration::from_secs(1), || async {
        server.token(&client, "quote:read").await.status == StatusCode::UNAUTHORIZED
            && server.token(&rotated, "quote:read").await.status == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn a_regenerated_secret_may_overlap_and_its_last_use_is_recorded() {
    let (server, client) = server_with_client().await;
    let new_secret = server.operator.rotate_client_secret(&client.id, Some(24)).await.unwrap();
    let rotated = crate::support::TestClient {
        id: client.id.clone(),
        secret: Some(new_secret.expose().to_owned()),
    };
    let id = client.id.clone();
    server
        .wait_until(|s| s.state.live.client(&id).is_some_and(|c| c.previous_secret.is_some()))
        .await;
    // Both work during the overlap; a wrong secret still does not.
    assert_eq!(server.token(&rotated, "quote:read").await.status, StatusCode::OK);
    assert_eq!(server.token(&client, "quote:read").await.status, StatusCode::OK);
    let wrong =
        crate::support::TestClient { id: client.id.clone(), secret: Some("pcs_wrong".into()) };
    assert_eq!(server.token(&wrong, "quote:read").await.status, StatusCode::UNAUTHORIZED);
    // The old secret's use is noted for the admin (when, and from which address).
    server
        .wait_until(|s| {
            s.state
                .live
                .client(&id)
                .and_then(|c| c.previous_secret.clone())
                .is_some_and(|p| p.last_used_at.is_some())
        })
        .await;
    // Bounds: 0 and more than 30 days are refused.
    for hours in [0, 721] {
        assert!(server.operator.rotate_client_secret(&client.id, Some(hours)).await.is_err());
    }
    // A regeneration without overlap ends every older secret.
    let newest = server.operator.rotate_client_secret(&client.id, None).await.unwrap();
    server
        .wait_until(|s| s.state.live.client(&id).is_some_and(|c| c.previous_secret.is_none()))
        .await;
    assert_eq!(server.token(&rotated, "quote:read").await.status, StatusCode::UNAUTHORIZED);
    let newest = crate::support::TestClient {
        id: client.id.clone(),
        secret: Some(newest.expose().to_owned()),
    };
    assert_eq!(server.token(&newest, "quote:read").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unsupported_and_missing_grant_types() {
    let (server, client) = server_with_client().await;
    let auth = Some(client.basic());
    let reply = server
        .post_form("/oauth2/token", auth.as_deref(), "grant_type=password&username=a&password=b")
        .await;
    assert_terr(&reply, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let reply = server.post_form("/oauth2/token", auth.as_deref(), "scope=quote:read").await;
    assert_terr(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // K-14: parameter names are case-sensitive and exact.
    for body in ["Grant_Type=client_credentials", "grant_type%20=client_credentials"] {
        assert_terr(
            &server.post_form("/oauth2/token", auth.as_deref(), body).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}

#[tokio::test]
async fn a_client_without_the_grant_is_unauthorized_client() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let registration = portcullis::service::NewClient {
        name: "Web app".into(),
        client_type: portcullis_core::client::ClientType::Confidential,
        grant_types: portcullis_core::client::parse_wire_list("authorization_code").unwrap(),
        allowed_scopes: portcullis_core::scope::ScopeSet::parse_list("quote:read").unwrap(),
        redirect_uris: vec!["https://c1.example/cb".into()],
        post_logout_redirect_uris: vec![],
        id_token_signing_alg: None,
        auth_method: TokenAuthMethod::ClientSecretBasic,
        access_token_lifetime: 600,
        refresh_token_lifetime: 3600,
        lifetime_policy: None,
    };
    let created = server.operator.create_client(registration, ClientStatus::Active).await.unwrap();
    let client = crate::support::TestClient {
        id: created.client.id.to_string(),
        secret: created.secret.map(|s| s.expose().to_owned()),
    };
    server.wait_for_client(&client.id).await;
    assert_terr(
        &server.token(&client, "quote:read").await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    );
}

#[tokio::test]
async fn k13_repeated_parameters_are_invalid_request() {
    let (server, client) = server_with_client().await;
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials&scope=quote:read",
        "grant_type=client_credentials&scope=quote:read&scope=quote:read",
    ] {
        let reply = server.post_form("/oauth2/token", Some(&client.basic()), body).await;
        assert_terr(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn k15_scope_bombs_fail_fast() {
    let (server, client) = server_with_client().await;
    let many = vec!["quote:read"; 10_000].join("+");
    let reply = server
        .post_form(
            "/oauth2/token",
            Some(&client.basic()),
            &format!("grant_type=client_credentials&scope={many}"),
        )
        .await;
    assert!(
        reply.status == StatusCode::BAD_REQUEST || reply.status == StatusCode::PAYLOAD_TOO_LARGE
    );
    let long = "a".repeat(10_000);
    let reply = server
        .post_form(
            "/oauth2/token",
            Some(&client.basic()),
            &format!("grant_type=client_credentials&scope={long}"),
        )
        .await;
    assert_terr(&reply, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn k21_other_content_types_are_invalid_request() {
    let (server, client) = server_with_client().await;
    for content_type in ["text/plain", "multipart/form-data; boundary=x", "application/json"] {
        let request = axum::http::Request::post("/oauth2/token")
            .header("content-type", content_type)
            .header("authorization", client.basic())
            .body(axum::body::Body::from("grant_type=client_credentials&scope=quote:read"))
            .unwrap();
        assert_terr(&server.send(request).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn k03_big_bodies_are_413_json() {
    let (server, client) = server_with_client().await;
    let body = format!(
        "grant_type=client_credentials&scope=quote:read&pad={}",
        "x".repeat(2 * 1024 * 1024)
    );
    let reply = server.post_form("/oauth2/token", Some(&client.basic()), &body).await;
    assert_terr(&reply, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[tokio::test]
async fn k05_k06_invalid_utf8_and_nul_bytes_never_5xx() {
    let (server, client) = server_with_client().await;
    for body in [
        "grant_type=client_credentials&scope=%C0%AF",
        "grant_type=client_credentials&scope=quote:read%00",
        "grant_type=client_credentials&scope=quote%FF",
        "grant_type=client_credentials&client_id=%ED%A0%80",
    ] {
        let reply = server.post_form("/oauth2/token", Some(&client.basic()), body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(["invalid_request", "invalid_scope"].contains(&reply.error().as_str()), "{body}");
    }
    let body = "grant_type=client_credentials&scope=quote:read&client_id=c%00&client_secret=x";
    assert_eq!(
        server.post_form("/oauth2/token", None, body).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn k09_sql_injection_strings_are_ordinary_failures() {
    let (server, client) = server_with_client().await;
    for hostile in ["' OR '1'='1", "1;DROP TABLE tokens--", "\\'", "%27"] {
        let enc = crate::support::urlencode(hostile);
        let reply = server
            .post_form(
                "/oauth2/token",
                Some(&basic(hostile, hostile)),
                "grant_type=client_credentials&scope=quote:read",
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        let reply = server
            .post_form(
                "/oauth2/token",
                Some(&client.basic()),
                &format!("grant_type=client_credentials&scope={enc}"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(server.token(&client, "quote:read").await.status, StatusCode::OK, "database intact");
}

#[tokio::test]
async fn get_on_the_token_endpoint_is_405() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/oauth2/token").await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn e09_brute_force_is_throttled_per_client_and_source() {
    let (server, client) = server_with_client().await;
    let wrong = basic(&client.id, "pcs_wrong");
    let form = "grant_type=client_credentials&scope=quote:read";
    // Concurrent attempts must not slip past the count.
    let attempts = (0..60).map(|_| server.post_form("/oauth2/token", Some(&wrong), form));
    let replies = futures::future::join_all(attempts).await;
    let throttled = replies.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    let refused = replies.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED).count();
    assert_eq!(refused, 20, "exactly the limit of failures is evaluated");
    assert_eq!(throttled, 40);
    let limited = server.post_form("/oauth2/token", Some(&client.basic()), form).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "this source is locked out for now");
    assert!(limited.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(limited.error(), "temporarily_unavailable");

    // The same client from another address is not locked out.
    let mut request = axum::http::Request::post("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", client.basic())
        .body(axum::body::Body::from(form))
        .unwrap();
    let elsewhere: std::net::SocketAddr = "192.0.2.7:4000".parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(elsewhere));
    assert_eq!(server.send(request).await.status, StatusCode::OK);
}
