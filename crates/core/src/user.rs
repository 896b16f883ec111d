//! End users: the people who sign in on the login page and consent to clients.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::client::wire_enum;
use crate::UnixTime;

wire_enum!(
    /// Only active users sign in.
    UserStatus { Active = "active", Disabled = "disabled" }
);

/// A user as stored. The password is kept only as an argon2id PHC string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The stable `sub` of the user's tokens.
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub status: UserStatus,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("status", &self.status)
            .field("password_hash", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Usernames: 1-64 characters of `a-z 0-9 . _ - @`, lower case, so that look-alike spellings
/// cannot register as different people.
pub fn valid_username(name: &str) -> bool {
    let ok = |b: u8| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'@')
    };
    (1..=64).contains(&name.len()) && name.bytes().all(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_restricted() {
        assert!(valid_username("alice"));
        assert!(valid_username("alice.smith@example.com"));
        for bad in ["", "Alice", "al ice", "alice\0", "élise", &"a".repeat(65)] {
            assert!(!valid_username(bad), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_hash() {
        let user = User {
            id: "u1".into(),
            username: "alice".into(),
            email: None,
            name: None,
            password_hash: "$argon2id$secret".into(),
            status: UserStatus::Active,
            created_at: 0,
            updated_at: 0,
        };
        assert!(!format!("{user:?}").contains("argon2id"));
    }
}
