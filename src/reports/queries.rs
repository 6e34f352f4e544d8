//! What the reports read, scoped like every admin query: the actor's scope is in each `WHERE`
//! clause. The figures are added up in [`super::figures`].

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::auth::{scope, Actor};
use crate::db::schema::{event_hosts, events, organizations, venues};
use crate::db::DbConnection;
use crate::domain::{EventStatus, RegistrationStatus};
use crate::error::AppError;

/// One visible event with what the reports need.
#[derive(Debug, Clone)]
pub struct EventFacts {
    pub status: EventStatus,
    pub capacity: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    /// The event's own state, or its venue's; `None` for national webinars.
    pub state: Option<String>,
    /// Registrations by status.
    pub regs: HashMap<RegistrationStatus, i64>,
    /// Expert sessions at the event (a roadshow stop) by status.
    pub bookings: HashMap<crate::domain::BookingStatus, i64>,
}

impl EventFacts {
    /// Registrations of this status.
    pub fn count(&self, status: RegistrationStatus) -> i64 {
        self.regs.get(&status).copied().unwrap_or(0)
    }
}

/// The events the actor may see, with their registration counts, by id.
pub fn visible_events(conn: &mut DbConnection, actor: &Actor) -> Result<HashMap<String, EventFacts>, AppError> {
    type Row = (String, EventStatus, i32, NaiveDateTime, NaiveDateTime, Option<String>, Option<String>);
    let rows: Vec<Row> = events::table
        .filter(scope::events_filter(actor))
        .select((
            events::id,
            events::status,
            events::capacity,
            events::starts_at,
            events::ends_at,
            events::state_code,
            events::venue_id,
        ))
        .load(conn)?;
    // Each venue once: 5,000 stops are held at a few hundred venues.
    let venue_ids: Vec<String> =
        rows.iter().filter_map(|r| r.6.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let venue_states: HashMap<String, String> = venues::table
        .filter(venues::id.eq_any(&venue_ids))
        .select((venues::id, venues::state_code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut out: HashMap<String, EventFacts> = rows
        .into_iter()
        .map(|(id, status, capacity, starts_at, ends_at, state, venue)| {
            let state = state.or_else(|| venue.and_then(|v| venue_states.get(&v).cloned()));
            let facts = EventFacts {
                status,
                capacity: i64::from(capacity),
                starts_at,
                ends_at,
                state,
                regs: HashMap::new(),
                bookings: HashMap::new(),
            };
            (id, facts)
        })
        .collect();
    // From the counters (`crate::rollups`), not by counting every registration.
    for ((event_id, status), n) in crate::rollups::registration_counts(conn, actor)? {
        if let Some(e) = out.get_mut(&event_id) {
            e.regs.insert(status, n);
        }
    }
    // Expert sessions at the visible events (the event scope is the bookings' scope).
    use crate::db::schema::expert_bookings;
    let booked: Vec<(Option<String>, crate::domain::BookingStatus, i64)> = expert_bookings::table
        .filter(expert_bookings::event_id.is_not_null())
        .filter(crate::experts::queries::bookings_scope(actor))
        .group_by((expert_bookings::event_id, expert_bookings::status))
        .select((expert_bookings::event_id, expert_bookings::status, count_star()))
        .load(conn)?;
    for (event_id, status, n) in booked {
        if let Some(e) = event_id.and_then(|id| out.get_mut(&id)) {
            e.bookings.insert(status, n);
        }
    }
    Ok(out)
}

/// (organization id, event id) of the hosting the actor may see: an organizer sees its own
/// organization's hosting only, not the co-hosts'.
pub fn visible_hosts(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<(String, String)>, AppError> {
    Ok(event_hosts::table
        .filter(scope::event_hosts_filter(actor))
        .select((event_hosts::organization_id, event_hosts::event_id))
        .load(conn)?)
}

/// (id, name) of the organizations the actor may see, by name.
pub fn visible_organizations(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<(String, String)>, AppError> {
    Ok(organizations::table
        .filter(scope::organizations_filter(actor))
        .order((organizations::name, organizations::id))
        .select((organizations::id, organizations::name))
        .load(conn)?)
}
