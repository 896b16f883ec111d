//! SECURITY.md groups A, B, C, D, F and H, case by case, over HTTP. Each test names the cases
//! it covers; the broad happy paths live in user_flows.rs, the pure rules in the core's own
//! unit tests (authorize.rs, grant/authorization_code.rs).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use futures::future::join_all;
use portcullis_core::client::{ClientStatus, ClientType, TokenAuthMethod};
use serde_json::Value;

use crate::browser::{
    authorize_path, challenge, csrf_of, field_of, named_user_client, param, Browser, Flow,
    PASSWORD, REDIRECT, VERIFIER,
};
use crate::support::{urlencode, Reply, TestServer, ISSUER};

/// ERRPAGE: a 400 page, no redirect, and the rejected URI nowhere in it.
fn assert_error_page(reply: &Reply, rejected: &str, case: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{case}: {rejected}");
    assert!(reply.header("location").is_none(), "{case}: no redirect for {rejected}");
    let text = reply.text();
    assert!(!text.contains("evil"), "{case}: the URI is never rendered");
    assert!(!text.contains("<meta http-equiv"), "{case}: no meta refresh");
}

/// EREDIR(error): a 303 to the registered URI with the error, the original state and `iss`, and
/// never a code or a token.
fn assert_error_redirect(reply: &Reply, error: &str, case: &str) {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{case}: {}", reply.text());
    let location = reply.location();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{case}: {location}");
    assert_eq!(param(&location, "error").as_deref(), Some(error), "{case}: {location}");
    assert_eq!(param(&location, "state").as_deref(), Some("s1"), "{case}");
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER), "{case}: RFC 9207");
    for leak in ["code", "access_token", "id_token", "refresh_token"] {
        assert!(param(&location, leak).is_none(), "{case}: {leak} in {location}");
    }
}

fn code_exchange_body(code: &str, verifier: &str) -> String {
    format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        urlencode(code),
        urlencode(REDIRECT),
        urlencode(verifier)
    )
}

/// Access and refresh token of one fresh grant of `flow.web`.
async fn grant(flow: &Flow, browser: &mut Browser, extra: &[(&str, &str)]) -> (String, String) {
    let code = flow.code(browser, extra).await;
    let tokens = flow.exchange(&code, VERIFIER).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let body = tokens.json();
    (body["access_token"].as_str().unwrap().into(), body["refresh_token"].as_str().unwrap().into())
}

async fn active(flow: &Flow, token: &str) -> bool {
    flow.server.introspect(&flow.web, token).await.json()["active"] == true
}

async fn userinfo(server: &TestServer, token: &str) -> Reply {
    let request = Request::get("/oauth2/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    server.send(request).await
}

fn claims(jwt: &str) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a01_a18_redirect_uri_variants_get_an_error_page() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let web = [
        ("A-01", "https://evil.example/cb"),
        ("A-05", "https://c1.example/cb?x=1"),
        ("A-07", "https://c1.example/CB"),
        ("A-07", "https://C1.EXAMPLE/cb"),
        ("A-08", "https://c1.example/cb/"),
        ("A-08", "https://c1.example:443/cb"),
        ("A-09", "https://c1.example/cb/../evil"),
        ("A-09", "https://c1.example/cb/..;/evil"),
        ("A-09", "https://c1.example/cb/%2e%2e/evil"),
        ("A-09", "https://c1.example/cb/%252e%252e/evil"),
        ("A-09", "https://c1.example/cb%2f..%2fevil"),
        ("A-10", "https://c1.example@evil.example/cb"),
        ("A-10", "https://c1.example:443@evil.example/cb"),
        ("A-10", "https://a@b@evil.example/cb"),
        ("A-11", "https://c1.example.evil.example/cb"),
        ("A-11", "https://evilc1.example/cb"),
        ("A-12", "javascript:alert(1)//"),
        ("A-12", "JaVaScRiPt:alert(1)"),
        ("A-12", "data:text/html,<script>evil</script>"),
        ("A-12", "vbscript:evil"),
        ("A-13", "https:evil.example/cb"),
        ("A-13", "//evil.example/cb"),
        ("A-13", "https:/\\evil.example"),
        ("A-13", "https://c1.example\\@evil.example/cb"),
        ("A-13", "/cb"),
        ("A-14", "https://c1.example/cb#evil"),
        ("A-15", "http://[:::::::::::::::::::::::::::::::::::::::]/cb"),
        ("A-18", "https://c1.example:8443/cb"),
        ("A-18", "http://127.0.0.1:8080/cb"),
    ];
    for (case, uri) in web {
        let reply = browser
            .get(&flow.server, &authorize_path(&flow.web.id, &[("redirect_uri", uri)]))
            .await;
        assert_error_page(&reply, uri, case);
    }

    // the native client registered http://127.0.0.1/cb; only the port may differ.
    let native = [
        "http://127.0.0.1:53011/cb?x=1",
        "http://127.0.0.1:53011/other",
        "http://[::1]:53011/cb",
        "http://localhost:53011/cb",
        "http://127.0.0.1.nip.io/cb",
        "http://127.0.0.1:80@evil.example/cb",
    ];
    for uri in native {
        let path = authorize_path(&flow.native.id, &[("redirect_uri", uri)]);
        assert_error_page(&browser.get(&flow.server, &path).await, uri, "A-17");
    }
    let fine = authorize_path(&flow.native.id, &[("redirect_uri", "http://127.0.0.1:53011/cb")]);
    assert_eq!(browser.get(&flow.server, &fine).await.location(), "/login", "A-17");
}

#[tokio::test]
async fn a02_a03_a04_a25_a35_a36_untrusted_clients_get_an_error_page() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let cases = [
        ("A-02", authorize_path("nope", &[])),
        ("A-02", authorize_path("nope", &[("response_type", "bogus")])),
        ("A-03", authorize_path(&flow.web.id, &[("client_id", "")])),
        ("A-04", authorize_path(&flow.web.id, &[("redirect_uri", "")])),
        ("A-25", format!("{}&client_id={}", authorize_path(&flow.web.id, &[]), flow.web.id)),
        (
            "A-25",
            format!("{}&redirect_uri={}", authorize_path(&flow.web.id, &[]), urlencode(REDIRECT)),
        ),
    ];
    for (case, path) in cases {
        assert_error_page(&browser.get(&flow.server, &path).await, &path, case);
    }

    // pending and disabled clients; A-36: a client without the code grant.
    let pending = flow
        .server
        .client_with("quote:read", TokenAuthMethod::ClientSecretBasic, ClientStatus::Pending)
        .await;
    let service = flow.server.service_client("quote:read").await;
    for id in [&pending.id, &service.id] {
        let reply = browser.get(&flow.server, &authorize_path(id, &[])).await;
        assert_error_page(&reply, REDIRECT, "A-35/A-36");
    }
    flow.server.operator.set_client_status(&flow.web.id, ClientStatus::Disabled).await.unwrap();
    let web = flow.web.id.clone();
    flow.server
        .wait_until(|s| {
            s.state.live.client(&web).is_some_and(|c| c.status == ClientStatus::Disabled)
        })
        .await;
    let disabled = browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    assert_error_page(&disabled, REDIRECT, "A-35");
}

#[tokio::test]
async fn a19_a20_a23_a24_a25_a26_a33_a34_errors_redirect_to_the_registered_uri() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let id = &flow.web.id;
    let mut cases = vec![];
    for response_type in ["token", "id_token", "code id_token", "code token", "foo"] {
        cases.push((
            "A-19",
            authorize_path(id, &[("response_type", response_type)]),
            "unsupported_response_type",
        ));
    }
    cases.extend([
        ("A-20", authorize_path(id, &[("response_type", "")]), "invalid_request"),
        ("A-23", authorize_path(id, &[("scope", "openid admin:all")]), "invalid_scope"),
        ("A-23", authorize_path(id, &[("scope", "openid nonsense")]), "invalid_scope"),
        ("A-24", authorize_path(id, &[("scope", "")]), "invalid_scope"),
        ("A-25", format!("{}&scope=admin", authorize_path(id, &[])), "invalid_request"),
        (
            "A-26",
            format!("{}&code_challenge=", authorize_path(id, &[("code_challenge", "")])),
            "invalid_request",
        ),
        (
            "A-34",
            authorize_path(id, &[("request_uri", "http://127.0.0.1:9999/x")]),
            "request_uri_not_supported",
        ),
        (
            "A-34",
            authorize_path(id, &[("request", "eyJhbGciOiJub25lIn0.e30.")]),
            "request_not_supported",
        ),
    ]);
    for mode in ["form_post", "form_post.jwt", "fragment", "web_message"] {
        cases.push(("A-33", authorize_path(id, &[("response_mode", mode)]), "invalid_request"));
    }
    for (case, path, error) in cases {
        let reply = browser.get(&flow.server, &path).await;
        assert_error_redirect(&reply, error, case);
    }

    // with two states neither can be trusted, so none is echoed.
    let reply = browser.get(&flow.server, &format!("{}&state=b", authorize_path(id, &[]))).await;
    let location = reply.location();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "A-25: {location}");
    assert_eq!(param(&location, "error").as_deref(), Some("invalid_request"), "A-25");
    assert_eq!(param(&location, "state"), None, "A-25");
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER), "A-25");
}

#[tokio::test]
async fn a21_a22_a27_a28_a29_a32_successful_requests() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let id = &flow.web.id;

    // unknown parameters are ignored; A-29: iss on success; A-32: no token in the URL.
    let code = flow.code(&mut browser, &[("extra", "foobar")]).await;
    assert!(!code.is_empty());

    // scope order does not matter.
    let first = flow.code(&mut browser, &[("scope", "email openid")]).await;
    let second = flow.code(&mut browser, &[("scope", "openid email")]).await;
    let scope_of = |reply: Reply| reply.json()["scope"].as_str().unwrap().to_owned();
    assert_eq!(
        scope_of(flow.exchange(&first, VERIFIER).await),
        scope_of(flow.exchange(&second, VERIFIER).await)
    );

    // state is echoed byte for byte, absent when absent, refused when oversized.
    let state: String = "a b&c=d+e%".repeat(100).chars().take(1024).collect();
    let reply = browser.get(&flow.server, &authorize_path(id, &[("state", &state)])).await;
    assert_eq!(param(&reply.location(), "state").as_deref(), Some(state.as_str()), "A-28");
    let stateless = browser.get(&flow.server, &authorize_path(id, &[("state", "")])).await;
    let location = stateless.location();
    assert!(param(&location, "code").is_some() && param(&location, "state").is_none(), "A-28");
    assert_eq!(location.matches("code=").count(), 1, "A-16: one code");
    let huge = "s".repeat(2049);
    let refused = browser.get(&flow.server, &authorize_path(id, &[("state", &huge)])).await;
    assert_ne!(refused.status, StatusCode::OK);
    assert!(refused.header("location").is_none_or(|l| param(l, "code").is_none()), "A-28");

    // POST works like GET.
    let query = authorize_path(id, &[]);
    let form = query.split_once('?').unwrap().1;
    let mut request = Request::post("/oauth2/authorize")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    request = request.header(header::COOKIE, browser.cookie.clone().unwrap());
    let posted = flow.server.send(request.body(Body::from(form.to_owned())).unwrap()).await;
    assert!(param(&posted.location(), "code").is_some(), "A-27");
}

#[tokio::test]
async fn a30_a31_a38_h13_h14_h22_pages_carry_their_protections() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();

    // no CORS on the authorization endpoint.
    let request = Request::get(authorize_path(&flow.web.id, &[]))
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let reply = flow.server.send(request).await;
    assert!(reply.header("access-control-allow-origin").is_none(), "A-30");
    let preflight = Request::options("/oauth2/authorize")
        .header(header::ORIGIN, "https://evil.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    assert!(flow.server.send(preflight).await.header("access-control-allow-origin").is_none());

    // Every page: error page, login, consent, account, message.
    let error_page = browser.get(&flow.server, &authorize_path("nope", &[])).await;
    browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    let login = browser.get(&flow.server, "/login").await;
    browser.sign_in(&flow.server, "alice", PASSWORD).await;
    let consent = browser.get(&flow.server, "/consent").await;
    let account = browser.get(&flow.server, "/account").await;
    for (name, page) in
        [("error", &error_page), ("login", &login), ("consent", &consent), ("account", &account)]
    {
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "H-13 {name}: {csp}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "H-13 {name}");
        for directive in ["default-src 'self'", "object-src 'none'", "base-uri 'none'"] {
            assert!(csp.contains(directive), "H-14 {name}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "H-14 {name}");
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"), "A-31 {name}");
        assert_eq!(page.header("cache-control"), Some("no-store"), "H-22 {name}");
        let html = page.text();
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "A-31 {name}");
        // The only inline script is data, never code (H-14).
        for script in html.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap();
            assert!(tag.contains("application/json") || tag.contains("src="), "H-14 {name}: {tag}");
        }
    }

    // parameter floods answer quickly with no server error.
    let flood: String = (0..1000).map(|i| format!("&x_{i}=1")).collect();
    let long_name = format!("&{}=1", "n".repeat(200));
    let started = Instant::now();
    let path = format!("{}{flood}{long_name}", authorize_path(&flow.web.id, &[]));
    let reply = browser.get(&flow.server, &path).await;
    assert!(!reply.status.is_server_error(), "A-38");
    assert!(started.elapsed() < Duration::from_secs(5), "A-38: no pathological slowness");
}

#[tokio::test]
async fn b01_b17_b20_b21_well_formed_exchange() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let code = flow.code(&mut browser, &[("scope", "openid email")]).await;
    // B-17: a scope sent at the exchange does not widen what was consented.
    let body =
        format!("{}&scope={}", code_exchange_body(&code, VERIFIER), urlencode("openid admin:all"));
    let reply = flow.server.post_form("/oauth2/token", Some(&flow.web.basic()), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"), "B-01");
    let tokens = reply.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].is_u64());
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    assert_eq!(tokens["scope"], "email openid", "B-17");

    // B-20, B-21: codes and refresh tokens are unique, long and plain ASCII.
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let code = flow.code(&mut browser, &[("scope", "openid email")]).await;
        let refresh = flow.exchange(&code, VERIFIER).await.json()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        for value in [code, refresh] {
            let random = value.split_once('_').unwrap().1;
            assert!(random.len() >= 43, "B-20: 256 bits, base64url: {value}");
            assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
            assert!(seen.insert(value), "B-20: unique");
        }
    }
}

#[tokio::test]
async fn b04_b07_an_unbound_replay_revokes_nothing() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let code = flow.code(&mut browser, &[]).await;
    let tokens = flow.exchange(&code, VERIFIER).await.json();
    let access = tokens["access_token"].as_str().unwrap();

    // B-04: the used code again with a wrong verifier, and from another confidential client
    // (B-07): refused, and the first exchange's tokens stay. Past the duplicate window, so it is
    // the binding check that spares them.
    crate::support::outlast_duplicate_window().await;
    assert_eq!(flow.exchange(&code, &"x".repeat(43)).await.error(), "invalid_grant", "B-04");
    let other = named_user_client(
        &flow.server,
        "Other app",
        ClientType::Confidential,
        TokenAuthMethod::ClientSecretBasic,
        REDIRECT,
    )
    .await;
    let body = code_exchange_body(&code, VERIFIER);
    let foreign = flow.server.post_form("/oauth2/token", Some(&other.basic()), &body).await;
    assert_eq!(foreign.error(), "invalid_grant", "B-07");
    assert!(active(&flow, access).await, "B-04: nothing revoked");
    let counted = "portcullis_spent_grant_presented_total\
        {grant_type=\"authorization_code\",outcome=\"unbound_replay\"} 2";
    assert!(flow.server.metrics().contains(counted), "{}", flow.server.metrics());
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(flow.refresh(refresh, None).await.status, StatusCode::OK, "B-04");

    // B-07: a fresh code sent by another client is burned, not left for its owner (documented).
    let code = flow.code(&mut browser, &[]).await;
    let body = code_exchange_body(&code, VERIFIER);
    assert_eq!(
        flow.server.post_form("/oauth2/token", Some(&other.basic()), &body).await.error(),
        "invalid_grant"
    );
    assert_eq!(flow.exchange(&code, VERIFIER).await.error(), "invalid_grant", "B-07: burned");
}

#[tokio::test]
async fn b05_concurrent_redemptions_give_exactly_one_set_of_tokens() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[]).await;
    let attempts = join_all((0..20).map(|_| flow.exchange(&code, VERIFIER))).await;
    let winners: Vec<&Reply> = attempts.iter().filter(|r| r.status == StatusCode::OK).collect();
    assert_eq!(winners.len(), 1, "B-05: exactly one 200");
    assert!(attempts
        .iter()
        .filter(|r| r.status != StatusCode::OK)
        .all(|r| r.error() == "invalid_grant"));
    let access = winners[0].json()["access_token"].as_str().unwrap().to_owned();
    assert!(active(&flow, &access).await, "B-05: the winner's token is live");

    // A replay once the duplicates are over revokes the winner's tokens (B-03).
    crate::support::outlast_duplicate_window().await;
    assert_eq!(flow.exchange(&code, VERIFIER).await.error(), "invalid_grant");
    assert!(!active(&flow, &access).await, "B-03");
}

#[tokio::test]
async fn b09_b10_b11_b14_c07_c09_c11_c14_token_endpoint_inputs() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let basic = flow.web.basic();

    // B-09: redirect_uri may be left out (OAuth 2.1), never changed.
    let code = flow.code(&mut browser, &[]).await;
    let body =
        format!("grant_type=authorization_code&code={}&code_verifier={VERIFIER}", urlencode(&code));
    assert_eq!(
        flow.server.post_form("/oauth2/token", Some(&basic), &body).await.status,
        StatusCode::OK
    );

    // B-10, B-11: garbage and tampered codes are invalid_grant (or invalid_request when huge).
    let code = flow.code(&mut browser, &[]).await;
    let mut tampered = code.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for garbage in ["AAAA".to_owned(), "c".repeat(8 * 1024), "pcac_%00x".to_owned(), tampered] {
        let reply = flow.exchange(&garbage, VERIFIER).await;
        assert!(matches!(reply.error().as_str(), "invalid_grant" | "invalid_request"), "B-10");
        assert!(!reply.status.is_server_error());
    }
    assert_eq!(
        flow.exchange(&code, VERIFIER).await.status,
        StatusCode::OK,
        "tampering burned nothing"
    );

    // C-09: the challenge as verifier; C-11: malformed verifiers. Each burns its code.
    let ch = challenge(VERIFIER);
    for verifier in [
        ch.as_str(),
        &"a".repeat(42),
        &"a".repeat(129),
        "has space aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let code = flow.code(&mut browser, &[]).await;
        let reply = flow.exchange(&code, verifier).await;
        assert_eq!(reply.error(), "invalid_grant", "C-09/C-11: {verifier}");
    }
    // C-07: no verifier at all.
    let code = flow.code(&mut browser, &[]).await;
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}",
        urlencode(&code),
        urlencode(REDIRECT)
    );
    assert_eq!(
        flow.server.post_form("/oauth2/token", Some(&basic), &body).await.error(),
        "invalid_grant"
    );

    // C-14: the challenge is never echoed in the redirect or the token response.
    let start = browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    assert!(!start.location().contains(&ch));
    let code = param(&start.location(), "code").unwrap();
    assert!(!flow.exchange(&code, VERIFIER).await.text().contains(&ch), "C-14");

    // B-14: GET is not a token request.
    let get =
        flow.server.get(&format!("/oauth2/token?{}", code_exchange_body(&code, VERIFIER))).await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED, "B-14");
}

#[tokio::test]
async fn c01_c06_pkce_is_required_and_well_formed() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let good = challenge(VERIFIER);
    let cases = [
        (
            "C-01",
            authorize_path(
                &flow.native.id,
                &[
                    ("redirect_uri", "http://127.0.0.1/cb"),
                    ("code_challenge", ""),
                    ("code_challenge_method", ""),
                ],
            ),
        ),
        (
            "C-02",
            authorize_path(&flow.web.id, &[("code_challenge", ""), ("code_challenge_method", "")]),
        ),
        (
            "C-03",
            authorize_path(
                &flow.web.id,
                &[("code_challenge", VERIFIER), ("code_challenge_method", "plain")],
            ),
        ),
        ("C-04", authorize_path(&flow.web.id, &[("code_challenge_method", "s256")])),
        ("C-04", authorize_path(&flow.web.id, &[("code_challenge_method", "S512")])),
        ("C-04", authorize_path(&flow.web.id, &[("code_challenge_method", "SHA256")])),
        ("C-05", authorize_path(&flow.web.id, &[("code_challenge_method", "")])),
        ("C-06", authorize_path(&flow.web.id, &[("code_challenge", &good[..42])])),
        ("C-06", authorize_path(&flow.web.id, &[("code_challenge", &"a".repeat(129))])),
        ("C-06", authorize_path(&flow.web.id, &[("code_challenge", &format!("{}+", &good[..42]))])),
        ("C-06", authorize_path(&flow.web.id, &[("code_challenge", &format!("{}/", &good[..42]))])),
        ("C-06", authorize_path(&flow.web.id, &[("code_challenge", &format!("{}=", &good[..42]))])),
    ];
    for (case, path) in cases {
        let reply = browser.get(&flow.server, &path).await;
        if case == "C-01" {
            let location = reply.location();
            assert!(location.starts_with("http://127.0.0.1/cb?"), "{case}: {location}");
            assert_eq!(param(&location, "error").as_deref(), Some("invalid_request"), "{case}");
        } else {
            assert_error_redirect(&reply, "invalid_request", case);
        }
    }
    // C-13: only S256 is advertised.
    let discovery = flow.server.get("/.well-known/openid-configuration").await.json();
    assert_eq!(discovery["code_challenge_methods_supported"], serde_json::json!(["S256"]));
}

#[tokio::test]
async fn d03_concurrent_refreshes_leave_one_live_successor() {
    let flow = Flow::start().await;
    let (_, refresh) = grant(&flow, &mut Browser::default(), &[]).await;
    // More twins than the pool has connections: those that queue behind the winner are still
    // judged by the time they arrived, so none of them revokes the family.
    let attempts = join_all((0..20).map(|_| flow.refresh(&refresh, None))).await;
    let successors: Vec<String> = attempts
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| r.json()["refresh_token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(successors.len(), 1, "D-03: one rotation wins");
    assert!(attempts
        .iter()
        .filter(|r| r.status != StatusCode::OK)
        .all(|r| r.error() == "invalid_grant"));
    assert_eq!(
        flow.refresh(&successors[0], None).await.status,
        StatusCode::OK,
        "D-03: it survives"
    );
}

#[tokio::test]
async fn d04_only_the_immediate_predecessor_is_a_duplicate() {
    let flow = Flow::start().await;
    let (access, first) = grant(&flow, &mut Browser::default(), &[]).await;
    let second =
        flow.refresh(&first, None).await.json()["refresh_token"].as_str().unwrap().to_owned();
    let third =
        flow.refresh(&second, None).await.json()["refresh_token"].as_str().unwrap().to_owned();

    // Inside the duplicate window, but two generations old: a replay that revokes the family.
    assert_eq!(flow.refresh(&first, None).await.error(), "invalid_grant", "D-04");
    assert_eq!(flow.refresh(&third, None).await.error(), "invalid_grant", "D-04: revoked");
    assert!(!active(&flow, &access).await);
}

#[tokio::test]
async fn d05_d06_d07_d15_refresh_tokens_are_bound_to_their_client() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let (_, refresh) = grant(&flow, &mut browser, &[]).await;

    // D-05: another confidential client presenting it: refused, the family untouched.
    let other = named_user_client(
        &flow.server,
        "Other app",
        ClientType::Confidential,
        TokenAuthMethod::ClientSecretBasic,
        REDIRECT,
    )
    .await;
    let body = format!("grant_type=refresh_token&refresh_token={}", urlencode(&refresh));
    assert_eq!(
        flow.server.post_form("/oauth2/token", Some(&other.basic()), &body).await.error(),
        "invalid_grant",
        "D-05"
    );
    // D-06: a public client naming itself.
    let public = format!("{body}&client_id={}", flow.native.id);
    assert_eq!(
        flow.server.post_form("/oauth2/token", None, &public).await.error(),
        "invalid_grant",
        "D-06"
    );
    // D-07: no client authentication at all.
    let bare = flow.server.post_form("/oauth2/token", None, &body).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED, "D-07");
    // D-15: a tampered copy is unknown and revokes nothing.
    let tampered = format!("{}x", refresh);
    assert_eq!(flow.refresh(&tampered, None).await.error(), "invalid_grant", "D-15");
    assert_eq!(flow.refresh(&refresh, None).await.status, StatusCode::OK, "the family is intact");
}

#[tokio::test]
async fn d08_d09_d17_scope_on_refresh_and_id_tokens() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let code = flow.code(&mut browser, &[("scope", "openid email")]).await;
    let first = flow.exchange(&code, VERIFIER).await.json();
    let refresh = first["refresh_token"].as_str().unwrap();

    // D-09: widening is refused and spends nothing.
    let wider = flow.refresh(refresh, Some("openid email quote:write")).await;
    assert_eq!(wider.error(), "invalid_scope", "D-09");
    // D-08: narrowing gives a narrower access token; the family keeps the original grant.
    let narrow = flow.refresh(refresh, Some("openid")).await.json();
    assert_eq!(narrow["scope"], "openid", "D-08");
    let successor = narrow["refresh_token"].as_str().unwrap();
    let again = flow.refresh(successor, None).await.json();
    assert_eq!(again["scope"], "email openid", "D-08: the grant itself did not shrink");

    // D-17: an ID token on refresh names the same issuer, user, client and sign-in time.
    let (original, refreshed) =
        (claims(first["id_token"].as_str().unwrap()), claims(again["id_token"].as_str().unwrap()));
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(original[claim], refreshed[claim], "D-17: {claim}");
    }
}

#[tokio::test]
async fn d10_h26_withdrawing_consent_ends_the_grant() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let (access, refresh) = grant(&flow, &mut browser, &[]).await;
    let account = browser.get(&flow.server, "/account").await;
    let csrf = csrf_of(&account);
    browser
        .post(
            &flow.server,
            "/account/consents/revoke",
            &[("csrf", &csrf), ("client_id", &flow.web.id)],
        )
        .await;
    assert_eq!(flow.refresh(&refresh, None).await.error(), "invalid_grant", "D-10");
    assert!(!active(&flow, &access).await, "D-10: access tokens too");
    assert_eq!(userinfo(&flow.server, &access).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn d12_d18_d19_disabled_clients_restarts_and_client_credentials() {
    let flow = Flow::start().await;
    let (_, refresh) = grant(&flow, &mut Browser::default(), &[]).await;

    // D-12: a disabled client cannot refresh; enabled again, its unrevoked family works again.
    let web = flow.web.id.clone();
    flow.server.operator.set_client_status(&web, ClientStatus::Disabled).await.unwrap();
    flow.server
        .wait_until(|s| {
            s.state.live.client(&web).is_some_and(|c| c.status == ClientStatus::Disabled)
        })
        .await;
    assert_eq!(flow.refresh(&refresh, None).await.status, StatusCode::UNAUTHORIZED, "D-12");
    flow.server.operator.set_client_status(&web, ClientStatus::Active).await.unwrap();
    flow.server
        .wait_until(|s| s.state.live.client(&web).is_some_and(|c| c.status == ClientStatus::Active))
        .await;
    let rotated = flow.refresh(&refresh, None).await.json();
    let successor = rotated["refresh_token"].as_str().unwrap();

    // D-18: another process over the same database (a restart) still refuses the spent token
    // and revokes the family.
    crate::support::outlast_duplicate_window().await;
    let restarted = flow.server.second_instance().await;
    restarted.wait_for_client(&web).await;
    let body = format!("grant_type=refresh_token&refresh_token={}", urlencode(&refresh));
    assert_eq!(
        restarted.post_form("/oauth2/token", Some(&flow.web.basic()), &body).await.error(),
        "invalid_grant"
    );
    assert_eq!(
        flow.refresh(successor, None).await.error(),
        "invalid_grant",
        "D-18: family revoked"
    );

    // D-19: client_credentials never gives a refresh token.
    flow.server.scope("svc:read", &[], false).await;
    let service = flow.server.service_client("svc:read").await;
    assert!(flow.server.token(&service, "svc:read").await.json().get("refresh_token").is_none());
}

#[tokio::test]
async fn d13_f08_f17_lifetimes_hold() {
    let flow = Flow::start().await;
    let short = {
        let registration = portcullis::service::NewClient {
            name: "Short-lived".into(),
            client_type: ClientType::Confidential,
            grant_types: portcullis_core::client::parse_wire_list(
                "authorization_code refresh_token",
            )
            .unwrap(),
            allowed_scopes: portcullis_core::scope::ScopeSet::parse_list("openid email").unwrap(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            auth_method: TokenAuthMethod::ClientSecretBasic,
            id_token_signing_alg: Some(portcullis_core::keys::SigningAlgorithm::ES256),
            access_token_lifetime: 1,
            refresh_token_lifetime: 2,
            lifetime_policy: None,
        };
        let created =
            flow.server.operator.create_client(registration, ClientStatus::Active).await.unwrap();
        flow.server.wait_for_client(created.client.id.as_str()).await;
        crate::support::TestClient {
            id: created.client.id.to_string(),
            secret: created.secret.map(|s| s.expose().to_owned()),
        }
    };
    let mut browser = Browser::default();
    let start =
        browser.get(&flow.server, &authorize_path(&short.id, &[("scope", "openid email")])).await;
    assert_eq!(start.location(), "/login");
    browser.sign_in(&flow.server, "alice", PASSWORD).await;
    let allowed = browser.decide(&flow.server, "allow").await;
    let code = param(&allowed.location(), "code").unwrap();
    let tokens = flow
        .server
        .post_form("/oauth2/token", Some(&short.basic()), &code_exchange_body(&code, VERIFIER))
        .await
        .json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // F-05: auth_time is in the ID token when max_age was sent (and always here).
    assert!(claims(tokens["id_token"].as_str().unwrap())["auth_time"].is_i64());

    tokio::time::sleep(Duration::from_secs(3)).await;
    // F-17: an expired access token at userinfo.
    assert_eq!(userinfo(&flow.server, &access).await.status, StatusCode::UNAUTHORIZED, "F-17");
    // D-13: past the family's absolute lifetime.
    let body = format!("grant_type=refresh_token&refresh_token={}", urlencode(&refresh));
    assert_eq!(
        flow.server.post_form("/oauth2/token", Some(&short.basic()), &body).await.error(),
        "invalid_grant",
        "D-13"
    );
    // F-08: max_age=1, three seconds after the sign-in, asks again; a generous max_age does not.
    let stale = browser
        .get(
            &flow.server,
            &authorize_path(&short.id, &[("scope", "openid email"), ("max_age", "1")]),
        )
        .await;
    assert_eq!(stale.location(), "/login", "F-08");
    let fresh = browser
        .get(
            &flow.server,
            &authorize_path(&short.id, &[("scope", "openid email"), ("max_age", "10000")]),
        )
        .await;
    assert!(param(&fresh.location(), "code").is_some(), "F-08");
}

#[tokio::test]
async fn f01_f04_f05_f06_f13_f14_id_tokens_and_discovery() {
    let flow = Flow::start().await;
    let doc = flow.server.get("/.well-known/openid-configuration").await.json();
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]), "F-01");
    let algs = doc["id_token_signing_alg_values_supported"].as_array().unwrap();
    assert!(algs.iter().any(|a| a == "RS256"), "F-01: RS256 is always offered");
    assert!(!algs.iter().any(|a| a == "none"));
    let oauth = flow.server.get("/.well-known/oauth-authorization-server").await.json();
    assert_eq!(doc["issuer"], oauth["issuer"]);
    assert_eq!(doc["token_endpoint"], oauth["token_endpoint"], "F-01: both documents agree");

    let mut browser = Browser::default();
    // F-06: no nonce, no nonce claim; a long nonce echoed exactly.
    let code = flow.code(&mut browser, &[("nonce", ""), ("scope", "openid")]).await;
    let tokens = flow.exchange(&code, VERIFIER).await.json();
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert!(id.get("nonce").is_none(), "F-06");
    // F-13: openid alone shares no profile or email claims.
    assert!(id.get("email").is_none() && id.get("name").is_none(), "F-13");
    let info = userinfo(&flow.server, tokens["access_token"].as_str().unwrap()).await.json();
    assert!(info.get("email").is_none(), "F-13");
    // F-14: the same sub in both.
    assert_eq!(info["sub"], id["sub"], "F-14");

    let nonce = "n".repeat(384);
    let code = flow.code(&mut browser, &[("nonce", &nonce), ("scope", "openid")]).await;
    let id = claims(flow.exchange(&code, VERIFIER).await.json()["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], nonce.as_str(), "F-06");
    // F-05: exp after iat, aud the client.
    assert!(id["exp"].as_i64() > id["iat"].as_i64());
    assert_eq!(id["aud"], flow.web.id.as_str());
}

#[tokio::test]
async fn f09_an_id_token_hint_for_someone_else_is_not_a_session() {
    let flow = Flow::start().await;
    let bob = portcullis::service::NewUser { username: "bob".into(), email: None, name: None };
    flow.server.operator.create_user(bob, PASSWORD.into()).await.unwrap();

    // Bob's ID token.
    let mut bobs_browser = Browser::default();
    bobs_browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    bobs_browser.sign_in(&flow.server, "bob", PASSWORD).await;
    let allowed = bobs_browser.decide(&flow.server, "allow").await;
    let code = param(&allowed.location(), "code").unwrap();
    let bobs_id_token =
        flow.exchange(&code, VERIFIER).await.json()["id_token"].as_str().unwrap().to_owned();

    // Alice is signed in; a request hinting at bob is not answered with a code for alice.
    let mut browser = Browser::default();
    flow.code(&mut browser, &[]).await;
    let hinted = browser
        .get(
            &flow.server,
            &authorize_path(&flow.web.id, &[("prompt", "none"), ("id_token_hint", &bobs_id_token)]),
        )
        .await;
    assert_error_redirect(&hinted, "login_required", "F-09");
    // A forged hint (alg none) counts as no session either.
    let forged = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        bobs_id_token.split('.').nth(1).unwrap()
    );
    let reply = browser
        .get(&flow.server, &authorize_path(&flow.web.id, &[("id_token_hint", &forged)]))
        .await;
    assert_eq!(reply.location(), "/login", "F-09");
    // Alice's own hint is fine.
    let code = flow.code(&mut browser, &[]).await;
    let alices =
        flow.exchange(&code, VERIFIER).await.json()["id_token"].as_str().unwrap().to_owned();
    let own = browser
        .get(
            &flow.server,
            &authorize_path(&flow.web.id, &[("prompt", "none"), ("id_token_hint", &alices)]),
        )
        .await;
    assert!(param(&own.location(), "code").is_some(), "F-09");
}

#[tokio::test]
async fn f10_f12_userinfo_takes_only_a_bearer_access_token_in_the_header() {
    let flow = Flow::start().await;
    let (access, refresh) = grant(&flow, &mut Browser::default(), &[]).await;
    // F-10: a refresh token is not an access token.
    let reply = userinfo(&flow.server, &refresh).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "F-10");
    assert!(reply.header("www-authenticate").unwrap().contains("invalid_token"));
    // F-12: the query is ignored; header plus body is refused; no openid is 403.
    let query = flow.server.get(&format!("/oauth2/userinfo?access_token={access}")).await;
    assert_eq!(query.status, StatusCode::UNAUTHORIZED, "F-12: query ignored");
    let both = Request::post("/oauth2/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("access_token={access}")))
        .unwrap();
    assert_eq!(flow.server.send(both).await.status, StatusCode::BAD_REQUEST, "F-12");
    let code = flow.code(&mut Browser::default(), &[("scope", "quote:write")]).await;
    let no_openid =
        flow.exchange(&code, VERIFIER).await.json()["access_token"].as_str().unwrap().to_owned();
    let reply = userinfo(&flow.server, &no_openid).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "F-12");
    assert!(reply.header("www-authenticate").unwrap().contains("insufficient_scope"));
}

#[tokio::test]
async fn h01_h02_h03_h24_forms_need_their_own_fresh_csrf_token() {
    let flow = Flow::start().await;
    let mut mallory = Browser::default();
    mallory.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    let foreign = csrf_of(&mallory.get(&flow.server, "/login").await);

    let mut alice = Browser::default();
    alice.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    alice.get(&flow.server, "/login").await;
    for (case, csrf) in [("H-01", None), ("H-02", Some(foreign.as_str()))] {
        let mut form = vec![("username", "alice"), ("password", PASSWORD)];
        form.extend(csrf.map(|c| ("csrf", c)));
        let reply = alice.post(&flow.server, "/login", &form).await;
        assert_eq!(reply.location(), "/login?error=expired", "{case}");
    }
    assert_eq!(alice.get(&flow.server, "/account").await.location(), "/login", "not signed in");

    // H-24: a login form replayed after it was used is refused.
    let page = alice.get(&flow.server, "/login").await;
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("username", "alice"), ("password", PASSWORD)];
    assert_eq!(alice.post(&flow.server, "/login", &form).await.location(), "/consent");
    assert_eq!(
        alice.post(&flow.server, "/login", &form).await.location(),
        "/login?error=expired",
        "H-24"
    );

    // H-03: consent without, or with a foreign, token: 403 and no code.
    let consent = alice.get(&flow.server, "/consent").await;
    let request = field_of(&consent, "request");
    for csrf in [None, Some(foreign.as_str())] {
        let mut form = vec![("decision", "allow"), ("request", request.as_str())];
        form.extend(csrf.map(|c| ("csrf", c)));
        let reply = alice.post(&flow.server, "/consent", &form).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "H-03");
        assert!(reply.header("location").is_none());
    }
    // H-24: a consent form used once cannot be used again.
    let csrf = csrf_of(&consent);
    let form = [("csrf", csrf.as_str()), ("request", request.as_str()), ("decision", "allow")];
    assert!(param(&alice.post(&flow.server, "/consent", &form).await.location(), "code").is_some());
    assert_eq!(
        alice.post(&flow.server, "/consent", &form).await.status,
        StatusCode::FORBIDDEN,
        "H-24"
    );
}

#[tokio::test]
async fn h04_h05_consent_is_bound_to_its_request_on_the_server() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    browser.get(&flow.server, &authorize_path(&flow.web.id, &[("scope", "openid")])).await;
    browser.sign_in(&flow.server, "alice", PASSWORD).await;
    let consent = browser.get(&flow.server, "/consent").await;
    let (csrf, request) = (csrf_of(&consent), field_of(&consent, "request"));

    // H-05: another request started in the same browser meanwhile (the native app's); the first
    // page's decision must not approve it.
    let native = authorize_path(&flow.native.id, &[("redirect_uri", "http://127.0.0.1/cb")]);
    assert_eq!(browser.get(&flow.server, &native).await.location(), "/consent");
    let form = [("csrf", csrf.as_str()), ("request", request.as_str()), ("decision", "allow")];
    let reply = browser.post(&flow.server, "/consent", &form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "H-05");

    // H-04: edited hidden fields change nothing: the code has the requested scope and goes to
    // the registered URI.
    browser.get(&flow.server, &authorize_path(&flow.web.id, &[("scope", "openid")])).await;
    let consent = browser.get(&flow.server, "/consent").await;
    let (csrf, request) = (csrf_of(&consent), field_of(&consent, "request"));
    let form = [
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
        ("decision", "allow"),
        ("scope", "openid quote:write"),
        ("client_id", flow.native.id.as_str()),
        ("redirect_uri", "https://evil.example/cb"),
    ];
    let location = browser.post(&flow.server, "/consent", &form).await.location();
    assert!(location.starts_with(REDIRECT), "H-04: {location}");
    let code = param(&location, "code").unwrap();
    assert_eq!(flow.exchange(&code, VERIFIER).await.json()["scope"], "openid", "H-04");
}

#[tokio::test]
async fn h07_h08_h09_h10_h11_sessions_and_cookies() {
    let flow = Flow::start().await;
    let bob = portcullis::service::NewUser { username: "bob".into(), email: None, name: None };
    let bob = flow.server.operator.create_user(bob, PASSWORD.into()).await.unwrap();

    // H-09: a planted session id is not adopted.
    let planted = "portcullis_session=AAAAAAAAAAAAAAAAAAAAAA";
    let mut browser = Browser { cookie: Some(planted.to_owned()) };
    browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    let page = browser.get(&flow.server, "/login").await;
    let form =
        [("csrf", csrf_of(&page)), ("username", "alice".into()), ("password", PASSWORD.into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let before = browser.cookie.clone().unwrap();
    let signed_in = browser.post(&flow.server, "/login", &form).await;
    // H-07: 303 after the credential post.
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "H-07");
    // H-08: HttpOnly, SameSite=Lax, host-only, whole site, Secure for an https issuer.
    let cookie = signed_in.header("set-cookie").unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(cookie.contains(attribute), "H-08 {attribute}: {cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "H-08: host-only");
    let after = browser.cookie.clone().unwrap();
    assert_ne!(after, before, "H-09/H-10: a new id at sign-in");
    assert_ne!(after, planted, "H-09");
    let mut attacker = Browser { cookie: Some(planted.to_owned()) };
    assert_eq!(attacker.get(&flow.server, "/account").await.location(), "/login", "H-09");
    let mut old = Browser { cookie: Some(before) };
    assert_eq!(
        old.get(&flow.server, "/account").await.location(),
        "/login",
        "H-10: the old id is dead"
    );

    // H-10: prompt=login, then bob signs in: the tokens are bob's.
    browser.decide(&flow.server, "allow").await;
    browser.get(&flow.server, &authorize_path(&flow.web.id, &[("prompt", "login")])).await;
    let alices_session = browser.cookie.clone();
    browser.sign_in(&flow.server, "bob", PASSWORD).await;
    assert_ne!(browser.cookie, alices_session, "H-10: new session id");
    let allowed = browser.decide(&flow.server, "allow").await;
    let code = param(&allowed.location(), "code").unwrap();
    let access =
        flow.exchange(&code, VERIFIER).await.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["sub"], bob.id.as_str(), "H-10");

    // H-11: session ids are unique and carry at least 128 random bits.
    let mut ids = HashSet::new();
    for _ in 0..100 {
        let mut fresh = Browser::default();
        fresh.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
        let id = fresh.cookie.unwrap().split_once('=').unwrap().1.to_owned();
        assert!(id.len() >= 22, "H-11: {id}");
        assert!(ids.insert(id), "H-11: unique");
    }
}

#[tokio::test]
async fn h12_h21_h23_logout_and_no_open_redirects() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let code = flow.code(&mut browser, &[]).await;
    let id_token =
        flow.exchange(&code, VERIFIER).await.json()["id_token"].as_str().unwrap().to_owned();

    // H-21: an unregistered post_logout_redirect_uri is not followed (and the user is out).
    let path = format!(
        "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
        urlencode("https://evil.example/bye")
    );
    let old_cookie = browser.cookie.clone();
    let out = browser.get(&flow.server, &path).await;
    assert_eq!(out.status, StatusCode::OK, "H-21");
    assert!(out.header("location").is_none());
    // H-12: the old cookie no longer signs anyone in.
    let mut replay = Browser { cookie: old_cookie };
    assert_eq!(replay.get(&flow.server, "/account").await.location(), "/login", "H-12");
    let none = replay.get(&flow.server, &authorize_path(&flow.web.id, &[("prompt", "none")])).await;
    assert_error_redirect(&none, "login_required", "H-12");

    // H-21: login ignores return_to-style parameters.
    for target in
        ["https://evil.example", "//evil.example", "/\\evil.example", "https:evil.example"]
    {
        let mut visitor = Browser::default();
        let page =
            visitor.get(&flow.server, &format!("/login?return_to={}", urlencode(target))).await;
        let csrf = csrf_of(&page);
        let form = [("csrf", csrf.as_str()), ("username", "alice"), ("password", PASSWORD)];
        let path = format!("/login?return_to={}", urlencode(target));
        assert_eq!(visitor.post(&flow.server, &path, &form).await.location(), "/account", "H-21");
    }

    // H-23: credentials in a GET are not processed.
    let mut visitor = Browser::default();
    visitor
        .get(&flow.server, &format!("/login?username=alice&password={}", urlencode(PASSWORD)))
        .await;
    assert_eq!(visitor.get(&flow.server, "/account").await.location(), "/login", "H-23");
}

#[tokio::test]
async fn h15_h16_consent_shows_names_escaped_and_public_clients_always_ask() {
    let flow = Flow::start().await;
    let shady = named_user_client(
        &flow.server,
        "<img src=x onerror=alert(1)>",
        ClientType::Confidential,
        TokenAuthMethod::ClientSecretBasic,
        REDIRECT,
    )
    .await;
    let mut browser = Browser::default();
    browser.get(&flow.server, &authorize_path(&shady.id, &[])).await;
    browser.sign_in(&flow.server, "alice", PASSWORD).await;
    let consent = browser.get(&flow.server, "/consent").await.text();
    assert!(!consent.contains("<img src=x"), "H-15");
    assert!(consent.contains("&lt;img src=x onerror=alert(1)&gt;"), "H-15");

    // H-16: a public client's users decide every time.
    let native = authorize_path(&flow.native.id, &[("redirect_uri", "http://127.0.0.1/cb")]);
    assert_eq!(browser.get(&flow.server, &native).await.location(), "/consent");
    browser.decide(&flow.server, "allow").await;
    assert_eq!(browser.get(&flow.server, &native).await.location(), "/consent", "H-16");
}

#[tokio::test]
async fn h18_h19_h20_concurrent_guesses_are_all_counted() {
    let flow = Flow::start().await;
    // Fifty browsers, each with its own form, guess alice's password at once.
    let mut guessers = Vec::new();
    for _ in 0..50 {
        let mut browser = Browser::default();
        let page = browser.get(&flow.server, "/login").await;
        let csrf = csrf_of(&page);
        guessers.push((browser, csrf));
    }
    let server = &flow.server;
    let attempts = join_all(guessers.iter_mut().map(|(browser, csrf)| {
        let form = [
            ("csrf", csrf.clone()),
            ("username", "alice".to_owned()),
            ("password", "wrong guess".to_owned()),
        ];
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post(server, "/login", &form).await
        }
    }))
    .await;
    assert!(attempts.iter().all(|r| r.location().starts_with("/login?error=")), "none signs in");
    let (counted, locked_until) =
        flow.server.state.store.login_failures("user:alice").await.unwrap().unwrap();
    assert_eq!(counted, 50, "H-18: every attempt counted");
    assert!(locked_until > 0);
    let mut owner = Browser::default();
    owner.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    assert_eq!(
        owner.sign_in(&flow.server, "alice", PASSWORD).await.location(),
        "/login?error=locked",
        "H-18"
    );

    // H-19: a forged X-Forwarded-For does not escape the per-address throttle (no trusted proxy).
    let mut refused = 0;
    for i in 0..25 {
        let mut browser = Browser::default();
        let page = browser.get(&flow.server, "/login").await;
        let body = format!("csrf={}&username=user{i}&password=guess", urlencode(&csrf_of(&page)));
        let request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, browser.cookie.clone().unwrap())
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .body(Body::from(body))
            .unwrap();
        if flow.server.send(request).await.location() == "/login?error=locked" {
            refused += 1;
        }
    }
    assert!(refused > 0, "H-19: the address locked despite the header");

    // H-20: a 1 MB password is refused before any hashing.
    let started = Instant::now();
    let mut browser = Browser::default();
    let page = browser.get(&flow.server, "/login").await;
    let huge = "p".repeat(1024 * 1024);
    let form = [("csrf", csrf_of(&page)), ("username", "bob".to_owned()), ("password", huge)];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = browser.post(&flow.server, "/login", &form).await;
    assert!(matches!(reply.status.as_u16(), 400 | 413), "H-20: {}", reply.status);
    assert!(started.elapsed() < Duration::from_secs(5));
}
