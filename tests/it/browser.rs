//! An in-process stand-in for a browser: keeps the session cookie, reads CSRF tokens out of
//! forms, and walks the authorization code flow the way a person would, one request at a time.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::service::NewUser;
use portcullis_core::client::{parse_wire_list, ClientStatus, ClientType, TokenAuthMethod};
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::scope::ScopeSet;
use ring::digest;

use crate::support::{urlencode, Reply, TestClient, TestServer};

pub const REDIRECT: &str = "https://c1.example/cb";
pub const LOGOUT_REDIRECT: &str = "https://c1.example/bye";
pub const PASSWORD: &str = "correct horse battery staple";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

#[derive(Default)]
pub struct Browser {
    pub cookie: Option<String>,
}

impl Browser {
    pub async fn get(&mut self, server: &TestServer, path: &str) -> Reply {
        let mut request = Request::get(path);
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let reply = server.send(request.body(Body::empty()).unwrap()).await;
        self.remember(&reply);
        reply
    }

    pub async fn post(&mut self, server: &TestServer, path: &str, form: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let reply = server.send(request.body(Body::from(body.join("&"))).unwrap()).await;
        self.remember(&reply);
        reply
    }

    fn remember(&mut self, reply: &Reply) {
        if let Some(set) = reply.header("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = Some(pair);
        }
    }

    /// Signs in on the login page the authorize request led to.
    pub async fn sign_in(&mut self, server: &TestServer, username: &str, password: &str) -> Reply {
        let page = self.get(server, "/login").await;
        let csrf = csrf_of(&page);
        self.post(
            server,
            "/login",
            &[("csrf", &csrf), ("username", username), ("password", password)],
        )
        .await
    }

    /// Answers the consent page.
    pub async fn decide(&mut self, server: &TestServer, decision: &str) -> Reply {
        let page = self.get(server, "/consent").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let csrf = csrf_of(&page);
        let request = field_of(&page, "request");
        self.post(
            server,
            "/consent",
            &[("csrf", &csrf), ("request", &request), ("decision", decision)],
        )
        .await
    }
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn location(&self) -> String {
        self.header("location").unwrap_or_else(|| panic!("no Location: {}", self.status)).to_owned()
    }
}

pub fn csrf_of(page: &Reply) -> String {
    field_of(page, "csrf")
}

/// The value of a hidden form field.
pub fn field_of(page: &Reply, name: &str) -> String {
    let html = page.text();
    let marker = format!("name=\"{name}\" value=\"");
    let start =
        html.find(&marker).unwrap_or_else(|| panic!("no {name} field in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A query parameter of a redirect.
pub fn param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn authorize_path(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("scope", "openid profile email".to_owned()),
        ("state", "s1".to_owned()),
        ("nonce", "n1".to_owned()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_owned()),
    ];
    for (name, value) in extra {
        params.retain(|(k, _)| k != name);
        if !value.is_empty() {
            params.push((name, value.to_string()));
        }
    }
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    format!("/oauth2/authorize?{}", query.join("&"))
}

/// The fixture of the end-user tests: a confidential web client, a public native client and
/// the user alice.
pub struct Flow {
    pub server: TestServer,
    pub web: TestClient,
    pub native: TestClient,
}

impl Flow {
    pub async fn start() -> Self {
        Self::on(TestServer::start().await).await
    }

    pub async fn on(server: TestServer) -> Self {
        server.insurance_scopes().await;
        let web = user_client(
            &server,
            ClientType::Confidential,
            TokenAuthMethod::ClientSecretBasic,
            REDIRECT,
        )
        .await;
        let native =
            user_client(&server, ClientType::Public, TokenAuthMethod::None, "http://127.0.0.1/cb")
                .await;
        let user = NewUser {
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            name: Some("Alice Example".into()),
        };
        server.operator.create_user(user, PASSWORD.into()).await.expect("user");
        Self { server, web, native }
    }

    /// Authorize → sign in → consent → code, as a person would.
    pub async fn code(&self, browser: &mut Browser, extra: &[(&str, &str)]) -> String {
        let start = browser.get(&self.server, &authorize_path(&self.web.id, extra)).await;
        let mut reply = start;
        if reply.location() == "/login" {
            reply = browser.sign_in(&self.server, "alice", PASSWORD).await;
        }
        if reply.location() == "/consent" {
            reply = browser.decide(&self.server, "allow").await;
        }
        let location = reply.location();
        assert!(location.starts_with(REDIRECT), "{location}");
        param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
    }

    pub async fn exchange(&self, code: &str, verifier: &str) -> Reply {
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
            urlencode(code),
            urlencode(REDIRECT),
            urlencode(verifier)
        );
        self.server.post_form("/oauth2/token", Some(&self.web.basic()), &body).await
    }

    pub async fn refresh(&self, refresh_token: &str, scope: Option<&str>) -> Reply {
        let mut body =
            format!("grant_type=refresh_token&refresh_token={}", urlencode(refresh_token));
        if let Some(scope) = scope {
            body.push_str(&format!("&scope={}", urlencode(scope)));
        }
        self.server.post_form("/oauth2/token", Some(&self.web.basic()), &body).await
    }
}

pub async fn user_client(
    server: &TestServer,
    client_type: ClientType,
    method: TokenAuthMethod,
    redirect: &str,
) -> TestClient {
    named_user_client(server, &format!("{client_type} app"), client_type, method, redirect).await
}

/// A client for the authorization code flow (openid profile email quote:write).
pub async fn named_user_client(
    server: &TestServer,
    name: &str,
    client_type: ClientType,
    method: TokenAuthMethod,
    redirect: &str,
) -> TestClient {
    let registration = portcullis::service::NewClient {
        name: name.to_owned(),
        client_type,
        grant_types: parse_wire_list("authorization_code refresh_token").unwrap(),
        allowed_scopes: ScopeSet::parse_list("openid profile email quote:write").unwrap(),
        redirect_uris: vec![redirect.to_owned()],
        post_logout_redirect_uris: vec![LOGOUT_REDIRECT.to_owned()],
        auth_method: method,
        // The confidential web app asks for RS256 (what most OIDC libraries expect); the
        // server's own key is ES256, so registering it makes Portcullis add an RS256 key.
        id_token_signing_alg: Some(match client_type {
            ClientType::Confidential => SigningAlgorithm::RS256,
            ClientType::Public => SigningAlgorithm::ES256,
        }),
        access_token_lifetime: 600,
        refresh_token_lifetime: 3600,
        lifetime_policy: None,
    };
    let created = server.operator.create_client(registration, ClientStatus::Active).await.unwrap();
    let id = created.client.id.to_string();
    server.wait_for_client(&id).await;
    TestClient { id, secret: created.secret.map(|s| s.expose().to_owned()) }
}
