//! Where the site's pages are wired (see [`crate::routes`] for the audiences), and their part of
//! the OpenAPI document (as HTML answers).

use crate::routes::{get, post, Router};

use super::handlers::{embed_event, embed_state, event_page, events, home, register, state_page, stylesheet};

/// The site's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::handlers::home,
    super::handlers::events,
    super::handlers::event_page,
    super::handlers::register,
    super::handlers::state_page,
    super::handlers::embed_state,
    super::handlers::embed_event,
    super::handlers::stylesheet,
    super::resources::resources_page,
    super::resources::resource_page,
))]
pub struct Api;

/// Anyone; the form behind the same per-client rate limit as the API's public writes.
pub fn public(r: &mut Router) {
    r.at("/", [get(home)]);
    r.at("/events", [get(events)]);
    r.at("/events/{id}", [get(event_page)]);
    r.limited("/events/{id}/register", [post(register)]);
    r.at("/states/{code}", [get(state_page)]);
    r.at("/embed/states/{code}", [get(embed_state)]);
    r.at("/embed/events/{id}", [get(embed_event)]);
    r.at("/site.css", [get(stylesheet)]);
    r.at("/resources", [get(super::resources::resources_page)]);
    r.at("/resources/{id}", [get(super::resources::resource_page)]);
}
