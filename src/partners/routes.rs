//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{get, patch, post, Router};

use super::organizations::{create_organization, get_organization, list_organizations, update_organization};
use super::venues::{create_venue, get_venue, list_venues, update_venue};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::organizations::create_organization,
    super::organizations::list_organizations,
    super::organizations::get_organization,
    super::organizations::update_organization,
    super::venues::create_venue,
    super::venues::list_venues,
    super::venues::get_venue,
    super::venues::update_venue,
))]
pub struct Api;

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/organizations", [post(create_organization), get(list_organizations)]);
    r.at("/organizations/{id}", [get(get_organization), patch(update_organization)]);
    r.at("/venues", [post(create_venue), get(list_venues)]);
    r.at("/venues/{id}", [get(get_venue), patch(update_venue)]);
}
