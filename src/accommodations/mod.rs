//! Accommodation requests: what a registrant, or the holder of an expert booking, needs to take
//! part (wheelchair access, a sign-language interpreter, live captions, another language, other),
//! with a short note.
//!
//! - **Storage.** `accommodation_requests`, one row per registration or booking, written in the
//!   transaction that makes it, and only when one is asked for (the registration insert itself is
//!   unchanged). `revision` grows with every change by its holder.
//! - **Who sees it** (as SQL, [`queries::visible`]): admins; organizers of an organization that
//!   hosts the event; the expert of a booking (it is their session, and they are the one who has
//!   to arrange it). Nobody else, in no answer: a viewer of another organization, another expert,
//!   the public and other registrants never get an `accommodation` field. The holder sees and
//!   changes their own through the manage token.
//! - **The digest** ([`digest`]): once a UTC day, from [`digest::HOUR_UTC`] on, each host
//!   organization's organizers are emailed the requests for its upcoming events that it has not
//!   been sent yet (a changed request counts as new). The email goes to the outbox in the
//!   transaction that records which version went to which organization; the claim row
//!   `accommodation_digests (organization, day)` makes a second scheduler find the day taken.
//! - **Privacy.** Exported with the registration or booking, deleted by its erasure, and never
//!   logged: nothing here traces a category or a note.

pub mod digest;
pub mod manage;
pub mod model;
pub mod queries;
pub mod wire;
