//! RFC 5545 calendar invites for one registration.
//!
//! - `UID` is stable per registration (`registration-<id>@roadshow`), so every invite, update and
//!   cancellation for it lands on the same calendar entry.
//! - `SEQUENCE` = `events.revision` + `registrations.calendar_sequence`: the first grows with every
//!   change of the event, the second with every registration-level change that mails an invite
//!   (promotion, cancellation, event cancellation; see [`super::notify_registration`]). Calendar
//!   clients apply an update only when its SEQUENCE is higher than what they hold.
//! - `METHOD:REQUEST` while the registration and the event stand, `METHOD:CANCEL` (with
//!   `STATUS:CANCELLED`) once either is cancelled; a waitlisted registration is `TENTATIVE`.
//! - Times are UTC with `Z` (no VTIMEZONE needed); text is escaped and lines folded at 75 octets.
//!
//! The email attachment and the calendar download (`/api/v1/registrations/{id}/calendar.ics`,
//! `/manage/{id}/calendar.ics`) come from the same
//! [`registration_calendar`], so they never disagree.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{events, registrations, venues};
use crate::db::{from_db_time, DbConnection};
use crate::error::AppError;

/// What a calendar entry is built from.
#[derive(Debug, Clone)]
pub struct CalendarEntry {
    pub registration_id: String,
    pub sequence: i64,
    pub cancelled: bool,
    pub tentative: bool,
    pub title: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: String,
    /// Join URL (confirmed webinar registrants only).
    pub url: Option<String>,
    pub stamp: DateTime<Utc>,
}

/// The invite for `registration_id` as it stands now (see module docs). 404 when it does not exist.
pub fn registration_calendar(conn: &mut DbConnection, registration_id: &str) -> Result<String, AppError> {
    Ok(render(&entry(conn, registration_id, None)?))
}

/// Reads the rows behind a calendar entry. `force_cancel` makes it a cancellation regardless of
/// the current status (e.g. a notice written before the status change commits).
pub fn entry(
    conn: &mut DbConnection,
    registration_id: &str,
    force_cancel: Option<bool>,
) -> Result<CalendarEntry, AppError> {
    let (status, seq, event_id): (String, i32, String) = registrations::table
        .find(registration_id)
        .select((registrations::status, registrations::calendar_sequence, registrations::event_id))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("no such registration"))?;
    #[allow(clippy::type_complexity)]
    let (title, description, starts, ends, ev_status, kind, join_url, revision, venue_id): (
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        String,
        String,
        Option<String>,
        i32,
        Option<String>,
    ) = events::table
        .find(&event_id)
        .select((
            events::title,
            events::description,
            events::starts_at,
            events::ends_at,
            events::status,
            events::kind,
            events::join_url,
            events::revision,
            events::venue_id,
        ))
        .first(conn)?;
    let venue = match venue_id {
        Some(v) => {
            let (name, address, city, state): (String, String, String, String) = venues::table
                .find(v)
                .select((venues::name, venues::address, venues::city, venues::state_code))
                .first(conn)?;
            Some(format!("{name}, {address}, {city}, {state}"))
        }
        None => None,
    };
    Ok(build_entry(
        EntryFacts {
            registration_id,
            status: &status,
            calendar_sequence: seq,
            title,
            description,
            starts_at: starts,
            ends_at: ends,
            event_status: &ev_status,
            kind: &kind,
            join_url,
            revision,
            venue,
        },
        force_cancel,
    ))
}

/// The rows behind a calendar entry, for callers that have already read them.
pub struct EntryFacts<'a> {
    pub registration_id: &'a str,
    pub status: &'a str,
    pub calendar_sequence: i32,
    pub title: String,
    pub description: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub event_status: &'a str,
    pub kind: &'a str,
    pub join_url: Option<String>,
    pub revision: i32,
    /// "Name, address, city, ST" of the venue; `None` online.
    pub venue: Option<String>,
}

/// Builds the entry from rows already read (see module docs for the rules).
pub fn build_entry(f: EntryFacts<'_>, force_cancel: Option<bool>) -> CalendarEntry {
    let cancelled = force_cancel.unwrap_or(false) || f.status == "cancelled" || f.event_status == "cancelled";
    let confirmed = f.status == "confirmed" || f.status == "attended";
    let url = if f.kind == "webinar" && confirmed && !cancelled { f.join_url } else { None };
    let location = match f.venue {
        Some(v) => v,
        None => url.clone().map(|u| format!("Online: {u}")).unwrap_or_else(|| "Online".into()),
    };
    let mut desc = f.description;
    if let Some(u) = &url {
        if !desc.is_empty() {
            desc.push_str("\n\n");
        }
        desc.push_str(&format!("Join online: {u}"));
    }
    CalendarEntry {
        registration_id: f.registration_id.to_string(),
        sequence: i64::from(f.revision) + i64::from(f.calendar_sequence),
        cancelled,
        tentative: f.status == "waitlisted",
        title: f.title,
        description: desc,
        starts_at: from_db_time(f.starts_at),
        ends_at: from_db_time(f.ends_at),
        location,
        url,
        stamp: Utc::now(),
    }
}

/// Writes the VCALENDAR text (CRLF line ends, folded, escaped).
pub fn render(e: &CalendarEntry) -> String {
    let mut out = String::new();
    let mut line = |s: String| fold_into(&mut out, &s);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Roadshow//Roadshow invites//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line(format!("METHOD:{}", if e.cancelled { "CANCEL" } else { "REQUEST" }));
    line("BEGIN:VEVENT".into());
    line(format!("UID:registration-{}@roadshow", e.registration_id));
    line(format!("SEQUENCE:{}", e.sequence));
    line(format!("DTSTAMP:{}", utc(e.stamp)));
    line(format!("DTSTART:{}", utc(e.starts_at)));
    line(format!("DTEND:{}", utc(e.ends_at)));
    line(format!("SUMMARY:{}", escape_text(&e.title)));
    if !e.description.is_empty() {
        line(format!("DESCRIPTION:{}", escape_text(&e.description)));
    }
    line(format!("LOCATION:{}", escape_text(&e.location)));
    if let Some(u) = &e.url {
        line(format!("URL:{u}"));
    }
    let status = if e.cancelled {
        "CANCELLED"
    } else if e.tentative {
        "TENTATIVE"
    } else {
        "CONFIRMED"
    };
    line(format!("STATUS:{status}"));
    line("TRANSP:OPAQUE".into());
    line("END:VEVENT".into());
    line("END:VCALENDAR".into());
    out
}

/// `20260312T150000Z`.
fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 §3.3.11 TEXT escaping.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (never inside a UTF-8 sequence), CRLF-terminated (§3.1).
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(100));
        fold_into(&mut out, &long);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l:?} is {} octets", l.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded.trim_end(), long);
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
