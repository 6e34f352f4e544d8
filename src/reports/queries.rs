//! Report figures. The scope of the actor is in every query's `WHERE` clause; the per-event
//! figures are then added up by state or by organization here.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{scope, Actor};
use crate::db::schema::{event_hosts, events, organizations, registrations, venues};
use crate::db::{now, DbConnection};
use crate::error::AppError;

#[derive(Debug, Default, Clone, Serialize)]
pub struct EventCounts {
    pub total: i64,
    pub draft: i64,
    pub published: i64,
    pub cancelled: i64,
    pub completed: i64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct RegistrationCounts {
    pub total: i64,
    pub confirmed: i64,
    pub waitlisted: i64,
    pub cancelled: i64,
    pub attended: i64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Upcoming {
    pub events: i64,
    pub capacity: i64,
    pub confirmed: i64,
    pub waitlisted: i64,
    pub seats_left: i64,
}

/// The figures of one row of a report.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    pub events: EventCounts,
    pub registrations: RegistrationCounts,
    /// attended ÷ (attended + confirmed) over ended, not cancelled events; `null` without data.
    pub attendance_rate: Option<f64>,
    pub upcoming: Upcoming,
    #[serde(skip)]
    ended_attended: i64,
    #[serde(skip)]
    ended_no_show: i64,
}

#[derive(Debug, Serialize)]
pub struct StateRow {
    /// Two-letter code; `null` for events with no state (national webinars).
    pub state: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
pub struct OrganizationRow {
    pub organization_id: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One visible event with what the reports need.
struct EventFacts {
    status: String,
    capacity: i64,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    state: Option<String>,
    /// Registrations by status.
    regs: HashMap<String, i64>,
}

impl Figures {
    fn add(&mut self, e: &EventFacts, now: NaiveDateTime) {
        self.events.total += 1;
        match e.status.as_str() {
            "draft" => self.events.draft += 1,
            "published" => self.events.published += 1,
            "cancelled" => self.events.cancelled += 1,
            "completed" => self.events.completed += 1,
            _ => {}
        }
        let n = |s: &str| e.regs.get(s).copied().unwrap_or(0);
        let r = &mut self.registrations;
        r.confirmed += n("confirmed");
        r.waitlisted += n("waitlisted");
        r.cancelled += n("cancelled");
        r.attended += n("attended");
        r.total += e.regs.values().sum::<i64>();
        if e.ends_at <= now && e.status != "cancelled" {
            self.ended_attended += n("attended");
            self.ended_no_show += n("confirmed");
        }
        if e.status == "published" && e.starts_at > now {
            let u = &mut self.upcoming;
            u.events += 1;
            u.capacity += e.capacity;
            u.confirmed += n("confirmed");
            u.waitlisted += n("waitlisted");
            u.seats_left += (e.capacity - n("confirmed") - n("attended")).max(0);
        }
    }

    fn finish(mut self) -> Figures {
        let denominator = self.ended_attended + self.ended_no_show;
        self.attendance_rate = (denominator > 0).then(|| self.ended_attended as f64 / denominator as f64);
        self
    }
}

/// The events the actor may see, with their registration counts, by id.
fn visible_events(conn: &mut DbConnection, actor: &Actor) -> Result<HashMap<String, EventFacts>, AppError> {
    type Row = (String, String, i32, NaiveDateTime, NaiveDateTime, Option<String>, Option<String>);
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
    let venue_ids: Vec<String> = rows.iter().filter_map(|r| r.6.clone()).collect();
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
            let facts =
                EventFacts { status, capacity: i64::from(capacity), starts_at, ends_at, state, regs: HashMap::new() };
            (id, facts)
        })
        .collect();
    let counts: Vec<(String, String, i64)> = registrations::table
        .filter(scope::registrations_filter(actor))
        .group_by((registrations::event_id, registrations::status))
        .select((registrations::event_id, registrations::status, count_star()))
        .load(conn)?;
    for (event_id, status, n) in counts {
        if let Some(e) = out.get_mut(&event_id) {
            e.regs.insert(status, n);
        }
    }
    Ok(out)
}

/// One row per state the actor has events in, by state code (national events last).
pub fn by_state(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<StateRow>, AppError> {
    let now = now();
    let mut rows: BTreeMap<(bool, String), Figures> = BTreeMap::new();
    for e in visible_events(conn, actor)?.values() {
        let key = (e.state.is_none(), e.state.clone().unwrap_or_default());
        rows.entry(key).or_default().add(e, now);
    }
    Ok(rows
        .into_iter()
        .map(|((national, code), f)| StateRow { state: (!national).then_some(code), figures: f.finish() })
        .collect())
}

/// One row per host organization the actor may see, by name.
pub fn by_organization(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<OrganizationRow>, AppError> {
    let now = now();
    let facts = visible_events(conn, actor)?;
    let hosts: Vec<(String, String)> = event_hosts::table
        .filter(scope::event_hosts_filter(actor))
        .select((event_hosts::organization_id, event_hosts::event_id))
        .load(conn)?;
    let orgs: Vec<(String, String)> = organizations::table
        .filter(scope::organizations_filter(actor))
        .order((organizations::name, organizations::id))
        .select((organizations::id, organizations::name))
        .load(conn)?;
    let mut figures: HashMap<String, Figures> = HashMap::new();
    for (org, event) in hosts {
        if let Some(e) = facts.get(&event) {
            figures.entry(org).or_default().add(e, now);
        }
    }
    Ok(orgs
        .into_iter()
        .map(|(id, name)| {
            let f = figures.remove(&id).unwrap_or_default().finish();
            OrganizationRow { organization_id: id, name, figures: f }
        })
        .collect())
}
