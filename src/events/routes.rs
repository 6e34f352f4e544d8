//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{get, patch, post, Router};

use super::public::{get_event, list_events};
use super::staff::{cancel_event, create_event, get_admin_event, list_admin_events, publish_event, update_event};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::public::list_events,
    super::public::get_event,
    super::staff::list_admin_events,
    super::staff::create_event,
    super::staff::get_admin_event,
    super::staff::update_event,
    super::staff::publish_event,
    super::staff::cancel_event,
))]
pub struct Api;

/// Anyone. The first routes of all ([`crate::routes`]): the list's static path costs every other
/// request one comparison.
pub fn public(r: &mut Router) {
    r.at("/api/v1/events", [get(list_events)]);
    r.at("/api/v1/events/{id}", [get(get_event)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/events", [post(create_event), get(list_admin_events)]);
    r.at("/events/{id}", [get(get_admin_event), patch(update_event)]);
    r.at("/events/{id}/publish", [post(publish_event)]);
    r.at("/events/{id}/cancel", [post(cancel_event)]);
}
