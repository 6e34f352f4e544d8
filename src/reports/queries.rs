//! What the reports read besides their counter rows: the current facts of events (for the fold,
//! all of them; for a report's corrections, scoped like every admin query, the actor's scope in
//! the `WHERE` clause) and the organizations a report lists. The figures are added up in
//! [`super::figures`], the rows kept in [`super::rollup`].

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::auth::{scope, Actor};
use crate::db::schema::{events, expert_bookings, organizations, registration_counts, venues};
use crate::db::DbConnection;
use crate::domain::{BookingStatus, EventStatus, RegistrationStatus};
use crate::error::AppError;

/// One event with what the reports need.
#[derive(Debug, Clone)]
pub struct EventFacts {
    pub status: EventStatus,
    pub capacity: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    /// The event's own state, or its venue's; `None` for national webinars.
    pub state: Option<String>,
    /// Its host organizations' ids.
    pub hosts: Vec<String>,
    /// Registrations by status.
    pub regs: HashMap<RegistrationStatus, i64>,
    /// Expert sessions at the event (a roadshow stop) by status.
    pub bookings: HashMap<BookingStatus, i64>,
}

/// Which registration counts [`facts_of`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// The folded counters only (`registration_counts`): what a fold records.
    Folded,
    /// The folded counters and the deltas not folded yet: the count at this moment.
    Exact,
}

/// The facts of these events as they are now, by id; ids of events that do not exist (or that
/// `scope`, when given, does not let the actor see) are absent.
pub fn facts_of(
    conn: &mut DbConnection,
    ids: &[String],
    counts: Counts,
    scope: Option<&Actor>,
) -> Result<HashMap<String, EventFacts>, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        facts_of_chunk(conn, chunk, counts, scope, &mut out)?;
    }
    Ok(out)
}

fn facts_of_chunk(
    conn: &mut DbConnection,
    ids: &[String],
    counts: Counts,
    scope: Option<&Actor>,
    out: &mut HashMap<String, EventFacts>,
) -> Result<(), AppError> {
    type Row = (String, EventStatus, i32, NaiveDateTime, NaiveDateTime, Option<String>, Option<String>, String);
    let mut q = events::table.filter(events::id.eq_any(ids)).into_boxed();
    if let Some(actor) = scope {
        q = q.filter(scope::events_filter(actor));
    }
    let rows: Vec<Row> = q
        .select((
            events::id,
            events::status,
            events::capacity,
            events::starts_at,
            events::ends_at,
            events::state_code,
            events::venue_id,
            events::host_list,
        ))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(());
    }
    let found: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    // Each venue once: stops are held at a few hundred venues.
    let venue_ids: Vec<String> = rows.iter().filter_map(|r| r.6.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let venue_states: HashMap<String, String> = venues::table
        .filter(venues::id.eq_any(&venue_ids))
        .select((venues::id, venues::state_code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    for (id, status, capacity, starts_at, ends_at, state, venue, host_list) in rows {
        let state = state.or_else(|| venue.and_then(|v| venue_states.get(&v).cloned()));
        let facts = EventFacts {
            status,
            capacity: i64::from(capacity),
            starts_at,
            ends_at,
            state,
            // Kept from `event_hosts` by triggers, in the same transaction as the hosts.
            hosts: host_list.split(',').filter(|h| !h.is_empty()).map(str::to_string).collect(),
            regs: HashMap::new(),
            bookings: HashMap::new(),
        };
        out.insert(id, facts);
    }
    let regs: Vec<((String, RegistrationStatus), i64)> = match counts {
        Counts::Exact => crate::rollups::registration_counts_of(conn, &found)?.into_iter().collect(),
        Counts::Folded => registration_counts::table
            .filter(registration_counts::event_id.eq_any(&found))
            .select((registration_counts::event_id, registration_counts::status, registration_counts::n))
            .load::<(String, RegistrationStatus, i64)>(conn)?
            .into_iter()
            .map(|(e, s, n)| ((e, s), n))
            .collect(),
    };
    for ((event_id, status), n) in regs {
        if let Some(e) = out.get_mut(&event_id).filter(|_| n != 0) {
            e.regs.insert(status, n);
        }
    }
    let booked: Vec<(Option<String>, BookingStatus, i64)> = expert_bookings::table
        .filter(expert_bookings::event_id.eq_any(&found))
        .group_by((expert_bookings::event_id, expert_bookings::status))
        .select((expert_bookings::event_id, expert_bookings::status, count_star()))
        .load(conn)?;
    for (event_id, status, n) in booked {
        if let Some(e) = event_id.and_then(|id| out.get_mut(&id)) {
            e.bookings.insert(status, n);
        }
    }
    Ok(())
}

/// (id, name) of the organizations the actor may see, by name.
pub fn visible_organizations(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<(String, String)>, AppError> {
    Ok(organizations::table
        .filter(scope::organizations_filter(actor))
        .order((organizations::name, organizations::id))
        .select((organizations::id, organizations::name))
        .load(conn)?)
}
