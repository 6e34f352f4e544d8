//! Staff authentication and authorization.
//!
//! Tokens are 32 random bytes, shown once, stored as SHA-256 hashes. They carry a recognisable
//! prefix (`rss_` for staff, `rsm_` for registration manage tokens) so a leaked one can be spotted by
//! secret scanners. A request's [`Actor`] is the one place permissions are decided; queries take the
//! actor and put its scope in their `WHERE` clauses.

pub mod cli;
pub mod handlers;
pub mod manage;
pub mod queries;
pub mod scope;
pub mod security;
pub mod tokens;

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use crate::db::Db;
use crate::error::AppError;

pub use tokens::{hash_token, new_token, tokens_match, TokenKind};

pub fn routes(cfg: &mut web::ServiceConfig) {
    handlers::routes(cfg);
}

/// Staff roles (see ARCHITECTURE.md, "Invariants", and the rules in [`scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Organizer,
    Expert,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Organizer => "organizer",
            Role::Expert => "expert",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "organizer" => Some(Role::Organizer),
            "expert" => Some(Role::Expert),
            _ => None,
        }
    }
}

/// The authenticated staff member behind a request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub role: Role,
    /// The organization an organizer belongs to.
    pub organization_id: Option<String>,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// National admins only.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("this needs a national admin".into()))
        }
    }

    /// Admins and organizers (organizations, venues, events, registrants, reports). Experts get 403.
    pub fn require_staff_manager(&self) -> Result<(), AppError> {
        match self.role {
            Role::Admin | Role::Organizer => Ok(()),
            Role::Expert => Err(AppError::Forbidden("experts manage only their own profile and bookings".into())),
        }
    }
}

impl FromRequest for Actor {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let token = token.ok_or_else(|| {
                AppError::Unauthorized("send a staff token as `Authorization: Bearer <token>`".into())
            })?;
            let db = db.ok_or_else(|| AppError::internal("database missing from app data"))?;
            let hash = hash_token(&token);
            db.run(move |conn| queries::actor_for_token(conn, &hash))
                .await?
                .ok_or_else(|| AppError::Unauthorized("the token is unknown, revoked or expired".into()))
        })
    }
}

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
