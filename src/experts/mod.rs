//! One-to-one expert consultations: experts' public profiles, availability windows cut into slots
//! (at a roadshow stop or online), public booking with a manage token, matching, and the emails and
//! calendar invites of each booking.
//!
//! Under any concurrency and on both engines: one booking per slot, an attendee never holds two
//! overlapping sessions, a business at most `ROADSHOW_EXPERT_BOOKINGS_PER_BUSINESS` per stop, an
//! expert's windows never overlap, and a move never loses the old slot unless the new one is won
//! (see [`queries`]). Every change that must email someone writes its email to the outbox in the
//! same transaction ([`mail`]).
//!
//! | module       | what                                                                        |
//! |--------------|-----------------------------------------------------------------------------|
//! | [`public`]   | experts, open slots (ranked by [`matching`] on request), booking, the feed   |
//! | [`manage`]   | a booking through its token: API (`/api/v1/expert-bookings/{id}`) and page   |
//! | [`staff`]    | profiles, windows, agendas, attendance (`/api/v1/admin`)                     |
//! | [`slots`]    | cutting a window into slots (DST-exact)                                      |
//! | [`wire`]     | the bodies and query strings of all of them                                  |
//! | [`queries`], [`model`], [`mail`] | the transactions, rows and emails                       |

pub mod mail;
pub mod manage;
pub mod matching;
pub mod model;
pub mod public;
pub mod queries;
pub mod routes;
pub mod slots;
pub mod staff;
pub mod wire;
