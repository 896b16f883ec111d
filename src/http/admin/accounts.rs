//! `/admin/admins`: admin accounts managed from the portal. Every request here needs
//! `admin:admins`, checked on the server before anything is read (SECURITY.md I-03, I-14); the
//! work is the service layer's, shared with `portcullis admin …`, which audits it and keeps the
//! last holder of `admin:admins` (crates/store/src/admin.rs).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use portcullis_app::admin::accounts::{AdminAccountLine, PERMISSIONS};
use portcullis_app::pages::Page;
use portcullis_core::admin::{Admin, AdminPermission};
use tower_sessions::Session;

use super::{acting, admin_form, require};
use crate::http::form::{Form, FormBody};
use crate::http::interaction::{page, unavailable};
use crate::http::peer::PeerAddr;
use crate::http::portal::{csrf_token, not_done, refusal, utc};
use crate::http::AppState;
use crate::service::{Operator, ServiceError};

/// `GET /admin/admins`.
pub async fn admins_page(State(state): State<AppState>, session: Session) -> Response {
    match require(&state, &session, Some(AdminPermission::Admins)).await {
        Ok(admin) => render(&state, &session, admin, None).await,
        Err(response) => response,
    }
}

/// `POST /admin/admins`: a new admin with the permissions ticked and an initial password.
pub async fn create_admin(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin, operator) = match admins_form(&state, &session, &peer, &headers, &body).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let permissions = match ticked(&form) {
        Ok(permissions) => permissions,
        Err(problem) => return not_done(problem),
    };
    let email = form.get("email").unwrap_or_default().trim().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    let done = operator.create_admin(&email, password, permissions).await;
    let notice = done.map(|created| format!("{} can now sign in.", created.email));
    answer(&state, &session, admin, notice).await
}

/// `POST /admin/admins/permissions`: replaces one admin's permissions, possibly the signed-in
/// admin's own (an admin may give up `admin:admins` while another holds it).
pub async fn set_permissions(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin, operator) = match admins_form(&state, &session, &peer, &headers, &body).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let permissions = match ticked(&form) {
        Ok(permissions) => permissions,
        Err(problem) => return not_done(problem),
    };
    let email = form.get("email").unwrap_or_default();
    let done = operator.set_admin_permissions(email, permissions).await;
    let notice = done.map(|changed| format!("{} now holds {}.", changed.email, wire(&changed)));
    answer(&state, &session, admin, notice).await
}

/// `POST /admin/admins/delete`.
pub async fn delete_admin(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin, operator) = match admins_form(&state, &session, &peer, &headers, &body).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let email = form.get("email").unwrap_or_default();
    let notice = operator.delete_admin(email).await.map(|()| format!("{email} was deleted."));
    answer(&state, &session, admin, notice).await
}

/// What every post here starts from: its CSRF token checked, the signed-in admin holding
/// `admin:admins`, and the service acting in that admin's name.
async fn admins_form(
    state: &AppState,
    session: &Session,
    peer: &PeerAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, Admin, Operator), Response> {
    let (form, admin) =
        admin_form(state, session, headers, body, Some(AdminPermission::Admins)).await?;
    let operator = state.operator().acting_as(acting(&admin, peer));
    Ok((form, admin, operator))
}

/// The page again with what was done, or the service's refusal.
async fn answer(
    state: &AppState,
    session: &Session,
    admin: Admin,
    done: Result<String, ServiceError>,
) -> Response {
    match done {
        Ok(notice) => render(state, session, admin, Some(notice)).await,
        Err(err) => refusal(err),
    }
}

/// The permissions ticked on a form: each box is its own field, so an unknown field name is
/// ignored like any other stray field, and none ticked is the admin's mistake to fix.
fn ticked(form: &Form) -> Result<BTreeSet<AdminPermission>, &'static str> {
    let names =
        PERMISSIONS.iter().map(|(name, _)| *name).filter(|name| form.get(name) == Some("on"));
    let permissions: BTreeSet<AdminPermission> =
        names.filter_map(|name| name.parse().ok()).collect();
    if permissions.is_empty() {
        return Err("Tick at least one permission: an admin who may do nothing is a mistake.");
    }
    Ok(permissions)
}

fn wire(admin: &Admin) -> String {
    admin.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
}

async fn render(
    state: &AppState,
    session: &Session,
    admin: Admin,
    notice: Option<String>,
) -> Response {
    let Some(csrf) = csrf_token(session).await else { return unavailable() };
    let admins = match state.operator().admins().await {
        Ok(admins) => admins.iter().map(line).collect(),
        Err(err) => return refusal(err),
    };
    page("Admins", Page::AdminAccounts { email: admin.email, csrf, admins, notice })
}

fn line(admin: &Admin) -> AdminAccountLine {
    AdminAccountLine {
        email: admin.email.clone(),
        permissions: admin.permissions.iter().map(|p| p.as_str().to_owned()).collect(),
        totp: admin.totp_sealed.is_some(),
        created_at: utc(admin.created_at),
    }
}
