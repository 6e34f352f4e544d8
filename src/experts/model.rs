//! The rows of the experts feature, and the `|a|b|` lists a profile keeps.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{expert_bookings, expert_profiles, expert_slots, expert_windows};
use crate::domain::{BookingStatus, SlotStatus, WindowStatus};

/// An expert's profile (one per staff user with role `expert`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = expert_profiles)]
pub struct Profile {
    pub user_id: String,
    pub display_name: String,
    pub bio: String,
    pub topics: String,
    pub industries: String,
    pub languages: String,
    pub states: String,
    pub online: bool,
    pub meeting_url: Option<String>,
    #[diesel(skip_update)]
    pub calendar_token_hash: Option<String>,
    #[diesel(skip_update)]
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Profile {
    pub fn topics(&self) -> Vec<String> {
        split_list(&self.topics)
    }
    pub fn industries(&self) -> Vec<String> {
        split_list(&self.industries)
    }
    pub fn languages(&self) -> Vec<String> {
        split_list(&self.languages)
    }
    pub fn states(&self) -> Vec<String> {
        split_list(&self.states)
    }
}

/// An availability window.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = expert_windows)]
pub struct Window {
    pub id: String,
    pub expert_id: String,
    pub event_id: Option<String>,
    pub time_zone: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub slot_minutes: i32,
    pub buffer_minutes: i32,
    pub registrants_only_until: Option<NaiveDateTime>,
    pub status: WindowStatus,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Window {
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// A slot cut from a window. `booking_id` is the active booking holding it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = expert_slots)]
pub struct Slot {
    pub id: String,
    pub window_id: String,
    pub expert_id: String,
    pub event_id: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: SlotStatus,
    pub booking_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A booking of a slot by one attendee of one business.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = expert_bookings)]
pub struct Booking {
    pub id: String,
    pub slot_id: String,
    pub expert_id: String,
    pub event_id: Option<String>,
    pub business_id: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub business_name_given: Option<String>,
    pub question: Option<String>,
    pub topic: Option<String>,
    pub status: BookingStatus,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub manage_token_hash: String,
    pub calendar_sequence: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
    pub marked_at: Option<NaiveDateTime>,
    /// The start the reminder was settled for (see [`super::queries::remind_due`]).
    pub reminded_for: Option<NaiveDateTime>,
    /// The language every email about this booking is written in.
    pub language: crate::domain::Language,
}

/// `["a", "b"]` → `|a|b|` (empty list: empty text), the form `LIKE '%|a|%'` matches.
pub fn join_list(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("|{}|", items.join("|"))
    }
}

/// The inverse of [`join_list`].
pub fn split_list(text: &str) -> Vec<String> {
    text.split('|').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The `LIKE` pattern that finds `item` in a [`join_list`] column (items never hold `|`, `%`, `_`).
pub fn list_pattern(item: &str) -> String {
    format!("%|{item}|%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip() {
        let items = vec!["advertising".to_string(), "page-setup".to_string()];
        assert_eq!(join_list(&items), "|advertising|page-setup|");
        assert_eq!(split_list(&join_list(&items)), items);
        assert!(split_list(&join_list(&[])).is_empty());
    }
}
