//! The request and response bodies of `/api/v1/admin/organizations…` and
//! `/api/v1/admin/venues…`, and their list filters.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries::{Organization, Venue};
use crate::db::from_db_time;
use crate::domain::OrganizationKind;
use crate::time::utc_string;

/// A partner organization to create (national admins).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Texas Chamber of Commerce", "kind": "local_chamber", "states": ["TX"]}))]
pub struct OrganizationIn {
    #[schema(example = "Texas Chamber of Commerce")]
    pub name: String,
    pub kind: OrganizationKind,
    /// The states it covers (two-letter codes). None: national. A regional office or a local
    /// chamber covers at least one.
    #[serde(default)]
    #[schema(example = json!(["TX"]))]
    pub states: Vec<String>,
}

/// A change to an organization (national admins): its name, or the states it covers (replaced
/// as a whole).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub states: Option<Vec<String>>,
}

/// A partner organization.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrganizationOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub kind: OrganizationKind,
    /// The states it covers, by code; empty for a national organization.
    pub states: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl OrganizationOut {
    /// An organization with the states it covers.
    pub fn new(o: Organization, states: Vec<String>) -> Self {
        OrganizationOut {
            id: o.id,
            name: o.name,
            kind: o.kind,
            states,
            created_at: utc_string(from_db_time(o.created_at)),
        }
    }
}

/// A venue to create. An organizer's venue is its organization's, in a state it covers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Austin Central Library", "address": "710 W Cesar Chavez St", "city": "Austin",
                          "state": "TX"}))]
pub struct VenueIn {
    pub name: String,
    pub address: String,
    pub city: String,
    /// Two-letter state code.
    #[schema(example = "TX")]
    pub state: String,
    /// IANA zone; the state's default zone when absent.
    #[serde(default)]
    #[schema(example = "America/Chicago")]
    pub time_zone: Option<String>,
    /// The owning organization (admins only; an organizer's venue is its organization's).
    #[serde(default)]
    #[schema(format = Uuid)]
    pub organization_id: Option<String>,
}

/// A change to a venue. Registrants of its upcoming events are told of a new place or zone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenuePatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// IANA zone (`America/Chicago`).
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A venue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VenueOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    /// Two-letter state code.
    pub state: String,
    /// IANA zone the venue's events are shown in.
    pub time_zone: String,
    /// The owning organization; `null` for a venue an admin made for everyone.
    #[schema(format = Uuid)]
    pub organization_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Venue> for VenueOut {
    fn from(v: Venue) -> Self {
        VenueOut {
            id: v.id,
            name: v.name,
            address: v.address,
            city: v.city,
            state: v.state_code,
            time_zone: v.time_zone,
            organization_id: v.organization_id,
            created_at: utc_string(from_db_time(v.created_at)),
        }
    }
}

/// A page of organizations or venues the caller may see, by name.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartnerListQuery {
    /// Page size: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only venues in this state, or organizations that list it (national ones list none).
    #[param(example = "TX")]
    pub state: Option<String>,
}
