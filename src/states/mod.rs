//! The 50 states and DC: reference data shipped in the migrations, with each state's default IANA
//! time zone (a venue's own zone wins where a state spans two).
//!
//! Other features check a state code with [`find`]; `GET /api/v1/states` lists them
//! ([`handlers`]).

pub mod handlers;
pub mod queries;
pub mod routes;

use diesel::prelude::*;
use serde::Serialize;

pub use queries::{all, find};

/// A state (or DC) with its default time zone.
#[derive(Debug, Clone, Queryable, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = StateOut)]
pub struct State {
    /// Two-letter USPS code.
    #[schema(example = "TX")]
    pub code: String,
    #[schema(example = "Texas")]
    pub name: String,
    /// IANA time zone.
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
}
