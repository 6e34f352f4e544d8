//! The one integration-test binary: real HTTP against a real server, on SQLite and PostgreSQL.

#[macro_use]
pub mod helpers;

mod abuse;
mod accommodations;
mod authz;
mod browser;
mod credits;
mod events;
mod experts;
mod faults;
mod fixtures;
mod foundation;
mod mail;
mod openapi;
mod privacy;
mod public_reads;
mod races;
mod registrations;
mod resources;
mod rollups;
mod rules;
mod schema;
mod shutdown;
mod site;
mod smtp_client;
mod smtp_sink;
mod telemetry;
mod trust;
mod webhooks;
