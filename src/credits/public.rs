//! `POST /api/v1/credits/decline`: whoever holds a voucher code (it was emailed to the business's
//! contact address) may decline the credit, so its amount goes to another business. Rate limited
//! as every public write; a wrong code is a 404 and tells nothing about any other.

use actix_web::{web, HttpResponse};

use super::queries;
use super::staff::parse_code;
use super::wire::CodeIn;
use crate::db::Db;
use crate::error::AppError;
use crate::http::JsonBody;
use crate::openapi::problems::PublicWrite;

/// What a decline answers: nothing about the business.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeclinedOut {
    /// `declined`.
    pub status: crate::domain::GrantStatus,
    pub amount_cents: i64,
}

/// Decline an ad credit with its voucher code.
///
/// The amount returns to the reserve it came from and the business is not granted again by
/// taking part (only an admin can grant it again). An unknown code is a 404; a code with a typo a
/// 422; a grant already ended or redeemed a 409.
#[utoipa::path(
    post,
    path = "/api/v1/credits/decline",
    tag = "credits",
    request_body(content = CodeIn, example = json!({"code": "7KQ2MZ-XH4PBD-9RT3WA"})),
    responses((status = 200, description = "Declined", body = DeclinedOut), PublicWrite)
)]
pub(crate) async fn decline(db: web::Data<Db>, JsonBody(input): JsonBody<CodeIn>) -> Result<HttpResponse, AppError> {
    let voucher = parse_code(&input.code)?;
    let g = db.write(move |c| queries::decline(c, &voucher)).await?;
    Ok(HttpResponse::Ok().json(DeclinedOut { status: g.status, amount_cents: g.amount_cents }))
}
