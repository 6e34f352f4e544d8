//! `GET /api/v1/admin/reports/states` and `GET /api/v1/admin/reports/organizations`.

use actix_web::web;

use super::rollup::{self, Rows};
use super::wire::{OrganizationReportOut, ReportOut, StateReportOut};
use super::{figures, queries};
use crate::auth::Actor;
use crate::db::Db;
use crate::error::AppError;
use crate::openapi::problems::Staff;
use crate::time::utc_string;

fn report<T>(items: Vec<T>) -> web::Json<ReportOut<T>> {
    web::Json(ReportOut { items, generated_at: utc_string(chrono::Utc::now()) })
}

/// Events, registrations by status, attendance rate and upcoming capacity per state.
///
/// One row per state the caller's events are in (an event's own state, or its venue's; `null`
/// for national webinars, last). Admins see the whole country, an organizer the events its
/// organization hosts. Experts: 403.
#[utoipa::path(
    get,
    path = "/api/v1/admin/reports/states",
    tag = "reports",
    responses((status = 200, description = "one row per state", body = ReportOut<StateReportOut>), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn report_states(
    actor: Actor,
    db: web::Data<Db>,
) -> Result<web::Json<ReportOut<StateReportOut>>, AppError> {
    actor.require_staff_manager()?;
    let rows = db.read(move |c| rollup::read(c, &actor, Rows::States)).await?;
    Ok(report(figures::by_state(rows.into_iter().map(|((_, state), sums)| (state, sums)))))
}

/// The same figures per host organization.
///
/// One row per organization the caller may see (an organizer: its own); a co-hosted event counts
/// for each of its hosts. Experts: 403.
#[utoipa::path(
    get,
    path = "/api/v1/admin/reports/organizations",
    tag = "reports",
    responses(
        (status = 200, description = "one row per organization", body = ReportOut<OrganizationReportOut>),
        Staff
    ),
    security(("staff_token" = []))
)]
pub(crate) async fn report_organizations(
    actor: Actor,
    db: web::Data<Db>,
) -> Result<web::Json<ReportOut<OrganizationReportOut>>, AppError> {
    actor.require_staff_manager()?;
    let (rows, organizations) = db
        .read(move |c| Ok((rollup::read(c, &actor, Rows::Organizations)?, queries::visible_organizations(c, &actor)?)))
        .await?;
    Ok(report(figures::by_organization(rows.into_iter().map(|((org, _), sums)| (org, sums)), organizations)))
}
