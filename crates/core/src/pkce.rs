//! PKCE (RFC 7636), S256 only, required of every client (OAuth 2.1 §7.5.2; RFC 9700 §2.1.1).
//!
//! `plain` is refused, and so is a challenge without a method: RFC 7636 §4.3 would read a missing
//! method as `plain`, which binds the code to nothing an eavesdropper lacks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest;

/// A code challenge accepted at the authorization endpoint: 43 base64url characters, the
/// encoding of a SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge is required: send the S256 challenge of a code_verifier (RFC 7636)")]
    MissingChallenge,
    #[error("code_challenge_method must be S256; plain is not accepted")]
    UnsupportedMethod,
    #[error("code_challenge must be 43 base64url characters (the S256 of the verifier)")]
    MalformedChallenge,
}

impl CodeChallenge {
    /// Validates the `code_challenge` and `code_challenge_method` parameters.
    pub fn from_request(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge.filter(|c| !c.is_empty()).ok_or(PkceError::MissingChallenge)?;
        if method != Some("S256") {
            return Err(PkceError::UnsupportedMethod);
        }
        let well_formed = challenge.len() == 43
            && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|d| d.len() == 32);
        if !well_formed {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// Restores a challenge that was validated before it was stored.
    pub fn from_stored(challenge: String) -> Self {
        Self(challenge)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` (RFC 7636 §4.1: 43-128 unreserved characters) hashes to this
    /// challenge. A malformed verifier never matches; the comparison is constant time.
    pub fn verify(&self, verifier: &str) -> bool {
        let unreserved =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
            return false;
        }
        let computed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
        crate::secret::hashes_equal(computed.as_bytes(), self.0.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        let challenge = CodeChallenge::from_request(Some(CHALLENGE), Some("S256")).unwrap();
        assert!(challenge.verify(VERIFIER));
    }

    #[test]
    fn c03_c05_only_s256_is_accepted() {
        for method in [None, Some("plain"), Some("s256"), Some("S512"), Some("SHA256"), Some("")] {
            assert_eq!(
                CodeChallenge::from_request(Some(CHALLENGE), method),
                Err(PkceError::UnsupportedMethod),
                "{method:?}"
            );
        }
        assert_eq!(
            CodeChallenge::from_request(None, Some("S256")),
            Err(PkceError::MissingChallenge)
        );
        assert_eq!(
            CodeChallenge::from_request(Some(""), Some("S256")),
            Err(PkceError::MissingChallenge),
            "A-26: empty is absent"
        );
    }

    #[test]
    fn c06_challenge_syntax() {
        let short = &CHALLENGE[..42];
        let long = format!("{CHALLENGE}A");
        let plus = CHALLENGE.replace('-', "+");
        let slash = CHALLENGE.replace('-', "/");
        let padded = format!("{}=", &CHALLENGE[..42]);
        for bad in [short, long.as_str(), plus.as_str(), slash.as_str(), padded.as_str()] {
            assert_eq!(
                CodeChallenge::from_request(Some(bad), Some("S256")),
                Err(PkceError::MalformedChallenge),
                "{bad}"
            );
        }
    }

    #[test]
    fn c08_c09_c11_wrong_or_malformed_verifiers_fail() {
        let challenge = CodeChallenge::from_request(Some(CHALLENGE), Some("S256")).unwrap();
        let other = "a".repeat(43);
        let with_space = format!("{} ", &VERIFIER[..42]);
        let with_plus = format!("{}+", &VERIFIER[..42]);
        for bad in [
            other.as_str(),
            CHALLENGE,
            &VERIFIER[..42],
            with_space.as_str(),
            with_plus.as_str(),
            "",
        ] {
            assert!(!challenge.verify(bad), "{bad:?}");
        }
        assert!(!challenge.verify(&"a".repeat(129)));
    }
}
