//! RFC 5545 calendar invites for one registration, and subscription feeds of several entries.
//!
//! - `UID` is stable per registration (`registration-<id>@roadshow`, [`registration_uid`]), so
//!   every invite, update and cancellation for it lands on the same calendar entry.
//! - `SEQUENCE` = `events.revision` + `registrations.calendar_sequence`: the first grows with every
//!   change of the event, the second with every registration-level change that mails an invite
//!   (promotion, cancellation, event cancellation; see [`super::notify_registration`]). Calendar
//!   clients apply an update only when its SEQUENCE is higher than what they hold.
//! - `METHOD:REQUEST` while the registration and the event stand, `METHOD:CANCEL` (with
//!   `STATUS:CANCELLED`) once either is cancelled; a waitlisted registration is `TENTATIVE`.
//! - Invites are iTIP messages (RFC 5546) from an `ORGANIZER` (the configured sender,
//!   `ROADSHOW_MAIL_FROM`: [`super::MailContext::organizer`]) to an `ATTENDEE` (the registrant;
//!   none once the registration is anonymised): strict clients apply a REQUEST or CANCEL only when
//!   both are named. The attendee's `PARTSTAT` says whether they are going: `ACCEPTED` with a seat,
//!   `TENTATIVE` waitlisted, `DECLINED` in a CANCEL (whoever cancelled); `RSVP=FALSE`, as the
//!   registration is the reply.
//! - [`render_feed`] writes many entries as one `METHOD:PUBLISH` calendar for subscriptions; it
//!   names the organizer but no attendees (RFC 5546 §3.2.1: a PUBLISH must not have any).
//! - Times are UTC with `Z` (no VTIMEZONE needed); text is escaped, parameter values (`CN`) quoted
//!   where needed, and lines folded at 75 octets.
//!
//! - Its human text (the join line, "Online", how to manage the registration) is in the
//!   registration's language ([`crate::i18n`]); the event's own title and description are shown
//!   as staff wrote them. The line on managing the registration carries no link: a calendar entry
//!   is often shared with others, and a manage link would let them cancel.
//!
//! The email attachment and the calendar download (`/api/v1/registrations/{id}/calendar.ics`,
//! `/manage/{id}/calendar.ics`) come from the same
//! [`registration_calendar`], so they never disagree.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{events, registrations, venues};
use crate::db::{from_db_time, DbConnection};
use crate::error::AppError;
use crate::i18n::{self, Language};

/// A calendar user named in an entry: its organizer or an attendee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Display name (`CN`); empty: no `CN`.
    pub name: String,
    /// Address (`mailto:`).
    pub email: String,
}

/// What a calendar entry is built from.
#[derive(Debug, Clone)]
pub struct CalendarEntry {
    /// The same for every version of one entry; [`registration_uid`] for a registration.
    pub uid: String,
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
    /// Who sends the invites (`ORGANIZER`).
    pub organizer: Party,
    /// The `ATTENDEE`s of an invite (left out of a feed).
    pub attendees: Vec<Party>,
}

/// The `UID` of a registration's entry. Never change it: calendars match updates by it.
pub fn registration_uid(registration_id: &str) -> String {
    format!("registration-{registration_id}@roadshow")
}

/// The invite for `registration_id` as it stands now (see module docs), from `organizer`. 404
/// when it does not exist.
pub fn registration_calendar(
    conn: &mut DbConnection,
    organizer: &Party,
    registration_id: &str,
) -> Result<String, AppError> {
    Ok(render(&entry(conn, organizer, registration_id, None)?))
}

/// Reads the rows behind a calendar entry. `force_cancel` makes it a cancellation regardless of
/// the current status (e.g. a notice written before the status change commits).
pub fn entry(
    conn: &mut DbConnection,
    organizer: &Party,
    registration_id: &str,
    force_cancel: Option<bool>,
) -> Result<CalendarEntry, AppError> {
    #[allow(clippy::type_complexity)]
    let (status, seq, event_id, attendee_name, attendee_email, lang): (
        String,
        i32,
        String,
        Option<String>,
        Option<String>,
        Language,
    ) = registrations::table
        .find(registration_id)
        .select((
            registrations::status,
            registrations::calendar_sequence,
            registrations::event_id,
            registrations::attendee_name,
            registrations::attendee_email,
            registrations::language,
        ))
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
            organizer: organizer.clone(),
            attendee: attendee_email.map(|email| Party { name: attendee_name.unwrap_or_default(), email }),
            lang,
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
    pub organizer: Party,
    /// The registrant; `None` once anonymised (no address).
    pub attendee: Option<Party>,
    /// The registration's language: the entry's own words are in it.
    pub lang: Language,
}

/// Builds the entry from rows already read (see module docs for the rules).
pub fn build_entry(f: EntryFacts<'_>, force_cancel: Option<bool>) -> CalendarEntry {
    let cancelled = force_cancel.unwrap_or(false) || f.status == "cancelled" || f.event_status == "cancelled";
    let confirmed = f.status == "confirmed" || f.status == "attended";
    let url = if f.kind == "webinar" && confirmed && !cancelled { f.join_url } else { None };
    let lang = f.lang;
    let location = match f.venue {
        Some(v) => v,
        None => match &url {
            Some(u) => i18n::format(lang, "ics.online_at", &[("url", u)]),
            None => i18n::text(lang, "ics.online").to_string(),
        },
    };
    let mut desc = f.description;
    let mut add = |line: String| {
        if !desc.is_empty() {
            desc.push_str("\n\n");
        }
        desc.push_str(&line);
    };
    if let Some(u) = &url {
        add(i18n::format(lang, "ics.join_online", &[("url", u)]));
    }
    if !cancelled {
        add(i18n::text(lang, "ics.manage_registration").to_string());
    }
    CalendarEntry {
        uid: registration_uid(f.registration_id),
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
        organizer: f.organizer,
        attendees: f.attendee.into_iter().collect(),
    }
}

/// Writes the invite: a `METHOD:REQUEST` (or `CANCEL`) VCALENDAR of one VEVENT naming its
/// organizer and attendees (CRLF line ends, folded, escaped).
pub fn render(e: &CalendarEntry) -> String {
    let mut out = begin_calendar(if e.cancelled { "CANCEL" } else { "REQUEST" });
    write_event(&mut out, e, true);
    fold_into(&mut out, "END:VCALENDAR");
    out
}

/// Writes a subscription feed called `name`: one `METHOD:PUBLISH` VCALENDAR with a VEVENT per
/// entry, each as in [`render`] but without attendees (see module docs).
pub fn render_feed(name: &str, entries: &[CalendarEntry]) -> String {
    let mut out = begin_calendar("PUBLISH");
    fold_into(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    for e in entries {
        write_event(&mut out, e, false);
    }
    fold_into(&mut out, "END:VCALENDAR");
    out
}

/// The VCALENDAR properties before its components.
fn begin_calendar(method: &str) -> String {
    let mut out = String::new();
    fold_into(&mut out, "BEGIN:VCALENDAR");
    fold_into(&mut out, "VERSION:2.0");
    fold_into(&mut out, "PRODID:-//Roadshow//Roadshow invites//EN");
    fold_into(&mut out, "CALSCALE:GREGORIAN");
    fold_into(&mut out, &format!("METHOD:{method}"));
    out
}

/// Appends one VEVENT; `with_attendees` false leaves out the ATTENDEE lines (a PUBLISH).
fn write_event(out: &mut String, e: &CalendarEntry, with_attendees: bool) {
    let mut line = |s: String| fold_into(out, &s);
    line("BEGIN:VEVENT".into());
    line(format!("UID:{}", e.uid));
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
    line(format!("ORGANIZER{}:mailto:{}", cn(&e.organizer), e.organizer.email));
    if with_attendees {
        let partstat = if e.cancelled {
            "DECLINED"
        } else if e.tentative {
            "TENTATIVE"
        } else {
            "ACCEPTED"
        };
        for a in &e.attendees {
            line(format!("ATTENDEE{};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};RSVP=FALSE:mailto:{}", cn(a), a.email));
        }
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
}

/// `;CN=<name>` for a party with a display name, else nothing.
fn cn(p: &Party) -> String {
    let name = param_value(&p.name);
    if name.is_empty() {
        String::new()
    } else {
        format!(";CN={name}")
    }
}

/// A parameter value (RFC 5545 §3.1): DQUOTE and control characters dropped (no value can hold
/// them), DQUOTE-quoted when it holds `:`, `;` or `,`.
fn param_value(s: &str) -> String {
    let kept: String = s.chars().filter(|&c| c != '"' && !c.is_control()).collect();
    let kept = kept.trim();
    if kept.contains([':', ';', ',']) {
        format!("\"{kept}\"")
    } else {
        kept.to_string()
    }
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
    if line.len() <= 75 {
        // Most lines: nothing to fold.
        out.push_str(line);
        out.push_str("\r\n");
        return;
    }
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

    fn sample(id: &str, attendees: Vec<Party>) -> CalendarEntry {
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 12, 15, 0, 0).unwrap();
        CalendarEntry {
            uid: registration_uid(id),
            sequence: 2,
            cancelled: false,
            tentative: false,
            title: format!("Export basics {id}"),
            description: "Bring a laptop, and questions".into(),
            starts_at: t,
            ends_at: t + chrono::Duration::hours(2),
            location: "Main Library, 800 Guadalupe St, Austin, TX".into(),
            url: None,
            stamp: t,
            organizer: Party { name: "Roadshow".into(), email: "no-reply@roadshow.example".into() },
            attendees,
        }
    }

    fn lines(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "").split("\r\n").map(str::to_string).collect()
    }

    #[test]
    fn invites_name_the_organizer_and_the_attendee() {
        let ana = Party { name: "Ana O'Neil".into(), email: "ana@shop.example".into() };
        let mut e = sample("r1", vec![ana]);
        let ics = lines(&render(&e));
        assert!(ics.contains(&"UID:registration-r1@roadshow".into()));
        assert!(ics.contains(&"ORGANIZER;CN=Roadshow:mailto:no-reply@roadshow.example".into()), "{ics:?}");
        let attendee =
            "ATTENDEE;CN=Ana O'Neil;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:ana@shop.example";
        assert!(ics.contains(&attendee.into()), "{ics:?}");

        e.tentative = true;
        assert!(render(&e).contains(";PARTSTAT=TENTATIVE;"));
        e.cancelled = true;
        let cancel = render(&e);
        assert!(cancel.contains("METHOD:CANCEL\r\n") && cancel.contains(";PARTSTAT=DECLINED;"), "{cancel}");
    }

    #[test]
    fn an_entry_without_attendees_has_no_attendee_line_and_a_nameless_party_no_cn() {
        let mut e = sample("r1", Vec::new());
        e.organizer.name = String::new();
        let ics = render(&e);
        assert!(!ics.contains("ATTENDEE"), "{ics}");
        assert!(ics.contains("\r\nORGANIZER:mailto:no-reply@roadshow.example\r\n"), "{ics}");
    }

    #[test]
    fn names_are_quoted_when_they_hold_separators_and_lose_what_no_parameter_can_hold() {
        assert_eq!(param_value("Ana O'Neil"), "Ana O'Neil");
        assert_eq!(param_value("O'Neil, Ana"), "\"O'Neil, Ana\"");
        assert_eq!(param_value("Shop; Co"), "\"Shop; Co\"");
        assert_eq!(param_value("Re: \"Ana\""), "\"Re: Ana\"");
        assert_eq!(param_value("Ana\u{7}\"\""), "Ana");
        let e = sample("r1", vec![Party { name: "O'Neil, Ana".into(), email: "ana@shop.example".into() }]);
        assert!(lines(&render(&e)).iter().any(|l| l.starts_with("ATTENDEE;CN=\"O'Neil, Ana\";ROLE=")));
    }

    #[test]
    fn a_feed_is_one_published_calendar_with_an_event_per_entry_and_no_attendees() {
        let ana = Party { name: "Ana".into(), email: "ana@shop.example".into() };
        let mut second = sample("r2", vec![ana.clone()]);
        second.title = "A very long title that needs folding: ".repeat(4);
        let feed = render_feed("Ana's agenda, spring", &[sample("r1", vec![ana]), second]);

        for l in feed.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l:?} is {} octets", l.len());
        }
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        let ls = lines(&feed);
        assert_eq!(ls.iter().filter(|l| *l == "BEGIN:VCALENDAR").count(), 1);
        assert!(ls.contains(&"METHOD:PUBLISH".into()));
        assert!(ls.contains(&"X-WR-CALNAME:Ana's agenda\\, spring".into()), "{ls:?}");
        assert_eq!(ls.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 2);
        assert_eq!(ls.iter().filter(|l| *l == "END:VEVENT").count(), 2);
        assert!(
            ls.contains(&"UID:registration-r1@roadshow".into()) && ls.contains(&"UID:registration-r2@roadshow".into())
        );
        assert_eq!(ls.iter().filter(|l| l.starts_with("ORGANIZER;CN=Roadshow:")).count(), 2);
        assert!(!feed.contains("ATTENDEE"), "a PUBLISH has no attendees");
        assert!(ls.contains(&format!("SUMMARY:{}", escape_text(&"A very long title that needs folding: ".repeat(4)))));
    }
}
