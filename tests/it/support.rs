//! Test harness: a complete Portcullis (router, caches, background tasks) on a fresh database of
//! the engine under test, driven in-process with `oneshot`, no ports.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::BodyExt;
use portcullis::config::{RawSettings, ServerConfig};
use portcullis::http::{router, AppState};
use portcullis::service::{NewClient, Operator, ScopeInput};
use portcullis_core::client::{parse_wire_list, ClientStatus, ClientType, TokenAuthMethod};
use portcullis_core::scope::ScopeSet;
use portcullis_store::testing::{fresh_database, TestDatabase};
use serde_json::Value;
use tower::ServiceExt;

pub const ISSUER: &str = "https://as.example.test";
pub const AUDIENCE: &str = "https://api.example.test";

pub struct TestServer {
    pub app: Router,
    pub state: AppState,
    pub operator: Operator,
    pub db: TestDatabase,
    pub env: Vec<(String, String)>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// A registered client and its secret.
#[derive(Clone, Debug)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

impl TestClient {
    pub fn basic(&self) -> String {
        basic(&self.id, self.secret.as_deref().unwrap_or_default())
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_on(fresh_database().await).await
    }

    /// Starts a server with extra settings (`PORTCULLIS_*` pairs).
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        Self::start_configured(fresh_database().await, extra).await
    }

    /// Starts a server on an existing database (a second instance for multi-instance tests).
    pub async fn start_on(db: TestDatabase) -> Self {
        Self::start_configured(db, &[]).await
    }

    pub async fn start_configured(db: TestDatabase, extra: &[(&str, &str)]) -> Self {
        let mut env = vec![
            ("PORTCULLIS_DATA_DIR".to_owned(), db.data_dir.display().to_string()),
            ("PORTCULLIS_DATABASE_URL".to_owned(), db.url.clone()),
            ("PORTCULLIS_ISSUER".to_owned(), ISSUER.to_owned()),
            ("PORTCULLIS_ACCESS_TOKEN_AUDIENCE".to_owned(), AUDIENCE.to_owned()),
            ("PORTCULLIS_MAX_ACCESS_TOKEN_LIFETIME".to_owned(), "7200".to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let raw = RawSettings::from_pairs(env.clone()).expect("settings");
        let config = ServerConfig::from_raw(&raw).expect("config");
        let state = portcullis::server::build_state(config).await.expect("state");
        let operator = state.operator();
        Self { app: router(state.clone()), state, operator, db, env }
    }

    /// A second server process over the same database, as another instance would be.
    pub async fn second_instance(&self) -> TestServer {
        Self::start_on(self.db.share()).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// POSTs a form body with an optional Authorization header.
    pub async fn post_form(&self, path: &str, authorization: Option<&str>, body: &str) -> Reply {
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap()).await
    }

    pub async fn token(&self, client: &TestClient, scope: &str) -> Reply {
        let body = format!("grant_type=client_credentials&scope={}", urlencode(scope));
        self.post_form("/oauth2/token", Some(&client.basic()), &body).await
    }

    /// Issues a token and returns the access token string.
    pub async fn access_token(&self, client: &TestClient, scope: &str) -> String {
        let reply = self.token(client, scope).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
        reply.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// What `/metrics` would answer now.
    pub fn metrics(&self) -> String {
        self.state.metrics.render(&self.state.store.pool_stats())
    }

    pub async fn introspect(&self, caller: &TestClient, token: &str) -> Reply {
        let body = format!("token={}", urlencode(token));
        self.post_form("/oauth2/introspect", Some(&caller.basic()), &body).await
    }

    pub async fn revoke(&self, caller: &TestClient, token: &str) -> Reply {
        let body = format!("token={}", urlencode(token));
        self.post_form("/oauth2/revoke", Some(&caller.basic()), &body).await
    }

    /// Loads the insurance sample registry the README uses.
    pub async fn insurance_scopes(&self) {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/scopes/insurance.toml"
        ))
        .expect("sample registry");
        let file: portcullis::service::ScopeFile = toml::from_str(&text).expect("valid sample");
        self.operator.put_scopes(file.scope).await.expect("import");
        self.wait_until(|s| s.state.live.registry().iter().count() > 10).await;
    }

    pub async fn scope(&self, name: &str, includes: &[&str], requires_user: bool) {
        let input = ScopeInput {
            name: name.into(),
            description: format!("Description of {name}"),
            category: None,
            includes: includes.iter().map(|s| s.to_string()).collect(),
            requires_user,
            public: true,
        };
        self.operator.put_scopes(vec![input]).await.expect("scope");
        self.wait_until(|s| s.state.live.registry().iter().any(|d| d.name.as_str() == name)).await;
    }

    /// Registers an active confidential client_credentials client.
    pub async fn service_client(&self, scopes: &str) -> TestClient {
        self.client_with(scopes, TokenAuthMethod::ClientSecretBasic, ClientStatus::Active).await
    }

    pub async fn client_with(
        &self,
        scopes: &str,
        method: TokenAuthMethod,
        status: ClientStatus,
    ) -> TestClient {
        let registration = NewClient {
            name: "Test client".into(),
            client_type: ClientType::Confidential,
            grant_types: parse_wire_list("client_credentials").unwrap(),
            allowed_scopes: ScopeSet::parse_list(scopes).unwrap(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            id_token_signing_alg: None,
            auth_method: method,
            access_token_lifetime: 900,
            refresh_token_lifetime: 3600,
            lifetime_policy: None,
        };
        let created = self.operator.create_client(registration, status).await.expect("client");
        let id = created.client.id.to_string();
        self.wait_for_client(&id).await;
        TestClient { id, secret: created.secret.map(|s| s.expose().to_owned()) }
    }

    pub async fn wait_for_client(&self, id: &str) {
        let id = id.to_owned();
        self.wait_until(move |s| s.state.live.client(&id).is_some()).await;
    }

    /// Waits (up to two seconds) until `check` holds against this server's live state.
    pub async fn wait_until(&self, check: impl Fn(&TestServer) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !check(self) {
            assert!(Instant::now() < deadline, "the server did not pick up the change in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Waits until a spent code or refresh token presented again counts as a replay, not as a
/// concurrent duplicate (`DUPLICATE_WINDOW_SECONDS`, compared in whole seconds).
pub async fn outlast_duplicate_window() {
    let window = portcullis_core::grant::authorization_code::DUPLICATE_WINDOW_SECONDS;
    tokio::time::sleep(Duration::from_secs(window as u64 + 1)).await;
}

pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Polls `attempt` until it returns true, failing after `limit`. Returns the time it took.
pub async fn within<F, Fut>(limit: Duration, mut attempt: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if attempt().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "condition not met within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
