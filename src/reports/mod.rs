//! Partner reports, scoped like every admin query: per state and per organization — events by
//! status, registrations by status, attendance rate, and upcoming capacity.
//!
//! - `GET /api/v1/admin/reports/states`: one row per state (an event's own state, or its venue's;
//!   `null` for national webinars).
//! - `GET /api/v1/admin/reports/organizations`: one row per host organization; a co-hosted event
//!   counts for each of its hosts.
//!
//! Admins see the whole country. An organizer sees the events its organization hosts and nothing
//! else (in the organizations report: its own organization's row only). Experts: 403.
//!
//! Definitions: `attendance_rate` = attended ÷ (attended + confirmed) over registrations of events
//! that have ended and were not cancelled (`null` when there are none); `upcoming` covers published
//! events that have not started: their number, total capacity, confirmed and waitlisted
//! registrations, and seats left.

pub mod figures;
pub mod handlers;
pub mod queries;
pub mod rollup;
pub mod routes;
pub mod wire;
