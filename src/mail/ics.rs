//! RFC 5545 calendar objects for registrations: one stable UID per registration, a SEQUENCE that
//! grows with every change (event revision + registration changes), times in UTC (`Z`).

use diesel::prelude::*;

use crate::db::schema::{events, registrations, venues};
use crate::db::{from_db_time, DbConnection};
use crate::error::AppError;

/// The calendar for a registration as it stands: METHOD:REQUEST while active, METHOD:CANCEL when
/// the registration or the event is cancelled.
pub fn registration_calendar(conn: &mut DbConnection, registration_id: &str) -> Result<String, AppError> {
    let (status, seq, event_id): (String, i32, String) = registrations::table
        .find(registration_id)
        .select((registrations::status, registrations::calendar_sequence, registrations::event_id))
        .first(conn)?;
    let e: crate::events::model::Event = events::table.find(&event_id).first(conn)?;
    let location = match &e.venue_id {
        Some(v) => {
            let (name, address, city, state): (String, String, String, String) = venues::table
                .find(v)
                .select((venues::name, venues::address, venues::city, venues::state_code))
                .first(conn)?;
            format!("{name}, {address}, {city}, {state}")
        }
        None => "Online".to_string(),
    };
    let cancelled = status == "cancelled" || e.status == "cancelled";
    let join = if e.kind == "webinar" && matches!(status.as_str(), "confirmed" | "attended") {
        e.join_url.clone()
    } else {
        None
    };
    Ok(render(&CalendarEntry {
        uid: format!("registration-{registration_id}@roadshow"),
        sequence: e.revision + seq,
        cancel: cancelled,
        title: e.title.clone(),
        description: match &join {
            Some(j) => format!("{}\n\nJoin online: {j}", e.description),
            None => e.description.clone(),
        },
        location,
        url: join,
        starts_at: from_db_time(e.starts_at),
        ends_at: from_db_time(e.ends_at),
    }))
}

/// What one VEVENT says.
pub struct CalendarEntry {
    pub uid: String,
    pub sequence: i32,
    pub cancel: bool,
    pub title: String,
    pub description: String,
    pub location: String,
    pub url: Option<String>,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
}

pub fn render(c: &CalendarEntry) -> String {
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Roadshow//Roadshow//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        format!("METHOD:{}", if c.cancel { "CANCEL" } else { "REQUEST" }),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", escape(&c.uid)),
        format!("SEQUENCE:{}", c.sequence),
        format!("DTSTAMP:{}", stamp(chrono::Utc::now())),
        format!("DTSTART:{}", stamp(c.starts_at)),
        format!("DTEND:{}", stamp(c.ends_at)),
        format!("SUMMARY:{}", escape(&c.title)),
        format!("DESCRIPTION:{}", escape(&c.description)),
        format!("LOCATION:{}", escape(&c.location)),
        format!("STATUS:{}", if c.cancel { "CANCELLED" } else { "CONFIRMED" }),
    ];
    if let Some(u) = &c.url {
        lines.push(format!("URL:{}", escape(u)));
    }
    lines.push("END:VEVENT".to_string());
    lines.push("END:VCALENDAR".to_string());
    let mut out = String::new();
    for l in lines {
        out.push_str(&fold(&l));
        out.push_str("\r\n");
    }
    out
}

/// TEXT escaping (RFC 5545 §3.3.11).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace("\r\n", "\\n").replace('\n', "\\n")
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (§3.1).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        let n = ch.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_and_text_escapes() {
        let c = CalendarEntry {
            uid: "u@x".into(),
            sequence: 2,
            cancel: false,
            title: "A, B; C".into(),
            description: "é".repeat(100),
            location: "Online".into(),
            url: None,
            starts_at: chrono::Utc::now(),
            ends_at: chrono::Utc::now(),
        };
        let s = render(&c);
        assert!(s.contains("SUMMARY:A\\, B\\; C\r\n"));
        assert!(s.contains("SEQUENCE:2\r\n"));
        assert!(s.lines().all(|l| l.len() <= 75));
    }
}
