//! The events API on the wire: request bodies (`EventIn`, `EventPatch`), query parameters
//! (`EventListQuery`, `AdminEventListQuery`) and answers (`EventOut` for everyone,
//! `AdminEventOut` for staff). Each is a Rust type with a `utoipa` schema, so the OpenAPI document
//! describes exactly what the handlers read and write.
//!
//! Inputs keep the values as typed (`kind`, times, ids as strings) and [`super::parse`] turns
//! them into domain types, so one 422 names every bad field at once; their schemas still show
//! the accepted values (`kind` is an `EventKind`, ids are UUIDs, times are date-times).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{EventKind, EventStatus, OrganizationKind, Topic};
use crate::wire::Patch;

/// A new event (created as a draft).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "roadshow_stop", "title": "Austin stop", "description": "Instagram for shops",
    "starts_at": "2031-03-12T09:00:00", "ends_at": "2031-03-12T12:00:00", "time_zone": "America/Chicago",
    "capacity": 80, "venue_id": "7d1c3f0e-2b8a-4c61-9a55-1f0a3e2b9c44", "topics": ["content", "local-seo"]
}))]
pub struct EventIn {
    /// A `roadshow_stop` needs a `venue_id`; a `webinar` needs a `join_url` and has no venue.
    #[schema(value_type = EventKind)]
    pub kind: String,
    /// One line, at most 200 characters.
    #[schema(example = "Grow with social media")]
    pub title: String,
    /// Several lines, at most 10,000 characters.
    pub description: Option<String>,
    /// The title in Spanish (same rules), shown to businesses reading Spanish; English otherwise.
    #[schema(example = "Crezca con las redes sociales")]
    pub title_es: Option<String>,
    /// The description in Spanish (same rules).
    pub description_es: Option<String>,
    /// RFC 3339 with an offset, or a local date-time read in `time_zone` (a local time that does
    /// not exist or happens twice there is refused).
    #[schema(example = "2031-03-12T09:00:00")]
    pub starts_at: String,
    /// After `starts_at`, at most 14 days later; same forms as `starts_at`.
    #[schema(example = "2031-03-12T12:00:00")]
    pub ends_at: String,
    /// The event's IANA zone.
    #[schema(value_type = String, required = true, example = "America/Chicago")]
    pub time_zone: Option<String>,
    /// Seats, 0 to 1,000,000.
    #[schema(minimum = 0, maximum = 1_000_000, example = 80)]
    pub capacity: i64,
    /// The venue of a roadshow stop; the event takes the venue's state.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub venue_id: Option<String>,
    /// A webinar's link, shown only to confirmed registrants.
    #[schema(format = "uri", example = "https://meet.example.org/grow")]
    pub join_url: Option<String>,
    /// Two-letter state code; left out for a national webinar (or taken from the venue).
    #[schema(example = "TX")]
    pub state: Option<String>,
    /// From the program's vocabulary, shared with the experts (any case; duplicates collapse);
    /// at most 20 given. Another word is a 422 naming it (`topics[1]`) with the accepted values.
    #[schema(value_type = Option<Vec<Topic>>, example = json!(["content", "local-seo"]))]
    pub topics: Option<Vec<String>>,
    /// The hosting organizations. An organizer's event is hosted by its own organization; only a
    /// national admin names others.
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub host_organization_ids: Option<Vec<String>>,
    /// When registration opens (default: at once); same forms as `starts_at`.
    pub registration_opens_at: Option<String>,
    /// When registration closes (default: at the start); not after the event ends.
    pub registration_closes_at: Option<String>,
}

/// A change to an event: absent fields stay as they are. A new time or place of a published
/// event bumps its `revision` and emails every active registrant an updated invite.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_at": "2031-05-01T10:00:00", "ends_at": "2031-05-01T11:00:00", "capacity": 120}))]
pub struct EventPatch {
    /// `null` leaves it as it is.
    pub title: Option<String>,
    /// `null` leaves it as it is.
    pub description: Option<String>,
    /// `null` removes the Spanish title.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title_es: Patch<String>,
    /// `null` removes the Spanish description.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description_es: Patch<String>,
    /// Read in the new `time_zone` when one is given, else in the event's.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// A new display zone; the stored instants stay unless given again.
    #[schema(example = "America/New_York")]
    pub time_zone: Option<String>,
    /// Not below the confirmed registrations (409); raising it promotes from the waitlist.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub capacity: Option<i64>,
    /// A roadshow stop's new venue (its state comes along).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub venue_id: Option<String>,
    /// A webinar's new link.
    #[schema(format = "uri")]
    pub join_url: Option<String>,
    /// Replaces the topics (same vocabulary and rules as on create).
    #[schema(value_type = Option<Vec<Topic>>)]
    pub topics: Option<Vec<String>>,
    /// Replaces the hosts (national admins only, else 403).
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub host_organization_ids: Option<Vec<String>>,
    /// `null` opens registration at once.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub registration_opens_at: Patch<String>,
    /// `null` closes registration at the start.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub registration_closes_at: Patch<String>,
}

/// A cursor as the lists give them out (after an event starting 2031-03-12T14:00:00Z).
fn example_cursor() -> &'static str {
    "WyIyMDMxLTAzLTEyVDE0OjAwOjAwIiwiN2QxYzNmMGUtMmI4YS00YzYxLTlhNTUtMWYwYTNlMmI5YzQ0Il0"
}

/// Filters and paging of the public list (published events, by start time).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// Events in this state (two-letter code), plus national webinars, which anyone may attend.
    #[param(example = "TX")]
    pub state: Option<String>,
    /// Only this kind of event.
    #[param(value_type = Option<EventKind>, example = "webinar")]
    pub kind: Option<String>,
    /// Only events with this topic (any case); a word outside the vocabulary is a 400.
    #[param(value_type = Option<Topic>, example = "content")]
    pub topic: Option<String>,
    /// Events that end after this instant (RFC 3339, or UTC without an offset). The public list
    /// defaults to now: what is still to come or under way.
    #[param(format = DateTime, example = "2031-03-01T00:00:00Z")]
    pub from: Option<String>,
    /// Events that start before this instant (same forms as `from`).
    #[param(format = DateTime, example = "2031-04-01T00:00:00Z")]
    pub to: Option<String>,
    /// Search: every word must start a word of the title or description, in any case. At most
    /// 200 characters.
    #[param(max_length = 200, example = "social media")]
    pub q: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50, example = 20)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(example = example_cursor)]
    pub cursor: Option<String>,
}

/// The staff list: the public filters (without the default `from`), and a status.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminEventListQuery {
    /// Events in this state (two-letter code), plus national webinars.
    #[param(example = "TX")]
    pub state: Option<String>,
    /// Only this kind of event.
    #[param(value_type = Option<EventKind>, example = "roadshow_stop")]
    pub kind: Option<String>,
    /// Only events in this status (all by default, drafts included).
    #[param(value_type = Option<EventStatus>, example = "draft")]
    pub status: Option<String>,
    /// Only events with this topic (any case); a word outside the vocabulary is a 400.
    #[param(value_type = Option<Topic>, example = "content")]
    pub topic: Option<String>,
    /// Events that end after this instant (RFC 3339, or UTC without an offset).
    #[param(format = DateTime, example = "2031-03-01T00:00:00Z")]
    pub from: Option<String>,
    /// Events that start before this instant.
    #[param(format = DateTime, example = "2031-04-01T00:00:00Z")]
    pub to: Option<String>,
    /// Search in titles and descriptions (word prefixes, any case), at most 200 characters.
    #[param(max_length = 200, example = "export")]
    pub q: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50, example = 20)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(example = example_cursor)]
    pub cursor: Option<String>,
}

impl AdminEventListQuery {
    /// The filters the public list shares, and the status.
    pub fn split(self) -> (EventListQuery, Option<String>) {
        let AdminEventListQuery { state, kind, status, topic, from, to, q, limit, cursor } = self;
        (EventListQuery { state, kind, topic, from, to, q, limit, cursor }, status)
    }
}

/// Where a roadshow stop is held.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VenueOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    /// Two-letter state code.
    #[schema(example = "TX")]
    pub state: String,
    /// The venue's IANA zone.
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
}

/// An organization hosting the event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HostOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub kind: OrganizationKind,
}

/// An event as anyone sees it (a webinar's join URL is never here).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    /// The title in Spanish; `null` when only the English one was given.
    #[schema(required = true)]
    pub title_es: Option<String>,
    /// The description in Spanish; `null` when not given.
    #[schema(required = true)]
    pub description_es: Option<String>,
    pub status: EventStatus,
    /// UTC instant.
    #[schema(format = DateTime, example = "2031-03-12T14:00:00Z")]
    pub starts_at: String,
    /// UTC instant.
    #[schema(format = DateTime, example = "2031-03-12T17:00:00Z")]
    pub ends_at: String,
    /// The event's IANA zone, in which the `_local` fields and `when` show the same instants.
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
    #[schema(format = DateTime, example = "2031-03-12T09:00:00-05:00")]
    pub starts_at_local: String,
    #[schema(format = DateTime, example = "2031-03-12T12:00:00-05:00")]
    pub ends_at_local: String,
    /// For people.
    #[schema(example = "Wednesday, March 12, 2031 at 9:00 AM CDT (America/Chicago)")]
    pub when: String,
    pub capacity: i32,
    /// Seats not taken by confirmed registrations (advisory: the registration decides).
    pub seats_left: i64,
    /// Published, and inside the registration window now.
    pub registration_open: bool,
    /// UTC instant; `null`: open from publication.
    #[schema(format = DateTime, required = true)]
    pub registration_opens_at: Option<String>,
    /// UTC instant (the start unless set earlier).
    #[schema(format = DateTime)]
    pub registration_closes_at: String,
    /// Two-letter state; `null` for a national webinar.
    #[schema(required = true, example = "TX")]
    pub state: Option<String>,
    /// `null` for a webinar.
    #[schema(required = true)]
    pub venue: Option<VenueOut>,
    pub topics: Vec<Topic>,
    pub hosts: Vec<HostOut>,
}

/// An event as staff see it: everything public, and `admin`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminEventOut {
    #[serde(flatten)]
    pub event: EventOut,
    pub admin: AdminDetails,
}

/// Fields only staff see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminDetails {
    /// A webinar's link.
    #[schema(required = true)]
    pub join_url: Option<String>,
    /// Bumped by every change of time or place (and by cancellation): the invites' sequence.
    pub revision: i32,
    pub registrations: StatusCounts,
    /// Accommodation requests of the registrations and expert sessions at this event that are
    /// not cancelled (see them in the registrant list). Shown to admins and host organizers.
    #[serde(default)]
    pub accommodation_requests: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime, required = true)]
    pub published_at: Option<String>,
    #[schema(format = DateTime, required = true)]
    pub cancelled_at: Option<String>,
}

/// An event's registrations by status.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StatusCounts {
    pub confirmed: i64,
    pub waitlisted: i64,
    pub cancelled: i64,
    pub attended: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_cursor_is_one_a_list_could_give_out() {
        let (at, id): super::super::render::Cursor = crate::http::decode_cursor(example_cursor()).unwrap();
        assert_eq!(
            (at.to_string().as_str(), id.as_str()),
            ("2031-03-12 14:00:00", "7d1c3f0e-2b8a-4c61-9a55-1f0a3e2b9c44")
        );
    }

    #[test]
    fn the_staff_view_is_the_public_one_with_admin_added() {
        let admin: AdminEventOut = serde_json::from_value(serde_json::json!({
            "id": "7d1c3f0e-2b8a-4c61-9a55-1f0a3e2b9c44", "kind": "webinar", "title": "T", "description": "",
            "status": "draft", "starts_at": "2031-03-12T14:00:00Z", "ends_at": "2031-03-12T15:00:00Z",
            "time_zone": "UTC", "starts_at_local": "2031-03-12T14:00:00+00:00",
            "ends_at_local": "2031-03-12T15:00:00+00:00", "when": "w", "capacity": 5, "seats_left": 5,
            "registration_open": false, "registration_opens_at": null,
            "registration_closes_at": "2031-03-12T14:00:00Z", "state": null, "venue": null, "topics": [],
            "hosts": [], "admin": {"join_url": "https://x.org/j", "revision": 0,
            "registrations": {"confirmed": 0, "waitlisted": 0, "cancelled": 0, "attended": 0},
            "created_at": "2031-01-01T00:00:00Z", "updated_at": "2031-01-01T00:00:00Z",
            "published_at": null, "cancelled_at": null}
        }))
        .unwrap();
        let public = serde_json::to_value(&admin.event).unwrap();
        assert!(public.get("admin").is_none() && public.get("join_url").is_none(), "{public}");
        let staff = serde_json::to_value(&admin).unwrap();
        assert_eq!(staff["admin"]["join_url"], "https://x.org/j");
        assert_eq!(staff["kind"], "webinar");
    }
}
