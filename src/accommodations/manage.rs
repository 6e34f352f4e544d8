//! The holder's own accommodation request, through the manage token of the registration
//! (`/api/v1/registrations/{id}/accommodation`) or the expert booking
//! (`/api/v1/expert-bookings/{id}/accommodation`). The gates have checked the token against
//! `{id}` before any of this runs. `GET` of the registration or booking shows the request.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::model::Accommodation;
use super::queries::{self, Owner};
use super::wire::{AccommodationIn, AccommodationOut};
use crate::auth::ManageAccess;
use crate::db::Db;
use crate::error::AppError;
use crate::experts::manage::BookingAccess;
use crate::http::JsonBody;
use crate::openapi::problems::Manage;

fn parse(input: &AccommodationIn) -> Result<Accommodation, AppError> {
    Accommodation::parse("", input).map_err(AppError::Validation)
}

async fn set(db: &Db, owner: OwnerId, wanted: Option<Accommodation>) -> Result<Option<AccommodationOut>, AppError> {
    db.write(move |c| {
        let owner = match &owner {
            OwnerId::Registration(id) => Owner::Registration(id),
            OwnerId::Booking(id) => Owner::Booking(id),
        };
        queries::set_by_holder(c, owner, wanted.as_ref())
    })
    .await
}

enum OwnerId {
    Registration(String),
    Booking(String),
}

fn answer(out: Option<AccommodationOut>) -> Result<HttpResponse, AppError> {
    let out = out.ok_or_else(|| AppError::internal("the accommodation request vanished"))?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(&out))
}

/// Ask for (or change) an accommodation at an event.
///
/// Replaces the registration's request. Seen by the holder, the event's host organizers and
/// admins only; the hosts hear of a new or changed request in their next daily digest. A cancelled
/// registration, or one whose event has started, is a 409.
#[utoipa::path(
    put,
    path = "/api/v1/registrations/{id}/accommodation",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    request_body(
        content = AccommodationIn,
        example = json!({"categories": ["sign_language_interpreter", "other"], "note": "ASL, and a seat near the front"})
    ),
    security(("manage_token" = [])),
    responses((status = 200, description = "The request as it is now", body = AccommodationOut), Manage)
)]
pub(crate) async fn put_registration_accommodation(
    access: ManageAccess,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<AccommodationIn>,
) -> Result<HttpResponse, AppError> {
    let a = parse(&input)?;
    answer(set(&db, OwnerId::Registration(access.registration_id), Some(a)).await?)
}

/// Withdraw the registration's accommodation request (nothing there is fine too).
#[utoipa::path(
    delete,
    path = "/api/v1/registrations/{id}/accommodation",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses((status = 204, description = "There is no request now"), Manage)
)]
pub(crate) async fn delete_registration_accommodation(
    access: ManageAccess,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    set(&db, OwnerId::Registration(access.registration_id), None).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for (or change) an accommodation at an expert session.
///
/// Replaces the booking's request. Seen by the holder, the expert, the event's host organizers
/// and admins only. A cancelled booking, or one whose session has started, is a 409.
#[utoipa::path(
    put,
    path = "/api/v1/expert-bookings/{id}/accommodation",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking.")),
    request_body(
        content = AccommodationIn,
        example = json!({"categories": ["sign_language_interpreter", "other"], "note": "ASL, and a seat near the front"})
    ),
    security(("manage_token" = [])),
    responses((status = 200, description = "The request as it is now", body = AccommodationOut), Manage)
)]
pub(crate) async fn put_booking_accommodation(
    access: BookingAccess,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<AccommodationIn>,
) -> Result<HttpResponse, AppError> {
    let a = parse(&input)?;
    answer(set(&db, OwnerId::Booking(access.booking_id), Some(a)).await?)
}

/// Withdraw the booking's accommodation request (nothing there is fine too).
#[utoipa::path(
    delete,
    path = "/api/v1/expert-bookings/{id}/accommodation",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking.")),
    security(("manage_token" = [])),
    responses((status = 204, description = "There is no request now"), Manage)
)]
pub(crate) async fn delete_booking_accommodation(
    access: BookingAccess,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    set(&db, OwnerId::Booking(access.booking_id), None).await?;
    Ok(HttpResponse::NoContent().finish())
}
