//! An event's life in staff hands: created as a draft, published, cancelled (the scheduler marks
//! ended events completed, [`super::queries::complete_ended`]; changes are [`super::patch`]).
//!
//! Each function runs inside the caller's write transaction, scoped to the actor (an event it may
//! not manage is a 404), records the change in the audit trail and returns the event as it now
//! is. Publishing and cancelling lock the event row first, so registrations in flight either
//! commit before (and are emailed the cancellation) or see the new status; asking again for the
//! state an event is already in answers with the event unchanged.

use super::model::{Event, NewEvent};
use super::parse::EventDraft;
use super::placement::place_new;
use super::queries;
use crate::audit::{self, Changes};
use crate::auth::Actor;
use crate::db::{new_id, now, to_db_time, DbConnection};
use crate::domain::EventStatus;
use crate::error::AppError;
use crate::mail::{notify_registration, MailContext, Notice};
use crate::registrations::seats::lock_event_for_change;

/// The fields a new event sets, for the audit trail.
const CREATED_FIELDS: &[&str] = &[
    "kind",
    "title",
    "description",
    "title_es",
    "description_es",
    "starts_at",
    "ends_at",
    "time_zone",
    "capacity",
    "venue_id",
    "join_url",
    "state",
    "topics",
    "host_organization_ids",
];

/// Stores a new draft, placed and hosted as the actor may ([`place_new`]).
pub fn create(conn: &mut DbConnection, actor: &Actor, draft: EventDraft) -> Result<Event, AppError> {
    let placement = place_new(conn, actor, &draft)?;
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
        status: EventStatus::Draft,
        venue_id: draft.venue_id,
        join_url: draft.join_url,
        state_code: placement.state.map(String::from),
        created_by: Some(actor.user_id.clone()),
        created_at: ts,
        updated_at: ts,
        title_es: draft.title_es,
        description_es: draft.description_es,
    };
    queries::insert(conn, &row, &draft.topics, &placement.hosts)?;
    audit::record(conn, actor, "create", "event", &row.id, Changes::fields(CREATED_FIELDS))?;
    reread(conn, &row.id)
}

/// Publishes a draft that has not ended; a cancelled or completed event is a 409.
pub fn publish(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Event, AppError> {
    let e = lock_and_find(conn, actor, id)?;
    match e.status {
        EventStatus::Draft => {}
        EventStatus::Published => return Ok(e),
        other @ (EventStatus::Cancelled | EventStatus::Completed) => {
            return Err(AppError::conflict(format!("a {other} event cannot be published")))
        }
    }
    if e.ends_at <= now() {
        return Err(AppError::conflict("the event is already over"));
    }
    queries::set_status(conn, id, EventStatus::Published)?;
    audit::record(conn, actor, "publish", "event", id, Changes::fields(&["status"]))?;
    reread(conn, id)
}

/// Cancels a draft or published event and emails every active registrant a calendar
/// cancellation; a completed event is a 409.
pub fn cancel(conn: &mut DbConnection, ctx: &MailContext, actor: &Actor, id: &str) -> Result<Event, AppError> {
    let e = lock_and_find(conn, actor, id)?;
    match e.status {
        EventStatus::Draft | EventStatus::Published => {}
        EventStatus::Cancelled => return Ok(e),
        EventStatus::Completed => return Err(AppError::conflict("a completed event cannot be cancelled")),
    }
    queries::set_status(conn, id, EventStatus::Cancelled)?;
    audit::record(conn, actor, "cancel", "event", id, Changes::fields(&["status"]))?;
    for reg in crate::registrations::queries::active_ids(conn, id)? {
        notify_registration(conn, ctx, &reg, Notice::EventCancelled, None)?;
    }
    crate::experts::queries::event_cancelled(conn, ctx, id)?;
    crate::webhooks::emit(
        conn,
        crate::webhooks::EventType::EventCancelled,
        Some(id),
        id,
        serde_json::json!({"event_id": id, "status": EventStatus::Cancelled}),
    )?;
    reread(conn, id)
}

/// Locks the event against registrations ([`lock_event_for_change`]) and reads it, if the actor
/// may manage it (else 404).
pub(super) fn lock_and_find(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Event, AppError> {
    lock_event_for_change(conn, id)?;
    queries::find_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such event"))
}

/// The event after a change in this transaction.
pub(super) fn reread(conn: &mut DbConnection, id: &str) -> Result<Event, AppError> {
    queries::find(conn, id)?.ok_or_else(|| AppError::internal("event vanished"))
}
