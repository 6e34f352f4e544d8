//! Events: roadshow stops (in person, at a venue) and webinars (online; the join URL is shown only
//! to confirmed registrants, never in public listings).
//!
//! Lifecycle: `draft` → `published` → `cancelled` (or `completed` after the fact). Times are stored
//! in UTC and shown with the event's IANA zone. A change of time or place of a published event
//! bumps its `revision` and emails every active registrant an updated invite; a cancellation emails
//! them a calendar cancellation.

pub mod handlers;
pub mod model;
pub mod queries;
pub mod routes;
