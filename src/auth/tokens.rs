//! Random secrets: generation, hashing for storage, constant-time comparison.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy)]
pub enum TokenKind {
    /// Staff API token.
    Staff,
    /// A registration's manage token.
    Manage,
    /// One-click unsubscribe and other emailed keys.
    Link,
    /// A single-use privacy link (export, erasure, business update, consent).
    Privacy,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Staff => "rss_",
            TokenKind::Manage => "rsm_",
            TokenKind::Link => "rsl_",
            TokenKind::Privacy => "rsp_",
        }
    }
}

/// A new random token: prefix + 43 URL-safe characters (256 bits).
pub fn new_token(kind: TokenKind) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{}{}", kind.prefix(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored instead of a token: hex SHA-256. Tokens carry 256 random bits, so a fast hash is
/// enough (no dictionary to guard against).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Compares a presented token with a stored hash in constant time.
pub fn tokens_match(presented: &str, stored_hash: &str) -> bool {
    let h = hash_token(presented);
    h.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// The first characters of a token, safe to show in listings so a user can tell tokens apart.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_verifiable() {
        let a = new_token(TokenKind::Staff);
        let b = new_token(TokenKind::Staff);
        assert_ne!(a, b);
        assert!(a.starts_with("rss_") && a.len() == 47);
        assert!(tokens_match(&a, &hash_token(&a)));
        assert!(!tokens_match(&b, &hash_token(&a)));
    }
}
