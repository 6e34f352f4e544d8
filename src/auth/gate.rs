//! The gates in front of the credentialed scopes (see [`crate::routes`]).
//!
//! A gate runs before anything reads the request body: a request without a credential, or with
//! one that is not valid, is answered here (401, or 404 for a manage token that does not match its
//! registration) whatever its body, so a stranger learns nothing about what lies behind. What the
//! gate proved is left in the request's extensions, where the [`Actor`] and [`ManageAccess`]
//! extractors find it; a handler wired outside its gate fails loudly instead of trusting nothing.

use std::future::{ready, Ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};

use super::{bearer_token, hash_token, queries};
use crate::actor::Actor;
use crate::db::Db;
use crate::error::AppError;

/// Staff scope: `Authorization: Bearer rss_…` must name a live token of an active user.
pub async fn staff_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match authenticate_staff(req.request()).await {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

async fn authenticate_staff(req: &HttpRequest) -> Result<Actor, AppError> {
    let token = bearer_token(req)
        .ok_or_else(|| AppError::Unauthorized("send a staff token as `Authorization: Bearer <token>`".into()))?;
    let db = db_of(req)?;
    let hash = hash_token(&token);
    db.run(move |conn| queries::actor_for_token(conn, &hash))
        .await?
        .ok_or_else(|| AppError::Unauthorized("the token is unknown, revoked or expired".into()))
}

impl FromRequest for Actor {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Actor>()
                .cloned()
                .ok_or_else(|| AppError::internal("a staff handler is wired outside the staff scope (no gate ran)")),
        )
    }
}

/// What a valid manage token proved: it belongs to this registration.
#[derive(Debug, Clone)]
pub struct ManageAccess {
    pub registration_id: String,
    pub business_id: String,
}

/// Manage scope (`/api/v1/registrations/{id}/…`): `Authorization: Bearer rsm_…` must be a live
/// manage token of registration `{id}`. No token is a 401 (whatever the id); an id that is not a
/// UUID is a 400 naming `id`; a token that does not match, or an id that names nothing, is the
/// same 404, so ids cannot be probed.
pub async fn manage_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let id = req.match_info().get("id").unwrap_or_default().to_string();
    match check_manage(req.request(), id).await {
        Ok(access) => {
            req.extensions_mut().insert(access);
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

async fn check_manage(req: &HttpRequest, raw_id: String) -> Result<ManageAccess, AppError> {
    let token = bearer_token(req).ok_or_else(|| {
        AppError::Unauthorized("send the registration's manage token as `Authorization: Bearer <token>`".into())
    })?;
    let no_such = || AppError::not_found("no such registration, or the token does not match it");
    let id = crate::http::parse_id("id", &raw_id)?;
    let db = db_of(req)?;
    let rid = id.clone();
    let business_id = db.run(move |c| super::manage::business_for_manage_token(c, &rid, &token)).await?;
    business_id.map(|business_id| ManageAccess { registration_id: id, business_id }).ok_or_else(no_such)
}

impl FromRequest for ManageAccess {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<ManageAccess>()
                .cloned()
                .ok_or_else(|| AppError::internal("a manage handler is wired outside the manage scope (no gate ran)")),
        )
    }
}

fn db_of(req: &HttpRequest) -> Result<web::Data<Db>, AppError> {
    req.app_data::<web::Data<Db>>().cloned().ok_or_else(|| AppError::internal("database missing from app data"))
}
