//! Users' passwords for the web pages: argon2id (RustCrypto's `argon2`, its default
//! parameters: 19 MiB, 2 passes) in PHC strings, so the parameters travel with each hash
//! and can be raised later without invalidating stored ones.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

use crate::validation::{Invalid, Violations};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 10;

/// Checks a new password against the policy; `field` names it in the error.
pub fn check_policy(field: &str, password: &str) -> Result<(), Invalid> {
    let mut v = Violations::new();
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        v.add(field, format!("must be at least {MIN_LENGTH} characters long"));
    }
    v.check(chars <= 256, field, "must be at most 256 characters long");
    v.check(password.trim().chars().count() == chars, field, "must not start or end with spaces");
    v.check(!password.contains('\0'), field, "must not contain U+0000");
    v.finish()
}

/// Hashes a password (CPU-heavy: call it off the async threads, see [`hash_blocking`]).
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// True when `password` matches the stored PHC string (false for a malformed one).
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// [`hash`] on the blocking pool.
pub async fn hash_blocking(password: String) -> String {
    tokio::task::spawn_blocking(move || hash(&password)).await.expect("password hashing does not panic")
}

/// [`verify`] on the blocking pool.
pub async fn verify_blocking(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc)).await.unwrap_or(false)
}

/// A random password an admin can hand to a user (16 characters from an alphabet without
/// look-alikes), for the CLI when no password is given.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn the_policy_names_what_is_wrong() {
        assert!(check_policy("password", "short").is_err());
        assert!(check_policy("password", " leading-space-password").is_err());
        assert!(check_policy("password", "long enough password").is_ok());
        assert_eq!(generate().len(), 16);
        assert!(check_policy("password", &generate()).is_ok());
    }
}
