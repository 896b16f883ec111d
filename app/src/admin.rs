//! The admin portal's pages: sign-in, the dashboard with the approval queue, and the audit log.
//!
//! FIXME(admin-split): like the handlers, these components want one file per area, and many
//! `view!` lines run past 100 columns (rustfmt does not wrap inside the macro).
//! Plain forms like the end-user pages; every decision is checked again on the server.

pub mod accounts;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::charts::DayCounts;
use crate::charts::{KeyUsageReport, KeyUsageSections, UsageReport, UsageSections};

/// A client waiting for an admin's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingClientLine {
    pub client_id: String,
    pub name: String,
    pub client_type: String,
    pub scopes: String,
    /// The requesting partner organisation; empty for clients an admin filed.
    pub organisation: String,
    pub description: String,
    pub justification: String,
}

/// A partner developer account as the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerLine {
    pub partner_id: String,
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub status: String,
    pub decision_reason: String,
    pub created_at: String,
}

/// The audit page's filter fields, as typed (dates `YYYY-MM-DD`, empty means any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilterForm {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

impl AuditFilterForm {
    /// The same filter as a query string, for the export links.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One audit entry as the log page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: i64,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub source_ip: String,
    pub details: String,
}

#[component]
fn Frame(
    title: String,
    signed_in_as: Option<String>,
    csrf: String,
    children: Children,
) -> impl IntoView {
    let (interactive, set_interactive) = signal(false);
    Effect::new(move |_| set_interactive.set(true));
    view! {
        <div class="mx-auto max-w-5xl p-8" data-interactive=move || interactive.get().to_string()>
            <header class="flex items-center justify-between">
                <p class="text-sm font-semibold uppercase tracking-wider text-indigo-700">
                    "Portcullis admin"
                </p>
                {signed_in_as.map(|email| view! {
                    <nav class="flex items-center gap-4 text-sm">
                        <a class="text-indigo-700 underline" href="/admin">"Dashboard"</a>
                        <a class="text-indigo-700 underline" href="/admin/clients">"Clients"</a>
                        <a class="text-indigo-700 underline" href="/admin/partners">"Partners"</a>
                        <a class="text-indigo-700 underline" href="/admin/users">"Users"</a>
                        <a class="text-indigo-700 underline" href="/admin/scopes">"Scopes"</a>
                        <a class="text-indigo-700 underline" href="/admin/analytics">"Analytics"</a>
                        <a class="text-indigo-700 underline" href="/admin/revoke">"Revoke tokens"</a>
                        <a class="text-indigo-700 underline" href="/admin/audit">"Audit log"</a>
                        <a class="text-indigo-700 underline" href="/admin/admins">"Admins"</a>
                        <a class="text-slate-600 underline" href="/admin/account">{email}</a>
                        <form method="post" action="/admin/logout">
                            <input type="hidden" name="csrf" value=csrf.clone()/>
                            <button type="submit" class="text-slate-700 underline">"Sign out"</button>
                        </form>
                    </nav>
                })}
            </header>
            <h1 class="mt-4 text-2xl font-bold">{title}</h1>
            {children()}
        </div>
    }
}

#[component]
pub fn AdminLoginPage(csrf: String, error: Option<String>) -> impl IntoView {
    view! {
        <Frame title="Sign in".to_owned() signed_in_as=None csrf=csrf.clone()>
            {error.map(|e| view! {
                <p class="mt-4 rounded bg-red-50 p-3 text-sm text-red-800" role="alert">{e}</p>
            })}
            <form method="post" action="/admin/login" class="mt-6 max-w-sm space-y-4">
                <input type="hidden" name="csrf" value=csrf/>
                <label class="block">
                    <span class="text-sm font-medium">"Email"</span>
                    <input name="email" type="email" autocomplete="username" required
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
        </Frame>
    }
}

#[component]
pub fn AdminDashboardPage(
    email: String,
    csrf: String,
    pending: Vec<PendingClientLine>,
    pending_keys: Vec<KeyLine>,
    tokens_today: Vec<(String, u64)>,
    /// Things to look at: rate-limit rejections today, keys and old secrets about to stop.
    attention: Vec<String>,
    pending_partners: Vec<PartnerLine>,
) -> impl IntoView {
    let empty = pending.is_empty();
    let partners_csrf = csrf.clone();
    let keys_csrf = csrf.clone();
    view! {
        <Frame title="Dashboard".to_owned() signed_in_as=Some(email) csrf=csrf.clone()>
            <section class="mt-6">
                <h2 class="font-semibold">"Tokens issued today"</h2>
                <ul class="mt-2 flex gap-4" data-testid="tokens-today">
                    {tokens_today.into_iter().map(|(grant, count)| view! {
                        <li class="rounded border border-slate-200 bg-white p-3">
                            <p class="text-2xl font-bold">{count}</p>
                            <p class="text-xs text-slate-500">{grant}</p>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
            <section class="mt-6">
                <h2 class="font-semibold">"Worth a look"</h2>
                <ul class="mt-2 list-disc pl-5 text-sm" data-testid="attention">
                    {attention.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
                </ul>
            </section>
            {(!pending_partners.is_empty()).then(|| view! {
                <section class="mt-8">
                    <h2 class="font-semibold">"Partner accounts awaiting approval"</h2>
                    <PartnerDecisions partners=pending_partners csrf=partners_csrf/>
                </section>
            })}
            <section class="mt-8">
                <h2 class="font-semibold">"Clients awaiting approval"</h2>
                {empty.then(|| view! { <p class="mt-2 text-sm text-slate-600">"Nothing to decide."</p> })}
                <ul class="mt-2 space-y-3" data-testid="pending-clients">
                    {pending.into_iter().map(|c| {
                        let csrf = csrf.clone();
                        let approve = format!("/admin/clients/{}/approve", c.client_id);
                        let reject = format!("/admin/clients/{}/reject", c.client_id);
                        let partner = !c.organisation.is_empty();
                        view! {
                            <li class="rounded border border-slate-200 bg-white p-4">
                                <p class="font-medium">{c.name}</p>
                                <p class="text-xs text-slate-500">
                                    {format!("{} client {} requests: {}", c.client_type, c.client_id, c.scopes)}
                                </p>
                                {partner.then(|| view! {
                                    <div class="mt-2 text-sm" data-testid="partner-request">
                                        <p>{format!("Requested by {}", c.organisation)}</p>
                                        <p class="text-slate-700">{format!("Description: {}", c.description)}</p>
                                        <p class="text-slate-700">{format!("Justification: {}", c.justification)}</p>
                                    </div>
                                })}
                                <form method="post" action=approve class="mt-3 flex flex-wrap items-end gap-2">
                                    <input type="hidden" name="csrf" value=csrf.clone()/>
                                    <label class="text-sm">
                                        "Grant scopes (may narrow)"
                                        <input name="scopes" value=c.scopes.clone()
                                            class="ml-2 rounded border border-slate-300 px-2 py-1"/>
                                    </label>
                                    {partner.then(|| view! {
                                        <label class="text-sm">
                                            "Longest rotation overlap the partner may choose (hours)"
                                            <input name="partner_overlap_hours" type="number" min="0" max="720" required
                                                class="ml-2 w-20 rounded border border-slate-300 px-2 py-1"/>
                                        </label>
                                    })}
                                    <input name="reason" placeholder="Reason" required
                                        class="rounded border border-slate-300 px-2 py-1 text-sm"/>
                                    <button type="submit"
                                        class="rounded bg-indigo-700 px-3 py-1 text-sm font-semibold text-white">
                                        "Approve"
                                    </button>
                                </form>
                                <form method="post" action=reject class="mt-2 flex gap-2">
                                    <input type="hidden" name="csrf" value=csrf/>
                                    <input name="reason" placeholder="Why not" required
                                        class="rounded border border-slate-300 px-2 py-1 text-sm"/>
                                    <button type="submit"
                                        class="rounded border border-slate-300 px-3 py-1 text-sm">
                                        "Reject"
                                    </button>
                                </form>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            {(!pending_keys.is_empty()).then(|| view! {
                <section class="mt-8">
                    <h2 class="font-semibold">"API keys awaiting approval"</h2>
                    <ul class="mt-2 space-y-3" data-testid="pending-keys">
                        {pending_keys.into_iter().map(|k| {
                            let approve = format!("/admin/keys/{}/approve", k.key_id);
                            let reject = format!("/admin/keys/{}/reject", k.key_id);
                            let csrf = keys_csrf.clone();
                            view! {
                                <li class="rounded border border-slate-200 bg-white p-4">
                                    <p class="font-medium">{format!("{} for client {}", k.name, k.client_id)}</p>
                                    <form method="post" action=approve class="mt-2 flex flex-wrap items-end gap-2 text-sm">
                                        <input type="hidden" name="csrf" value=csrf.clone()/>
                                        <label>"Scopes (may narrow)"
                                            <input name="scopes" value=k.scopes class="ml-1 rounded border border-slate-300 px-2 py-1"/>
                                        </label>
                                        <label>"Per minute (may lower)"
                                            <input name="rate_limit_per_minute" value=k.rate_limit_per_minute.to_string()
                                                class="ml-1 w-24 rounded border border-slate-300 px-2 py-1"/>
                                        </label>
                                        <input name="reason" placeholder="Reason" required class="rounded border border-slate-300 px-2 py-1"/>
                                        <button type="submit" class="rounded bg-indigo-700 px-3 py-1 font-semibold text-white">"Approve"</button>
                                    </form>
                                    <form method="post" action=reject class="mt-2 flex gap-2 text-sm">
                                        <input type="hidden" name="csrf" value=csrf/>
                                        <input name="reason" placeholder="Why not" required class="rounded border border-slate-300 px-2 py-1"/>
                                        <button type="submit" class="rounded border border-slate-300 px-3 py-1">"Reject"</button>
                                    </form>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            })}
        </Frame>
    }
}

/// Partner accounts with the actions their status allows: a decision for pending ones,
/// disable or enable for the others.
#[component]
fn PartnerDecisions(partners: Vec<PartnerLine>, csrf: String) -> impl IntoView {
    let field = "rounded border border-slate-300 px-2 py-1";
    view! {
        <ul class="mt-2 space-y-3" data-testid="partners">
            {partners.into_iter().map(|p| {
                let base = format!("/admin/partners/{}", p.partner_id);
                let csrf = csrf.clone();
                let summary = format!("{} · {} · signed up {}", p.email, p.status, p.created_at);
                let actions = match p.status.as_str() {
                    "pending" => view! {
                        <form method="post" action=format!("{base}/approve")
                            class="mt-2 flex flex-wrap items-end gap-2 text-sm">
                            <input type="hidden" name="csrf" value=csrf.clone()/>
                            <input name="reason" placeholder="Note (optional)" class=field/>
                            <button type="submit"
                                class="rounded bg-indigo-700 px-3 py-1 font-semibold text-white">
                                "Approve"
                            </button>
                        </form>
                        <form method="post" action=format!("{base}/reject") class="mt-2 flex gap-2 text-sm">
                            <input type="hidden" name="csrf" value=csrf.clone()/>
                            <input name="reason" placeholder="Why not" required class=field/>
                            <button type="submit" class="rounded border border-slate-300 px-3 py-1">
                                "Reject"
                            </button>
                        </form>
                    }.into_any(),
                    "active" | "disabled" => {
                        let to = if p.status == "active" { "disabled" } else { "active" };
                        let label = if to == "disabled" {
                            "Disable (and its clients and keys)"
                        } else {
                            "Enable"
                        };
                        view! {
                            <form method="post" action=format!("{base}/status") class="mt-2 text-sm">
                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                <input type="hidden" name="to" value=to/>
                                <button type="submit" class="rounded border border-slate-300 px-3 py-1">
                                    {label}
                                </button>
                            </form>
                        }.into_any()
                    }
                    _ => view! { <p class="mt-2 text-sm text-slate-600">{p.decision_reason.clone()}</p> }.into_any(),
                };
                view! {
                    <li class="rounded border border-slate-200 bg-white p-4">
                        <p class="font-medium">{format!("{} ({})", p.name, p.organisation)}</p>
                        <p class="text-xs text-slate-500">{summary}</p>
                        {actions}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Every partner account, newest decisions to make first.
#[component]
pub fn AdminPartnersPage(email: String, csrf: String, partners: Vec<PartnerLine>) -> impl IntoView {
    view! {
        <Frame title="Partner accounts".to_owned() signed_in_as=Some(email) csrf=csrf.clone()>
            {partners.is_empty().then(|| view! {
                <p class="mt-4 text-sm text-slate-600">"No partner has signed up yet."</p>
            })}
            <PartnerDecisions partners csrf/>
        </Frame>
    }
}

#[component]
pub fn AdminAuditPage(
    email: String,
    csrf: String,
    filter: AuditFilterForm,
    entries: Vec<AuditLine>,
) -> impl IntoView {
    let query = filter.query_string();
    let (csv, jsonl) = (format!("/admin/audit.csv?{query}"), format!("/admin/audit.jsonl?{query}"));
    view! {
        <Frame title="Audit log".to_owned() signed_in_as=Some(email) csrf=csrf>
            <form method="get" action="/admin/audit" class="mt-4 flex flex-wrap items-end gap-3 text-sm">
                <label>"Actor" <input name="actor" value=filter.actor class="ml-1 rounded border border-slate-300 px-2 py-1"/></label>
                <label>"Action" <input name="action" value=filter.action class="ml-1 rounded border border-slate-300 px-2 py-1"/></label>
                <label>"Target" <input name="target" value=filter.target class="ml-1 rounded border border-slate-300 px-2 py-1"/></label>
                <label>"From" <input name="from" type="date" value=filter.from class="ml-1 rounded border border-slate-300 px-2 py-1"/></label>
                <label>"To" <input name="to" type="date" value=filter.to class="ml-1 rounded border border-slate-300 px-2 py-1"/></label>
                <button type="submit" class="rounded border border-slate-300 px-3 py-1">"Filter"</button>
                <a class="text-indigo-700 underline" href=csv>"CSV"</a>
                <a class="text-indigo-700 underline" href=jsonl>"JSON lines"</a>
            </form>
            <table class="mt-6 w-full text-left text-sm" data-testid="audit">
                <thead>
                    <tr class="border-b border-slate-300">
                        <th class="py-2">"#"</th>
                        <th>"When (UTC)"</th>
                        <th>"Who"</th>
                        <th>"Action"</th>
                        <th>"Target"</th>
                        <th>"From"</th>
                        <th>"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries.into_iter().map(|e| view! {
                        <tr class="border-b border-slate-200 align-top">
                            <td class="py-1 pr-2">{e.id}</td>
                            <td class="pr-2 whitespace-nowrap">{e.at}</td>
                            <td class="pr-2">{e.actor}</td>
                            <td class="pr-2"><code>{e.action}</code></td>
                            <td class="pr-2"><code>{e.target}</code></td>
                            <td class="pr-2">{e.source_ip}</td>
                            <td class="break-all text-xs text-slate-600">{e.details}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </Frame>
    }
}

/// What a bulk revocation will hit (before) or hit (after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationCounts {
    /// e.g. `client Broker Sync`.
    pub selection: String,
    pub access: u64,
    pub refresh: u64,
}

#[component]
pub fn AdminRevokePage(
    email: String,
    csrf: String,
    client_id: String,
    username: String,
    from: String,
    to: String,
    preview: Option<RevocationCounts>,
    revoked: Option<RevocationCounts>,
) -> impl IntoView {
    view! {
        <Frame title="Revoke tokens".to_owned() signed_in_as=Some(email) csrf=csrf.clone()>
            <p class="mt-2 text-sm text-slate-600">
                "Every live access and refresh token of a client or of a user. The count is shown before anything is revoked."
            </p>
            <form method="get" action="/admin/revoke" class="mt-6 flex flex-wrap items-end gap-3">
                <label class="text-sm">"Client id"
                    <input name="client_id" value=client_id.clone()
                        class="ml-2 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <span class="text-sm text-slate-500">"or"</span>
                <label class="text-sm">"Username"
                    <input name="username" value=username.clone()
                        class="ml-2 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <span class="text-sm text-slate-500">"or issued from"</span>
                <input name="from" type="date" value=from.clone() class="rounded border border-slate-300 px-2 py-1 text-sm"/>
                <span class="text-sm text-slate-500">"to"</span>
                <input name="to" type="date" value=to.clone() class="rounded border border-slate-300 px-2 py-1 text-sm"/>
                <button type="submit" class="rounded border border-slate-300 px-3 py-1 text-sm">
                    "Count tokens"
                </button>
            </form>
            {preview.map(|p| view! {
                <form method="post" action="/admin/revoke" class="mt-6 rounded border border-amber-300 bg-amber-50 p-4">
                    <p data-testid="preview">
                        {format!("{}: {} access tokens and {} refresh tokens are live.", p.selection, p.access, p.refresh)}
                    </p>
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <input type="hidden" name="client_id" value=client_id/>
                    <input type="hidden" name="username" value=username/>
                    <input type="hidden" name="from" value=from/>
                    <input type="hidden" name="to" value=to/>
                    <input name="reason" placeholder="Reason (for the audit log)" required
                        class="mt-3 w-full rounded border border-slate-300 px-2 py-1 text-sm"/>
                    <button type="submit"
                        class="mt-3 rounded bg-red-700 px-3 py-1 text-sm font-semibold text-white">
                        "Revoke them"
                    </button>
                </form>
            })}
            {revoked.map(|r| view! {
                <p class="mt-6 rounded bg-green-50 p-3 text-green-900" role="status" data-testid="revoked">
                    {format!("{}: revoked {} access tokens and {} refresh tokens.", r.selection, r.access, r.refresh)}
                </p>
            })}
        </Frame>
    }
}

/// A client in the admin list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLine {
    pub client_id: String,
    pub name: String,
    pub client_type: String,
    pub status: String,
}

/// Everything the client page shows. Never a secret, except the one just generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetail {
    pub client_id: String,
    pub name: String,
    pub client_type: String,
    pub status: String,
    pub auth_method: String,
    pub grant_types: String,
    pub scopes: String,
    pub redirect_uris: Vec<String>,
    pub access_token_lifetime: u32,
    pub refresh_token_lifetime: u32,
    pub confidential: bool,
    /// While a replaced secret still works: until when, and its last use (time, address).
    pub previous_secret: Option<PreviousSecretLine>,
    /// The client's API keys; `None` when the admin may not manage keys (`admin:keys`).
    pub keys: Option<Vec<KeyLine>>,
    /// Allowed scopes no token of the client carried in the last `unused_days` days:
    /// candidates to take away (least privilege).
    pub unused_scopes: String,
    /// The period the admin chose for that hint.
    pub unused_days: u32,
    /// The client's newest audit entries: its history.
    pub history: Vec<AuditLine>,
}

/// An API key as the admin pages show it (never the key: only its visible prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLine {
    pub key_id: String,
    pub client_id: String,
    pub name: String,
    pub prefix: String,
    pub status: String,
    pub scopes: String,
    pub rate_limit_per_minute: u32,
    pub last_used: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecretLine {
    pub valid_until: String,
    pub last_used: String,
    pub last_used_ip: String,
}

#[component]
pub fn AdminClientsPage(
    email: String,
    csrf: String,
    query: String,
    clients: Vec<ClientLine>,
) -> impl IntoView {
    view! {
        <Frame title="Clients".to_owned() signed_in_as=Some(email) csrf=csrf>
            <form method="get" action="/admin/clients" class="mt-4 flex gap-2 text-sm">
                <input name="q" value=query placeholder="Name or client id"
                    class="rounded border border-slate-300 px-2 py-1"/>
                <button type="submit" class="rounded border border-slate-300 px-3 py-1">"Search"</button>
            </form>
            <a class="mt-4 inline-block rounded bg-indigo-700 px-3 py-1 text-sm font-semibold text-white"
                href="/admin/clients/new">"New client"</a>
            <table class="mt-6 w-full text-left text-sm" data-testid="clients">
                <thead>
                    <tr class="border-b border-slate-300">
                        <th class="py-2">"Name"</th>
                        <th>"Client id"</th>
                        <th>"Type"</th>
                        <th>"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {clients.into_iter().map(|c| {
                        let href = format!("/admin/clients/{}", c.client_id);
                        view! {
                            <tr class="border-b border-slate-200">
                                <td class="py-1"><a class="text-indigo-700 underline" href=href>{c.name}</a></td>
                                <td><code>{c.client_id}</code></td>
                                <td>{c.client_type}</td>
                                <td>{c.status}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </Frame>
    }
}

#[component]
pub fn AdminClientPage(
    email: String,
    csrf: String,
    client: ClientDetail,
    new_secret: Option<String>,
) -> impl IntoView {
    let action = format!("/admin/clients/{}/secret", client.client_id);
    let create_key = format!("/admin/clients/{}/keys", client.client_id);
    let confidential = client.confidential;
    let keys = client.keys.clone();
    let key_csrf = csrf.clone();
    let base = format!("/admin/clients/{}", client.client_id);
    let (to, label) =
        if client.status == "active" { ("disabled", "Disable") } else { ("active", "Enable") };
    let manage_csrf = csrf.clone();
    view! {
        <Frame title=client.name.clone() signed_in_as=Some(email) csrf=csrf.clone()>
            {new_secret.map(|secret| view! {
                <div class="mt-4 rounded border border-green-300 bg-green-50 p-4" role="status">
                    <p class="font-semibold">"New secret: copy it now, it is shown only once."</p>
                    <code class="mt-2 block break-all" data-testid="new-secret">{secret}</code>
                </div>
            })}
            <div class="mt-4 flex flex-wrap gap-3 text-sm">
                <a class="rounded border border-slate-300 px-3 py-1" href=format!("{base}/edit")>"Edit"</a>
                <form method="post" action=format!("{base}/status")>
                    <input type="hidden" name="csrf" value=manage_csrf.clone()/>
                    <input type="hidden" name="to" value=to/>
                    <button type="submit" class="rounded border border-slate-300 px-3 py-1">{label}</button>
                </form>
                <form method="post" action=format!("{base}/delete")>
                    <input type="hidden" name="csrf" value=manage_csrf/>
                    <button type="submit" class="rounded border border-red-300 px-3 py-1 text-red-700">"Delete"</button>
                </form>
            </div>
            <dl class="mt-6 grid grid-cols-[12rem_1fr] gap-y-1 text-sm" data-testid="client">
                <dt class="text-slate-500">"Client id"</dt><dd><code>{client.client_id.clone()}</code></dd>
                <dt class="text-slate-500">"Type"</dt><dd>{client.client_type}</dd>
                <dt class="text-slate-500">"Status"</dt><dd>{client.status}</dd>
                <dt class="text-slate-500">"Authentication"</dt><dd>{client.auth_method}</dd>
                <dt class="text-slate-500">"Grant types"</dt><dd>{client.grant_types}</dd>
                <dt class="text-slate-500">"Scopes"</dt><dd>{client.scopes}</dd>
                <dt class="text-slate-500">"Redirect URIs"</dt><dd>{client.redirect_uris.join(", ")}</dd>
                <dt class="text-slate-500">"Lifetimes"</dt>
                <dd>{format!("access {} s, refresh {} s", client.access_token_lifetime, client.refresh_token_lifetime)}</dd>
            </dl>
            <form method="get" action=format!("/admin/clients/{}", client.client_id)
                class="mt-4 flex items-end gap-2 text-sm">
                <label>"Scope use over the last "
                    <input name="unused_days" type="number" min="1" max="366"
                        value=client.unused_days.to_string()
                        class="w-20 rounded border border-slate-300 px-2 py-1"/>
                    " days"
                </label>
                <button type="submit" class="rounded border border-slate-300 px-3 py-1">"Check"</button>
            </form>
            <p class="mt-2 text-sm text-slate-700" data-testid="unused-scopes">
                {if client.unused_scopes.is_empty() {
                    format!("Every allowed scope was used in the last {} days.", client.unused_days)
                } else {
                    format!(
                        "Not used in the last {} days: {}. Consider removing them.",
                        client.unused_days, client.unused_scopes,
                    )
                }}
            </p>
            {client.previous_secret.map(|p| view! {
                <p class="mt-4 rounded bg-amber-50 p-3 text-sm" data-testid="previous-secret">
                    {format!(
                        "The previous secret works until {}. Last used: {}{}.",
                        p.valid_until,
                        p.last_used,
                        if p.last_used_ip.is_empty() { String::new() } else { format!(" from {}", p.last_used_ip) }
                    )}
                </p>
            })}
            {confidential.then(|| view! {
                <form method="post" action=action class="mt-6 flex flex-wrap items-end gap-3">
                    <input type="hidden" name="csrf" value=csrf/>
                    <label class="text-sm">"Keep the old secret working for (hours, empty: stop it now)"
                        <input name="overlap_hours" inputmode="numeric"
                            class="ml-2 w-24 rounded border border-slate-300 px-2 py-1"/>
                    </label>
                    <button type="submit" class="rounded bg-indigo-700 px-3 py-1 text-sm font-semibold text-white">
                        "Regenerate secret"
                    </button>
                </form>
            })}
            <section class="mt-8">
                <h2 class="font-semibold">"History"</h2>
                <ul class="mt-2 space-y-1 text-sm" data-testid="client-history">
                    {client.history.into_iter().map(|e| view! {
                        <li>{format!("{} {} {} {}", e.at, e.actor, e.action, e.details)}</li>
                    }).collect_view()}
                </ul>
            </section>
            {keys.map(|keys| view! {
                <section class="mt-8">
                    <h2 class="font-semibold">"API keys"</h2>
                    <KeyTable keys csrf=key_csrf.clone()/>
                    <form method="post" action=create_key class="mt-4 flex flex-wrap items-end gap-2 text-sm">
                        <input type="hidden" name="csrf" value=key_csrf/>
                        <input name="name" placeholder="Name" required class="rounded border border-slate-300 px-2 py-1"/>
                        <input name="scopes" placeholder="Scopes" required class="rounded border border-slate-300 px-2 py-1"/>
                        <input name="rate_limit_per_minute" placeholder="Per minute" required inputmode="numeric"
                            class="w-28 rounded border border-slate-300 px-2 py-1"/>
                        <input name="burst" placeholder="Burst" inputmode="numeric" class="w-20 rounded border border-slate-300 px-2 py-1"/>
                        <input name="allowed_ips" placeholder="Allowed CIDRs" class="rounded border border-slate-300 px-2 py-1"/>
                        <input name="expires_in_days" placeholder="Expires in days" inputmode="numeric"
                            class="w-32 rounded border border-slate-300 px-2 py-1"/>
                        <button type="submit" class="rounded bg-indigo-700 px-3 py-1 font-semibold text-white">"Create key"</button>
                    </form>
                </section>
            })}
        </Frame>
    }
}

/// A client's keys with the actions each status allows.
#[component]
fn KeyTable(keys: Vec<KeyLine>, csrf: String) -> impl IntoView {
    view! {
        <table class="mt-2 w-full text-left text-sm" data-testid="keys">
            <thead>
                <tr class="border-b border-slate-300">
                    <th class="py-1">"Name"</th><th>"Key"</th><th>"Status"</th><th>"Scopes"</th>
                    <th>"Per minute"</th><th>"Last used"</th><th></th>
                </tr>
            </thead>
            <tbody>
                {keys.into_iter().map(|k| {
                    let status_action = format!("/admin/keys/{}/status", k.key_id);
                    let rotate_action = format!("/admin/keys/{}/rotate", k.key_id);
                    let (active, disabled) = (k.status == "active", k.status == "disabled");
                    let csrf = csrf.clone();
                    view! {
                        <tr class="border-b border-slate-200 align-top">
                            <td class="py-1">
                                <a class="text-indigo-700 underline" href=format!("/admin/keys/{}", k.key_id)>{k.name}</a>
                            </td>
                            <td><code>{format!("{}…", k.prefix)}</code></td>
                            <td>{k.status.clone()}</td>
                            <td>{k.scopes}</td>
                            <td>{k.rate_limit_per_minute}</td>
                            <td>{k.last_used}</td>
                            <td class="space-x-2 whitespace-nowrap">
                                {(active || disabled).then(|| {
                                    let to = if active { "disabled" } else { "active" };
                                    let label = if active { "Disable" } else { "Enable" };
                                    view! {
                                        <form method="post" action=status_action.clone() class="inline">
                                            <input type="hidden" name="csrf" value=csrf.clone()/>
                                            <input type="hidden" name="to" value=to/>
                                            <button type="submit" class="underline">{label}</button>
                                        </form>
                                        <form method="post" action=status_action.clone() class="inline">
                                            <input type="hidden" name="csrf" value=csrf.clone()/>
                                            <input type="hidden" name="to" value="revoked"/>
                                            <button type="submit" class="text-red-700 underline">"Revoke"</button>
                                        </form>
                                    }
                                })}
                                {active.then(|| view! {
                                    <form method="post" action=rotate_action class="inline">
                                        <input type="hidden" name="csrf" value=csrf.clone()/>
                                        <input name="overlap_hours" placeholder="overlap h" inputmode="numeric"
                                            class="w-20 rounded border border-slate-300 px-1"/>
                                        <button type="submit" class="underline">"Rotate"</button>
                                    </form>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// One bar group of the tokens chart: a day and its counts per grant type.
#[component]
pub fn AdminAnalyticsPage(
    email: String,
    csrf: String,
    /// The client the report is limited to; empty for all clients.
    client_id: String,
    report: UsageReport,
) -> impl IntoView {
    let csv = format!("/admin/analytics.csv?client_id={client_id}");
    let (from, to) = (report.from.clone(), report.to.clone());
    view! {
        <Frame title="Analytics".to_owned() signed_in_as=Some(email) csrf=csrf>
            <form method="get" action="/admin/analytics"
                class="mt-4 flex flex-wrap items-end gap-3 text-sm">
                <label>"From"
                    <input name="from" type="date" value=from
                        class="ml-1 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <label>"To"
                    <input name="to" type="date" value=to
                        class="ml-1 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <label>"Client id (empty: all)"
                    <input name="client_id" value=client_id
                        class="ml-1 rounded border border-slate-300 px-2 py-1"/>
                </label>
                <button type="submit" class="rounded border border-slate-300 px-3 py-1">
                    "Show"
                </button>
            </form>
            <UsageSections report csv/>
        </Frame>
    }
}

/// An end user as the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLine {
    pub username: String,
    pub email: String,
    pub name: String,
    pub status: String,
}

/// A remembered consent on the admin's user page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserConsentLine {
    pub client_id: String,
    pub client_name: String,
    pub scopes: String,
    pub granted_at: String,
}

#[component]
pub fn AdminUsersPage(email: String, csrf: String, users: Vec<UserLine>) -> impl IntoView {
    view! {
        <Frame title="Users".to_owned() signed_in_as=Some(email) csrf=csrf>
            <table class="mt-6 w-full text-left text-sm" data-testid="users">
                <thead>
                    <tr class="border-b border-slate-300">
                        <th class="py-2">"Username"</th><th>"Name"</th><th>"Email"</th><th>"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {users.into_iter().map(|u| {
                        let href = format!("/admin/users/{}", u.username);
                        view! {
                            <tr class="border-b border-slate-200">
                                <td class="py-1"><a class="text-indigo-700 underline" href=href>{u.username}</a></td>
                                <td>{u.name}</td><td>{u.email}</td><td>{u.status}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </Frame>
    }
}

#[component]
pub fn AdminUserPage(
    email: String,
    csrf: String,
    user: UserLine,
    consents: Vec<UserConsentLine>,
    notice: Option<String>,
) -> impl IntoView {
    let base = format!("/admin/users/{}", user.username);
    let active = user.status == "active";
    let (to, label) = if active { ("disabled", "Disable") } else { ("active", "Enable") };
    let empty = consents.is_empty();
    view! {
        <Frame title=user.username.clone() signed_in_as=Some(email) csrf=csrf.clone()>
            {notice.map(|n| view! { <p class="mt-4 rounded bg-green-50 p-3 text-green-900" role="status">{n}</p> })}
            <p class="mt-2 text-sm text-slate-600">{format!("{} · {} · {}", user.name, user.email, user.status)}</p>
            <div class="mt-4 flex flex-wrap gap-4">
                <form method="post" action=format!("{base}/status")>
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <input type="hidden" name="to" value=to/>
                    <button type="submit" class="rounded border border-slate-300 px-3 py-1 text-sm">{label}</button>
                </form>
                <form method="post" action=format!("{base}/password") class="flex gap-2">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <input name="password" type="password" autocomplete="new-password" placeholder="New password" required
                        class="rounded border border-slate-300 px-2 py-1 text-sm"/>
                    <button type="submit" class="rounded border border-slate-300 px-3 py-1 text-sm">"Reset password"</button>
                </form>
            </div>
            <h2 class="mt-8 font-semibold">"Applications this user allowed"</h2>
            {empty.then(|| view! { <p class="mt-2 text-sm text-slate-600">"None."</p> })}
            <ul class="mt-2 space-y-2" data-testid="user-consents">
                {consents.into_iter().map(|c| view! {
                    <li class="flex items-center justify-between rounded border border-slate-200 bg-white p-3 text-sm">
                        <span>{format!("{} ({}) since {}", c.client_name, c.scopes, c.granted_at)}</span>
                        <form method="post" action=format!("{base}/consents/revoke")>
                            <input type="hidden" name="csrf" value=csrf.clone()/>
                            <input type="hidden" name="client_id" value=c.client_id/>
                            <button type="submit" class="text-red-700 underline">"Revoke"</button>
                        </form>
                    </li>
                }).collect_view()}
            </ul>
        </Frame>
    }
}

/// A scope in the registry as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeLine {
    pub name: String,
    pub description: String,
    pub category: String,
    /// Declared inheritance, and everything it expands to.
    pub includes: String,
    pub expands_to: String,
    pub requires_user: bool,
    pub public: bool,
    pub built_in: bool,
}

#[component]
pub fn AdminScopesPage(email: String, csrf: String, scopes: Vec<ScopeLine>) -> impl IntoView {
    view! {
        <Frame title="Scopes".to_owned() signed_in_as=Some(email) csrf=csrf.clone()>
            <table class="mt-6 w-full text-left text-sm" data-testid="scopes">
                <thead>
                    <tr class="border-b border-slate-300">
                        <th class="py-2">"Scope"</th><th>"Description"</th><th>"Category"</th>
                        <th>"Includes"</th><th>"Expands to"</th><th>"Flags"</th>
                    </tr>
                </thead>
                <tbody>
                    {scopes.into_iter().map(|s| {
                        let flags = [
                            s.requires_user.then_some("needs a user"),
                            s.public.then_some("public"),
                            s.built_in.then_some("built in"),
                        ].into_iter().flatten().collect::<Vec<_>>().join(", ");
                        view! {
                            <tr class="border-b border-slate-200 align-top">
                                <td class="py-1"><code>{s.name}</code></td>
                                <td>{s.description}</td><td>{s.category}</td>
                                <td><code>{s.includes}</code></td><td><code>{s.expands_to}</code></td>
                                <td class="text-xs text-slate-600">{flags}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h2 class="mt-8 font-semibold">"Create or replace a scope"</h2>
            <form method="post" action="/admin/scopes" class="mt-2 flex flex-wrap items-end gap-2 text-sm">
                <input type="hidden" name="csrf" value=csrf/>
                <input name="name" placeholder="name, e.g. quote:read" required class="rounded border border-slate-300 px-2 py-1"/>
                <input name="description" placeholder="Shown to users on the consent screen" required
                    class="w-80 rounded border border-slate-300 px-2 py-1"/>
                <input name="category" placeholder="Category" class="rounded border border-slate-300 px-2 py-1"/>
                <input name="includes" placeholder="Includes (space-separated)" class="rounded border border-slate-300 px-2 py-1"/>
                <label><input type="checkbox" name="requires_user" value="true"/>" needs a user"</label>
                <label><input type="checkbox" name="public" value="true"/>" public"</label>
                <button type="submit" class="rounded bg-indigo-700 px-3 py-1 font-semibold text-white">"Save"</button>
            </form>
        </Frame>
    }
}

/// The client form's fields as typed, kept when the server refuses them so nothing is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientForm {
    pub name: String,
    pub client_type: String,
    pub grant_types: String,
    pub scopes: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub token_auth_method: String,
    pub id_token_signing_alg: String,
    pub access_token_lifetime: String,
    pub refresh_token_lifetime: String,
}

#[component]
pub fn AdminClientFormPage(
    email: String,
    csrf: String,
    /// Where the form posts: `/admin/clients` or `/admin/clients/{id}/edit`.
    action: String,
    editing: bool,
    form: ClientForm,
    error: Option<String>,
) -> impl IntoView {
    let title = if editing { "Edit client" } else { "New client" };
    view! {
        <Frame title=title.to_owned() signed_in_as=Some(email) csrf=csrf.clone()>
            {error.map(|e| view! {
                <p class="mt-4 rounded bg-red-50 p-3 text-sm text-red-800" role="alert">{e}</p>
            })}
            <form method="post" action=action class="mt-6 grid max-w-2xl gap-3">
                <input type="hidden" name="csrf" value=csrf/>
                <ClientFields form/>
                <button type="submit"
                    class="justify-self-start rounded bg-indigo-700 px-4 py-2 font-semibold text-white">
                    {if editing { "Save" } else { "Create client" }}
                </button>
            </form>
        </Frame>
    }
}

/// The registration fields of a client form, shared by the admin's and the partner's forms:
/// every setting typed out, none defaulted.
#[component]
pub fn ClientFields(form: ClientForm) -> impl IntoView {
    let field = |label: &'static str, name: &'static str, value: String, hint: &'static str| {
        view! {
            <label class="block">
                <span class="text-sm font-medium">{label}</span>
                <input name=name value=value
                    class="mt-1 w-full rounded border border-slate-300 px-3 py-1"/>
                <span class="text-xs text-slate-500">{hint}</span>
            </label>
        }
    };
    view! {
        {field("Name", "name", form.name, "Shown to users on the consent screen.")}
        {field("Type", "client_type", form.client_type,
            "confidential or public (fixed once created).")}
        {field("Grant types", "grant_types", form.grant_types,
            "authorization_code, refresh_token, client_credentials")}
        {field("Scopes", "scopes", form.scopes, "Space-separated; each must be in the registry.")}
        {field("Redirect URIs", "redirect_uris", form.redirect_uris,
            "Comma-separated; required with authorization_code.")}
        {field("Post-logout redirect URIs", "post_logout_redirect_uris",
            form.post_logout_redirect_uris, "Comma-separated, optional.")}
        {field("Token endpoint authentication", "token_auth_method", form.token_auth_method,
            "client_secret_basic, client_secret_post, or none for public clients.")}
        {field("ID token algorithm", "id_token_signing_alg", form.id_token_signing_alg,
            "ES256, RS256 or EdDSA; required exactly when scopes include openid.")}
        {field("Access token lifetime (s)", "access_token_lifetime", form.access_token_lifetime,
            "Required: no default.")}
        {field("Refresh token lifetime (s)", "refresh_token_lifetime",
            form.refresh_token_lifetime, "Required: no default.")}
    }
}

/// Verifications of one key per day, by outcome, and the addresses it was used from.
#[component]
pub fn AdminKeyPage(
    email: String,
    csrf: String,
    key: KeyLine,
    usage: KeyUsageReport,
) -> impl IntoView {
    let back = format!("/admin/clients/{}", key.client_id);
    let here = format!("/admin/keys/{}", key.key_id);
    let csv = format!("/admin/keys/{}/usage.csv", key.key_id);
    let summary = format!(
        "{}… · {} · {} · {} per minute · last used {}",
        key.prefix, key.status, key.scopes, key.rate_limit_per_minute, key.last_used,
    );
    view! {
        <Frame title=format!("API key {}", key.name) signed_in_as=Some(email) csrf=csrf>
            <p class="mt-2 text-sm text-slate-600">{summary}</p>
            <a class="text-sm text-indigo-700 underline" href=back>"Back to the client"</a>
            <KeyUsageSections usage here csv/>
        </Frame>
    }
}

#[component]
pub fn AdminTotpLoginPage(csrf: String, error: Option<String>) -> impl IntoView {
    view! {
        <Frame title="Second factor".to_owned() signed_in_as=None csrf=csrf.clone()>
            {error.map(|e| view! { <p class="mt-4 rounded bg-red-50 p-3 text-sm text-red-800" role="alert">{e}</p> })}
            <form method="post" action="/admin/login/totp" class="mt-6 max-w-sm space-y-4">
                <input type="hidden" name="csrf" value=csrf/>
                <label class="block">
                    <span class="text-sm font-medium">"Code from your authenticator app"</span>
                    <input name="code" inputmode="numeric" autocomplete="one-time-code" required
                        class="mt-1 w-full rounded border border-slate-300 px-3 py-2"/>
                </label>
                <button type="submit" class="w-full rounded bg-indigo-700 px-4 py-2 font-semibold text-white">"Continue"</button>
            </form>
        </Frame>
    }
}

/// The admin's own account: the second factor.
#[component]
pub fn AdminAccountPage(
    email: String,
    csrf: String,
    totp_on: bool,
    /// While setting up: the secret (base32) and its otpauth URI, shown this once.
    enrolment: Option<(String, String)>,
    notice: Option<String>,
) -> impl IntoView {
    view! {
        <Frame title="Your admin account".to_owned() signed_in_as=Some(email) csrf=csrf.clone()>
            {notice.map(|n| view! { <p class="mt-4 rounded bg-green-50 p-3 text-green-900" role="status">{n}</p> })}
            <h2 class="mt-6 font-semibold">"Second factor (TOTP)"</h2>
            <p class="mt-1 text-sm text-slate-600" data-testid="totp-status">
                {if totp_on { "On: signing in asks for a code." } else { "Off." }}
            </p>
            {match (totp_on, enrolment) {
                (_, Some((secret, uri))) => view! {
                    <div class="mt-4 rounded border border-amber-300 bg-amber-50 p-4 text-sm">
                        <p>"Add this secret to your authenticator app, then enter the code it shows."</p>
                        <code class="mt-2 block break-all" data-testid="totp-secret">{secret}</code>
                        <code class="mt-1 block break-all text-xs text-slate-600">{uri}</code>
                        <form method="post" action="/admin/account/totp/confirm" class="mt-3 flex gap-2">
                            <input type="hidden" name="csrf" value=csrf.clone()/>
                            <input name="code" inputmode="numeric" required class="rounded border border-slate-300 px-2 py-1"/>
                            <button type="submit" class="rounded bg-indigo-700 px-3 py-1 font-semibold text-white">"Turn on"</button>
                        </form>
                    </div>
                }.into_any(),
                (false, None) => view! {
                    <form method="post" action="/admin/account/totp/begin" class="mt-3">
                        <input type="hidden" name="csrf" value=csrf.clone()/>
                        <button type="submit" class="rounded border border-slate-300 px-3 py-1 text-sm">"Set up"</button>
                    </form>
                }.into_any(),
                (true, None) => view! {
                    <form method="post" action="/admin/account/totp/disable" class="mt-3">
                        <input type="hidden" name="csrf" value=csrf.clone()/>
                        <button type="submit" class="rounded border border-red-300 px-3 py-1 text-sm text-red-700">"Turn off"</button>
                    </form>
                }.into_any(),
            }}
        </Frame>
    }
}
