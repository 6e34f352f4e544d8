//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{get, Router};

use super::handlers::{report_organizations, report_states};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(super::handlers::report_states, super::handlers::report_organizations))]
pub struct Api;

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/reports/states", [get(report_states)]);
    r.at("/reports/organizations", [get(report_organizations)]);
}
