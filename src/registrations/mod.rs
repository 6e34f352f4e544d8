//! Registrations: one attendee of one business at one event.
//!
//! Confirmed registrations never exceed capacity and the waitlist is first come, first served,
//! under any concurrency and on both engines (see [`seats`]). A manage token (random, stored as a
//! hash, shown once) is the only key to a registration's self-service endpoints; a wrong token is a
//! 404 so ids cannot be probed. Every status change writes its email to the outbox in the same
//! transaction.
//!
//! By capability:
//!
//! | module     | what                                                                          |
//! |------------|-------------------------------------------------------------------------------|
//! | [`public`] | registering (`POST /api/v1/events/{id}/registrations`), lost-link recovery     |
//! | [`manage`] | the token API: `GET`/`DELETE /api/v1/registrations/{id}`, its calendar entry   |
//! | [`page`]   | the HTML manage page `/manage/{id}` the emails link to, its cancel form        |
//! | [`staff`]  | registrants of an event (JSON, CSV export), check-in                           |
//! | [`wire`]   | the bodies and query strings of all of them                                    |
//! | [`queries`], [`seats`], [`model`] | the transactions, seat counters and rows (all the SQL)  |

pub mod manage;
pub mod model;
pub mod page;
pub mod public;
pub mod queries;
pub mod routes;
pub mod seats;
pub mod staff;
pub mod wire;
