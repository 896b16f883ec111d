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

    // An id from an untrusted peer (here: no socket peer at all) is replaced.
    let forged = Request::get("/healthz").header("x-request-id", "lb-42.a_b").body(Body::empty());
    let reply = server.send(forged.unwrap()).await;
    assert_ne!(reply.header("x-request-id"), Some("lb-42.a_b"), "not taken from a stranger");

    // From the trusted load balancer, a safe id is kept and an unsafe one replaced.
    let proxied = TestServer::start_with(&[
        ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.1"),
        ("PORTCULLIS_CLIENT_IP_HEADER", "X-Forwarded-For"),
    ])
    .await;
    let via_proxy = |id: &str| {
        let mut request =
            Request::get("/healthz").header("x-request-id", id).body(Body::empty()).unwrap();
        let peer: std::net::SocketAddr = "10.0.0.1:40000".parse().unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        request
    };
    let kept = proxied.send(via_proxy("lb-42.a_b")).await;
    assert_eq!(kept.header("x-request-id"), Some("lb-42.a_b"));
    let forged = proxied.send(via_proxy("x\" forged=1")).await;
    assert_ne!(forged.header("x-request-id"), Some("x\" forged=1"), "replaced");
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
    let err = ServerConfig::from_raw(&RawSettings::from_pairs(env).unwrap()).expect_err("refused");
    assert!(err.to_string().contains("PORTCULLIS_METRICS_LISTEN"), "{err}");
}

#[tokio::test]
async fn the_token_endpoint_is_limited_per_client_with_ratelimit_headers() {
    let server = TestServer::start_with(&[("PORTCULLIS_TOKEN_RATE_LIMIT_PER_MINUTE", "2")]).await;
    server.scope("svc:read", &[], false).await;
    let client = server.service_client("svc:read").await;
    let other = server.service_client("svc:read").await;

    let first = server.token(&client, "svc:read").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("ratelimit-limit"), Some("2"));
    let second = server.token(&client, "svc:read").await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS, "{}", second.text());
    assert_eq!(second.error(), "temporarily_unavailable");
    assert!(second.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    assert_eq!(server.token(&other, "svc:read").await.status, StatusCode::OK, "per client");
    // Counted after authentication: a stranger cannot spend a client's budget.
    let forged = crate::support::basic(&other.id, "pcs_wrong");
    let body = "grant_type=client_credentials&scope=svc:read";
    assert_eq!(
        server.post_form("/oauth2/token", Some(&forged), body).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sign_in_and_sign_up_posts_are_limited_per_address_and_pages_are_not() {
    let server = TestServer::start_with(&[("PORTCULLIS_FORM_RATE_LIMIT_PER_MINUTE", "1")]).await;
    let mut browser = crate::browser::Browser::default();
    for _ in 0..3 {
        assert_eq!(browser.get(&server, "/developers/signup").await.status, StatusCode::OK);
    }
    let csrf = crate::browser::csrf_of(&browser.get(&server, "/admin/login").await);
    let form = [("csrf", csrf.as_str()), ("email", "a@example.com"), ("password", "wrong one")];
    let first = browser.post(&server, "/admin/login", &form).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.header("ratelimit-limit"), Some("1"));
    let second = browser.post(&server, "/developers/signup", &[("csrf", "x")]).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS, "one budget across the forms");
    assert!(second.header("retry-after").is_some());
}

#[tokio::test]
async fn a_burst_without_a_rate_is_refused_at_start() {
    let server = TestServer::start().await;
    let mut env = server.env.clone();
    env.push(("PORTCULLIS_TOKEN_RATE_LIMIT_BURST".into(), "5".into()));
    let err = ServerConfig::from_raw(&RawSettings::from_pairs(env).unwrap()).expect_err("refused");
    assert!(err.to_string().contains("PORTCULLIS_TOKEN_RATE_LIMIT_PER_MINUTE"), "{err}");
}

#[tokio::test]
async fn two_instances_sharing_redis_share_the_token_endpoint_limit() {
    let url = std::env::var("PORTCULLIS_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("pc_test_{}", portcullis_core::secret::random_id());
    let settings = [
        ("PORTCULLIS_REDIS_URL", url.as_str()),
        ("PORTCULLIS_REDIS_PREFIX", prefix.as_str()),
        ("PORTCULLIS_TOKEN_RATE_LIMIT_PER_MINUTE", "1"),
    ];
    let first = TestServer::start_with(&settings).await;
    let second = TestServer::start_configured(first.db.share(), &settings).await;
    first.scope("svc:read", &[], false).await;
    let client = first.service_client("svc:read").await;
    second.wait_for_client(&client.id).await;
    second
        .wait_until(|s| s.state.live.registry().iter().any(|d| d.name.as_str() == "svc:read"))
        .await;

    assert_eq!(first.token(&client, "svc:read").await.status, StatusCode::OK);
    assert_eq!(second.token(&client, "svc:read").await.status, StatusCode::TOO_MANY_REQUESTS);
}
