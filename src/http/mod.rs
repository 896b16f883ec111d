//! The HTTP surface: protocol endpoints as thin axum handlers, plus the Leptos pages.
//!
//! Handlers parse the request, call the core, and map the result; the rules live in
//! `portcullis-core`. Request spans carry the route template, never the raw URI.

mod admin;
mod api_keys;
mod client_auth;
mod developers;
mod discovery;
mod form;
mod health;
mod interaction;
mod introspect;
mod limits;
mod oauth_error;
mod peer;
mod portal;
mod request_id;
mod revoke;
mod token;
mod usage;
mod userinfo;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath};
use axum::http::{header, HeaderValue, Request};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use portcullis_app::{shell, App};
use portcullis_core::discovery::paths;
use portcullis_core::keys::MasterKey;
use portcullis_core::secret::SecretHasher;
use portcullis_store::{GroupCommit, SqlStore};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::ServerConfig;
use crate::introspection_cache::IntrospectionCache;
use crate::live::Live;
use crate::rate_limiter::RateLimiter;
use crate::service::Operator;
use crate::session_store::SqlSessionStore;
use crate::signer::Signer;
use crate::throttle::FailureThrottle;
use crate::usage::UsageRecorder;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use api_keys::usage_json;
pub use form::MAX_FORM_BYTES;
pub use peer::PeerAddr;

/// Everything a handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<crate::metrics::Metrics>,
    pub config: Arc<ServerConfig>,
    pub store: SqlStore,
    pub tokens: GroupCommit,
    pub signer: Signer,
    pub live: Arc<Live>,
    pub hasher: SecretHasher,
    /// Opens sealed signing keys; the operator service needs it to add one.
    pub master_key: Arc<MasterKey>,
    pub introspection: Arc<IntrospectionCache>,
    pub throttles: Arc<Throttles>,
    pub rate_limiter: Arc<RateLimiter>,
    pub usage: Arc<UsageRecorder>,
    /// Failed client authentications, counted for the admin portal.
    pub auth_failures: Arc<crate::auth_failures::AuthFailureCounter>,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// The service layer over this server's store, as the CLI would build it.
    pub fn operator(&self) -> Operator {
        Operator {
            store: self.store.clone(),
            hasher: self.hasher.clone(),
            master_key: self.master_key.clone(),
            max_access_token_lifetime: self.config.storage.max_access_token_lifetime,
            acting: crate::service::Acting { actor: "server".into(), source_ip: None },
        }
    }
}

/// Failure throttles shared by the protocol endpoints.
pub struct Throttles {
    /// Keyed by client id and source address (SECURITY.md E-09).
    pub client_auth: FailureThrottle,
    /// Keyed by the calling client (SECURITY.md G-07).
    pub introspection_scans: FailureThrottle,
    /// Unknown API keys, keyed by source address (SECURITY.md J-17).
    pub api_key_guesses: FailureThrottle,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application: protocol routes, pages, static files, and the layers around them.
pub fn router(state: AppState) -> Router {
    let protocol = Router::new()
        .route("/.well-known/openid-configuration", get(discovery::metadata))
        .route("/.well-known/oauth-authorization-server", get(discovery::metadata))
        .route(paths::JWKS, get(discovery::jwks))
        .route(paths::TOKEN, post(token::token))
        .route(paths::INTROSPECT, post(introspect::introspect))
        .route(paths::REVOKE, post(revoke::revoke))
        .route("/api-keys/verify", post(api_keys::verify))
        .route("/api-keys/{key_id}/usage", get(api_keys::usage))
        .route(paths::USERINFO, get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES));

    // The routes a browser session belongs to; the machine endpoints above never touch it.
    let interaction = Router::new()
        .route(paths::AUTHORIZE, get(interaction::authorize_get).post(interaction::authorize_post))
        .route("/login", get(interaction::login_page).post(interaction::login_submit))
        .route("/consent", get(interaction::consent_page).post(interaction::consent_submit))
        .route("/account", get(interaction::account_page))
        .route("/account/consents/revoke", post(interaction::revoke_consent))
        .route(paths::END_SESSION, get(interaction::logout))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(session_layer(&state, "portcullis_session", "/", state.config.session_lifetime))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::forms));

    // The admin portal: its own session cookie, scoped to /admin.
    let admin_portal = Router::new()
        .route("/admin", get(admin::dashboard))
        .route("/admin/login", get(admin::login_page).post(admin::login_submit))
        .route("/admin/login/totp", get(admin::totp_page).post(admin::totp_submit))
        .route("/admin/account", get(admin::account_page))
        .route("/admin/account/totp/begin", post(admin::totp_begin))
        .route("/admin/account/totp/confirm", post(admin::totp_confirm))
        .route("/admin/account/totp/disable", post(admin::totp_disable))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/scopes", get(admin::scopes_page).post(admin::save_scope))
        .route("/admin/users", get(admin::users_page))
        .route("/admin/users/{username}", get(admin::user_page))
        .route("/admin/users/{username}/status", post(admin::set_user_status))
        .route("/admin/users/{username}/password", post(admin::reset_user_password))
        .route("/admin/users/{username}/consents/revoke", post(admin::revoke_user_consent))
        .route("/admin/clients", get(admin::clients_page).post(admin::create_client))
        .route("/admin/clients/new", get(admin::new_client_page))
        .route("/admin/clients/{client_id}", get(admin::client_page))
        .route(
            "/admin/clients/{client_id}/edit",
            get(admin::edit_client_page).post(admin::update_client),
        )
        .route("/admin/clients/{client_id}/status", post(admin::set_client_status))
        .route("/admin/clients/{client_id}/delete", post(admin::delete_client))
        .route("/admin/clients/{client_id}/secret", post(admin::regenerate_secret))
        .route("/admin/clients/{client_id}/keys", post(admin::create_key))
        .route("/admin/keys/{key_id}", get(admin::key_page))
        .route("/admin/keys/{key_id}/status", post(admin::set_key_status))
        .route("/admin/keys/{key_id}/rotate", post(admin::rotate_key))
        .route("/admin/keys/{key_id}/approve", post(admin::approve_key))
        .route("/admin/keys/{key_id}/reject", post(admin::reject_key))
        .route("/admin/clients/{client_id}/approve", post(admin::approve_client))
        .route("/admin/partners", get(admin::partners_page))
        .route("/admin/partners/{partner_id}/approve", post(admin::approve_partner))
        .route("/admin/partners/{partner_id}/reject", post(admin::reject_partner))
        .route("/admin/partners/{partner_id}/status", post(admin::set_partner_status))
        .route("/admin/clients/{client_id}/reject", post(admin::reject_client))
        .route(
            "/admin/admins",
            get(admin::accounts::admins_page).post(admin::accounts::create_admin),
        )
        .route("/admin/admins/permissions", post(admin::accounts::set_permissions))
        .route("/admin/admins/delete", post(admin::accounts::delete_admin))
        .route("/admin/audit", get(admin::audit_log))
        .route("/admin/audit.csv", get(admin::audit_csv))
        .route("/admin/audit.jsonl", get(admin::audit_jsonl))
        .route("/admin/analytics", get(admin::analytics_page))
        .route("/admin/analytics.csv", get(admin::analytics_csv))
        .route("/admin/keys/{id}/usage.csv", get(admin::key_usage_csv))
        .route("/admin/revoke", get(admin::revoke_page).post(admin::revoke_submit))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(session_layer(
            &state,
            "portcullis_admin",
            "/admin",
            state.config.admin_session_lifetime,
        ))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::forms));

    // The developer portal: its own session cookie, scoped to /developers.
    let developer_portal = Router::new()
        .route("/developers", get(developers::docs_home))
        .route("/developers/docs/{slug}", get(developers::docs_page))
        .route("/developers/signup", get(developers::signup_page).post(developers::signup_submit))
        .route("/developers/login", get(developers::login_page).post(developers::login_submit))
        .route("/developers/logout", post(developers::logout))
        .route("/developers/console", get(developers::console))
        .route("/developers/notifications", get(developers::notifications))
        .route("/developers/team", get(developers::team::team_page))
        .route("/developers/team/invitations", post(developers::team::invite))
        .route("/developers/clients", get(developers::console).post(developers::request_client))
        .route("/developers/clients/new", get(developers::new_client_page))
        .route("/developers/clients/{client_id}", get(developers::client_page))
        .route("/developers/clients/{client_id}/usage.csv", get(developers::client_usage_csv))
        .route("/developers/clients/{client_id}/secret", post(developers::client_secret))
        .route("/developers/clients/{client_id}/keys", post(developers::request_key))
        .route("/developers/clients/{client_id}/revoke-tokens", post(developers::revoke_tokens))
        .route("/developers/keys/{key_id}", get(developers::key_page))
        .route("/developers/keys/{key_id}/usage.csv", get(developers::key_usage_csv))
        .route("/developers/keys/{key_id}/rotate", post(developers::rotate_key))
        .route("/developers/keys/{key_id}/revoke", post(developers::revoke_key))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(session_layer(
            &state,
            "portcullis_partner",
            "/developers",
            state.config.session_lifetime,
        ))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::forms));

    let leptos_options = state.leptos_options.clone();
    let pages = generate_route_list(App);
    Router::new()
        .merge(protocol)
        .merge(interaction)
        .merge(admin_portal)
        .merge(developer_portal)
        .leptos_routes(&state, pages, move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Outside the trace layer, so the span has the id.
        .layer(axum::middleware::from_fn_with_state(state.clone(), request_id::assign))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

/// Browser sessions: stored in the database, cookie HttpOnly and SameSite=Lax, Secure whenever
/// the issuer is https, expiring after the configured inactivity or at the absolute end,
/// whichever comes first (src/session_store.rs). End users, admins and partners get separate
/// cookies, so no session ever stands in for another; admins get a shorter idle lifetime
/// (SECURITY.md I-15).
fn session_layer(
    state: &AppState,
    cookie: &'static str,
    path: &'static str,
    idle: std::time::Duration,
) -> SessionManagerLayer<SqlSessionStore> {
    let store = SqlSessionStore::new(
        state.store.clone(),
        state.hasher.clone(),
        state.config.session_absolute_lifetime,
    );
    let inactivity = tower_sessions::cookie::time::Duration::seconds(
        i64::try_from(idle.as_secs()).unwrap_or(i64::MAX),
    );
    SessionManagerLayer::new(store)
        .with_name(cookie)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.issuer.starts_with("https://"))
        .with_path(path)
        .with_expiry(Expiry::OnInactivity(inactivity))
}

/// A span named by the route template (`/oauth2/token`), so codes and tokens in query strings
/// never reach the logs.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let route =
        request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("unmatched");
    let id = request.extensions().get::<request_id::RequestId>().map_or("", |id| id.0.as_str());
    tracing::info_span!("request", method = %request.method(), route, request_id = id)
}
