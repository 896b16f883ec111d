//! The developer portal: sign-up pending an admin's decision, client and key requests decided in
//! the admin portal, the secret shown once, the partner's own rotations and revocations, usage,
//! notifications, and a second organisation that can reach none of it. SECURITY.md I-01…I-12,
//! I-16, I-17, I-19 (partner part).

use std::collections::BTreeSet;

use axum::http::StatusCode;
use portcullis_core::admin::AdminPermission;
use portcullis_core::client::ClientId;
use portcullis_core::client::ClientStatus;
use portcullis_core::partner::PartnerStatus;
use portcullis_core::store::{ApiKeyStore, AuditFilter, AuditStore};
use serde_json::json;

use crate::api_keys::{reason, Fixture};
use crate::browser::{csrf_of, Browser};
use crate::support::{basic, Reply, TestServer};

const PASSWORD: &str = "a partner's long passphrase";
const ADMIN_PASSWORD: &str = "a long admin passphrase";

async fn admin_browser(server: &TestServer) -> Browser {
    let permissions: BTreeSet<AdminPermission> =
        [AdminPermission::Clients, AdminPermission::Keys].into_iter().collect();
    server
        .operator
        .create_admin("root@example.com", ADMIN_PASSWORD.into(), permissions)
        .await
        .unwrap();
    let mut browser = Browser::default();
    let page = browser.get(server, "/admin/login").await;
    let csrf = csrf_of(&page);
    let form =
        [("csrf", csrf.as_str()), ("email", "root@example.com"), ("password", ADMIN_PASSWORD)];
    assert_eq!(browser.post(server, "/admin/login", &form).await.location(), "/admin");
    browser
}

async fn sign_up(server: &TestServer, email: &str, organisation: &str) -> Reply {
    let mut browser = Browser::default();
    let page = browser.get(server, "/developers/signup").await;
    let csrf = csrf_of(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("email", email),
        ("name", "Dana Developer"),
        ("organisation", organisation),
        ("password", PASSWORD),
    ];
    browser.post(server, "/developers/signup", &form).await
}

async fn partner_id(server: &TestServer, email: &str) -> String {
    server.state.store.find_partner(email).await.unwrap().expect("signed up").id
}

async fn sign_in(server: &TestServer, email: &str) -> (Browser, Reply) {
    let mut browser = Browser::default();
    let page = browser.get(server, "/developers/login").await;
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("email", email), ("password", PASSWORD)];
    let reply = browser.post(server, "/developers/login", &form).await;
    (browser, reply)
}

/// Signs up, has the admin approve the account, and signs in.
async fn approved_partner(server: &TestServer, admin: &mut Browser, email: &str) -> Browser {
    assert_eq!(sign_up(server, email, &format!("{email} Ltd")).await.status, StatusCode::OK);
    let id = partner_id(server, email).await;
    let csrf = csrf_of(&admin.get(server, "/admin/partners").await);
    let path = format!("/admin/partners/{id}/approve");
    let reply = admin.post(server, &path, &[("csrf", &csrf), ("reason", "")]).await;
    assert_eq!(reply.location(), "/admin/partners");
    let (browser, reply) = sign_in(server, email).await;
    assert_eq!(reply.location(), "/developers/console", "{email} signs in");
    browser
}

/// The partner's request for a confidential client_credentials client; returns its id.
async fn request_client(server: &TestServer, partner: &mut Browser, scopes: &str) -> String {
    let csrf = csrf_of(&partner.get(server, "/developers/clients/new").await);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Quote sync"),
        ("client_type", "confidential"),
        ("grant_types", "client_credentials"),
        ("scopes", scopes),
        ("token_auth_method", "client_secret_basic"),
        ("access_token_lifetime", "600"),
        ("refresh_token_lifetime", "3600"),
        ("description", "Nightly quote sync"),
        ("justification", "Brokers need prices before opening"),
    ];
    let reply = partner.post(server, "/developers/clients", &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    reply.location().rsplit('/').next().unwrap().to_owned()
}

async fn admin_approves_client(
    server: &TestServer,
    admin: &mut Browser,
    client_id: &str,
    scopes: &str,
    overlap: &str,
) -> Reply {
    let csrf = csrf_of(&admin.get(server, "/admin").await);
    let path = format!("/admin/clients/{client_id}/approve");
    let form = [
        ("csrf", csrf.as_str()),
        ("scopes", scopes),
        ("reason", "reads are enough for a sync"),
        ("partner_overlap_hours", overlap),
    ];
    admin.post(server, &path, &form).await
}

/// The id of the client's one key.
async fn only_key(server: &TestServer, client_id: &str) -> String {
    let id = ClientId::parse(client_id).unwrap();
    let keys = server.state.store.list_api_keys(Some(&id)).await.unwrap();
    assert_eq!(keys.len(), 1);
    keys[0].id.clone()
}

/// The key verification's verdict once it is `expected`, or the last one after two seconds
/// (other instances, and this one's cache, learn of key changes through the change feed).
async fn verdict_becomes(fixture: &Fixture, body: &serde_json::Value, expected: &str) -> String {
    let mut verdict = reason(&fixture.verify(body.clone()).await);
    for _ in 0..100 {
        if verdict == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        verdict = reason(&fixture.verify(body.clone()).await);
    }
    verdict
}

/// The value a page shows once.
fn shown_once(page: &Reply) -> String {
    let html = page.text();
    let marker = "data-testid=\"shown-once-value\"";
    let start = html.find(marker).expect("a value shown once");
    let after = &html[start..];
    let open = after.find('>').unwrap() + 1;
    after[open..].split('<').next().unwrap().to_owned()
}

/// The first quote:read token of a just-approved client: the server learns of the approval
/// and of the new secret through the change feed, so it is asked until it answers 200.
async fn first_token(server: &TestServer, client_id: &str, secret: &str) -> Reply {
    server
        .wait_until(|s| {
            s.state.live.client(client_id).is_some_and(|c| c.status == ClientStatus::Active)
        })
        .await;
    let mut token = token_with(server, client_id, secret, "quote:read").await;
    for _ in 0..100 {
        if token.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        token = token_with(server, client_id, secret, "quote:read").await;
    }
    token
}

async fn token_with(server: &TestServer, client_id: &str, secret: &str, scope: &str) -> Reply {
    let body = format!("grant_type=client_credentials&scope={scope}");
    server.post_form("/oauth2/token", Some(&basic(client_id, secret)), &body).await
}

#[tokio::test]
async fn a_partner_signs_up_requests_a_client_and_a_key_and_uses_both_once_approved() {
    let fixture = Fixture::start().await;
    let server = &fixture.server;
    let mut admin = admin_browser(server).await;

    // Pending until an admin decides: the right password says so, nothing more.
    assert_eq!(sign_up(server, "dana@partner.example", "Partner Ltd").await.status, StatusCode::OK);
    let (_, pending) = sign_in(server, "dana@partner.example").await;
    assert!(pending.text().contains("awaits an administrator"), "{}", pending.text());
    let queue = admin.get(server, "/admin").await.text();
    assert!(queue.contains("Partner accounts awaiting approval") && queue.contains("Partner Ltd"));
    let id = partner_id(server, "dana@partner.example").await;
    let csrf = csrf_of(&admin.get(server, "/admin/partners").await);
    let reply =
        admin.post(server, &format!("/admin/partners/{id}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let (mut partner, reply) = sign_in(server, "dana@partner.example").await;
    assert_eq!(reply.location(), "/developers/console");

    // The request lands in the admin's queue with what the partner said about it.
    let client_id = request_client(server, &mut partner, "quote:read policy:read").await;
    let page = partner.get(server, &format!("/developers/clients/{client_id}")).await.text();
    assert!(page.contains("Status: pending") && !page.contains("Show the client secret"));
    let queue = admin.get(server, "/admin").await.text();
    assert!(queue.contains("Brokers need prices before opening"), "justification in the queue");

    // A partner's client needs the admin to say how long rotations may overlap.
    let reply = admin_approves_client(server, &mut admin, &client_id, "quote:read", "").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = admin_approves_client(server, &mut admin, &client_id, "quote:read", "24").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());

    // The partner is told, sees the narrowed scopes and the reason, and the secret once.
    let console = partner.get(server, "/developers/console").await.text();
    assert!(console.contains("Notifications (2)"), "account and client decisions");
    assert!(console.contains("was approved with the scopes quote:read"), "{console}");
    let path = format!("/developers/clients/{client_id}");
    let page = partner.get(server, &path).await;
    let text = page.text();
    assert!(text.contains("Status: active") && text.contains("reads are enough for a sync"));
    let csrf = csrf_of(&page);
    let reveal = [("csrf", csrf.as_str()), ("action", "reveal")];
    let revealed = partner.post(server, &format!("{path}/secret"), &reveal).await;
    assert_eq!(revealed.status, StatusCode::OK, "{}", revealed.text());
    let secret = shown_once(&revealed);
    assert!(secret.starts_with("pcs_"), "{secret}");
    let again = partner.get(server, &path).await.text();
    assert!(!again.contains(&secret), "I-10: shown once");
    // A second reveal (a reload of that page) is refused and rotates nothing: from now on only
    // an explicit rotation gives a new secret.
    let twice = partner.post(server, &format!("{path}/secret"), &reveal).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(!twice.text().contains("data-testid=\"shown-once-value\""));

    // It works at the token endpoint, for what was granted only.
    let token = first_token(server, &client_id, &secret).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let wider = token_with(server, &client_id, &secret, "policy:read").await;
    assert_eq!(wider.error(), "invalid_scope", "narrowed at approval");

    // Rotation: within the admin's overlap limit only.
    let rotate = [("csrf", csrf.as_str()), ("action", "rotate"), ("overlap_hours", "48")];
    let refused = partner.post(server, &format!("{path}/secret"), &rotate).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("at most 24 hours"));

    // A key for the client: pending, shown once, working once the admin approves it.
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "gateway sync"),
        ("scopes", "quote:read"),
        ("rate_limit_per_minute", "120"),
    ];
    let requested = partner.post(server, &format!("{path}/keys"), &form).await;
    assert_eq!(requested.status, StatusCode::OK, "{}", requested.text());
    let key = shown_once(&requested);
    let body = json!({ "key": key, "scope": "quote:read" });
    assert_eq!(verdict_becomes(&fixture, &body, "pending_approval").await, "pending_approval");
    let key_id = only_key(server, &client_id).await;
    let csrf_admin = csrf_of(&admin.get(server, "/admin").await);
    let approve =
        [("csrf", csrf_admin.as_str()), ("reason", "fine"), ("rate_limit_per_minute", "60")];
    let reply = admin.post(server, &format!("/admin/keys/{key_id}/approve"), &approve).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let verdict = verdict_becomes(&fixture, &body, "valid").await;
    assert_eq!(verdict, "valid");

    // The partner's own usage: the token on the client's chart, the verification on the key's.
    server.state.usage.flush(&server.state.store).await.unwrap();
    let today = portcullis_core::api_key::format_day(portcullis_core::api_key::day_of(
        portcullis::clock::unix_now(),
    ));
    let page = partner.get(server, &path).await.text();
    assert!(page.contains("data-testid=\"tokens-chart\""));
    assert!(page.contains(&format!("{today} client_credentials: 1")), "{page}");
    let key_page = partner.get(server, &format!("/developers/keys/{key_id}")).await.text();
    assert!(key_page.contains(&format!("{today} valid: 1")), "{key_page}");
    let csv = partner.get(server, &format!("{path}/usage.csv?series=tokens")).await.text();
    assert!(csv.contains(&format!("{today},client_credentials,1\n")), "{csv}");

    // I-16: the partner sees its client's history, admins as a role, not by name.
    let history = partner.get(server, &path).await.text();
    assert!(history.contains("client.approve by an administrator"), "{history}");
    assert!(history.contains("client.request by you") && !history.contains("root@example.com"));

    // Every decision is audited; none of it holds a secret.
    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    for action in ["partner.sign_up", "partner.approve", "client.request", "client.approve"] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    assert!(audit.iter().all(|e| !e.details.contains(&secret) && !e.details.contains(&key)));
}

#[tokio::test]
async fn i04_i05_i06_i17_a_second_organisation_reaches_nothing_of_the_first() {
    let fixture = Fixture::start().await;
    let server = &fixture.server;
    let mut admin = admin_browser(server).await;
    let mut first = approved_partner(server, &mut admin, "a@first.example").await;
    let mut second = approved_partner(server, &mut admin, "b@second.example").await;
    let client_id = request_client(server, &mut first, "quote:read").await;
    let reply = admin_approves_client(server, &mut admin, &client_id, "quote:read", "0").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = first.get(server, &format!("/developers/clients/{client_id}")).await;
    let csrf = csrf_of(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "k"),
        ("scopes", "quote:read"),
        ("rate_limit_per_minute", "10"),
    ];
    let created = first.post(server, &format!("/developers/clients/{client_id}/keys"), &form).await;
    assert_eq!(created.status, StatusCode::OK);
    let key_id = only_key(server, &client_id).await;

    // Every URL and form of the first organisation's client and key is a 404 for the second,
    // exactly like an id that does not exist (I-04, I-05).
    let csrf = csrf_of(&second.get(server, "/developers/console").await);
    let client = format!("/developers/clients/{client_id}");
    let key = format!("/developers/keys/{key_id}");
    for path in
        [client.clone(), format!("{client}/usage.csv"), key.clone(), format!("{key}/usage.csv")]
    {
        assert_eq!(second.get(server, &path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let unknown = second.get(server, "/developers/clients/cl_doesnotexist").await.status;
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    let posts = [
        (format!("{client}/secret"), vec![("csrf", csrf.as_str())]),
        (
            format!("{client}/keys"),
            form.iter().map(|(k, v)| (*k, if *k == "csrf" { csrf.as_str() } else { *v })).collect(),
        ),
        (format!("{client}/revoke-tokens"), vec![("csrf", csrf.as_str()), ("reason", "x")]),
        (format!("{key}/rotate"), vec![("csrf", csrf.as_str())]),
        (format!("{key}/revoke"), vec![("csrf", csrf.as_str())]),
    ];
    for (path, form) in &posts {
        let reply = second.post(server, path, form).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.text());
    }
    let key_after = server.operator.api_key(&key_id).await.unwrap();
    assert_eq!(key_after.status.as_str(), "pending", "nothing changed");
    let owned = server.state.store.client_owner(&client_id).await.unwrap().unwrap();
    assert!(owned.secret_revealed_at.is_none(), "nothing changed");

    // I-17: the list is the organisation's whatever the URL asks for.
    let listed = second.get(server, &format!("/developers/clients?owner=x&id={client_id}")).await;
    assert!(!listed.text().contains(&client_id));

    // I-06, I-09: protected fields in a request are ignored; ids are the server's.
    let csrf = csrf_of(&second.get(server, "/developers/clients/new").await);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Sneaky"),
        ("client_type", "confidential"),
        ("grant_types", "client_credentials"),
        ("scopes", "quote:read"),
        ("token_auth_method", "client_secret_basic"),
        ("access_token_lifetime", "600"),
        ("refresh_token_lifetime", "3600"),
        ("description", "d"),
        ("justification", "j"),
        ("status", "active"),
        ("client_id", "chosen-id"),
        ("organisation_id", &owned.organisation_id),
    ];
    let reply = second.post(server, "/developers/clients", &form).await;
    let sneaky = reply.location().rsplit('/').next().unwrap().to_owned();
    assert_ne!(sneaky, "chosen-id");
    let sneaky_client = server.operator.client(&sneaky).await.unwrap();
    assert_eq!(sneaky_client.status, ClientStatus::Pending);
    let sneaky_owner = server.state.store.client_owner(&sneaky).await.unwrap().unwrap();
    assert_ne!(sneaky_owner.organisation_id, owned.organisation_id);
    assert!(!first.get(server, "/developers/console").await.text().contains("Sneaky"));

    // I-03: a partner session is no admin session.
    assert_eq!(second.get(server, "/admin").await.location(), "/admin/login");
    let path = format!("/admin/clients/{sneaky}/approve");
    let reply = second.post(server, &path, &[("csrf", &csrf), ("reason", "me")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "no admin CSRF token, no admin");
    assert_eq!(server.operator.client(&sneaky).await.unwrap().status, ClientStatus::Pending);
}

#[tokio::test]
async fn i01_i08_i11_i12_sign_up_sign_in_and_requests_are_checked() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let mut admin = admin_browser(&server).await;

    // I-01: the console needs a session; the docs do not.
    let mut anonymous = Browser::default();
    assert_eq!(anonymous.get(&server, "/developers/console").await.location(), "/developers/login");
    assert_eq!(
        anonymous.get(&server, "/developers/clients/new").await.location(),
        "/developers/login"
    );

    // Sign-up validation, and the same answer for an email that already has an account.
    let mut browser = Browser::default();
    let csrf = csrf_of(&browser.get(&server, "/developers/signup").await);
    let bad = [
        ("csrf", csrf.as_str()),
        ("email", "not-an-email"),
        ("name", "n"),
        ("organisation", "o"),
        ("password", PASSWORD),
    ];
    assert_eq!(
        browser.post(&server, "/developers/signup", &bad).await.status,
        StatusCode::BAD_REQUEST
    );
    let short = [
        ("csrf", csrf.as_str()),
        ("email", "s@x.example"),
        ("name", "n"),
        ("organisation", "o"),
        ("password", "short"),
    ];
    assert_eq!(
        browser.post(&server, "/developers/signup", &short).await.status,
        StatusCode::BAD_REQUEST
    );
    let first = sign_up(&server, "dup@x.example", "<script>alert(1)</script> Corp").await.text();
    let second = sign_up(&server, "dup@x.example", "Other").await.text();
    assert_eq!(first, second, "sign-up says nothing about existing accounts");
    let no_csrf =
        [("email", "n@x.example"), ("name", "n"), ("organisation", "o"), ("password", PASSWORD)];
    assert_eq!(
        Browser::default().post(&server, "/developers/signup", &no_csrf).await.status,
        StatusCode::FORBIDDEN
    );

    // I-12: partner-supplied text is escaped in the admin's queue.
    let queue = admin.get(&server, "/admin").await.text();
    assert!(!queue.contains("<script>alert(1)</script>") && queue.contains("&lt;script&gt;"));

    // A rejected account reads the reason at sign-in and gets no session.
    let id = partner_id(&server, "dup@x.example").await;
    let csrf = csrf_of(&admin.get(&server, "/admin/partners").await);
    let path = format!("/admin/partners/{id}/reject");
    assert_eq!(
        admin.post(&server, &path, &[("csrf", &csrf), ("reason", "")]).await.status,
        StatusCode::BAD_REQUEST
    );
    admin.post(&server, &path, &[("csrf", &csrf), ("reason", "unknown company")]).await;
    let (mut rejected, reply) = sign_in(&server, "dup@x.example").await;
    assert!(reply.text().contains("not approved: unknown company"));
    assert_eq!(rejected.get(&server, "/developers/console").await.location(), "/developers/login");

    // I-08: the request form applies the CLI's registration rules, with a clear message.
    let mut partner = approved_partner(&server, &mut admin, "p@x.example").await;
    let csrf = csrf_of(&partner.get(&server, "/developers/clients/new").await);
    let uri_form = |uri: &'static str, name: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("client_type", "confidential".to_owned()),
            ("grant_types", "authorization_code".to_owned()),
            ("scopes", "quote:read".to_owned()),
            ("redirect_uris", uri.to_owned()),
            ("token_auth_method", "client_secret_basic".to_owned()),
            ("access_token_lifetime", "600".to_owned()),
            ("refresh_token_lifetime", "3600".to_owned()),
            ("description", "d".to_owned()),
            ("justification", "j".to_owned()),
        ]
    };
    for uri in ["myapp:/cb", "https://u@c.example/cb", "https://c.example/cb?code=1"] {
        let form = uri_form(uri, "Web app");
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = partner.post(&server, "/developers/clients", &form).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "I-08: {uri}");
        assert!(reply.text().contains("role=\"alert\""), "{uri}: says why");
    }
    // The loopback and reverse-domain forms native apps need are accepted (RFC 8252 §7).
    for (uri, name) in [
        ("http://127.0.0.1/cb", "Loopback v4"),
        ("http://[::1]/cb", "Loopback v6"),
        ("com.example.app:/cb", "Native app"),
    ] {
        let form = uri_form(uri, name);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = partner.post(&server, "/developers/clients", &form).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "I-08: {uri} accepted: {}", reply.text());
    }
    for uri in [
        "http://c.example/cb",
        "https://c.example/cb#f",
        "https://*.c.example/cb",
        "javascript:alert(1)",
    ] {
        let form = [
            ("csrf", csrf.as_str()),
            ("name", "Web app"),
            ("client_type", "confidential"),
            ("grant_types", "authorization_code"),
            ("scopes", "quote:read"),
            ("redirect_uris", uri),
            ("token_auth_method", "client_secret_basic"),
            ("access_token_lifetime", "600"),
            ("refresh_token_lifetime", "3600"),
            ("description", "d"),
            ("justification", "j"),
        ];
        let reply = partner.post(&server, "/developers/clients", &form).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.text().contains("role=\"alert\""), "{uri}: says why");
    }
    let missing = [
        ("csrf", csrf.as_str()),
        ("name", "No lifetimes"),
        ("client_type", "confidential"),
        ("grant_types", "client_credentials"),
        ("scopes", "quote:read"),
        ("token_auth_method", "client_secret_basic"),
        ("description", "d"),
        ("justification", "j"),
    ];
    let reply = partner.post(&server, "/developers/clients", &missing).await;
    assert!(reply.text().contains("lifetime is required"), "no default lifetimes");

    // I-11: without the CSRF token nothing happens.
    let form = [("name", "x"), ("description", "d"), ("justification", "j")];
    assert_eq!(
        partner.post(&server, "/developers/clients", &form).await.status,
        StatusCode::FORBIDDEN
    );
    // Nor does a cross-site `text/plain` post (the form a page elsewhere can send without a
    // preflight), even carrying the session's cookie and a stolen-looking token field.
    let cookie = partner.cookie.clone().unwrap();
    let request = axum::http::Request::post("/developers/clients")
        .header(axum::http::header::CONTENT_TYPE, "text/plain")
        .header(axum::http::header::COOKIE, cookie)
        .body(axum::body::Body::from(format!("csrf={csrf}&name=x&description=d&justification=j")))
        .unwrap();
    let reply = server.send(request).await;
    assert!(reply.status.is_client_error(), "I-11: text/plain refused: {}", reply.status);
    let account = server.state.store.find_partner("p@x.example").await.unwrap().unwrap();
    let owned = server.operator.owned_clients(&account).await.unwrap();
    assert!(owned.iter().all(|(c, _)| c.name != "x"), "I-11: nothing was filed");
}

#[tokio::test]
async fn i19_disabling_a_partner_ends_its_session_and_stops_its_clients_and_keys() {
    let fixture = Fixture::start().await;
    let server = &fixture.server;
    let mut admin = admin_browser(server).await;
    let mut partner = approved_partner(server, &mut admin, "d@x.example").await;
    let client_id = request_client(server, &mut partner, "quote:read").await;
    admin_approves_client(server, &mut admin, &client_id, "quote:read", "0").await;
    let page = partner.get(server, &format!("/developers/clients/{client_id}")).await;
    let csrf = csrf_of(&page);
    let secret = shown_once(
        &partner
            .post(
                server,
                &format!("/developers/clients/{client_id}/secret"),
                &[("csrf", &csrf), ("action", "reveal")],
            )
            .await,
    );

    // An approved key, a pending key and a pending client request, all to be stopped.
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "approved"),
        ("scopes", "quote:read"),
        ("rate_limit_per_minute", "10"),
    ];
    let path = format!("/developers/clients/{client_id}/keys");
    assert_eq!(partner.post(server, &path, &form).await.status, StatusCode::OK);
    let approved_key = only_key(server, &client_id).await;
    server.operator.approve_api_key(&approved_key, None, None, "fine").await.unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "waiting"),
        ("scopes", "quote:read"),
        ("rate_limit_per_minute", "10"),
    ];
    assert_eq!(partner.post(server, &path, &form).await.status, StatusCode::OK);
    let pending_client = request_client(server, &mut partner, "quote:read").await;

    let id = partner_id(server, "d@x.example").await;
    let csrf_admin = csrf_of(&admin.get(server, "/admin/partners").await);
    let form = [("csrf", csrf_admin.as_str()), ("to", "disabled")];
    assert_eq!(
        admin.post(server, &format!("/admin/partners/{id}/status"), &form).await.status,
        StatusCode::SEE_OTHER
    );

    assert_eq!(partner.get(server, "/developers/console").await.location(), "/developers/login");
    assert_eq!(
        server.state.store.get_partner(&id).await.unwrap().unwrap().status,
        PartnerStatus::Disabled
    );
    assert_eq!(server.operator.client(&client_id).await.unwrap().status, ClientStatus::Disabled);
    server
        .wait_until(|s| {
            s.state.live.client(&client_id).is_some_and(|c| c.status == ClientStatus::Disabled)
        })
        .await;
    let token = token_with(server, &client_id, &secret, "quote:read").await;
    assert_eq!(token.error(), "invalid_client");
    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "partner.disable" && e.details.contains(&client_id)));

    // Its keys stop, and nothing it asked for can be approved any more.
    let keys = server
        .state
        .store
        .list_api_keys(Some(&ClientId::parse(&client_id).unwrap()))
        .await
        .unwrap();
    for key in &keys {
        let expected = if key.id == approved_key { "disabled" } else { "revoked" };
        assert_eq!(key.status.as_str(), expected, "{}", key.name);
    }
    assert_eq!(
        server.operator.client(&pending_client).await.unwrap().status,
        ClientStatus::Disabled
    );
    let late = admin_approves_client(server, &mut admin, &pending_client, "quote:read", "0").await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "not awaiting approval any more");
}

#[tokio::test]
async fn the_docs_are_public_and_generated_from_the_live_registry_and_discovery() {
    let server = TestServer::start().await;
    server.scope("quote:read", &[], false).await;
    server.scope("quote:write", &["quote:read"], false).await;
    let hidden = portcullis::service::ScopeInput {
        name: "partner:ledger".into(),
        description: "Partner-only ledger access".into(),
        category: Some("Finance".into()),
        includes: vec![],
        requires_user: false,
        public: false,
    };
    server.operator.put_scopes(vec![hidden]).await.unwrap();
    server.wait_until(|s| s.state.live.registry().iter().any(|d| !d.public)).await;

    let mut anonymous = Browser::default();
    for (slug, _) in portcullis_app::docs::DOCS {
        let path = if slug == "home" {
            "/developers".to_owned()
        } else {
            format!("/developers/docs/{slug}")
        };
        let reply = anonymous.get(&server, &path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(reply.text().contains(&format!("data-testid=\"docs-{slug}\"")), "{path}");
    }
    assert_eq!(anonymous.get(&server, "/developers/docs/nope").await.status, StatusCode::NOT_FOUND);

    // The catalogue shows inheritance; partner-only scopes only to signed-in partners.
    let catalogue = anonymous.get(&server, "/developers/docs/scopes").await.text();
    assert!(catalogue.contains("quote:write") && catalogue.contains("Description of quote:write"));
    assert!(!catalogue.contains("partner:ledger"), "not advertised to the public");
    let mut admin = admin_browser(&server).await;
    let mut partner = approved_partner(&server, &mut admin, "docs@x.example").await;
    let catalogue = partner.get(&server, "/developers/docs/scopes").await.text();
    assert!(catalogue.contains("partner:ledger"), "an approved partner sees it");

    // The endpoint reference is the discovery document's.
    let reference = anonymous.get(&server, "/developers/docs/endpoints").await.text();
    assert!(reference.contains(&format!("{}/oauth2/token", crate::support::ISSUER)), "{reference}");
    assert!(reference.contains("client_credentials"));
    let guide = anonymous.get(&server, "/developers/docs/client-credentials").await.text();
    assert!(guide.contains(crate::support::ISSUER), "examples use the issuer");
}

#[tokio::test]
async fn a_partner_rotates_and_revokes_its_own_key_and_tokens_within_the_admins_terms() {
    let fixture = Fixture::start().await;
    let server = &fixture.server;
    let mut admin = admin_browser(server).await;
    let mut partner = approved_partner(server, &mut admin, "own@x.example").await;
    let client_id = request_client(server, &mut partner, "quote:read").await;
    admin_approves_client(server, &mut admin, &client_id, "quote:read", "12").await;
    let path = format!("/developers/clients/{client_id}");
    let csrf = csrf_of(&partner.get(server, &path).await);
    let reveal = [("csrf", csrf.as_str()), ("action", "reveal")];
    let secret = shown_once(&partner.post(server, &format!("{path}/secret"), &reveal).await);

    // A token, then the partner revokes every token of its client.
    let token = first_token(server, &client_id, &secret).await;
    let access = token.json()["access_token"].as_str().unwrap().to_owned();
    let form = [("csrf", csrf.as_str()), ("reason", "rolling the deployment")];
    let revoked = partner.post(server, &format!("{path}/revoke-tokens"), &form).await;
    assert!(
        revoked.text().contains("Revoked 1 access and 0 refresh tokens."),
        "{}",
        revoked.text()
    );
    let gateway_view = server.introspect(&fixture.gateway, &access).await.json();
    assert_eq!(gateway_view["active"], false);

    // A key, approved, rotated with an overlap inside the limit, then the successor revoked.
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "feed"),
        ("scopes", "quote:read"),
        ("rate_limit_per_minute", "60"),
    ];
    let old_key = shown_once(&partner.post(server, &format!("{path}/keys"), &form).await);
    let key_id = only_key(server, &client_id).await;
    server.operator.approve_api_key(&key_id, None, None, "fine").await.unwrap();
    let key_path = format!("/developers/keys/{key_id}");
    let too_long = [("csrf", csrf.as_str()), ("overlap_hours", "13")];
    assert_eq!(
        partner.post(server, &format!("{key_path}/rotate"), &too_long).await.status,
        StatusCode::BAD_REQUEST
    );
    let within = [("csrf", csrf.as_str()), ("overlap_hours", "12")];
    let rotated = partner.post(server, &format!("{key_path}/rotate"), &within).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    let new_key = shown_once(&rotated);
    let body = |key: &str| json!({ "key": key, "scope": "quote:read" });
    assert_eq!(verdict_becomes(&fixture, &body(&new_key), "valid").await, "valid");
    assert_eq!(verdict_becomes(&fixture, &body(&old_key), "valid").await, "valid", "overlapping");

    let successor = new_key_id(server, &client_id, &key_id).await;
    let revoke = [("csrf", csrf.as_str())];
    let reply =
        partner.post(server, &format!("/developers/keys/{successor}/revoke"), &revoke).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(verdict_becomes(&fixture, &body(&new_key), "revoked").await, "revoked");
    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "tokens.revoke" && e.actor == "partner:own@x.example"));
}

/// The id of the key that replaced `old` on the client.
async fn new_key_id(server: &TestServer, client_id: &str, old: &str) -> String {
    let id = ClientId::parse(client_id).unwrap();
    let keys = server.state.store.list_api_keys(Some(&id)).await.unwrap();
    keys.into_iter().find(|k| k.id != old).expect("a successor").id
}

#[tokio::test]
async fn a_pending_request_changes_no_signing_key_until_it_is_approved() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let mut admin = admin_browser(&server).await;
    let mut partner = approved_partner(&server, &mut admin, "keys@x.example").await;
    let csrf = csrf_of(&partner.get(&server, "/developers/clients/new").await);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Sign-in app"),
        ("client_type", "confidential"),
        ("grant_types", "authorization_code"),
        ("scopes", "openid"),
        ("redirect_uris", "https://app.example/cb"),
        ("token_auth_method", "client_secret_basic"),
        ("id_token_signing_alg", "EdDSA"),
        ("access_token_lifetime", "600"),
        ("refresh_token_lifetime", "3600"),
        ("description", "d"),
        ("justification", "j"),
    ];
    let reply = partner.post(&server, "/developers/clients", &form).await;
    let client_id = reply.location().rsplit('/').next().unwrap().to_owned();
    let has_eddsa = |s: &TestServer| {
        let s = s.state.clone();
        async move {
            portcullis_core::store::KeyStore::list_signing_keys(&s.store)
                .await
                .unwrap()
                .iter()
                .any(|k| k.alg == portcullis_core::keys::SigningAlgorithm::EdDSA)
        }
    };
    assert!(!has_eddsa(&server).await, "no key for a request nobody approved");
    let reply = admin_approves_client(&server, &mut admin, &client_id, "openid", "0").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert!(has_eddsa(&server).await, "approval adds the key the client needs");
}

#[tokio::test]
async fn i15_a_partner_account_is_locked_after_the_account_allowance() {
    let server = TestServer::start().await;
    let mut admin = admin_browser(&server).await;
    let _ = approved_partner(&server, &mut admin, "lock@x.example").await;
    // Five wrong passwords, then the account is locked: the right one is refused too.
    for _ in 0..5 {
        let mut browser = Browser::default();
        let csrf = csrf_of(&browser.get(&server, "/developers/login").await);
        let form = [("csrf", csrf.as_str()), ("email", "lock@x.example"), ("password", "wrong!")];
        let reply = browser.post(&server, "/developers/login", &form).await;
        assert_eq!(reply.location(), "/developers/login?error=invalid");
    }
    let (_, reply) = sign_in(&server, "lock@x.example").await;
    assert_eq!(reply.location(), "/developers/login?error=locked");
}

/// Signs up with an invitation code (and a typed organisation that must be ignored).
async fn sign_up_invited(server: &TestServer, email: &str, code: &str) -> Reply {
    let mut browser = Browser::default();
    let csrf = csrf_of(&browser.get(server, "/developers/signup").await);
    let form = [
        ("csrf", csrf.as_str()),
        ("email", email),
        ("name", "Sam Colleague"),
        ("organisation", "Somewhere Else Ltd"),
        ("password", PASSWORD),
        ("invitation", code),
    ];
    browser.post(server, "/developers/signup", &form).await
}

#[tokio::test]
async fn a_colleague_joins_the_organisation_with_an_invitation_once_an_admin_approves() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let mut admin = admin_browser(&server).await;
    let mut founder = approved_partner(&server, &mut admin, "dana@acme.example").await;
    let client_id = request_client(&server, &mut founder, "quote:read").await;

    // The founder asks for a code on the organisation page; it is shown once.
    let team = founder.get(&server, "/developers/team").await;
    assert!(team.text().contains("dana@acme.example"));
    let csrf = csrf_of(&team);
    let invited = founder.post(&server, "/developers/team/invitations", &[("csrf", &csrf)]).await;
    let code = shown_once(&invited);
    assert!(code.starts_with("pcpi_"), "{code}");
    let again = founder.get(&server, "/developers/team").await;
    assert!(!again.text().contains(&code), "I-10: the code is not shown again");

    // The colleague signs up with it: pending, in the founder's organisation, typed name ignored.
    assert_eq!(sign_up_invited(&server, "sam@acme.example", &code).await.status, StatusCode::OK);
    let founder_account = server.state.store.find_partner("dana@acme.example").await.unwrap();
    let sam = server.state.store.find_partner("sam@acme.example").await.unwrap().unwrap();
    assert_eq!(sam.organisation_id, founder_account.unwrap().organisation_id);
    assert_eq!(sam.status, PartnerStatus::Pending, "principle 3: an admin decides");
    assert_eq!(sam.invited_by.as_deref(), Some("dana@acme.example"));
    let (_, pending) = sign_in(&server, "sam@acme.example").await;
    assert!(pending.text().contains("awaits an administrator"), "pending accounts cannot sign in");
    let queue = admin.get(&server, "/admin/partners").await;
    assert!(queue.text().contains("joining on dana@acme.example"), "{}", queue.text());

    // The code works once: a second sign-up with it is refused and creates nothing.
    let reused = sign_up_invited(&server, "eve@evil.example", &code).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert!(reused.text().contains("invitation code is unknown, used or expired"));
    assert!(server.state.store.find_partner("eve@evil.example").await.unwrap().is_none());

    // Approved, the colleague sees the organisation's client.
    let csrf = csrf_of(&admin.get(&server, "/admin/partners").await);
    let path = format!("/admin/partners/{}/approve", sam.id);
    assert_eq!(
        admin.post(&server, &path, &[("csrf", &csrf), ("reason", "")]).await.status,
        StatusCode::SEE_OTHER
    );
    let (mut colleague, reply) = sign_in(&server, "sam@acme.example").await;
    assert_eq!(reply.location(), "/developers/console");
    let page = colleague.get(&server, &format!("/developers/clients/{client_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "a colleague reaches the organisation's client");

    // Disabling one member leaves the organisation's clients to the other...
    let csrf = csrf_of(&admin.get(&server, "/admin/partners").await);
    let form = [("csrf", csrf.as_str()), ("to", "disabled")];
    let path = format!("/admin/partners/{}/status", sam.id);
    assert_eq!(admin.post(&server, &path, &form).await.status, StatusCode::SEE_OTHER);
    assert_ne!(server.operator.client(&client_id).await.unwrap().status, ClientStatus::Disabled);
    assert_eq!(colleague.get(&server, "/developers/console").await.location(), "/developers/login");

    // ...and disabling the last active member stops them (I-19).
    let founder_id = partner_id(&server, "dana@acme.example").await;
    let path = format!("/admin/partners/{founder_id}/status");
    assert_eq!(admin.post(&server, &path, &form).await.status, StatusCode::SEE_OTHER);
    assert_eq!(server.operator.client(&client_id).await.unwrap().status, ClientStatus::Disabled);

    let filter = AuditFilter { action: Some("partner.invite".into()), ..AuditFilter::default() };
    let entries = server.state.store.list_audit(&filter).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert!(!entries[0].details.contains(&code), "never a secret in the audit log");
}
