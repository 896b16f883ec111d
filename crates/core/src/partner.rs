//! Partner developers: their accounts, the organisation each belongs to, what that organisation
//! asked for and what it is told. Ownership is by organisation; every partner action is checked
//! against it on the server.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::client::wire_enum;
use crate::UnixTime;

wire_enum!(
    /// Where a partner account stands. Only `active` accounts may sign in to the console.
    PartnerStatus {
        /// Signed up, waiting for an admin's decision.
        Pending = "pending",
        Active = "active",
        /// An admin said no, with a reason the partner reads at sign-in.
        Rejected = "rejected",
        /// Switched off by an admin: sessions end and the organisation's clients and keys are
        /// disabled with it.
        Disabled = "disabled",
    }
);

/// A partner developer's account. The password is kept only as an argon2id PHC string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    pub id: String,
    /// Sign-in name, lower-cased.
    pub email: String,
    pub name: String,
    /// The organisation's name as the partner typed it: a label, never an access decision.
    pub organisation: String,
    /// What ownership is checked against: server-generated at sign-up, or the inviting
    /// colleague's when the account was created with an invitation.
    pub organisation_id: String,
    /// The email of the colleague whose invitation this account was created with: it joined
    /// that organisation (if an admin approves it) instead of founding one.
    pub invited_by: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub status: PartnerStatus,
    /// The admin's reason for the last decision on the account.
    pub decision_reason: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl fmt::Debug for Partner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partner")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("organisation_id", &self.organisation_id)
            .field("status", &self.status)
            .field("password_hash", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// What a partner organisation said about a client it requested, and what the admin decided
/// for it beyond the client's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerClient {
    pub client_id: String,
    pub organisation_id: String,
    pub description: String,
    /// Why the partner needs it, for the admin deciding.
    pub justification: String,
    /// The longest overlap the partner may keep an old secret or key working when it rotates
    /// one; set by the admin at approval (0: old ones stop at once).
    pub max_overlap_hours: Option<u32>,
    /// The admin's reason for the approval or rejection.
    pub decision_reason: Option<String>,
    /// When the partner was shown the client's first secret; it is shown once.
    pub secret_revealed_at: Option<UnixTime>,
    pub requested_at: UnixTime,
}

/// A line in a partner organisation's notifications: a decision about its account, clients or
/// keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub organisation_id: String,
    pub at: UnixTime,
    /// `account.approve`, `client.approve`, `client.reject`, `api_key.approve`, …
    pub kind: String,
    /// `client:<id>` or `api_key:<id>`.
    pub target: String,
    pub message: String,
    pub read_at: Option<UnixTime>,
}

/// An invitation for a colleague to sign up into an existing organisation. Only the keyed hash
/// of its code is stored; the code is shown once to the partner who asked for it. The account it
/// creates is pending like any other until an admin approves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub code_hash: Vec<u8>,
    pub organisation_id: String,
    pub organisation: String,
    /// The inviting partner's email.
    pub invited_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// How long an invitation code may wait to be used.
pub const INVITATION_LIFETIME_SECONDS: UnixTime = 7 * 86_400;
