//! Staff authentication and authorization.
//!
//! Tokens are 32 random bytes, shown once, stored as SHA-256 hashes. They carry a recognisable
//! prefix (`rss_` for staff, `rsm_` for registration manage tokens) so a leaked one can be spotted by
//! secret scanners. A request's [`Actor`] is the one place permissions are decided; queries take the
//! actor and put its scope in their `WHERE` clauses.

pub mod cli;
pub mod gate;
pub mod handlers;
pub mod manage;
pub mod queries;
pub mod routes;
pub mod scope;
pub mod security;
pub mod tokens;
pub mod wire;

use actix_web::{http::header, HttpRequest};

pub use tokens::{hash_token, new_token, tokens_match, TokenKind};

pub use crate::actor::Actor;
pub use crate::domain::Role;
pub use gate::{manage_gate, staff_gate, ManageAccess};

/// The bearer token of a request, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_string())
}
