//! An event's related resources (`GET /api/v1/events/{id}/resources`, and the links of the
//! follow-up and "recording available" emails). Only published resources, best first, at most the
//! caller's limit:
//!
//! 1. the event's recordings (resources of kind `recording` naming it), newest first;
//! 2. then the resources staff attached to it, in their order;
//! 3. only when there are neither, the resources sharing at least one topic with it, for its
//!    state (national ones and that state's; any for a national event), ranked: the requested
//!    language first (when one is asked for), then more topics shared, then those listing the
//!    event's state before national ones, then newest. The candidates are the
//!    [`super::queries::TOPIC_CANDIDATES`] newest, so one request's work is bounded.

use std::cmp::Reverse;

use super::model::Resource;
use super::queries;
use super::render::Extras;
use super::wire::{RelatedResourceOut, Relation};
use crate::db::DbConnection;
use crate::domain::{Language, Topic};
use crate::error::AppError;
use crate::events::model::Event;

/// The related resources of `event` with why each is there.
pub fn of_event(
    conn: &mut DbConnection,
    event: &Event,
    language: Option<Language>,
    limit: usize,
) -> Result<Vec<(Resource, Relation)>, AppError> {
    let mut chosen: Vec<(Resource, Relation)> =
        queries::recordings_of(conn, &event.id)?.into_iter().map(|r| (r, Relation::Recording)).collect();
    for r in queries::attached(conn, &event.id, true)? {
        if !chosen.iter().any(|(c, _)| c.id == r.id) {
            chosen.push((r, Relation::Attached));
        }
    }
    if chosen.is_empty() {
        let topics: Vec<Topic> = event.topics().iter().filter_map(|t| t.parse().ok()).collect();
        let candidates = queries::sharing_topics(conn, &topics, event.state_code.as_deref())?;
        let x = Extras::load(conn, &candidates)?;
        let mut ranked: Vec<(Resource, (bool, usize, bool))> = candidates
            .into_iter()
            .map(|r| {
                let shared = x.topics(&r.id).iter().filter(|t| topics.contains(t)).count();
                let local = event.state_code.as_ref().is_some_and(|s| x.states(&r.id).contains(s));
                let in_language = language == Some(r.language);
                (r, (in_language, shared, local))
            })
            .collect();
        // Stable: among equals the candidates keep their newest-first order.
        ranked.sort_by_key(|(_, (in_language, shared, local))| {
            (Reverse(*in_language), Reverse(*shared), Reverse(*local))
        });
        chosen = ranked.into_iter().map(|(r, _)| (r, Relation::Topics)).collect();
    }
    chosen.truncate(limit);
    Ok(chosen)
}

/// [`of_event`] as the answer gives it.
pub fn answer(
    conn: &mut DbConnection,
    related: Vec<(Resource, Relation)>,
) -> Result<Vec<RelatedResourceOut>, AppError> {
    let rows: Vec<Resource> = related.iter().map(|(r, _)| r.clone()).collect();
    let x = Extras::load(conn, &rows)?;
    Ok(related.into_iter().map(|(r, relation)| RelatedResourceOut { resource: x.card(&r), relation }).collect())
}

/// How many related resources an email links to.
pub const EMAIL_LINKS: usize = 5;

/// The related resources of the event `event_id` for an email, as (id, title), leaving out
/// `except` (the recording an email announces). Empty for an unknown event.
pub fn email_links(
    conn: &mut DbConnection,
    event_id: &str,
    except: Option<&str>,
) -> Result<Vec<(String, String)>, AppError> {
    let Some(event) = crate::events::queries::find(conn, event_id)? else { return Ok(Vec::new()) };
    Ok(of_event(conn, &event, None, EMAIL_LINKS + 1)?
        .into_iter()
        .filter(|(r, _)| Some(r.id.as_str()) != except)
        .take(EMAIL_LINKS)
        .map(|(r, _)| (r.id, r.title))
        .collect())
}
