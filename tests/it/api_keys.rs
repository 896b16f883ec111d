//! API keys: issuing, `POST /api-keys/verify`, rate limits, IP allowlists, rotation, usage
//! (SECURITY.md group J). Runs on SQLite and PostgreSQL like the rest of the suite.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use portcullis::service::ServiceError;
use portcullis_core::api_key::{ApiKeyRequest, ApiKeyStatus};
use portcullis_core::cidr::parse_networks;
use portcullis_core::client::{ClientPermission, ClientStatus};
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::ApiKeyStore;
use serde_json::{json, Value};

use crate::support::{within, Reply, TestClient, TestServer};

pub struct Fixture {
    pub server: TestServer,
    pub owner: TestClient,
    pub gateway: TestClient,
}

/// A key as created: its id and the key itself.
pub struct Issued {
    pub id: String,
    pub key: String,
}

pub struct KeySpec<'a> {
    pub scopes: &'a str,
    pub per_minute: i64,
    pub burst: Option<i64>,
    pub allowed_ips: &'a str,
}

impl Default for KeySpec<'_> {
    fn default() -> Self {
        Self { scopes: "quote:read", per_minute: 600, burst: Some(100), allowed_ips: "" }
    }
}

impl Fixture {
    pub async fn start() -> Self {
        Self::on(TestServer::start().await).await
    }

    pub async fn on(server: TestServer) -> Self {
        server.insurance_scopes().await;
        let owner = server.service_client("quote:write policy:read").await;
        let gateway = server.service_client("quote:read").await;
        server
            .operator
            .set_client_permission(&gateway.id, ClientPermission::VerifyApiKeys, true)
            .await
            .unwrap();
        let id = gateway.id.clone();
        server
            .wait_until(|s| {
                s.state
                    .live
                    .client(&id)
                    .is_some_and(|c| c.has_permission(ClientPermission::VerifyApiKeys))
            })
            .await;
        Self { server, owner, gateway }
    }

    pub async fn issue(&self, spec: KeySpec<'_>) -> Issued {
        let request = ApiKeyRequest {
            name: "partner sync".into(),
            scopes: ScopeSet::parse_list(spec.scopes).unwrap(),
            rate_limit_per_minute: spec.per_minute,
            burst: spec.burst,
            allowed_ips: parse_networks(spec.allowed_ips).unwrap(),
            expires_in_days: None,
        };
        let created = self
            .server
            .operator
            .create_api_key(&self.owner.id, request, ApiKeyStatus::Active)
            .await
            .expect("key");
        let issued = Issued { id: created.key.id.clone(), key: created.secret.expose().to_owned() };
        self.wait_for_key(&issued.key).await;
        issued
    }

    pub async fn wait_for_key(&self, key: &str) {
        let hash = self.server.state.hasher.hash(key);
        self.server.wait_until(|s| s.state.live.api_key_by_hash(&hash).is_some()).await;
    }

    /// Verifies as the gateway, with no socket peer.
    pub async fn verify(&self, body: Value) -> Reply {
        self.verify_as(&self.gateway, None, &[], body).await
    }

    pub async fn verify_as(
        &self,
        caller: &TestClient,
        peer: Option<&str>,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Reply {
        let mut request = Request::post("/api-keys/verify")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, caller.basic());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(Body::from(body.to_string())).unwrap();
        if let Some(peer) = peer {
            let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
            request.extensions_mut().insert(ConnectInfo(addr));
        }
        self.server.send(request).await
    }
}

pub fn reason(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    let body = reply.json();
    if body["valid"] == json!(true) {
        return "valid".into();
    }
    body["reason"].as_str().unwrap_or("?").to_owned()
}

#[tokio::test]
async fn j01_the_key_is_shown_once_and_stored_as_a_keyed_hash() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec::default()).await;
    assert!(issued.key.starts_with("pcak_"));
    assert!(issued.key.len() >= 5 + 43, "256 bits in base64url");

    let stored = f.server.operator.api_key(&issued.id).await.unwrap();
    assert_ne!(stored.key_hash, issued.key.as_bytes());
    assert_eq!(stored.key_hash, f.server.state.hasher.hash(&issued.key));
    let listed = serde_json::to_string(&stored).unwrap();
    assert!(!listed.contains(&issued.key[12..]), "only a short prefix is ever shown again");
    assert!(!listed.contains("key_hash"));
    assert!(issued.key.starts_with(&stored.key_prefix));
    assert!(!format!("{stored:?}").contains(&issued.key[12..]));
}

#[tokio::test]
async fn j02_valid_unknown_and_revoked_keys() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { scopes: "quote:write", ..KeySpec::default() }).await;

    let reply = f.verify(json!({ "key": issued.key, "scope": "quote:read" })).await;
    let body = reply.json();
    assert_eq!(body["valid"], json!(true), "{body}");
    assert_eq!(body["key_id"], json!(issued.id));
    assert_eq!(body["client_id"], json!(f.owner.id));
    assert_eq!(body["scopes"], json!(["quote:read", "quote:write"]));
    assert_eq!(body["limit"], json!(600));
    assert!(body["remaining"].as_u64().is_some() && body["reset"].as_u64().is_some());
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    let unknown = format!("pcak_{}", "A".repeat(43));
    assert_eq!(reason(&f.verify(json!({ "key": unknown })).await), "not_found");

    f.server.operator.set_api_key_status(&issued.id, ApiKeyStatus::Revoked).await.unwrap();
    within(Duration::from_secs(1), || async {
        reason(&f.verify(json!({ "key": issued.key })).await) == "revoked"
    })
    .await;
    let again = f.server.operator.set_api_key_status(&issued.id, ApiKeyStatus::Active).await;
    assert!(matches!(again, Err(ServiceError::Invalid(_))), "revocation is final");

    let missing = f.verify(json!({ "scope": "quote:read" })).await;
    assert_eq!(
        (missing.status, missing.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn j03_keys_are_never_taken_from_the_url() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec::default()).await;
    let request = Request::post(format!("/api-keys/verify?key={}", issued.key))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, f.gateway.basic())
        .body(Body::from(json!({ "key": issued.key }).to_string()))
        .unwrap();
    let reply = f.server.send(request).await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn j04_j18_the_limit_holds_and_the_headers_say_so() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { per_minute: 5, burst: Some(4), ..KeySpec::default() }).await;

    for expected_remaining in [4, 3, 2, 1, 0] {
        let reply = f.verify(json!({ "key": issued.key })).await;
        assert_eq!(reason(&reply), "valid");
        assert_eq!(reply.header("ratelimit-limit"), Some("5"));
        let remaining = expected_remaining.to_string();
        assert_eq!(reply.header("ratelimit-remaining"), Some(remaining.as_str()));
        assert_eq!(reply.json()["remaining"], json!(expected_remaining));
    }
    let limited = f.verify(json!({ "key": issued.key })).await;
    assert_eq!(reason(&limited), "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "one request per 12 s refills: {retry}");
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
}

#[tokio::test]
async fn j05_parallel_requests_never_exceed_limit_plus_burst() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { per_minute: 5, burst: Some(4), ..KeySpec::default() }).await;
    let body = json!({ "key": issued.key });
    let replies = futures::future::join_all((0..50).map(|_| f.verify(body.clone()))).await;
    let valid = replies.iter().filter(|r| reason(r) == "valid").count();
    assert_eq!(valid, 5, "one plus the burst of 4, and no more");
}

#[tokio::test]
async fn j06_forwarded_headers_do_not_create_buckets() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { per_minute: 5, burst: Some(2), ..KeySpec::default() }).await;
    let mut valid = 0;
    for i in 0..20 {
        let xff = format!("198.51.100.{i}");
        let reply = f
            .verify_as(
                &f.gateway,
                Some("127.0.0.1"),
                &[("x-forwarded-for", &xff)],
                json!({
                    "key": issued.key
                }),
            )
            .await;
        valid += usize::from(reason(&reply) == "valid");
    }
    assert_eq!(valid, 3);
}

#[tokio::test]
async fn j07_variants_of_a_key_are_not_keys() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec::default()).await;
    let key = issued.key.as_str();
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let variants = [
        format!("{key} "),
        format!("{key}\n"),
        format!(" {key}"),
        key.to_uppercase(),
        format!("{encoded}%20"),
        format!("Bearer Bearer {key}"),
        key[..key.len() - 1].to_owned(),
        String::new(),
    ];
    for variant in variants {
        assert_eq!(reason(&f.verify(json!({ "key": variant })).await), "not_found", "{variant:?}");
    }
    assert_eq!(reason(&f.verify(json!({ "key": key })).await), "valid");
}

#[tokio::test]
async fn j09_j12_spoofed_address_headers_are_ignored() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { allowed_ips: "10.0.0.0/24", ..KeySpec::default() }).await;
    let body = json!({ "key": issued.key });
    for (name, value) in [
        ("x-forwarded-for", "10.0.0.5"),
        ("x-real-ip", "10.0.0.5"),
        ("forwarded", "for=10.0.0.5"),
        ("true-client-ip", "10.0.0.5"),
        ("cf-connecting-ip", "10.0.0.5"),
    ] {
        let reply =
            f.verify_as(&f.gateway, Some("127.0.0.1"), &[(name, value)], body.clone()).await;
        assert_eq!(reason(&reply), "ip_not_allowed", "{name}");
    }
    let reply = f.verify_as(&f.gateway, Some("10.0.0.5"), &[], body.clone()).await;
    assert_eq!(reason(&reply), "valid", "the socket peer counts");
    // The gateway reports the end client's address in the body.
    let reported = json!({ "key": issued.key, "ip": "10.0.0.9" });
    assert_eq!(reason(&f.verify_as(&f.gateway, Some("127.0.0.1"), &[], reported).await), "valid");
    assert_eq!(reason(&f.verify(body).await), "ip_not_allowed", "no address fails closed");
}

#[tokio::test]
async fn j10_garbage_addresses_fail_closed() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { allowed_ips: "10.0.0.0/24", ..KeySpec::default() }).await;
    let long = "1".repeat(8192);
    for garbage in ["a", "999.1.1.1", long.as_str(), "10.0.0.5, a", "10.0.0.5/32"] {
        let reply = f.verify(json!({ "key": issued.key, "ip": garbage })).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{garbage:.20}");
    }
}

#[tokio::test]
async fn j10_j11_behind_trusted_proxies_the_rightmost_untrusted_address_counts() {
    let server = TestServer::start_with(&[
        ("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.1"),
        ("PORTCULLIS_CLIENT_IP_HEADER", "X-Forwarded-For"),
    ])
    .await;
    let f = Fixture::on(server).await;
    let issued = f.issue(KeySpec { allowed_ips: "10.0.0.0/24", ..KeySpec::default() }).await;
    let body = json!({ "key": issued.key });
    let via_proxy = |xff: &'static str| {
        let body = body.clone();
        let f = &f;
        async move {
            reason(
                &f.verify_as(&f.gateway, Some("127.0.0.1"), &[("x-forwarded-for", xff)], body)
                    .await,
            )
        }
    };
    assert_eq!(via_proxy("10.0.0.5, 203.0.113.9").await, "ip_not_allowed");
    assert_eq!(via_proxy("203.0.113.9, 10.0.0.5").await, "valid");
    assert_eq!(via_proxy("10.0.0.5, 127.0.0.1").await, "valid", "trusted hops are skipped");
    for garbage in ["a", "999.1.1.1", "10.0.0.5, a"] {
        assert_eq!(via_proxy(garbage).await, "ip_not_allowed", "{garbage}");
    }
    // From an untrusted peer the header is ignored.
    let direct =
        f.verify_as(&f.gateway, Some("192.0.2.1"), &[("x-forwarded-for", "10.0.0.5")], body).await;
    assert_eq!(reason(&direct), "ip_not_allowed");
}

#[tokio::test]
async fn j13_mapped_ipv4_addresses_are_ipv4() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { allowed_ips: "10.0.0.0/24", ..KeySpec::default() }).await;
    let check = |ip: &'static str| {
        let f = &f;
        let key = issued.key.clone();
        async move { reason(&f.verify(json!({ "key": key, "ip": ip })).await) }
    };
    assert_eq!(check("::ffff:10.0.0.5").await, "valid");
    assert_eq!(check("10.0.0.255").await, "valid");
    assert_eq!(check("10.0.1.1").await, "ip_not_allowed");
    assert_eq!(check("::ffff:10.0.1.1").await, "ip_not_allowed");
}

#[tokio::test]
async fn j14_scopes_are_enforced_with_inheritance() {
    let f = Fixture::start().await;
    let reader = f.issue(KeySpec { scopes: "quote:read", ..KeySpec::default() }).await;
    let writer = f.issue(KeySpec { scopes: "quote:write", ..KeySpec::default() }).await;
    let check = |key: &str, scope: &str| {
        let body = json!({ "key": key, "scope": scope });
        let f = &f;
        async move { reason(&f.verify(body).await) }
    };
    assert_eq!(check(&reader.key, "quote:write").await, "insufficient_scope");
    assert_eq!(check(&writer.key, "quote:read").await, "valid", "quote:write includes quote:read");
    assert_eq!(check(&writer.key, "quote:read quote:write").await, "valid");
    assert_eq!(check(&writer.key, "quote:read policy:read").await, "insufficient_scope");

    // A key can hold only what its client is allowed, and never a scope that needs a user.
    for scopes in ["claim:read", "user:read", "unknown:scope"] {
        let request = ApiKeyRequest {
            name: "too much".into(),
            scopes: ScopeSet::parse_list(scopes).unwrap(),
            rate_limit_per_minute: 10,
            burst: None,
            allowed_ips: vec![],
            expires_in_days: None,
        };
        let result =
            f.server.operator.create_api_key(&f.owner.id, request, ApiKeyStatus::Active).await;
        assert!(matches!(result, Err(ServiceError::Invalid(_))), "{scopes}");
    }
}

#[tokio::test]
async fn j15_disable_and_revoke_take_effect_within_a_second() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec::default()).await;
    let body = json!({ "key": issued.key });

    f.server.operator.set_api_key_status(&issued.id, ApiKeyStatus::Disabled).await.unwrap();
    within(Duration::from_secs(1), || async {
        reason(&f.verify(body.clone()).await) == "disabled"
    })
    .await;
    f.server.operator.set_api_key_status(&issued.id, ApiKeyStatus::Active).await.unwrap();
    within(Duration::from_secs(1), || async { reason(&f.verify(body.clone()).await) == "valid" })
        .await;

    // A change made by another process (the CLI) reaches this one through the database.
    let other = f.server.second_instance().await;
    other.operator.set_api_key_status(&issued.id, ApiKeyStatus::Revoked).await.unwrap();
    within(Duration::from_secs(1), || async { reason(&f.verify(body.clone()).await) == "revoked" })
        .await;
}

#[tokio::test]
async fn a_key_is_not_vouched_for_from_memory_once_the_change_feed_is_stale() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec::default()).await;
    let body = json!({ "key": issued.key });
    assert_eq!(reason(&f.verify(body.clone()).await), "valid");

    // Without the database this instance cannot know of a revocation made elsewhere: once its
    // last read of the change feed is older than it trusts, it refuses rather than vouch.
    f.server.state.store.close().await;
    tokio::time::sleep(portcullis::live::TRUSTED_FOR + Duration::from_millis(500)).await;
    let reply = f.verify(body).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text());
    assert_eq!(reply.error(), "temporarily_unavailable");
}

#[tokio::test]
async fn j16_keys_of_an_inactive_client_do_not_verify() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec::default()).await;
    let body = json!({ "key": issued.key });
    f.server.operator.set_client_status(&f.owner.id, ClientStatus::Disabled).await.unwrap();
    within(Duration::from_secs(1), || async {
        reason(&f.verify(body.clone()).await) == "disabled"
    })
    .await;
    f.server.operator.set_client_status(&f.owner.id, ClientStatus::Pending).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(reason(&f.verify(body).await), "disabled");
}

#[tokio::test]
async fn j17_guessing_keys_from_one_source_is_blocked() {
    let server = TestServer::start_with(&[("PORTCULLIS_API_KEY_GUESS_LIMIT", "10")]).await;
    let f = Fixture::on(server).await;
    let issued = f.issue(KeySpec::default()).await;
    let guess =
        |i: usize, ip: &'static str| json!({ "key": format!("pcak_guess{i:038}"), "ip": ip });
    for i in 0..10 {
        assert_eq!(reason(&f.verify(guess(i, "203.0.113.7")).await), "not_found");
    }
    let blocked = f.verify(guess(99, "203.0.113.7")).await;
    assert_eq!(reason(&blocked), "too_many_invalid_keys");
    assert!(blocked.header("retry-after").is_some());
    let real_from_blocked = json!({ "key": issued.key, "ip": "203.0.113.7" });
    assert_eq!(reason(&f.verify(real_from_blocked).await), "too_many_invalid_keys");
    let real_elsewhere = json!({ "key": issued.key, "ip": "203.0.113.8" });
    assert_eq!(reason(&f.verify(real_elsewhere).await), "valid", "other sources are unaffected");

    // Rejected guesses wrote nothing: no usage is attributed to any key but the real one.
    f.server.state.usage.flush(&f.server.state.store).await.unwrap();
    let usage = f.server.state.store.key_usage(&issued.id, 0, i64::MAX / 2).await.unwrap();
    assert_eq!(usage.iter().map(|d| d.outcomes.len()).sum::<usize>(), 1);
}

#[tokio::test]
async fn callers_must_be_granted_verification() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec::default()).await;
    let body = json!({ "key": issued.key });

    let refused = f.verify_as(&f.owner, None, &[], body.clone()).await;
    assert_eq!(
        (refused.status, refused.error().as_str()),
        (StatusCode::FORBIDDEN, "unauthorized_client")
    );

    let stranger = TestClient { id: f.gateway.id.clone(), secret: Some("pcs_wrong".into()) };
    let unauthenticated = f.verify_as(&stranger, None, &[], body.clone()).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    assert!(unauthenticated.header("www-authenticate").is_some());

    f.server
        .operator
        .set_client_permission(&f.gateway.id, ClientPermission::VerifyApiKeys, false)
        .await
        .unwrap();
    within(Duration::from_secs(1), || async {
        f.verify(body.clone()).await.status == StatusCode::FORBIDDEN
    })
    .await;
}

#[tokio::test]
async fn refused_checks_spend_no_units() {
    let f = Fixture::start().await;
    let issued = f
        .issue(KeySpec {
            per_minute: 1,
            burst: None,
            allowed_ips: "10.0.0.0/24",
            ..KeySpec::default()
        })
        .await;
    for _ in 0..3 {
        let wrong_scope = json!({ "key": issued.key, "scope": "quote:write", "ip": "10.0.0.1" });
        assert_eq!(reason(&f.verify(wrong_scope).await), "insufficient_scope");
        let wrong_ip = json!({ "key": issued.key, "ip": "10.9.0.1" });
        assert_eq!(reason(&f.verify(wrong_ip).await), "ip_not_allowed");
    }
    let fine = json!({ "key": issued.key, "ip": "10.0.0.1" });
    assert_eq!(reason(&f.verify(fine.clone()).await), "valid");
    assert_eq!(reason(&f.verify(fine).await), "rate_limited");
}

#[tokio::test]
async fn rotation_retires_the_old_key_now_or_after_the_overlap() {
    let f = Fixture::start().await;
    let first = f.issue(KeySpec::default()).await;

    let rotated = f.server.operator.rotate_api_key(&first.id, None).await.unwrap();
    let second = rotated.secret.expose().to_owned();
    f.wait_for_key(&second).await;
    within(Duration::from_secs(1), || async {
        reason(&f.verify(json!({ "key": first.key })).await) == "revoked"
    })
    .await;
    assert_eq!(reason(&f.verify(json!({ "key": second })).await), "valid");
    assert_eq!(rotated.key.scopes, f.server.operator.api_key(&first.id).await.unwrap().scopes);

    let overlapped = f.server.operator.rotate_api_key(&rotated.key.id, Some(2)).await.unwrap();
    let third = overlapped.secret.expose().to_owned();
    f.wait_for_key(&third).await;
    assert_eq!(reason(&f.verify(json!({ "key": second })).await), "valid", "overlap");
    assert_eq!(reason(&f.verify(json!({ "key": third })).await), "valid");
    let old = f.server.operator.api_key(&rotated.key.id).await.unwrap();
    assert_eq!(old.replaced_by.as_deref(), Some(overlapped.key.id.as_str()));
    let until = old.expires_at.unwrap();
    assert!((until - portcullis::clock::unix_now() - 7200).abs() < 10);

    // Use during the overlap is recorded, so an operator can tell when it is safe to retire.
    f.server.state.usage.flush(&f.server.state.store).await.unwrap();
    let old = f.server.operator.api_key(&rotated.key.id).await.unwrap();
    assert!(old.last_used_at.is_some());

    let twice = f.server.operator.rotate_api_key(&rotated.key.id, None).await;
    assert!(matches!(twice, Err(ServiceError::Invalid(_))), "a key rotates once");
    let too_long = f.server.operator.rotate_api_key(&overlapped.key.id, Some(10_000)).await;
    assert!(matches!(too_long, Err(ServiceError::Invalid(_))));
}

#[tokio::test]
async fn usage_is_counted_in_memory_and_served_to_the_owner() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { per_minute: 2, burst: Some(1), ..KeySpec::default() }).await;
    for ip in ["192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        f.verify(json!({ "key": issued.key, "ip": ip })).await;
    }
    f.verify(json!({ "key": issued.key, "scope": "quote:write" })).await;

    // Nothing reached the database yet: the hot path only counts in memory.
    let stored = f.server.state.store.key_usage(&issued.id, 0, i64::MAX / 2).await.unwrap();
    assert!(stored.is_empty());
    f.server.state.usage.flush(&f.server.state.store).await.unwrap();

    let request = Request::get(format!("/api-keys/{}/usage", issued.id))
        .header(header::AUTHORIZATION, f.owner.basic())
        .body(Body::empty())
        .unwrap();
    let reply = f.server.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    let body = reply.json();
    let today = &body["days"][0];
    assert_eq!(today["outcomes"]["valid"], json!(2));
    assert_eq!(today["outcomes"]["rate_limited"], json!(2));
    assert_eq!(today["outcomes"]["insufficient_scope"], json!(1));
    assert_eq!(today["sources"][0], json!({ "ip": "192.0.2.1", "count": 2 }));
    assert_eq!(today["sources"].as_array().unwrap().len(), 3);

    // Another client cannot read it, and cannot tell the key exists.
    for caller in [&f.gateway] {
        let request = Request::get(format!("/api-keys/{}/usage", issued.id))
            .header(header::AUTHORIZATION, caller.basic())
            .body(Body::empty())
            .unwrap();
        assert_eq!(f.server.send(request).await.status, StatusCode::NOT_FOUND);
    }
    let bad_dates = Request::get(format!("/api-keys/{}/usage?from=yesterday", issued.id))
        .header(header::AUTHORIZATION, f.owner.basic())
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.server.send(bad_dates).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_limit_survives_a_restart() {
    let f = Fixture::start().await;
    let issued = f.issue(KeySpec { per_minute: 2, burst: Some(1), ..KeySpec::default() }).await;
    let body = json!({ "key": issued.key });
    assert_eq!(reason(&f.verify(body.clone()).await), "valid");
    assert_eq!(reason(&f.verify(body.clone()).await), "valid");
    portcullis::server::persist_before_exit(&f.server.state).await;

    let restarted = Fixture {
        server: f.server.second_instance().await,
        owner: f.owner.clone(),
        gateway: f.gateway.clone(),
    };
    restarted.wait_for_key(&issued.key).await;
    assert_eq!(reason(&restarted.verify(body).await), "rate_limited");
}

#[tokio::test]
async fn malformed_bodies_get_oauth_errors() {
    let f = Fixture::start().await;
    for (content_type, body) in [
        ("application/json", "{"),
        ("application/json", "[]"),
        ("application/json", r#"{"key":"a","key":"b"}"#),
        ("application/json", r#"{"key":"a","extra":1}"#),
        ("application/json", r#"{"key":"a","scope":""}"#),
        ("text/plain", r#"{"key":"a"}"#),
    ] {
        let request = Request::post("/api-keys/verify")
            .header(header::CONTENT_TYPE, content_type)
            .header(header::AUTHORIZATION, f.gateway.basic())
            .body(Body::from(body))
            .unwrap();
        let reply = f.server.send(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error(), "invalid_request");
    }
}
