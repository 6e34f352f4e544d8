//! Accommodation requests on the wire.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::AccommodationCategory;

/// What the attendee needs to take part. Seen only by the holder, the host organizers of the
/// event, admins and (for a booking) the expert.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"categories": ["sign_language_interpreter"], "note": "ASL, please"}))]
pub struct AccommodationIn {
    /// At least one; `another_language` and `other` need a `note`.
    #[schema(value_type = Vec<AccommodationCategory>)]
    pub categories: Vec<String>,
    /// What exactly is needed: at most 500 characters.
    pub note: Option<String>,
}

/// An accommodation request as it is stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AccommodationOut {
    pub categories: Vec<AccommodationCategory>,
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}
