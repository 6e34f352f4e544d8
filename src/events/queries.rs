//! Event queries. Admin reads and writes take the [`Actor`] and put its scope in the SQL.
//!
//! The `q=` search of both lists is answered by a full-text index, one per engine (migration
//! `2026-12-01-000502_event_search`): a GIN index on the title and description's `tsvector` on
//! PostgreSQL, an FTS5 table kept in step by triggers on SQLite. Every word of the search must
//! start a word of the title or description, in any case.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Event, EventChanges, NewEvent};
use crate::auth::{Actor, Role};
use crate::db::schema::{event_hosts, event_topics, events, organizations, venues};
use crate::db::{now, DbConnection};
use crate::domain::{EventKind, EventStatus, OrganizationKind, RegistrationStatus, Topic};
use crate::error::AppError;
use crate::partners::queries::Venue;

/// Something the public event pages show changes (an event, its seats): this app's public read
/// cache ([`super::public_cache`]) starts over once the transaction is over (see
/// [`crate::db::public_data_changed`]). Changes made by other processes reach it when its entries
/// expire (about a second).
pub fn public_data_changed() {
    crate::db::public_data_changed();
}

/// Filters of the event lists ([`super::parse`] builds them).
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub state: Option<crate::domain::StateCode>,
    pub kind: Option<EventKind>,
    pub topic: Option<Topic>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub q: Option<String>,
    /// Admin lists only: a status to match; the public list always shows `published`.
    pub status: Option<EventStatus>,
}

/// The actor's scope on events (`auth::scope`); experts never manage events, so they get a 403.
fn scope(actor: &Actor) -> Result<crate::auth::scope::Filter<events::table>, AppError> {
    if actor.role == Role::Expert {
        return Err(AppError::Forbidden("experts do not manage events".into()));
    }
    Ok(crate::auth::scope::events_filter(actor))
}

type BoxedEvents<'a> = events::BoxedQuery<'a, crate::db::MultiBackend>;

fn apply_filter<'a>(mut q: BoxedEvents<'a>, f: &EventFilter, postgres: bool) -> BoxedEvents<'a> {
    if let Some(state) = &f.state {
        // A state's events include national webinars (no state), which anyone may attend.
        q = q.filter(events::state_code.eq(state.clone()).or(events::state_code.is_null()));
    }
    if let Some(kind) = &f.kind {
        q = q.filter(events::kind.eq(*kind));
    }
    if let Some(topic) = &f.topic {
        q =
            q.filter(events::id.eq_any(
                event_topics::table.filter(event_topics::topic.eq(topic.as_str())).select(event_topics::event_id),
            ));
    }
    if let Some(from) = f.from {
        q = q.filter(events::ends_at.gt(from));
    }
    if let Some(to) = f.to {
        q = q.filter(events::starts_at.lt(to));
    }
    if let Some(text) = &f.q {
        q = q.filter(search_condition(text, postgres));
    }
    q
}

/// The words of a `q=` search: runs of letters and digits, lower-cased, at most 16 of them (each
/// one more index lookup). Everything else separates words, so nothing a person types can reach
/// the search syntax of either engine.
pub fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(16).map(str::to_lowercase).collect()
}

/// PostgreSQL: the indexed expression (migration `2026-12-01-000502_event_search`, which must say
/// exactly the same) against a prefix query of every word.
const PG_SEARCH: &str = "to_tsvector('simple', events.title || ' ' || events.description) @@ to_tsquery('simple', ";

/// SQLite: the events whose FTS5 rows match.
const SQLITE_SEARCH: &str = "events.search_rowid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ";

/// The search query in each engine's syntax: every word as a prefix, all required (also the
/// resource search's, [`crate::resources::queries`]).
pub(crate) fn engine_query(words: &[String], postgres: bool) -> String {
    if postgres {
        words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & ")
    } else {
        words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" ")
    }
}

type Condition = Box<dyn BoxableExpression<events::table, crate::db::MultiBackend, SqlType = diesel::sql_types::Bool>>;

/// The SQL condition of a `q=` search: every word of `text` must start a word of the title or
/// description (case-insensitive), answered by the full-text index of each engine. Text without
/// any word matches nothing.
fn search_condition(text: &str, postgres: bool) -> Condition {
    use diesel::sql_types::{Bool, Text};
    let words = search_words(text);
    if words.is_empty() {
        return Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
    }
    let sql = if postgres { PG_SEARCH } else { SQLITE_SEARCH };
    Box::new(diesel::dsl::sql::<Bool>(sql).bind::<Text, _>(engine_query(&words, postgres)).sql(")"))
}

/// How the database answers the search condition of a `q=` search on its own: PostgreSQL's
/// `EXPLAIN` or SQLite's `EXPLAIN QUERY PLAN`, one line per row. For checking that the full-text
/// index can answer it (with the other filters of a list the planner may still prefer another
/// index when few events are published).
pub fn search_plan(conn: &mut DbConnection, text: &str) -> Result<Vec<String>, AppError> {
    use diesel::sql_types::{Integer, Text};
    #[derive(QueryableByName)]
    struct PgLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    #[derive(QueryableByName)]
    struct SqliteLine {
        #[diesel(sql_type = Integer)]
        #[allow(dead_code)]
        id: i32,
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let postgres = conn.is_postgres();
    let query = engine_query(&search_words(text), postgres);
    let sql = if postgres {
        format!("EXPLAIN SELECT events.id FROM events WHERE {PG_SEARCH}$1)")
    } else {
        format!("EXPLAIN QUERY PLAN SELECT events.id FROM events WHERE {SQLITE_SEARCH}$1)")
    };
    let q = diesel::sql_query(sql).bind::<Text, _>(query);
    Ok(if postgres {
        q.load::<PgLine>(conn)?.into_iter().map(|l| l.line).collect()
    } else {
        q.load::<SqliteLine>(conn)?.into_iter().map(|l| l.detail).collect()
    })
}

/// Published events matching `filter`, ordered by start, keyset-paginated on (starts_at, id).
pub fn list_public(
    conn: &mut DbConnection,
    filter: &EventFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Event>, AppError> {
    let postgres = conn.is_postgres();
    let mut q =
        apply_filter(events::table.into_boxed(), filter, postgres).filter(events::status.eq(EventStatus::Published));
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
    let postgres = conn.is_postgres();
    let mut q = apply_filter(events::table.into_boxed(), filter, postgres);
    q = q.filter(scope(actor)?);
    if let Some(status) = &filter.status {
        q = q.filter(events::status.eq(*status));
    }
    if let Some((at, id)) = after {
        q = q.filter(events::starts_at.gt(at).or(events::starts_at.eq(at).and(events::id.gt(id))));
    }
    Ok(q.order((events::starts_at, events::id)).limit(limit).load(conn)?)
}

/// A published (or completed/cancelled: still worth showing) event; drafts are not public.
pub fn find_public(conn: &mut DbConnection, id: &str) -> Result<Option<Event>, AppError> {
    Ok(events::table.find(id).filter(events::status.ne(EventStatus::Draft)).first(conn).optional()?)
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

pub fn insert(conn: &mut DbConnection, event: &NewEvent, topics: &[Topic], hosts: &[String]) -> Result<(), AppError> {
    public_data_changed();
    diesel::insert_into(events::table).values(event).execute(conn)?;
    set_topics(conn, &event.id, topics)?;
    set_hosts(conn, &event.id, hosts)?;
    crate::registrations::seats::create_shards(conn, &event.id, event.capacity)?;
    Ok(())
}

pub fn set_topics(conn: &mut DbConnection, event_id: &str, topics: &[Topic]) -> Result<(), AppError> {
    public_data_changed();
    diesel::delete(event_topics::table.filter(event_topics::event_id.eq(event_id))).execute(conn)?;
    for t in topics {
        diesel::insert_into(event_topics::table)
            .values((event_topics::event_id.eq(event_id), event_topics::topic.eq(t.as_str())))
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

/// Moves an event to `status`, stamping the matching time column. The transition is checked in
/// the UPDATE itself, so a concurrent publish and cancel cannot bring a cancelled event back: an
/// event no longer in a state it may leave that way is a 409.
pub fn set_status(conn: &mut DbConnection, id: &str, status: EventStatus) -> Result<(), AppError> {
    use EventStatus::*;
    public_data_changed();
    let ts = now();
    let from: &[EventStatus] = match status {
        Published => &[Draft],
        Cancelled => &[Draft, Published],
        Draft | Completed => &[Published],
    };
    let target = events::table.filter(events::id.eq(id)).filter(events::status.eq_any(from));
    let n = match status {
        Published => diesel::update(target)
            .set((events::status.eq(status), events::published_at.eq(Some(ts)), events::updated_at.eq(ts)))
            .execute(conn)?,
        Cancelled => diesel::update(target)
            .set((
                events::status.eq(status),
                events::cancelled_at.eq(Some(ts)),
                events::revision.eq(events::revision + 1),
                events::updated_at.eq(ts),
            ))
            .execute(conn)?,
        Draft | Completed => {
            diesel::update(target).set((events::status.eq(status), events::updated_at.eq(ts))).execute(conn)?
        }
    };
    if n == 0 {
        return Err(AppError::conflict(format!("the event can no longer become {status}")));
    }
    Ok(())
}

/// An organization hosting an event.
#[derive(Debug, Clone, Queryable)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub kind: OrganizationKind,
}

/// These organizations as event hosts, by id.
pub fn hosts_by_id(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, Host>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Host> = organizations::table
        .filter(organizations::id.eq_any(ids))
        .select((organizations::id, organizations::name, organizations::kind))
        .load(conn)?;
    Ok(rows.into_iter().map(|h| (h.id.clone(), h)).collect())
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
pub fn status_counts(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<HashMap<(String, RegistrationStatus), i64>, AppError> {
    // From the counters (`crate::rollups`): a 20,000-registrant webinar is not counted row by row.
    crate::rollups::registration_counts_of(conn, ids)
}

/// Marks published events that have ended as `completed`; returns how many.
pub fn complete_ended(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::update(events::table.filter(events::status.eq(EventStatus::Published)).filter(events::ends_at.le(at)))
        .set((events::status.eq(EventStatus::Completed), events::updated_at.eq(at)))
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
    notices: &[crate::mail::Change],
    new_zone: Option<&str>,
) -> Result<usize, AppError> {
    let upcoming: Vec<(String, EventStatus)> = events::table
        .filter(events::venue_id.eq(venue_id))
        .filter(events::status.eq_any([EventStatus::Draft, EventStatus::Published]))
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
        if *status == EventStatus::Published {
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
