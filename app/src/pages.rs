//! The end-user pages: sign-in, consent, account and messages. Each is a plain HTML form that
//! posts to the server, so it works with no JavaScript at all. The server renders a [`Page`]
//! and embeds it as JSON; when the wasm bundle loads, [`hydrate_page`] reads it back and
//! hydrates the same view, which then guards its forms against double submission.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::admin::{
    AdminAnalyticsPage, AdminAuditPage, AdminClientPage, AdminClientsPage, AdminDashboardPage,
    AdminLoginPage, AdminRevokePage, AdminScopesPage, AdminUserPage, AdminUsersPage,
    AuditFilterForm, AuditLine, ClientDetail, ClientForm, ClientLine, KeyLine, PartnerLine,
    PendingClientLine, RevocationCounts, UserConsentLine, UserLine,
};

use crate::admin::accounts::{AdminAccountLine, AdminAccountsPage};
use crate::charts::{KeyUsageReport, UsageReport};
use crate::developers::team::{DevTeamPage, MemberLine};
use crate::developers::{
    DevClientPage, DevClientRequestPage, DevConsolePage, DevKeyPage, DevLoginPage, DevMessagePage,
    DevNotificationsPage, DevSignUpPage, HistoryLine, NotificationLine, PartnerClientDetail,
    PartnerClientLine, PartnerHeader, ShownOnce, SignUpForm,
};
use crate::docs::{DocsContext, DocsPage, EndpointDoc, ScopeDoc};

/// Id of the `<script type="application/json">` that carries the page's props to the browser.
const PAGE_DATA_ID: &str = "portcullis-page";

/// Every end-user page with the data it shows. Serialised into the document so the browser
/// hydrates exactly what the server rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "page", rename_all = "snake_case")]
pub enum Page {
    Login {
        client_name: Option<String>,
        csrf: String,
        error: Option<String>,
        username: String,
    },
    Consent {
        client_name: String,
        username: String,
        scopes: Vec<ScopeLine>,
        csrf: String,
        /// Which pending request the decision is for.
        request: String,
    },
    Account {
        username: String,
        consents: Vec<ConsentLine>,
        csrf: String,
    },
    Message {
        title: String,
        message: String,
    },
    AdminLogin {
        csrf: String,
        error: Option<String>,
    },
    AdminDashboard {
        email: String,
        csrf: String,
        pending: Vec<PendingClientLine>,
        pending_keys: Vec<KeyLine>,
        tokens_today: Vec<(String, u64)>,
        attention: Vec<String>,
        pending_partners: Vec<PartnerLine>,
    },
    AdminPartners {
        email: String,
        csrf: String,
        partners: Vec<PartnerLine>,
    },
    AdminAudit {
        email: String,
        csrf: String,
        filter: AuditFilterForm,
        entries: Vec<AuditLine>,
    },
    AdminClients {
        email: String,
        csrf: String,
        query: String,
        clients: Vec<ClientLine>,
    },
    AdminClient {
        email: String,
        csrf: String,
        /// Boxed: by far the largest page, and the enum is moved around whole.
        client: Box<ClientDetail>,
        new_secret: Option<String>,
    },
    AdminAnalytics {
        email: String,
        csrf: String,
        client_id: String,
        report: UsageReport,
    },
    AdminUsers {
        email: String,
        csrf: String,
        users: Vec<UserLine>,
    },
    AdminAccounts {
        email: String,
        csrf: String,
        admins: Vec<AdminAccountLine>,
        notice: Option<String>,
    },
    AdminUser {
        email: String,
        csrf: String,
        user: UserLine,
        consents: Vec<UserConsentLine>,
        notice: Option<String>,
    },
    AdminScopes {
        email: String,
        csrf: String,
        scopes: Vec<crate::admin::ScopeLine>,
    },
    AdminClientForm {
        email: String,
        csrf: String,
        action: String,
        editing: bool,
        form: Box<crate::admin::ClientForm>,
        error: Option<String>,
    },
    AdminKey {
        email: String,
        csrf: String,
        key: KeyLine,
        usage: KeyUsageReport,
    },
    DevDocs {
        context: DocsContext,
        slug: String,
        scopes: Vec<ScopeDoc>,
        endpoints: Vec<EndpointDoc>,
        grant_types: Vec<String>,
    },
    DevSignUp {
        csrf: String,
        error: Option<String>,
        form: SignUpForm,
    },
    DevLogin {
        csrf: String,
        error: Option<String>,
    },
    DevMessage {
        header: Option<PartnerHeader>,
        title: String,
        message: String,
    },
    DevConsole {
        header: PartnerHeader,
        clients: Vec<PartnerClientLine>,
        notifications: Vec<NotificationLine>,
    },
    DevNotifications {
        header: PartnerHeader,
        notifications: Vec<NotificationLine>,
    },
    DevTeam {
        header: PartnerHeader,
        members: Vec<MemberLine>,
        shown_once: Option<ShownOnce>,
    },
    DevClientRequest {
        header: PartnerHeader,
        form: Box<ClientForm>,
        description: String,
        justification: String,
        scopes: Vec<String>,
        error: Option<String>,
    },
    DevClient {
        header: PartnerHeader,
        client: Box<PartnerClientDetail>,
        keys: Vec<KeyLine>,
        usage: UsageReport,
        shown_once: Option<ShownOnce>,
        notice: Option<String>,
        history: Vec<HistoryLine>,
    },
    DevKey {
        header: PartnerHeader,
        key: KeyLine,
        usage: KeyUsageReport,
        shown_once: Option<ShownOnce>,
        max_overlap_hours: u32,
    },
    AdminTotpLogin {
        csrf: String,
        error: Option<String>,
    },
    AdminAccount {
        email: String,
        csrf: String,
        totp_on: bool,
        enrolment: Option<(String, String)>,
        notice: Option<String>,
    },
    AdminRevoke {
        email: String,
        csrf: String,
        client_id: String,
        username: String,
        from: String,
        to: String,
        preview: Option<RevocationCounts>,
        revoked: Option<RevocationCounts>,
    },
}

impl Page {
    pub fn view(self) -> AnyView {
        match self {
            Page::Login { client_name, csrf, error, username } => {
                view! { <LoginPage client_name csrf error username/> }.into_any()
            }
            Page::Consent { client_name, username, scopes, csrf, request } => {
                view! { <ConsentPage client_name username scopes csrf request/> }.into_any()
            }
            Page::Account { username, consents, csrf } => {
                view! { <AccountPage username consents csrf/> }.into_any()
            }
            Page::Message { title, message } => view! { <MessagePage title message/> }.into_any(),
            Page::AdminLogin { csrf, error } => view! { <AdminLoginPage csrf error/> }.into_any(),
            Page::AdminDashboard {
                email,
                csrf,
                pending,
                pending_keys,
                tokens_today,
                attention,
                pending_partners,
            } => view! {
                <AdminDashboardPage
                    email csrf pending pending_keys tokens_today attention pending_partners
                />
            }
            .into_any(),
            Page::AdminPartners { email, csrf, partners } => {
                view! { <crate::admin::AdminPartnersPage email csrf partners/> }.into_any()
            }
            Page::AdminAudit { email, csrf, filter, entries } => {
                view! { <AdminAuditPage email csrf filter entries/> }.into_any()
            }
            Page::AdminClients { email, csrf, query, clients } => {
                view! { <AdminClientsPage email csrf query clients/> }.into_any()
            }
            Page::AdminClient { email, csrf, client, new_secret } => {
                view! { <AdminClientPage email csrf client=*client new_secret/> }.into_any()
            }
            Page::AdminAnalytics { email, csrf, client_id, report } => {
                view! { <AdminAnalyticsPage email csrf client_id report/> }.into_any()
            }
            Page::AdminUsers { email, csrf, users } => {
                view! { <AdminUsersPage email csrf users/> }.into_any()
            }
            Page::AdminAccounts { email, csrf, admins, notice } => {
                view! { <AdminAccountsPage email csrf admins notice/> }.into_any()
            }
            Page::AdminUser { email, csrf, user, consents, notice } => {
                view! { <AdminUserPage email csrf user consents notice/> }.into_any()
            }
            Page::AdminScopes { email, csrf, scopes } => {
                view! { <AdminScopesPage email csrf scopes/> }.into_any()
            }
            Page::AdminClientForm { email, csrf, action, editing, form, error } => view! {
                <crate::admin::AdminClientFormPage email csrf action editing form=*form error/>
            }
            .into_any(),
            Page::AdminKey { email, csrf, key, usage } => {
                view! { <crate::admin::AdminKeyPage email csrf key usage/> }.into_any()
            }
            Page::DevDocs { context, slug, scopes, endpoints, grant_types } => {
                view! { <DocsPage context slug scopes endpoints grant_types/> }.into_any()
            }
            Page::DevSignUp { csrf, error, form } => {
                view! { <DevSignUpPage csrf error form/> }.into_any()
            }
            Page::DevLogin { csrf, error } => view! { <DevLoginPage csrf error/> }.into_any(),
            Page::DevMessage { header, title, message } => {
                view! { <DevMessagePage header title message/> }.into_any()
            }
            Page::DevConsole { header, clients, notifications } => {
                view! { <DevConsolePage header clients notifications/> }.into_any()
            }
            Page::DevNotifications { header, notifications } => {
                view! { <DevNotificationsPage header notifications/> }.into_any()
            }
            Page::DevTeam { header, members, shown_once } => {
                view! { <DevTeamPage header members shown_once/> }.into_any()
            }
            Page::DevClientRequest { header, form, description, justification, scopes, error } => {
                view! {
                    <DevClientRequestPage
                        header form=*form description justification scopes error
                    />
                }
                .into_any()
            }
            Page::DevClient { header, client, keys, usage, shown_once, notice, history } => view! {
                <DevClientPage header client=*client keys usage shown_once notice history/>
            }
            .into_any(),
            Page::DevKey { header, key, usage, shown_once, max_overlap_hours } => view! {
                <DevKeyPage header key usage shown_once max_overlap_hours/>
            }
            .into_any(),
            Page::AdminTotpLogin { csrf, error } => {
                view! { <crate::admin::AdminTotpLoginPage csrf error/> }.into_any()
            }
            Page::AdminAccount { email, csrf, totp_on, enrolment, notice } => view! {
                <crate::admin::AdminAccountPage email csrf totp_on enrolment notice/>
            }
            .into_any(),
            Page::AdminRevoke { email, csrf, client_id, username, from, to, preview, revoked } => {
                view! {
                    <AdminRevokePage email csrf client_id username from to preview revoked/>
                }
                .into_any()
            }
        }
    }
}

/// One scope as the consent page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeLine {
    pub name: String,
    pub description: String,
    /// Descriptions of what the scope includes.
    pub includes: Vec<String>,
}

/// One remembered consent on the account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentLine {
    pub client_id: String,
    pub client_name: String,
    pub scopes: String,
}

#[component]
fn Card(title: String, children: Children) -> impl IntoView {
    // True once hydrated: the browser tests wait for it, as they do on the landing page.
    let (interactive, set_interactive) = signal(false);
    Effect::new(move |_| set_interactive.set(true));
    view! {
        <main
            class="mx-auto mt-16 max-w-md rounded-xl bg-white p-8 shadow"
            data-interactive=move || interactive.get().to_string()
        >
            <p class="text-sm font-semibold uppercase tracking-wider text-indigo-700">"Portcullis"</p>
            <h1 class="mt-2 text-2xl font-bold">{title}</h1>
            {children()}
        </main>
    }
}

#[component]
pub fn LoginPage(
    client_name: Option<String>,
    csrf: String,
    error: Option<String>,
    username: String,
) -> impl IntoView {
    let subtitle = client_name.map(|name| format!("to continue to {name}"));
    view! {
        <Card title="Sign in".to_owned()>
            {subtitle.map(|s| view! { <p class="mt-1 text-slate-600" data-testid="client-name">{s}</p> })}
            {error.map(|e| view! {
                <p class="mt-4 rounded bg-red-50 p-3 text-sm text-red-800" role="alert">{e}</p>
            })}
            <form method="post" action="/login" class="mt-6 space-y-4" on:submit=once_only()>
                <input type="hidden" name="csrf" value=csrf/>
                <label class="block">
                    <span class="text-sm font-medium">"Username"</span>
                    <input name="username" value=username autocomplete="username" required
                        class="mt-1 w-full rounded border border-slate-300 px-3 py-2"/>
                </label>
                <label class="block">
                    <span class="text-sm font-medium">"Password"</span>
                    <input name="password" type="password" autocomplete="current-password" required
                        class="mt-1 w-full rounded border border-slate-300 px-3 py-2"/>
                </label>
                <button type="submit"
                    class="w-full rounded bg-indigo-700 px-4 py-2 font-semibold text-white">
                    "Sign in"
                </button>
            </form>
        </Card>
    }
}

#[component]
pub fn ConsentPage(
    client_name: String,
    username: String,
    scopes: Vec<ScopeLine>,
    csrf: String,
    request: String,
) -> impl IntoView {
    view! {
        <Card title=format!("{client_name} wants access to your account")>
            <p class="mt-1 text-slate-600">{format!("Signed in as {username}")}</p>
            <ul class="mt-6 space-y-3" data-testid="scopes">
                {scopes.into_iter().map(|scope| view! {
                    <li class="rounded border border-slate-200 p-3">
                        <p class="font-medium">{scope.description}</p>
                        <p class="text-xs text-slate-500"><code>{scope.name}</code></p>
                        {(!scope.includes.is_empty()).then(|| view! {
                            <p class="mt-1 text-sm text-slate-600">
                                {format!("Includes: {}", scope.includes.join("; "))}
                            </p>
                        })}
                    </li>
                }).collect_view()}
            </ul>
            <form method="post" action="/consent" class="mt-6 flex gap-3" on:submit=once_only()>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="request" value=request/>
                <button type="submit" name="decision" value="allow"
                    class="flex-1 rounded bg-indigo-700 px-4 py-2 font-semibold text-white">
                    "Allow"
                </button>
                <button type="submit" name="decision" value="deny"
                    class="flex-1 rounded border border-slate-300 px-4 py-2 font-semibold">
                    "Deny"
                </button>
            </form>
        </Card>
    }
}

#[component]
pub fn AccountPage(username: String, consents: Vec<ConsentLine>, csrf: String) -> impl IntoView {
    let empty = consents.is_empty();
    view! {
        <Card title="Your account".to_owned()>
            <p class="mt-1 text-slate-600">{format!("Signed in as {username}")}</p>
            <h2 class="mt-6 font-semibold">"Applications you allowed"</h2>
            {empty.then(|| view! { <p class="mt-2 text-sm text-slate-600">"None."</p> })}
            <ul class="mt-2 space-y-3" data-testid="consents">
                {consents.into_iter().map(|c| {
                    let csrf = csrf.clone();
                    view! {
                        <li class="flex items-center justify-between rounded border border-slate-200 p-3">
                            <div>
                                <p class="font-medium">{c.client_name}</p>
                                <p class="text-xs text-slate-500">{c.scopes}</p>
                            </div>
                            <form method="post" action="/account/consents/revoke" on:submit=once_only()>
                                <input type="hidden" name="csrf" value=csrf/>
                                <input type="hidden" name="client_id" value=c.client_id/>
                                <button type="submit" class="text-sm text-red-700 underline">"Revoke"</button>
                            </form>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Card>
    }
}

#[component]
pub fn MessagePage(title: String, message: String) -> impl IntoView {
    view! {
        <Card title=title>
            <p class="mt-4 text-slate-700" data-testid="message">{message}</p>
        </Card>
    }
}

/// A submit handler that lets a form post once: a second click while the first post is on its
/// way is dropped, so a consent is never sent twice and a CSRF token never spent twice. (The
/// buttons are not disabled: a disabled submitter would drop its `decision` from the post.)
fn once_only() -> impl FnMut(leptos::ev::SubmitEvent) + 'static {
    let mut sent = false;
    move |event| {
        if sent {
            event.prevent_default();
        }
        sent = true;
    }
}

/// A whole document around one page, rendered on the server, with the page's data for
/// hydration and the script that loads the wasm bundle.
#[cfg(feature = "ssr")]
pub fn render_document(title: &str, page: Page) -> String {
    let data = serde_json::to_string(&page)
        .unwrap_or_default()
        // Inside <script>, "</script" or "<!--" would change how the HTML parser reads on; JSON
        // may spell every "<" as an escape instead.
        .replace('<', "\\u003c");
    let owner = Owner::new();
    let body = owner.with(|| page.view().to_html());
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"/favicon.ico\"><link rel=\"stylesheet\" href=\"/pkg/portcullis.css\">\
         <title>{}</title>\
         <script type=\"application/json\" id=\"{PAGE_DATA_ID}\">{data}</script>\
         <script type=\"module\" src=\"/hydrate-page.js\"></script>\
         </head><body class=\"min-h-screen bg-slate-50 text-slate-900 antialiased\">{body}</body></html>",
        html_escape(&format!("{title} · Portcullis"))
    )
}

/// Entry point of the wasm bundle on end-user pages: hydrates the page the server rendered
/// from the data it embedded. A page without that data is left as it is: it still works.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate_page() {
    console_error_panic_hook::set_once();
    let data =
        document().get_element_by_id(PAGE_DATA_ID).and_then(|element| element.text_content());
    if let Some(page) = data.and_then(|json| serde_json::from_str::<Page>(&json).ok()) {
        leptos::mount::hydrate_body(move || page.view());
    }
}

#[cfg(feature = "ssr")]
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn page_data_cannot_close_its_script_element() {
        let page = Page::Message { title: "</script><script>alert(1)".into(), message: "m".into() };
        let document = render_document("t", page);
        assert_eq!(document.matches("</script>").count(), 2, "only the two real script ends");
    }

    #[test]
    fn the_embedded_data_round_trips() {
        let page = Page::Login {
            client_name: Some("Quote Portal".into()),
            csrf: "c".into(),
            error: None,
            username: String::new(),
        };
        let json = serde_json::to_string(&page).unwrap();
        assert_eq!(serde_json::from_str::<Page>(&json).unwrap(), page);
    }
}
