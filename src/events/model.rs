//! Event rows as diesel reads and writes them. The closed sets (`kind`, `status`) are the domain
//! enums of [`crate::domain`], converted at the database boundary, so nothing past a query
//! compares strings.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::events;
use crate::domain::{EventKind, EventStatus};

/// An `events` row.
#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub capacity: i32,
    pub registration_opens_at: Option<NaiveDateTime>,
    pub registration_closes_at: Option<NaiveDateTime>,
    pub status: EventStatus,
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
    /// Its topics, comma-separated (kept by triggers from `event_topics`).
    pub topic_list: String,
    /// Its host organizations' ids, comma-separated (kept by triggers from `event_hosts`).
    pub host_list: String,
    /// The title and description in Spanish, when given.
    pub title_es: Option<String>,
    pub description_es: Option<String>,
}

impl Event {
    /// Its topics, sorted.
    pub fn topics(&self) -> Vec<String> {
        let mut topics: Vec<String> =
            self.topic_list.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect();
        topics.sort();
        topics
    }

    /// Its host organizations' ids.
    pub fn host_ids(&self) -> impl Iterator<Item = &str> {
        self.host_list.split(',').filter(|h| !h.is_empty())
    }

    /// The event's display zone (stored names were parsed on the way in; UTC if one no longer is).
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// When registration closes: its own close, or the start.
    pub fn registration_closes(&self) -> NaiveDateTime {
        self.registration_closes_at.unwrap_or(self.starts_at)
    }

    /// Whether registration is open at `now`: published, before the close (by default the
    /// start), and after the registration window opens.
    pub fn registration_open_at(&self, now: NaiveDateTime) -> bool {
        self.status == EventStatus::Published
            && now < self.registration_closes()
            && self.registration_opens_at.is_none_or(|o| now >= o)
    }
}

/// A new `events` row (always a draft; `waitlist_seq` and `revision` start at their defaults).
#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub id: String,
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub capacity: i32,
    pub registration_opens_at: Option<NaiveDateTime>,
    pub registration_closes_at: Option<NaiveDateTime>,
    pub status: EventStatus,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub state_code: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub title_es: Option<String>,
    pub description_es: Option<String>,
}

/// Column changes of a PATCH (`None` = unchanged; `Some(None)` clears a nullable column).
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
    pub title_es: Option<Option<String>>,
    pub description_es: Option<Option<String>>,
}
