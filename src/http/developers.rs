//! The developer portal under `/developers`: sign-up and sign-in for partner developers, their
//! console, client and key requests, and what they may do with what their organisation owns.
//! Its session cookie (`portcullis_partner`, path `/developers`) is separate from end users'
//! and admins'. Every request re-reads the partner (a disabled account is signed out at once),
//! and every id in a URL goes through the service's ownership check, which answers 404 for
//! anything another organisation owns (SECURITY.md I-04, I-05).

pub mod team;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_app::developers::{
    HistoryLine, NotificationLine, PartnerClientDetail, PartnerClientLine, PartnerHeader,
    ShownOnce, SignUpForm,
};
use portcullis_app::docs::{docs_title, DocsContext, EndpointDoc, ScopeDoc};
use portcullis_app::pages::Page;
use portcullis_core::client::{Client, ClientStatus, ClientType};
use portcullis_core::discovery;
use portcullis_core::partner::{Notification, Partner, PartnerClient, PartnerStatus};
use portcullis_core::store::{ApiKeyStore, AuditFilter, AuditStore};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::form::{Form, FormBody};
use super::interaction::{message, page, see_other, unavailable};
use super::peer::PeerAddr;
use super::portal::{
    checked_form, client_form_from, csrf_ok, csrf_token, key_line, key_request_of, number,
    previous_secret_line, refusal, registration_of, renew_csrf, sign_in_error, utc,
};
use super::usage::{self, UsageQuery};
use super::AppState;
use crate::clock::unix_now;
use crate::login_throttle::{Guarded, LoginThrottle};
use crate::service::{Acting, ClientRequest, PartnerSignIn, PartnerSignUp, SignUp};

const SESSION_PARTNER: &str = "partner";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartnerSession {
    partner_id: String,
    signed_in_at: i64,
}

/// The partner behind the session, re-read from the database; only an active account counts.
async fn signed_in_partner(
    state: &AppState,
    session: &Session,
) -> Result<Option<Partner>, Response> {
    let Ok(Some(signed_in)) = session.get::<PartnerSession>(SESSION_PARTNER).await else {
        return Ok(None);
    };
    let partner = state.store.get_partner(&signed_in.partner_id).await.map_err(|err| {
        tracing::error!(error = %err, "partner lookup failed");
        unavailable()
    })?;
    Ok(partner.filter(|p| p.status == PartnerStatus::Active))
}

/// The signed-in partner and the header every console page shows; otherwise the sign-in page.
async fn require(
    state: &AppState,
    session: &Session,
) -> Result<(Partner, PartnerHeader), Response> {
    let Some(partner) = signed_in_partner(state, session).await? else {
        return Err(see_other("/developers/login"));
    };
    let header = header_of(state, session, &partner).await?;
    Ok((partner, header))
}

async fn header_of(
    state: &AppState,
    session: &Session,
    partner: &Partner,
) -> Result<PartnerHeader, Response> {
    let unread =
        state.store.unread_notifications(&partner.organisation_id).await.map_err(|err| {
            tracing::error!(error = %err, "notification count failed");
            unavailable()
        })?;
    let Some(csrf) = csrf_token(session).await else { return Err(unavailable()) };
    Ok(PartnerHeader {
        email: partner.email.clone(),
        organisation: partner.organisation.clone(),
        csrf,
        unread: usize::try_from(unread).unwrap_or(usize::MAX),
    })
}

/// CSRF first, then the signed-in partner: what every console form post checks.
async fn partner_form(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, Partner, PartnerHeader), Response> {
    let form = checked_form(session, headers, body).await?;
    let (partner, header) = require(state, session).await?;
    Ok((form, partner, header))
}

fn acting(partner: &Partner, peer: &PeerAddr) -> Acting {
    Acting { actor: format!("partner:{}", partner.email), source_ip: Some(peer.to_string()) }
}

#[derive(Deserialize)]
pub struct ErrorQuery {
    error: Option<String>,
}

/// `GET /developers/signup`.
pub async fn signup_page(session: Session) -> Response {
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    page(
        "Create a developer account",
        Page::DevSignUp { csrf, error: None, form: SignUpForm::default() },
    )
}

/// `POST /developers/signup`: a pending account. The answer is the same whether or not the
/// email already had one, so the form reveals no accounts.
pub async fn signup_submit(
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
    let typed = SignUpForm {
        email: form.get("email").unwrap_or_default().trim().to_owned(),
        name: form.get("name").unwrap_or_default().trim().to_owned(),
        organisation: form.get("organisation").unwrap_or_default().trim().to_owned(),
    };
    let sign_up = PartnerSignUp {
        email: typed.email.clone(),
        name: typed.name.clone(),
        organisation: typed.organisation.clone(),
        password: form.get("password").unwrap_or_default().to_owned(),
        invitation: form.get("invitation").map(str::to_owned),
    };
    let acting =
        Acting { actor: format!("partner:{}", typed.email), source_ip: Some(peer.to_string()) };
    match state.operator().acting_as(acting).sign_up_partner(sign_up).await {
        Ok(SignUp::Created(_) | SignUp::AlreadyRegistered) => {
            let text = "Thank you. An administrator will look at your account; once it is \
                        approved you can sign in and request clients and keys.";
            page(
                "Account requested",
                Page::DevMessage {
                    header: None,
                    title: "Account requested".into(),
                    message: text.into(),
                },
            )
        }
        Err(crate::service::ServiceError::Invalid(problem)) => {
            let Some(csrf) = csrf_token(&session).await else { return unavailable() };
            let data = Page::DevSignUp { csrf, error: Some(problem), form: typed };
            with_status(page("Create a developer account", data), StatusCode::BAD_REQUEST)
        }
        Err(err) => refusal(err),
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// `GET /developers/login`.
pub async fn login_page(
    session: Session,
    axum::extract::Query(query): axum::extract::Query<ErrorQuery>,
) -> Response {
    let Some(csrf) = csrf_token(&session).await else { return unavailable() };
    let error = query.error.as_deref().map(|e| sign_in_error(e, "email"));
    page("Developer sign-in", Page::DevLogin { csrf, error })
}

/// `POST /developers/login`: CSRF, the throttle (counted before the password check), argon2id
/// off the executor; only then does the account's status speak, so an unknown email and a
/// wrong password look alike.
pub async fn login_submit(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let Ok(form) = Form::parse(&headers, &body) else {
        return see_other("/developers/login?error=invalid");
    };
    if !csrf_ok(&session, &form).await {
        return see_other("/developers/login?error=expired");
    }
    let email = form.get("email").unwrap_or_default().trim().to_ascii_lowercase();
    let password = form.get("password").unwrap_or_default().to_owned();

    let operator = state.operator();
    let check = async {
        match operator.check_partner_password(&email, password).await {
            PartnerSignIn::Partner(partner) => Some(*partner),
            PartnerSignIn::Refused => None,
        }
    };
    let throttle = LoginThrottle::new(&state.store);
    let (account, address) = (format!("partner:{email}"), format!("partner-ip:{peer}"));
    let partner = match throttle.guard(&account, &address, check).await {
        Ok(Guarded::Passed(partner)) => partner,
        Ok(Guarded::Locked) => return see_other("/developers/login?error=locked"),
        Ok(Guarded::Refused) => {
            tracing::info!(outcome = "bad_credentials", "partner sign-in refused");
            return see_other("/developers/login?error=invalid");
        }
        Err(err) => {
            tracing::error!(error = %err, "partner sign-in throttle unavailable");
            return unavailable();
        }
    };
    let refused = |title: &str, text: String| {
        page(
            "Developer sign-in",
            Page::DevMessage { header: None, title: title.into(), message: text },
        )
    };
    match partner.status {
        PartnerStatus::Active => {}
        PartnerStatus::Pending => {
            let text = "Your account awaits an administrator's approval.".to_owned();
            return refused("Not approved yet", text);
        }
        PartnerStatus::Rejected => {
            let reason = partner.decision_reason.clone().unwrap_or_default();
            return refused(
                "Account not approved",
                format!("Your account was not approved: {reason}"),
            );
        }
        PartnerStatus::Disabled => {
            let text = "Your account is disabled. Contact the platform's administrators.".into();
            return refused("Account disabled", text);
        }
    }

    let signed_in = PartnerSession { partner_id: partner.id.clone(), signed_in_at: unix_now() };
    if session.cycle_id().await.is_err()
        || session.insert(SESSION_PARTNER, &signed_in).await.is_err()
        || !renew_csrf(&session).await
    {
        return unavailable();
    }
    let operator = state.operator().acting_as(acting(&partner, &peer));
    let target = format!("partner:{}", partner.email);
    if let Err(err) = operator.audit("partner.sign_in", target, serde_json::json!({})).await {
        tracing::error!(error = %err, "could not audit a partner sign-in");
        return unavailable();
    }
    see_other("/developers/console")
}

/// `POST /developers/logout`.
pub async fn logout(session: Session, headers: HeaderMap, FormBody(body): FormBody) -> Response {
    if let Err(response) = checked_form(&session, &headers, &body).await {
        return response;
    }
    let _ = session.flush().await;
    see_other("/developers")
}

fn notification_line(n: Notification) -> NotificationLine {
    let link = match n.target.split_once(':') {
        Some(("client", id)) => format!("/developers/clients/{id}"),
        Some(("api_key", id)) => format!("/developers/keys/{id}"),
        _ => "/developers/console".to_owned(),
    };
    NotificationLine { at: utc(n.at), message: n.message, link, unread: n.read_at.is_none() }
}

/// `GET /developers/console` (also `/developers/clients`): the organisation's clients and its
/// latest notifications. Query parameters are ignored: the list is the organisation's, whatever
/// a URL asks for (SECURITY.md I-17).
pub async fn console(State(state): State<AppState>, session: Session) -> Response {
    let (partner, header) = match require(&state, &session).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let operator = state.operator();
    let (owned, notifications) =
        match (operator.owned_clients(&partner).await, operator.notifications(&partner).await) {
            (Ok(owned), Ok(notifications)) => (owned, notifications),
            (Err(err), _) | (_, Err(err)) => return refusal(err),
        };
    let clients = owned
        .into_iter()
        .map(|(client, owner)| PartnerClientLine {
            client_id: client.id.to_string(),
            name: client.name,
            status: client.status.to_string(),
            scopes: client.allowed_scopes.to_wire(),
            requested_at: utc(owner.requested_at),
        })
        .collect();
    let notifications = notifications.into_iter().take(5).map(notification_line).collect();
    page("Console", Page::DevConsole { header, clients, notifications })
}

/// `GET /developers/notifications`: every notification, then all marked read.
pub async fn notifications(State(state): State<AppState>, session: Session) -> Response {
    let (partner, header) = match require(&state, &session).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let operator = state.operator();
    let list = match operator.notifications(&partner).await {
        Ok(list) => list,
        Err(err) => return refusal(err),
    };
    if let Err(err) = operator.mark_notifications_read(&partner).await {
        return refusal(err);
    }
    let notifications = list.into_iter().map(notification_line).collect();
    page("Notifications", Page::DevNotifications { header, notifications })
}

/// The scopes a partner may see and ask for: the registry's public ones.
fn requestable_scopes(state: &AppState) -> Vec<String> {
    let registry = state.live.registry();
    registry.iter().filter(|d| d.public).map(|d| d.name.to_string()).collect()
}

/// `GET /developers/clients/new`.
pub async fn new_client_page(State(state): State<AppState>, session: Session) -> Response {
    let (_, header) = match require(&state, &session).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let data = Page::DevClientRequest {
        header,
        form: Box::default(),
        description: String::new(),
        justification: String::new(),
        scopes: requestable_scopes(&state),
        error: None,
    };
    page("Request a client", data)
}

/// `POST /developers/clients`: a pending client request. Only the registration fields and
/// the two texts are read; a posted status, owner or client id is ignored (SECURITY.md I-06,
/// I-09), and the registration is checked by the CLI's rules.
pub async fn request_client(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, partner, header) = match partner_form(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let typed = client_form_from(&form);
    let description = form.get("description").unwrap_or_default().trim().to_owned();
    let justification = form.get("justification").unwrap_or_default().trim().to_owned();
    let refused = |error: String, header: PartnerHeader| {
        let data = Page::DevClientRequest {
            header,
            form: Box::new(typed.clone()),
            description: description.clone(),
            justification: justification.clone(),
            scopes: requestable_scopes(&state),
            error: Some(error),
        };
        with_status(page("Request a client", data), StatusCode::BAD_REQUEST)
    };
    let registration = match registration_of(&typed) {
        Ok(registration) => registration,
        Err(problem) => return refused(problem, header),
    };
    let request = ClientRequest {
        registration,
        description: description.clone(),
        justification: justification.clone(),
    };
    let operator = state.operator().acting_as(acting(&partner, &peer));
    match operator.request_client(&partner, request).await {
        Ok(client) => see_other(&format!("/developers/clients/{}", client.id)),
        Err(crate::service::ServiceError::Invalid(problem)) => refused(problem, header),
        Err(err) => refusal(err),
    }
}

fn client_detail(client: &Client, owner: &PartnerClient) -> PartnerClientDetail {
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    let confidential_active =
        client.client_type == ClientType::Confidential && client.status == ClientStatus::Active;
    PartnerClientDetail {
        client_id: client.id.to_string(),
        name: client.name.clone(),
        description: owner.description.clone(),
        justification: owner.justification.clone(),
        status: client.status.to_string(),
        decision_reason: owner.decision_reason.clone().unwrap_or_default(),
        client_type: client.client_type.to_string(),
        auth_method: client.auth_method.to_string(),
        grant_types: grants.join(", "),
        scopes: client.allowed_scopes.to_wire(),
        redirect_uris: client.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect(),
        access_token_lifetime: client.access_token_lifetime,
        refresh_token_lifetime: client.refresh_token_lifetime,
        secret_to_reveal: confidential_active && owner.secret_revealed_at.is_none(),
        may_rotate_secret: confidential_active && owner.secret_revealed_at.is_some(),
        max_overlap_hours: owner.max_overlap_hours.unwrap_or(0),
        previous_secret: previous_secret_line(client),
        active: client.status == ClientStatus::Active,
    }
}

/// The client's audit entries, newest first, as its owner may see them (SECURITY.md I-16):
/// the partner's own organisation by name, administrators as a role, never the details.
async fn client_history(
    state: &AppState,
    partner: &Partner,
    client: &Client,
) -> Result<Vec<HistoryLine>, Response> {
    let filter = AuditFilter {
        target: Some(format!("client:{}", client.id)),
        limit: Some(20),
        ..AuditFilter::default()
    };
    let entries = state.store.list_audit(&filter).await.map_err(|err| {
        tracing::error!(error = %err, "audit read failed");
        unavailable()
    })?;
    let own = format!("partner:{}", partner.email);
    let by = |actor: &str| match actor {
        a if a == own => "you".to_owned(),
        a if a.starts_with("partner:") => "your organisation".to_owned(),
        a if a.starts_with("client:") => "the client".to_owned(),
        _ => "an administrator".to_owned(),
    };
    Ok(entries
        .into_iter()
        .map(|e| HistoryLine { at: utc(e.at), by: by(&e.actor), action: e.action })
        .collect())
}

/// The client page with an optional value shown once and a notice.
async fn client_page_with(
    state: &AppState,
    partner: &Partner,
    header: PartnerHeader,
    client_id: &str,
    query: &UsageQuery,
    shown_once: Option<ShownOnce>,
    notice: Option<String>,
) -> Response {
    let (client, owner) = match state.operator().owned_client(partner, client_id).await {
        Ok(found) => found,
        Err(err) => return refusal(err),
    };
    let period = match usage::period_of(query) {
        Ok(period) => period,
        Err(response) => return response,
    };
    let usage = match usage::client_report(state, period, Some(client.id.as_str())).await {
        Ok(report) => report,
        Err(response) => return response,
    };
    let keys = match state.store.list_api_keys(Some(&client.id)).await {
        Ok(keys) => keys.iter().map(key_line).collect(),
        Err(err) => {
            tracing::error!(error = %err, "key list failed");
            return unavailable();
        }
    };
    let history = match client_history(state, partner, &client).await {
        Ok(history) => history,
        Err(response) => return response,
    };
    let client = Box::new(client_detail(&client, &owner));
    let data = Page::DevClient { header, client, keys, usage, shown_once, notice, history };
    page("Client", data)
}

/// `GET /developers/clients/{id}`: status and the admin's reason, configuration, keys and
/// usage over a chosen period; 404 for any client the organisation does not own.
pub async fn client_page(
    State(state): State<AppState>,
    session: Session,
    Path(client_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    let (partner, header) = match require(&state, &session).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    client_page_with(&state, &partner, header, &client_id, &query, None, None).await
}

/// `GET /developers/clients/{id}/usage.csv?series=…`: a table of the client page's report.
pub async fn client_usage_csv(
    State(state): State<AppState>,
    session: Session,
    Path(client_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    let (partner, _) = match require(&state, &session).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let client = match state.operator().owned_client(&partner, &client_id).await {
        Ok((client, _)) => client,
        Err(err) => return refusal(err),
    };
    let report = match usage::period_of(&query) {
        Ok(period) => usage::client_report(&state, period, Some(client.id.as_str())).await,
        Err(response) => Err(response),
    };
    match report {
        Ok(report) => usage::report_csv(&report, query.series.as_deref()),
        Err(response) => response,
    }
}

/// `POST /developers/clients/{id}/secret`: the first secret of an approved client, once; after
/// that a rotation, with `overlap_hours` up to what the admin allowed.
pub async fn client_secret(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, partner, header) = match partner_form(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let operator = state.operator().acting_as(acting(&partner, &peer));
    // Ownership before anything about the form: a foreign id is a 404 however it is asked.
    if let Err(err) = operator.owned_client(&partner, &client_id).await {
        return refusal(err);
    }
    let overlap = match number::<u32>(&form, "overlap_hours") {
        Ok(overlap) => overlap,
        Err(problem) => return super::portal::not_done(&problem),
    };
    // The form says which it is, so a reload of the page that showed the first secret is a
    // refused second reveal, never a rotation that would kill the secret just shown.
    let first = match form.get("action") {
        Some("reveal") => true,
        Some("rotate") => false,
        _ => return super::portal::not_done("action is reveal or rotate."),
    };
    let secret = if first {
        operator.reveal_client_secret(&partner, &client_id).await
    } else {
        operator.partner_rotate_secret(&partner, &client_id, overlap).await
    };
    let secret = match secret {
        Ok(secret) => secret,
        Err(err) => return refusal(err),
    };
    let note = if first {
        "Use it with the client id at the token endpoint, the way the client is registered."
    } else {
        "The previous secret keeps working only for the overlap you chose."
    };
    let shown = ShownOnce {
        what: "client secret".into(),
        value: secret.expose().to_owned(),
        note: note.into(),
    };
    let query = UsageQuery::default();
    client_page_with(&state, &partner, header, &client_id, &query, Some(shown), None).await
}

/// `POST /developers/clients/{id}/keys`: a key request for an approved client of the
/// organisation; the key is shown once and works once an admin approves it.
pub async fn request_key(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, partner, header) = match partner_form(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // Ownership before anything about the form, so a foreign id is a 404 however it is asked
    // (SECURITY.md I-05).
    if let Err(err) = state.operator().owned_client(&partner, &client_id).await {
        return refusal(err);
    }
    let request = match key_request_of(&form) {
        Ok(request) => request,
        Err(problem) => return super::portal::not_done(&problem),
    };
    let operator = state.operator().acting_as(acting(&partner, &peer));
    let created = match operator.partner_request_key(&partner, &client_id, request).await {
        Ok(created) => created,
        Err(err) => return refusal(err),
    };
    let shown = ShownOnce {
        what: "API key".into(),
        value: created.secret.expose().to_owned(),
        note: "It works once an administrator approves the request; you will be notified.".into(),
    };
    let query = UsageQuery::default();
    client_page_with(&state, &partner, header, &client_id, &query, Some(shown), None).await
}

/// `POST /developers/clients/{id}/revoke-tokens`: every live token of the client, with a
/// reason; the page says how many.
pub async fn revoke_tokens(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, partner, header) = match partner_form(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let reason = form.get("reason").unwrap_or_default();
    let operator = state.operator().acting_as(acting(&partner, &peer));
    let (jtis, count) = match operator.partner_revoke_tokens(&partner, &client_id, reason).await {
        Ok(done) => done,
        Err(err) => return refusal(err),
    };
    for jti in &jtis {
        state.introspection.invalidate(jti);
    }
    let notice = format!("Revoked {} access and {} refresh tokens.", count.access, count.refresh);
    let query = UsageQuery::default();
    client_page_with(&state, &partner, header, &client_id, &query, None, Some(notice)).await
}

/// The key page with an optional value shown once.
async fn key_page_with(
    state: &AppState,
    partner: &Partner,
    header: PartnerHeader,
    key_id: &str,
    query: &UsageQuery,
    shown_once: Option<ShownOnce>,
) -> Response {
    let (key, owner) = match state.operator().owned_key(partner, key_id).await {
        Ok(found) => found,
        Err(err) => return refusal(err),
    };
    let usage = match usage::period_of(query) {
        Ok(period) => usage::key_report(state, &key, period).await,
        Err(response) => Err(response),
    };
    let usage = match usage {
        Ok(usage) => usage,
        Err(response) => return response,
    };
    let data = Page::DevKey {
        header,
        key: key_line(&key),
        usage,
        shown_once,
        max_overlap_hours: owner.max_overlap_hours.unwrap_or(0),
    };
    page("API key", data)
}

/// `GET /developers/keys/{id}`: the key's verifications by outcome over a chosen period.
pub async fn key_page(
    State(state): State<AppState>,
    session: Session,
    Path(key_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    let (partner, header) = match require(&state, &session).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    key_page_with(&state, &partner, header, &key_id, &query, None).await
}

/// `GET /developers/keys/{id}/usage.csv`.
pub async fn key_usage_csv(
    State(state): State<AppState>,
    session: Session,
    Path(key_id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<UsageQuery>,
) -> Response {
    let (partner, _) = match require(&state, &session).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let key = match state.operator().owned_key(&partner, &key_id).await {
        Ok((key, _)) => key,
        Err(err) => return refusal(err),
    };
    let report = match usage::period_of(&query) {
        Ok(period) => usage::key_report(&state, &key, period).await,
        Err(response) => Err(response),
    };
    match report {
        Ok(report) => usage::key_csv(&report),
        Err(response) => response,
    }
}

/// `POST /developers/keys/{id}/rotate`: a successor shown once; the old key keeps working for
/// `overlap_hours`, at most what the admin allowed.
pub async fn rotate_key(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (form, partner, header) = match partner_form(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let overlap = match number::<u32>(&form, "overlap_hours") {
        Ok(overlap) => overlap,
        Err(problem) => return super::portal::not_done(&problem),
    };
    let operator = state.operator().acting_as(acting(&partner, &peer));
    let created = match operator.partner_rotate_key(&partner, &key_id, overlap).await {
        Ok(created) => created,
        Err(err) => return refusal(err),
    };
    let shown = ShownOnce {
        what: "API key".into(),
        value: created.secret.expose().to_owned(),
        note: "This is the successor; the old key stops when the overlap you chose ends.".into(),
    };
    let query = UsageQuery::default();
    key_page_with(&state, &partner, header, &created.key.id, &query, Some(shown)).await
}

/// `POST /developers/keys/{id}/revoke`: final.
pub async fn revoke_key(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (_, partner, header) = match partner_form(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let operator = state.operator().acting_as(acting(&partner, &peer));
    if let Err(err) = operator.partner_revoke_key(&partner, &key_id).await {
        return refusal(err);
    }
    let query = UsageQuery::default();
    key_page_with(&state, &partner, header, &key_id, &query, None).await
}

/// `GET /developers`: the docs' home page.
pub async fn docs_home(State(state): State<AppState>, session: Session) -> Response {
    docs(&state, &session, "home").await
}

/// `GET /developers/docs/{slug}`: a guide or reference page; public, no sign-in needed.
pub async fn docs_page(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
) -> Response {
    docs(&state, &session, &slug).await
}

/// A docs page. The scope catalogue comes from the live registry (scopes kept out of discovery
/// are listed for signed-in partners only) and the endpoint reference from the live discovery
/// document, so neither can drift from what the server does.
async fn docs(state: &AppState, session: &Session, slug: &str) -> Response {
    let Some(title) = docs_title(slug) else {
        return message(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
    };
    let partner = match signed_in_partner(state, session).await {
        Ok(partner) => partner,
        Err(response) => return response,
    };
    // Only a signed-in reader has a sign-out form, and only then is a session worth storing:
    // anonymous readers and crawlers leave no session rows behind.
    let csrf = if partner.is_some() {
        let Some(csrf) = csrf_token(session).await else { return unavailable() };
        csrf
    } else {
        String::new()
    };

    let registry = state.live.registry();
    let scopes = if slug == "scopes" {
        registry
            .iter()
            .filter(|d| d.public || partner.is_some())
            .map(|d| {
                let mut includes: Vec<String> =
                    registry.expand(&d.includes).iter().map(|s| s.to_string()).collect();
                includes.sort();
                ScopeDoc {
                    name: d.name.to_string(),
                    description: d.description.clone(),
                    category: d.category.clone().unwrap_or_default(),
                    includes,
                    requires_user: d.requires_user,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let (endpoints, grant_types) =
        if slug == "endpoints" { endpoint_reference(state) } else { (Vec::new(), Vec::new()) };

    let context = DocsContext {
        issuer: state.config.issuer.clone(),
        partner: partner.map(|p| p.email),
        csrf,
    };
    let slug = slug.to_owned();
    page(title, Page::DevDocs { context, slug, scopes, endpoints, grant_types })
}

/// Every endpoint and URI the discovery document names, and its grant types.
fn endpoint_reference(state: &AppState) -> (Vec<EndpointDoc>, Vec<String>) {
    let registry = state.live.registry();
    let scopes = registry.iter().filter(|s| s.public).map(|s| s.name.to_string()).collect();
    let algorithms = state.live.keys().algorithms.clone();
    let document = discovery::metadata(&state.config.issuer, scopes, &algorithms);
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&document) else {
        return (Vec::new(), Vec::new());
    };
    let endpoints = fields
        .iter()
        .filter(|(name, _)| name.ends_with("_endpoint") || name.ends_with("_uri"))
        .filter_map(|(name, url)| {
            Some(EndpointDoc { name: name.clone(), url: url.as_str()?.to_owned() })
        })
        .collect();
    let grant_types = fields
        .get("grant_types_supported")
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    (endpoints, grant_types)
}
