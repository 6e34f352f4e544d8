//! A registration's manage token: the business's key to its registration and its own data.
//!
//! A token is valid for a registration when its hash is the registration's `manage_token_hash`
//! (the token from the 201 response) or a row of `registration_tokens` for that registration (the
//! tokens in later emails). The comparison is done in constant time; anything else, including an
//! unknown registration, is the same `None`, so callers answer 404 and ids cannot be probed.

use diesel::prelude::*;

use super::tokens::{hash_token, tokens_match};
use crate::db::schema::{registration_tokens, registrations};
use crate::db::DbConnection;
use crate::error::AppError;

/// The registration's business id when `token` is a live manage token of registration `id`.
pub fn business_for_manage_token(
    conn: &mut DbConnection,
    registration_id: &str,
    token: &str,
) -> Result<Option<String>, AppError> {
    let row: Option<(String, String)> = registrations::table
        .find(registration_id)
        .select((registrations::manage_token_hash, registrations::business_id))
        .first(conn)
        .optional()?;
    let Some((stored, business_id)) = row else { return Ok(None) };
    if tokens_match(token, &stored) {
        return Ok(Some(business_id));
    }
    // Emailed tokens: look up by hash within this registration, then compare in constant time.
    let presented = hash_token(token);
    let emailed: Option<String> = registration_tokens::table
        .filter(registration_tokens::registration_id.eq(registration_id))
        .filter(registration_tokens::token_hash.eq(&presented))
        .select(registration_tokens::token_hash)
        .first(conn)
        .optional()?;
    Ok(emailed.filter(|h| tokens_match(token, h)).map(|_| business_id))
}
