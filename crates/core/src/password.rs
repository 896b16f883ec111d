//! Human passwords: argon2id, with explicit parameters, stored as PHC strings.
//!
//! The parameters are OWASP's current minimum for argon2id (19 MiB, 2 passes, 1 lane): about
//! 20-30 ms per hash on one core here, so the caller must run it off the async executor. An
//! unknown user is checked against a dummy hash so that a wrong username and a wrong password
//! cost the same (no user enumeration by timing).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted when one is set (NIST SP 800-63B §3.1.1.2 asks for at least 8).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password hashed; longer input is refused rather than hashed at length.
pub const MAX_PASSWORD_LEN: usize = 1024;

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("passwords must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters")]
    Length,
    #[error("the stored password hash is not a valid PHC string")]
    Corrupt,
}

fn hasher() -> Argon2<'static> {
    // The constants are within argon2's limits, so construction cannot fail.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a new password. CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let length = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&length) {
        return Err(PasswordError::Length);
    }
    let mut salt_bytes = [0u8; 16];
    crate::secret::fill_random(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| PasswordError::Corrupt)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Corrupt)
}

/// Checks a password against a stored hash, or against a dummy when there is no user, so both
/// cases take one argon2id computation. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    if password.len() > MAX_PASSWORD_LEN * 4 {
        return false;
    }
    let dummy = dummy_hash();
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let matches = hasher().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && real
}

fn dummy_hash() -> &'static String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("portcullis-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse batterx", Some(&hash)));
        assert_ne!(hash, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn unknown_users_and_garbage_never_verify() {
        assert!(!verify_password("portcullis-dummy-password", None));
        assert!(!verify_password("anything", Some("not a phc string")));
        assert_eq!(hash_password("short"), Err(PasswordError::Length));
    }
}
