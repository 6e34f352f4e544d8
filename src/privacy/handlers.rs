//! HTTP in and out for a business's own data (see the module docs).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::queries;
use crate::auth::{bearer_token, manage::business_for_manage_token};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::http::parse_id;
use crate::mail::MailContext;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/registrations/{id}/business-data")
            .route(web::get().to(export_business_data))
            .route(web::delete().to(erase_business_data)),
    )
    .service(
        web::resource("/api/v1/registrations/{id}/business-data/erase").route(web::post().to(erase_business_data)),
    );
}

fn manage_token(req: &HttpRequest) -> Result<String, AppError> {
    bearer_token(req).ok_or_else(|| {
        AppError::Unauthorized("send the registration's manage token as `Authorization: Bearer <token>`".into())
    })
}

fn no_such_registration() -> AppError {
    AppError::not_found("no such registration, or the token does not match it")
}

async fn export_business_data(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = manage_token(&req)?;
    let id = parse_id("id", &path)?;
    let data = db
        .read(move |c| {
            let business_id = business_for_manage_token(c, &id, &token)?.ok_or_else(no_such_registration)?;
            queries::export(c, &business_id)?.ok_or_else(no_such_registration)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"business-data.json\""))
        .json(data))
}

async fn erase_business_data(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = manage_token(&req)?;
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let summary = db
        .write(move |c| {
            let business_id = business_for_manage_token(c, &id, &token)?.ok_or_else(no_such_registration)?;
            queries::erase(c, &ctx, &business_id)
        })
        .await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(summary))
}
