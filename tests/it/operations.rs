//! What operators rely on: a request id on every answer, Prometheus metrics counted from real
//! requests, and settings that refuse to be ambiguous.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use portcullis::config::{RawSettings, ServerConfig};
use tower::ServiceExt;

use crate::support::TestServer;

#[tokio::test]
async fn every_answer_carries_a_request_id_and_only_safe_ones_are_taken_over() {
    let server = TestServer::start().await;
    let generated = server.get("/healthz").await;
    let id = generated.header("x-request-id").expect("a request id").to_owned();
    assert!(id.len() >= 16, "{id}");
    assert_ne!(server.get("/healthz").await.header("x-request-id"), Some(id.as_str()), "fresh");

    let from_balancer =
        Request::get("/healthz").header("x-request-id", "lb-42.a_b").body(Body::empty());
    let reply = server.send(from_balancer.unwrap()).await;
    assert_eq!(reply.header("x-request-id"), Some("lb-42.a_b"));
    let forged =
        Request::get("/healthz").header("x-request-id", "x\" forged=1").body(Body::empty());
    let reply = server.send(forged.unwrap()).await;
    assert_ne!(reply.header("x-request-id"), Some("x\" forged=1"), "replaced");
}

#[tokio::test]
async fn metrics_count_requests_tokens_failures_and_pools() {
    let server = TestServer::start().await;
    server.scope("svc:read", &[], false).await;
    let client = server.service_client("svc:read").await;
    assert_eq!(server.token(&client, "svc:read").await.status, StatusCode::OK);
    let wrong = crate::support::basic(&client.id, "pcs_wrong");
    let refused =
        server.post_form("/oauth2/token", Some(&wrong), "grant_type=client_credentials").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let scrape = portcullis::metrics::router(server.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let text =
        String::from_utf8(scrape.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let issued = format!(
        "portcullis_tokens_issued_total{{grant_type=\"client_credentials\",client_id=\"{}\"}} 1",
        client.id
    );
    assert!(text.contains(&issued), "{text}");
    assert!(
        text.contains("portcullis_http_requests_total{route=\"/oauth2/token\",status=\"200\"} 1")
    );
    assert!(
        text.contains("portcullis_http_requests_total{route=\"/oauth2/token\",status=\"401\"} 1")
    );
    assert!(
        text.contains("portcullis_http_request_duration_seconds_count{route=\"/oauth2/token\"} 2")
    );
    assert!(text.contains("le=\"+Inf\""));
    assert!(text.contains("portcullis_client_auth_failures_total{reason="), "{text}");
    assert!(text.contains("portcullis_db_pool_connections{pool=\"read\"}"));
    assert!(!text.contains("pcs_wrong"), "never a secret");
}

#[tokio::test]
async fn the_metrics_listener_must_be_apart_from_the_public_one() {
    let server = TestServer::start().await;
    let mut env = server.env.clone();
    env.push(("PORTCULLIS_LISTEN".into(), "127.0.0.1:3999".into()));
    env.push(("PORTCULLIS_METRICS_LISTEN".into(), "127.0.0.1:3999".into()));
    let err =
        ServerConfig::from_raw(&RawSettings::from_pairs(env).unwrap()).err().expect("refused");
    assert!(err.to_string().contains("PORTCULLIS_METRICS_LISTEN"), "{err}");
}
