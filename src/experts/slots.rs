//! Cutting an availability window into slots.
//!
//! A window is two instants (stored in UTC) and its zone; slots are `slot_minutes` long with
//! `buffer_minutes` between them, counted in elapsed time from the window's start, and the last
//! slot ends at or before the window's end. Counting in elapsed time is what makes a window on
//! the night the clocks change right: 00:00–03:00 in New York on the night clocks fall back is four
//! hours long and holds four one-hour slots (the 01:00 hour twice, EDT then EST); on the night they
//! spring forward 01:00–04:00 is two hours long and holds two. A local time that does not exist or
//! happens twice is refused when the window is read ([`crate::time::parse_instant`]), unless an
//! offset settles it.

use chrono::{Duration, NaiveDateTime};

/// The `(start, end)` of each slot of a window, in order.
pub fn cut(
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    slot_minutes: i32,
    buffer_minutes: i32,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let slot = Duration::minutes(i64::from(slot_minutes.max(1)));
    let step = slot + Duration::minutes(i64::from(buffer_minutes.max(0)));
    let mut out = Vec::new();
    let mut at = starts_at;
    // Checked sums: a time near the end of chrono's range ends the grid instead of panicking.
    while let Some(end) = at.checked_add_signed(slot).filter(|e| *e <= ends_at) {
        out.push((at, end));
        match at.checked_add_signed(step) {
            Some(next) => at = next,
            None => break,
        }
    }
    out
}

/// At most this many slots per window (a day of 15-minute slots is 96).
pub const MAX_SLOTS_PER_WINDOW: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{local_string, parse_instant};
    use chrono_tz::Tz;

    fn ny() -> Tz {
        "America/New_York".parse().unwrap()
    }

    fn naive(s: &str, tz: Tz) -> NaiveDateTime {
        crate::db::to_db_time(parse_instant("t", s, tz).unwrap())
    }

    #[test]
    fn slots_and_buffers_fill_the_window_and_never_overrun_it() {
        let tz = ny();
        let slots = cut(naive("2031-03-12T09:00", tz), naive("2031-03-12T10:00", tz), 20, 5);
        // 09:00-09:20, 09:25-09:45; a third would end at 10:10.
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[1].0, naive("2031-03-12T09:25", tz));
        assert!(slots.iter().all(|(_, e)| *e <= naive("2031-03-12T10:00", tz)));
    }

    #[test]
    fn the_fall_back_night_holds_one_more_hour() {
        let tz = ny();
        let slots = cut(naive("2026-11-01T00:00", tz), naive("2026-11-01T03:00", tz), 60, 0);
        assert_eq!(slots.len(), 4, "00:00 EDT to 03:00 EST is four hours");
        let local: Vec<String> = slots.iter().map(|(s, _)| local_string(crate::db::from_db_time(*s), tz)).collect();
        assert_eq!(
            local,
            [
                "2026-11-01T00:00:00-04:00",
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T02:00:00-05:00"
            ]
        );
    }

    #[test]
    fn the_spring_forward_night_holds_one_hour_less() {
        let tz = ny();
        let slots = cut(naive("2026-03-08T01:00", tz), naive("2026-03-08T04:00", tz), 60, 0);
        assert_eq!(slots.len(), 2, "01:00 EST to 04:00 EDT is two hours");
        assert_eq!(local_string(crate::db::from_db_time(slots[1].0), tz), "2026-03-08T03:00:00-04:00");
    }
}
