//! A registration through its manage token (`/api/v1/registrations/{id}`): see it, cancel it, get
//! its calendar entry. The manage gate ([`crate::auth::manage_gate`]) has checked the token
//! against `{id}` before any of this runs; the handlers take what it proved, [`ManageAccess`].
//! The cancelling and the calendar are shared with the HTML page ([`super::page`]).

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::queries;
use super::wire::RegistrationOut;
use crate::auth::ManageAccess;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::mail::MailContext;
use crate::openapi::problems::Manage;

fn no_such_registration() -> AppError {
    AppError::not_found("no such registration")
}

/// The registration as its holder sees it.
pub(super) async fn view(db: &Db, id: String) -> Result<RegistrationOut, AppError> {
    let held = db.read(move |c| queries::held(c, &id)).await?.ok_or_else(no_such_registration)?;
    Ok(held.into())
}

/// Cancels the registration at its holder's request (refused once the event has started) and
/// answers with it as it is now.
pub(super) async fn cancel(db: &Db, config: &Config, id: String) -> Result<RegistrationOut, AppError> {
    let ctx = MailContext::from_config(config);
    let held = db
        .write_retrying(move |c| {
            queries::cancel_by_holder(c, &ctx, &id)?;
            queries::held(c, &id)?.ok_or_else(no_such_registration)
        })
        .await?;
    Ok(held.into())
}

/// The registration's calendar entry as a `text/calendar` answer, organized by the configured
/// sender as the emailed invites are.
pub(super) async fn calendar_answer(db: &Db, config: &Config, id: String) -> Result<HttpResponse, AppError> {
    let organizer = MailContext::from_config(config).organizer;
    let body = db.read(move |c| crate::mail::ics::registration_calendar(c, &organizer, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"roadshow-event.ics\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A registration, with its event.
#[utoipa::path(
    get,
    path = "/api/v1/registrations/{id}",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "The registration", body = RegistrationOut), Manage)
)]
pub(crate) async fn get_registration(access: ManageAccess, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let out = view(&db, access.registration_id).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(&out))
}

/// Cancel a registration.
///
/// A seat it held goes to the head of the waitlist in the same transaction; the attendee (and
/// anyone promoted) is emailed. Cancelling a cancelled registration changes nothing; an attended
/// one, or one whose event has started, is a 409.
#[utoipa::path(
    delete,
    path = "/api/v1/registrations/{id}",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "Cancelled: the registration as it is now", body = RegistrationOut), Manage)
)]
pub(crate) async fn cancel_registration(
    access: ManageAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    let out = cancel(&db, &config, access.registration_id).await?;
    Ok(HttpResponse::Ok().json(&out))
}

/// The registration's calendar entry (RFC 5545).
///
/// Follows the registration: a cancelled registration or event gives a cancelled entry with a
/// higher sequence number, so calendars update it.
#[utoipa::path(
    get,
    path = "/api/v1/registrations/{id}/calendar.ics",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses(
        (status = 200, description = "The calendar entry", content_type = "text/calendar", body = String),
        Manage
    )
)]
pub(crate) async fn calendar(
    access: ManageAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    calendar_answer(&db, &config, access.registration_id).await
}
