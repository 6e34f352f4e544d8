//! Registration and business rows, the rows a registration's holder sees, and the validated
//! registration request. Statuses are [`RegistrationStatus`] from the database on.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{businesses, registrations};
use crate::domain::{EventKind, EventStatus, RegistrationStatus};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = registrations)]
pub struct Registration {
    pub id: String,
    pub event_id: String,
    pub business_id: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub status: RegistrationStatus,
    pub waitlist_ticket: Option<i64>,
    pub seat_shard: Option<i32>,
    pub manage_token_hash: String,
    pub calendar_sequence: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub checked_in_at: Option<NaiveDateTime>,
    /// What the registrant typed about the business (the stored business record is not changed
    /// by a registration; see the module docs).
    pub business_name_given: Option<String>,
    pub business_state_given: Option<String>,
    pub industry_given: Option<String>,
    pub employees_given: Option<String>,
    pub website_given: Option<String>,
    /// The language every email to this registration is written in.
    pub language: crate::domain::Language,
}

impl Registration {
    pub fn is_active(&self) -> bool {
        ACTIVE.contains(&self.status)
    }
}

/// The statuses that hold the attendee's place at the event (at most one per attendee and event).
pub const ACTIVE: [RegistrationStatus; 3] =
    [RegistrationStatus::Confirmed, RegistrationStatus::Waitlisted, RegistrationStatus::Attended];
/// The statuses a registration can still be cancelled from (and that a freed seat can reach).
pub const OPEN: [RegistrationStatus; 2] = [RegistrationStatus::Confirmed, RegistrationStatus::Waitlisted];

#[derive(Debug, Insertable)]
#[diesel(table_name = registrations)]
pub struct NewRegistration {
    pub id: String,
    pub event_id: String,
    pub business_id: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub status: RegistrationStatus,
    pub waitlist_ticket: Option<i64>,
    pub seat_shard: Option<i32>,
    pub manage_token_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub business_name_given: Option<String>,
    pub business_state_given: Option<String>,
    pub industry_given: Option<String>,
    pub employees_given: Option<String>,
    pub website_given: Option<String>,
    pub language: crate::domain::Language,
}

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = businesses)]
pub struct Business {
    pub id: String,
    pub email: Option<String>,
    pub name: String,
    pub state_code: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

/// The event columns a registration's holder sees (read straight from `events`, typed).
#[derive(Debug, Clone, Queryable)]
pub struct HeldEvent {
    pub id: String,
    pub kind: EventKind,
    pub title: String,
    pub status: EventStatus,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub join_url: Option<String>,
}

impl HeldEvent {
    /// The event's zone (UTC if the stored name is unknown, which the events module refuses).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// A registration as its holder sees it (manage API and page).
#[derive(Debug, Clone)]
pub struct Held {
    pub registration: Registration,
    pub event: HeldEvent,
    /// `name, address, city, state` of the venue, or `Online` for an event without one.
    pub location: Option<String>,
    /// 1-based place in the waitlist, for a waitlisted registration.
    pub waitlist_position: Option<i64>,
    /// The holder's own accommodation request.
    pub accommodation: Option<crate::accommodations::wire::AccommodationOut>,
}

/// A registrant row for staff lists and exports.
#[derive(Debug, Clone, Queryable)]
pub struct Registrant {
    pub id: String,
    pub status: RegistrationStatus,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub waitlist_ticket: Option<i64>,
    pub created_at: NaiveDateTime,
    pub checked_in_at: Option<NaiveDateTime>,
    pub business_id: String,
    pub business_name: String,
    pub business_state: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<String>,
}

/// Employee bands a business may give.
pub const EMPLOYEE_BANDS: &[&str] = &["1", "2-9", "10-49", "50-249", "250+"];

/// One of [`EMPLOYEE_BANDS`] (surrounding spaces ignored), or an error naming `field`.
pub fn employee_band(field: &str, value: &str) -> Result<String, crate::error::FieldError> {
    let v = value.trim();
    if EMPLOYEE_BANDS.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(crate::error::FieldError::new(field, format!("must be one of {}", EMPLOYEE_BANDS.join(", "))))
    }
}

/// A registration request after validation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegistrationRequest {
    pub business_name: String,
    pub business_email: crate::domain::EmailAddress,
    pub business_state: crate::domain::StateCode,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
    pub attendee_name: String,
    pub attendee_email: crate::domain::EmailAddress,
    pub marketing_consent: Option<bool>,
    /// The language the registrant reads (`language`, English when absent).
    pub language: crate::domain::Language,
    /// An accommodation request, stored with the registration or booking in its transaction.
    pub accommodation: Option<crate::accommodations::model::Accommodation>,
}
