//! Event rows and the domain values parsed from requests.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::events;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub capacity: i32,
    pub registration_opens_at: Option<NaiveDateTime>,
    pub registration_closes_at: Option<NaiveDateTime>,
    pub status: String,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub state_code: Option<String>,
    pub waitlist_seq: i64,
    pub revision: i32,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
}

impl Event {
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// Whether registration is open at `now`: published, not started (or past the window's close),
    /// and inside the registration window.
    pub fn registration_open_at(&self, now: NaiveDateTime) -> bool {
        self.status == "published"
            && now < self.registration_closes_at.unwrap_or(self.starts_at)
            && self.registration_opens_at.is_none_or(|o| now >= o)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub capacity: i32,
    pub registration_opens_at: Option<NaiveDateTime>,
    pub registration_closes_at: Option<NaiveDateTime>,
    pub status: String,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub state_code: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Column changes of a PATCH (None = unchanged).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = events)]
pub struct EventChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub time_zone: Option<String>,
    pub registration_opens_at: Option<Option<NaiveDateTime>>,
    pub registration_closes_at: Option<Option<NaiveDateTime>>,
    pub venue_id: Option<Option<String>>,
    pub join_url: Option<Option<String>>,
    pub state_code: Option<Option<String>>,
    pub revision: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Event kinds.
pub const KINDS: &[&str] = &["roadshow_stop", "webinar"];

/// A validated new event, before it meets the database (venue, hosts and state are checked there).
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub kind: String,
    pub title: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub tz: Tz,
    pub capacity: i32,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub state: Option<String>,
    pub topics: Vec<String>,
    pub host_organization_ids: Option<Vec<String>>,
}
