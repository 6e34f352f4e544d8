//! The 50 states and DC: reference data shipped in the migrations, with each state's default IANA
//! time zone (a venue's own zone wins where a state spans two).

pub mod routes;

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::states;
use crate::db::{Db, DbConnection};
use crate::error::AppError;

/// A state (or DC) with its default time zone.
#[derive(Debug, Clone, Queryable, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = StateOut)]
pub struct State {
    /// Two-letter USPS code.
    #[schema(example = "TX")]
    pub code: String,
    #[schema(example = "Texas")]
    pub name: String,
    /// IANA time zone.
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
}

pub fn all(conn: &mut DbConnection) -> Result<Vec<State>, AppError> {
    Ok(states::table.order(states::code).load(conn)?)
}

pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<State>, AppError> {
    Ok(states::table.find(code).first(conn).optional()?)
}

/// The 50 states and DC, by code (one page; cacheable for an hour).
#[utoipa::path(
    get,
    path = "/api/v1/states",
    tag = "reference",
    responses((status = 200, body = crate::http::Page<State>), crate::openapi::problems::PublicRead)
)]
pub(crate) async fn list_states(db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let items = db.read(all).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(crate::http::Page { items, next_cursor: None }))
}
