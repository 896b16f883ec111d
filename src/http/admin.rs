//! The admin portal under `/admin`: sign-in, the dashboard with the approval queue, client
//! approval and rejection, and the audit log. Its session cookie (`portcullis_admin`, path
//! `/admin`) is separate from end users'; every action re-reads the admin from the database and
//! checks the permission it needs on the server, then goes through the operator service, which
//! writes the audit entry.
//!
//! FIXME(admin-split): one file per area (sign-in, clients, keys, users, audit, analytics)
//! would read better than these ~2,000 lines; the split is mechanical and left for the next
//! portal work.

pub mod accounts;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_app::admin::{
    AuditFilterForm, AuditLine, ClientDetail, ClientForm, ClientLine, PartnerLine,
    PendingClientLine, RevocationCounts, ScopeLine, UserConsentLine, UserLine,
};
use portcullis_app::pages::Page;
use portcullis_core::admin::{Admin, AdminPermission};
use portcullis_core::api_key::{day_of, parse_day};
use portcullis_core::api_key::{ApiKey, ApiKeyStatus, VerifyOutcome};
use portcullis_core::audit::AuditEntry;
use portcullis_core::client::{Client, ClientStatus, ClientType};
use portcullis_core::partner::{Partner, PartnerStatus};
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::{
    AdminStore, ApiKeyStore, AuditFilter, AuditStore, ClientStore, TokenSelection, UserStore,
};
use portcullis_core::user::{User, UserStatus};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::form::{Form, FormBody};
use super::interaction::{message, page, see_other, unavailable};
use super::peer::PeerAddr;
use super::portal::{
    checked_form, client_form_from, csrf_ok, csrf_token, key_line, key_request_of, not_done,
    number, previous_secret_line, refusal, registration_of, renew_csrf, sign_in_error, utc,
};
use super::usage::{self, download, UsageQuery};
use super::AppState;
use crate::clock::unix_now;
use crate::login_throttle::{Guarded, LoginThrottle};
use crate::service::{Acting, AdminSignIn, ScopeInput, ServiceError};

const SESSION_ADMIN: &str = "admin";
/// Password checked, code still to come.
const SESSION_TOTP_PENDING: &str = "admin_totp_pending";
/// A second factor being set up: its sealed secret.
const SESSION_TOTP_ENROLMENT: &str = "admin_totp_enrolment";
/// How long the code step may follow the password step.
const TOTP_STEP_SECONDS: i64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AdminSession {
    admin_id: String,
    signed_in_at: i64,
}

/// The admin behind the session, re-read from the database so a permission taken away applies
/// to the very next request.
async fn signed_in_admin(state: &AppState, session: &Session) -> Result<Option<Admin>, Response> {
    let Ok(Some(signed_in)) = session.get::<AdminSession>(SESSION_ADMIN).await else {
        return Ok(None);
    };
    state.store.get_admin(&signed_in.admin_id).await.map_err(|err| {
        tracing::error!(error = %err, "admin lookup failed");
        unavailable()
    })
}

/// The admin, if signed in and holding `permission`; otherwise the answer to send instead.
async fn require(
    state: &AppState,
    session: &Session,
    permission: Option<AdminPermission>,
) -> Result<Admin, Response> {
    match signed_in_admin(state, session).await? {
        None => Err(see_other("/admin/login")),
        Some(admin) if permission.is_none_or(|p| admin.may(p)) => Ok(admin),
        Some(admin) => {
            tracing::warn!(admin = %admin.email, ?permission, "admin action refused");
            Err(message(
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your admin account does not have the permission this needs.",
            ))
        }
    }
}

/// What every admin form post checks first: its CSRF token, then the signed-in admin and the
/// permission the action needs.
async fn admin_form(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    body: &[u8],
    permission: Option<AdminPermission>,
) -> Result<(Form, Admin), Response> {
    let form = checked_form(session, headers, body).await?;
    let admin = require(state, session, permission).await?;
    Ok((form, admin))
}

fn acting(admin: &Admin, peer: &PeerAddr) -> Acting {
    Acting { actor: format!("admin:{}", admin.email), source_ip: Some(peer.to_string()) }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    error: Option<String>,
}

/// `GET /admin/login`.
pub async fn login_page(
    session: Session,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Response {
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let error = query.error.as_deref().map(|e| sign_in_error(e, "email"));
    page("Admin sign-in", Page::AdminLogin { csrf, error })
}

/// `POST /admin/login`: CSRF, the throttle (counted before the password check, as for end
/// users), argon2id off the executor, then a new session id.
pub async fn login_submit(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let Ok(form) = Form::parse(&headers, &body) else {
        return see_other("/admin/login?error=invalid");
    };
    if !csrf_ok(&session, &form).await {
        return see_other("/admin/login?error=expired");
    }
    let email = form.get("email").unwrap_or_default().trim().to_ascii_lowercase();
    let password = form.get("password").unwrap_or_default().to_owned();

    let operator = state.operator();
    let check = async {
        match operator.check_admin_password(&email, password).await {
            AdminSignIn::Admin(admin) => Some(admin),
            AdminSignIn::Refused => None,
        }
    };
    let throttle = LoginThrottle::new(&state.store);
    let (account, address) = (format!("admin:{email}"), format!("admin-ip:{peer}"));
    let admin = match throttle.guard(&account, &address, check).await {
        Ok(Guarded::Passed(admin)) => admin,
        Ok(Guarded::Locked) => return see_other("/admin/login?error=locked"),
        Ok(Guarded::Refused) => {
            tracing::info!(outcome = "bad_credentials", "admin sign-in refused");
            return see_other("/admin/login?error=invalid");
        }
        Err(err) => {
            tracing::error!(error = %err, "admin sign-in throttle unavailable");
            return unavailable();
        }
    };
    if session.cycle_id().await.is_err() {
        return unavailable();
    }
    if admin.totp_sealed.is_some() {
        // The password was right; the session is not signed in until the code is too.
        let pending = AdminSession { admin_id: admin.id.clone(), signed_in_at: unix_now() };
        if session.insert(SESSION_TOTP_PENDING, &pending).await.is_err() {
            return unavailable();
        }
        return see_other("/admin/login/totp");
    }
    complete_sign_in(&state, &session, &admin, &peer, false).await
}

/// Makes the session an admin session (a new CSRF token with it) and audits the sign-in.
async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    admin: &Admin,
    peer: &PeerAddr,
    second_factor: bool,
) -> Response {
    let signed_in = AdminSession { admin_id: admin.id.clone(), signed_in_at: unix_now() };
    if session.insert(SESSION_ADMIN, &signed_in).await.is_err() || !renew_csrf(session).await {
        return unavailable();
    }
    let operator = state.operator().acting_as(acting(admin, peer));
    let details = serde_json::json!({ "second_factor": second_factor });
    if let Err(err) =
        operator.audit("admin.sign_in", format!("admin:{}", admin.email), details).await
    {
        tracing::error!(error = %err, "could not audit an admin sign-in");
        return unavailable();
    }
    see_other("/admin")
}

/// `POST /admin/logout`.
pub async fn logout(session: Session, headers: HeaderMap, FormBody(body): FormBody) -> Response {
    if let Err(response) = checked_form(&session, &headers, &body).await {
        return response;
    }
    let _ = session.flush().await;
    see_other("/admin/login")
}

/// `GET /admin`: what needs a decision, and today's token counts.
pub async fn dashboard(State(state): State<AppState>, session: Session) -> Response {
    let admin = match require(&state, &session, None).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let clients = match state.store.list_clients().await {
        Ok(clients) => clients,
        Err(err) => {
            tracing::error!(error = %err, "client list failed");
            return unavailable();
        }
    };
    let mut pending = Vec::new();
    for client in clients.iter().filter(|c| c.status == ClientStatus::Pending) {
        match pending_line(&state, client).await {
            Ok(line) => pending.push(line),
            Err(response) => return response,
        }
    }
    let pending_partners = match state.operator().partners(Some(PartnerStatus::Pending)).await {
        Ok(partners) => partners.iter().map(partner_line).collect(),
        Err(err) => return refusal(err),
    };
    let midnight = unix_now() - unix_now().rem_euclid(86_400);
    let tokens_today = state.store.tokens_issued_since(midnight).await.unwrap_or_default();
    let keys = match state.store.list_api_keys(None).await {
        Ok(keys) => keys,
        Err(err) => {
            tracing::error!(error = %err, "key list failed");
            return unavailable();
        }
    };
    let pending_keys = if admin.may(AdminPermission::Keys) {
        keys.iter().filter(|k| k.status == ApiKeyStatus::Pending).map(key_line).collect()
    } else {
        Vec::new()
    };
    let attention = match attention(&state, &clients, &keys).await {
        Ok(lines) => lines,
        Err(response) => return response,
    };
    let data = Page::AdminDashboard {
        email: admin.email,
        csrf,
        pending,
        pending_keys,
        tokens_today,
        attention,
        pending_partners,
    };
    page("Admin", data)
}

/// A pending client for the approval queue, with what its partner said about it.
async fn pending_line(state: &AppState, client: &Client) -> Result<PendingClientLine, Response> {
    let failed = |err: portcullis_core::store::StoreError| {
        tracing::error!(error = %err, "client owner lookup failed");
        unavailable()
    };
    let owner = state.store.client_owner(client.id.as_str()).await.map_err(failed)?;
    let organisation = match &owner {
        Some(owner) => {
            state.store.organisation_name(&owner.organisation_id).await.map_err(failed)?
        }
        None => None,
    };
    Ok(PendingClientLine {
        client_id: client.id.to_string(),
        name: client.name.clone(),
        client_type: client.client_type.to_string(),
        scopes: client.allowed_scopes.to_wire(),
        organisation: organisation.unwrap_or_default(),
        description: owner.as_ref().map(|o| o.description.clone()).unwrap_or_default(),
        justification: owner.map(|o| o.justification).unwrap_or_default(),
    })
}

fn partner_line(partner: &Partner) -> PartnerLine {
    PartnerLine {
        partner_id: partner.id.clone(),
        email: partner.email.clone(),
        name: partner.name.clone(),
        // An invited account joins an existing organisation: the admin deciding must see that.
        organisation: match &partner.invited_by {
            Some(inviter) => format!("{}, joining on {inviter}'s invitation", partner.organisation),
            None => partner.organisation.clone(),
        },
        status: partner.status.to_string(),
        decision_reason: partner.decision_reason.clone().unwrap_or_default(),
        created_at: utc(partner.created_at),
    }
}

/// `GET /admin/partners` (`admin:clients`): every partner account and what may be done with it.
pub async fn partners_page(State(state): State<AppState>, session: Session) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Clients)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let mut partners = match state.operator().partners(None).await {
        Ok(partners) => partners,
        Err(err) => return refusal(err),
    };
    partners.sort_by_key(|p| (p.status != PartnerStatus::Pending, std::cmp::Reverse(p.created_at)));
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let partners = partners.iter().map(partner_line).collect();
    page("Partners", Page::AdminPartners { email: admin.email, csrf, partners })
}

/// `POST /admin/partners/{id}/approve` and `/reject` (`admin:clients`): the decision on a
/// pending account; a rejection needs a reason the partner reads at sign-in.
async fn decide_partner(
    state: AppState,
    session: Session,
    peer: PeerAddr,
    partner_id: String,
    headers: HeaderMap,
    body: axum::body::Bytes,
    approve: bool,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let reason = form.get("reason").unwrap_or_default();
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.decide_partner(&partner_id, approve, reason).await {
        Ok(_) => see_other("/admin/partners"),
        Err(err) => refusal(err),
    }
}

pub async fn approve_partner(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(partner_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    decide_partner(state, session, peer, partner_id, headers, body, true).await
}

pub async fn reject_partner(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(partner_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    decide_partner(state, session, peer, partner_id, headers, body, false).await
}

/// `POST /admin/partners/{id}/status` (`admin:clients`): `to` is `disabled` (its clients and
/// keys are disabled with it) or `active`.
pub async fn set_partner_status(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(partner_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let enabled = match form.get("to") {
        Some("active") => true,
        Some("disabled") => false,
        _ => return not_done("to is active or disabled."),
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.set_partner_enabled(&partner_id, enabled).await {
        Ok(_) => see_other("/admin/partners"),
        Err(err) => refusal(err),
    }
}

/// `POST /admin/clients/{id}/approve`: `scopes` may narrow the request, `reason` is required.
pub async fn approve_client(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let reason = form.get("reason").unwrap_or_default().trim().to_owned();
    if reason.is_empty() {
        return message(StatusCode::BAD_REQUEST, "Reason needed", "Say why, for the audit log.");
    }
    let scopes = match form.get("scopes").map(ScopeSet::parse_list).transpose() {
        Ok(scopes) => scopes,
        Err(err) => return message(StatusCode::BAD_REQUEST, "Invalid scopes", &err.to_string()),
    };
    let overlap = match number::<u32>(&form, "partner_overlap_hours") {
        Ok(overlap) => overlap,
        Err(problem) => return not_done(&problem),
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    let approved = operator.approve_client(&client_id, scopes, &reason, overlap).await;
    service_outcome(approved.map(|_| ()))
}

/// `POST /admin/clients/{id}/reject`.
pub async fn reject_client(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let reason = form.get("reason").unwrap_or_default().to_owned();
    let operator = state.operator().acting_as(acting(&admin, &peer));
    service_outcome(operator.reject_client(&client_id, &reason).await.map(|_| ()))
}

/// Back to the dashboard on success; the service's own words otherwise.
fn service_outcome(result: Result<(), ServiceError>) -> Response {
    match result {
        Ok(()) => see_other("/admin"),
        Err(err) => refusal(err),
    }
}

/// The store filter a form names; an unreadable date is the 400 message.
fn audit_filter(form: &AuditFilterForm, limit: u32) -> Result<AuditFilter, &'static str> {
    let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    let day = |value: &str| match value.trim() {
        "" => Ok(None),
        day => parse_day(day).map(Some).ok_or("Dates are YYYY-MM-DD."),
    };
    Ok(AuditFilter {
        actor: text(&form.actor),
        action: text(&form.action),
        target: text(&form.target),
        from: day(&form.from)?.map(|d| d * 86_400),
        // The whole "to" day is included.
        to: day(&form.to)?.map(|d| (d + 1) * 86_400 - 1),
        limit: Some(limit),
    })
}

/// Entries matching a filter, or the response explaining why there are none to show.
async fn audit_entries(
    state: &AppState,
    session: &Session,
    form: &AuditFilterForm,
    limit: u32,
) -> Result<(Admin, Vec<AuditEntry>), Response> {
    let admin = require(state, session, Some(AdminPermission::Audit)).await?;
    let filter = audit_filter(form, limit)
        .map_err(|problem| message(StatusCode::BAD_REQUEST, "Invalid filter", problem))?;
    let entries = state.store.list_audit(&filter).await.map_err(|err| {
        tracing::error!(error = %err, "audit read failed");
        unavailable()
    })?;
    Ok((admin, entries))
}

/// The most entries one page or export holds.
const AUDIT_PAGE_LIMIT: u32 = 500;
const AUDIT_EXPORT_LIMIT: u32 = 100_000;

/// `GET /admin/audit` (`admin:audit`): newest first, filtered by actor, action, target, time.
pub async fn audit_log(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(form): axum::extract::Query<AuditFilterForm>,
) -> Response {
    let (admin, entries) = match audit_entries(&state, &session, &form, AUDIT_PAGE_LIMIT).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let entries = entries.into_iter().map(audit_line).collect();
    page("Audit log", Page::AdminAudit { email: admin.email, csrf, filter: form, entries })
}

/// `GET /admin/audit.csv`: the filtered entries as CSV (every field quoted).
pub async fn audit_csv(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(form): axum::extract::Query<AuditFilterForm>,
) -> Response {
    let (_, entries) = match audit_entries(&state, &session, &form, AUDIT_EXPORT_LIMIT).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let quote = |field: &str| format!("\"{}\"", field.replace('"', "\"\""));
    let mut csv = String::from("id,at,actor,action,target,source_ip,details\n");
    for e in &entries {
        let fields = [
            e.id.to_string(),
            utc(e.at),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone(),
            e.source_ip.clone().unwrap_or_default(),
            e.details.clone(),
        ];
        csv.push_str(&fields.iter().map(|f| quote(f)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    download(csv, "text/csv; charset=utf-8", "audit.csv")
}

/// `GET /admin/audit.jsonl`: the filtered entries as JSON lines, with their chain hashes so an
/// export can be checked on its own.
pub async fn audit_jsonl(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(form): axum::extract::Query<AuditFilterForm>,
) -> Response {
    let (_, entries) = match audit_entries(&state, &session, &form, AUDIT_EXPORT_LIMIT).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut lines = String::new();
    for e in &entries {
        let line = serde_json::json!({
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "source_ip": e.source_ip,
            "details": serde_json::from_str::<serde_json::Value>(&e.details).unwrap_or_default(),
            "prev_hash": hex(&e.prev_hash),
            "hash": hex(&e.hash),
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    download(lines, "application/jsonl", "audit.jsonl")
}

/// A file download that is never cached.
/// An audit entry as the pages show it.
fn audit_line(e: AuditEntry) -> AuditLine {
    AuditLine {
        id: e.id,
        at: utc(e.at),
        actor: e.actor,
        action: e.action,
        target: e.target,
        source_ip: e.source_ip.unwrap_or_default(),
        details: e.details,
    }
}

#[derive(Deserialize, Default)]
pub struct RevokeQuery {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    username: String,
    /// A period instead (`YYYY-MM-DD`, both ends included): every token issued in it.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl RevokeQuery {
    fn of(form: &Form) -> Self {
        let get = |name: &str| form.get(name).unwrap_or_default().to_owned();
        Self {
            client_id: get("client_id"),
            username: get("username"),
            from: get("from"),
            to: get("to"),
        }
    }

    fn is_empty(&self) -> bool {
        [&self.client_id, &self.username, &self.from, &self.to].iter().all(|v| v.trim().is_empty())
    }

    /// What revoking this selection needs: a user's tokens `admin:users`; a client's, a
    /// period's or a malformed request's `admin:clients`.
    fn permission(&self) -> AdminPermission {
        if self.client_id.trim().is_empty() && !self.username.trim().is_empty() {
            AdminPermission::Users
        } else {
            AdminPermission::Clients
        }
    }
}

/// The selection a revocation form names (a client, a user or a period), with the words the
/// page shows for it. The caller has checked `RevokeQuery::permission` already.
async fn selection_of(
    state: &AppState,
    query: &RevokeQuery,
) -> Result<(TokenSelection, String), Response> {
    let (client_id, username) = (query.client_id.trim(), query.username.trim());
    let (from, to) = (query.from.trim(), query.to.trim());
    if client_id.is_empty() && username.is_empty() && !from.is_empty() && !to.is_empty() {
        let (Some(first), Some(last)) = (parse_day(from), parse_day(to)) else {
            return Err(not_done("Dates are YYYY-MM-DD."));
        };
        if first > last {
            return Err(not_done("The period must run forwards."));
        }
        let selection = TokenSelection::IssuedBetween(first * 86_400, (last + 1) * 86_400);
        let label = format!("tokens issued {from} to {to}");
        return Ok((selection, label));
    }
    match (client_id.is_empty(), username.is_empty()) {
        (false, true) => {
            let client = state.live.client(client_id).ok_or_else(|| {
                message(StatusCode::NOT_FOUND, "Not found", "There is no client with that id.")
            })?;
            let label = format!("client {}", client.name);
            Ok((TokenSelection::Client(client.id.to_string()), label))
        }
        (true, false) => {
            let user = state
                .store
                .find_user(username)
                .await
                .map_err(|_| unavailable())?
                .ok_or_else(|| {
                    message(StatusCode::NOT_FOUND, "Not found", "There is no user with that name.")
                })?;
            Ok((TokenSelection::User(user.id), format!("user {username}")))
        }
        _ => Err(message(
            StatusCode::BAD_REQUEST,
            "Choose one",
            "Give a client id, a username, or a period (from and to).",
        )),
    }
}

/// `GET /admin/revoke`: the form, and with a selection the count of live tokens it holds.
pub async fn revoke_page(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(query): axum::extract::Query<RevokeQuery>,
) -> Response {
    let admin = match require(&state, &session, None).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let mut preview = None;
    if !query.is_empty() {
        if let Err(response) = require(&state, &session, Some(query.permission())).await {
            return response;
        }
        let (selection, label) = match selection_of(&state, &query).await {
            Ok(found) => found,
            Err(response) => return response,
        };
        match state.operator().preview_revocation(&selection).await {
            Ok(count) => {
                preview = Some(RevocationCounts {
                    selection: label,
                    access: count.access,
                    refresh: count.refresh,
                })
            }
            Err(err) => return service_outcome(Err(err)),
        }
    }
    let page_data = Page::AdminRevoke {
        email: admin.email,
        csrf,
        client_id: query.client_id,
        username: query.username,
        from: query.from,
        to: query.to,
        preview,
        revoked: None,
    };
    page("Revoke tokens", page_data)
}

/// `POST /admin/revoke`: revokes, then shows how many tokens it hit.
pub async fn revoke_submit(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let form = match checked_form(&session, &headers, &body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let query = RevokeQuery::of(&form);
    // The permission first, from the shape of the request alone: looking the target up before
    // would tell strangers which users and clients exist (SECURITY.md I-01).
    let admin = match require(&state, &session, Some(query.permission())).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let (selection, label) = match selection_of(&state, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let reason = form.get("reason").unwrap_or_default();
    let operator = state.operator().acting_as(acting(&admin, &peer));
    let (jtis, count) = match operator.revoke_tokens(&selection, reason).await {
        Ok(done) => done,
        Err(err) => return service_outcome(Err(err)),
    };
    for jti in &jtis {
        state.introspection.invalidate(jti);
    }
    tracing::info!(admin = %admin.email, access = count.access, refresh = count.refresh, "bulk revocation");
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let page_data = Page::AdminRevoke {
        email: admin.email,
        csrf,
        client_id: query.client_id,
        username: query.username,
        from: query.from,
        to: query.to,
        preview: None,
        revoked: Some(RevocationCounts {
            selection: label,
            access: count.access,
            refresh: count.refresh,
        }),
    };
    page("Tokens revoked", page_data)
}

#[derive(Deserialize, Default)]
pub struct ClientSearch {
    #[serde(default)]
    q: String,
}

/// `GET /admin/clients` (`admin:clients`): every client, or those whose name or id contains
/// `q` (case-insensitive).
pub async fn clients_page(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(search): axum::extract::Query<ClientSearch>,
) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Clients)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let clients = match state.store.list_clients().await {
        Ok(clients) => clients,
        Err(err) => {
            tracing::error!(error = %err, "client list failed");
            return unavailable();
        }
    };
    let needle = search.q.trim().to_lowercase();
    let clients = clients
        .into_iter()
        .filter(|c| {
            needle.is_empty()
                || c.name.to_lowercase().contains(&needle)
                || c.id.as_str().to_lowercase().contains(&needle)
        })
        .map(|c| ClientLine {
            client_id: c.id.to_string(),
            name: c.name,
            client_type: c.client_type.to_string(),
            status: c.status.to_string(),
        })
        .collect();
    page("Clients", Page::AdminClients { email: admin.email, csrf, query: search.q, clients })
}

/// The client page's data: its keys only for admins who may manage keys.
async fn client_page_data(
    state: &AppState,
    admin: &Admin,
    client: &Client,
    unused_days: u32,
) -> Result<ClientDetail, Response> {
    let mut detail = client_detail(client);
    let since = unix_now() - i64::from(unused_days) * 86_400;
    let used = state.store.scopes_used_by(client.id.as_str(), since).await.map_err(|err| {
        tracing::error!(error = %err, "scope usage query failed");
        unavailable()
    })?;
    let unused: Vec<String> =
        client.allowed_scopes.iter().map(|s| s.to_string()).filter(|s| !used.contains(s)).collect();
    detail.unused_scopes = unused.join(" ");
    detail.unused_days = unused_days;
    let filter = AuditFilter {
        target: Some(format!("client:{}", client.id)),
        limit: Some(20),
        ..AuditFilter::default()
    };
    let history = state.store.list_audit(&filter).await.map_err(|err| {
        tracing::error!(error = %err, "audit read failed");
        unavailable()
    })?;
    detail.history = history.into_iter().map(audit_line).collect();
    if admin.may(AdminPermission::Keys) {
        let keys = state.store.list_api_keys(Some(&client.id)).await.map_err(|err| {
            tracing::error!(error = %err, "key list failed");
            unavailable()
        })?;
        detail.keys = Some(keys.iter().map(key_line).collect());
    }
    Ok(detail)
}

fn client_detail(client: &Client) -> ClientDetail {
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    ClientDetail {
        client_id: client.id.to_string(),
        name: client.name.clone(),
        client_type: client.client_type.to_string(),
        status: client.status.to_string(),
        auth_method: client.auth_method.to_string(),
        grant_types: grants.join(", "),
        scopes: client.allowed_scopes.to_wire(),
        redirect_uris: client.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect(),
        access_token_lifetime: client.access_token_lifetime,
        refresh_token_lifetime: client.refresh_token_lifetime,
        confidential: client.client_type == ClientType::Confidential,
        previous_secret: previous_secret_line(client),
        keys: None,
        unused_scopes: String::new(),
        unused_days: DEFAULT_UNUSED_DAYS,
        history: Vec::new(),
    }
}

/// The least-privilege hint's period when the admin has not chosen one (a report's display
/// default, not a protocol setting).
const DEFAULT_UNUSED_DAYS: u32 = 30;

#[derive(Deserialize, Default)]
pub struct ClientPageQuery {
    /// Days back the least-privilege hint looks for uses of each allowed scope.
    unused_days: Option<String>,
}

/// `GET /admin/clients/{id}` (`admin:clients`): configuration, status, and the old secret's
/// last use while an overlap runs.
pub async fn client_page(
    State(state): State<AppState>,
    session: Session,
    Path(client_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ClientPageQuery>,
) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Clients)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let unused_days = match query.unused_days.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_UNUSED_DAYS,
        Some(text) => match text.parse::<u32>() {
            Ok(days @ 1..=366) => days,
            _ => {
                let problem = "The period for unused scopes is a number of days from 1 to 366.";
                return message(StatusCode::BAD_REQUEST, "Invalid period", problem);
            }
        },
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let client = match state.operator().client(&client_id).await {
        Ok(client) => client,
        Err(err) => return service_outcome(Err(err)),
    };
    let detail = match client_page_data(&state, &admin, &client, unused_days).await {
        Ok(detail) => detail,
        Err(response) => return response,
    };
    let data =
        Page::AdminClient { email: admin.email, csrf, client: Box::new(detail), new_secret: None };
    page("Client", data)
}

/// `POST /admin/clients/{id}/secret`: a new secret, shown once on the page this answers with;
/// `overlap_hours` (optional) keeps the old one working that long.
pub async fn regenerate_secret(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let overlap = match form.get("overlap_hours").map(str::trim).filter(|h| !h.is_empty()) {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(hours) => Some(hours),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    "Not done",
                    "The overlap is a number of hours.",
                )
            }
        },
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    let secret = match operator.rotate_client_secret(&client_id, overlap).await {
        Ok(secret) => secret,
        Err(err) => return service_outcome(Err(err)),
    };
    let client = match operator.client(&client_id).await {
        Ok(client) => client,
        Err(err) => return service_outcome(Err(err)),
    };
    show_secret_once(&state, &session, &admin, &client, secret.expose()).await
}

/// `GET /admin/analytics` (`admin:clients`): usage of one client or all over a chosen period,
/// as charts drawn on the server and the tables behind them.
pub async fn analytics_page(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Clients)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let report = match usage::period_of(&query) {
        Ok(period) => usage::client_report(&state, period, query.client()).await,
        Err(response) => Err(response),
    };
    let report = match report {
        Ok(report) => report,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let client_id = query.client().unwrap_or_default().to_owned();
    page("Analytics", Page::AdminAnalytics { email: admin.email, csrf, client_id, report })
}

/// `GET /admin/analytics.csv?series=…`: one table of the same report (`tokens`, the default,
/// one row per day and grant type; `activity`; `scopes`; `auth_failures`).
pub async fn analytics_csv(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    if let Err(response) = require(&state, &session, Some(AdminPermission::Clients)).await {
        return response;
    }
    let report = match usage::period_of(&query) {
        Ok(period) => usage::client_report(&state, period, query.client()).await,
        Err(response) => Err(response),
    };
    match report {
        Ok(report) => usage::report_csv(&report, query.series.as_deref()),
        Err(response) => response,
    }
}

/// The client page with a just-issued secret or key on it, shown this once.
async fn show_secret_once(
    state: &AppState,
    session: &Session,
    admin: &Admin,
    client: &Client,
    secret: &str,
) -> Response {
    let detail = match client_page_data(state, admin, client, DEFAULT_UNUSED_DAYS).await {
        Ok(detail) => detail,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(session).await else { return unavailable() };
    let data = Page::AdminClient {
        email: admin.email.clone(),
        csrf,
        client: Box::new(detail),
        new_secret: Some(secret.to_owned()),
    };
    page("Client", data)
}

/// The key's client, for redirects back to its page.
async fn key_client(state: &AppState, key_id: &str) -> Result<ApiKey, Response> {
    state.operator().api_key(key_id).await.map_err(|err| service_outcome(Err(err)))
}

/// `POST /admin/clients/{id}/keys` (`admin:keys`): issues an active key, shown once.
pub async fn create_key(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Keys)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let request = match key_request_of(&form) {
        Ok(request) => request,
        Err(problem) => return not_done(&problem),
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    let created = match operator.create_api_key(&client_id, request, ApiKeyStatus::Active).await {
        Ok(created) => created,
        Err(err) => return service_outcome(Err(err)),
    };
    let client = match operator.client(&client_id).await {
        Ok(client) => client,
        Err(err) => return service_outcome(Err(err)),
    };
    show_secret_once(&state, &session, &admin, &client, created.secret.expose()).await
}

/// `POST /admin/keys/{id}/status` (`admin:keys`): `to` is active, disabled or revoked.
pub async fn set_key_status(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Keys)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let status = match form.get("to") {
        Some("active") => ApiKeyStatus::Active,
        Some("disabled") => ApiKeyStatus::Disabled,
        Some("revoked") => ApiKeyStatus::Revoked,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Not done",
                "Choose active, disabled or revoked.",
            )
        }
    };
    let key = match key_client(&state, &key_id).await {
        Ok(key) => key,
        Err(response) => return response,
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.set_api_key_status(&key_id, status).await {
        Ok(_) => see_other(&format!("/admin/clients/{}", key.client_id)),
        Err(err) => service_outcome(Err(err)),
    }
}

/// `POST /admin/keys/{id}/rotate` (`admin:keys`): a successor, shown once.
pub async fn rotate_key(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Keys)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let overlap = match number::<u32>(&form, "overlap_hours") {
        Ok(overlap) => overlap,
        Err(problem) => return not_done(&problem),
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    let created = match operator.rotate_api_key(&key_id, overlap).await {
        Ok(created) => created,
        Err(err) => return service_outcome(Err(err)),
    };
    let client = match operator.client(created.key.client_id.as_str()).await {
        Ok(client) => client,
        Err(err) => return service_outcome(Err(err)),
    };
    show_secret_once(&state, &session, &admin, &client, created.secret.expose()).await
}

/// `POST /admin/keys/{id}/approve` (`admin:keys`): may narrow scopes and lower the limit.
pub async fn approve_key(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Keys)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let limit = match number::<u32>(&form, "rate_limit_per_minute") {
        Ok(limit) => limit,
        Err(problem) => return not_done(&problem),
    };
    let scopes = match form
        .get("scopes")
        .filter(|s| !s.trim().is_empty())
        .map(ScopeSet::parse_list)
        .transpose()
    {
        Ok(scopes) => scopes,
        Err(err) => return message(StatusCode::BAD_REQUEST, "Invalid scopes", &err.to_string()),
    };
    let reason = form.get("reason").unwrap_or_default();
    let operator = state.operator().acting_as(acting(&admin, &peer));
    service_outcome(operator.approve_api_key(&key_id, scopes, limit, reason).await.map(|_| ()))
}

/// `POST /admin/keys/{id}/reject` (`admin:keys`).
pub async fn reject_key(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Keys)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let reason = form.get("reason").unwrap_or_default();
    let operator = state.operator().acting_as(acting(&admin, &peer));
    service_outcome(operator.reject_api_key(&key_id, reason).await.map(|_| ()))
}

fn user_line(user: &User) -> UserLine {
    UserLine {
        username: user.username.clone(),
        email: user.email.clone().unwrap_or_default(),
        name: user.name.clone().unwrap_or_default(),
        status: user.status.to_string(),
    }
}

/// `GET /admin/users` (`admin:users`).
pub async fn users_page(State(state): State<AppState>, session: Session) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Users)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let users = match state.operator().users().await {
        Ok(users) => users.iter().map(user_line).collect(),
        Err(err) => return service_outcome(Err(err)),
    };
    page("Users", Page::AdminUsers { email: admin.email, csrf, users })
}

/// The user page, with a notice about what was just done.
async fn user_page_with(
    state: &AppState,
    session: &Session,
    admin: Admin,
    username: &str,
    notice: Option<String>,
) -> Response {
    let operator = state.operator();
    let user = match operator.user(username).await {
        Ok(user) => user,
        Err(err) => return service_outcome(Err(err)),
    };
    let consents = match operator.consents_of(&user).await {
        Ok(consents) => consents,
        Err(err) => return service_outcome(Err(err)),
    };
    let consents = consents
        .into_iter()
        .map(|(client_id, scopes, at)| UserConsentLine {
            client_name: state
                .live
                .client(&client_id)
                .map_or_else(|| client_id.clone(), |c| c.name.clone()),
            client_id,
            scopes,
            granted_at: utc(at),
        })
        .collect();
    let Some(csrf) = csrf_token(session).await else { return unavailable() };
    let data =
        Page::AdminUser { email: admin.email, csrf, user: user_line(&user), consents, notice };
    page("User", data)
}

/// `GET /admin/users/{username}` (`admin:users`): the user and their remembered consents.
pub async fn user_page(
    State(state): State<AppState>,
    session: Session,
    Path(username): Path<String>,
) -> Response {
    match require(&state, &session, Some(AdminPermission::Users)).await {
        Ok(admin) => user_page_with(&state, &session, admin, &username, None).await,
        Err(response) => response,
    }
}

/// The checks every user action shares: CSRF, `admin:users`, and the operator acting for the
/// admin.
async fn user_action(
    state: &AppState,
    session: &Session,
    peer: &PeerAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, Admin, crate::service::Operator), Response> {
    let (form, admin) =
        admin_form(state, session, headers, body, Some(AdminPermission::Users)).await?;
    let operator = state.operator().acting_as(acting(&admin, peer));
    Ok((form, admin, operator))
}

/// `POST /admin/users/{username}/status`: `to` is active or disabled.
pub async fn set_user_status(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(username): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin, operator) = match user_action(&state, &session, &peer, &headers, &body).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let status = match form.get("to") {
        Some("active") => UserStatus::Active,
        Some("disabled") => UserStatus::Disabled,
        _ => return not_done("Choose active or disabled."),
    };
    if let Err(err) = operator.set_user_status(&username, status).await {
        return service_outcome(Err(err));
    }
    let notice = format!("{username} is now {status}.");
    user_page_with(&state, &session, admin, &username, Some(notice)).await
}

/// `POST /admin/users/{username}/password`: a new password the admin hands over.
pub async fn reset_user_password(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(username): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin, operator) = match user_action(&state, &session, &peer, &headers, &body).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let password = form.get("password").unwrap_or_default().to_owned();
    if let Err(err) = operator.reset_password(&username, password).await {
        return service_outcome(Err(err));
    }
    let notice = format!("The password of {username} was reset.");
    user_page_with(&state, &session, admin, &username, Some(notice)).await
}

/// `POST /admin/users/{username}/consents/revoke`: withdraws the consent and revokes what it
/// granted, as the user's own account page does.
pub async fn revoke_user_consent(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(username): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin, operator) = match user_action(&state, &session, &peer, &headers, &body).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let user = match operator.user(&username).await {
        Ok(user) => user,
        Err(err) => return service_outcome(Err(err)),
    };
    let client_id = form.get("client_id").unwrap_or_default();
    let jtis = match operator.withdraw_consent(&user, client_id).await {
        Ok(jtis) => jtis,
        Err(err) => return service_outcome(Err(err)),
    };
    for jti in &jtis {
        state.introspection.invalidate(jti);
    }
    let notice = format!("Consent withdrawn; {} access tokens revoked.", jtis.len());
    user_page_with(&state, &session, admin, &username, Some(notice)).await
}

/// `GET /admin/scopes` (`admin:scopes`): the registry with declared and expanded inheritance.
pub async fn scopes_page(State(state): State<AppState>, session: Session) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Scopes)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let registry = state.live.registry();
    let scopes = registry
        .iter()
        .map(|s| {
            let expands_to = registry.expand(&[s.name.clone()].into_iter().collect()).to_wire();
            ScopeLine {
                name: s.name.to_string(),
                description: s.description.clone(),
                category: s.category.clone().unwrap_or_default(),
                includes: s.includes.to_wire(),
                expands_to,
                requires_user: s.requires_user,
                public: s.public,
                built_in: s.built_in,
            }
        })
        .collect();
    page("Scopes", Page::AdminScopes { email: admin.email, csrf, scopes })
}

/// `POST /admin/scopes` (`admin:scopes`): creates or replaces one scope, with the same checks
/// as the CLI (the whole registry must stay valid: includes exist, no cycles).
pub async fn save_scope(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Scopes)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let input = ScopeInput {
        name: form.get("name").unwrap_or_default().trim().to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        category: form.get("category").map(str::to_owned),
        includes: form
            .get("includes")
            .unwrap_or_default()
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        requires_user: form.get("requires_user") == Some("true"),
        public: form.get("public") == Some("true"),
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.put_scopes(vec![input]).await {
        Ok(_) => see_other("/admin/scopes"),
        Err(err) => service_outcome(Err(err)),
    }
}

/// The client form's values from a client, for editing.
fn client_form_of(client: &Client) -> ClientForm {
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    let uris = |list: &[portcullis_core::redirect_uri::RedirectUri]| {
        list.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(",")
    };
    ClientForm {
        name: client.name.clone(),
        client_type: client.client_type.to_string(),
        grant_types: grants.join(","),
        scopes: client.allowed_scopes.to_wire(),
        redirect_uris: uris(&client.redirect_uris),
        post_logout_redirect_uris: uris(&client.post_logout_redirect_uris),
        token_auth_method: client.auth_method.to_string(),
        id_token_signing_alg: client
            .id_token_signing_alg
            .map(|a| a.to_string())
            .unwrap_or_default(),
        access_token_lifetime: client.access_token_lifetime.to_string(),
        refresh_token_lifetime: client.refresh_token_lifetime.to_string(),
    }
}

async fn client_form_page(
    session: &Session,
    admin: Admin,
    action: String,
    editing: bool,
    form: ClientForm,
    error: Option<String>,
) -> Response {
    let Some(csrf) = csrf_token(session).await else { return unavailable() };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let data = Page::AdminClientForm {
        email: admin.email,
        csrf,
        action,
        editing,
        form: Box::new(form),
        error,
    };
    let mut response = page("Client", data);
    *response.status_mut() = status;
    response
}

/// `GET /admin/clients/new` (`admin:clients`).
pub async fn new_client_page(State(state): State<AppState>, session: Session) -> Response {
    match require(&state, &session, Some(AdminPermission::Clients)).await {
        Ok(admin) => {
            client_form_page(
                &session,
                admin,
                "/admin/clients".into(),
                false,
                ClientForm::default(),
                None,
            )
            .await
        }
        Err(response) => response,
    }
}

/// `POST /admin/clients`: registers an active client; the secret is shown once.
pub async fn create_client(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let values = client_form_from(&form);
    let registration = match registration_of(&values) {
        Ok(registration) => registration,
        Err(problem) => {
            return client_form_page(
                &session,
                admin,
                "/admin/clients".into(),
                false,
                values,
                Some(problem),
            )
            .await
        }
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.create_client(registration, ClientStatus::Active).await {
        Ok(created) => match created.secret {
            Some(secret) => {
                show_secret_once(&state, &session, &admin, &created.client, secret.expose()).await
            }
            None => see_other(&format!("/admin/clients/{}", created.client.id)),
        },
        Err(ServiceError::Invalid(problem)) => {
            client_form_page(&session, admin, "/admin/clients".into(), false, values, Some(problem))
                .await
        }
        Err(err) => service_outcome(Err(err)),
    }
}

/// `GET /admin/clients/{id}/edit` (`admin:clients`).
pub async fn edit_client_page(
    State(state): State<AppState>,
    session: Session,
    Path(client_id): Path<String>,
) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Clients)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let client = match state.operator().client(&client_id).await {
        Ok(client) => client,
        Err(err) => return service_outcome(Err(err)),
    };
    let action = format!("/admin/clients/{}/edit", client.id);
    client_form_page(&session, admin, action, true, client_form_of(&client), None).await
}

/// `POST /admin/clients/{id}/edit`: replaces the registration, same checks as creating one.
pub async fn update_client(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let values = client_form_from(&form);
    let action = format!("/admin/clients/{client_id}/edit");
    let registration = match registration_of(&values) {
        Ok(registration) => registration,
        Err(problem) => {
            return client_form_page(&session, admin, action, true, values, Some(problem)).await
        }
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.update_client(&client_id, registration).await {
        Ok(client) => see_other(&format!("/admin/clients/{}", client.id)),
        Err(ServiceError::Invalid(problem)) => {
            client_form_page(&session, admin, action, true, values, Some(problem)).await
        }
        Err(err) => service_outcome(Err(err)),
    }
}

/// `POST /admin/clients/{id}/status`: `to` is active or disabled (pending clients are
/// approved or rejected instead).
pub async fn set_client_status(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let status = match form.get("to") {
        Some("active") => ClientStatus::Active,
        Some("disabled") => ClientStatus::Disabled,
        _ => return not_done("Choose active or disabled."),
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.set_client_status(&client_id, status).await {
        Ok(client) => see_other(&format!("/admin/clients/{}", client.id)),
        Err(err) => service_outcome(Err(err)),
    }
}

/// `POST /admin/clients/{id}/delete`.
pub async fn delete_client(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (_, admin) =
        match admin_form(&state, &session, &headers, &body, Some(AdminPermission::Clients)).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    match operator.delete_client(&client_id).await {
        Ok(()) => see_other("/admin/clients"),
        Err(err) => service_outcome(Err(err)),
    }
}

/// The key a key page names, with the report for the period its query names.
async fn key_usage_of(
    state: &AppState,
    key_id: &str,
    query: &UsageQuery,
) -> Result<(ApiKey, portcullis_app::charts::KeyUsageReport), Response> {
    let key = state.operator().api_key(key_id).await.map_err(|err| service_outcome(Err(err)))?;
    let period = usage::period_of(query)?;
    let report = usage::key_report(state, &key, period).await?;
    Ok((key, report))
}

/// `GET /admin/keys/{id}` (`admin:keys`): the key, its verifications per day by outcome over a
/// chosen period (30 days by default; rate-limit rejections among them), and the addresses it
/// came from.
pub async fn key_page(
    State(state): State<AppState>,
    session: Session,
    Path(key_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    let admin = match require(&state, &session, Some(AdminPermission::Keys)).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let (key, usage) = match key_usage_of(&state, &key_id, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    page("API key", Page::AdminKey { email: admin.email, csrf, key: key_line(&key), usage })
}

/// `GET /admin/keys/{id}/usage.csv` (`admin:keys`): the key page's numbers, one row per day
/// and outcome.
pub async fn key_usage_csv(
    State(state): State<AppState>,
    session: Session,
    Path(key_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    if let Err(response) = require(&state, &session, Some(AdminPermission::Keys)).await {
        return response;
    }
    match key_usage_of(&state, &key_id, &query).await {
        Ok((_, report)) => usage::key_csv(&report),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct TotpQuery {
    error: Option<String>,
}

/// `GET /admin/login/totp`: the code step, only right after a correct password.
pub async fn totp_page(
    session: Session,
    axum::extract::Query(query): axum::extract::Query<TotpQuery>,
) -> Response {
    if !matches!(session.get::<AdminSession>(SESSION_TOTP_PENDING).await, Ok(Some(_))) {
        return see_other("/admin/login");
    }
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let error = query.error.map(|e| match e.as_str() {
        "locked" => "Too many wrong codes. Wait a few minutes and sign in again.".to_owned(),
        _ => "That code is not right, or was already used.".to_owned(),
    });
    page("Second factor", Page::AdminTotpLogin { csrf, error })
}

/// `POST /admin/login/totp`: a code from the admin's authenticator, each code good once,
/// wrong codes throttled like passwords.
pub async fn totp_submit(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let form = match checked_form(&session, &headers, &body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let Ok(Some(pending)) = session.get::<AdminSession>(SESSION_TOTP_PENDING).await else {
        return see_other("/admin/login");
    };
    if unix_now() - pending.signed_in_at > TOTP_STEP_SECONDS {
        let _ = session.remove::<AdminSession>(SESSION_TOTP_PENDING).await;
        return see_other("/admin/login?error=expired");
    }
    let admin = match state.store.get_admin(&pending.admin_id).await {
        Ok(Some(admin)) => admin,
        Ok(None) => return see_other("/admin/login"),
        Err(_) => return unavailable(),
    };
    let throttle = LoginThrottle::new(&state.store);
    let keys = [format!("admin:{}:totp", admin.email), format!("admin-ip:{peer}")];
    let attempt = match throttle.begin(&keys, unix_now()).await {
        Ok(attempt) if attempt.allowed => attempt,
        Ok(_) => return see_other("/admin/login/totp?error=locked"),
        Err(_) => return unavailable(),
    };
    match state.operator().check_totp(&admin, form.get("code").unwrap_or_default()).await {
        Ok(true) => {}
        Ok(false) => {
            if let Err(err) = throttle.failed(&keys, unix_now()).await {
                tracing::error!(error = %err, "could not count a wrong admin code");
            }
            return see_other("/admin/login/totp?error=invalid");
        }
        Err(err) => return service_outcome(Err(err)),
    }
    if let Err(err) = throttle.succeeded(&attempt, &keys[0], &keys[1]).await {
        tracing::warn!(error = %err, "could not clear admin code failures");
    }
    let _ = session.remove::<AdminSession>(SESSION_TOTP_PENDING).await;
    complete_sign_in(&state, &session, &admin, &peer, true).await
}

async fn account_page_with(
    session: &Session,
    admin: &Admin,
    enrolment: Option<(String, String)>,
    notice: Option<String>,
) -> Response {
    let Some(csrf) = csrf_token(session).await else { return unavailable() };
    let data = Page::AdminAccount {
        email: admin.email.clone(),
        csrf,
        totp_on: admin.totp_sealed.is_some(),
        enrolment,
        notice,
    };
    page("Your admin account", data)
}

/// `GET /admin/account`: any signed-in admin, their own second factor.
pub async fn account_page(State(state): State<AppState>, session: Session) -> Response {
    match require(&state, &session, None).await {
        Ok(admin) => account_page_with(&session, &admin, None, None).await,
        Err(response) => response,
    }
}

/// `POST /admin/account/totp/begin`: a new secret, shown once, kept sealed in the session
/// until a code from it confirms.
pub async fn totp_begin(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (_, admin) = match admin_form(&state, &session, &headers, &body, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let enrolment = state.operator().begin_totp(&admin);
    if session.insert(SESSION_TOTP_ENROLMENT, &enrolment.sealed).await.is_err() {
        return unavailable();
    }
    let shown = (enrolment.secret_base32, enrolment.provisioning_uri);
    account_page_with(&session, &admin, Some(shown), None).await
}

/// `POST /admin/account/totp/confirm`: turns the second factor on.
pub async fn totp_confirm(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, admin) = match admin_form(&state, &session, &headers, &body, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(Some(sealed)) = session.get::<Vec<u8>>(SESSION_TOTP_ENROLMENT).await else {
        return not_done("Start the setup again.");
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    let code = form.get("code").unwrap_or_default();
    if let Err(err) = operator.confirm_totp(&admin, &sealed, code).await {
        return service_outcome(Err(err));
    }
    let _ = session.remove::<Vec<u8>>(SESSION_TOTP_ENROLMENT).await;
    let admin = match state.store.get_admin(&admin.id).await {
        Ok(Some(admin)) => admin,
        _ => return unavailable(),
    };
    account_page_with(&session, &admin, None, Some("The second factor is on.".into())).await
}

/// `POST /admin/account/totp/disable`.
pub async fn totp_disable(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (_, admin) = match admin_form(&state, &session, &headers, &body, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let operator = state.operator().acting_as(acting(&admin, &peer));
    if let Err(err) = operator.disable_totp(&admin).await {
        return service_outcome(Err(err));
    }
    let admin = Admin { totp_sealed: None, ..admin };
    account_page_with(&session, &admin, None, Some("The second factor is off.".into())).await
}

/// How far ahead the dashboard warns of keys and old secrets that stop working.
const EXPIRY_WARNING_SECONDS: i64 = 14 * 86_400;

/// The dashboard's "worth a look" lines: today's rate-limit rejections, active keys expiring
/// within two weeks, and replaced client secrets whose overlap ends within two weeks.
async fn attention(
    state: &AppState,
    clients: &[Client],
    keys: &[ApiKey],
) -> Result<Vec<String>, Response> {
    let now = unix_now();
    let rejected = state
        .store
        .verifications_on(day_of(now), VerifyOutcome::RateLimited)
        .await
        .map_err(|_| unavailable())?;
    let failed: u64 = state
        .store
        .auth_failures_between(day_of(now), day_of(now), None)
        .await
        .map_err(|_| unavailable())?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let mut lines = vec![
        format!("{failed} failed client authentications today."),
        format!("{rejected} API-key verifications rate limited today."),
    ];
    for key in keys.iter().filter(|k| k.status == ApiKeyStatus::Active) {
        if let Some(at) =
            key.expires_at.filter(|at| *at > now && *at - now < EXPIRY_WARNING_SECONDS)
        {
            lines.push(format!(
                "API key {} of client {} expires {}.",
                key.name,
                key.client_id,
                utc(at)
            ));
        }
    }
    for client in clients {
        if let Some(previous) = client
            .previous_secret
            .as_ref()
            .filter(|p| p.valid_until > now && p.valid_until - now < EXPIRY_WARNING_SECONDS)
        {
            lines.push(format!(
                "The old secret of client {} stops working {}.",
                client.name,
                utc(previous.valid_until)
            ));
        }
    }
    Ok(lines)
}
