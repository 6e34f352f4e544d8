//! Adding up per-event facts into report rows (no SQL, no HTTP: the rules of the figures). See the
//! module docs of [`super`] for the definitions.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use super::queries::EventFacts;
use super::wire::{Figures, OrganizationReportOut, StateReportOut};
use crate::domain::{EventStatus, RegistrationStatus};

/// A row's figures while they are added up.
#[derive(Debug, Default)]
struct Tally {
    figures: Figures,
    /// Over ended, not cancelled events: attended and still-confirmed (no-show) registrations.
    ended_attended: i64,
    ended_no_show: i64,
}

impl Tally {
    fn add(&mut self, e: &EventFacts, now: NaiveDateTime) {
        use RegistrationStatus as R;
        let f = &mut self.figures;
        f.events.total += 1;
        match e.status {
            EventStatus::Draft => f.events.draft += 1,
            EventStatus::Published => f.events.published += 1,
            EventStatus::Cancelled => f.events.cancelled += 1,
            EventStatus::Completed => f.events.completed += 1,
        }
        let r = &mut f.registrations;
        r.confirmed += e.count(R::Confirmed);
        r.waitlisted += e.count(R::Waitlisted);
        r.cancelled += e.count(R::Cancelled);
        r.attended += e.count(R::Attended);
        r.total += e.regs.values().sum::<i64>();
        {
            use crate::domain::BookingStatus as B;
            let n = |s: B| e.bookings.get(&s).copied().unwrap_or(0);
            let x = &mut f.expert_sessions;
            x.booked += n(B::Booked);
            x.cancelled += n(B::Cancelled);
            x.attended += n(B::Attended);
            x.no_show += n(B::NoShow);
            x.total += e.bookings.values().sum::<i64>();
        }
        if e.ends_at <= now && e.status != EventStatus::Cancelled {
            self.ended_attended += e.count(R::Attended);
            self.ended_no_show += e.count(R::Confirmed);
        }
        if e.status == EventStatus::Published && e.starts_at > now {
            let u = &mut f.upcoming;
            u.events += 1;
            u.capacity += e.capacity;
            u.confirmed += e.count(R::Confirmed);
            u.waitlisted += e.count(R::Waitlisted);
            u.seats_left += (e.capacity - e.count(R::Confirmed) - e.count(R::Attended)).max(0);
        }
    }

    fn finish(self) -> Figures {
        let denominator = self.ended_attended + self.ended_no_show;
        Figures {
            attendance_rate: (denominator > 0).then(|| self.ended_attended as f64 / denominator as f64),
            ..self.figures
        }
    }
}

/// One row per state the events are in, by state code (national events last).
pub fn by_state<'a>(events: impl IntoIterator<Item = &'a EventFacts>, now: NaiveDateTime) -> Vec<StateReportOut> {
    let mut rows: BTreeMap<(bool, String), Tally> = BTreeMap::new();
    for e in events {
        let key = (e.state.is_none(), e.state.clone().unwrap_or_default());
        rows.entry(key).or_default().add(e, now);
    }
    rows.into_iter()
        .map(|((national, code), t)| StateReportOut { state: (!national).then_some(code), figures: t.finish() })
        .collect()
}

/// One row per organization (in the order given), from the events each hosts; an organization
/// that hosts nothing has a row of zeros.
pub fn by_organization(
    events: &HashMap<String, EventFacts>,
    hosts: &[(String, String)],
    organizations: Vec<(String, String)>,
    now: NaiveDateTime,
) -> Vec<OrganizationReportOut> {
    let mut tallies: HashMap<&str, Tally> = HashMap::new();
    for (org, event) in hosts {
        if let Some(e) = events.get(event) {
            tallies.entry(org.as_str()).or_default().add(e, now);
        }
    }
    organizations
        .into_iter()
        .map(|(id, name)| {
            let figures = tallies.remove(id.as_str()).unwrap_or_default().finish();
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
        let rows = by_state(&events, now);
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
}
