//! Time-based one-time passwords (RFC 6238) for the admin second factor: HMAC-SHA1, six digits,
//! 30-second steps, the parameters every authenticator app understands. A code is accepted for
//! the current step or one step either side (clock drift), and never twice: the caller keeps
//! the last step used and passes it back.

use ring::hmac;

use crate::secret::{fill_random, hashes_equal};
use crate::UnixTime;

/// Seconds per step (RFC 6238 §4, the default X).
pub const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;
/// Steps either side of now that still count (RFC 6238 §5.2 recommends at most one).
const DRIFT_STEPS: i64 = 1;

/// A new 160-bit secret (RFC 4226 §4 asks for at least 128, recommends 160).
pub fn generate_secret() -> [u8; 20] {
    let mut secret = [0u8; 20];
    fill_random(&mut secret);
    secret
}

/// The code for one step (RFC 4226 §5.3 dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> String {
    // SHA-1 is what RFC 6238 authenticators implement; as an HMAC keyed with a random secret
    // its collision weakness does not apply.
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let bytes = tag.as_ref();
    let offset = usize::from(bytes[bytes.len() - 1] & 0x0f);
    let value = u32::from_be_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:0width$}", value % 10u32.pow(DIGITS), width = DIGITS as usize)
}

/// The step a presented code matches, if any: within the drift window and after
/// `last_used_step` (a code is good once). Every candidate is compared in constant time.
pub fn verify(
    secret: &[u8],
    code: &str,
    now: UnixTime,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP_SECONDS);
    let mut matched = None;
    for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
        if hashes_equal(code_at(secret, step).as_bytes(), code.as_bytes()) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched.filter(|step| last_used_step.is_none_or(|last| *step > last))
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes unpadded RFC 4648 base32 (case-insensitive); `None` for anything else.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim().bytes() {
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app imports (the Key Uri Format).
pub fn provisioning_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        escape(issuer),
        escape(account),
        base32(secret),
        escape(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_vectors_truncated_to_six_digits() {
        // RFC 6238 Appendix B (SHA-1): 94287082, 07081804, 14050471, 89005924.
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
        ] {
            assert_eq!(code_at(RFC_SECRET, time / STEP_SECONDS), code, "{time}");
        }
    }

    #[test]
    fn codes_are_good_near_now_and_only_once() {
        let now = 1_234_567_890;
        let step = now / STEP_SECONDS;
        let code = code_at(RFC_SECRET, step);
        assert_eq!(verify(RFC_SECRET, &code, now, None), Some(step));
        assert_eq!(verify(RFC_SECRET, &code, now + STEP_SECONDS, None), Some(step), "drift");
        assert_eq!(verify(RFC_SECRET, &code, now + 3 * STEP_SECONDS, None), None, "too late");
        assert_eq!(verify(RFC_SECRET, &code, now, Some(step)), None, "used once");
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(verify(RFC_SECRET, bad, now, None), None);
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap(), RFC_SECRET);
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32_decode("not base32!"), None);
    }
}
