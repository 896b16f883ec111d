//! Machine-generated bearer secrets: generation, redaction and keyed hashing.
//!
//! Client secrets, refresh tokens and API keys are 256 random bits with a kind prefix, so a
//! leaked value is recognisable by secret scanners. They are shown once and stored only as
//! HMAC-SHA256 under a server key: a fast keyed hash is the right tool for high-entropy,
//! machine-generated secrets (argon2id is for human passwords). Comparison is constant time.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroize;

/// Random bytes in every generated secret: 256 bits.
pub const SECRET_BYTES: usize = 32;

/// What a secret is for; fixes its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    ClientSecret,
    RefreshToken,
    ApiKey,
    AuthorizationCode,
    /// A partner's invitation for a colleague to join its organisation.
    PartnerInvitation,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ClientSecret => "pcs_",
            Self::RefreshToken => "pcrt_",
            Self::ApiKey => "pcak_",
            Self::AuthorizationCode => "pcac_",
            Self::PartnerInvitation => "pcpi_",
        }
    }
}

/// A secret value. `Debug` is redacted, there is no `Display` or `Serialize`, memory is zeroed
/// on drop, and the value is reached only through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The plaintext. Call only to hash it or to show it to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Generates a new 256-bit secret of the given kind.
    pub fn generate(kind: SecretKind) -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        fill_random(&mut bytes);
        let value = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
        bytes.zeroize();
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Fills `buf` from the operating system's CSPRNG.
///
/// The OS generator failing is not something the server can work around, and continuing with
/// predictable secrets would be worse than stopping.
#[allow(clippy::expect_used)] // reason: no safe way to continue without randomness
pub fn fill_random(buf: &mut [u8]) {
    SystemRandom::new().fill(buf).expect("the operating system random generator failed");
}

/// A random identifier (for ids and jti values): 128 bits, base64url.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two stored hashes in constant time (for lookups that already hold both).
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Keyed hash for machine-generated secrets (HMAC-SHA256).
#[derive(Clone)]
pub struct SecretHasher {
    key: hmac::Key,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher([REDACTED])")
    }
}

impl SecretHasher {
    pub fn new(key_material: &[u8; 32]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, key_material) }
    }

    /// The stored form of a secret.
    pub fn hash(&self, secret: &str) -> Vec<u8> {
        hmac::sign(&self.key, secret.as_bytes()).as_ref().to_vec()
    }

    /// Checks a presented secret against a stored hash in constant time.
    pub fn verify(&self, presented: &str, stored_hash: &[u8]) -> bool {
        hmac::verify(&self.key, presented.as_bytes(), stored_hash).is_ok()
    }

    /// A short, non-reversible fingerprint for logs and audit (never the secret itself).
    pub fn fingerprint(&self, secret: &str) -> String {
        let tag = hmac::sign(&self.key, secret.as_bytes());
        tag.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_prefix_and_256_bits() {
        let secret = Secret::generate(SecretKind::ClientSecret);
        let body = secret.expose().strip_prefix("pcs_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_ne!(secret.expose(), Secret::generate(SecretKind::ClientSecret).expose());
    }

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new("pcs_hunter2".into());
        assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
    }

    #[test]
    fn hash_verifies_only_the_same_secret_under_the_same_key() {
        let hasher = SecretHasher::new(&[7; 32]);
        let stored = hasher.hash("pcs_abc");
        assert!(hasher.verify("pcs_abc", &stored));
        assert!(!hasher.verify("pcs_abd", &stored));
        assert!(!SecretHasher::new(&[8; 32]).verify("pcs_abc", &stored));
    }
}
