//! The authorization code flow with PKCE, sign-in, consent, refresh rotation, ID tokens,
//! userinfo and logout (SECURITY.md groups A, B, C, D, F, H), on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_core::client::ClientPermission;
use portcullis_core::user::UserStatus;
use serde_json::Value;

use crate::browser::{
    authorize_path, challenge, param, Browser, Flow, LOGOUT_REDIRECT, PASSWORD, REDIRECT, VERIFIER,
};
use crate::support::{urlencode, ISSUER};

fn claims_of(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let decode = |p: Option<&str>| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p.unwrap()).unwrap()).unwrap()
    };
    (decode(parts.next()), decode(parts.next()))
}

async fn userinfo(flow: &Flow, access_token: &str) -> crate::support::Reply {
    let request = Request::get("/oauth2/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .unwrap();
    flow.server.send(request).await
}

#[tokio::test]
async fn the_whole_flow_code_tokens_userinfo_refresh_logout() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();

    // The app sends the user to Portcullis; no session yet, so: sign-in page.
    let start = browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    assert_eq!((start.status, start.location().as_str()), (StatusCode::SEE_OTHER, "/login"));
    let login = browser.get(&flow.server, "/login").await;
    assert!(login.text().contains("web app") || login.text().contains("confidential app"));
    assert_eq!(
        login.header("content-security-policy").map(|c| c.contains("frame-ancestors 'none'")),
        Some(true),
        "H: pages cannot be framed"
    );
    let cookie_before = browser.cookie.clone();
    let signed_in = browser.sign_in(&flow.server, "alice", PASSWORD).await;
    assert_eq!(signed_in.location(), "/consent");
    assert_ne!(browser.cookie, cookie_before, "H: the session id changes at sign-in");
    let set_cookie = signed_in.header("set-cookie").unwrap().to_ascii_lowercase();
    assert!(set_cookie.contains("httponly") && set_cookie.contains("samesite=lax"), "{set_cookie}");
    assert!(set_cookie.contains("secure"), "the issuer is https: {set_cookie}");

    let consent = browser.get(&flow.server, "/consent").await;
    assert!(consent.text().contains("profile") && consent.text().contains("email"));
    let allowed = browser.decide(&flow.server, "allow").await;
    let location = allowed.location();
    assert!(location.starts_with(&format!("{REDIRECT}?code=pcac_")), "{location}");
    assert_eq!(param(&location, "state").as_deref(), Some("s1"));
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER), "RFC 9207");
    let code = param(&location, "code").unwrap();

    // The app exchanges the code with its verifier.
    let tokens = flow.exchange(&code, VERIFIER).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let body = tokens.json();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(refresh.starts_with("pcrt_"));
    assert_eq!(body["scope"], "email openid profile");
    let (header, id) = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256", "the client's registered algorithm");
    let (access_header, _) = claims_of(&access);
    assert_eq!(access_header["alg"], "ES256", "access tokens keep the server's algorithm");
    assert_eq!(
        (id["iss"].as_str(), id["aud"].as_str()),
        (Some(ISSUER), Some(flow.web.id.as_str()))
    );
    assert_eq!(id["nonce"], "n1");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["name"], "Alice Example");
    assert!(id["auth_time"].as_i64().is_some() && id["at_hash"].as_str().is_some());
    let (_, at) = claims_of(&access);
    assert_eq!(at["sub"], id["sub"], "the user is the subject");

    let info = userinfo(&flow, &access).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["email"], "alice@example.com");
    assert_eq!(info.json()["sub"], id["sub"]);

    // Refresh with rotation, narrowing the scope.
    let rotated = flow.refresh(&refresh, Some("openid")).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    let rotated = rotated.json();
    assert_eq!(rotated["scope"], "openid");
    let next = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, refresh);
    let again = flow.refresh(&next, None).await;
    assert_eq!(again.json()["scope"], "email openid profile", "the family keeps its grant");

    // RP-initiated logout with the ID token as hint returns to the registered URI.
    let hint = body["id_token"].as_str().unwrap();
    let logout = browser
        .get(
            &flow.server,
            &format!(
                "/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
                urlencode(LOGOUT_REDIRECT)
            ),
        )
        .await;
    assert_eq!(logout.location(), format!("{LOGOUT_REDIRECT}?state=bye"));
    let after = browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    assert_eq!(after.location(), "/login", "the session is gone");
}

#[tokio::test]
async fn d_a_rotated_refresh_token_replayed_revokes_the_family() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[]).await;
    let first = flow.exchange(&code, VERIFIER).await.json();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let second = flow.refresh(&refresh, None).await.json();
    let successor = second["refresh_token"].as_str().unwrap().to_owned();

    // At once it may be the twin of the request that rotated it (a retry, two tabs): refused,
    // nothing revoked, counted as a duplicate.
    assert_eq!(flow.refresh(&refresh, None).await.error(), "invalid_grant");
    let latest = second["access_token"].as_str().unwrap();
    assert_eq!(flow.server.introspect(&flow.web, latest).await.json()["active"], true);
    let counted = "portcullis_spent_grant_presented_total\
        {grant_type=\"refresh_token\",outcome=\"duplicate\"} 1";
    assert!(flow.server.metrics().contains(counted), "{}", flow.server.metrics());

    crate::support::outlast_duplicate_window().await;
    let replay = flow.refresh(&refresh, None).await;
    assert_eq!(
        (replay.status, replay.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let after = flow.refresh(&successor, None).await;
    assert_eq!(after.error(), "invalid_grant", "RFC 9700 §4.14.2: the whole family is revoked");
    let counted = "portcullis_spent_grant_presented_total\
        {grant_type=\"refresh_token\",outcome=\"replay\"} 2";
    assert!(flow.server.metrics().contains(counted), "the replay and the revoked successor");
    for token in [&first["access_token"], &second["access_token"]] {
        let reply = flow.server.introspect(&flow.web, token.as_str().unwrap()).await;
        assert_eq!(reply.json()["active"], false, "every access token of the family");
    }
    let wider = flow.refresh(&successor, Some("openid quote:write")).await;
    assert_eq!(wider.error(), "invalid_grant");
}

#[tokio::test]
async fn d_refresh_scope_may_shrink_never_grow() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[("scope", "openid email")]).await;
    let refresh =
        flow.exchange(&code, VERIFIER).await.json()["refresh_token"].as_str().unwrap().to_owned();
    let wider = flow.refresh(&refresh, Some("openid email profile")).await;
    assert_eq!(wider.error(), "invalid_scope");
}

#[tokio::test]
async fn b_a_code_is_single_use_and_its_replay_revokes_what_it_gave() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[]).await;
    let first = flow.exchange(&code, VERIFIER).await.json();
    crate::support::outlast_duplicate_window().await;
    let replay = flow.exchange(&code, VERIFIER).await;
    assert_eq!(replay.error(), "invalid_grant");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(flow.server.introspect(&flow.web, access).await.json()["active"], false);
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(flow.refresh(refresh, None).await.error(), "invalid_grant");
}

#[tokio::test]
async fn b_c_the_code_is_bound_to_client_redirect_and_verifier() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();

    let code = flow.code(&mut browser, &[]).await;
    assert_eq!(flow.exchange(&code, &"a".repeat(43)).await.error(), "invalid_grant", "C-08");
    assert_eq!(flow.exchange(&code, VERIFIER).await.error(), "invalid_grant", "C-12: burned");

    let code = flow.code(&mut browser, &[]).await;
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}",
        urlencode(&code),
        urlencode(REDIRECT)
    );
    let no_verifier = flow.server.post_form("/oauth2/token", Some(&flow.web.basic()), &body).await;
    assert_eq!(no_verifier.error(), "invalid_grant", "C-07");

    let code = flow.code(&mut browser, &[]).await;
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
        urlencode(&code),
        urlencode("https://c1.example/other")
    );
    let wrong_uri = flow.server.post_form("/oauth2/token", Some(&flow.web.basic()), &body).await;
    assert_eq!(wrong_uri.error(), "invalid_grant");

    // Another client cannot redeem it (the native client identifies itself by client_id).
    let code = flow.code(&mut browser, &[]).await;
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}&client_id={}",
        urlencode(&code),
        urlencode(REDIRECT),
        flow.native.id
    );
    let foreign = flow.server.post_form("/oauth2/token", None, &body).await;
    assert_eq!(foreign.error(), "invalid_grant");
}

#[tokio::test]
async fn a_untrusted_clients_and_uris_get_an_error_page_others_a_redirect() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    for extra in [
        [("redirect_uri", "https://evil.example/cb")],
        [("client_id", "nope")],
        [("redirect_uri", "")],
    ] {
        let reply = browser.get(&flow.server, &authorize_path(&flow.web.id, &extra)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{extra:?}");
        assert!(reply.header("location").is_none());
        assert!(!reply.text().contains("evil.example"), "the URI is never rendered");
    }
    let implicit = browser
        .get(&flow.server, &authorize_path(&flow.web.id, &[("response_type", "token")]))
        .await;
    let location = implicit.location();
    assert_eq!(param(&location, "error").as_deref(), Some("unsupported_response_type"));
    assert_eq!(param(&location, "state").as_deref(), Some("s1"));
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER));
    assert!(param(&location, "code").is_none() && param(&location, "access_token").is_none());

    let plain = browser
        .get(&flow.server, &authorize_path(&flow.web.id, &[("code_challenge_method", "plain")]))
        .await;
    assert_eq!(param(&plain.location(), "error").as_deref(), Some("invalid_request"), "C-03");
}

#[tokio::test]
async fn h_deny_wrong_password_csrf_and_lockout() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;

    let wrong = browser.sign_in(&flow.server, "alice", "not the password").await;
    assert_eq!(wrong.location(), "/login?error=invalid");
    let unknown = browser.sign_in(&flow.server, "mallory", "not the password").await;
    assert_eq!(unknown.location(), "/login?error=invalid", "no user enumeration");
    let no_csrf = browser
        .post(&flow.server, "/login", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(no_csrf.location(), "/login?error=expired");

    // Deny sends access_denied to the client.
    browser.sign_in(&flow.server, "alice", PASSWORD).await;
    let denied = browser.decide(&flow.server, "deny").await;
    assert_eq!(param(&denied.location(), "error").as_deref(), Some("access_denied"));

    // Five failures lock the account; the right password then fails too, for a while.
    let mut other = Browser::default();
    other.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    for _ in 0..5 {
        other.sign_in(&flow.server, "alice", "guess").await;
    }
    let locked = other.sign_in(&flow.server, "alice", PASSWORD).await;
    assert_eq!(locked.location(), "/login?error=locked");
    // The lockout is stored, so another instance (or a restart) honours it.
    let second = flow.server.second_instance().await;
    let mut third = Browser::default();
    third.get(&second, &authorize_path(&flow.web.id, &[])).await;
    assert_eq!(third.sign_in(&second, "alice", PASSWORD).await.location(), "/login?error=locked");
}

#[tokio::test]
async fn h_remembered_consent_skips_the_screen_until_more_is_asked() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    flow.code(&mut browser, &[("scope", "openid email")]).await;

    let same =
        browser.get(&flow.server, &authorize_path(&flow.web.id, &[("scope", "openid")])).await;
    assert!(same.location().starts_with(REDIRECT), "fewer scopes: no screen");
    let more = browser
        .get(&flow.server, &authorize_path(&flow.web.id, &[("scope", "openid profile")]))
        .await;
    assert_eq!(more.location(), "/consent");
    let forced = browser
        .get(
            &flow.server,
            &authorize_path(&flow.web.id, &[("scope", "openid"), ("prompt", "consent")]),
        )
        .await;
    assert_eq!(forced.location(), "/consent");

    // The account page lists the consent and can revoke it.
    let account = browser.get(&flow.server, "/account").await;
    assert!(account.text().contains("email openid"), "{}", account.text());
    let csrf = crate::browser::csrf_of(&account);
    browser
        .post(
            &flow.server,
            "/account/consents/revoke",
            &[("csrf", &csrf), ("client_id", &flow.web.id)],
        )
        .await;
    let after =
        browser.get(&flow.server, &authorize_path(&flow.web.id, &[("scope", "openid")])).await;
    assert_eq!(after.location(), "/consent");

    // A first-party client an admin marked skip-consent never asks.
    flow.server
        .operator
        .set_client_permission(&flow.web.id, ClientPermission::SkipConsent, true)
        .await
        .unwrap();
    let id = flow.web.id.clone();
    flow.server
        .wait_until(|s| {
            s.state
                .live
                .client(&id)
                .is_some_and(|c| c.has_permission(ClientPermission::SkipConsent))
        })
        .await;
    let skipped = browser
        .get(&flow.server, &authorize_path(&flow.web.id, &[("scope", "openid profile")]))
        .await;
    assert!(skipped.location().starts_with(REDIRECT));
}

#[tokio::test]
async fn prompt_none_and_prompt_login() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let none =
        browser.get(&flow.server, &authorize_path(&flow.web.id, &[("prompt", "none")])).await;
    assert_eq!(param(&none.location(), "error").as_deref(), Some("login_required"));

    flow.code(&mut browser, &[]).await;
    let silent =
        browser.get(&flow.server, &authorize_path(&flow.web.id, &[("prompt", "none")])).await;
    assert!(param(&silent.location(), "code").is_some(), "signed in and consented: silent");
    let more = browser
        .get(
            &flow.server,
            &authorize_path(&flow.web.id, &[("prompt", "none"), ("scope", "openid quote:write")]),
        )
        .await;
    assert_eq!(param(&more.location(), "error").as_deref(), Some("consent_required"));
    let login =
        browser.get(&flow.server, &authorize_path(&flow.web.id, &[("prompt", "login")])).await;
    assert_eq!(login.location(), "/login", "prompt=login signs in again");
}

#[tokio::test]
async fn public_clients_use_pkce_alone_and_loopback_ports_may_vary() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let redirect = "http://127.0.0.1:53011/cb";
    let path = authorize_path(&flow.native.id, &[("redirect_uri", redirect)]);
    let start = browser.get(&flow.server, &path).await;
    assert_eq!(start.location(), "/login");
    browser.sign_in(&flow.server, "alice", PASSWORD).await;
    let allowed = browser.decide(&flow.server, "allow").await;
    let code = param(&allowed.location(), "code").unwrap();
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}&client_id={}",
        urlencode(&code),
        urlencode(redirect),
        flow.native.id
    );
    let tokens = flow.server.post_form("/oauth2/token", None, &body).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let secret_sent = format!("{body}&client_secret=pcs_x");
    assert_eq!(
        flow.server.post_form("/oauth2/token", None, &secret_sent).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn userinfo_needs_a_live_openid_token() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[]).await;
    let tokens = flow.exchange(&code, VERIFIER).await.json();
    let access = tokens["access_token"].as_str().unwrap();

    assert_eq!(userinfo(&flow, "garbage").await.status, StatusCode::UNAUTHORIZED);
    let no_header = flow.server.get("/oauth2/userinfo").await;
    assert_eq!(no_header.status, StatusCode::UNAUTHORIZED);
    assert!(no_header.header("www-authenticate").unwrap().starts_with("Bearer"));
    // An ID token is not an access token.
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(userinfo(&flow, id_token).await.status, StatusCode::UNAUTHORIZED);

    flow.server.revoke(&flow.web, access).await;
    assert_eq!(userinfo(&flow, access).await.status, StatusCode::UNAUTHORIZED, "revoked");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    flow.server.revoke(&flow.web, refresh).await;
    assert_eq!(flow.refresh(refresh, None).await.error(), "invalid_grant", "G-10");
}

#[tokio::test]
async fn disabled_users_cannot_sign_in_or_refresh() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[]).await;
    let refresh =
        flow.exchange(&code, VERIFIER).await.json()["refresh_token"].as_str().unwrap().to_owned();
    flow.server.operator.set_user_status("alice", UserStatus::Disabled).await.unwrap();
    assert_eq!(flow.refresh(&refresh, None).await.error(), "invalid_grant");
    let mut browser = Browser::default();
    browser.get(&flow.server, &authorize_path(&flow.web.id, &[])).await;
    let refused = browser.sign_in(&flow.server, "alice", PASSWORD).await;
    assert_eq!(refused.location(), "/login?error=invalid");
}

#[tokio::test]
async fn a_code_of_a_user_disabled_before_the_exchange_is_burnt() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[]).await;
    flow.server.operator.set_user_status("alice", UserStatus::Disabled).await.unwrap();
    assert_eq!(flow.exchange(&code, VERIFIER).await.error(), "invalid_grant");

    // Enabled again within the code's lifetime: the refusal spent it all the same.
    flow.server.operator.set_user_status("alice", UserStatus::Active).await.unwrap();
    assert_eq!(flow.exchange(&code, VERIFIER).await.error(), "invalid_grant");
    let counted = "portcullis_spent_grant_presented_total\
        {grant_type=\"authorization_code\",outcome=\"nothing_issued\"} 1";
    assert!(flow.server.metrics().contains(counted), "{}", flow.server.metrics());
}

#[tokio::test]
async fn c_pkce_challenge_syntax_is_checked_at_the_front_door() {
    let flow = Flow::start().await;
    let mut browser = Browser::default();
    let short = &challenge(VERIFIER)[..42];
    let reply = browser
        .get(&flow.server, &authorize_path(&flow.web.id, &[("code_challenge", short)]))
        .await;
    assert_eq!(param(&reply.location(), "error").as_deref(), Some("invalid_request"));
}
