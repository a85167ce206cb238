//! API tokens: generation and the stored form.
//!
//! Tokens are 256 random bits, so a plain SHA-256 of the token is a safe lookup key (no
//! dictionary can reach them) and costs microseconds per request, unlike a password hash.
//! Only hashes are stored.

use sha2::{Digest, Sha256};

/// Prefix that makes rendan tokens recognisable in logs and secret scanners.
const PREFIX: &str = "rdn_";

/// A new random token (shown once, never stored).
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{PREFIX}{}", hex::encode(bytes)))
}

/// The stored form of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
