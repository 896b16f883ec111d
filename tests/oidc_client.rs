//! A relying party built on the `openidconnect` crate signs a user in against a running
//! Portcullis over real HTTP: discovery, authorization code with PKCE, ID token verification
//! against the JWKS (the library's default: RS256 only), userinfo, refresh rotation and
//! RP-initiated logout. Only the user's part (following redirects, filling the two forms) is
//! done by hand, the way a browser would.

use std::net::SocketAddr;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::reqwest;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use portcullis::config::{RawSettings, ServerConfig};
use portcullis::service::{NewClient, NewUser};
use portcullis_core::client::{parse_wire_list, ClientStatus, ClientType, TokenAuthMethod};
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::scope::ScopeSet;

const APP: &str = "http://127.0.0.1:9/cb";
const APP_BYE: &str = "http://127.0.0.1:9/bye";
const PASSWORD: &str = "correct horse battery staple";

/// A Portcullis serving on a free loopback port, with one user and one web client.
struct Running {
    issuer: String,
    client_id: String,
    client_secret: String,
    _data: tempfile::TempDir,
}

async fn start_portcullis() -> Running {
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let raw = RawSettings::from_pairs([
        ("PORTCULLIS_DATA_DIR".to_owned(), data.path().display().to_string()),
        ("PORTCULLIS_ISSUER".to_owned(), issuer.clone()),
        ("PORTCULLIS_ACCESS_TOKEN_AUDIENCE".to_owned(), "https://api.example".to_owned()),
        ("PORTCULLIS_MAX_ACCESS_TOKEN_LIFETIME".to_owned(), "3600".to_owned()),
    ])
    .unwrap();
    let state =
        portcullis::server::build_state(ServerConfig::from_raw(&raw).unwrap()).await.unwrap();

    let operator = state.operator();
    let registration = NewClient {
        name: "Quote Portal".into(),
        client_type: ClientType::Confidential,
        grant_types: parse_wire_list("authorization_code refresh_token").unwrap(),
        allowed_scopes: ScopeSet::parse_list("openid profile email").unwrap(),
        redirect_uris: vec![APP.into()],
        post_logout_redirect_uris: vec![APP_BYE.into()],
        auth_method: TokenAuthMethod::ClientSecretBasic,
        id_token_signing_alg: Some(SigningAlgorithm::RS256),
        access_token_lifetime: 600,
        refresh_token_lifetime: 3600,
        lifetime_policy: None,
    };
    let created = operator.create_client(registration, ClientStatus::Active).await.unwrap();
    let user = NewUser {
        username: "alice".into(),
        email: Some("alice@example.com".into()),
        name: Some("Alice Example".into()),
    };
    operator.create_user(user, PASSWORD.into()).await.unwrap();

    let app = portcullis::http::router(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    // The registration reaches the running server through the change feed.
    let client_id = created.client.id.to_string();
    while state.live.client(&client_id).is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    Running {
        issuer,
        client_id,
        client_secret: created.secret.unwrap().expose().to_owned(),
        _data: data,
    }
}

/// A hidden field of a Portcullis form.
fn field_of(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// What the browser does: follows redirects within Portcullis, signs in, allows on the consent
/// screen, and stops at the first redirect to the app.
async fn user_signs_in_and_allows(browser: &reqwest::Client, issuer: &str, url: &str) -> String {
    let mut next = url.to_owned();
    loop {
        let response = browser.get(&next).send().await.unwrap();
        let location = |r: &reqwest::Response| {
            r.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned()
        };
        if response.status().is_redirection() {
            next = location(&response);
            if next.starts_with(APP) {
                return next;
            }
            if next.starts_with('/') {
                next = format!("{issuer}{next}");
            }
            continue;
        }
        assert_eq!(response.status(), 200, "{next}: {}", response.text().await.unwrap_or_default());
        let page_url = response.url().clone();
        let html = response.text().await.unwrap();
        let csrf = field_of(&html, "csrf");
        let request = if html.contains("name=\"request\"") {
            field_of(&html, "request")
        } else {
            String::new()
        };
        let form: Vec<(&str, &str)> = if page_url.path() == "/login" {
            vec![("csrf", &csrf), ("username", "alice"), ("password", PASSWORD)]
        } else {
            assert_eq!(page_url.path(), "/consent", "{html}");
            vec![("csrf", &csrf), ("request", &request), ("decision", "allow")]
        };
        let posted = browser.post(page_url).form(&form).send().await.unwrap();
        assert_eq!(posted.status(), 303);
        next = location(&posted);
        if next.starts_with(APP) {
            return next;
        }
        if next.starts_with('/') {
            next = format!("{issuer}{next}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openidconnect_relying_party_completes_the_flow() {
    let portcullis = start_portcullis().await;
    let http =
        reqwest::ClientBuilder::new().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // Discovery, with the RP-Initiated Logout metadata.
    let issuer = IssuerUrl::new(portcullis.issuer.clone()).unwrap();
    let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http).await.unwrap();
    let end_session = metadata.additional_metadata().end_session_endpoint.clone().unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(portcullis.client_id.clone()),
        Some(ClientSecret::new(portcullis.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(APP.into()).unwrap());

    // Authorization request with PKCE S256, state and nonce.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let callback =
        user_signs_in_and_allows(&browser, &portcullis.issuer, authorize_url.as_str()).await;
    let callback = url::Url::parse(&callback).unwrap();
    let query: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(query["state"], *state.secret());
    assert_eq!(query["iss"], portcullis.issuer, "RFC 9207");

    // Code exchange; the library checks the ID token's signature, issuer, audience, expiry,
    // nonce and at_hash.
    let tokens = client
        .exchange_code(AuthorizationCode::new(query["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token").clone();
    let claims = id_token.claims(&client.id_token_verifier(), &nonce).unwrap();
    let access_hash = claims.access_token_hash().expect("at_hash");
    let expected = openidconnect::AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(*access_hash, expected);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));

    // Userinfo with the access token.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));

    // Refresh rotates; the old refresh token then fails.
    let refresh = tokens.refresh_token().unwrap().clone();
    let refreshed =
        client.exchange_refresh_token(&refresh).unwrap().request_async(&http).await.unwrap();
    let successor = refreshed.refresh_token().unwrap();
    assert_ne!(successor.secret(), refresh.secret());
    let replay = client
        .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
        .unwrap()
        .request_async(&http)
        .await;
    assert!(replay.is_err(), "a rotated refresh token is refused");

    // RP-initiated logout back to the registered URI.
    let logout_url = LogoutRequest::from(end_session)
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(APP_BYE.into()).unwrap())
        .set_state(CsrfToken::new("bye".into()))
        .http_get_url();
    let signed_out = browser.get(logout_url).send().await.unwrap();
    assert_eq!(signed_out.status(), 303);
    assert_eq!(signed_out.headers()[reqwest::header::LOCATION], format!("{APP_BYE}?state=bye"));
}
