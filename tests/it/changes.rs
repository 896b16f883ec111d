//! Changes made elsewhere — by the CLI as a separate process, or on another instance — take
//! effect in a running server within one second.

use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use portcullis_core::keys::SigningAlgorithm;
use serde_json::{json, Value};

use crate::support::{within, TestClient, TestServer};

const ONE_SECOND: Duration = Duration::from_secs(1);

pub fn cli(server: &TestServer, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .envs(server.env.iter().cloned())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the CLI");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn scopes_and_clients_created_by_the_cli_work_within_a_second() {
    let server = TestServer::start().await;
    cli(&server, &["scope", "create", "--name", "quote:read", "--description", "Read quotes"]);
    cli(
        &server,
        &[
            "scope",
            "create",
            "--name",
            "quote:write",
            "--description",
            "Write quotes",
            "--includes",
            "quote:read",
        ],
    );
    let created: Value = serde_json::from_str(&cli(
        &server,
        &[
            "client",
            "create",
            "--name",
            "Billing",
            "--type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "quote:write",
            "--token-auth-method",
            "client_secret_basic",
            "--access-token-lifetime",
            "300",
            "--refresh-token-lifetime",
            "3600",
            "--json",
        ],
    ))
    .unwrap();
    let client = TestClient {
        id: created["client_id"].as_str().unwrap().into(),
        secret: Some(created["client_secret"].as_str().unwrap().into()),
    };
    assert!(client.secret.as_ref().unwrap().starts_with("pcs_"));

    let took = within(ONE_SECOND, || async {
        server.token(&client, "quote:write").await.status == StatusCode::OK
    })
    .await;
    eprintln!("client usable after {took:?}");
    assert_eq!(
        server.token(&client, "quote:write").await.json()["scope"],
        "quote:read quote:write"
    );
}

#[tokio::test]
async fn a_client_disabled_by_the_cli_is_refused_within_a_second() {
    let server = TestServer::start().await;
    server.scope("quote:read", &[], false).await;
    let client = server.service_client("quote:read").await;
    assert_eq!(server.token(&client, "quote:read").await.status, StatusCode::OK);
    cli(&server, &["client", "disable", &client.id]);
    within(ONE_SECOND, || async {
        server.token(&client, "quote:read").await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    cli(&server, &["client", "enable", &client.id]);
    within(ONE_SECOND, || async {
        server.token(&client, "quote:read").await.status == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn f15_a_key_rotated_by_the_cli_is_published_and_used_and_the_old_key_stays() {
    let server = TestServer::start().await;
    server.scope("quote:read", &[], false).await;
    let client = server.service_client("quote:read").await;
    let old_token = server.access_token(&client, "quote:read").await;
    let old_kid = server.state.live.keys().current.kid.clone();

    // Access tokens are signed with the PORTCULLIS_SIGNING_ALG key (ES256 here): rotating that
    // algorithm replaces it.
    cli(&server, &["keys", "rotate", "--alg", "ES256"]);
    within(ONE_SECOND, || async { server.state.live.keys().current.kid != old_kid }).await;

    let jwks: Value = server.get("/oauth2/jwks").await.json();
    let kids: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    // The old and new ES256 keys, and the RS256 key every provider offers for ID tokens.
    assert_eq!(kids.len(), 3);
    assert!(kids.contains(&old_kid.as_str()), "retired key stays until its tokens expire");

    let new_token = server.access_token(&client, "quote:read").await;
    let header = jsonwebtoken::decode_header(&new_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_ne!(header.kid.as_deref(), Some(old_kid.as_str()));
    assert_eq!(server.introspect(&client, &old_token).await.json()["active"], true);
    assert_eq!(server.introspect(&client, &new_token).await.json()["active"], true);

    // Rotating the key of another algorithm (RS256, for ID tokens) leaves access tokens alone.
    let access_kid = server.state.live.keys().current.kid.clone();
    let rs256 = |s: &TestServer| s.state.live.keys().by_alg[&SigningAlgorithm::RS256].kid.clone();
    let old_rs256 = rs256(&server);
    cli(&server, &["keys", "rotate", "--alg", "RS256"]);
    within(ONE_SECOND, || async { rs256(&server) != old_rs256 }).await;
    assert_eq!(server.state.live.keys().current.kid, access_kid);
    let jwks: Value = server.get("/oauth2/jwks").await.json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    let discovery: Value = server.get("/.well-known/openid-configuration").await.json();
    assert_eq!(discovery["id_token_signing_alg_values_supported"], json!(["ES256", "RS256"]));
}

#[tokio::test]
async fn a_revocation_on_one_instance_reaches_the_other_within_a_second() {
    let first = TestServer::start().await;
    first.scope("quote:read", &[], false).await;
    let client = first.service_client("quote:read").await;
    let second = first.second_instance().await;
    second.wait_for_client(&client.id).await;

    let token = first.access_token(&client, "quote:read").await;
    assert_eq!(
        second.introspect(&client, &token).await.json()["active"],
        true,
        "cached on the second"
    );
    assert_eq!(first.revoke(&client, &token).await.status, StatusCode::OK);
    let took = within(ONE_SECOND, || async {
        second.introspect(&client, &token).await.json()["active"] == false
    })
    .await;
    eprintln!("revocation reached the second instance after {took:?}");
}

#[tokio::test]
async fn cli_refuses_incomplete_or_invalid_clients_with_a_message() {
    let server = TestServer::start().await;
    server.scope("quote:read", &[], false).await;
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([
            "client",
            "create",
            "--name",
            "x",
            "--type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "quote:read",
            "--token-auth-method",
            "client_secret_basic",
        ])
        .envs(server.env.iter().cloned())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--access-token-lifetime"));

    for lifetime in ["-1", "0", "99999999999"] {
        let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args([
                "client",
                "create",
                "--name",
                "x",
                "--type",
                "confidential",
                "--grant-types",
                "client_credentials",
                "--scopes",
                "quote:read",
                "--token-auth-method",
                "client_secret_basic",
                "--access-token-lifetime",
                lifetime,
                "--refresh-token-lifetime",
                "60",
            ])
            .envs(server.env.iter().cloned())
            .output()
            .unwrap();
        assert!(!output.status.success(), "K-22: lifetime {lifetime}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("lifetime"), "{lifetime}");
    }
}

#[tokio::test]
async fn cli_imports_the_sample_registry_and_rejects_cycles() {
    let server = TestServer::start().await;
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scopes/insurance.toml");
    assert!(cli(&server, &["scope", "import", sample]).contains("imported 12 scopes"));
    let shown: Value =
        serde_json::from_str(&cli(&server, &["scope", "show", "quote:convert", "--json"])).unwrap();
    assert_eq!(
        shown["grants"],
        serde_json::json!(["policy:read", "policy:write", "quote:convert", "quote:read"])
    );

    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([
            "scope",
            "create",
            "--name",
            "quote:read",
            "--description",
            "loop",
            "--includes",
            "quote:convert",
        ])
        .envs(server.env.iter().cloned())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cycle"));
}
