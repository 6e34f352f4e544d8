//! `GET /api/v1/admin/reports/states` and `GET /api/v1/admin/reports/organizations`.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::queries;
use crate::auth::Actor;
use crate::db::Db;
use crate::error::AppError;
use crate::time::utc_string;

#[derive(Debug, Serialize)]
struct Report<T: Serialize> {
    items: Vec<T>,
    generated_at: String,
}

fn report<T: Serialize>(items: Vec<T>) -> HttpResponse {
    HttpResponse::Ok().json(Report { items, generated_at: utc_string(chrono::Utc::now()) })
}

pub(crate) async fn report_states(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let rows = db.read(move |c| queries::by_state(c, &actor)).await?;
    Ok(report(rows))
}

pub(crate) async fn report_organizations(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let rows = db.read(move |c| queries::by_organization(c, &actor)).await?;
    Ok(report(rows))
}
