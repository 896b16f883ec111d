//! The organisation page of the developer portal: who belongs to it, and an invitation code
//! for a colleague to join. The account a code creates waits for an administrator like any
//! other; the server checks every request (nothing here is a check).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DevFrame, PartnerHeader, ShownOnce, ShownOnceBox, BUTTON};

/// A member of the organisation as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLine {
    pub email: String,
    pub name: String,
    pub status: String,
    /// Who invited this member; empty for the account that founded the organisation.
    pub invited_by: String,
}

#[component]
pub fn DevTeamPage(
    header: PartnerHeader,
    members: Vec<MemberLine>,
    shown_once: Option<ShownOnce>,
) -> impl IntoView {
    let csrf = header.csrf.clone();
    view! {
        <DevFrame title="Your organisation".to_owned() header=Some(header)>
            <ShownOnceBox shown=shown_once/>
            <p class="mt-2 text-sm text-slate-600">
                "Everyone here sees and manages the organisation's clients, keys and usage."
            </p>
            <table class="mt-4 w-full text-left text-sm" data-testid="members">
                <thead>
                    <tr class="border-b border-slate-300">
                        <th class="py-1 pr-4">"Email"</th><th class="pr-4">"Name"</th>
                        <th class="pr-4">"Status"</th><th>"Invited by"</th>
                    </tr>
                </thead>
                <tbody>
                    {members.into_iter().map(|m| view! {
                        <tr class="border-b border-slate-200">
                            <td class="py-1 pr-4">{m.email}</td>
                            <td class="pr-4">{m.name}</td>
                            <td class="pr-4">{m.status}</td>
                            <td>{m.invited_by}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h2 class="mt-8 font-semibold">"Invite a colleague"</h2>
            <p class="mt-2 text-sm text-slate-600">
                "The code is shown once and works for one sign-up within seven days. Your "
                "colleague enters it on the sign-up form; an administrator then approves the "
                "account before it can do anything."
            </p>
            <form method="post" action="/developers/team/invitations" class="mt-3">
                <input type="hidden" name="csrf" value=csrf/>
                <button type="submit" class=BUTTON>"Create an invitation code"</button>
            </form>
        </DevFrame>
    }
}
