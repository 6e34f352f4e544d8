//! Learning resources: case studies (a business's story: its name, state and industry, what it
//! did, what came of it), guides (advice articles) and webinar recordings (a link, a length, the
//! webinar it was made at). Each has a title, a summary, topics from the shared vocabulary
//! ([`crate::domain::Topic`], as events and experts), the states it is for (none: national), a
//! language (`en`, `es`), an author organization, a status (`draft`, `published`) and a Markdown
//! body, made into safe HTML on read ([`markdown`]).
//!
//! Staff write them under `/api/v1/admin/resources`, scoped as events are: a national admin
//! manages every organization's, an organizer its own organization's (another's is a 404, and its
//! drafts are never shown); every write is audited. Anyone reads the published ones at
//! `/api/v1/resources`. An event lists its related resources at `/api/v1/events/{id}/resources`
//! ([`related`]): its recordings and what staff attached (`PUT
//! /api/v1/admin/events/{id}/resources`), else resources sharing its topics. The post-event
//! follow-up links them, and a recording published for an ended webinar emails its registrants
//! who accept news ([`lifecycle::notify_recording`]). The public page of a resource is
//! `{ROADSHOW_PUBLIC_URL}/resources/{id}` ([`page_url`]).
//!
//! | file           | what it holds                                                               |
//! |----------------|-----------------------------------------------------------------------------|
//! | `routes.rs`    | the routes per audience and this feature's part of the OpenAPI document     |
//! | `public.rs`    | the public reads                                                            |
//! | `staff.rs`     | the staff endpoints                                                         |
//! | `wire.rs`      | request and answer types (`ResourceIn`, `ResourcePatch`, `ResourceOut`, …) |
//! | `parse.rs`     | requests → domain values (kinds, topics, states, list filters)              |
//! | `lifecycle.rs` | create, change, publish, delete, attach to events; the recording notice     |
//! | `related.rs`   | an event's related resources                                                |
//! | `markdown.rs`  | Markdown → safe HTML                                                        |
//! | `render.rs`    | rows → answers                                                              |
//! | `model.rs`     | diesel rows                                                                 |
//! | `queries.rs`   | all of this feature's SQL                                                   |

pub mod lifecycle;
pub mod markdown;
pub mod model;
pub(crate) mod parse;
mod public;
pub mod queries;
pub mod related;
pub(crate) mod render;
pub mod routes;
mod staff;
pub mod wire;

/// The public page of a resource (the HTML pages are served at `/resources/{id}`), under the
/// deployment's public base URL (`ROADSHOW_PUBLIC_URL`, without a trailing slash).
pub fn page_url(public_url: &str, id: &str) -> String {
    format!("{}/resources/{id}", public_url.trim_end_matches('/'))
}
