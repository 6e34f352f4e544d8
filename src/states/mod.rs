//! The 50 states and DC: reference data shipped in the migrations, with each state's default IANA
//! time zone (a venue's own zone wins where a state spans two).

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::states;
use crate::db::{Db, DbConnection};
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/states").route(web::get().to(list_states)));
}

#[derive(Debug, Clone, Queryable, Serialize)]
pub struct State {
    pub code: String,
    pub name: String,
    pub time_zone: String,
}

pub fn all(conn: &mut DbConnection) -> Result<Vec<State>, AppError> {
    Ok(states::table.order(states::code).load(conn)?)
}

pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<State>, AppError> {
    Ok(states::table.find(code).first(conn).optional()?)
}

async fn list_states(db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let items = db.read(all).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(crate::http::Page { items, next_cursor: None }))
}
