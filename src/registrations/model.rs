//! Registration and business rows, and the validated registration request.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{businesses, registrations};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = registrations)]
pub struct Registration {
    pub id: String,
    pub event_id: String,
    pub business_id: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub status: String,
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
}

impl Registration {
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "confirmed" | "waitlisted" | "attended")
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = registrations)]
pub struct NewRegistration {
    pub id: String,
    pub event_id: String,
    pub business_id: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub status: String,
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

/// Employee bands a business may give.
pub const EMPLOYEE_BANDS: &[&str] = &["1", "2-9", "10-49", "50-249", "250+"];

/// A registration request after validation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegistrationRequest {
    pub business_name: String,
    pub business_email: String,
    pub business_state: String,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
    pub attendee_name: String,
    pub attendee_email: String,
    pub marketing_consent: Option<bool>,
}
