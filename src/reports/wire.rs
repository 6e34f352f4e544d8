//! The answers of `/api/v1/admin/reports/…`: one row per state or per host organization, each
//! with the same figures.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A report: its rows and when it was computed (figures are live, not cached).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportOut<T> {
    pub items: Vec<T>,
    #[schema(format = DateTime)]
    pub generated_at: String,
}

/// Events by status.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportEventCounts)]
pub struct EventCounts {
    pub total: i64,
    pub draft: i64,
    pub published: i64,
    pub cancelled: i64,
    pub completed: i64,
}

/// Registrations by status.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportRegistrationCounts)]
pub struct RegistrationCounts {
    pub total: i64,
    pub confirmed: i64,
    pub waitlisted: i64,
    pub cancelled: i64,
    pub attended: i64,
}

/// One-to-one expert sessions at the events, by status.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportBookingCounts)]
pub struct BookingCounts {
    pub total: i64,
    pub booked: i64,
    pub cancelled: i64,
    pub attended: i64,
    pub no_show: i64,
}

/// Published events that have not started.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportUpcoming)]
pub struct Upcoming {
    pub events: i64,
    /// Their total capacity.
    pub capacity: i64,
    pub confirmed: i64,
    pub waitlisted: i64,
    /// Capacity not taken by confirmed (or attended) registrations.
    pub seats_left: i64,
}

/// The figures of one row of a report.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReportFigures)]
pub struct Figures {
    pub events: EventCounts,
    pub registrations: RegistrationCounts,
    /// attended ÷ (attended + confirmed) over registrations of events that have ended and were not
    /// cancelled; `null` when there are none.
    #[schema(minimum = 0, maximum = 1)]
    pub attendance_rate: Option<f64>,
    pub upcoming: Upcoming,
    /// Expert sessions at these events (online sessions belong to no event and are not here).
    pub expert_sessions: BookingCounts,
}

/// One state's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StateReportOut {
    /// Two-letter code; `null` for events with no state (national webinars).
    #[schema(example = "TX")]
    pub state: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One host organization's row (a co-hosted event counts for each host).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganizationReportOut {
    #[schema(format = Uuid)]
    pub organization_id: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}
