//! All of this feature's SQL. Staff reads and writes take the [`Actor`] and put its scope in the
//! SQL ([`crate::auth::scope::resources_filter`]); nothing here knows HTTP.
//!
//! The `q=` search is answered by a full-text index, one per engine (migration
//! `2026-12-07-001401_resources`), exactly as the event search ([`crate::events::queries`]): a GIN
//! index on the `tsvector` of the title, summary, business name and body on PostgreSQL, an FTS5
//! table kept in step by triggers on SQLite. Every word must start a word of those, in any case.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::model::{NewResource, Resource, ResourceChanges};
use crate::auth::{Actor, Role};
use crate::db::schema::{
    businesses, email_consents, event_resources, organizations, registrations, resource_states, resource_topics,
    resources,
};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{Language, RegistrationStatus, ResourceKind, ResourceStatus, StateCode, Topic};
use crate::error::AppError;

/// Filters of the resource lists ([`super::parse`] builds them).
#[derive(Debug, Default, Clone)]
pub struct ResourceFilter {
    pub topic: Option<Topic>,
    /// The resources for this state and the national ones.
    pub state: Option<StateCode>,
    pub kind: Option<ResourceKind>,
    pub q: Option<String>,
    pub language: Option<Language>,
    /// The public list always asks for `published`.
    pub status: Option<ResourceStatus>,
    pub organization_id: Option<String>,
}

/// A list's keyset position: (the time the list is ordered by, id).
pub type Cursor = (NaiveDateTime, String);

type Boxed<'a> = resources::BoxedQuery<'a, MultiBackend>;

type Condition = Box<dyn BoxableExpression<resources::table, MultiBackend, SqlType = diesel::sql_types::Bool>>;

/// The actor's scope on resources; experts manage none (403).
fn scope(actor: &Actor) -> Result<crate::auth::scope::Filter<resources::table>, AppError> {
    if actor.role == Role::Expert {
        return Err(AppError::Forbidden("experts do not manage learning resources".into()));
    }
    Ok(crate::auth::scope::resources_filter(actor))
}

fn apply_filter<'a>(mut q: Boxed<'a>, f: &ResourceFilter, postgres: bool) -> Boxed<'a> {
    if let Some(topic) = f.topic {
        q = q.filter(
            resources::id.eq_any(
                resource_topics::table
                    .filter(resource_topics::topic.eq(topic.as_str()))
                    .select(resource_topics::resource_id),
            ),
        );
    }
    if let Some(state) = &f.state {
        q = q.filter(
            national().or(resources::id.eq_any(
                resource_states::table
                    .filter(resource_states::state_code.eq(state.as_str().to_string()))
                    .select(resource_states::resource_id),
            )),
        );
    }
    if let Some(kind) = f.kind {
        q = q.filter(resources::kind.eq(kind));
    }
    if let Some(language) = f.language {
        q = q.filter(resources::language.eq(language));
    }
    if let Some(status) = f.status {
        q = q.filter(resources::status.eq(status));
    }
    if let Some(org) = &f.organization_id {
        q = q.filter(resources::organization_id.eq(org.clone()));
    }
    if let Some(text) = &f.q {
        q = q.filter(search_condition(text, postgres));
    }
    q
}

/// A resource for every state: it lists none.
fn national() -> Condition {
    Box::new(not(exists(resource_states::table.filter(resource_states::resource_id.eq(resources::id)))))
}

/// PostgreSQL: the indexed expression (migration `2026-12-07-001401_resources`, which must say
/// exactly the same) against a prefix query of every word.
const PG_SEARCH: &str = "to_tsvector('simple', resources.title || ' ' || resources.summary || ' ' || \
                         coalesce(resources.business_name, '') || ' ' || resources.body_markdown) @@ to_tsquery('simple', ";

/// SQLite: the resources whose FTS5 rows match.
const SQLITE_SEARCH: &str = "resources.search_rowid IN (SELECT rowid FROM resources_fts WHERE resources_fts MATCH ";

/// The SQL condition of a `q=` search (see [`crate::events::queries::search_words`]: only runs of
/// letters and digits reach the engine's search syntax). Text without any word matches nothing.
fn search_condition(text: &str, postgres: bool) -> Condition {
    use diesel::sql_types::{Bool, Text};
    let words = crate::events::queries::search_words(text);
    if words.is_empty() {
        return Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
    }
    let sql = if postgres { PG_SEARCH } else { SQLITE_SEARCH };
    let query = crate::events::queries::engine_query(&words, postgres);
    Box::new(diesel::dsl::sql::<Bool>(sql).bind::<Text, _>(query).sql(")"))
}

/// How the database answers the search condition on its own (PostgreSQL's `EXPLAIN`, SQLite's
/// `EXPLAIN QUERY PLAN`), one line per row: for checking that the full-text index answers it.
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
    let words = crate::events::queries::search_words(text);
    let query = crate::events::queries::engine_query(&words, postgres);
    let sql = if postgres {
        format!("EXPLAIN SELECT resources.id FROM resources WHERE {PG_SEARCH}$1)")
    } else {
        format!("EXPLAIN QUERY PLAN SELECT resources.id FROM resources WHERE {SQLITE_SEARCH}$1)")
    };
    let q = diesel::sql_query(sql).bind::<Text, _>(query);
    Ok(if postgres {
        q.load::<PgLine>(conn)?.into_iter().map(|l| l.line).collect()
    } else {
        q.load::<SqliteLine>(conn)?.into_iter().map(|l| l.detail).collect()
    })
}

/// Published resources matching `filter`, newest first, keyset-paginated on (published_at, id).
pub fn list_public(
    conn: &mut DbConnection,
    filter: &ResourceFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Resource>, AppError> {
    let postgres = conn.is_postgres();
    let mut q = apply_filter(resources::table.into_boxed(), filter, postgres)
        .filter(resources::status.eq(ResourceStatus::Published));
    if let Some((at, id)) = after {
        q = q.filter(resources::published_at.lt(at).or(resources::published_at.eq(at).and(resources::id.lt(id))));
    }
    Ok(q.order((resources::published_at.desc(), resources::id.desc())).limit(limit).load(conn)?)
}

/// Resources the actor manages matching `filter`, newest first, keyset-paginated on
/// (created_at, id).
pub fn list_admin(
    conn: &mut DbConnection,
    actor: &Actor,
    filter: &ResourceFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Resource>, AppError> {
    let postgres = conn.is_postgres();
    let mut q = apply_filter(resources::table.into_boxed(), filter, postgres).filter(scope(actor)?);
    if let Some((at, id)) = after {
        q = q.filter(resources::created_at.lt(at).or(resources::created_at.eq(at).and(resources::id.lt(id))));
    }
    Ok(q.order((resources::created_at.desc(), resources::id.desc())).limit(limit).load(conn)?)
}

/// A published resource; drafts are not public.
pub fn find_public(conn: &mut DbConnection, id: &str) -> Result<Option<Resource>, AppError> {
    Ok(resources::table.find(id).filter(resources::status.eq(ResourceStatus::Published)).first(conn).optional()?)
}

/// A resource the actor manages; `None` for one it may not see (→ 404).
pub fn find_for_actor(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Resource>, AppError> {
    Ok(resources::table.filter(resources::id.eq(id.to_string())).filter(scope(actor)?).first(conn).optional()?)
}

/// A resource the actor manages, its row locked until the transaction ends on PostgreSQL (SQLite
/// writes are serialized already), so two changes of one resource happen one after the other.
pub fn lock_for_actor(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Resource>, AppError> {
    if conn.is_postgres() {
        diesel::sql_query("SELECT 1 FROM resources WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(conn)?;
    }
    find_for_actor(conn, actor, id)
}

/// A resource by id, whoever may see it.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Resource>, AppError> {
    Ok(resources::table.find(id).first(conn).optional()?)
}

pub fn insert(
    conn: &mut DbConnection,
    row: &NewResource,
    topics: &[Topic],
    states: &[StateCode],
) -> Result<(), AppError> {
    diesel::insert_into(resources::table).values(row).execute(conn)?;
    set_topics(conn, &row.id, topics)?;
    set_states(conn, &row.id, states)
}

pub fn update(conn: &mut DbConnection, id: &str, changes: &ResourceChanges) -> Result<(), AppError> {
    diesel::update(resources::table.find(id)).set(changes).execute(conn)?;
    Ok(())
}

pub fn set_topics(conn: &mut DbConnection, id: &str, topics: &[Topic]) -> Result<(), AppError> {
    diesel::delete(resource_topics::table.filter(resource_topics::resource_id.eq(id))).execute(conn)?;
    for t in topics {
        diesel::insert_into(resource_topics::table)
            .values((resource_topics::resource_id.eq(id), resource_topics::topic.eq(t.as_str())))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_states(conn: &mut DbConnection, id: &str, states: &[StateCode]) -> Result<(), AppError> {
    diesel::delete(resource_states::table.filter(resource_states::resource_id.eq(id))).execute(conn)?;
    for s in states {
        diesel::insert_into(resource_states::table)
            .values((resource_states::resource_id.eq(id), resource_states::state_code.eq(s.as_str())))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a resource (its topics, states and attachments go with it).
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(resources::table.find(id)).execute(conn)?;
    Ok(())
}

/// The first of `codes` that is not a state in the `states` table, by index.
pub fn unknown_state(conn: &mut DbConnection, codes: &[&str]) -> Result<Option<usize>, AppError> {
    use crate::db::schema::states;
    if codes.is_empty() {
        return Ok(None);
    }
    let known: Vec<String> = states::table.filter(states::code.eq_any(codes)).select(states::code).load(conn)?;
    Ok(codes.iter().position(|c| !known.iter().any(|k| k == c)))
}

/// The topics of each resource, sorted. A stored word outside the vocabulary (a row written by
/// hand) is left out.
pub fn topics_of(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, Vec<Topic>>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = resource_topics::table
        .filter(resource_topics::resource_id.eq_any(ids))
        .order((resource_topics::resource_id, resource_topics::topic))
        .select((resource_topics::resource_id, resource_topics::topic))
        .load(conn)?;
    let mut out: HashMap<String, Vec<Topic>> = HashMap::new();
    for (id, topic) in rows {
        if let Ok(t) = topic.parse::<Topic>() {
            out.entry(id).or_default().push(t);
        }
    }
    Ok(out)
}

/// The states of each resource, sorted (none: national).
pub fn states_of(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, Vec<String>>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = resource_states::table
        .filter(resource_states::resource_id.eq_any(ids))
        .order((resource_states::resource_id, resource_states::state_code))
        .select((resource_states::resource_id, resource_states::state_code))
        .load(conn)?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (id, state) in rows {
        out.entry(id).or_default().push(state);
    }
    Ok(out)
}

/// The names of these organizations, by id.
pub fn organization_names(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = organizations::table
        .filter(organizations::id.eq_any(ids))
        .select((organizations::id, organizations::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The resources staff attached to an event, in their order; published ones only if asked.
pub fn attached(conn: &mut DbConnection, event_id: &str, published_only: bool) -> Result<Vec<Resource>, AppError> {
    let mut q = event_resources::table
        .inner_join(resources::table)
        .filter(event_resources::event_id.eq(event_id.to_string()))
        .select(resources::all_columns)
        .order((event_resources::position, event_resources::resource_id))
        .into_boxed();
    if published_only {
        q = q.filter(resources::status.eq(ResourceStatus::Published));
    }
    Ok(q.load(conn)?)
}

/// Replaces the resources attached to an event by `ids`, in that order.
pub fn set_attached(conn: &mut DbConnection, event_id: &str, ids: &[String]) -> Result<(), AppError> {
    diesel::delete(event_resources::table.filter(event_resources::event_id.eq(event_id))).execute(conn)?;
    for (position, id) in ids.iter().enumerate() {
        diesel::insert_into(event_resources::table)
            .values((
                event_resources::event_id.eq(event_id),
                event_resources::resource_id.eq(id),
                event_resources::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Of `ids`, the resources the actor may attach to an event: those it manages (drafts included)
/// and every published one, by id.
pub fn attachable(conn: &mut DbConnection, actor: &Actor, ids: &[String]) -> Result<Vec<String>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(resources::table
        .filter(resources::id.eq_any(ids))
        .filter(scope(actor)?.or(Box::new(resources::status.eq(ResourceStatus::Published)) as Condition))
        .select(resources::id)
        .load(conn)?)
}

/// The published recordings of an event, newest first.
pub fn recordings_of(conn: &mut DbConnection, event_id: &str) -> Result<Vec<Resource>, AppError> {
    Ok(resources::table
        .filter(resources::event_id.eq(event_id.to_string()))
        .filter(resources::status.eq(ResourceStatus::Published))
        .order((resources::published_at.desc(), resources::id.desc()))
        .load(conn)?)
}

/// How many resources sharing a topic with an event are ranked for its related list: the newest
/// ones, so the work of one request is bounded however many resources there are.
pub const TOPIC_CANDIDATES: i64 = 200;

/// Published resources sharing at least one of `topics`, for the event's `state` (national ones,
/// and that state's; any state for a national event), newest first, at most
/// [`TOPIC_CANDIDATES`].
pub fn sharing_topics(
    conn: &mut DbConnection,
    topics: &[Topic],
    state: Option<&str>,
) -> Result<Vec<Resource>, AppError> {
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    let words: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
    let mut q = resources::table
        .filter(resources::status.eq(ResourceStatus::Published))
        .filter(resources::id.eq_any(
            resource_topics::table.filter(resource_topics::topic.eq_any(words)).select(resource_topics::resource_id),
        ))
        .into_boxed();
    if let Some(state) = state {
        q = q.filter(
            national().or(resources::id.eq_any(
                resource_states::table
                    .filter(resource_states::state_code.eq(state.to_string()))
                    .select(resource_states::resource_id),
            )),
        );
    }
    Ok(q.order((resources::published_at.desc(), resources::id.desc())).limit(TOPIC_CANDIDATES).load(conn)?)
}

/// The registrations of a webinar that are told its recording is out: confirmed or attended, with
/// an address that accepts marketing mail (the same rules as the follow-up, in
/// [`crate::jobs`]), of a business not erased. By id.
pub fn recording_audience(conn: &mut DbConnection, event_id: &str) -> Result<Vec<String>, AppError> {
    Ok(registrations::table
        .inner_join(businesses::table)
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq_any([RegistrationStatus::Confirmed, RegistrationStatus::Attended]))
        .filter(registrations::attendee_email.is_not_null())
        .filter(exists(
            email_consents::table
                .filter(email_consents::email.nullable().eq(registrations::attendee_email))
                .filter(email_consents::marketing_consent.eq(true))
                .filter(email_consents::unsubscribed_at.is_null()),
        ))
        .filter(businesses::deleted_at.is_null())
        .order(registrations::id)
        .select(registrations::id)
        .load(conn)?)
}

/// Serializes changes of one event's attachments (PostgreSQL: `FOR NO KEY UPDATE` on the event
/// row, which registrations, holding `KEY SHARE`, do not wait for; SQLite writes are serialized
/// already). An unknown event locks nothing (the caller answers 404).
pub fn lock_event_attachments(conn: &mut DbConnection, event_id: &str) -> Result<(), AppError> {
    if conn.is_postgres() {
        diesel::sql_query("SELECT 1 FROM events WHERE id = $1 FOR NO KEY UPDATE")
            .bind::<diesel::sql_types::Text, _>(event_id)
            .execute(conn)?;
    }
    Ok(())
}
