//! `GET /api/v1/states`.

use actix_web::{web, HttpResponse};

use super::{queries, State};
use crate::db::Db;
use crate::error::AppError;

/// The 50 states and DC, by code (one page; cacheable for an hour).
#[utoipa::path(
    get,
    path = "/api/v1/states",
    tag = "reference",
    responses((status = 200, body = crate::http::Page<State>), crate::openapi::problems::PublicRead)
)]
pub(crate) async fn list_states(db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let items = db.read(queries::all).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(crate::http::Page { items, next_cursor: None }))
}
