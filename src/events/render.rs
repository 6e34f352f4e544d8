//! Event rows → answers ([`EventOut`], [`AdminEventOut`]): what a row does not hold (topics,
//! hosts, the venue, seats taken and, for staff, registrations by status) is loaded for a whole
//! page in one query each. Instants are shown in UTC and again in the event's zone.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;

use super::model::Event;
use super::queries::{self, Host};
use super::wire::{AdminDetails, AdminEventOut, EventOut, HostOut, StatusCounts, VenueOut};
use crate::auth::Actor;
use crate::db::{from_db_time, now, DbConnection};
use crate::domain::{RegistrationStatus, Topic};
use crate::error::AppError;
use crate::http::{next_page, Page};
use crate::partners::queries::Venue;
use crate::time::{human_local, local_string, utc_string};

/// An event as anyone sees it.
pub fn public_one(conn: &mut DbConnection, e: Event) -> Result<EventOut, AppError> {
    let mut x = Extras::load(conn, std::slice::from_ref(&e), None)?;
    Ok(x.public(e, now()))
}

/// An event as `actor` (staff) sees it.
pub fn admin_one(conn: &mut DbConnection, actor: &Actor, e: Event) -> Result<AdminEventOut, AppError> {
    let mut x = Extras::load(conn, std::slice::from_ref(&e), Some(actor))?;
    Ok(x.admin(e, now()))
}

/// A page of the public list, from `limit + 1` rows in list order.
pub fn public_page(conn: &mut DbConnection, mut rows: Vec<Event>, limit: i64) -> Result<Page<EventOut>, AppError> {
    let next_cursor = next_page(&mut rows, limit, cursor_key);
    let mut x = Extras::load(conn, &rows, None)?;
    let at = now();
    Ok(Page { items: rows.into_iter().map(|e| x.public(e, at)).collect(), next_cursor })
}

/// A page of the staff list, from `limit + 1` rows in list order.
pub fn admin_page(
    conn: &mut DbConnection,
    actor: &Actor,
    mut rows: Vec<Event>,
    limit: i64,
) -> Result<Page<AdminEventOut>, AppError> {
    let next_cursor = next_page(&mut rows, limit, cursor_key);
    let mut x = Extras::load(conn, &rows, Some(actor))?;
    let at = now();
    Ok(Page { items: rows.into_iter().map(|e| x.admin(e, at)).collect(), next_cursor })
}

/// A list's keyset position, as its cursor holds it (see [`crate::http::decode_cursor`]).
pub type Cursor = (NaiveDateTime, String);

fn cursor_key(e: &Event) -> Cursor {
    (e.starts_at, e.id.clone())
}

/// What the answers for a set of events need besides their rows.
struct Extras {
    topics: HashMap<String, Vec<Topic>>,
    hosts: HashMap<String, Vec<Host>>,
    venues: HashMap<String, Venue>,
    taken: HashMap<String, i64>,
    /// Staff answers only.
    counts: HashMap<(String, RegistrationStatus), i64>,
    /// Staff answers only: the accommodation requests the staff member may see, by event.
    accommodations: HashMap<String, i64>,
}

impl Extras {
    /// `staff`: the staff member the answers are for (`None`: public answers).
    fn load(conn: &mut DbConnection, events: &[Event], staff: Option<&Actor>) -> Result<Extras, AppError> {
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        // Topics and host ids come with the event rows; only the hosts' names are looked up.
        let host_ids: Vec<String> =
            events.iter().flat_map(|e| e.host_ids()).map(str::to_string).collect::<BTreeSet<_>>().into_iter().collect();
        let organizations = queries::hosts_by_id(conn, &host_ids)?;
        let hosts = events
            .iter()
            .map(|e| {
                let mut hosts: Vec<Host> = e.host_ids().filter_map(|h| organizations.get(h).cloned()).collect();
                hosts.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
                (e.id.clone(), hosts)
            })
            .collect();
        Ok(Extras {
            topics: topics_of(events),
            hosts,
            venues: queries::venues_of(conn, events)?,
            taken: crate::registrations::seats::taken_by_event(conn, &ids)?,
            counts: if staff.is_some() { queries::status_counts(conn, &ids)? } else { HashMap::new() },
            accommodations: match staff {
                Some(actor) => crate::accommodations::queries::counts_for_events(conn, actor, &ids)?,
                None => HashMap::new(),
            },
        })
    }

    fn admin(&mut self, e: Event, at: NaiveDateTime) -> AdminEventOut {
        let count = |status| self.counts.get(&(e.id.clone(), status)).copied().unwrap_or(0);
        let admin = AdminDetails {
            join_url: e.join_url.clone(),
            revision: e.revision,
            registrations: StatusCounts {
                confirmed: count(RegistrationStatus::Confirmed),
                waitlisted: count(RegistrationStatus::Waitlisted),
                cancelled: count(RegistrationStatus::Cancelled),
                attended: count(RegistrationStatus::Attended),
            },
            accommodation_requests: self.accommodations.get(&e.id).copied().unwrap_or(0),
            created_at: utc(e.created_at),
            updated_at: utc(e.updated_at),
            published_at: e.published_at.map(utc),
            cancelled_at: e.cancelled_at.map(utc),
        };
        AdminEventOut { event: self.public(e, at), admin }
    }

    fn public(&mut self, e: Event, at: NaiveDateTime) -> EventOut {
        let tz = e.tz();
        let starts = from_db_time(e.starts_at);
        let ends = from_db_time(e.ends_at);
        let taken = self.taken.get(&e.id).copied().unwrap_or(0);
        let venue = e.venue_id.as_ref().and_then(|v| self.venues.get(v)).map(|v| VenueOut {
            id: v.id.clone(),
            name: v.name.clone(),
            address: v.address.clone(),
            city: v.city.clone(),
            state: v.state_code.clone(),
            time_zone: v.time_zone.clone(),
        });
        let hosts = self.hosts.remove(&e.id).unwrap_or_default();
        EventOut {
            registration_open: e.registration_open_at(at),
            registration_opens_at: e.registration_opens_at.map(utc),
            registration_closes_at: utc(e.registration_closes()),
            seats_left: (i64::from(e.capacity) - taken).max(0),
            topics: self.topics.remove(&e.id).unwrap_or_default(),
            hosts: hosts.into_iter().map(|Host { id, name, kind }| HostOut { id, name, kind }).collect(),
            starts_at: utc_string(starts),
            ends_at: utc_string(ends),
            starts_at_local: local_string(starts, tz),
            ends_at_local: local_string(ends, tz),
            when: human_local(starts, tz),
            time_zone: e.time_zone,
            id: e.id,
            kind: e.kind,
            title: e.title,
            description: e.description,
            title_es: e.title_es,
            description_es: e.description_es,
            status: e.status,
            capacity: e.capacity,
            state: e.state_code,
            venue,
        }
    }
}

/// Topics of each event, from its row. Only words of the vocabulary are written (and migration
/// `2026-12-07-001101_event_topics_vocabulary` mapped the older free words), so a stored word
/// outside it means a row written by hand or by an older version: it is left out of the answer,
/// which neither fails nor shows it, and the number left out is logged (the words themselves
/// could be anything, so they are not).
fn topics_of(events: &[Event]) -> HashMap<String, Vec<Topic>> {
    let mut unknown = 0usize;
    let out = events
        .iter()
        .map(|e| {
            let topics = e.topics().into_iter().filter_map(|t| t.parse::<Topic>().map_err(|_| unknown += 1).ok());
            (e.id.clone(), topics.collect())
        })
        .collect();
    if unknown > 0 {
        tracing::warn!(skipped = unknown, "stored event topics outside the vocabulary were left out of an answer");
    }
    out
}

fn utc(t: NaiveDateTime) -> String {
    utc_string(from_db_time(t))
}
