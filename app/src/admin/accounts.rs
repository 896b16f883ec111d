//! The admin accounts page: who may administer Portcullis and in which areas. The server
//! checks `admin:admins` for the page and every form on it; nothing here is a check.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::Frame;

const PRIMARY: &str = "rounded bg-indigo-700 px-3 py-1 font-semibold text-white";

/// Every permission an admin may hold, in the order the page lists them, with what it allows.
pub const PERMISSIONS: [(&str, &str); 6] = [
    ("admin:clients", "clients, their secrets and tokens"),
    ("admin:keys", "API keys"),
    ("admin:users", "end users and their consents"),
    ("admin:scopes", "the scope registry"),
    ("admin:audit", "the audit log"),
    ("admin:admins", "admin accounts"),
];

/// An admin account as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAccountLine {
    pub email: String,
    /// Wire names, e.g. `admin:clients`.
    pub permissions: Vec<String>,
    pub totp: bool,
    pub created_at: String,
}

#[component]
pub fn AdminAccountsPage(
    email: String,
    csrf: String,
    admins: Vec<AdminAccountLine>,
    notice: Option<String>,
) -> impl IntoView {
    view! {
        <Frame title="Admins".to_owned() signed_in_as=Some(email) csrf=csrf.clone()>
            {notice.map(|n| view! {
                <p class="mt-4 rounded bg-green-50 p-3 text-green-900" role="status">{n}</p>
            })}
            <p class="mt-2 text-sm text-slate-600">
                "Permissions take effect at the admin's next request. The last admin who holds "
                <code>"admin:admins"</code>" cannot lose it or be deleted."
            </p>
            <ul class="mt-6 space-y-3" data-testid="admins">
                {admins.into_iter().map(|a| view! {
                    <AdminAccountRow admin=a csrf=csrf.clone()/>
                }).collect_view()}
            </ul>
            <h2 class="mt-8 font-semibold">"Add an admin"</h2>
            <form method="post" action="/admin/admins" class="mt-2 space-y-2 text-sm">
                <input type="hidden" name="csrf" value=csrf/>
                <div class="flex flex-wrap gap-2">
                    <input name="email" type="email" placeholder="Email" required
                        class="rounded border border-slate-300 px-2 py-1"/>
                    <input name="password" type="password" autocomplete="new-password"
                        placeholder="Initial password (hand it over safely)" required
                        class="w-72 rounded border border-slate-300 px-2 py-1"/>
                </div>
                <PermissionBoxes held=Vec::new()/>
                <button type="submit" class=PRIMARY>"Add admin"</button>
            </form>
        </Frame>
    }
}

#[component]
fn AdminAccountRow(admin: AdminAccountLine, csrf: String) -> impl IntoView {
    let second_factor = if admin.totp { "TOTP on" } else { "password only" };
    let summary = format!("{} · since {}", second_factor, admin.created_at);
    let (marker, shown, field) = (admin.email.clone(), admin.email.clone(), admin.email.clone());
    view! {
        <li class="rounded border border-slate-200 bg-white p-3 text-sm" data-admin=marker>
            <p class="font-semibold">{shown}</p>
            <p class="text-xs text-slate-600">{summary}</p>
            <form method="post" action="/admin/admins/permissions" class="mt-2 space-y-2">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="email" value=field/>
                <PermissionBoxes held=admin.permissions/>
                <button type="submit" class="rounded border border-slate-300 px-3 py-1">
                    "Save permissions"
                </button>
            </form>
            <form method="post" action="/admin/admins/delete" class="mt-2">
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="email" value=admin.email/>
                <button type="submit" class="text-red-700 underline">"Delete this admin"</button>
            </form>
        </li>
    }
}

/// One checkbox per permission, each its own field (`admin:clients=on`).
#[component]
fn PermissionBoxes(held: Vec<String>) -> impl IntoView {
    view! {
        <fieldset class="flex flex-wrap gap-x-4 gap-y-1">
            {PERMISSIONS.iter().map(|(name, what)| {
                let checked = held.iter().any(|h| h == name);
                view! {
                    <label title=*what>
                        <input type="checkbox" name=*name value="on" checked=checked/>
                        " " <code>{*name}</code>
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}
