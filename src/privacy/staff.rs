//! Staff and business records (`/api/v1/admin/businesses/{id}`, behind the staff gate): national
//! admins only, since businesses belong to no organization (a partner sees a registrant's business
//! through its own events). The other way to change a record is the business's own verified link.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::public::parse_business_changes;
use super::queries;
use super::requests;
use super::wire::{BusinessOut, BusinessPatch};
use crate::auth::Actor;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{parse_id, JsonBody};
use crate::openapi::problems::Staff;
use crate::validate::Errors;

/// A business record (national admins).
#[utoipa::path(
    get,
    path = "/api/v1/admin/businesses/{id}",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The business.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The business record", body = BusinessOut), Staff)
)]
pub(crate) async fn get_business(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let data =
        db.read(move |c| queries::export(c, &id)?.ok_or_else(|| AppError::not_found("no such business"))).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(&data.business))
}

/// Correct a business record (national admins; audited with the names of the fields changed).
#[utoipa::path(
    patch,
    path = "/api/v1/admin/businesses/{id}",
    tag = "privacy",
    params(("id" = uuid::Uuid, Path, description = "The business.")),
    request_body(content = BusinessPatch, example = json!({"name": "Taco Garage & Co", "website": "https://tacogarage.example"})),
    security(("staff_token" = [])),
    responses((status = 200, description = "The business record as it is now", body = BusinessOut), Staff)
)]
pub(crate) async fn update_business(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<BusinessPatch>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let mut errs = Errors::new();
    let changes = parse_business_changes(&input, "", &mut errs);
    errs.finish()?;
    let out = db.write(move |c| requests::apply_business_changes(c, Some(&actor), &id, &changes)).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(&out))
}
