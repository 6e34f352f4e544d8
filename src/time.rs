//! Reading and showing instants. Stored: UTC. Accepted: RFC 3339 with an offset, or a local
//! date-time read in a named IANA zone. A local time that does not exist (spring-forward gap) or
//! happens twice (fall-back overlap) is refused, naming the field, unless an offset settles it.

use chrono::{DateTime, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::FieldError;

/// Parses an IANA zone name (`America/Chicago`).
pub fn parse_tz(field: &str, name: &str) -> Result<Tz, FieldError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| FieldError::new(field, format!("{name:?} is not an IANA time zone like America/Chicago")))
}

/// Parses an instant: RFC 3339 with offset, or a local date-time in `tz`.
pub fn parse_instant(field: &str, value: &str, tz: Tz) -> Result<DateTime<Utc>, FieldError> {
    let value = value.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Ok(crate::db::from_db_time(crate::db::to_db_time(dt.with_timezone(&Utc))));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .ok_or_else(|| {
            FieldError::new(
                field,
                "must be a date-time like 2026-03-12T09:00:00-06:00, or 2026-03-12T09:00:00 read in time_zone",
            )
        })?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Ok(crate::db::from_db_time(crate::db::to_db_time(dt.with_timezone(&Utc)))),
        LocalResult::Ambiguous(a, b) => Err(FieldError::new(
            field,
            format!(
                "{value} happens twice in {tz} (clocks fall back): add the offset, {} or {}",
                a.format("%:z"),
                b.format("%:z")
            ),
        )),
        LocalResult::None => Err(FieldError::new(
            field,
            format!(
                "{value} does not exist in {tz} (clocks spring forward over it): pick another time or add an offset"
            ),
        )),
    }
}

/// `2026-03-12T15:00:00Z`.
pub fn utc_string(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The same instant shown in `tz`, with its offset: `2026-03-12T09:00:00-06:00`.
pub fn local_string(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A human form for emails and pages: `Thursday, March 12, 2026 at 9:00 AM CST (America/Chicago)`.
pub fn human_local(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!("{} ({})", local.format("%A, %B %-d, %Y at %-I:%M %p %Z"), tz.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> Tz {
        "America/New_York".parse().unwrap()
    }

    #[test]
    fn offsets_are_taken_as_given() {
        let t = parse_instant("starts_at", "2026-03-12T09:00:00-06:00", ny()).unwrap();
        assert_eq!(utc_string(t), "2026-03-12T15:00:00Z");
    }

    #[test]
    fn local_times_are_read_in_the_zone() {
        let t = parse_instant("starts_at", "2026-07-01T09:00:00", ny()).unwrap();
        assert_eq!(utc_string(t), "2026-07-01T13:00:00Z");
        assert_eq!(local_string(t, ny()), "2026-07-01T09:00:00-04:00");
    }

    #[test]
    fn spring_forward_gap_is_refused() {
        let e = parse_instant("starts_at", "2026-03-08T02:30:00", ny()).unwrap_err();
        assert_eq!(e.field, "starts_at");
        assert!(e.message.contains("does not exist"), "{}", e.message);
    }

    #[test]
    fn fall_back_overlap_is_refused_unless_offset_given() {
        let e = parse_instant("ends_at", "2026-11-01T01:30:00", ny()).unwrap_err();
        assert!(e.message.contains("twice"), "{}", e.message);
        let t = parse_instant("ends_at", "2026-11-01T01:30:00-05:00", ny()).unwrap();
        assert_eq!(utc_string(t), "2026-11-01T06:30:00Z");
    }

    #[test]
    fn zones_without_dst_have_no_gap() {
        let phx: Tz = "America/Phoenix".parse().unwrap();
        assert!(parse_instant("starts_at", "2026-03-08T02:30:00", phx).is_ok());
    }

    #[test]
    fn bad_zone_names_the_field() {
        assert_eq!(parse_tz("time_zone", "Mars/Olympus").unwrap_err().field, "time_zone");
    }
}
