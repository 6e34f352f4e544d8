//! What changed, as facts, so each recipient reads it in their own language: the features that
//! change an event, a venue or a booking list [`Change`]s, and every email (and each recipient's
//! language) writes them out with [`Change::describe`]. A booking's cancellation reason is the
//! same kind of fact ([`CancelReason`]).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::i18n::{self, Language};

/// One change a registrant or a booking's holder is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The start moved (each instant shown in its own zone: the old one in the old zone).
    Starts { from: DateTime<Utc>, from_zone: Tz, to: DateTime<Utc>, to_zone: Tz },
    /// The end moved.
    Ends { from: DateTime<Utc>, from_zone: Tz, to: DateTime<Utc>, to_zone: Tz },
    /// A new place: "Venue, address, city, ST".
    Place(String),
    /// The venue's time zone changed: times are now shown in this one.
    Zone(String),
    /// A webinar's join link changed.
    JoinLink,
    /// A booked session moved with its stop.
    StopRescheduled { from: DateTime<Utc>, to: DateTime<Utc>, zone: Tz },
    /// A booked session is now with this expert.
    Expert(String),
    /// An online session's meeting link changed.
    MeetingLink,
}

impl Change {
    /// The line the email shows, in `lang`.
    pub fn describe(&self, lang: Language) -> String {
        let when = |t: &DateTime<Utc>, z: &Tz| i18n::human_local(lang, *t, *z);
        match self {
            Change::Starts { from, from_zone, to, to_zone } => {
                i18n::format(lang, "change.starts", &[("from", &when(from, from_zone)), ("to", &when(to, to_zone))])
            }
            Change::Ends { from, from_zone, to, to_zone } => {
                i18n::format(lang, "change.ends", &[("from", &when(from, from_zone)), ("to", &when(to, to_zone))])
            }
            Change::Place(place) => i18n::format(lang, "change.place", &[("place", place)]),
            Change::Zone(zone) => i18n::format(lang, "change.zone", &[("zone", zone)]),
            Change::JoinLink => i18n::text(lang, "change.join_link").to_string(),
            Change::StopRescheduled { from, to, zone } => {
                i18n::format(lang, "change.stop_rescheduled", &[("from", &when(from, zone)), ("to", &when(to, zone))])
            }
            Change::Expert(name) => i18n::format(lang, "change.expert", &[("expert", name)]),
            Change::MeetingLink => i18n::text(lang, "change.meeting_link").to_string(),
        }
    }

    /// Whether this is a new place (what a stop's expert sessions are told of, with the stop).
    pub fn is_place(&self) -> bool {
        matches!(self, Change::Place(_))
    }
}

/// Every change of a list, in `lang`.
pub fn describe_all(changes: &[Change], lang: Language) -> Vec<String> {
    changes.iter().map(|c| c.describe(lang)).collect()
}

/// Why a booking was cancelled when its holder did not cancel it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelReason {
    /// The expert's availability window was withdrawn.
    WindowWithdrawn,
    /// The stop's new hours no longer include the session.
    StopHours,
    /// The stop was cancelled.
    StopCancelled,
    /// Staff cancelled it without saying why.
    Organizers,
    /// Staff's own words, shown as typed.
    Given(String),
}

impl CancelReason {
    /// The reason as the email says it, in `lang` (staff's own words as typed).
    pub fn describe(&self, lang: Language) -> String {
        let key = match self {
            CancelReason::WindowWithdrawn => "booking.reason.window_withdrawn",
            CancelReason::StopHours => "booking.reason.stop_hours",
            CancelReason::StopCancelled => "booking.reason.stop_cancelled",
            CancelReason::Organizers => "booking.reason.organizers",
            CancelReason::Given(words) => return words.clone(),
        };
        i18n::text(lang, key).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_in_each_language() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let from = DateTime::parse_from_rfc3339("2026-03-12T14:00:00Z").unwrap().with_timezone(&Utc);
        let to = from + chrono::Duration::days(1);
        let c = Change::Starts { from, from_zone: tz, to, to_zone: tz };
        assert_eq!(
            c.describe(Language::English),
            "Starts: Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago) → \
             Friday, March 13, 2026 at 9:00 AM CDT (America/Chicago)"
        );
        assert_eq!(
            c.describe(Language::Spanish),
            "Comienza: jueves, 12 de marzo de 2026, 9:00 CDT (America/Chicago) → \
             viernes, 13 de marzo de 2026, 9:00 CDT (America/Chicago)"
        );
        assert_eq!(
            Change::Place("Library, 1 Main St, Austin, TX".into()).describe(Language::Spanish),
            "Lugar: Library, 1 Main St, Austin, TX"
        );
        assert_eq!(CancelReason::StopCancelled.describe(Language::English), "the roadshow stop was cancelled");
        assert_eq!(CancelReason::Given("a storm".into()).describe(Language::Spanish), "a storm");
    }
}
