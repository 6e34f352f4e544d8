//! The experts API on the wire: profiles, windows, slots and bookings (`…In` read, `…Out`
//! written). Times go out as UTC (`starts_at`) and in the slot's zone (`starts_at_local`), as
//! events do.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{Profile, Slot, Window};
use crate::db::from_db_time;
use crate::domain::{BookingStatus, SlotStatus, Topic, WindowStatus};
use crate::registrations::wire::{AttendeeIn, BusinessIn};
use crate::time::{human_local, local_string, utc_string};
use crate::wire::Patch;

/// An instant in UTC and in a zone, for people and for programs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Times {
    #[schema(format = DateTime, example = "2031-03-12T15:00:00Z")]
    pub starts_at: String,
    #[schema(format = DateTime, example = "2031-03-12T15:30:00Z")]
    pub ends_at: String,
    /// The zone the `_local` fields and `when` use: the stop's venue, or the online window's.
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
    #[schema(format = DateTime, example = "2031-03-12T10:00:00-05:00")]
    pub starts_at_local: String,
    #[schema(format = DateTime, example = "2031-03-12T10:30:00-05:00")]
    pub ends_at_local: String,
    #[schema(example = "Wednesday, March 12, 2031 at 10:00 AM CDT (America/Chicago)")]
    pub when: String,
}

impl Times {
    pub fn new(starts_at: NaiveDateTime, ends_at: NaiveDateTime, zone: &str) -> Self {
        let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
        let (s, e) = (from_db_time(starts_at), from_db_time(ends_at));
        Times {
            starts_at: utc_string(s),
            ends_at: utc_string(e),
            time_zone: tz.name().to_string(),
            starts_at_local: local_string(s, tz),
            ends_at_local: local_string(e, tz),
            when: human_local(s, tz),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Profiles

/// An expert's profile, as the expert (or staff managing them) writes it. Replaces the whole
/// profile.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "display_name": "Ana Ruiz", "bio": "Ten years of ads for local shops.",
    "topics": ["advertising", "page-setup"], "industries": ["restaurants", "retail"],
    "languages": ["en", "es"], "states": ["TX", "NM"], "online": true,
    "meeting_url": "https://meet.example.org/ana"
}))]
pub struct ProfileIn {
    /// One line, at most 100 characters.
    pub display_name: String,
    /// At most 1,000 characters.
    pub bio: Option<String>,
    /// From the program's vocabulary; at least one, at most 10.
    #[schema(value_type = Vec<Topic>)]
    pub topics: Vec<String>,
    /// Free words (at most 20, each 1-50 letters, digits, spaces or dashes; stored lower-cased).
    pub industries: Option<Vec<String>>,
    /// BCP 47 tags (`en`, `es-MX`); at least one, at most 10.
    pub languages: Vec<String>,
    /// Two-letter codes of the states the expert serves (at stops there, and online).
    pub states: Option<Vec<String>>,
    /// Takes online sessions (then `meeting_url` is required).
    pub online: Option<bool>,
    /// The online meeting link, sent only to the booked business and the expert.
    #[schema(format = "uri")]
    pub meeting_url: Option<String>,
}

/// What anyone may see of an expert.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExpertOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub display_name: String,
    pub bio: String,
    pub topics: Vec<Topic>,
    pub industries: Vec<String>,
    pub languages: Vec<String>,
    pub states: Vec<String>,
    pub online: bool,
}

impl From<&Profile> for ExpertOut {
    fn from(p: &Profile) -> Self {
        ExpertOut {
            id: p.user_id.clone(),
            display_name: p.display_name.clone(),
            bio: p.bio.clone(),
            topics: p.topics().iter().filter_map(|t| t.parse().ok()).collect(),
            industries: p.industries(),
            languages: p.languages(),
            states: p.states(),
            online: p.online,
        }
    }
}

/// An expert as staff see them: the public profile and what only staff see.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminExpertOut {
    #[serde(flatten)]
    pub profile: ExpertOut,
    /// The online meeting link: shown to the expert and to those who manage the profile (admins,
    /// organizers of the expert's organization); `null` for other staff, such as the organizers
    /// of a stop where the expert offers time. Businesses get it when they book.
    pub meeting_url: Option<String>,
    /// Whether a calendar feed URL has been made (the URL itself is shown once).
    pub has_calendar_feed: bool,
}

impl AdminExpertOut {
    /// `manages`: whether the caller may manage the profile
    /// ([`super::queries::may_manage_expert`]), and so see the meeting link.
    pub fn new(p: &Profile, manages: bool) -> Self {
        AdminExpertOut {
            profile: ExpertOut::from(p),
            meeting_url: if manages { p.meeting_url.clone() } else { None },
            has_calendar_feed: p.calendar_token_hash.is_some(),
        }
    }
}

/// Filters and paging of the public expert list (by display name).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExpertListQuery {
    #[param(value_type = Option<Topic>)]
    pub topic: Option<String>,
    #[param(example = "restaurants")]
    pub industry: Option<String>,
    /// A BCP 47 tag; `es` also finds `es-MX`.
    #[param(example = "es")]
    pub language: Option<String>,
    /// Experts serving this state.
    #[param(example = "TX")]
    pub state: Option<String>,
    /// Only experts who take online sessions (`true`).
    pub online: Option<bool>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Windows

/// A new availability window. At a stop (`event_id`) it lies within the event's time and is read
/// in the venue's zone; online it needs `time_zone` and the expert must take online sessions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "event_id": "7d1c3f0e-2b8a-4c61-9a55-1f0a3e2b9c44", "starts_at": "2031-03-12T13:00:00",
    "ends_at": "2031-03-12T16:00:00", "slot_minutes": 30, "buffer_minutes": 5
}))]
pub struct WindowIn {
    /// The roadshow stop; absent for an online window.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub event_id: Option<String>,
    /// RFC 3339 with an offset, or a local date-time read in the window's zone (a local time that
    /// does not exist or happens twice there is refused unless an offset settles it).
    #[schema(example = "2031-03-12T13:00:00")]
    pub starts_at: String,
    #[schema(example = "2031-03-12T16:00:00")]
    pub ends_at: String,
    /// Online windows: the IANA zone to read and show times in. At a stop it is the event's.
    #[schema(example = "America/Chicago")]
    pub time_zone: Option<String>,
    /// 15-120.
    #[schema(minimum = 15, maximum = 120, example = 30)]
    pub slot_minutes: i64,
    /// 0-120, between two slots (default 0).
    #[schema(minimum = 0, maximum = 120, example = 5)]
    pub buffer_minutes: Option<i64>,
    /// At a stop: until then only the stop's registrants may book ("registrants first").
    pub registrants_only_until: Option<String>,
}

/// A change to a window: a shorter one withdraws its open slots outside the new time and keeps
/// booked ones; a longer one adds slots.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ends_at": "2031-03-12T15:00:00"}))]
pub struct WindowPatch {
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// `null` opens the slots to everyone at once.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub registrants_only_until: Patch<String>,
}

/// `DELETE /api/v1/admin/expert-windows/{id}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WindowDeleteQuery {
    /// A window with bookings is removed only with `true`: each booking is cancelled and its
    /// business and the expert are emailed.
    pub cancel_bookings: Option<bool>,
}

/// A slot as staff see it inside its window.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WindowSlotOut {
    #[schema(format = Uuid)]
    pub id: String,
    #[serde(flatten)]
    pub times: Times,
    pub status: SlotStatus,
    /// Whether a booking holds it.
    pub booked: bool,
}

/// An availability window and its slots.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WindowOut {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub expert_id: String,
    #[schema(format = Uuid)]
    pub event_id: Option<String>,
    #[serde(flatten)]
    pub times: Times,
    pub slot_minutes: i32,
    pub buffer_minutes: i32,
    #[schema(format = DateTime)]
    pub registrants_only_until: Option<String>,
    pub status: WindowStatus,
    pub slots: Vec<WindowSlotOut>,
}

impl WindowOut {
    pub fn new(w: &Window, slots: &[Slot]) -> Self {
        WindowOut {
            id: w.id.clone(),
            expert_id: w.expert_id.clone(),
            event_id: w.event_id.clone(),
            times: Times::new(w.starts_at, w.ends_at, &w.time_zone),
            slot_minutes: w.slot_minutes,
            buffer_minutes: w.buffer_minutes,
            registrants_only_until: w.registrants_only_until.map(|t| utc_string(from_db_time(t))),
            status: w.status,
            slots: slots
                .iter()
                .map(|s| WindowSlotOut {
                    id: s.id.clone(),
                    times: Times::new(s.starts_at, s.ends_at, &w.time_zone),
                    status: s.status,
                    booked: s.booking_id.is_some(),
                })
                .collect(),
        }
    }
}

/// Paging of an expert's windows (by start time).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WindowListQuery {
    /// Windows that end after this instant (default: now).
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Slots (public)

/// Filters, matching and paging of the open slots of a stop or online.
///
/// Without `for_topic`, `for_industry` and `for_language` the list is by start time. With any of
/// them it is ranked by fit and spread (see the description of the operation).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlotListQuery {
    /// Only experts who know this topic.
    #[param(value_type = Option<Topic>)]
    pub topic: Option<String>,
    /// Only experts who know this industry.
    pub industry: Option<String>,
    /// Only experts who speak this language (BCP 47; `es` also finds `es-MX`).
    pub language: Option<String>,
    /// Only experts serving this state.
    pub state: Option<String>,
    /// Slots that start at or after this instant (default: now).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Slots that start before this instant.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Rank by fit: experts who know this topic first.
    #[param(value_type = Option<Topic>)]
    pub for_topic: Option<String>,
    /// Rank by fit: then experts who know this industry.
    pub for_industry: Option<String>,
    /// Rank by fit: then experts who speak this language.
    pub for_language: Option<String>,
    /// `GET /api/v1/expert-slots` only: `true` (the default there) lists online slots.
    pub online: Option<bool>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// An open slot with its expert's public profile.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlotOut {
    #[schema(format = Uuid)]
    pub id: String,
    /// The stop; `null` online.
    #[schema(format = Uuid)]
    pub event_id: Option<String>,
    pub online: bool,
    #[serde(flatten)]
    pub times: Times,
    /// Until then only the stop's registrants may book it.
    #[schema(format = DateTime)]
    pub registrants_only_until: Option<String>,
    pub expert: ExpertOut,
    /// With `for_…` parameters: the fit (4 × topic + 2 × industry + 1 × language).
    pub fit: Option<u8>,
}

// ---------------------------------------------------------------------------------------------
// Booking (public, manage token)

/// `POST /api/v1/expert-slots/{id}/booking`: the same business and attendee as a registration.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business": {"name": "Taco Garage", "email": "owner@tacogarage.example", "state": "TX", "industry": "restaurants"},
    "attendee": {"name": "Rosa Diaz", "email": "rosa@tacogarage.example"},
    "question": "How do I advertise lunch specials to people nearby?", "topic": "advertising"
}))]
pub struct BookingIn {
    pub business: BusinessIn,
    pub attendee: AttendeeIn,
    /// What the business wants to talk about: at most 500 characters.
    pub question: Option<String>,
    #[schema(value_type = Option<Topic>)]
    pub topic: Option<String>,
    /// While a stop's slots are for its registrants only: the manage token of a registration for
    /// that stop (from its confirmation).
    pub registration_token: Option<String>,
    /// The language of every email about this booking: `en` (the default) or `es`.
    #[schema(value_type = Option<crate::domain::Language>)]
    pub language: Option<crate::domain::Language>,
    /// What the attendee needs to take part. Seen by the attendee (manage token), the expert,
    /// the event's host organizers and admins only.
    pub accommodation: Option<crate::accommodations::wire::AccommodationIn>,
}

/// Links a booking's holder uses, for a page without the API.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookingLinksOut {
    /// The HTML page to see and cancel the booking.
    pub manage_page: String,
    /// The calendar entry (`text/calendar`).
    pub calendar: String,
}

impl BookingLinksOut {
    pub fn new(config: &crate::config::Config, id: &str, token: &str) -> Self {
        let base = config.public_url.trim_end_matches('/');
        BookingLinksOut {
            manage_page: format!("{base}/manage/expert-bookings/{id}?token={token}"),
            calendar: format!("{base}/manage/expert-bookings/{id}/calendar.ics?token={token}"),
        }
    }
}

/// The answer to a booking: its manage token, shown only here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookingCreatedOut {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub slot_id: String,
    pub status: BookingStatus,
    #[serde(flatten)]
    pub times: Times,
    pub manage_token: Option<String>,
    pub links: Option<BookingLinksOut>,
}

/// `POST /api/v1/expert-bookings/{id}/move`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// An open slot of the same or another expert (at the same stop, or online for an online one).
    #[schema(value_type = uuid::Uuid)]
    pub slot_id: String,
    /// To a slot that is for the stop's registrants for now: the manage token of this attendee's
    /// (or this business's) registration for the stop.
    pub registration_token: Option<String>,
}

/// A booking as its holder sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookingOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: BookingStatus,
    #[schema(format = Uuid)]
    pub slot_id: String,
    #[schema(format = Uuid)]
    pub event_id: Option<String>,
    pub event_title: Option<String>,
    #[serde(flatten)]
    pub times: Times,
    /// "Venue, address, city, ST", or "Online".
    pub location: String,
    /// Online sessions, while booked: the expert's meeting link.
    pub meeting_url: Option<String>,
    pub expert: ExpertOut,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub question: Option<String>,
    pub topic: Option<String>,
    /// The holder's accommodation request (`null`: none); change it with
    /// `PUT /api/v1/expert-bookings/{id}/accommodation`.
    pub accommodation: Option<crate::accommodations::wire::AccommodationOut>,
}

// ---------------------------------------------------------------------------------------------
// Staff

/// A booking as staff and the expert see it: only what the booking carries of the business.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgendaItemOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: BookingStatus,
    #[schema(format = Uuid)]
    pub expert_id: String,
    pub expert_name: String,
    #[schema(format = Uuid)]
    pub event_id: Option<String>,
    pub event_title: Option<String>,
    #[serde(flatten)]
    pub times: Times,
    pub location: String,
    pub business_name: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub question: Option<String>,
    pub topic: Option<String>,
    /// Marking a session attended only: what it did about the business's ad credit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit: Option<crate::credits::wire::CreditOutcomeOut>,
    /// In lists only, when there is one: the attendee's accommodation request, shown to admins,
    /// the event's host organizers and the booking's expert (it is their session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accommodation: Option<crate::accommodations::wire::AccommodationOut>,
}

/// Paging of bookings (by start time).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgendaQuery {
    /// Bookings that end after this instant (default: the start of today, UTC).
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(value_type = Option<BookingStatus>)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// `POST /api/v1/admin/expert-bookings/{id}/attendance`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceIn {
    /// `attended` or `no_show`.
    #[schema(value_type = BookingStatus, example = "attended")]
    pub status: String,
}

/// A new calendar feed URL (shown once; a new one replaces it).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarFeedOut {
    /// Subscribe to this in a calendar app. Keep it secret: it shows the expert's bookings.
    pub url: String,
}

/// A booking in a data export.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookingRecordOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: BookingStatus,
    pub expert_name: String,
    #[schema(format = Uuid)]
    pub event_id: Option<String>,
    #[schema(format = DateTime)]
    pub starts_at: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub question: Option<String>,
    pub topic: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The accommodation request made with the booking (`null`: none).
    pub accommodation: Option<crate::accommodations::wire::AccommodationOut>,
}
