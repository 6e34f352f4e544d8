//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{delete, get, patch, post, Router};

use super::staff;

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::staff::create,
    super::staff::list,
    super::staff::get,
    super::staff::patch,
    super::staff::delete,
    super::staff::rotate,
    super::staff::deliveries,
    super::staff::redeliver,
))]
pub struct Api;

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/webhooks", [get(staff::list), post(staff::create)]);
    r.at("/webhooks/{id}", [get(staff::get), patch(staff::patch), delete(staff::delete)]);
    r.at("/webhooks/{id}/rotate-secret", [post(staff::rotate)]);
    r.at("/webhooks/{id}/deliveries", [get(staff::deliveries)]);
    r.at("/webhook-deliveries/{id}/redeliver", [post(staff::redeliver)]);
}
