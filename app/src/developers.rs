//! The developer portal's signed-in pages under `/developers`: sign-up and sign-in, the console
//! with the organisation's clients and notifications, the client request form, a client's page
//! (status, the admin's reason, its secret once, keys, usage) and a key's page. Plain forms
//! like every other page; ownership is checked again on the server for each of them.

pub mod team;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::admin::{ClientFields, ClientForm, KeyLine, PreviousSecretLine};
use crate::charts::{KeyUsageReport, KeyUsageSections, UsageReport, UsageSections};

/// Who is signed in, for every console page's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerHeader {
    pub email: String,
    pub organisation: String,
    pub csrf: String,
    /// Notifications not yet seen.
    pub unread: usize,
}

/// What a sign-up form held, for showing it again after a refusal (never the password).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpForm {
    pub email: String,
    pub name: String,
    pub organisation: String,
}

/// One of the organisation's clients in the console's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerClientLine {
    pub client_id: String,
    pub name: String,
    pub status: String,
    pub scopes: String,
    pub requested_at: String,
}

/// A notification as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationLine {
    pub at: String,
    pub message: String,
    /// Where it leads: the client's or key's page.
    pub link: String,
    pub unread: bool,
}

/// A client on its owner's page: what was asked, what was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerClientDetail {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub justification: String,
    pub status: String,
    /// The admin's reason for the approval or rejection.
    pub decision_reason: String,
    pub client_type: String,
    pub auth_method: String,
    pub grant_types: String,
    pub scopes: String,
    pub redirect_uris: Vec<String>,
    pub access_token_lifetime: u32,
    pub refresh_token_lifetime: u32,
    /// Confidential, active, and its first secret not shown yet: the page offers it, once.
    pub secret_to_reveal: bool,
    /// Confidential, active, first secret shown: the page offers rotation.
    pub may_rotate_secret: bool,
    /// The longest overlap the admin allows when rotating a secret or key.
    pub max_overlap_hours: u32,
    pub previous_secret: Option<PreviousSecretLine>,
    /// Active: keys may be requested, tokens revoked.
    pub active: bool,
}

/// One entry of a client's history as its owner sees it: what happened and when, and who in
/// the partner's own organisation did it (admins appear as "an administrator").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    pub at: String,
    pub action: String,
    pub by: String,
}

/// A value shown exactly once on the page that answers the action that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownOnce {
    /// What it is: "client secret", "API key".
    pub what: String,
    pub value: String,
    /// What to know before leaving the page.
    pub note: String,
}

const INPUT: &str = "mt-1 w-full rounded border border-slate-300 px-3 py-1";
const BUTTON: &str = "rounded bg-indigo-700 px-4 py-2 font-semibold text-white";
const LINK: &str = "text-indigo-700 underline";

/// The portal's frame: the header with the docs, console and notifications links and, when
/// signed in, the sign-out form.
#[component]
fn DevFrame(title: String, header: Option<PartnerHeader>, children: Children) -> impl IntoView {
    let (interactive, set_interactive) = signal(false);
    Effect::new(move |_| set_interactive.set(true));
    let nav = match header {
        Some(header) => view! {
            <nav class="flex items-center gap-4 text-sm">
                <a class=LINK href="/developers">"Docs"</a>
                <a class=LINK href="/developers/console">"Console"</a>
                <a class=LINK href="/developers/team">"Organisation"</a>
                <a class=LINK href="/developers/notifications" data-testid="notifications-link">
                    {if header.unread > 0 {
                        format!("Notifications ({})", header.unread)
                    } else {
                        "Notifications".to_owned()
                    }}
                </a>
                <span class="text-slate-600">
                    {format!("{} · {}", header.email, header.organisation)}
                </span>
                <form method="post" action="/developers/logout">
                    <input type="hidden" name="csrf" value=header.csrf/>
                    <button type="submit" class="text-slate-700 underline">"Sign out"</button>
                </form>
            </nav>
        }
        .into_any(),
        None => view! {
            <nav class="flex items-center gap-4 text-sm">
                <a class=LINK href="/developers">"Docs"</a>
                <a class=LINK href="/developers/login">"Sign in"</a>
                <a class=LINK href="/developers/signup">"Create an account"</a>
            </nav>
        }
        .into_any(),
    };
    view! {
        <div class="mx-auto max-w-5xl p-8" data-interactive=move || interactive.get().to_string()>
            <header class="flex items-center justify-between">
                <p class="text-sm font-semibold uppercase tracking-wider text-indigo-700">
                    "Portcullis developers"
                </p>
                {nav}
            </header>
            <h1 class="mt-4 text-2xl font-bold">{title}</h1>
            {children()}
        </div>
    }
}

#[component]
fn Alert(text: Option<String>) -> impl IntoView {
    text.map(|text| {
        view! { <p class="mt-4 rounded bg-red-50 p-3 text-sm text-red-800" role="alert">{text}</p> }
    })
}

#[component]
fn Notice(text: Option<String>) -> impl IntoView {
    text.map(|text| {
        view! {
            <p class="mt-4 rounded bg-emerald-50 p-3 text-sm text-emerald-900" role="status">
                {text}
            </p>
        }
    })
}

#[component]
pub fn DevSignUpPage(csrf: String, error: Option<String>, form: SignUpForm) -> impl IntoView {
    view! {
        <DevFrame title="Create a developer account".to_owned() header=None>
            <p class="mt-2 text-sm text-slate-600">
                "An administrator looks at every new account before it can request anything."
            </p>
            <Alert text=error/>
            <form method="post" action="/developers/signup" class="mt-6 grid max-w-md gap-3">
                <input type="hidden" name="csrf" value=csrf/>
                <label class="block"><span class="text-sm font-medium">"Email"</span>
                    <input name="email" type="email" required value=form.email class=INPUT/>
                </label>
                <label class="block"><span class="text-sm font-medium">"Your name"</span>
                    <input name="name" required value=form.name class=INPUT/>
                </label>
                <label class="block"><span class="text-sm font-medium">"Organisation"</span>
                    <input name="organisation" value=form.organisation class=INPUT/>
                    <span class="text-xs text-slate-500">
                        "Required, unless a colleague invited you into theirs."
                    </span>
                </label>
                <label class="block">
                    <span class="text-sm font-medium">"Invitation code (optional)"</span>
                    <input name="invitation" autocomplete="off" class=INPUT/>
                </label>
                <label class="block"><span class="text-sm font-medium">"Password"</span>
                    <input name="password" type="password" required minlength="12"
                        autocomplete="new-password" class=INPUT/>
                    <span class="text-xs text-slate-500">"At least 12 characters."</span>
                </label>
                <button type="submit" class=BUTTON>"Create account"</button>
            </form>
        </DevFrame>
    }
}

#[component]
pub fn DevLoginPage(csrf: String, error: Option<String>) -> impl IntoView {
    view! {
        <DevFrame title="Sign in".to_owned() header=None>
            <Alert text=error/>
            <form method="post" action="/developers/login" class="mt-6 grid max-w-md gap-3">
                <input type="hidden" name="csrf" value=csrf/>
                <label class="block"><span class="text-sm font-medium">"Email"</span>
                    <input name="email" type="email" required autocomplete="username" class=INPUT/>
                </label>
                <label class="block"><span class="text-sm font-medium">"Password"</span>
                    <input name="password" type="password" required
                        autocomplete="current-password" class=INPUT/>
                </label>
                <button type="submit" class=BUTTON>"Sign in"</button>
            </form>
        </DevFrame>
    }
}

/// A page that only says something: signed up, awaiting approval, refused.
#[component]
pub fn DevMessagePage(
    header: Option<PartnerHeader>,
    title: String,
    message: String,
) -> impl IntoView {
    view! {
        <DevFrame title header>
            <p class="mt-4 text-slate-700" data-testid="dev-message">{message}</p>
        </DevFrame>
    }
}

#[component]
fn NotificationList(notifications: Vec<NotificationLine>) -> impl IntoView {
    let none = notifications.is_empty();
    view! {
        {none.then(|| view! { <p class="mt-2 text-sm text-slate-600">"Nothing yet."</p> })}
        <ul class="mt-2 space-y-1 text-sm" data-testid="notifications">
            {notifications.into_iter().map(|n| view! {
                <li class=if n.unread { "font-semibold" } else { "" }>
                    <span class="text-slate-500">{n.at}</span>" "
                    <a class=LINK href=n.link>{n.message}</a>
                </li>
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn DevConsolePage(
    header: PartnerHeader,
    clients: Vec<PartnerClientLine>,
    notifications: Vec<NotificationLine>,
) -> impl IntoView {
    let none = clients.is_empty();
    view! {
        <DevFrame title="Console".to_owned() header=Some(header)>
            <div class="mt-4 flex items-center justify-between">
                <h2 class="font-semibold">"Your clients"</h2>
                <a class=BUTTON href="/developers/clients/new">"Request a client"</a>
            </div>
            {none.then(|| view! {
                <p class="mt-2 text-sm text-slate-600">"No clients yet: request your first one."</p>
            })}
            <table class="mt-4 w-full text-left text-sm" data-testid="partner-clients">
                <thead>
                    <tr class="border-b border-slate-300">
                        <th class="py-1 pr-4">"Name"</th><th class="pr-4">"Status"</th>
                        <th class="pr-4">"Scopes"</th><th>"Requested"</th>
                    </tr>
                </thead>
                <tbody>
                    {clients.into_iter().map(|c| view! {
                        <tr class="border-b border-slate-200">
                            <td class="py-1 pr-4">
                                <a class=LINK href=format!("/developers/clients/{}", c.client_id)>
                                    {c.name}
                                </a>
                            </td>
                            <td class="pr-4">{c.status}</td>
                            <td class="pr-4"><code>{c.scopes}</code></td>
                            <td>{c.requested_at}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h2 class="mt-8 font-semibold">"Latest notifications"</h2>
            <NotificationList notifications/>
        </DevFrame>
    }
}

#[component]
pub fn DevNotificationsPage(
    header: PartnerHeader,
    notifications: Vec<NotificationLine>,
) -> impl IntoView {
    view! {
        <DevFrame title="Notifications".to_owned() header=Some(header)>
            <p class="mt-2 text-sm text-slate-600">
                "Decisions about your account, clients and keys."
            </p>
            <NotificationList notifications/>
        </DevFrame>
    }
}

/// The client request form: the registration fields (no defaults) and what the admin needs
/// to decide.
#[component]
pub fn DevClientRequestPage(
    header: PartnerHeader,
    form: ClientForm,
    description: String,
    justification: String,
    /// The scopes a client may ask for, for the hint.
    scopes: Vec<String>,
    error: Option<String>,
) -> impl IntoView {
    let csrf = header.csrf.clone();
    view! {
        <DevFrame title="Request a client".to_owned() header=Some(header)>
            <p class="mt-2 text-sm text-slate-600">
                "Every setting is yours to choose; an administrator approves the request, "
                "possibly with fewer scopes, or explains why not. "
                <a class=LINK href="/developers/docs/scopes">"Scopes you can ask for"</a>
                {format!(": {}.", scopes.join(", "))}
            </p>
            <Alert text=error/>
            <form method="post" action="/developers/clients" class="mt-6 grid max-w-2xl gap-3"
                data-testid="client-request-form">
                <input type="hidden" name="csrf" value=csrf/>
                <ClientFields form/>
                <label class="block"><span class="text-sm font-medium">"Description"</span>
                    <textarea name="description" required rows="2" class=INPUT>
                        {description}
                    </textarea>
                    <span class="text-xs text-slate-500">"What the application does."</span>
                </label>
                <label class="block">
                    <span class="text-sm font-medium">"Business justification"</span>
                    <textarea name="justification" required rows="3" class=INPUT>
                        {justification}
                    </textarea>
                    <span class="text-xs text-slate-500">
                        "Why it needs these scopes, for the administrator deciding."
                    </span>
                </label>
                <button type="submit" class=format!("justify-self-start {BUTTON}")>
                    "Send request"
                </button>
            </form>
        </DevFrame>
    }
}

#[component]
fn ShownOnceBox(shown: Option<ShownOnce>) -> impl IntoView {
    shown.map(|shown| {
        view! {
            <div class="mt-4 rounded border border-amber-300 bg-amber-50 p-4"
                data-testid="shown-once">
                <p class="text-sm font-semibold">
                    {format!("Your {}: copy it now, it is not shown again.", shown.what)}
                </p>
                <code class="mt-2 block break-all text-sm" data-testid="shown-once-value">
                    {shown.value}
                </code>
                <p class="mt-2 text-xs text-slate-700">{shown.note}</p>
            </div>
        }
    })
}

#[component]
pub fn DevClientPage(
    header: PartnerHeader,
    client: PartnerClientDetail,
    keys: Vec<KeyLine>,
    usage: UsageReport,
    shown_once: Option<ShownOnce>,
    notice: Option<String>,
    history: Vec<HistoryLine>,
) -> impl IntoView {
    let csrf = header.csrf.clone();
    let base = format!("/developers/clients/{}", client.client_id);
    let csv = format!("{base}/usage.csv?");
    let overlap_hint = if client.max_overlap_hours == 0 {
        "The old one stops working at once.".to_owned()
    } else {
        format!(
            "Keep the old one working for up to {} hours (empty: none).",
            client.max_overlap_hours
        )
    };
    let secret_form = (client.secret_to_reveal || client.may_rotate_secret).then(|| {
        let reveal = client.secret_to_reveal;
        view! {
            <form method="post" action=format!("{base}/secret")
                class="mt-4 flex flex-wrap items-end gap-3 text-sm">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="action" value=if reveal { "reveal" } else { "rotate" }/>
                {(!reveal && client.max_overlap_hours > 0).then(|| view! {
                    <label>"Overlap (hours)"
                        <input name="overlap_hours" type="number" min="1"
                            max=client.max_overlap_hours.to_string()
                            class="ml-1 w-24 rounded border border-slate-300 px-2 py-1"/>
                    </label>
                })}
                <button type="submit" class=BUTTON>
                    {if reveal { "Show the client secret" } else { "Rotate the secret" }}
                </button>
                <span class="text-xs text-slate-500">
                    {if reveal { "Shown once.".to_owned() } else { overlap_hint.clone() }}
                </span>
            </form>
        }
    });
    let key_form = client.active.then(|| {
        view! {
            <h2 class="mt-8 font-semibold">"Request an API key"</h2>
            <form method="post" action=format!("{base}/keys") class="mt-2 grid max-w-2xl gap-3"
                data-testid="key-request-form">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <label class="block"><span class="text-sm font-medium">"Name"</span>
                    <input name="name" required class=INPUT/>
                </label>
                <label class="block"><span class="text-sm font-medium">"Scopes"</span>
                    <input name="scopes" required class=INPUT/>
                    <span class="text-xs text-slate-500">"At most the client's scopes."</span>
                </label>
                <label class="block">
                    <span class="text-sm font-medium">"Rate limit (requests per minute)"</span>
                    <input name="rate_limit_per_minute" type="number" min="1" required class=INPUT/>
                </label>
                <label class="block">
                    <span class="text-sm font-medium">"Allowed addresses (optional)"</span>
                    <input name="allowed_ips" class=INPUT/>
                    <span class="text-xs text-slate-500">"Comma-separated CIDR ranges."</span>
                </label>
                <label class="block">
                    <span class="text-sm font-medium">"Expires in days (optional)"</span>
                    <input name="expires_in_days" type="number" min="1" class=INPUT/>
                </label>
                <button type="submit" class=format!("justify-self-start {BUTTON}")>
                    "Request key"
                </button>
            </form>
            <h2 class="mt-8 font-semibold">"Revoke this client's tokens"</h2>
            <form method="post" action=format!("{base}/revoke-tokens")
                class="mt-2 flex flex-wrap items-end gap-3 text-sm">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <label>"Reason"
                    <input name="reason" required
                        class="ml-1 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <button type="submit" class="rounded border border-red-300 px-3 py-1 text-red-800">
                    "Revoke every live token"
                </button>
            </form>
        }
    });
    let decision = (!client.decision_reason.is_empty())
        .then(|| format!("Administrator's note: {}", client.decision_reason));
    let previous = client.previous_secret.map(|p| {
        format!(
            "The previous secret works until {}. Last used: {}{}.",
            p.valid_until,
            p.last_used,
            if p.last_used_ip.is_empty() {
                String::new()
            } else {
                format!(" from {}", p.last_used_ip)
            },
        )
    });
    view! {
        <DevFrame title=format!("Client {}", client.name) header=Some(header)>
            <Notice text=notice/>
            <ShownOnceBox shown=shown_once/>
            <p class="mt-2 text-sm" data-testid="client-status">
                {format!("Status: {}", client.status)}
            </p>
            {decision.map(|text| view! {
                <p class="mt-1 text-sm text-slate-700" data-testid="decision-reason">{text}</p>
            })}
            <dl class="mt-4 grid grid-cols-[12rem_1fr] gap-y-1 text-sm">
                <dt class="text-slate-500">"Client id"</dt>
                <dd><code data-testid="client-id">{client.client_id.clone()}</code></dd>
                <dt class="text-slate-500">"Type"</dt>
                <dd>{format!("{} ({})", client.client_type, client.auth_method)}</dd>
                <dt class="text-slate-500">"Grant types"</dt><dd>{client.grant_types}</dd>
                <dt class="text-slate-500">"Scopes"</dt><dd><code>{client.scopes}</code></dd>
                <dt class="text-slate-500">"Redirect URIs"</dt>
                <dd>{client.redirect_uris.join(", ")}</dd>
                <dt class="text-slate-500">"Lifetimes"</dt>
                <dd>{format!("access {} s, refresh {} s", client.access_token_lifetime,
                    client.refresh_token_lifetime)}</dd>
                <dt class="text-slate-500">"Description"</dt><dd>{client.description}</dd>
                <dt class="text-slate-500">"Justification"</dt><dd>{client.justification}</dd>
            </dl>
            {previous.map(|text| view! {
                <p class="mt-4 rounded bg-amber-50 p-3 text-sm">{text}</p>
            })}
            {secret_form}
            <h2 class="mt-8 font-semibold">"API keys"</h2>
            <ul class="mt-2 text-sm" data-testid="partner-keys">
                {keys.into_iter().map(|k| view! {
                    <li>
                        <a class=LINK href=format!("/developers/keys/{}", k.key_id)>{k.name}</a>
                        {format!(" · {}… · {} · {} · {} per minute", k.prefix, k.status,
                            k.scopes, k.rate_limit_per_minute)}
                    </li>
                }).collect_view()}
            </ul>
            {key_form}
            <h2 class="mt-8 font-semibold">"Usage"</h2>
            <form method="get" action=base.clone()
                class="mt-2 flex flex-wrap items-end gap-3 text-sm">
                <label>"From"
                    <input name="from" type="date" value=usage.from.clone()
                        class="ml-1 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <label>"To"
                    <input name="to" type="date" value=usage.to.clone()
                        class="ml-1 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <button type="submit" class="rounded border border-slate-300 px-3 py-1">
                    "Show"
                </button>
            </form>
            <UsageSections report=usage csv/>
            <h2 class="mt-8 font-semibold">"History"</h2>
            <ul class="mt-2 text-sm" data-testid="client-history">
                {history.into_iter().map(|h| view! {
                    <li>
                        <span class="text-slate-500">{h.at}</span>
                        {format!(" {} by {}", h.action, h.by)}
                    </li>
                }).collect_view()}
            </ul>
        </DevFrame>
    }
}

#[component]
pub fn DevKeyPage(
    header: PartnerHeader,
    key: KeyLine,
    usage: KeyUsageReport,
    shown_once: Option<ShownOnce>,
    /// The longest overlap the admin allows for the key's client.
    max_overlap_hours: u32,
) -> impl IntoView {
    let csrf = header.csrf.clone();
    let back = format!("/developers/clients/{}", key.client_id);
    let here = format!("/developers/keys/{}", key.key_id);
    let csv = format!("{here}/usage.csv");
    let active = key.status == "active";
    let summary = format!(
        "{}… · {} · {} · {} per minute · last used {}",
        key.prefix, key.status, key.scopes, key.rate_limit_per_minute, key.last_used,
    );
    let actions = active.then(|| {
        view! {
            <div class="mt-4 flex flex-wrap gap-6 text-sm">
                <form method="post" action=format!("{here}/rotate") class="flex items-end gap-2">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    {(max_overlap_hours > 0).then(|| view! {
                        <label>"Overlap (hours)"
                            <input name="overlap_hours" type="number" min="1"
                                max=max_overlap_hours.to_string()
                                class="ml-1 w-24 rounded border border-slate-300 px-2 py-1"/>
                        </label>
                    })}
                    <button type="submit" class=BUTTON>"Rotate"</button>
                </form>
                <form method="post" action=format!("{here}/revoke")>
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <button type="submit"
                        class="rounded border border-red-300 px-3 py-2 text-red-800">
                        "Revoke"
                    </button>
                </form>
            </div>
        }
    });
    view! {
        <DevFrame title=format!("API key {}", key.name) header=Some(header)>
            <ShownOnceBox shown=shown_once/>
            <p class="mt-2 text-sm text-slate-600" data-testid="key-summary">{summary}</p>
            <a class="text-sm text-indigo-700 underline" href=back>"Back to the client"</a>
            {actions}
            <KeyUsageSections usage here csv/>
        </DevFrame>
    }
}
