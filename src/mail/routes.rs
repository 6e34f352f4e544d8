//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{get, post, Router};

use super::handlers::{list_outbox, outbox_stats, retry_outbox_email, unsubscribe, unsubscribe_page};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::handlers::list_outbox,
    super::handlers::outbox_stats,
    super::handlers::retry_outbox_email,
    super::handlers::unsubscribe_page,
    super::handlers::unsubscribe,
))]
pub struct Api;

/// Anyone (public writes are rate limited).
pub fn public(r: &mut Router) {
    // The page names the address it unsubscribes.
    r.private().at("/unsubscribe/{token}", [get(unsubscribe_page), post(unsubscribe)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/outbox", [get(list_outbox)]);
    r.at("/outbox/stats", [get(outbox_stats)]);
    r.at("/outbox/{id}/retry", [post(retry_outbox_email)]);
}
