//! Requests → domain values ("parse, don't validate"): a create body becomes an [`EventDraft`],
//! a PATCH body read against the current event an [`EventEdit`], list parameters an
//! [`EventFilter`]. Each parser names every bad field in one answer (422 for bodies, 400 for
//! query parameters) and hands on typed values: an [`EventKind`], a [`Tz`], UTC instants.
//!
//! Times are RFC 3339 with an offset, or a local date-time read in the event's zone
//! ([`crate::time::parse_instant`]): a local time that does not exist (spring forward) or happens
//! twice (fall back) is refused naming the field, unless an offset settles it. An event lasts at
//! most 14 days; registration closes after it opens and not after the event ends.
//!
//! What needs the database (the venue, the state, the hosts, the actor's reach) is checked in
//! [`super::placement`].

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::model::Event;
use super::queries::EventFilter;
use super::wire::{EventIn, EventListQuery, EventPatch};
use crate::db::{from_db_time, now, to_db_time};
use crate::domain::{EventKind, EventStatus, Topic};
use crate::error::{AppError, FieldError};
use crate::time::{parse_instant, parse_tz};
use crate::validate::{self, Errors};
use crate::wire::Patch;

/// Most seats an event may have.
pub const MAX_CAPACITY: i64 = 1_000_000;
/// Longest an event may last.
const MAX_DAYS: i64 = 14;

/// A new event, parsed; the venue, state and hosts are checked against the database when it is
/// stored ([`super::placement::place_new`]).
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    pub title_es: Option<String>,
    pub description_es: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub tz: Tz,
    pub capacity: i32,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub state: Option<crate::domain::StateCode>,
    pub topics: Vec<Topic>,
    pub host_organization_ids: Option<Vec<String>>,
}

/// A PATCH, parsed against the event it changes. `None` leaves a value as it is; the times are
/// the event's times after the change (the old ones when not given), already checked together.
#[derive(Debug, Clone)]
pub struct EventEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub title_es: Patch<String>,
    pub description_es: Patch<String>,
    pub tz: Tz,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub registration_opens_at: Patch<DateTime<Utc>>,
    pub registration_closes_at: Patch<DateTime<Utc>>,
    pub capacity: Option<i32>,
    pub venue_id: Option<String>,
    pub join_url: Option<String>,
    pub topics: Option<Vec<Topic>>,
    pub host_organization_ids: Option<Vec<String>>,
}

/// The errors collected so far as one 422. A value missing with no error recorded would be a bug
/// in a parser here: a 500, not a silent default.
fn rejected(errs: Errors) -> AppError {
    match errs.finish() {
        Err(e) => e,
        Ok(()) => AppError::internal("an event field was missing without an error"),
    }
}

/// Parses the create body; errors name every bad field at once.
pub fn event_in(input: EventIn) -> Result<EventDraft, AppError> {
    let mut errs = Errors::new();
    let kind = errs.take(input.kind.trim().parse::<EventKind>().map_err(|m| FieldError::new("kind", m)));
    let title = errs.take(validate::text("title", &input.title, 200));
    let description =
        input.description.as_deref().and_then(|d| errs.take(validate::multiline("description", d, 10_000)));
    let title_es = input.title_es.as_deref().and_then(|t| errs.take(validate::text("title_es", t, 200)));
    let description_es =
        input.description_es.as_deref().and_then(|d| errs.take(validate::multiline("description_es", d, 10_000)));
    let tz = match input.time_zone.as_deref() {
        Some(z) => errs.take(parse_tz("time_zone", z)),
        None => {
            errs.push("time_zone", "is required (an IANA zone like America/Chicago)");
            None
        }
    };
    let (starts_at, ends_at, opens, closes) = match tz {
        Some(tz) => {
            let mut at = |field: &str, v: &str| errs.take(parse_instant(field, v, tz));
            let s = at("starts_at", &input.starts_at);
            let e = at("ends_at", &input.ends_at);
            let o = input.registration_opens_at.as_deref().and_then(|v| at("registration_opens_at", v));
            let c = input.registration_closes_at.as_deref().and_then(|v| at("registration_closes_at", v));
            (s, e, o, c)
        }
        None => (None, None, None, None),
    };
    let capacity = parse_capacity(&mut errs, input.capacity);
    let venue_id = input.venue_id.as_deref().and_then(|v| errs.take(parse_id("venue_id", v)));
    let join_url = input.join_url.as_deref().and_then(|v| errs.take(validate::url("join_url", v)));
    let state = input.state.as_deref().and_then(|v| errs.take(validate::state_code("state", v)));
    let topics = parse_topics(&mut errs, input.topics.as_deref().unwrap_or(&[]));
    let hosts = input.host_organization_ids.as_deref().map(|h| parse_ids(&mut errs, "host_organization_ids", h));
    match kind {
        Some(EventKind::RoadshowStop) if input.venue_id.is_none() => {
            errs.push("venue_id", "is required for a roadshow stop")
        }
        Some(EventKind::Webinar) if input.join_url.is_none() => errs.push("join_url", "is required for a webinar"),
        Some(EventKind::Webinar) if input.venue_id.is_some() => errs.push("venue_id", "a webinar has no venue"),
        _ => {}
    }
    check_times(&mut errs, starts_at, ends_at, opens, closes);
    let (Some(kind), Some(title), Some(tz), Some(starts_at), Some(ends_at), Some(capacity)) =
        (kind, title, tz, starts_at, ends_at, capacity)
    else {
        return Err(rejected(errs));
    };
    errs.finish()?;
    Ok(EventDraft {
        kind,
        title,
        description: description.unwrap_or_default(),
        title_es,
        description_es: description_es.filter(|d| !d.is_empty()),
        starts_at,
        ends_at,
        tz,
        capacity,
        registration_opens_at: opens,
        registration_closes_at: closes,
        venue_id,
        join_url,
        state,
        topics,
        host_organization_ids: hosts,
    })
}

/// Parses a PATCH against the event `e` it changes: times given without an offset are read in
/// the new zone if there is one, else the event's; the times after the change are checked
/// together.
pub fn event_patch(patch: EventPatch, e: &Event) -> Result<EventEdit, AppError> {
    let mut errs = Errors::new();
    let tz: Tz = match patch.time_zone.as_deref() {
        Some(z) => errs.take(parse_tz("time_zone", z)).unwrap_or(e.tz()),
        None => e.tz(),
    };
    let mut at = |field: &str, v: &str| errs.take(parse_instant(field, v, tz));
    let starts = match patch.starts_at.as_deref() {
        Some(v) => at("starts_at", v),
        None => Some(from_db_time(e.starts_at)),
    };
    let ends = match patch.ends_at.as_deref() {
        Some(v) => at("ends_at", v),
        None => Some(from_db_time(e.ends_at)),
    };
    let mut change = |field: &str, p: Patch<String>| match p {
        Patch::Absent => Some(Patch::Absent),
        Patch::Null => Some(Patch::Null),
        Patch::Value(v) => at(field, &v).map(Patch::Value),
    };
    // `None`: a value that did not parse (its error is recorded).
    let opens = change("registration_opens_at", patch.registration_opens_at);
    let closes = change("registration_closes_at", patch.registration_closes_at);
    let title = patch.title.as_deref().and_then(|t| errs.take(validate::text("title", t, 200)));
    let description =
        patch.description.as_deref().and_then(|d| errs.take(validate::multiline("description", d, 10_000)));
    let mut spanish = |field: &str, p: Patch<String>, max: usize| match p {
        Patch::Absent => Some(Patch::Absent),
        Patch::Null => Some(Patch::Null),
        Patch::Value(v) if max == 200 => errs.take(validate::text(field, &v, max)).map(Patch::Value),
        Patch::Value(v) => errs.take(validate::multiline(field, &v, max)).map(Patch::Value),
    };
    let title_es = spanish("title_es", patch.title_es, 200);
    let description_es = spanish("description_es", patch.description_es, 10_000);
    let capacity = patch.capacity.and_then(|n| parse_capacity(&mut errs, n));
    let venue_id = patch.venue_id.as_deref().and_then(|v| errs.take(parse_id("venue_id", v)));
    if venue_id.is_some() && e.kind == EventKind::Webinar {
        errs.push("venue_id", "a webinar has no venue");
    }
    let join_url = patch.join_url.as_deref().and_then(|v| errs.take(validate::url("join_url", v)));
    let topics = patch.topics.as_deref().map(|t| parse_topics(&mut errs, t));
    let hosts = patch.host_organization_ids.as_deref().map(|h| parse_ids(&mut errs, "host_organization_ids", h));
    check_times(
        &mut errs,
        starts,
        ends,
        after(&opens, e.registration_opens_at),
        after(&closes, e.registration_closes_at),
    );
    let (Some(starts_at), Some(ends_at), Some(opens), Some(closes), Some(title_es), Some(description_es)) =
        (starts, ends, opens, closes, title_es, description_es)
    else {
        return Err(rejected(errs));
    };
    errs.finish()?;
    Ok(EventEdit {
        title,
        description,
        title_es,
        description_es,
        tz,
        starts_at,
        ends_at,
        registration_opens_at: opens,
        registration_closes_at: closes,
        capacity,
        venue_id,
        join_url,
        topics,
        host_organization_ids: hosts,
    })
}

/// A nullable time after a change: the new value, none, or the `current` one; `None` also when
/// the new value did not parse (there is nothing to check it against then).
fn after(change: &Option<Patch<Instant>>, current: Option<NaiveDateTime>) -> Option<Instant> {
    match change {
        Some(Patch::Absent) => current.map(from_db_time),
        Some(Patch::Value(v)) => Some(*v),
        Some(Patch::Null) | None => None,
    }
}

/// The filters of the public list: published events still to come or under way unless `from`
/// says otherwise. Bad parameters are a 400 naming the parameter.
pub fn public_filter(q: &EventListQuery) -> Result<EventFilter, AppError> {
    let mut filter = filter(q)?;
    if filter.from.is_none() {
        filter.from = Some(now());
    }
    Ok(filter)
}

/// The filters of the staff list: the public ones, and a status.
pub fn admin_filter(q: &EventListQuery, status: Option<&str>) -> Result<EventFilter, AppError> {
    let mut filter = filter(q)?;
    filter.status =
        status.map(|s| s.parse::<EventStatus>().map_err(|m| AppError::bad_field("status", m))).transpose()?;
    Ok(filter)
}

fn filter(q: &EventListQuery) -> Result<EventFilter, AppError> {
    let bad = |e: FieldError| AppError::BadRequest { detail: format!("`{}` {}", e.field, e.message), errors: vec![e] };
    let state = q.state.as_deref().map(|s| validate::state_code("state", s)).transpose().map_err(bad)?;
    let kind =
        q.kind.as_deref().map(|k| k.parse::<EventKind>().map_err(|m| AppError::bad_field("kind", m))).transpose()?;
    let when = |field: &str, v: &Option<String>| {
        v.as_deref().map(|s| parse_instant(field, s, chrono_tz::UTC).map(to_db_time)).transpose().map_err(bad)
    };
    let from = when("from", &q.from)?;
    let to = when("to", &q.to)?;
    let text = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(AppError::bad_field("q", "must be at most 200 characters"));
    }
    let topic = q
        .topic
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.to_ascii_lowercase().parse::<Topic>().map_err(|m| AppError::bad_field("topic", m)))
        .transpose()?;
    Ok(EventFilter { state, kind, topic, from, to, q: text, status: None })
}

/// Topics from the program's vocabulary ([`Topic`], shared with the experts), in any case and
/// without duplicates, at most 20 given; a word outside the vocabulary is named by its index
/// with the accepted values, as an expert profile's is.
fn parse_topics(errs: &mut Errors, topics: &[String]) -> Vec<Topic> {
    if topics.len() > 20 {
        errs.push("topics", "at most 20 topics");
    }
    let mut out: Vec<Topic> = Vec::new();
    for (i, t) in topics.iter().enumerate() {
        match t.trim().to_ascii_lowercase().parse::<Topic>() {
            Ok(t) if !out.contains(&t) => out.push(t),
            Ok(_) => {}
            Err(m) => errs.push(format!("topics[{i}]"), m),
        }
    }
    out
}

/// A list of UUIDs in their stored form, without duplicates; a bad one is named by its index.
fn parse_ids(errs: &mut Errors, field: &str, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, raw) in ids.iter().enumerate() {
        if let Some(id) = errs.take(parse_id(&format!("{field}[{i}]"), raw)) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

fn parse_id(field: &str, raw: &str) -> Result<String, FieldError> {
    uuid::Uuid::parse_str(raw).map(|u| u.to_string()).map_err(|_| FieldError::new(field, "is not a valid UUID"))
}

fn parse_capacity(errs: &mut Errors, capacity: i64) -> Option<i32> {
    match i32::try_from(capacity) {
        Ok(n) if (0..=MAX_CAPACITY).contains(&capacity) => Some(n),
        _ => {
            errs.push("capacity", format!("must be between 0 and {MAX_CAPACITY}"));
            None
        }
    }
}

type Instant = DateTime<Utc>;

fn check_times(errs: &mut Errors, s: Option<Instant>, e: Option<Instant>, o: Option<Instant>, c: Option<Instant>) {
    if let (Some(s), Some(e)) = (s, e) {
        if e <= s {
            errs.push("ends_at", "must be after starts_at");
        } else if e - s > chrono::Duration::days(MAX_DAYS) {
            errs.push("ends_at", format!("an event lasts at most {MAX_DAYS} days"));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> EventIn {
        serde_json::from_value(v).expect("an EventIn")
    }

    fn fields(err: AppError) -> Vec<String> {
        match err {
            AppError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_webinar_parses_into_typed_values() {
        let d = event_in(body(serde_json::json!({
            "kind": " webinar ", "title": " Grow ", "starts_at": "2031-03-12T09:00:00", "ends_at": "2031-03-12T10:00:00",
            "time_zone": "America/Chicago", "capacity": 5, "join_url": "https://meet.example.org/x",
            "topics": ["Video", " video", "local-seo"], "host_organization_ids": ["7D1C3F0E-2B8A-4C61-9A55-1F0A3E2B9C44"]
        })))
        .unwrap();
        assert_eq!(d.kind, EventKind::Webinar);
        assert_eq!(d.title, "Grow");
        assert_eq!(d.tz, chrono_tz::America::Chicago);
        assert_eq!(crate::time::utc_string(d.starts_at), "2031-03-12T14:00:00Z");
        assert_eq!(d.topics, [Topic::Video, Topic::LocalSeo]);
        assert_eq!(d.host_organization_ids.unwrap(), ["7d1c3f0e-2b8a-4c61-9a55-1f0a3e2b9c44"]);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let err = event_in(body(serde_json::json!({
            "kind": "party", "title": "", "starts_at": "tomorrow", "ends_at": "2031-01-01T10:00:00",
            "time_zone": "Mars/Base", "capacity": -1, "topics": ["content", "instagram"], "host_organization_ids": ["x"]
        })))
        .unwrap_err();
        let f = fields(err);
        for want in ["kind", "title", "time_zone", "capacity", "topics[1]", "host_organization_ids[0]"] {
            assert!(f.iter().any(|x| x == want), "{want} missing in {f:?}");
        }
    }

    #[test]
    fn kinds_bring_their_own_requirements() {
        let base = |kind: &str| {
            serde_json::json!({"kind": kind, "title": "T", "starts_at": "2031-01-01T10:00:00Z",
                "ends_at": "2031-01-01T11:00:00Z", "time_zone": "UTC", "capacity": 1})
        };
        assert_eq!(fields(event_in(body(base("roadshow_stop"))).unwrap_err()), ["venue_id"]);
        assert_eq!(fields(event_in(body(base("webinar"))).unwrap_err()), ["join_url"]);
        let mut long = base("roadshow_stop");
        long["venue_id"] = serde_json::json!(uuid::Uuid::new_v4().to_string());
        long["ends_at"] = serde_json::json!("2031-01-16T10:00:00Z");
        assert_eq!(fields(event_in(body(long)).unwrap_err()), ["ends_at"]);
    }

    #[test]
    fn list_filters_are_typed_and_bad_ones_are_400s() {
        let q = EventListQuery { kind: Some("webinar".into()), state: Some("tx".into()), ..Default::default() };
        let f = public_filter(&q).unwrap();
        assert_eq!((f.kind, f.state.as_deref()), (Some(EventKind::Webinar), Some("TX")));
        assert!(f.from.is_some(), "the public list starts now");
        let f = admin_filter(&EventListQuery::default(), Some("draft")).unwrap();
        assert_eq!((f.status, f.from), (Some(EventStatus::Draft), None));
        let bad = |q: EventListQuery| matches!(public_filter(&q), Err(AppError::BadRequest { .. }));
        assert!(bad(EventListQuery { kind: Some("concert".into()), ..Default::default() }));
        assert!(bad(EventListQuery { from: Some("yesterday".into()), ..Default::default() }));
        assert!(bad(EventListQuery { q: Some("x".repeat(201)), ..Default::default() }));
        assert!(bad(EventListQuery { topic: Some("instagram".into()), ..Default::default() }));
        let f = public_filter(&EventListQuery { topic: Some(" Video ".into()), ..Default::default() }).unwrap();
        assert_eq!(f.topic, Some(Topic::Video));
        assert!(matches!(admin_filter(&EventListQuery::default(), Some("gone")), Err(AppError::BadRequest { .. })));
    }
}
