//! The registration API's bodies and query strings on the wire (`…In` read, `…Out` written), and
//! how a stored registration becomes an `…Out`. Field names here are a contract with partner
//! sites (see ARCHITECTURE.md, "API contract essentials"): they do not change.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{Held, Registrant};
use crate::config::Config;
use crate::db::from_db_time;
use crate::domain::{EventKind, EventStatus, Language, RegistrationStatus};
use crate::time::{human_local, local_string, utc_string};

// ---------------------------------------------------------------------------------------------
// Registering (public)

/// The business the attendee comes from, as the registrant types it. It is kept on the
/// registration; a stored business record is never changed by a registration.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessIn {
    /// At most 200 characters, one line.
    #[schema(example = "Taco Garage")]
    pub name: String,
    /// The business's contact address.
    #[schema(example = "owner@tacogarage.example")]
    pub email: String,
    /// Two-letter USPS code of a state or DC.
    #[schema(example = "TX")]
    pub state: String,
    /// At most 100 characters.
    #[schema(example = "restaurants")]
    pub industry: Option<String>,
    /// One of `1`, `2-9`, `10-49`, `50-249`, `250+`.
    #[schema(example = "2-9")]
    pub employees: Option<String>,
    /// An `http` or `https` URL.
    #[schema(example = "https://tacogarage.example")]
    pub website: Option<String>,
}

/// The person who will attend.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendeeIn {
    #[schema(example = "Rosa Diaz")]
    pub name: String,
    /// Where the confirmation and the links to manage the registration go.
    #[schema(example = "rosa@tacogarage.example")]
    pub email: String,
}

/// `POST /api/v1/events/{id}/registrations`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationIn {
    pub business: BusinessIn,
    pub attendee: AttendeeIn,
    /// The attendee agrees (true) or declines (false) to hear about the Roadshow; absent leaves
    /// their choice as it is.
    pub marketing_consent: Option<bool>,
    /// The language of every email about this registration: `en` (the default) or `es`.
    pub language: Option<Language>,
    /// What the attendee needs to take part. Seen by the attendee (manage token), the event's
    /// host organizers and admins only.
    pub accommodation: Option<crate::accommodations::wire::AccommodationIn>,
}

/// The links emailed to the attendee, for a page without the API.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationLinksOut {
    /// The HTML page to see and cancel the registration.
    pub manage_page: String,
    /// The calendar entry (`text/calendar`).
    pub calendar: String,
}

impl RegistrationLinksOut {
    pub fn new(config: &Config, id: &str, token: &str) -> Self {
        let base = config.public_url.trim_end_matches('/');
        RegistrationLinksOut {
            manage_page: format!("{base}/manage/{id}?token={token}"),
            calendar: format!("{base}/manage/{id}/calendar.ics?token={token}"),
        }
    }
}

/// The answer to a registration (201), also to a retry with the same `Idempotency-Key`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationCreatedOut {
    pub id: String,
    pub event_id: String,
    /// `confirmed` (a seat is held) or `waitlisted`; a retry answers with the status now.
    pub status: RegistrationStatus,
    /// 1-based place in the waitlist (waitlisted only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    /// The key to this registration (`Authorization: Bearer …`), shown only here and in the
    /// emails. Absent on a retry of a registration that was cancelled or erased since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "rsm_3q2…")]
    pub manage_token: Option<String>,
    /// With the manage token only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<RegistrationLinksOut>,
}

/// `POST /api/v1/registrations/recover`: the address whose registrations' links to email.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    #[schema(example = "rosa@tacogarage.example")]
    pub email: String,
    /// The language of the email: `en` (the default) or `es`.
    pub language: Option<Language>,
}

// ---------------------------------------------------------------------------------------------
// A registration, to its holder (manage token)

/// The attendee of a registration (`null` fields once erased).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttendeeOut {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The event of a registration, as its holder sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationEventOut {
    pub id: String,
    pub kind: EventKind,
    pub title: String,
    pub status: EventStatus,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// IANA zone the event is held in.
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
    /// `starts_at` in the event's zone, with its offset.
    #[schema(format = DateTime)]
    pub starts_at_local: String,
    #[schema(format = DateTime)]
    pub ends_at_local: String,
    /// For people: `Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago)`.
    pub when: String,
    /// The venue (`name, address, city, state`), or `Online`.
    pub location: Option<String>,
    /// Webinars only, and only while the registration holds a seat of an event going ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
}

/// A registration, as its manage token shows it (`GET`/`DELETE /api/v1/registrations/{id}`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationOut {
    pub id: String,
    pub status: RegistrationStatus,
    /// 1-based place in the waitlist (waitlisted only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    pub attendee: AttendeeOut,
    /// The business name the registrant typed (the stored business record is not shown: anyone
    /// can register with any business's email).
    pub business_name: String,
    pub event: RegistrationEventOut,
    /// The language of every email about this registration.
    pub language: Language,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub cancelled_at: Option<String>,
    #[schema(format = DateTime)]
    pub checked_in_at: Option<String>,
    /// The holder's accommodation request (`null`: none); change it with
    /// `PUT /api/v1/registrations/{id}/accommodation`.
    pub accommodation: Option<crate::accommodations::wire::AccommodationOut>,
}

impl From<Held> for RegistrationOut {
    fn from(held: Held) -> Self {
        let Held { registration: reg, event: e, location, waitlist_position, accommodation } = held;
        let tz = e.tz();
        let (starts, ends) = (from_db_time(e.starts_at), from_db_time(e.ends_at));
        let seated = matches!(reg.status, RegistrationStatus::Confirmed | RegistrationStatus::Attended)
            && e.status != EventStatus::Cancelled;
        RegistrationOut {
            id: reg.id,
            status: reg.status,
            waitlist_position,
            attendee: AttendeeOut { name: reg.attendee_name, email: reg.attendee_email },
            // Rows from before the typed details were kept have none.
            business_name: reg.business_name_given.unwrap_or_default(),
            event: RegistrationEventOut {
                join_url: if e.kind == EventKind::Webinar && seated { e.join_url } else { None },
                id: e.id,
                kind: e.kind,
                title: e.title,
                status: e.status,
                starts_at: utc_string(starts),
                ends_at: utc_string(ends),
                starts_at_local: local_string(starts, tz),
                ends_at_local: local_string(ends, tz),
                when: human_local(starts, tz),
                time_zone: e.time_zone,
                location,
            },
            language: reg.language,
            created_at: utc_string(from_db_time(reg.created_at)),
            cancelled_at: reg.cancelled_at.map(|t| utc_string(from_db_time(t))),
            checked_in_at: reg.checked_in_at.map(|t| utc_string(from_db_time(t))),
            accommodation,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The manage page (token in the emailed link)

/// The query of the manage page and its calendar link. Unknown parameters are ignored (unlike
/// every other query here): mail clients, link shorteners and trackers append `utm_source`,
/// `fbclid` and the like to the link in the email, and it must keep working.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The manage token from the emailed link (`rsm_…`).
    pub token: Option<String>,
    /// The page's language, `en` or `es` (anything else is ignored): by default the one stored
    /// with the registration or booking.
    pub lang: Option<String>,
}

/// The manage page's cancel form (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CancelFormIn {
    /// The manage token, carried by the page in a hidden field.
    #[schema(example = "rsm_3q2…")]
    pub token: String,
    /// The language of the page shown next, `en` or `es` (the page's own, in a hidden field).
    pub lang: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Staff

/// How `GET /api/v1/admin/events/{id}/registrations` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrantsFormat {
    /// A page of [`RegistrantOut`].
    #[default]
    Json,
    /// Every registrant as a CSV file (no paging).
    Csv,
}

/// The query of the registrants list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegistrantsQuery {
    /// Only registrations in this status.
    #[param(inline)]
    pub status: Option<RegistrationStatus>,
    /// `json` (default, paged) or `csv` (everything, as a file).
    #[param(inline)]
    pub format: Option<RegistrantsFormat>,
    /// Page size, 1 to 200 (default 50; JSON only).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (JSON only).
    pub cursor: Option<String>,
}

/// A registrant of an event, for staff.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrantOut {
    pub id: String,
    pub status: RegistrationStatus,
    /// 1-based place in the waitlist; `null` unless waitlisted.
    pub waitlist_position: Option<i64>,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub business_id: String,
    /// From the stored business record.
    pub business_name: String,
    pub business_state: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<String>,
    #[schema(format = DateTime)]
    pub registered_at: String,
    #[schema(format = DateTime)]
    pub checked_in_at: Option<String>,
    /// The registrant's accommodation request: present only when there is one, and only for
    /// admins and organizers of an organization hosting the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accommodation: Option<crate::accommodations::wire::AccommodationOut>,
}

impl RegistrantOut {
    pub fn new(r: Registrant, waitlist_position: Option<i64>) -> Self {
        RegistrantOut {
            id: r.id,
            status: r.status,
            waitlist_position,
            attendee_name: r.attendee_name,
            attendee_email: r.attendee_email,
            business_id: r.business_id,
            business_name: r.business_name,
            business_state: r.business_state,
            industry: r.industry,
            employees: r.employees,
            registered_at: utc_string(from_db_time(r.created_at)),
            checked_in_at: r.checked_in_at.map(|t| utc_string(from_db_time(t))),
            accommodation: None,
        }
    }
}

/// The answer to a check-in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckInOut {
    pub id: String,
    /// `attended`.
    pub status: RegistrationStatus,
    #[schema(format = DateTime)]
    pub checked_in_at: Option<String>,
    /// What checking in did about the business's ad credit (granted in the same transaction when
    /// the business never had one and the pool has room).
    pub credit: crate::credits::wire::CreditOutcomeOut,
}
