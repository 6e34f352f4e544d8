//! `/api/v1/events…` (public) and `/api/v1/admin/events…`.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::model::{Event, EventChanges, EventDraft, NewEvent, KINDS};
use super::queries::{self, EventFilter, Host};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::{from_db_time, new_id, now, to_db_time, Db, DbConnection};
use crate::error::{AppError, FieldError};
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, MaybeJson, Page, QueryParams};
use crate::mail::{notify_registration, MailContext, Notice};
use crate::partners::queries::Venue;
use crate::time::{human_local, local_string, parse_instant, parse_tz, utc_string};
use crate::validate::{self, Errors};

// ---------------------------------------------------------------------------------------------
// Wire types

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: Option<String>,
    pub capacity: i64,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub state: Option<String>,
    pub topics: Option<Vec<String>>,
    pub host_organization_ids: Option<Vec<String>>,
    pub registration_opens_at: Option<String>,
    pub registration_closes_at: Option<String>,
}

/// PATCH body: every field optional; `null` clears the nullable ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub time_zone: Option<String>,
    pub capacity: Option<i64>,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub topics: Option<Vec<String>>,
    pub host_organization_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub registration_opens_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub registration_closes_at: Option<Option<String>>,
}

fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Debug, Serialize)]
pub struct VenueOut {
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub time_zone: String,
}

#[derive(Debug, Serialize)]
pub struct HostOut {
    pub id: String,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Serialize)]
pub struct EventOut {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub status: String,
    /// UTC instants.
    pub starts_at: String,
    pub ends_at: String,
    /// The event's IANA zone, and the same instants shown in it.
    pub time_zone: String,
    pub starts_at_local: String,
    pub ends_at_local: String,
    /// e.g. "Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago)".
    pub when: String,
    pub capacity: i32,
    pub seats_left: i64,
    pub registration_open: bool,
    pub registration_opens_at: Option<String>,
    pub registration_closes_at: String,
    /// Two-letter state; `null` for a national webinar.
    pub state: Option<String>,
    pub venue: Option<VenueOut>,
    pub topics: Vec<String>,
    pub hosts: Vec<HostOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminDetails>,
}

/// Fields only staff see.
#[derive(Debug, Serialize)]
pub struct AdminDetails {
    pub join_url: Option<String>,
    pub revision: i32,
    pub registrations: StatusCounts,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
    pub cancelled_at: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct StatusCounts {
    pub confirmed: i64,
    pub waitlisted: i64,
    pub cancelled: i64,
    pub attended: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub topic: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Rendering

struct Extras {
    topics: HashMap<String, Vec<String>>,
    hosts: HashMap<String, Vec<Host>>,
    venues: HashMap<String, Venue>,
    taken: HashMap<String, i64>,
    counts: Option<HashMap<(String, String), i64>>,
}

fn load_extras(conn: &mut DbConnection, events: &[Event], admin: bool) -> Result<Extras, AppError> {
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    Ok(Extras {
        topics: queries::topics_of(conn, &ids)?,
        hosts: queries::hosts_of(conn, &ids)?,
        venues: queries::venues_of(conn, events)?,
        taken: crate::registrations::seats::taken_by_event(conn, &ids)?,
        counts: if admin { Some(queries::status_counts(conn, &ids)?) } else { None },
    })
}

fn render(e: Event, x: &mut Extras, at: NaiveDateTime) -> EventOut {
    let tz = e.tz();
    let starts = from_db_time(e.starts_at);
    let ends = from_db_time(e.ends_at);
    let taken = x.taken.get(&e.id).copied().unwrap_or(0);
    let admin = x.counts.as_ref().map(|c| {
        let n = |s: &str| c.get(&(e.id.clone(), s.to_string())).copied().unwrap_or(0);
        AdminDetails {
            join_url: e.join_url.clone(),
            revision: e.revision,
            registrations: StatusCounts {
                confirmed: n("confirmed"),
                waitlisted: n("waitlisted"),
                cancelled: n("cancelled"),
                attended: n("attended"),
            },
            created_at: utc_string(from_db_time(e.created_at)),
            updated_at: utc_string(from_db_time(e.updated_at)),
            published_at: e.published_at.map(|t| utc_string(from_db_time(t))),
            cancelled_at: e.cancelled_at.map(|t| utc_string(from_db_time(t))),
        }
    });
    let venue = e.venue_id.as_ref().and_then(|v| x.venues.get(v)).map(|v| VenueOut {
        id: v.id.clone(),
        name: v.name.clone(),
        address: v.address.clone(),
        city: v.city.clone(),
        state: v.state_code.clone(),
        time_zone: v.time_zone.clone(),
    });
    EventOut {
        registration_open: e.registration_open_at(at),
        registration_opens_at: e.registration_opens_at.map(|t| utc_string(from_db_time(t))),
        registration_closes_at: utc_string(from_db_time(e.registration_closes_at.unwrap_or(e.starts_at))),
        seats_left: (i64::from(e.capacity) - taken).max(0),
        topics: x.topics.remove(&e.id).unwrap_or_default(),
        hosts: x
            .hosts
            .remove(&e.id)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, name, kind)| HostOut { id, name, kind })
            .collect(),
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
        status: e.status,
        capacity: e.capacity,
        state: e.state_code,
        venue,
        admin,
    }
}

fn render_one(conn: &mut DbConnection, e: Event, admin: bool) -> Result<EventOut, AppError> {
    let mut x = load_extras(conn, std::slice::from_ref(&e), admin)?;
    Ok(render(e, &mut x, now()))
}

fn render_page(
    conn: &mut DbConnection,
    mut rows: Vec<Event>,
    limit: i64,
    admin: bool,
) -> Result<Page<EventOut>, AppError> {
    let next = next_page(&mut rows, limit, |e| (e.starts_at, e.id.clone()));
    let mut x = load_extras(conn, &rows, admin)?;
    let at = now();
    Ok(Page { items: rows.into_iter().map(|e| render(e, &mut x, at)).collect(), next_cursor: next })
}

// ---------------------------------------------------------------------------------------------
// Input parsing

fn parse_filter(q: &ListQuery, admin: bool) -> Result<EventFilter, AppError> {
    let bad = |e: FieldError| AppError::BadRequest { detail: format!("`{}` {}", e.field, e.message), errors: vec![e] };
    let state = q.state.as_deref().map(|s| validate::state_code("state", s)).transpose().map_err(bad)?;
    let kind = match q.kind.as_deref() {
        Some(k) if KINDS.contains(&k) => Some(k.to_string()),
        Some(_) => return Err(AppError::bad_field("kind", "must be roadshow_stop or webinar")),
        None => None,
    };
    let when = |field: &str, v: &Option<String>| -> Result<Option<NaiveDateTime>, AppError> {
        v.as_deref().map(|s| parse_instant(field, s, chrono_tz::UTC).map(to_db_time)).transpose().map_err(bad)
    };
    let mut from = when("from", &q.from)?;
    let to = when("to", &q.to)?;
    if from.is_none() && !admin {
        // The public list shows what is still to come (or under way) unless asked otherwise.
        from = Some(now());
    }
    let status = match q.status.as_deref() {
        None => None,
        Some(s) if admin && ["draft", "published", "cancelled", "completed"].contains(&s) => Some(s.to_string()),
        Some(_) if admin => {
            return Err(AppError::bad_field("status", "must be draft, published, cancelled or completed"))
        }
        Some(_) => return Err(AppError::bad_field("status", "is not a filter of the public list")),
    };
    let q_text = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if q_text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(AppError::bad_field("q", "must be at most 200 characters"));
    }
    let topic = q.topic.as_deref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty());
    Ok(EventFilter { state, kind, topic, from, to, q: q_text, status })
}

fn parse_topics(errs: &mut Errors, topics: &[String]) -> Vec<String> {
    if topics.len() > 20 {
        errs.push("topics", "at most 20 topics");
    }
    let mut out: Vec<String> = Vec::new();
    for (i, t) in topics.iter().enumerate() {
        let t = t.trim().to_lowercase();
        let ok = !t.is_empty()
            && t.len() <= 50
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ' ');
        if !ok {
            errs.push(format!("topics[{i}]"), "must be 1-50 letters, digits, spaces or dashes");
        } else if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

fn parse_ids(errs: &mut Errors, field: &str, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, raw) in ids.iter().enumerate() {
        match uuid::Uuid::parse_str(raw) {
            Ok(u) => {
                if !out.contains(&u.to_string()) {
                    out.push(u.to_string())
                }
            }
            Err(_) => errs.push(format!("{field}[{i}]"), "is not a valid UUID"),
        }
    }
    out
}

const MAX_CAPACITY: i64 = 1_000_000;

fn parse_capacity(errs: &mut Errors, capacity: i64) -> Option<i32> {
    if (0..=MAX_CAPACITY).contains(&capacity) {
        Some(capacity as i32)
    } else {
        errs.push("capacity", format!("must be between 0 and {MAX_CAPACITY}"));
        None
    }
}

/// Parses the create body into a draft; errors name every bad field at once.
fn parse_event_in(input: EventIn) -> Result<EventDraft, AppError> {
    let mut errs = Errors::new();
    let kind = input.kind.trim().to_string();
    if !KINDS.contains(&kind.as_str()) {
        errs.push("kind", "must be roadshow_stop or webinar");
    }
    let title = errs.take(validate::text("title", &input.title, 200));
    let description =
        input.description.as_deref().and_then(|d| errs.take(validate::multiline("description", d, 10_000)));
    let description = description.unwrap_or_default();
    let tz = match input.time_zone.as_deref() {
        Some(z) => errs.take(parse_tz("time_zone", z)),
        None => {
            errs.push("time_zone", "is required (an IANA zone like America/Chicago)");
            None
        }
    };
    let (starts_at, ends_at, opens, closes) = match tz {
        Some(tz) => {
            let s = errs.take(parse_instant("starts_at", &input.starts_at, tz));
            let e = errs.take(parse_instant("ends_at", &input.ends_at, tz));
            let o = input
                .registration_opens_at
                .as_deref()
                .and_then(|v| errs.take(parse_instant("registration_opens_at", v, tz)));
            let c = input
                .registration_closes_at
                .as_deref()
                .and_then(|v| errs.take(parse_instant("registration_closes_at", v, tz)));
            (s, e, o, c)
        }
        None => (None, None, None, None),
    };
    let capacity = parse_capacity(&mut errs, input.capacity);
    let venue_id = input.venue_id.as_deref().and_then(|v| errs.take(parse_id_field("venue_id", v)));
    let join_url = input.join_url.as_deref().and_then(|v| errs.take(validate::url("join_url", v)));
    let state = input.state.as_deref().and_then(|v| errs.take(validate::state_code("state", v)));
    let topics = parse_topics(&mut errs, input.topics.as_deref().unwrap_or(&[]));
    let hosts = input.host_organization_ids.as_deref().map(|h| parse_ids(&mut errs, "host_organization_ids", h));
    match kind.as_str() {
        "roadshow_stop" if input.venue_id.is_none() => errs.push("venue_id", "is required for a roadshow stop"),
        "webinar" if input.join_url.is_none() => errs.push("join_url", "is required for a webinar"),
        "webinar" if input.venue_id.is_some() => errs.push("venue_id", "a webinar has no venue"),
        _ => {}
    }
    check_times(&mut errs, starts_at, ends_at, opens, closes);
    errs.finish()?;
    Ok(EventDraft {
        kind,
        title: title.unwrap_or_default(),
        description,
        starts_at: starts_at.unwrap(),
        ends_at: ends_at.unwrap(),
        tz: tz.unwrap(),
        capacity: capacity.unwrap(),
        registration_opens_at: opens,
        registration_closes_at: closes,
        venue_id,
        join_url,
        state,
        topics,
        host_organization_ids: hosts,
    })
}

fn parse_id_field(field: &str, raw: &str) -> Result<String, FieldError> {
    uuid::Uuid::parse_str(raw).map(|u| u.to_string()).map_err(|_| FieldError::new(field, "is not a valid UUID"))
}

type Instant = chrono::DateTime<Utc>;

fn check_times(errs: &mut Errors, s: Option<Instant>, e: Option<Instant>, o: Option<Instant>, c: Option<Instant>) {
    if let (Some(s), Some(e)) = (s, e) {
        if e <= s {
            errs.push("ends_at", "must be after starts_at");
        } else if e - s > chrono::Duration::days(14) {
            errs.push("ends_at", "an event lasts at most 14 days");
        }
    }
    if let (Some(o), Some(c)) = (o, c) {
        if c <= o {
            errs.push("registration_closes_at", "must be after registration_opens_at");
        }
    }
    if let (Some(c), Some(e)) = (c, e) {
        if c > e {
            errs.push("registration_closes_at", "must not be after the event ends");
        }
    }
}

/// Checks the parts of a draft that need the database, and resolves the event's state and hosts
/// for the actor. Organizers schedule events their organization hosts, in states it covers.
fn resolve_place_and_hosts(
    conn: &mut DbConnection,
    actor: &Actor,
    kind: &str,
    venue_id: Option<&str>,
    state: Option<String>,
    hosts: Option<Vec<String>>,
) -> Result<(Option<String>, Vec<String>), AppError> {
    use crate::partners::queries as pq;
    let mut state = state;
    if let Some(v) = venue_id {
        let venue = pq::find_venue(conn, v)?.ok_or_else(|| AppError::field("venue_id", "no such venue"))?;
        if state.as_ref().is_some_and(|s| *s != venue.state_code) {
            return Err(AppError::field("state", "must match the venue's state (or be left out)"));
        }
        state = Some(venue.state_code);
    } else if kind == "roadshow_stop" {
        return Err(AppError::field("venue_id", "is required for a roadshow stop"));
    }
    if let Some(s) = &state {
        if crate::states::find(conn, s)?.is_none() {
            return Err(AppError::field("state", format!("{s} is not a US state code")));
        }
    }
    let mut hosts = hosts.unwrap_or_default();
    for (i, h) in hosts.iter().enumerate() {
        if !pq::organization_exists(conn, h)? {
            return Err(AppError::field(format!("host_organization_ids[{i}]"), "no such organization"));
        }
    }
    if !actor.is_admin() {
        let own = actor.organization_id.clone().ok_or_else(|| AppError::Forbidden("no organization".into()))?;
        // Co-hosts see the event and its registrants: only a national admin adds other organizations.
        if let Some(i) = hosts.iter().position(|h| *h != own) {
            return Err(AppError::field(
                format!("host_organization_ids[{i}]"),
                "organizers host events with their own organization; a national admin adds co-hosts",
            ));
        }
        hosts = vec![own.clone()];
        match &state {
            Some(s) => {
                if !crate::auth::scope::covers_state(conn, &own, s)? {
                    return Err(AppError::field("state", "your organization does not cover this state"));
                }
            }
            // A national webinar: only organizations that list no states (national ones) run those.
            None => {
                if !pq::states_of(conn, std::slice::from_ref(&own))?.is_empty() {
                    return Err(AppError::field(
                        "state",
                        "is required: your organization schedules events in the states it covers",
                    ));
                }
            }
        }
    }
    Ok((state, hosts))
}

// ---------------------------------------------------------------------------------------------
// Handlers

// The public reads (`list_events`, `get_event`) are the busiest requests. They run their few SELECTs
// without BEGIN/COMMIT (`Db::run`): on PostgreSQL a READ COMMITTED transaction gives every statement
// its own snapshot anyway, so the transaction bought nothing but two round trips. An event row and
// its seat count may thus be read a moment apart; `seats_left` is advisory (the registration
// transaction decides), and each statement still reads committed data on both engines.
// Their 200 answers are kept for up to a second in `public_cache`.
pub(crate) async fn list_events(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    cache: web::Data<PublicCache>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let key = public_cache::key(&config, "/api/v1/events", req.query_string());
    let generation = db.public_generation();
    if let Some(body) = cache.get(&key, generation) {
        return Ok(json_bytes(body));
    }
    let limit = page_limit(q.limit)?;
    let filter = parse_filter(&q, false)?;
    let after: Option<(NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = db
        .run(move |c| {
            let rows = queries::list_public(c, &filter, after, limit + 1)?;
            render_page(c, rows, limit, false)
        })
        .await?;
    Ok(json_bytes(cache.put(key, generation, db.public_generation(), &page, public_cache::Limits::of(&config))?))
}

pub(crate) async fn get_event(
    db: web::Data<Db>,
    config: web::Data<Config>,
    cache: web::Data<PublicCache>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    // The page takes no parameters: any query string would only make more entries of one answer.
    let key = public_cache::key(&config, &format!("/api/v1/events/{id}"), "");
    let generation = db.public_generation();
    if let Some(body) = cache.get(&key, generation) {
        return Ok(json_bytes(body));
    }
    let out = db
        .run(move |c| {
            let e = queries::find_public(c, &id)?.ok_or_else(|| AppError::not_found("no such event"))?;
            render_one(c, e, false)
        })
        .await?;
    Ok(json_bytes(cache.put(key, generation, db.public_generation(), &out, public_cache::Limits::of(&config))?))
}

fn json_bytes(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body)
}

pub use public_cache::PublicCache;

/// A micro-cache of the public event answers (list pages and event pages), one per app (held in
/// its app data, with the generation in its [`Db`]).
///
/// An entry is served for at most [`TTL`](public_cache::TTL), and only while nothing in this app
/// changed public data since it was read ([`queries::public_data_changed`]: event writes,
/// registrations, cancellations; the generation moves after their transaction is over, so a read
/// racing one cannot keep the old state). So a change made through this app shows at once, and
/// any other change within about a second; a burst of
/// readers of one popular page costs the database one read per second instead of one per request.
///
/// Keys are the database, the path and the query parameters decoded and sorted, so
/// `?state=TX&kind=webinar`, `?kind=webinar&state=TX` and `?state=%54X&kind=webinar` share one
/// entry. The cache holds at most `ROADSHOW_PUBLIC_CACHE_ENTRIES` answers and
/// `ROADSHOW_PUBLIC_CACHE_BYTES` bytes; when full, the oldest entries go first. Expired entries
/// and entries made stale by a change are dropped on the next lookup of any key, not only
/// replaced when their own key is asked for again, so memory holds only live answers.
mod public_cache {
    use std::collections::{HashMap, VecDeque};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use actix_web::web::Bytes;

    use crate::config::Config;
    use crate::error::AppError;

    pub const TTL: Duration = Duration::from_secs(1);

    /// What a kept answer costs besides its key and body (map slot, queue slot, `Bytes` header).
    const OVERHEAD: usize = 128;

    #[derive(Debug, Clone, Copy)]
    pub struct Limits {
        pub entries: usize,
        pub bytes: usize,
    }

    impl Limits {
        pub fn of(config: &Config) -> Limits {
            Limits { entries: config.public_cache_entries, bytes: config.public_cache_bytes }
        }
    }

    struct Entry {
        stored: Instant,
        body: Bytes,
    }

    /// The entries, and their keys in the order they were stored: with one TTL for all, that is
    /// also the order they expire in, so both expiry and "oldest first" eviction pop the front.
    /// A key stored again leaves its old queue record behind; a record only removes the entry it
    /// was made for (same `stored` instant).
    #[derive(Default)]
    pub struct Cache {
        entries: HashMap<String, Entry>,
        order: VecDeque<(String, Instant)>,
        bytes: usize,
        generation: u64,
    }

    fn cost(key: &str, body: &Bytes) -> usize {
        // The key is held twice: in the map and in the queue.
        2 * key.len() + body.len() + OVERHEAD
    }

    impl Cache {
        /// Drops everything when public data changed since the entries were read, and entries
        /// whose time is up.
        fn sweep(&mut self, generation: u64, now: Instant) {
            if generation != self.generation {
                self.entries.clear();
                self.order.clear();
                self.bytes = 0;
                self.generation = generation;
            }
            while let Some((_, stored)) = self.order.front() {
                if now.saturating_duration_since(*stored) < TTL {
                    break;
                }
                self.pop_oldest();
            }
        }

        fn pop_oldest(&mut self) {
            if let Some((key, stored)) = self.order.pop_front() {
                if self.entries.get(&key).is_some_and(|e| e.stored == stored) {
                    if let Some(e) = self.entries.remove(&key) {
                        self.bytes -= cost(&key, &e.body);
                    }
                }
            }
        }

        pub fn get(&mut self, key: &str, generation: u64, now: Instant) -> Option<Bytes> {
            self.sweep(generation, now);
            self.entries.get(key).map(|e| e.body.clone())
        }

        /// Keeps `body`, read at `read_generation`, unless public data changed since (it would be
        /// stale already) or it alone is over the byte limit; evicts the oldest entries to fit.
        pub fn put(
            &mut self,
            key: String,
            read_generation: u64,
            generation: u64,
            body: Bytes,
            now: Instant,
            limits: Limits,
        ) {
            self.sweep(generation, now);
            let size = cost(&key, &body);
            if read_generation != generation || limits.entries == 0 || size > limits.bytes {
                return;
            }
            if let Some(old) = self.entries.remove(&key) {
                self.bytes -= cost(&key, &old.body);
            }
            while !self.order.is_empty() && (self.entries.len() >= limits.entries || self.bytes + size > limits.bytes) {
                self.pop_oldest();
            }
            self.order.push_back((key.clone(), now));
            self.entries.insert(key, Entry { stored: now, body });
            self.bytes += size;
        }

        #[cfg(test)]
        fn len(&self) -> usize {
            self.entries.len()
        }
    }

    /// One app's cache (see the module docs).
    #[derive(Default)]
    pub struct PublicCache(Mutex<Cache>);

    /// The cache key of a public read: the database, the path, and the query parameters decoded
    /// (`%54` is `T`, `+` is a space) and sorted.
    pub fn key(config: &Config, path: &str, query: &str) -> String {
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        pairs.sort();
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{}\n{path}?{query}", config.database_url)
    }

    impl PublicCache {
        /// The answer kept for `key`, if any, given the app's current public `generation`.
        pub fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
            let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
            cache.get(key, generation, Instant::now())
        }

        /// Serializes `value` and keeps it, tagged with the generation read before the database
        /// was (`read_generation`); `generation` is the current one.
        pub fn put<T: serde::Serialize>(
            &self,
            key: String,
            read_generation: u64,
            generation: u64,
            value: &T,
            limits: Limits,
        ) -> Result<Bytes, AppError> {
            let body = Bytes::from(serde_json::to_vec(value).map_err(|e| AppError::internal(e.to_string()))?);
            let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
            cache.put(key, read_generation, generation, body.clone(), Instant::now(), limits);
            Ok(body)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn config() -> Config {
            Config::defaults()
        }

        fn body(n: usize) -> Bytes {
            Bytes::from(vec![b'x'; n])
        }

        const ROOMY: Limits = Limits { entries: 100, bytes: 1 << 20 };

        #[test]
        fn keys_ignore_parameter_order_and_percent_encoding() {
            let c = config();
            let k = |q: &str| key(&c, "/api/v1/events", q);
            assert_eq!(k("state=TX&kind=webinar"), k("kind=webinar&state=TX"));
            assert_eq!(k("state=TX&kind=webinar"), k("state=%54X&kind=webinar"));
            assert_eq!(k("q=grow+social"), k("q=grow%20social"));
            assert_ne!(k("state=TX"), k("state=CA"));
            assert_ne!(k("q=a%26b"), k("q=a&b="), "an encoded & stays part of the value");
            assert_ne!(key(&c, "/api/v1/events/1", ""), key(&c, "/api/v1/events/2", ""));
            let mut other = config();
            other.database_url = "sqlite://other.db".into();
            assert_ne!(k(""), key(&other, "/api/v1/events", ""), "one cache serves several databases in tests");
        }

        #[test]
        fn entries_are_bounded_in_number_oldest_first() {
            let mut cache = Cache::default();
            let t = Instant::now();
            let limits = Limits { entries: 3, bytes: 1 << 20 };
            for i in 0..5 {
                cache.put(format!("k{i}"), 0, 0, body(10), t, limits);
            }
            assert_eq!(cache.len(), 3);
            assert!(cache.get("k0", 0, t).is_none() && cache.get("k1", 0, t).is_none());
            assert!(cache.get("k4", 0, t).is_some());
        }

        #[test]
        fn entries_are_bounded_in_bytes() {
            let mut cache = Cache::default();
            let t = Instant::now();
            let per = cost("k0", &body(1000));
            let limits = Limits { entries: 100, bytes: 3 * per };
            for i in 0..10 {
                cache.put(format!("k{i}"), 0, 0, body(1000), t, limits);
                assert!(cache.bytes <= limits.bytes);
            }
            assert_eq!(cache.len(), 3);
            // One answer bigger than the whole budget is served but not kept.
            cache.put("huge".into(), 0, 0, body(4 * per), t, limits);
            assert!(cache.get("huge", 0, t).is_none());
            assert_eq!(cache.len(), 3);
        }

        #[test]
        fn expired_entries_are_evicted_without_being_asked_for() {
            let mut cache = Cache::default();
            let t = Instant::now();
            cache.put("old".into(), 0, 0, body(10), t, ROOMY);
            cache.put("newer".into(), 0, 0, body(10), t + TTL / 2, ROOMY);
            // A lookup of another key, after "old" expired, drops it.
            assert!(cache.get("unrelated", 0, t + TTL + TTL / 4).is_none());
            assert_eq!(cache.len(), 1);
            assert!(cache.get("newer", 0, t + TTL + TTL / 4).is_some());
            assert!(cache.get("newer", 0, t + 2 * TTL).is_none());
            assert_eq!((cache.len(), cache.bytes, cache.order.len()), (0, 0, 0));
        }

        #[test]
        fn a_change_drops_every_entry_and_stale_reads_are_not_kept() {
            let mut cache = Cache::default();
            let t = Instant::now();
            cache.put("a".into(), 0, 0, body(10), t, ROOMY);
            assert!(cache.get("a", 1, t).is_none());
            assert_eq!(cache.len(), 0);
            // Read before change 2, stored after it: already stale.
            cache.put("b".into(), 1, 2, body(10), t, ROOMY);
            assert!(cache.get("b", 2, t).is_none());
        }

        #[test]
        fn storing_a_key_again_replaces_it_once() {
            let mut cache = Cache::default();
            let t = Instant::now();
            cache.put("a".into(), 0, 0, body(10), t, ROOMY);
            cache.put("a".into(), 0, 0, body(20), t + TTL / 2, ROOMY);
            assert_eq!(cache.len(), 1);
            assert_eq!(cache.bytes, cost("a", &body(20)));
            // The first record's expiry leaves the newer entry alone.
            assert_eq!(cache.get("a", 0, t + TTL).map(|b| b.len()), Some(20));
        }
    }
}

pub(crate) async fn list_admin_events(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = page_limit(q.limit)?;
    let filter = parse_filter(&q, true)?;
    let after: Option<(NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = db
        .read(move |c| {
            let rows = queries::list_admin(c, &actor, &filter, after, limit + 1)?;
            render_page(c, rows, limit, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

pub(crate) async fn get_admin_event(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let out = db
        .read(move |c| {
            let e = queries::find_for_actor(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such event"))?;
            render_one(c, e, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub(crate) async fn create_event(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<EventIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let draft = parse_event_in(input)?;
    let out = db
        .write(move |c| {
            let (state, hosts) = resolve_place_and_hosts(
                c,
                &actor,
                &draft.kind,
                draft.venue_id.as_deref(),
                draft.state.clone(),
                draft.host_organization_ids.clone(),
            )?;
            let ts = now();
            let row = NewEvent {
                id: new_id(),
                kind: draft.kind,
                title: draft.title,
                description: draft.description,
                starts_at: to_db_time(draft.starts_at),
                ends_at: to_db_time(draft.ends_at),
                time_zone: draft.tz.name().to_string(),
                capacity: draft.capacity,
                registration_opens_at: draft.registration_opens_at.map(to_db_time),
                registration_closes_at: draft.registration_closes_at.map(to_db_time),
                status: "draft".into(),
                venue_id: draft.venue_id,
                join_url: draft.join_url,
                state_code: state,
                created_by: Some(actor.user_id.clone()),
                created_at: ts,
                updated_at: ts,
            };
            queries::insert(c, &row, &draft.topics, &hosts)?;
            crate::audit::record(
                c,
                &actor,
                "create",
                "event",
                &row.id,
                crate::audit::Changes::fields(&[
                    "kind",
                    "title",
                    "description",
                    "starts_at",
                    "ends_at",
                    "time_zone",
                    "capacity",
                    "venue_id",
                    "join_url",
                    "state",
                    "topics",
                    "host_organization_ids",
                ]),
            )?;
            let e = queries::find(c, &row.id)?.ok_or_else(|| AppError::internal("event vanished"))?;
            render_one(c, e, true)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

pub(crate) async fn publish_event(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    MaybeJson(_body): MaybeJson<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let out = db
        .write(move |c| {
            crate::registrations::seats::lock_event_for_change(c, &id)?;
            let e = queries::find_for_actor(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such event"))?;
            match e.status.as_str() {
                "draft" => {}
                "published" => return render_one(c, e, true),
                other => return Err(AppError::conflict(format!("a {other} event cannot be published"))),
            }
            if e.ends_at <= now() {
                return Err(AppError::conflict("the event is already over"));
            }
            queries::set_status(c, &id, "published")?;
            crate::audit::record(c, &actor, "publish", "event", &id, crate::audit::Changes::fields(&["status"]))?;
            let e = queries::find(c, &id)?.ok_or_else(|| AppError::internal("event vanished"))?;
            render_one(c, e, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub(crate) async fn cancel_event(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    MaybeJson(_body): MaybeJson<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let out = db
        .write(move |c| {
            crate::registrations::seats::lock_event_for_change(c, &id)?;
            let e = queries::find_for_actor(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such event"))?;
            match e.status.as_str() {
                "cancelled" => return render_one(c, e, true),
                "completed" => return Err(AppError::conflict("a completed event cannot be cancelled")),
                _ => {}
            }
            queries::set_status(c, &id, "cancelled")?;
            crate::audit::record(c, &actor, "cancel", "event", &id, crate::audit::Changes::fields(&["status"]))?;
            for reg in crate::registrations::queries::active_ids(c, &id)? {
                notify_registration(c, &ctx, &reg, Notice::EventCancelled, None)?;
            }
            let e = queries::find(c, &id)?.ok_or_else(|| AppError::internal("event vanished"))?;
            render_one(c, e, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub(crate) async fn update_event(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(patch): JsonBody<EventPatch>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let out = db.write(move |c| apply_patch(c, &actor, &ctx, &id, patch)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Applies a PATCH in one transaction: validates against the current event, writes, changes
/// capacity (promoting from the waitlist when it grows), and emails active registrants when the
/// time or place of a published event changed.
fn apply_patch(
    conn: &mut DbConnection,
    actor: &Actor,
    ctx: &MailContext,
    id: &str,
    patch: EventPatch,
) -> Result<EventOut, AppError> {
    crate::registrations::seats::lock_event_for_change(conn, id)?;
    let e = queries::find_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such event"))?;
    if matches!(e.status.as_str(), "cancelled" | "completed") {
        return Err(AppError::conflict(format!("a {} event cannot be changed", e.status)));
    }
    let mut errs = Errors::new();
    let tz: Tz = match patch.time_zone.as_deref() {
        Some(z) => errs.take(parse_tz("time_zone", z)).unwrap_or(e.tz()),
        None => e.tz(),
    };
    let starts = match patch.starts_at.as_deref() {
        Some(v) => errs.take(parse_instant("starts_at", v, tz)),
        None => Some(from_db_time(e.starts_at)),
    };
    let ends = match patch.ends_at.as_deref() {
        Some(v) => errs.take(parse_instant("ends_at", v, tz)),
        None => Some(from_db_time(e.ends_at)),
    };
    let opens = match &patch.registration_opens_at {
        Some(Some(v)) => errs.take(parse_instant("registration_opens_at", v, tz)),
        Some(None) => None,
        None => e.registration_opens_at.map(from_db_time),
    };
    let closes = match &patch.registration_closes_at {
        Some(Some(v)) => errs.take(parse_instant("registration_closes_at", v, tz)),
        Some(None) => None,
        None => e.registration_closes_at.map(from_db_time),
    };
    let title = patch.title.as_deref().and_then(|t| errs.take(validate::text("title", t, 200)));
    let description =
        patch.description.as_deref().and_then(|d| errs.take(validate::multiline("description", d, 10_000)));
    let capacity = patch.capacity.and_then(|n| parse_capacity(&mut errs, n));
    let venue_id = patch.venue_id.as_deref().and_then(|v| errs.take(parse_id_field("venue_id", v)));
    if venue_id.is_some() && e.kind == "webinar" {
        errs.push("venue_id", "a webinar has no venue");
    }
    let join_url = patch.join_url.as_deref().and_then(|v| errs.take(validate::url("join_url", v)));
    let topics = patch.topics.as_deref().map(|t| parse_topics(&mut errs, t));
    let hosts = patch.host_organization_ids.as_deref().map(|h| parse_ids(&mut errs, "host_organization_ids", h));
    check_times(&mut errs, starts, ends, opens, closes);
    errs.finish()?;
    let (starts, ends) = (starts.unwrap(), ends.unwrap());

    let mut changes = EventChanges { updated_at: Some(now()), ..Default::default() };
    let mut notices: Vec<String> = Vec::new();
    let old_tz = e.tz();
    if let Some(t) = title {
        changes.title = Some(t);
    }
    if let Some(d) = description {
        changes.description = Some(d);
    }
    if to_db_time(starts) != e.starts_at {
        notices.push(format!(
            "Starts: {} → {}",
            human_local(from_db_time(e.starts_at), old_tz),
            human_local(starts, tz)
        ));
        changes.starts_at = Some(to_db_time(starts));
    }
    if to_db_time(ends) != e.ends_at {
        notices.push(format!("Ends: {} → {}", human_local(from_db_time(e.ends_at), old_tz), human_local(ends, tz)));
        changes.ends_at = Some(to_db_time(ends));
    }
    if tz.name() != e.time_zone {
        changes.time_zone = Some(tz.name().to_string());
    }
    if patch.registration_opens_at.is_some() {
        changes.registration_opens_at = Some(opens.map(to_db_time));
    }
    if patch.registration_closes_at.is_some() {
        changes.registration_closes_at = Some(closes.map(to_db_time));
    }
    if let Some(v) = &venue_id {
        if Some(v) != e.venue_id.as_ref() {
            let venue = crate::partners::queries::find_venue(conn, v)?
                .ok_or_else(|| AppError::field("venue_id", "no such venue"))?;
            if !actor.is_admin() {
                let own = actor.organization_id.clone().unwrap_or_default();
                if !crate::auth::scope::covers_state(conn, &own, &venue.state_code)? {
                    return Err(AppError::field(
                        "venue_id",
                        "the venue is in a state your organization does not cover",
                    ));
                }
            }
            notices.push(format!("Where: {}, {}, {}, {}", venue.name, venue.address, venue.city, venue.state_code));
            changes.venue_id = Some(Some(v.clone()));
            changes.state_code = Some(Some(venue.state_code));
        }
    }
    if let Some(j) = &join_url {
        if Some(j) != e.join_url.as_ref() {
            if e.kind != "webinar" {
                return Err(AppError::field("join_url", "only webinars have a join URL"));
            }
            notices.push("The webinar has a new join link.".into());
            changes.join_url = Some(Some(j.clone()));
        }
    }
    let material = !notices.is_empty();
    if material {
        changes.revision = Some(e.revision + 1);
    }
    crate::audit::record(
        conn,
        actor,
        "update",
        "event",
        id,
        crate::audit::Changes::of_set(&[
            ("title", changes.title.is_some()),
            ("description", changes.description.is_some()),
            ("starts_at", changes.starts_at.is_some()),
            ("ends_at", changes.ends_at.is_some()),
            ("time_zone", changes.time_zone.is_some()),
            ("registration_opens_at", changes.registration_opens_at.is_some()),
            ("registration_closes_at", changes.registration_closes_at.is_some()),
            ("venue_id", changes.venue_id.is_some()),
            ("join_url", changes.join_url.is_some()),
            ("topics", topics.is_some()),
            ("host_organization_ids", hosts.is_some()),
            ("capacity", capacity.is_some_and(|c| c != e.capacity)),
        ]),
    )?;
    queries::update(conn, id, &changes)?;
    if let Some(t) = &topics {
        queries::set_topics(conn, id, t)?;
    }
    if let Some(h) = hosts {
        actor
            .require_admin()
            .map_err(|_| AppError::Forbidden("only a national admin changes an event's hosts".into()))?;
        for (i, org) in h.iter().enumerate() {
            if !crate::partners::queries::organization_exists(conn, org)? {
                return Err(AppError::field(format!("host_organization_ids[{i}]"), "no such organization"));
            }
        }
        queries::set_hosts(conn, id, &h)?;
    }
    if let Some(cap) = capacity {
        if cap != e.capacity {
            let free = crate::registrations::seats::set_capacity(conn, id, cap)?;
            crate::registrations::queries::promote_waitlist(conn, ctx, id, free)?;
        }
    }
    if material && e.status == "published" {
        for reg in crate::registrations::queries::active_ids(conn, id)? {
            notify_registration(conn, ctx, &reg, Notice::EventChanged { changes: notices.clone() }, None)?;
        }
    }
    let e = queries::find(conn, id)?.ok_or_else(|| AppError::internal("event vanished"))?;
    render_one(conn, e, true)
}
