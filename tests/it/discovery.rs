//! Discovery and JWKS, SECURITY.md F-01, F-02, F-03, F-18; health endpoints.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use crate::support::{TestServer, ISSUER};

#[tokio::test]
async fn f01_both_metadata_documents_agree_and_list_what_is_supported() {
    let server = TestServer::start().await;
    let oidc = server.get("/.well-known/openid-configuration").await;
    let oauth = server.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(oidc.status, StatusCode::OK);
    assert_eq!(oidc.json(), oauth.json());

    let doc = oidc.json();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}/oauth2/token"));
    assert_eq!(doc["jwks_uri"], format!("{ISSUER}/oauth2/jwks"));
    assert_eq!(doc["introspection_endpoint"], format!("{ISSUER}/oauth2/introspect"));
    assert_eq!(doc["revocation_endpoint"], format!("{ISSUER}/oauth2/revoke"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    let algs: Vec<&str> = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!algs.contains(&"none"));
    let scopes: Vec<&str> =
        doc["scopes_supported"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(scopes.contains(&"openid"));
    assert!(doc["introspection_endpoint_auth_methods_supported"].as_array().unwrap().len() == 2);
}

#[tokio::test]
async fn f01_only_scopes_marked_public_are_advertised() {
    let server = TestServer::start().await;
    server.scope("quote:read", &[], false).await;
    let unlisted = portcullis::service::ScopeInput {
        name: "partner:internal".into(),
        description: "Internal partner operations".into(),
        category: None,
        includes: vec![],
        requires_user: false,
        public: false,
    };
    server.operator.put_scopes(vec![unlisted]).await.unwrap();
    server
        .wait_until(|s| {
            s.state.live.registry().iter().any(|d| d.name.as_str() == "partner:internal")
        })
        .await;
    let doc = server.get("/.well-known/openid-configuration").await.json();
    let scopes: Vec<&str> =
        doc["scopes_supported"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(scopes.contains(&"quote:read") && scopes.contains(&"openid"), "{scopes:?}");
    assert!(!scopes.contains(&"partner:internal"), "unlisted scopes stay out of discovery");
}

#[tokio::test]
async fn f02_the_host_header_never_shapes_urls() {
    let server = TestServer::start().await;
    let request = Request::get("/.well-known/openid-configuration")
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .body(Body::empty())
        .unwrap();
    let text = String::from_utf8(server.send(request).await.body).unwrap();
    assert!(!text.contains("evil.example"));
}

#[tokio::test]
async fn f03_jwks_holds_public_keys_only() {
    let server = TestServer::start().await;
    let reply = server.get("/oauth2/jwks").await;
    assert_eq!(reply.header("content-type"), Some("application/jwk-set+json"));
    let jwks: Value = reply.json();
    let keys = jwks["keys"].as_array().unwrap();
    // The ES256 access-token key and the RS256 key OpenID Connect requires for ID tokens.
    let mut types: Vec<&str> = keys.iter().map(|k| k["kty"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(types, ["EC", "RSA"]);
    let kids: std::collections::HashSet<&str> =
        keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), keys.len(), "unique kids");
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} must not be published");
        }
        assert_eq!(key["use"], "sig");
    }
}

#[tokio::test]
async fn f18_public_metadata_is_cacheable_for_minutes() {
    let server = TestServer::start().await;
    for path in ["/.well-known/openid-configuration", "/oauth2/jwks"] {
        assert_eq!(server.get(path).await.header("cache-control"), Some("public, max-age=300"));
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await.status, StatusCode::OK);
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["database"], true);
    server.state.store.close().await;
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.get("/healthz").await.status, StatusCode::OK);
}
