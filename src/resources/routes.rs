//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{delete, get, patch, post, put, Router};

use super::public::{get_event_related, get_resource, list_resources};
use super::staff::{
    create_resource, delete_resource, get_admin_resource, get_event_resources, list_admin_resources,
    set_event_resources, update_resource,
};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::public::list_resources,
    super::public::get_resource,
    super::public::get_event_related,
    super::staff::list_admin_resources,
    super::staff::create_resource,
    super::staff::get_admin_resource,
    super::staff::update_resource,
    super::staff::delete_resource,
    super::staff::get_event_resources,
    super::staff::set_event_resources,
))]
pub struct Api;

/// Anyone.
pub fn public(r: &mut Router) {
    r.at("/api/v1/resources", [get(list_resources)]);
    r.at("/api/v1/resources/{id}", [get(get_resource)]);
    r.at("/api/v1/events/{id}/resources", [get(get_event_related)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/resources", [post(create_resource), get(list_admin_resources)]);
    r.at("/resources/{id}", [get(get_admin_resource), patch(update_resource), delete(delete_resource)]);
    r.at("/events/{id}/resources", [get(get_event_resources), put(set_event_resources)]);
}
