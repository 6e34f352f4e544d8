//! A business's own data, reached with one of its registrations' manage tokens:
//!
//! - `GET /api/v1/registrations/{id}/business-data`: everything held about the business (its row,
//!   all its registrations, every email addressed to it) as JSON.
//! - `POST /api/v1/registrations/{id}/business-data/erase` (or `DELETE …/business-data`): erasure.
//!   The business's future active registrations are cancelled with the usual waitlist promotion;
//!   every registration is anonymised (rows and statuses stay, so reports keep their counts, but
//!   names, emails and manage tokens go); the business row keeps only its id and dates; queued
//!   emails are dropped and the personal content of sent ones is blanked. The manage token stops
//!   working with the erasure. An audit entry (no values) records that it happened.
//!
//! A wrong or unknown token is 404 (ids cannot be probed); a missing one 401.

pub mod handlers;
pub mod queries;

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    handlers::routes(cfg);
}
