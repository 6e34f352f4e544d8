//! A registration's own data, through its manage token (`/api/v1/registrations/{id}/data`, and the
//! older `…/business-data` paths, which answer the same registration-scoped data). The manage gate
//! has checked the token; the handlers take what it proved, [`ManageAccess`].

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::queries;
use super::wire::{ErasureOut, RegistrationDataOut};
use crate::auth::ManageAccess;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::mail::MailContext;
use crate::openapi::problems::Manage;

async fn export(access: ManageAccess, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let id = access.registration_id;
    let data = db.read(move |c| queries::export_registration(c, &id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"registration-data.json\""))
        .json(&data))
}

async fn erase(access: ManageAccess, db: web::Data<Db>, config: web::Data<Config>) -> Result<HttpResponse, AppError> {
    let id = access.registration_id;
    let ctx = MailContext::from_config(&config);
    let ctx2 = ctx.clone();
    let summary = db.write(move |c| queries::erase_registration(c, &ctx2, &id)).await?;
    queries::remove_mail_files(&ctx, &summary.email_ids);
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(ErasureOut::from(&summary)))
}

// One handler per documented path: the OpenAPI document names each operation once.

/// What is held on this registration: its attendee, the business details its registrant typed, its emails.
///
/// Nothing business-wide: anyone can register with any business's email.
#[utoipa::path(
    get,
    path = "/api/v1/registrations/{id}/data",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses(
        (status = 200, description = "The registration's data (as an attachment)", body = RegistrationDataOut),
        Manage
    )
)]
pub(crate) async fn export_registration_data(
    access: ManageAccess,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    export(access, db).await
}

/// Erase this registration's attendee.
///
/// Cancels the registration when its event is ahead (a seat goes to the waitlist, no cancellation
/// email), blanks the person and the business details typed on it, drops or blanks its emails,
/// and stops its manage tokens. The business record is not touched.
#[utoipa::path(
    delete,
    path = "/api/v1/registrations/{id}/data",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "Erased: what was done", body = ErasureOut), Manage)
)]
pub(crate) async fn erase_registration_data(
    access: ManageAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    erase(access, db, config).await
}

/// Erase this registration's attendee (same as `DELETE …/data`).
#[utoipa::path(
    post,
    path = "/api/v1/registrations/{id}/data/erase",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "Erased: what was done", body = ErasureOut), Manage)
)]
pub(crate) async fn erase_registration_data_post(
    access: ManageAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    erase(access, db, config).await
}

/// What is held on this registration (same as `GET …/data`; an older path).
#[utoipa::path(
    get,
    path = "/api/v1/registrations/{id}/business-data",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses(
        (status = 200, description = "The registration's data (as an attachment)", body = RegistrationDataOut),
        Manage
    )
)]
pub(crate) async fn export_business_data(access: ManageAccess, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    export(access, db).await
}

/// Erase this registration's attendee (same as `DELETE …/data`; an older path).
#[utoipa::path(
    delete,
    path = "/api/v1/registrations/{id}/business-data",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "Erased: what was done", body = ErasureOut), Manage)
)]
pub(crate) async fn erase_business_data(
    access: ManageAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    erase(access, db, config).await
}

/// Erase this registration's attendee (same as `DELETE …/data`; an older path).
#[utoipa::path(
    post,
    path = "/api/v1/registrations/{id}/business-data/erase",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "Erased: what was done", body = ErasureOut), Manage)
)]
pub(crate) async fn erase_business_data_post(
    access: ManageAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    erase(access, db, config).await
}
