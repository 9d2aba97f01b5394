//! Registrar passwords: accepted by length, stored only as Argon2id PHC
//! strings, checked in constant time.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use super::RegistryError;

/// RFC 5730 `pwType` is 6-16 characters; RFC 8807 login security allows longer ones.
pub const PASSWORD_CHARS_MIN: usize = 6;
pub const PASSWORD_CHARS_MAX: usize = 128;

pub fn hash_password(password: &str) -> Result<String, RegistryError> {
    let chars = password.chars().count();
    if !(PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars) {
        return Err(RegistryError::Invalid(format!("a password must be {PASSWORD_CHARS_MIN}-{PASSWORD_CHARS_MAX} characters")));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| RegistryError::Invalid(format!("cannot hash the password: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Hashes an object's authorization information. RFC 9154 codes carry at
/// least 128 bits of entropy ([`crate::model::lifecycle::strong_auth_info`]),
/// so a salted SHA-256 resists guessing as well as a slow hash would, and
/// keeps creates and transfers fast.
pub fn hash_auth_info(auth_info: &str) -> String {
    let mut salt = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt);
    let salt_hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256${salt_hex}${}", salted_digest(&salt_hex, auth_info))
}

pub fn verify_auth_info(auth_info: &str, stored: &str) -> bool {
    let mut parts = stored.splitn(3, '$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("sha256"), Some(salt), Some(digest)) => {
            let computed = salted_digest(salt, auth_info);
            computed.len() == digest.len() && computed.bytes().zip(digest.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        }
        _ => false,
    }
}

fn salted_digest(salt_hex: &str, secret: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(salt_hex.as_bytes());
    ctx.update(secret.as_bytes());
    ctx.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_never_contain_the_password() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn auth_info_hashes_are_salted_and_verify() {
        let a = hash_auth_info("Correct-Horse-42x");
        let b = hash_auth_info("Correct-Horse-42x");
        assert_ne!(a, b, "salted");
        assert!(verify_auth_info("Correct-Horse-42x", &a) && verify_auth_info("Correct-Horse-42x", &b));
        assert!(!verify_auth_info("Correct-Horse-42y", &a));
        assert!(!verify_auth_info("Correct-Horse-42x", "garbage"));
    }
}
