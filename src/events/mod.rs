//! Events: roadshow stops (in person, at a venue) and webinars (online; the join URL is shown only
//! to confirmed registrants, never in public listings).
//!
//! Lifecycle: `draft` → `published` → `cancelled` (or `completed` after the fact). Times are stored
//! in UTC and shown with the event's IANA zone. A change of time or place of a published event
//! bumps its `revision` and emails every active registrant an updated invite; a cancellation emails
//! them a calendar cancellation.
//!
//! | file             | what it holds                                                              |
//! |------------------|----------------------------------------------------------------------------|
//! | `routes.rs`      | the routes per audience and this feature's part of the OpenAPI document     |
//! | `public.rs`      | the public reads (list, one event), micro-cached                            |
//! | `staff.rs`       | the staff endpoints under `/api/v1/admin/events`                             |
//! | `wire.rs`        | request and answer types (`EventIn`, `EventPatch`, `EventOut`, …)           |
//! | `parse.rs`       | requests → domain values (kinds, zones, instants, topics, list filters)     |
//! | `placement.rs`   | venue, state and hosts, checked against the database and the actor          |
//! | `lifecycle.rs`   | create, publish, cancel                                                      |
//! | `patch.rs`       | applying a change, and telling registrants                                   |
//! | `render.rs`      | rows → answers                                                               |
//! | `public_cache.rs`| the per-app micro-cache of public answers                                    |
//! | `model.rs`       | diesel rows                                                                  |
//! | `queries.rs`     | all of this feature's SQL                                                    |

mod lifecycle;
pub mod model;
pub(crate) mod parse;
mod patch;
mod placement;
mod public;
mod public_cache;
pub mod queries;
pub(crate) mod render;
pub mod routes;
mod staff;
pub mod wire;

pub use public_cache::PublicCache;
