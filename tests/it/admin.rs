//! The admin portal's first slice: sign-in, the approval queue, permissions checked on the
//! server, and the hash-chained audit log. SECURITY.md I-01, I-02, I-03, I-11, I-12, I-14,
//! I-15, I-16 (admin part).

use std::collections::BTreeSet;

use axum::http::StatusCode;
use portcullis::service::NewClient;
use portcullis_core::admin::AdminPermission;
use portcullis_core::audit::BrokenLink;
use portcullis_core::client::{parse_wire_list, ClientStatus, ClientType, TokenAuthMethod};
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::{AuditFilter, AuditStore, ClientStore};
use sqlx::Connection;

use crate::browser::{csrf_of, Browser, Flow};
use crate::support::{TestClient, TestServer};

const ADMIN_PASSWORD: &str = "a long admin passphrase";

async fn admin(server: &TestServer, email: &str, permissions: &[AdminPermission]) {
    let permissions: BTreeSet<AdminPermission> = permissions.iter().copied().collect();
    server.operator.create_admin(email, ADMIN_PASSWORD.into(), permissions).await.unwrap();
}

/// A browser signed in to the admin portal.
async fn signed_in(server: &TestServer, email: &str) -> Browser {
    let mut browser = Browser::default();
    let page = browser.get(server, "/admin/login").await;
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("email", email), ("password", ADMIN_PASSWORD)];
    let reply = browser.post(server, "/admin/login", &form).await;
    assert_eq!(reply.location(), "/admin", "signed in as {email}");
    browser
}

/// A partner's client waiting for approval, asking for quote:write and claim:read.
async fn pending_client(server: &TestServer, name: &str) -> TestClient {
    let registration = NewClient {
        name: name.into(),
        client_type: ClientType::Confidential,
        grant_types: parse_wire_list("client_credentials").unwrap(),
        allowed_scopes: ScopeSet::parse_list("quote:write claim:read").unwrap(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        id_token_signing_alg: None,
        auth_method: TokenAuthMethod::ClientSecretBasic,
        access_token_lifetime: 600,
        refresh_token_lifetime: 3600,
        lifetime_policy: None,
    };
    let created = server.operator.create_client(registration, ClientStatus::Pending).await.unwrap();
    TestClient {
        id: created.client.id.to_string(),
        secret: created.secret.map(|s| s.expose().to_owned()),
    }
}

async fn approve(
    browser: &mut Browser,
    server: &TestServer,
    id: &str,
    scopes: &str,
) -> crate::support::Reply {
    let dashboard = browser.get(server, "/admin").await;
    let csrf = csrf_of(&dashboard);
    let path = format!("/admin/clients/{id}/approve");
    let form = [("csrf", csrf.as_str()), ("scopes", scopes), ("reason", "known partner")];
    browser.post(server, &path, &form).await
}

#[tokio::test]
async fn i01_i02_i15_sign_in_is_required_separate_and_throttled() {
    let flow = Flow::start().await;
    admin(&flow.server, "root@example.com", &[AdminPermission::Clients]).await;

    // I-01: every page sends an anonymous visitor to the admin sign-in.
    let mut anonymous = Browser::default();
    for path in ["/admin", "/admin/audit"] {
        assert_eq!(anonymous.get(&flow.server, path).await.location(), "/admin/login", "I-01");
    }

    // I-02: an end user's session is not an admin session, even replayed as the admin cookie.
    let mut alice = Browser::default();
    flow.code(&mut alice, &[]).await;
    let user_cookie = alice.cookie.clone().unwrap();
    assert_eq!(alice.get(&flow.server, "/admin").await.location(), "/admin/login", "I-02");
    let value = user_cookie.split_once('=').unwrap().1;
    let mut forged = Browser { cookie: Some(format!("portcullis_admin={value}")) };
    assert_eq!(forged.get(&flow.server, "/admin").await.location(), "/admin/login", "I-02");

    // The admin cookie is its own, scoped to /admin.
    let mut browser = Browser::default();
    let page = browser.get(&flow.server, "/admin/login").await;
    let cookie = page.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("portcullis_admin=") && cookie.contains("Path=/admin"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));

    // I-15: five wrong passwords lock the account; the right one is then refused too.
    let csrf = csrf_of(&page);
    for _ in 0..5 {
        let form = [("csrf", csrf.as_str()), ("email", "root@example.com"), ("password", "guess")];
        let reply = browser.post(&flow.server, "/admin/login", &form).await;
        assert_eq!(reply.location(), "/admin/login?error=invalid");
    }
    let form =
        [("csrf", csrf.as_str()), ("email", "root@example.com"), ("password", ADMIN_PASSWORD)];
    assert_eq!(
        browser.post(&flow.server, "/admin/login", &form).await.location(),
        "/admin/login?error=locked"
    );
    // Without its CSRF token a sign-in is not even tried.
    let mut fresh = Browser::default();
    fresh.get(&flow.server, "/admin/login").await;
    let form = [("email", "root@example.com"), ("password", ADMIN_PASSWORD)];
    assert_eq!(
        fresh.post(&flow.server, "/admin/login", &form).await.location(),
        "/admin/login?error=expired"
    );
}

#[tokio::test]
async fn h25_i15_a_session_ends_at_its_absolute_end_however_active() {
    let server = TestServer::start().await;
    admin(&server, "root@example.com", &[AdminPermission::Clients]).await;
    let mut browser = signed_in(&server, "root@example.com").await;
    let mut db = sqlx::AnyConnection::connect(&server.db.url).await.unwrap();
    let ends_sql = "SELECT MAX(ends_at) FROM sessions";

    // The absolute end is set at sign-in (24 h by default) and activity does not move it.
    let at_sign_in: i64 = sqlx::query_scalar(ends_sql).fetch_one(&mut db).await.unwrap();
    let now = portcullis::clock::unix_now();
    assert!((now + 86_000..=now + 86_400).contains(&at_sign_in), "{at_sign_in} vs {now}");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(browser.get(&server, "/admin").await.status, StatusCode::OK);
    let after_use: i64 = sqlx::query_scalar(ends_sql).fetch_one(&mut db).await.unwrap();
    assert_eq!(after_use, at_sign_in, "H-25: activity never extends the absolute end");
    // I-15: an admin session's idle lifetime is the admins' own, 30 minutes by default.
    let idle_sql = "SELECT MAX(expires_at) FROM sessions";
    let idle_end: i64 = sqlx::query_scalar(idle_sql).fetch_one(&mut db).await.unwrap();
    let now = portcullis::clock::unix_now();
    assert!((now + 1_790..=now + 1_800).contains(&idle_end), "I-15: {idle_end} vs {now}");

    // Past the absolute end, the session is gone although it was used a moment ago.
    sqlx::query("UPDATE sessions SET ends_at = $1")
        .bind(portcullis::clock::unix_now() - 1)
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(browser.get(&server, "/admin").await.location(), "/admin/login", "H-25");

    // An absolute lifetime shorter than the idle one is a configuration error, not a cap.
    let mut env = server.env.clone();
    env.push(("PORTCULLIS_SESSION_LIFETIME".into(), "3600".into()));
    env.push(("PORTCULLIS_SESSION_ABSOLUTE_LIFETIME".into(), "600".into()));
    let raw = portcullis::config::RawSettings::from_pairs(env).unwrap();
    let refused = portcullis::config::ServerConfig::from_raw(&raw).err().unwrap().to_string();
    assert!(refused.contains("PORTCULLIS_SESSION_ABSOLUTE_LIFETIME"), "{refused}");
}

#[tokio::test]
async fn i14_admins_are_managed_in_the_portal_only_with_admin_admins() {
    let server = TestServer::start().await;
    admin(&server, "root@example.com", &[AdminPermission::Admins, AdminPermission::Audit]).await;
    admin(&server, "ops@example.com", &[AdminPermission::Clients]).await;
    let holds_admins = |email: &'static str| {
        let operator = &server.operator;
        async move {
            operator.admin(email).await.unwrap().permissions.contains(&AdminPermission::Admins)
        }
    };

    // I-14: an admin without admin:admins can neither see the page nor raise itself.
    let mut ops = signed_in(&server, "ops@example.com").await;
    assert_eq!(ops.get(&server, "/admin/admins").await.status, StatusCode::FORBIDDEN);
    let csrf = csrf_of(&ops.get(&server, "/admin").await);
    let raise = [
        ("csrf", csrf.as_str()),
        ("email", "ops@example.com"),
        ("admin:clients", "on"),
        ("admin:admins", "on"),
    ];
    let refused = ops.post(&server, "/admin/admins/permissions", &raise).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "I-14");
    assert!(!holds_admins("ops@example.com").await, "I-14: nothing changed");
    let create = [
        ("csrf", csrf.as_str()),
        ("email", "friend@example.com"),
        ("password", "a long friendly passphrase"),
        ("admin:admins", "on"),
    ];
    assert_eq!(ops.post(&server, "/admin/admins", &create).await.status, StatusCode::FORBIDDEN);
    assert!(server.operator.admin("friend@example.com").await.is_err(), "I-14: not created");

    // With admin:admins: create an admin, who can then sign in with what was granted.
    let mut root = signed_in(&server, "root@example.com").await;
    let listed = root.get(&server, "/admin/admins").await;
    assert!(listed.text().contains("ops@example.com"), "{}", listed.text());
    let csrf = csrf_of(&listed);
    let create = [
        ("csrf", csrf.as_str()),
        ("email", "new@example.com"),
        ("password", ADMIN_PASSWORD),
        ("admin:audit", "on"),
    ];
    let created = root.post(&server, "/admin/admins", &create).await;
    assert!(created.text().contains("new@example.com can now sign in."), "{}", created.text());
    let mut new = signed_in(&server, "new@example.com").await;
    assert_eq!(new.get(&server, "/admin/audit").await.status, StatusCode::OK);
    assert_eq!(new.get(&server, "/admin/clients").await.status, StatusCode::FORBIDDEN);
    let nothing = [("csrf", csrf.as_str()), ("email", "x@example.com"), ("password", "p")];
    assert_eq!(root.post(&server, "/admin/admins", &nothing).await.status, StatusCode::BAD_REQUEST);

    // The last holder of admin:admins can neither give it up nor be deleted...
    let give_up = [("csrf", csrf.as_str()), ("email", "root@example.com"), ("admin:audit", "on")];
    let kept = root.post(&server, "/admin/admins/permissions", &give_up).await;
    assert_eq!(kept.status, StatusCode::BAD_REQUEST, "{}", kept.text());
    assert!(kept.text().contains("last admin"), "{}", kept.text());
    let delete = [("csrf", csrf.as_str()), ("email", "root@example.com")];
    let kept = root.post(&server, "/admin/admins/delete", &delete).await;
    assert_eq!(kept.status, StatusCode::BAD_REQUEST);
    assert!(holds_admins("root@example.com").await);

    // ...until another admin holds it.
    let promote = [
        ("csrf", csrf.as_str()),
        ("email", "ops@example.com"),
        ("admin:clients", "on"),
        ("admin:admins", "on"),
    ];
    let promoted = root.post(&server, "/admin/admins/permissions", &promote).await;
    assert!(
        promoted.text().contains("now holds admin:clients, admin:admins"),
        "{}",
        promoted.text()
    );
    let gone = root.post(&server, "/admin/admins/permissions", &give_up).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text());
    assert!(!holds_admins("root@example.com").await);
    assert_eq!(root.get(&server, "/admin/admins").await.status, StatusCode::FORBIDDEN);

    // Every change is in the audit log under the admin who made it.
    for action in ["admin.create", "admin.permissions"] {
        let filter = AuditFilter {
            action: Some(action.into()),
            actor: Some("admin:root@example.com".into()),
            ..AuditFilter::default()
        };
        let entries = server.state.store.list_audit(&filter).await.unwrap();
        assert!(!entries.is_empty(), "{action} not audited");
        assert!(entries.iter().all(|e| e.source_ip.is_some()), "{action}: no source address");
    }
}

#[tokio::test]
async fn i16_approval_narrows_never_widens_and_is_audited() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(&server, "root@example.com", &[AdminPermission::Clients, AdminPermission::Audit]).await;
    let client = pending_client(&server, "Broker Sync").await;
    let mut browser = signed_in(&server, "root@example.com").await;

    // The queue shows it.
    let dashboard = browser.get(&server, "/admin").await.text();
    assert!(dashboard.contains("Broker Sync") && dashboard.contains(&client.id));

    // Widening is refused; narrowing is what gets approved.
    let wider =
        approve(&mut browser, &server, &client.id, "quote:write claim:read admin:write").await;
    assert_eq!(wider.status, StatusCode::BAD_REQUEST);
    let id = portcullis_core::client::ClientId::parse(&client.id).unwrap();
    assert_eq!(
        server.state.store.get_client(&id).await.unwrap().unwrap().status,
        ClientStatus::Pending
    );
    let narrowed = approve(&mut browser, &server, &client.id, "quote:write").await;
    assert_eq!(narrowed.location(), "/admin");
    let approved = server.state.store.get_client(&id).await.unwrap().unwrap();
    assert_eq!(
        (approved.status, approved.allowed_scopes.to_wire()),
        (ClientStatus::Active, "quote:write".to_owned())
    );

    // The approved client works, within the narrowed scopes only.
    server
        .wait_until(|s| {
            s.state.live.client(&client.id).is_some_and(|c| c.status == ClientStatus::Active)
        })
        .await;
    assert_eq!(server.token(&client, "quote:write").await.status, StatusCode::OK);
    assert_eq!(server.token(&client, "claim:read").await.error(), "invalid_scope");

    // The decision is in the audit log with actor, target, address and reason, and on its page.
    let filter = AuditFilter { action: Some("client.approve".into()), ..AuditFilter::default() };
    let entries = server.state.store.list_audit(&filter).await.unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.actor, "admin:root@example.com");
    assert_eq!(entry.target, format!("client:{}", client.id));
    assert!(entry.source_ip.is_some());
    assert!(
        entry.details.contains("known partner")
            && entry.details.contains("\"granted\":\"quote:write\"")
    );
    let page = browser.get(&server, "/admin/audit").await.text();
    assert!(page.contains("client.approve") && page.contains("admin.sign_in"));
    // The secret never reaches the log.
    let all = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    let secret = client.secret.unwrap();
    assert!(all.iter().all(|e| !e.details.contains(&secret)), "I-10");

    // Rejection needs a reason and leaves the client disabled.
    let other = pending_client(&server, "Shady Sync").await;
    let dashboard = browser.get(&server, "/admin").await;
    let csrf = csrf_of(&dashboard);
    let path = format!("/admin/clients/{}/reject", other.id);
    let form = [("csrf", csrf.as_str()), ("reason", "unknown company")];
    assert_eq!(browser.post(&server, &path, &form).await.location(), "/admin");
    let id = portcullis_core::client::ClientId::parse(&other.id).unwrap();
    assert_eq!(
        server.state.store.get_client(&id).await.unwrap().unwrap().status,
        ClientStatus::Disabled
    );
}

#[tokio::test]
async fn i03_i11_i14_permissions_and_csrf_are_checked_on_the_server() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(&server, "root@example.com", AdminPermission::ALL).await;
    admin(&server, "auditor@example.com", &[AdminPermission::Audit]).await;
    let client = pending_client(&server, "Broker Sync").await;

    // I-03 / I-14: an admin without admin:clients posting the approval directly is refused and
    // nothing changes; one without admin:audit cannot read the log.
    let mut auditor = signed_in(&server, "auditor@example.com").await;
    let refused = approve(&mut auditor, &server, &client.id, "quote:write").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "I-03");
    let id = portcullis_core::client::ClientId::parse(&client.id).unwrap();
    assert_eq!(
        server.state.store.get_client(&id).await.unwrap().unwrap().status,
        ClientStatus::Pending
    );
    let mut root = signed_in(&server, "root@example.com").await;
    server
        .operator
        .set_admin_permissions("root@example.com", [AdminPermission::Admins].into())
        .await
        .unwrap();
    assert_eq!(
        root.get(&server, "/admin/audit").await.status,
        StatusCode::FORBIDDEN,
        "taken away at once"
    );

    // I-11: the approval without its CSRF token, or with another session's, does nothing.
    server
        .operator
        .set_admin_permissions("root@example.com", AdminPermission::ALL.iter().copied().collect())
        .await
        .unwrap();
    let foreign = csrf_of(&auditor.get(&server, "/admin").await);
    let path = format!("/admin/clients/{}/approve", client.id);
    for form in [vec![("reason", "x")], vec![("csrf", foreign.as_str()), ("reason", "x")]] {
        assert_eq!(root.post(&server, &path, &form).await.status, StatusCode::FORBIDDEN, "I-11");
    }
    assert_eq!(
        server.state.store.get_client(&id).await.unwrap().unwrap().status,
        ClientStatus::Pending
    );

    // Unknown ids and clients that are not pending are refused with the service's reason.
    assert_eq!(
        approve(&mut root, &server, "no-such-client", "quote:write").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(approve(&mut root, &server, &client.id, "quote:write").await.location(), "/admin");
    assert_eq!(
        approve(&mut root, &server, &client.id, "quote:write").await.status,
        StatusCode::BAD_REQUEST
    );

    // The last admin who may manage admins keeps that permission and cannot be deleted.
    let err = server
        .operator
        .set_admin_permissions("root@example.com", [AdminPermission::Clients].into())
        .await;
    assert!(err.unwrap_err().to_string().contains("last admin"));
    assert!(server.operator.delete_admin("root@example.com").await.is_err());
    assert!(server.operator.delete_admin("auditor@example.com").await.is_ok());
}

#[tokio::test]
async fn i12_partner_supplied_names_are_escaped_in_the_queue() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(&server, "root@example.com", &[AdminPermission::Clients]).await;
    pending_client(&server, "<script>alert(1)</script>").await;
    let mut browser = signed_in(&server, "root@example.com").await;
    let page = browser.get(&server, "/admin").await;
    let html = page.text();
    assert!(!html.contains("<script>alert(1)"), "I-12");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_the_first_altered_entry() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(&server, "root@example.com", &[AdminPermission::Clients]).await;
    pending_client(&server, "One").await;
    pending_client(&server, "Two").await;
    let checked = server.operator.verify_audit_chain().await.unwrap().unwrap();
    assert!(checked >= 4, "scope, admin and client entries: {checked}");

    // Someone with database access edits an entry: verification points at it.
    let mut conn = sqlx::AnyConnection::connect(&server.db.url).await.unwrap();
    sqlx::query("UPDATE audit_log SET target = 'client:someone-else' WHERE id = 3")
        .execute(&mut conn)
        .await
        .unwrap();
    let broken = server.operator.verify_audit_chain().await.unwrap();
    assert_eq!(broken, Err(BrokenLink::Altered { id: 3 }));
    sqlx::query("DELETE FROM audit_log WHERE id = 3").execute(&mut conn).await.unwrap();
    assert_eq!(
        server.operator.verify_audit_chain().await.unwrap(),
        Err(BrokenLink::Unlinked { id: 4 })
    );
}

#[tokio::test]
async fn the_cli_bootstraps_the_first_admin_and_verifies_the_chain() {
    let server = TestServer::start().await;
    let run = |args: &[&str], input: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(args)
            .envs(server.env.iter().cloned())
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let first = run(
        &["admin", "create", "--email", "Root@Example.com", "--password-stdin"],
        "pw for root\n",
    );
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("admin:admins"),
        "the first admin gets all"
    );
    let second =
        run(&["admin", "create", "--email", "ops@example.com", "--password-stdin"], "pw for ops\n");
    assert!(!second.status.success(), "later admins name their permissions");
    assert!(String::from_utf8_lossy(&second.stderr).contains("--permissions"));
    let third = run(
        &[
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--password-stdin",
            "--permissions",
            "admin:audit",
        ],
        "pw for ops\n",
    );
    assert!(third.status.success());

    let verify = run(&["audit", "verify"], "");
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("audit chain intact"));
    let lines = run(&["audit", "list", "--json", "--action", "admin.create"], "");
    let text = String::from_utf8_lossy(&lines.stdout);
    assert_eq!(text.lines().count(), 2, "JSON lines: {text}");
    assert!(text
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["actor"] == "cli"));
}

#[tokio::test]
async fn bulk_revocation_shows_its_count_before_and_after_and_is_audited() {
    let flow = Flow::start().await;
    admin(&flow.server, "root@example.com", &[AdminPermission::Clients]).await;
    let mut alice = Browser::default();
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let code = flow.code(&mut alice, &[]).await;
        tokens.push(flow.exchange(&code, crate::browser::VERIFIER).await.json());
    }

    let mut browser = signed_in(&flow.server, "root@example.com").await;
    let preview =
        browser.get(&flow.server, &format!("/admin/revoke?client_id={}", flow.web.id)).await;
    assert!(
        preview.text().contains("2 access tokens and 2 refresh tokens are live"),
        "{}",
        preview.text()
    );

    let csrf = csrf_of(&preview);
    let form = [
        ("csrf", csrf.as_str()),
        ("client_id", flow.web.id.as_str()),
        ("username", ""),
        ("reason", "incident 42"),
    ];
    let done = browser.post(&flow.server, "/admin/revoke", &form).await;
    assert!(
        done.text().contains("revoked 2 access tokens and 2 refresh tokens"),
        "{}",
        done.text()
    );
    for body in &tokens {
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(flow.server.introspect(&flow.web, access).await.json()["active"], false);
        let refresh = body["refresh_token"].as_str().unwrap();
        assert_eq!(flow.refresh(refresh, None).await.error(), "invalid_grant");
    }
    let filter = AuditFilter { action: Some("tokens.revoke".into()), ..AuditFilter::default() };
    let entry = &flow.server.state.store.list_audit(&filter).await.unwrap()[0];
    assert!(entry.details.contains("incident 42") && entry.details.contains("\"access\":2"));

    // Revoking a user's tokens needs admin:users, which this admin lacks.
    let by_user = browser.get(&flow.server, "/admin/revoke?username=alice").await;
    assert_eq!(by_user.status, StatusCode::FORBIDDEN);
    let form = [("csrf", csrf.as_str()), ("client_id", ""), ("username", "alice"), ("reason", "x")];
    assert_eq!(
        browser.post(&flow.server, "/admin/revoke", &form).await.status,
        StatusCode::FORBIDDEN
    );

    // I-01: the answer does not depend on whether the user or client exists, neither for this
    // admin nor for a visitor holding only the sign-in page's CSRF token.
    let nobody = browser.get(&flow.server, "/admin/revoke?username=nobody").await;
    assert_eq!(nobody.status, StatusCode::FORBIDDEN, "I-01: no user lookup before the check");
    let mut stranger = Browser::default();
    let login = stranger.get(&flow.server, "/admin/login").await;
    let stranger_csrf = csrf_of(&login);
    for (client_id, username) in
        [(flow.web.id.as_str(), ""), ("no-such-client", ""), ("", "alice"), ("", "nobody")]
    {
        let form = [
            ("csrf", stranger_csrf.as_str()),
            ("client_id", client_id),
            ("username", username),
            ("reason", "probe"),
        ];
        let reply = stranger.post(&flow.server, "/admin/revoke", &form).await;
        assert_eq!(reply.location(), "/admin/login", "I-01: {client_id}{username}");
    }
}

#[tokio::test]
async fn i10_a_regenerated_secret_is_shown_once_and_the_old_one_overlaps() {
    let server = TestServer::start().await;
    server.scope("quote:read", &[], false).await;
    admin(&server, "root@example.com", &[AdminPermission::Clients]).await;
    let client = server.service_client("quote:read").await;
    let mut browser = signed_in(&server, "root@example.com").await;

    let list = browser.get(&server, "/admin/clients").await.text();
    assert!(list.contains(&client.id));
    let detail = browser.get(&server, &format!("/admin/clients/{}", client.id)).await;
    let csrf = csrf_of(&detail);
    let path = format!("/admin/clients/{}/secret", client.id);
    let form = [("csrf", csrf.as_str()), ("overlap_hours", "24")];
    let shown = browser.post(&server, &path, &form).await.text();
    let marker = "data-testid=\"new-secret\" class=\"mt-2 block break-all\">";
    let start = shown.find(marker).map(|i| i + marker.len()).expect(&shown);
    let secret = shown[start..].split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("pcs_"), "{secret}");

    let rotated = TestClient { id: client.id.clone(), secret: Some(secret.clone()) };
    let id = client.id.clone();
    server
        .wait_until(|s| s.state.live.client(&id).is_some_and(|c| c.previous_secret.is_some()))
        .await;
    assert_eq!(server.token(&rotated, "quote:read").await.status, StatusCode::OK);
    assert_eq!(server.token(&client, "quote:read").await.status, StatusCode::OK, "overlap");
    server
        .wait_until(|s| {
            s.state
                .live
                .client(&id)
                .and_then(|c| c.previous_secret.clone())
                .is_some_and(|p| p.last_used_at.is_some())
        })
        .await;

    // I-10: the page says when the old secret was last used, and never shows a secret again.
    let again = browser.get(&server, &format!("/admin/clients/{}", client.id)).await.text();
    assert!(
        again.contains("The previous secret works until") && !again.contains("Last used: never")
    );
    assert!(!again.contains(&secret) && !again.contains(client.secret.as_deref().unwrap()), "I-10");
    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "client.secret.rotate"));
    assert!(audit.iter().all(|e| !e.details.contains(&secret)), "I-10");
}

#[tokio::test]
async fn analytics_chart_and_csv_show_the_tokens_issued() {
    let flow = Flow::start().await;
    admin(&flow.server, "root@example.com", &[AdminPermission::Clients]).await;
    admin(&flow.server, "auditor@example.com", &[AdminPermission::Audit]).await;
    flow.server.scope("svc:read", &[], false).await;
    let service = flow.server.service_client("svc:read").await;
    for _ in 0..3 {
        assert_eq!(flow.server.token(&service, "svc:read").await.status, StatusCode::OK);
    }
    let code = flow.code(&mut Browser::default(), &[]).await;
    assert_eq!(flow.exchange(&code, crate::browser::VERIFIER).await.status, StatusCode::OK);
    let today = portcullis_core::api_key::format_day(portcullis_core::api_key::day_of(
        portcullis::clock::unix_now(),
    ));

    let mut browser = signed_in(&flow.server, "root@example.com").await;
    let page = browser.get(&flow.server, "/admin/analytics").await.text();
    assert!(page.contains("data-testid=\"tokens-chart\""), "an SVG chart");
    assert!(page.contains(&format!("{today} client_credentials: 3")), "a bar per grant type");
    assert!(page.contains(&format!("{today} authorization_code: 1")));

    // Alice got a token today (one unique user); the scope usage counts each scope's tokens.
    assert!(page.contains(&format!("{today} unique users: 1")), "unique users");
    // (Hydration markers, `<!>`, sit between the text nodes of the server's HTML.)
    assert!(page.replace("<!>", "").contains("<code>svc:read</code>: 3"), "scope usage");
    let csv = browser.get(&flow.server, "/admin/analytics.csv").await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text();
    assert!(text.starts_with("day,grant_type,tokens_issued\n"));
    assert!(text.contains(&format!("{today},client_credentials,3\n")), "{text}");
    // One client only.
    let path = format!("/admin/analytics.csv?client_id={}", service.id);
    let only = browser.get(&flow.server, &path).await.text();
    assert!(
        only.contains(&format!("{today},client_credentials,3\n"))
            && !only.contains("authorization_code")
    );

    // Every table has its CSV: users and revocations per day, scope usage, failures.
    let activity = browser.get(&flow.server, "/admin/analytics.csv?series=activity").await.text();
    assert!(activity.starts_with("day,unique_users,revocations\n"), "{activity}");
    assert!(activity.contains(&format!("{today},1,0\n")), "{activity}");
    let scopes = browser.get(&flow.server, "/admin/analytics.csv?series=scopes").await.text();
    assert!(scopes.starts_with("scope,tokens\n") && scopes.contains("svc:read,3\n"), "{scopes}");
    let failures = browser.get(&flow.server, "/admin/analytics.csv?series=auth_failures").await;
    assert!(failures.text().starts_with("reason,failures\n"));
    let unknown = browser.get(&flow.server, "/admin/analytics.csv?series=secrets").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("series=activity") && page.contains("series=scopes"), "CSV links");

    // Bad input is a clear 400; other admins need admin:clients.
    assert_eq!(
        browser.get(&flow.server, "/admin/analytics?from=yesterday").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        browser.get(&flow.server, "/admin/analytics?from=2026-12-05&to=2026-12-01").await.status,
        StatusCode::BAD_REQUEST
    );
    let mut auditor = signed_in(&flow.server, "auditor@example.com").await;
    assert_eq!(auditor.get(&flow.server, "/admin/analytics").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        auditor.get(&flow.server, "/admin/analytics.csv").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_audit_page_filters_and_exports_csv_and_json_lines() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(&server, "root@example.com", &[AdminPermission::Clients, AdminPermission::Audit]).await;
    let first = pending_client(&server, "First, \"quoted\"").await;
    pending_client(&server, "Second").await;
    let mut browser = signed_in(&server, "root@example.com").await;
    assert_eq!(approve(&mut browser, &server, &first.id, "quote:write").await.location(), "/admin");

    let filtered = browser.get(&server, "/admin/audit?action=client.approve").await.text();
    assert!(filtered.contains("client.approve") && !filtered.contains("client.create"));
    let by_target = format!("/admin/audit?target=client%3A{}", first.id);
    let page = browser.get(&server, &by_target).await.text();
    assert!(page.contains("client.create") && page.contains("client.approve"));
    let today = portcullis_core::api_key::format_day(portcullis_core::api_key::day_of(
        portcullis::clock::unix_now(),
    ));
    let none = browser.get(&server, "/admin/audit?to=2020-01-01").await.text();
    assert!(!none.contains("client.create"), "nothing that old");
    assert!(browser
        .get(&server, &format!("/admin/audit?from={today}"))
        .await
        .text()
        .contains("client.create"));
    assert_eq!(
        browser.get(&server, "/admin/audit?from=soon").await.status,
        StatusCode::BAD_REQUEST
    );

    let csv = browser.get(&server, "/admin/audit.csv?actor=admin%3Aroot%40example.com").await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text();
    assert!(text.starts_with("id,at,actor,action,target,source_ip,details\n"));
    assert!(text.lines().skip(1).all(|l| l.contains("\"admin:root@example.com\"")), "{text}");
    assert!(text.contains("\"client.approve\""));

    let jsonl = browser.get(&server, "/admin/audit.jsonl?action=client.create").await.text();
    let lines: Vec<serde_json::Value> =
        jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|l| l["hash"].as_str().unwrap().len() == 64 && l["actor"] == "server"));
    assert_eq!(lines[1]["details"]["name"], "First, \"quoted\"");
}

#[tokio::test]
async fn api_keys_are_approved_issued_and_managed_only_with_admin_keys() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(
        &server,
        "root@example.com",
        &[AdminPermission::Clients, AdminPermission::Keys, AdminPermission::Audit],
    )
    .await;
    admin(&server, "clients@example.com", &[AdminPermission::Clients]).await;
    let client = server.service_client("quote:write claim:read").await;
    let request = portcullis_core::api_key::ApiKeyRequest {
        name: "Broker feed".into(),
        scopes: ScopeSet::parse_list("quote:write claim:read").unwrap(),
        rate_limit_per_minute: 600,
        burst: Some(50),
        allowed_ips: vec![],
        expires_in_days: None,
    };
    let pending = server
        .operator
        .create_api_key(&client.id, request, portcullis_core::api_key::ApiKeyStatus::Pending)
        .await
        .unwrap();
    let key_id = pending.key.id.clone();

    // The queue shows the key; approval lowers the limit and narrows the scopes.
    let mut root = signed_in(&server, "root@example.com").await;
    let dashboard = root.get(&server, "/admin").await;
    assert!(dashboard.text().contains("Broker feed"));
    let csrf = csrf_of(&dashboard);
    let too_high = [
        ("csrf", csrf.as_str()),
        ("scopes", "claim:read"),
        ("rate_limit_per_minute", "6000"),
        ("reason", "ok"),
    ];
    let path = format!("/admin/keys/{key_id}/approve");
    assert_eq!(
        root.post(&server, &path, &too_high).await.status,
        StatusCode::BAD_REQUEST,
        "never raised"
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("scopes", "claim:read"),
        ("rate_limit_per_minute", "100"),
        ("reason", "pilot"),
    ];
    assert_eq!(root.post(&server, &path, &form).await.location(), "/admin");
    let key = server.operator.api_key(&key_id).await.unwrap();
    assert_eq!(key.status, portcullis_core::api_key::ApiKeyStatus::Active);
    assert_eq!(
        (key.scopes.to_wire(), key.rate_limit_per_minute, key.burst),
        ("claim:read".to_owned(), 100, Some(50))
    );

    // A key issued from the client page is shown once; disabling and revoking work there.
    let page = root.get(&server, &format!("/admin/clients/{}", client.id)).await;
    assert!(page.text().contains("Broker feed"), "the client's keys are listed");
    let csrf = csrf_of(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Reports"),
        ("scopes", "quote:read"),
        ("rate_limit_per_minute", "60"),
    ];
    let created =
        root.post(&server, &format!("/admin/clients/{}/keys", client.id), &form).await.text();
    assert!(created.contains("pcak_"), "the new key, once");
    let status_path = format!("/admin/keys/{key_id}/status");
    let form = [("csrf", csrf.as_str()), ("to", "disabled")];
    assert_eq!(
        root.post(&server, &status_path, &form).await.location(),
        format!("/admin/clients/{}", client.id)
    );
    let form = [("csrf", csrf.as_str()), ("to", "revoked")];
    root.post(&server, &status_path, &form).await;
    let form = [("csrf", csrf.as_str()), ("to", "active")];
    assert_eq!(
        root.post(&server, &status_path, &form).await.status,
        StatusCode::BAD_REQUEST,
        "revocation is final"
    );
    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    for action in ["api_key.approve", "api_key.create", "api_key.status"] {
        assert!(
            audit.iter().any(|e| e.action == action && e.actor == "admin:root@example.com"),
            "{action}"
        );
    }

    // Without admin:keys: no key section, and the actions are refused on the server.
    let mut other = signed_in(&server, "clients@example.com").await;
    let page = other.get(&server, &format!("/admin/clients/{}", client.id)).await;
    assert!(!page.text().contains("data-testid=\"keys\""));
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("to", "disabled")];
    assert_eq!(other.post(&server, &status_path, &form).await.status, StatusCode::FORBIDDEN);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Sneaky"),
        ("scopes", "quote:read"),
        ("rate_limit_per_minute", "60"),
    ];
    assert_eq!(
        other.post(&server, &format!("/admin/clients/{}/keys", client.id), &form).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn users_are_listed_disabled_reset_and_their_consents_revoked() {
    let flow = Flow::start().await;
    admin(&flow.server, "root@example.com", &[AdminPermission::Users, AdminPermission::Audit])
        .await;
    admin(&flow.server, "clients@example.com", &[AdminPermission::Clients]).await;
    let mut alice = Browser::default();
    let code = flow.code(&mut alice, &[]).await;
    let tokens = flow.exchange(&code, crate::browser::VERIFIER).await.json();

    let mut root = signed_in(&flow.server, "root@example.com").await;
    assert!(root.get(&flow.server, "/admin/users").await.text().contains("alice"));
    let page = root.get(&flow.server, "/admin/users/alice").await;
    assert!(page.text().contains("confidential app (email openid profile)"), "her consent");
    let csrf = csrf_of(&page);

    // Revoking her consent ends the tokens it granted, as her own account page would.
    let form = [("csrf", csrf.as_str()), ("client_id", flow.web.id.as_str())];
    let done = root.post(&flow.server, "/admin/users/alice/consents/revoke", &form).await.text();
    assert!(done.contains("Consent withdrawn; 1 access tokens revoked."), "{done}");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(flow.refresh(refresh, None).await.error(), "invalid_grant");

    // Disable, then a new password: the old one stops working.
    let form = [("csrf", csrf.as_str()), ("to", "disabled")];
    assert!(root
        .post(&flow.server, "/admin/users/alice/status", &form)
        .await
        .text()
        .contains("alice is now disabled"));
    let form = [("csrf", csrf.as_str()), ("to", "active")];
    root.post(&flow.server, "/admin/users/alice/status", &form).await;
    let form = [("csrf", csrf.as_str()), ("password", "short")];
    assert_eq!(
        root.post(&flow.server, "/admin/users/alice/password", &form).await.status,
        StatusCode::BAD_REQUEST
    );
    let form = [("csrf", csrf.as_str()), ("password", "a brand new passphrase")];
    assert!(root
        .post(&flow.server, "/admin/users/alice/password", &form)
        .await
        .text()
        .contains("was reset"));
    let mut browser = Browser::default();
    browser.get(&flow.server, &crate::browser::authorize_path(&flow.web.id, &[])).await;
    assert_eq!(
        browser.sign_in(&flow.server, "alice", crate::browser::PASSWORD).await.location(),
        "/login?error=invalid"
    );

    let audit = flow.server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    for action in ["consent.allow", "consent.withdraw", "user.status", "user.password.reset"] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    assert!(audit.iter().any(|e| e.action == "consent.allow" && e.actor == "user:alice"));

    // Without admin:users none of it.
    let mut other = signed_in(&flow.server, "clients@example.com").await;
    assert_eq!(other.get(&flow.server, "/admin/users").await.status, StatusCode::FORBIDDEN);
    let csrf = csrf_of(&other.get(&flow.server, "/admin").await);
    let form = [("csrf", csrf.as_str()), ("to", "disabled")];
    assert_eq!(
        other.post(&flow.server, "/admin/users/alice/status", &form).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_scope_registry_shows_inheritance_and_takes_edits_with_the_cli_rules() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(&server, "root@example.com", &[AdminPermission::Scopes, AdminPermission::Clients]).await;
    admin(&server, "keys@example.com", &[AdminPermission::Keys]).await;
    let mut root = signed_in(&server, "root@example.com").await;

    let page = root.get(&server, "/admin/scopes").await;
    let text = page.text();
    assert!(text.contains("quote:convert"), "the registry");
    assert!(
        text.contains("policy:read policy:write quote:convert quote:read"),
        "what it expands to: {text}"
    );
    let csrf = csrf_of(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "partner:reports"),
        ("description", "Read partner reports"),
        ("includes", "claim:read"),
        ("public", "true"),
    ];
    assert_eq!(root.post(&server, "/admin/scopes", &form).await.location(), "/admin/scopes");
    server
        .wait_until(|s| {
            s.state.live.registry().iter().any(|d| d.name.as_str() == "partner:reports")
        })
        .await;
    // A cycle is refused, as at the CLI.
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "claim:read"),
        ("description", "x"),
        ("includes", "partner:reports"),
    ];
    assert_eq!(root.post(&server, "/admin/scopes", &form).await.status, StatusCode::BAD_REQUEST);
    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "scope.put" && e.target == "scope:partner:reports"));

    // Least privilege: the client page names allowed scopes its tokens never carried.
    let client = server.service_client("quote:read claim:read").await;
    assert_eq!(server.token(&client, "quote:read").await.status, StatusCode::OK);
    let detail = root.get(&server, &format!("/admin/clients/{}", client.id)).await.text();
    assert!(detail.contains("Not used in the last 30 days: claim:read."), "{detail}");

    let mut keys = signed_in(&server, "keys@example.com").await;
    assert_eq!(keys.get(&server, "/admin/scopes").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn clients_are_created_edited_disabled_and_deleted_with_the_cli_rules() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    admin(&server, "root@example.com", &[AdminPermission::Clients]).await;
    let mut root = signed_in(&server, "root@example.com").await;
    let page = root.get(&server, "/admin/clients/new").await;
    let csrf = csrf_of(&page);
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("name", "Quote Sync"),
        ("client_type", "confidential"),
        ("grant_types", "client_credentials"),
        ("scopes", "quote:read"),
        ("token_auth_method", "client_secret_basic"),
        ("access_token_lifetime", "600"),
    ];
    // Nothing defaults: without a refresh lifetime the form comes back with the reason, filled.
    let refused = root.post(&server, "/admin/clients", &form).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.text().contains("refresh token lifetime is required")
            && refused.text().contains("Quote Sync")
    );
    form.push(("refresh_token_lifetime", "3600"));
    let created = root.post(&server, "/admin/clients", &form).await.text();
    let marker = "data-testid=\"new-secret\" class=\"mt-2 block break-all\">";
    let start = created.find(marker).map(|i| i + marker.len()).expect(&created);
    let secret = created[start..].split('<').next().unwrap().to_owned();
    let clients = server.state.store.list_clients().await.unwrap();
    let client = clients.iter().find(|c| c.name == "Quote Sync").unwrap();
    let test_client = TestClient { id: client.id.to_string(), secret: Some(secret) };
    server.wait_for_client(&test_client.id).await;
    assert_eq!(server.token(&test_client, "quote:read").await.status, StatusCode::OK);

    // Edit: more scopes (validated), never a different type.
    let edit = format!("/admin/clients/{}/edit", client.id);
    let page = root.get(&server, &edit).await;
    assert!(page.text().contains("value=\"quote:read\""), "prefilled");
    let mut changed = form.clone();
    changed.retain(|(k, _)| *k != "scopes");
    changed.push(("scopes", "quote:read claim:read"));
    assert_eq!(
        root.post(&server, &edit, &changed).await.location(),
        format!("/admin/clients/{}", client.id)
    );
    let id = test_client.id.clone();
    server
        .wait_until(|s| {
            s.state
                .live
                .client(&id)
                .is_some_and(|c| c.allowed_scopes.to_wire() == "claim:read quote:read")
        })
        .await;
    let mut public = form.clone();
    public.retain(|(k, _)| *k != "client_type" && *k != "token_auth_method");
    public.extend([("client_type", "public"), ("token_auth_method", "none")]);
    assert_eq!(root.post(&server, &edit, &public).await.status, StatusCode::BAD_REQUEST);
    let mut unknown = form.clone();
    unknown.retain(|(k, _)| *k != "scopes");
    unknown.push(("scopes", "nope:nothing"));
    assert!(root.post(&server, &edit, &unknown).await.text().contains("not in the registry"));

    // Disable stops it; a pending client cannot be switched on without a decision.
    let status = [("csrf", csrf.as_str()), ("to", "disabled")];
    root.post(&server, &format!("/admin/clients/{}/status", client.id), &status).await;
    server
        .wait_until(|s| {
            s.state.live.client(&id).is_some_and(|c| c.status == ClientStatus::Disabled)
        })
        .await;
    assert_eq!(server.token(&test_client, "quote:read").await.status, StatusCode::UNAUTHORIZED);
    let pending = pending_client(&server, "Waiting").await;
    let on = [("csrf", csrf.as_str()), ("to", "active")];
    let refused = root.post(&server, &format!("/admin/clients/{}/status", pending.id), &on).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "approve or reject instead");

    // The list is searchable; the client page tells its history.
    let found = root.get(&server, "/admin/clients?q=quote%20s").await.text();
    assert!(found.contains("Quote Sync") && !found.contains("Waiting"), "search by name");
    let by_id =
        root.get(&server, &format!("/admin/clients?q={}", &client.id.as_str()[..8])).await.text();
    assert!(by_id.contains("Quote Sync"), "search by id");
    let page = root.get(&server, &format!("/admin/clients/{}", client.id)).await.text();
    assert!(
        page.contains("client.create")
            && page.contains("client.update")
            && page.contains("client.status")
    );

    // Delete, audited.
    let delete = [("csrf", csrf.as_str())];
    assert_eq!(
        root.post(&server, &format!("/admin/clients/{}/delete", client.id), &delete)
            .await
            .location(),
        "/admin/clients"
    );
    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    for action in ["client.create", "client.update", "client.status", "client.delete"] {
        assert!(
            audit.iter().any(|e| e.action == action && e.actor == "admin:root@example.com"),
            "{action}"
        );
    }
}

#[tokio::test]
async fn a_keys_page_charts_its_verifications_by_outcome() {
    let fixture = crate::api_keys::Fixture::start().await;
    let server = &fixture.server;
    admin(server, "root@example.com", &[AdminPermission::Keys]).await;
    // Two a minute, no burst: one now, the next in 30 s (GCRA), so two of three are refused.
    let spec = crate::api_keys::KeySpec { per_minute: 2, burst: None, ..Default::default() };
    let issued = fixture.issue(spec).await;
    for _ in 0..3 {
        fixture.verify(serde_json::json!({ "key": issued.key, "scope": "quote:read" })).await;
    }
    server.state.usage.flush(&server.state.store).await.unwrap();

    let mut root = signed_in(server, "root@example.com").await;
    let page = root.get(server, &format!("/admin/keys/{}", issued.id)).await.text();
    let today = portcullis_core::api_key::format_day(portcullis_core::api_key::day_of(
        portcullis::clock::unix_now(),
    ));
    assert!(page.contains("data-testid=\"key-chart\""));
    assert!(
        page.contains(&format!("{today} valid: 1"))
            && page.contains(&format!("{today} rate_limited: 2")),
        "{page}"
    );
    assert_eq!(root.get(server, "/admin/keys/no-such-key").await.status, StatusCode::NOT_FOUND);

    // The same numbers as CSV, for a chosen period; a period that runs backwards is a 400.
    let csv = root.get(server, &format!("/admin/keys/{}/usage.csv", issued.id)).await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text();
    assert!(text.starts_with("day,outcome,verifications\n"), "{text}");
    assert!(text.contains(&format!("{today},rate_limited,2\n")), "{text}");
    let earlier = format!("/admin/keys/{}?from=2025-01-01&to=2025-01-31", issued.id);
    let page = root.get(server, &earlier).await.text();
    assert!(page.contains("2025-01-01 to 2025-01-31") && !page.contains("rate_limited: 2"));
    let backwards = format!("/admin/keys/{}/usage.csv?from=2025-02-01&to=2025-01-01", issued.id);
    assert_eq!(root.get(server, &backwards).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_admin_turns_on_totp_and_then_needs_a_fresh_code_to_sign_in() {
    use portcullis_core::totp;
    let server = TestServer::start().await;
    admin(&server, "root@example.com", &[AdminPermission::Audit]).await;
    let mut browser = signed_in(&server, "root@example.com").await;

    let account = browser.get(&server, "/admin/account").await;
    assert!(account.text().contains("Off."));
    let csrf = csrf_of(&account);
    let setup =
        browser.post(&server, "/admin/account/totp/begin", &[("csrf", csrf.as_str())]).await.text();
    let marker = "data-testid=\"totp-secret\" class=\"mt-2 block break-all\">";
    let start = setup.find(marker).map(|i| i + marker.len()).expect(&setup);
    let secret = totp::base32_decode(setup[start..].split('<').next().unwrap()).unwrap();
    assert_eq!(secret.len(), 20, "160 bits");
    let code_now = || totp::code_at(&secret, portcullis::clock::unix_now() / totp::STEP_SECONDS);

    let wrong = [("csrf", csrf.as_str()), ("code", "000000")];
    let refused = browser.post(&server, "/admin/account/totp/confirm", &wrong).await;
    if code_now() != "000000" {
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    }
    let code = code_now();
    let right = [("csrf", csrf.as_str()), ("code", code.as_str())];
    assert!(browser
        .post(&server, "/admin/account/totp/confirm", &right)
        .await
        .text()
        .contains("The second factor is on."));

    // Signing in now stops after the password until a code comes.
    let mut fresh = Browser::default();
    let page = fresh.get(&server, "/admin/login").await;
    let csrf = csrf_of(&page);
    let form =
        [("csrf", csrf.as_str()), ("email", "root@example.com"), ("password", ADMIN_PASSWORD)];
    assert_eq!(fresh.post(&server, "/admin/login", &form).await.location(), "/admin/login/totp");
    assert_eq!(fresh.get(&server, "/admin").await.location(), "/admin/login", "not signed in yet");
    let bad = [("csrf", csrf.as_str()), ("code", "12345x")];
    assert_eq!(
        fresh.post(&server, "/admin/login/totp", &bad).await.location(),
        "/admin/login/totp?error=invalid"
    );
    // Confirming the setup does not spend a code; signing in does.
    let code = code_now();
    let good = [("csrf", csrf.as_str()), ("code", code.as_str())];
    assert_eq!(fresh.post(&server, "/admin/login/totp", &good).await.location(), "/admin");
    assert_eq!(fresh.get(&server, "/admin/audit").await.status, StatusCode::OK);

    // The same code cannot sign in a second time.
    let mut again = Browser::default();
    let page = again.get(&server, "/admin/login").await;
    let csrf = csrf_of(&page);
    let form =
        [("csrf", csrf.as_str()), ("email", "root@example.com"), ("password", ADMIN_PASSWORD)];
    again.post(&server, "/admin/login", &form).await;
    let reused = [("csrf", csrf.as_str()), ("code", code.as_str())];
    assert_eq!(
        again.post(&server, "/admin/login/totp", &reused).await.location(),
        "/admin/login/totp?error=invalid"
    );

    let audit = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "admin.totp.enable"));
    assert!(audit
        .iter()
        .any(|e| e.action == "admin.sign_in" && e.details.contains("\"second_factor\":true")));
    assert!(audit.iter().all(|e| !e.details.contains(&totp::base32(&secret))), "never the secret");
}

#[tokio::test]
async fn the_dashboard_points_at_rate_limits_and_what_is_about_to_expire() {
    let fixture = crate::api_keys::Fixture::start().await;
    let server = &fixture.server;
    admin(server, "root@example.com", &[AdminPermission::Clients]).await;
    let spec = crate::api_keys::KeySpec { per_minute: 1, burst: None, ..Default::default() };
    let issued = fixture.issue(spec).await;
    for _ in 0..3 {
        fixture.verify(serde_json::json!({ "key": issued.key })).await;
    }
    server.state.usage.flush(&server.state.store).await.unwrap();
    server.operator.rotate_client_secret(&fixture.owner.id, Some(48)).await.unwrap();
    // Two wrong secrets for a registered client, one for an id nobody registered.
    let wrong = TestClient { id: fixture.owner.id.clone(), secret: Some("pcs_wrong".into()) };
    let stranger = TestClient { id: "nobody".into(), secret: Some("pcs_wrong".into()) };
    for caller in [&wrong, &wrong, &stranger] {
        assert_eq!(server.token(caller, "quote:read").await.status, StatusCode::UNAUTHORIZED);
    }
    server.state.auth_failures.flush(&server.state.store).await.unwrap();

    let mut root = signed_in(server, "root@example.com").await;
    let text = root.get(server, "/admin").await.text();
    assert!(text.contains("3 failed client authentications today."), "{text}");
    let analytics = root.get(server, "/admin/analytics").await.text().replace("<!>", "");
    assert!(analytics.contains("<code>bad_secret</code>: 2"), "{analytics}");
    assert!(analytics.contains("<code>unknown_client</code>: 1"));
    assert!(text.contains("2 API-key verifications rate limited today."), "{text}");
    assert!(text.contains("stops working"), "the overlapping secret");
}

#[tokio::test]
async fn bulk_revocation_by_period_hits_the_tokens_issued_in_it() {
    let server = TestServer::start().await;
    server.scope("svc:read", &[], false).await;
    admin(&server, "root@example.com", &[AdminPermission::Clients]).await;
    let one = server.service_client("svc:read").await;
    let two = server.service_client("svc:read").await;
    let tokens =
        [server.access_token(&one, "svc:read").await, server.access_token(&two, "svc:read").await];
    let today = portcullis_core::api_key::format_day(portcullis_core::api_key::day_of(
        portcullis::clock::unix_now(),
    ));

    let mut root = signed_in(&server, "root@example.com").await;
    let old = root.get(&server, "/admin/revoke?from=2020-01-01&to=2020-01-31").await.text();
    assert!(old.contains("0 access tokens"), "nothing then");
    let preview = root.get(&server, &format!("/admin/revoke?from={today}&to={today}")).await;
    assert!(
        preview.text().contains("2 access tokens and 0 refresh tokens are live"),
        "{}",
        preview.text()
    );
    let csrf = csrf_of(&preview);
    let form = [
        ("csrf", csrf.as_str()),
        ("from", today.as_str()),
        ("to", today.as_str()),
        ("reason", "key leak"),
    ];
    assert!(root
        .post(&server, "/admin/revoke", &form)
        .await
        .text()
        .contains("revoked 2 access tokens"));
    assert_eq!(server.introspect(&one, &tokens[0]).await.json()["active"], false);
    assert_eq!(server.introspect(&two, &tokens[1]).await.json()["active"], false);
    assert_eq!(
        root.get(&server, "/admin/revoke?from=2026-12-05&to=2026-12-01").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn retention_prunes_old_entries_audits_itself_and_keeps_the_chain_verifiable() {
    let server = TestServer::start().await;
    let old = portcullis::clock::unix_now() - 40 * 86_400;
    for _ in 0..3 {
        let entry = portcullis_core::audit::NewAuditEntry {
            at: old,
            actor: "cli".into(),
            action: "scope.put".into(),
            target: "scope:old".into(),
            source_ip: None,
            details: serde_json::json!({}),
        };
        server.state.store.append_audit(&entry).await.unwrap();
    }
    admin(&server, "root@example.com", &[AdminPermission::Audit]).await;

    assert_eq!(server.operator.prune_audit(30).await.unwrap(), 3);
    let entries = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    assert!(entries.iter().all(|e| e.target != "scope:old"));
    assert!(entries
        .iter()
        .any(|e| e.action == "audit.prune" && e.details.contains("\"deleted\":3")));
    assert!(server.operator.verify_audit_chain().await.unwrap().is_ok());
    assert_eq!(server.operator.prune_audit(30).await.unwrap(), 0, "a second run finds nothing");
}

#[tokio::test]
async fn the_least_privilege_hint_covers_the_period_the_admin_chooses() {
    let server = TestServer::start().await;
    admin(&server, "root@example.com", &[AdminPermission::Clients]).await;
    server.scope("svc:read", &[], false).await;
    server.scope("svc:write", &[], false).await;
    let client = server.service_client("svc:read svc:write").await;
    assert_eq!(server.token(&client, "svc:read").await.status, StatusCode::OK);
    // A svc:write token from ten days ago: inside a 30-day period, outside a 7-day one.
    let ten_days_ago = portcullis::clock::unix_now() - 10 * 86_400;
    let old = portcullis_core::store::TokenRecord {
        jti: "old-write-token".into(),
        client_id: client.id.clone(),
        subject: client.id.clone(),
        scopes: "svc:write".into(),
        grant_type: portcullis_core::client::GrantType::ClientCredentials,
        issued_at: ten_days_ago,
        expires_at: ten_days_ago + 300,
        grant_id: None,
    };
    portcullis_core::store::TokenStore::record_tokens(&server.state.store, &[old]).await.unwrap();

    let mut root = signed_in(&server, "root@example.com").await;
    let path = format!("/admin/clients/{}", client.id);
    let month = root.get(&server, &path).await.text();
    assert!(month.contains("Every allowed scope was used in the last 30 days."), "{month}");
    let week = root.get(&server, &format!("{path}?unused_days=7")).await.text();
    assert!(week.contains("Not used in the last 7 days: svc:write."), "{week}");
    for bad in ["0", "367", "seven"] {
        let reply = root.get(&server, &format!("{path}?unused_days={bad}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn revocations_by_clients_and_on_replay_are_in_the_audit_log() {
    let flow = Flow::start().await;
    let code = flow.code(&mut Browser::default(), &[]).await;
    let tokens = flow.exchange(&code, crate::browser::VERIFIER).await.json();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // A rotated refresh token presented again revokes its family: audited as the server's act.
    assert_eq!(flow.refresh(&refresh, None).await.status, StatusCode::OK);
    crate::support::outlast_duplicate_window().await;
    assert_eq!(flow.refresh(&refresh, None).await.status, StatusCode::BAD_REQUEST);
    let audit = flow.server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    let replay = audit.iter().find(|e| e.action == "grant.revoke").expect("replay audited");
    assert_eq!(replay.actor, "server");
    assert!(replay.details.contains("refresh_token_replay"), "{}", replay.details);

    // The client revoking its own access token at /oauth2/revoke (RFC 7009).
    let code = flow.code(&mut Browser::default(), &[]).await;
    let fresh = flow.exchange(&code, crate::browser::VERIFIER).await.json();
    let access = fresh["access_token"].as_str().unwrap();
    let body = format!("token={access}");
    let reply = flow.server.post_form("/oauth2/revoke", Some(&flow.web.basic()), &body).await;
    assert_eq!(reply.status, StatusCode::OK);
    let audit = flow.server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    let revoked = audit.iter().find(|e| e.action == "token.revoke").expect("revocation audited");
    assert_eq!(revoked.actor, format!("client:{}", flow.web.id));
    assert!(!revoked.details.contains(access), "no token in the log");

    // Presenting it again changes nothing and audits nothing more.
    let reply = flow.server.post_form("/oauth2/revoke", Some(&flow.web.basic()), &body).await;
    assert_eq!(reply.status, StatusCode::OK);
    let again = flow.server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(again.iter().filter(|e| e.action == "token.revoke").count(), 1);
}

/// SECURITY.md I-03: every admin route, read or write, asked by an admin holding every
/// permission but the one it needs: 403, and nothing written (no audit entry by that admin but
/// its sign-in).
#[tokio::test]
async fn i03_every_admin_route_is_refused_without_its_permission() {
    let server = TestServer::start().await;
    server.insurance_scopes().await;
    let pending = pending_client(&server, "Queue").await;
    let active = server.service_client("quote:write").await;
    let request = portcullis_core::api_key::ApiKeyRequest {
        name: "Feed".into(),
        scopes: ScopeSet::parse_list("quote:read").unwrap(),
        rate_limit_per_minute: 60,
        burst: None,
        allowed_ips: vec![],
        expires_in_days: None,
    };
    let key = server
        .operator
        .create_api_key(&active.id, request, portcullis_core::api_key::ApiKeyStatus::Pending)
        .await
        .unwrap()
        .key
        .id;
    let user = portcullis::service::NewUser { username: "alice".into(), email: None, name: None };
    server.operator.create_user(user, "a user's passphrase".into()).await.unwrap();

    let (p, a, k) = (&pending.id, &active.id, &key);
    let routes: Vec<(AdminPermission, &str, String)> = vec![
        (AdminPermission::Clients, "GET", "/admin/clients".into()),
        (AdminPermission::Clients, "GET", "/admin/clients/new".into()),
        (AdminPermission::Clients, "GET", format!("/admin/clients/{a}")),
        (AdminPermission::Clients, "GET", format!("/admin/clients/{a}/edit")),
        (AdminPermission::Clients, "GET", "/admin/partners".into()),
        (AdminPermission::Clients, "GET", "/admin/analytics".into()),
        (AdminPermission::Clients, "GET", "/admin/analytics.csv".into()),
        (AdminPermission::Clients, "GET", format!("/admin/revoke?client_id={a}")),
        (AdminPermission::Clients, "POST", "/admin/clients".into()),
        (AdminPermission::Clients, "POST", format!("/admin/clients/{a}/edit")),
        (AdminPermission::Clients, "POST", format!("/admin/clients/{a}/status")),
        (AdminPermission::Clients, "POST", format!("/admin/clients/{a}/delete")),
        (AdminPermission::Clients, "POST", format!("/admin/clients/{a}/secret")),
        (AdminPermission::Clients, "POST", format!("/admin/clients/{p}/approve")),
        (AdminPermission::Clients, "POST", format!("/admin/clients/{p}/reject")),
        (AdminPermission::Clients, "POST", "/admin/revoke".into()),
        (AdminPermission::Keys, "GET", format!("/admin/keys/{k}")),
        (AdminPermission::Keys, "GET", format!("/admin/keys/{k}/usage.csv")),
        (AdminPermission::Keys, "POST", format!("/admin/clients/{a}/keys")),
        (AdminPermission::Keys, "POST", format!("/admin/keys/{k}/approve")),
        (AdminPermission::Keys, "POST", format!("/admin/keys/{k}/reject")),
        (AdminPermission::Keys, "POST", format!("/admin/keys/{k}/status")),
        (AdminPermission::Keys, "POST", format!("/admin/keys/{k}/rotate")),
        (AdminPermission::Users, "GET", "/admin/users".into()),
        (AdminPermission::Users, "GET", "/admin/users/alice".into()),
        (AdminPermission::Users, "POST", "/admin/users/alice/status".into()),
        (AdminPermission::Users, "POST", "/admin/users/alice/password".into()),
        (AdminPermission::Users, "POST", "/admin/users/alice/consents/revoke".into()),
        (AdminPermission::Scopes, "GET", "/admin/scopes".into()),
        (AdminPermission::Scopes, "POST", "/admin/scopes".into()),
        (AdminPermission::Audit, "GET", "/admin/audit".into()),
        (AdminPermission::Audit, "GET", "/admin/audit.csv".into()),
        (AdminPermission::Audit, "GET", "/admin/audit.jsonl".into()),
        (AdminPermission::Admins, "GET", "/admin/admins".into()),
        (AdminPermission::Admins, "POST", "/admin/admins".into()),
        (AdminPermission::Admins, "POST", "/admin/admins/permissions".into()),
        (AdminPermission::Admins, "POST", "/admin/admins/delete".into()),
    ];
    let mut browsers = Vec::new();
    for missing in AdminPermission::ALL {
        let email = format!("without-{}@example.com", missing.as_str().replace(':', "-"));
        let held: Vec<AdminPermission> =
            AdminPermission::ALL.iter().copied().filter(|p| p != missing).collect();
        admin(&server, &email, &held).await;
        browsers.push((*missing, email.clone(), signed_in(&server, &email).await));
    }
    // Fields every form could want, so a refusal is the permission and not a missing field.
    let fields = |csrf: &str| -> Vec<(String, String)> {
        [
            ("csrf", csrf),
            ("client_id", a.as_str()),
            ("reason", "probe"),
            ("scopes", "quote:read"),
            ("to", "disabled"),
            ("name", "Probe"),
            ("password", "a new long passphrase"),
            ("email", "root@example.com"),
            ("admin:audit", "on"),
            ("description", "probe"),
            ("rate_limit_per_minute", "10"),
            ("overlap_hours", "0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };

    for (needed, method, path) in &routes {
        let (_, email, browser) =
            browsers.iter_mut().find(|(missing, _, _)| missing == needed).unwrap();
        let reply = if *method == "GET" {
            browser.get(&server, path).await
        } else {
            let csrf = csrf_of(&browser.get(&server, "/admin/account").await);
            let form = fields(&csrf);
            let form: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.post(&server, path, &form).await
        };
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "I-03: {method} {path} as {email}");
    }

    // Nothing was written by any of them.
    let entries = server.state.store.list_audit(&AuditFilter::default()).await.unwrap();
    let written: Vec<_> = entries
        .iter()
        .filter(|e| e.actor.starts_with("admin:without-") && e.action != "admin.sign_in")
        .map(|e| format!("{} {}", e.actor, e.action))
        .collect();
    assert!(written.is_empty(), "I-03: refused actions changed something: {written:?}");
    let id = portcullis_core::client::ClientId::parse(p).unwrap();
    let still = server.state.store.get_client(&id).await.unwrap().unwrap();
    assert_eq!(still.status, ClientStatus::Pending);
}
