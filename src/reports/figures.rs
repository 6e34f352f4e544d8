//! The rules of the figures (no SQL, no HTTP): what one event adds to the rows it counts in
//! ([`Sums::of`]), and the report rows from the sums. See the module docs of [`super`] for the
//! definitions, and [`super::rollup`] for how the sums are kept.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use super::queries::EventFacts;
use super::wire::{
    BookingCounts, EventCounts, Figures, OrganizationReportOut, RegistrationCounts, StateReportOut, Upcoming,
};
use crate::domain::{BookingStatus, EventStatus, RegistrationStatus};

/// The additive figures of a report row, with their column names in `report_counts` (the same
/// names, in the same order). Totals and the attendance rate are derived in [`Sums::figures`].
macro_rules! sums {
    ($($field:ident),* $(,)?) => {
        /// Additive figures of one row (or of one event's contribution to its rows).
        #[derive(Debug, Default, Clone, PartialEq, Eq, diesel::Queryable, diesel::Selectable)]
        #[diesel(table_name = crate::db::schema::report_counts)]
        pub struct Sums {
            $(pub $field: i64,)*
        }

        impl Sums {
            /// The `report_counts` columns, in the order of [`Sums::values`].
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            pub fn values(&self) -> Vec<i64> {
                vec![$(self.$field),*]
            }

            /// Adds `other` times `sign` (1 or -1).
            pub fn add(&mut self, other: &Sums, sign: i64) {
                $(self.$field += sign * other.$field;)*
            }

            pub fn is_zero(&self) -> bool {
                true $(&& self.$field == 0)*
            }
        }
    };
}

sums!(
    events_draft,
    events_published,
    events_cancelled,
    events_completed,
    regs_confirmed,
    regs_waitlisted,
    regs_cancelled,
    regs_attended,
    sessions_booked,
    sessions_cancelled,
    sessions_attended,
    sessions_no_show,
    ended_attended,
    ended_no_show,
    upcoming_events,
    upcoming_capacity,
    upcoming_confirmed,
    upcoming_waitlisted,
    upcoming_seats_left,
);

/// Published and not started at `at`: counts in `upcoming`.
pub fn is_upcoming(status: EventStatus, starts_at: NaiveDateTime, at: NaiveDateTime) -> bool {
    status == EventStatus::Published && starts_at > at
}

/// Ended at `at` and not cancelled: counts towards the attendance rate.
pub fn has_ended(status: EventStatus, ends_at: NaiveDateTime, at: NaiveDateTime) -> bool {
    status != EventStatus::Cancelled && ends_at <= at
}

/// The instants around `at` between which an event's two flags ([`is_upcoming`], [`has_ended`])
/// stay what they are at `at`: from the last change at or before `at` (inclusive) to the next
/// after it (exclusive); `None` where there is none. A flag changes only at the start (if
/// published) or at the end (if not cancelled).
pub fn flags_valid(
    status: EventStatus,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    at: NaiveDateTime,
) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    let changes = [
        (status == EventStatus::Published).then_some(starts_at),
        (status != EventStatus::Cancelled).then_some(ends_at),
    ];
    let from = changes.iter().flatten().filter(|c| **c <= at).max().copied();
    let until = changes.iter().flatten().filter(|c| **c > at).min().copied();
    (from, until)
}

impl Sums {
    /// What one event adds to each row it counts in, its phase taken at `at`.
    pub fn of(e: &EventFacts, at: NaiveDateTime) -> Sums {
        use RegistrationStatus as R;
        let r = |s: R| e.regs.get(&s).copied().unwrap_or(0);
        let b = |s: BookingStatus| e.bookings.get(&s).copied().unwrap_or(0);
        let is = |s: EventStatus| i64::from(e.status == s);
        let mut out = Sums {
            events_draft: is(EventStatus::Draft),
            events_published: is(EventStatus::Published),
            events_cancelled: is(EventStatus::Cancelled),
            events_completed: is(EventStatus::Completed),
            regs_confirmed: r(R::Confirmed),
            regs_waitlisted: r(R::Waitlisted),
            regs_cancelled: r(R::Cancelled),
            regs_attended: r(R::Attended),
            sessions_booked: b(BookingStatus::Booked),
            sessions_cancelled: b(BookingStatus::Cancelled),
            sessions_attended: b(BookingStatus::Attended),
            sessions_no_show: b(BookingStatus::NoShow),
            ..Sums::default()
        };
        if has_ended(e.status, e.ends_at, at) {
            out.ended_attended = r(R::Attended);
            out.ended_no_show = r(R::Confirmed);
        }
        if is_upcoming(e.status, e.starts_at, at) {
            out.upcoming_events = 1;
            out.upcoming_capacity = e.capacity;
            out.upcoming_confirmed = r(R::Confirmed);
            out.upcoming_waitlisted = r(R::Waitlisted);
            out.upcoming_seats_left = (e.capacity - r(R::Confirmed) - r(R::Attended)).max(0);
        }
        out
    }

    /// The row's figures.
    pub fn figures(&self) -> Figures {
        let s = self;
        let denominator = s.ended_attended + s.ended_no_show;
        Figures {
            events: EventCounts {
                total: s.events_draft + s.events_published + s.events_cancelled + s.events_completed,
                draft: s.events_draft,
                published: s.events_published,
                cancelled: s.events_cancelled,
                completed: s.events_completed,
            },
            registrations: RegistrationCounts {
                total: s.regs_confirmed + s.regs_waitlisted + s.regs_cancelled + s.regs_attended,
                confirmed: s.regs_confirmed,
                waitlisted: s.regs_waitlisted,
                cancelled: s.regs_cancelled,
                attended: s.regs_attended,
            },
            attendance_rate: (denominator > 0).then(|| s.ended_attended as f64 / denominator as f64),
            upcoming: Upcoming {
                events: s.upcoming_events,
                capacity: s.upcoming_capacity,
                confirmed: s.upcoming_confirmed,
                waitlisted: s.upcoming_waitlisted,
                seats_left: s.upcoming_seats_left,
            },
            expert_sessions: BookingCounts {
                total: s.sessions_booked + s.sessions_cancelled + s.sessions_attended + s.sessions_no_show,
                booked: s.sessions_booked,
                cancelled: s.sessions_cancelled,
                attended: s.sessions_attended,
                no_show: s.sessions_no_show,
            },
        }
    }
}

/// One row per state ('' = national webinars), by state code, national last; states with no
/// event have no row.
pub fn by_state(sums: impl IntoIterator<Item = (String, Sums)>) -> Vec<StateReportOut> {
    let mut rows: BTreeMap<(bool, String), Sums> = BTreeMap::new();
    for (state, s) in sums {
        rows.entry((state.is_empty(), state)).or_default().add(&s, 1);
    }
    rows.into_iter()
        .filter(|(_, s)| !s.is_zero())
        .map(|((national, code), s)| StateReportOut { state: (!national).then_some(code), figures: s.figures() })
        .collect()
}

/// One row per organization (in the order given), from the sums of the events each hosts; an
/// organization that hosts nothing has a row of zeros.
pub fn by_organization(
    sums: impl IntoIterator<Item = (String, Sums)>,
    organizations: Vec<(String, String)>,
) -> Vec<OrganizationReportOut> {
    let mut per_org: HashMap<String, Sums> = HashMap::new();
    for (org, s) in sums {
        per_org.entry(org).or_default().add(&s, 1);
    }
    organizations
        .into_iter()
        .map(|(id, name)| {
            let figures = per_org.remove(&id).unwrap_or_default().figures();
            OrganizationReportOut { organization_id: id, name, figures }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(status: EventStatus, days: i64, state: Option<&str>, regs: &[(RegistrationStatus, i64)]) -> EventFacts {
        let starts_at = crate::db::now() + chrono::Duration::days(days);
        EventFacts {
            status,
            capacity: 10,
            starts_at,
            ends_at: starts_at + chrono::Duration::hours(2),
            state: state.map(str::to_string),
            hosts: Vec::new(),
            regs: regs.iter().copied().collect(),
            bookings: HashMap::new(),
        }
    }

    #[test]
    fn attendance_counts_ended_events_that_were_not_cancelled() {
        use RegistrationStatus as R;
        let now = crate::db::now();
        let events = [
            event(EventStatus::Completed, -3, Some("TX"), &[(R::Attended, 3), (R::Confirmed, 1)]),
            event(EventStatus::Cancelled, -3, Some("TX"), &[(R::Confirmed, 5)]),
            event(EventStatus::Published, 5, Some("TX"), &[(R::Confirmed, 4), (R::Waitlisted, 2)]),
            event(EventStatus::Published, 5, None, &[]),
        ];
        let rows = by_state(events.iter().map(|e| (e.state.clone().unwrap_or_default(), Sums::of(e, now))));
        assert_eq!(rows.len(), 2);
        let tx = &rows[0].figures;
        assert_eq!(rows[0].state.as_deref(), Some("TX"));
        assert_eq!(tx.attendance_rate, Some(0.75));
        assert_eq!((tx.events.total, tx.events.completed, tx.events.cancelled, tx.events.published), (3, 1, 1, 1));
        assert_eq!((tx.registrations.total, tx.registrations.confirmed), (15, 10));
        assert_eq!((tx.upcoming.events, tx.upcoming.seats_left, tx.upcoming.waitlisted), (1, 6, 2));
        assert_eq!(rows[1].state, None, "national events come last");
        assert_eq!(rows[1].figures.attendance_rate, None);
    }

    #[test]
    fn flags_hold_between_the_changes_around_the_instant() {
        let t = |h: i64| crate::db::now() + chrono::Duration::hours(h);
        let (s, e) = (t(10), t(12));
        // Published: changes at the start and at the end.
        assert_eq!(flags_valid(EventStatus::Published, s, e, t(0)), (None, Some(s)));
        assert_eq!(flags_valid(EventStatus::Published, s, e, s), (Some(s), Some(e)));
        assert_eq!(flags_valid(EventStatus::Published, s, e, t(11)), (Some(s), Some(e)));
        assert_eq!(flags_valid(EventStatus::Published, s, e, t(20)), (Some(e), None));
        // A draft is never upcoming: only its end counts. A cancelled event never changes.
        assert_eq!(flags_valid(EventStatus::Draft, s, e, t(0)), (None, Some(e)));
        assert_eq!(flags_valid(EventStatus::Cancelled, s, e, t(0)), (None, None));
        // Every instant inside the bounds gives the flags of `at`, and the bounds are where they change.
        for at in [t(0), s, t(11), e, t(20)] {
            let flags = |x| (is_upcoming(EventStatus::Published, s, x), has_ended(EventStatus::Published, e, x));
            let (from, until) = flags_valid(EventStatus::Published, s, e, at);
            if let Some(f) = from {
                assert_eq!(flags(f), flags(at));
                assert_ne!(flags(f - chrono::Duration::microseconds(1)), flags(at));
            }
            if let Some(u) = until {
                assert_eq!(flags(u - chrono::Duration::microseconds(1)), flags(at));
                assert_ne!(flags(u), flags(at));
            }
        }
    }
}
