//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{get, Router};

use super::handlers::list_states;

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(super::handlers::list_states))]
pub struct Api;

/// Anyone (public writes are rate limited).
pub fn public(r: &mut Router) {
    r.at("/api/v1/states", [get(list_states)]);
}
