//! Registrations: one attendee of one business at one event.
//!
//! Confirmed registrations never exceed capacity and the waitlist is first come, first served,
//! under any concurrency and on both engines (see [`seats`]). A manage token (random, stored as a
//! hash, shown once) is the only key to a registration's self-service endpoints; a wrong token is a
//! 404 so ids cannot be probed. Every status change writes its email to the outbox in the same
//! transaction.

pub mod handlers;
pub mod model;
pub mod queries;
pub mod routes;
pub mod seats;
