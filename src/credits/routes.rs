//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{get, patch, post, put, Router};

use super::{attendance, public, report, staff};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::public::decline,
    super::staff::get_pool,
    super::staff::patch_pool,
    super::staff::get_reserves,
    super::staff::put_reserves,
    super::staff::allocate_reserves,
    super::staff::release_reserve,
    super::staff::list_grants,
    super::staff::get_grant,
    super::staff::revoke,
    super::staff::regrant,
    super::staff::redeem,
    super::staff::reconcile,
    super::attendance::upload,
    super::report::credit_report,
    super::businesses::duplicates,
    super::businesses::merge,
))]
pub struct Api;

/// Anyone (public writes are rate limited).
pub fn public(r: &mut Router) {
    r.private().limited("/api/v1/credits/decline", [post(public::decline)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/credits/pool", [get(staff::get_pool), patch(staff::patch_pool)]);
    r.at("/credits/reserves", [get(staff::get_reserves), put(staff::put_reserves)]);
    r.at("/credits/reserves/allocate", [post(staff::allocate_reserves)]);
    r.at("/credits/reserves/{state}/release", [post(staff::release_reserve)]);
    r.at("/credits/grants", [get(staff::list_grants)]);
    r.at("/credits/grants/{id}", [get(staff::get_grant)]);
    r.at("/credits/grants/{id}/revoke", [post(staff::revoke)]);
    r.at("/credits/vouchers/redeem", [post(staff::redeem)]);
    r.at("/credits/reconcile", [get(staff::reconcile)]);
    r.at("/businesses/duplicates", [get(super::businesses::duplicates)]);
    r.at("/businesses/{id}/merge", [post(super::businesses::merge)]);
    r.at("/businesses/{id}/credit-grant", [post(staff::regrant)]);
    r.at("/events/{id}/webinar-attendance", [post(attendance::upload)]);
    r.at("/reports/credits", [get(report::credit_report)]);
}
