//! Administrators of the partner programme and what each may do. Every admin action is checked
//! against [`AdminPermission`] on the server; a hidden button is not a check.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::client::{parse_wire_list, wire_enum};
use crate::UnixTime;

wire_enum!(
    /// One area of the admin portal. An admin holds any set of them.
    AdminPermission {
        Clients = "admin:clients",
        Keys = "admin:keys",
        Users = "admin:users",
        Scopes = "admin:scopes",
        Audit = "admin:audit",
        Admins = "admin:admins",
    }
);

/// Parses a comma- or space-separated permission list; empty is an error (an admin who may do
/// nothing is a mistake, not a default).
pub fn parse_permissions(list: &str) -> Result<BTreeSet<AdminPermission>, String> {
    let permissions: BTreeSet<AdminPermission> = parse_wire_list(list)?;
    if permissions.is_empty() {
        return Err(format!(
            "name at least one permission: {}",
            AdminPermission::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(permissions)
}

/// An administrator as stored. The password is kept only as an argon2id PHC string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    pub id: String,
    /// Sign-in name, lower-cased.
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub permissions: BTreeSet<AdminPermission>,
    /// The TOTP secret, sealed with the master key, once the admin turned the second factor
    /// on; sign-in then needs a code too.
    #[serde(skip)]
    pub totp_sealed: Option<Vec<u8>>,
    /// The last TOTP step accepted: a code is good once.
    #[serde(skip)]
    pub totp_last_step: Option<i64>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("permissions", &self.permissions)
            .field("password_hash", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Admin {
    pub fn may(&self, permission: AdminPermission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// Whether `email` is acceptable as an admin sign-in name (and its normal form).
pub fn normalise_email(email: &str) -> Option<String> {
    let email = email.trim().to_ascii_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && email.len() <= 254
        && email.chars().all(|c| c.is_ascii_graphic())
        && !domain.starts_with('.')
        && !domain.ends_with('.');
    valid.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_exactly_and_none_is_an_error() {
        let set = parse_permissions("admin:clients, admin:audit").unwrap();
        assert_eq!(set.len(), 2);
        assert!(parse_permissions("").is_err());
        assert!(parse_permissions("admin:everything").is_err());
        assert!(parse_permissions("ADMIN:CLIENTS").is_err(), "exact spelling");
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(normalise_email(" Root@Example.COM ").as_deref(), Some("root@example.com"));
        for bad in ["", "root", "root@", "@example.com", "root@localhost", "ro ot@example.com"] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_password_hash() {
        let admin = Admin {
            id: "a1".into(),
            email: "root@example.com".into(),
            password_hash: "$argon2id$secret".into(),
            permissions: BTreeSet::from([AdminPermission::Admins]),
            totp_sealed: None,
            totp_last_step: None,
            created_at: 0,
            updated_at: 0,
        };
        assert!(!format!("{admin:?}").contains("argon2id"));
    }
}
