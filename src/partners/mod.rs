//! Partner organizations (which states they cover) and the venues where roadshow stops happen.
//!
//! - [`organizations`]: `/api/v1/admin/organizations…` (national admins create and change them);
//! - [`venues`]: `/api/v1/admin/venues…` (admins, and organizers for their own organization);
//! - [`wire`]: their request and response bodies; [`queries`]: their SQL, scoped by the actor.

pub mod organizations;
pub mod queries;
pub mod routes;
pub mod venues;
pub mod wire;
