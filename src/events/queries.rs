//! Event queries. Admin reads and writes take the [`Actor`] and put its scope in the SQL.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Event, EventChanges, NewEvent};
use crate::auth::{Actor, Role};
use crate::db::schema::{event_hosts, event_topics, events, organizations, registrations, venues};
use crate::db::{lower, now, DbConnection};
use crate::error::AppError;
use crate::partners::queries::Venue;

static PUBLIC_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Something the public event pages show changed in this process (an event, its seats): the
/// public read cache of this process (`handlers::public_cache`) starts over. Changes made by other
/// processes reach it when its entries expire (about a second).
pub fn public_data_changed() {
    PUBLIC_GENERATION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// The current generation of [`public_data_changed`].
pub fn public_generation() -> u64 {
    PUBLIC_GENERATION.load(std::sync::atomic::Ordering::SeqCst)
}

/// Filters of the public list.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub topic: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub q: Option<String>,
    /// Admin lists only: a status to match; the public list always shows `published`.
    pub status: Option<String>,
}

/// The actor's scope on events (`auth::scope`); experts never manage events, so they get a 403.
fn scope(actor: &Actor) -> Result<crate::auth::scope::Filter<events::table>, AppError> {
    if actor.role == Role::Expert {
        return Err(AppError::Forbidden("experts do not manage events".into()));
    }
    Ok(crate::auth::scope::events_filter(actor))
}

type BoxedEvents<'a> = events::BoxedQuery<'a, crate::db::MultiBackend>;

fn apply_filter<'a>(mut q: BoxedEvents<'a>, f: &EventFilter) -> BoxedEvents<'a> {
    if let Some(state) = &f.state {
        // A state's events include national webinars (no state), which anyone may attend.
        q = q.filter(events::state_code.eq(state.clone()).or(events::state_code.is_null()));
    }
    if let Some(kind) = &f.kind {
        q = q.filter(events::kind.eq(kind.clone()));
    }
    if let Some(topic) = &f.topic {
        q =
            q.filter(events::id.eq_any(
                event_topics::table.filter(event_topics::topic.eq(topic.clone())).select(event_topics::event_id),
            ));
    }
    if let Some(from) = f.from {
        q = q.filter(events::ends_at.gt(from));
    }
    if let Some(to) = f.to {
        q = q.filter(events::starts_at.lt(to));
    }
    if let Some(text) = &f.q {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        q = q.filter(
            lower(events::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(events::description).like(pattern).escape('\\')),
        );
    }
    q
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Published events matching `filter`, ordered by start, keyset-paginated on (starts_at, id).
pub fn list_public(
    conn: &mut DbConnection,
    filter: &EventFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Event>, AppError> {
    let mut q = apply_filter(events::table.into_boxed(), filter).filter(events::status.eq("published"));
    if let Some((at, id)) = after {
        q = q.filter(events::starts_at.gt(at).or(events::starts_at.eq(at).and(events::id.gt(id))));
    }
    Ok(q.order((events::starts_at, events::id)).limit(limit).load(conn)?)
}

/// Events the actor may manage, same filters and order.
pub fn list_admin(
    conn: &mut DbConnection,
    actor: &Actor,
    filter: &EventFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Event>, AppError> {
    let mut q = apply_filter(events::table.into_boxed(), filter);
    q = q.filter(scope(actor)?);
    if let Some(status) = &filter.status {
        q = q.filter(events::status.eq(status.clone()));
    }
    if let Some((at, id)) = after {
        q = q.filter(events::starts_at.gt(at).or(events::starts_at.eq(at).and(events::id.gt(id))));
    }
    Ok(q.order((events::starts_at, events::id)).limit(limit).load(conn)?)
}

/// A published (or completed/cancelled: still worth showing) event; drafts are not public.
pub fn find_public(conn: &mut DbConnection, id: &str) -> Result<Option<Event>, AppError> {
    Ok(events::table.find(id).filter(events::status.ne("draft")).first(conn).optional()?)
}

/// An event the actor may manage; `None` for one it may not see (→ 404).
pub fn find_for_actor(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Event>, AppError> {
    let mut q = events::table.filter(events::id.eq(id.to_string())).into_boxed();
    q = q.filter(scope(actor)?);
    Ok(q.first(conn).optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Event>, AppError> {
    Ok(events::table.find(id).first(conn).optional()?)
}

pub fn insert(conn: &mut DbConnection, event: &NewEvent, topics: &[String], hosts: &[String]) -> Result<(), AppError> {
    public_data_changed();
    diesel::insert_into(events::table).values(event).execute(conn)?;
    set_topics(conn, &event.id, topics)?;
    set_hosts(conn, &event.id, hosts)?;
    crate::registrations::seats::create_shards(conn, &event.id, event.capacity)?;
    Ok(())
}

pub fn set_topics(conn: &mut DbConnection, event_id: &str, topics: &[String]) -> Result<(), AppError> {
    public_data_changed();
    diesel::delete(event_topics::table.filter(event_topics::event_id.eq(event_id))).execute(conn)?;
    for t in topics {
        diesel::insert_into(event_topics::table)
            .values((event_topics::event_id.eq(event_id), event_topics::topic.eq(t)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_hosts(conn: &mut DbConnection, event_id: &str, hosts: &[String]) -> Result<(), AppError> {
    public_data_changed();
    diesel::delete(event_hosts::table.filter(event_hosts::event_id.eq(event_id))).execute(conn)?;
    for h in hosts {
        diesel::insert_into(event_hosts::table)
            .values((event_hosts::event_id.eq(event_id), event_hosts::organization_id.eq(h)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn update(conn: &mut DbConnection, id: &str, changes: &EventChanges) -> Result<(), AppError> {
    public_data_changed();
    diesel::update(events::table.find(id)).set(changes).execute(conn)?;
    Ok(())
}

/// Moves an event to `status`, stamping the matching time column.
pub fn set_status(conn: &mut DbConnection, id: &str, status: &str) -> Result<(), AppError> {
    public_data_changed();
    let ts = now();
    // The transition is checked in the UPDATE itself, so a concurrent publish and cancel cannot
    // bring a cancelled event back.
    let from: &[&str] = match status {
        "published" => &["draft"],
        "cancelled" => &["draft", "published"],
        _ => &["published"],
    };
    let target = events::table.filter(events::id.eq(id)).filter(events::status.eq_any(from));
    let n = match status {
        "published" => diesel::update(target)
            .set((events::status.eq(status), events::published_at.eq(Some(ts)), events::updated_at.eq(ts)))
            .execute(conn)?,
        "cancelled" => diesel::update(target)
            .set((
                events::status.eq(status),
                events::cancelled_at.eq(Some(ts)),
                events::revision.eq(events::revision + 1),
                events::updated_at.eq(ts),
            ))
            .execute(conn)?,
        _ => diesel::update(target).set((events::status.eq(status), events::updated_at.eq(ts))).execute(conn)?,
    };
    if n == 0 {
        return Err(AppError::conflict(format!("the event can no longer become {status}")));
    }
    Ok(())
}

/// Topics of each event.
pub fn topics_of(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, Vec<String>>, AppError> {
    let rows: Vec<(String, String)> = event_topics::table
        .filter(event_topics::event_id.eq_any(ids))
        .order((event_topics::event_id, event_topics::topic))
        .select((event_topics::event_id, event_topics::topic))
        .load(conn)?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (id, t) in rows {
        out.entry(id).or_default().push(t);
    }
    Ok(out)
}

/// Hosts of each event: (organization id, name, kind).
pub type Host = (String, String, String);

pub fn hosts_of(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, Vec<Host>>, AppError> {
    let rows: Vec<(String, String, String, String)> = event_hosts::table
        .inner_join(organizations::table)
        .filter(event_hosts::event_id.eq_any(ids))
        .order((event_hosts::event_id, organizations::name))
        .select((event_hosts::event_id, organizations::id, organizations::name, organizations::kind))
        .load(conn)?;
    let mut out: HashMap<String, Vec<Host>> = HashMap::new();
    for (eid, oid, name, kind) in rows {
        out.entry(eid).or_default().push((oid, name, kind));
    }
    Ok(out)
}

pub fn venues_of(conn: &mut DbConnection, events: &[Event]) -> Result<HashMap<String, Venue>, AppError> {
    let ids: Vec<String> = events.iter().filter_map(|e| e.venue_id.clone()).collect();
    if ids.is_empty() {
        // Webinars only: no need to ask.
        return Ok(HashMap::new());
    }
    let rows: Vec<Venue> = venues::table.filter(venues::id.eq_any(&ids)).load(conn)?;
    Ok(rows.into_iter().map(|v| (v.id.clone(), v)).collect())
}

/// Registrations per status of each event: (event id, status) → count.
pub fn status_counts(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<(String, String), i64>, AppError> {
    let rows: Vec<(String, String, i64)> = registrations::table
        .filter(registrations::event_id.eq_any(ids))
        .group_by((registrations::event_id, registrations::status))
        .select((registrations::event_id, registrations::status, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().map(|(e, s, n)| ((e, s), n)).collect())
}

/// Marks published events that have ended as `completed`; returns how many.
pub fn complete_ended(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::update(events::table.filter(events::status.eq("published")).filter(events::ends_at.le(at)))
        .set((events::status.eq("completed"), events::updated_at.eq(at)))
        .execute(conn)?)
}

/// A venue's address, name, city or time zone changed: every upcoming event held there gets a new
/// revision (its invites supersede the old ones) and, when published, every active registrant is
/// emailed the change with an updated invite, as for an event change. A new time zone becomes the
/// events' display zone (the instants stay). Returns how many events were touched.
pub fn venue_changed(
    conn: &mut DbConnection,
    ctx: &crate::mail::MailContext,
    venue_id: &str,
    notices: &[String],
    new_zone: Option<&str>,
) -> Result<usize, AppError> {
    let upcoming: Vec<(String, String)> = events::table
        .filter(events::venue_id.eq(venue_id))
        .filter(events::status.eq_any(["draft", "published"]))
        .filter(events::starts_at.gt(crate::db::now()))
        .order(events::id)
        .select((events::id, events::status))
        .load(conn)?;
    for (id, status) in &upcoming {
        // As an event change: registrations in flight commit first (and are emailed) or wait.
        crate::registrations::seats::lock_event_for_change(conn, id)?;
        diesel::update(events::table.find(id))
            .set((events::revision.eq(events::revision + 1), events::updated_at.eq(crate::db::now())))
            .execute(conn)?;
        if let Some(zone) = new_zone {
            diesel::update(events::table.find(id)).set(events::time_zone.eq(zone)).execute(conn)?;
        }
        if status == "published" {
            for reg in crate::registrations::queries::active_ids(conn, id)? {
                crate::mail::notify_registration(
                    conn,
                    ctx,
                    &reg,
                    crate::mail::Notice::EventChanged { changes: notices.to_vec() },
                    None,
                )?;
            }
        }
    }
    if !upcoming.is_empty() {
        public_data_changed();
    }
    Ok(upcoming.len())
}
