//! Idempotency keys: a client's promise that two requests with one key are one intent.
//!
//! Keys belong to a principal (not to one of its tokens) and to one operation. The first
//! request with a key is carried out and remembered with a fingerprint of its command; a
//! later request with the same key is answered from that memory when its fingerprint is the
//! same ([`judge`]), and refused otherwise.

use crate::Invalid;

/// A validated key: 1-255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// Validates a key; `field` names it in the error (usually the header's name).
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        let key = value.trim();
        if !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Key(key.to_string()))
        } else {
            Err(Invalid::new(
                field,
                "must be 1-255 visible ASCII characters",
            ))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key was used before for a different command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key was already used for a different request")]
pub struct KeyReused;

/// Whether a request whose command has fingerprint `incoming` may be answered with what the
/// key's first request (fingerprint `stored`) produced.
pub fn judge(stored: &[u8], incoming: &[u8]) -> Result<(), KeyReused> {
    if stored == incoming {
        Ok(())
    } else {
        Err(KeyReused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_and_replays_need_the_same_fingerprint() {
        assert_eq!(Key::parse(" k-1 ", "h").unwrap().as_str(), "k-1");
        assert!(Key::parse("", "h").is_err());
        assert!(Key::parse("a b", "h").is_err());
        assert!(Key::parse(&"x".repeat(256), "h").is_err());
        assert_eq!(judge(b"same", b"same"), Ok(()));
        assert_eq!(judge(b"one", b"two"), Err(KeyReused));
    }
}
