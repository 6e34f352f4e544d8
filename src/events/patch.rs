//! Changing an event (`PATCH /api/v1/admin/events/{id}`), in one transaction: the body is parsed
//! against the locked current event ([`super::parse::event_patch`]), the changed columns are
//! written, the capacity moves (promoting from the waitlist when it grows, refused below the
//! confirmed seats), and when the time or place of a published event changed, its `revision`
//! goes up and every active registrant is emailed what changed with an updated invite.
//!
//! A cancelled or completed event cannot be changed (409).

use super::lifecycle::{lock_and_find, reread};
use super::model::{Event, EventChanges};
use super::parse::{event_patch, EventEdit};
use super::placement::{check_new_hosts, venue_for_change};
use super::queries;
use super::wire::EventPatch;
use crate::audit::{self, Changes};
use crate::auth::Actor;
use crate::db::{from_db_time, now, to_db_time, DbConnection};
use crate::domain::{EventKind, EventStatus};
use crate::error::AppError;
use crate::mail::{notify_registration, Change, MailContext, Notice};

/// Applies `patch` to the event `id` (see the module docs) and returns the event as it now is.
pub fn apply(
    conn: &mut DbConnection,
    actor: &Actor,
    ctx: &MailContext,
    id: &str,
    patch: EventPatch,
) -> Result<Event, AppError> {
    let e = lock_and_find(conn, actor, id)?;
    if matches!(e.status, EventStatus::Cancelled | EventStatus::Completed) {
        return Err(AppError::conflict(format!("a {} event cannot be changed", e.status)));
    }
    let edit = event_patch(patch, &e)?;
    let (changes, notices) = changes(conn, actor, &e, &edit)?;
    let capacity = edit.capacity.filter(|c| *c != e.capacity);
    audit::record(
        conn,
        actor,
        "update",
        "event",
        id,
        Changes::of_set(&[
            ("title", changes.title.is_some()),
            ("description", changes.description.is_some()),
            ("title_es", changes.title_es.is_some()),
            ("description_es", changes.description_es.is_some()),
            ("starts_at", changes.starts_at.is_some()),
            ("ends_at", changes.ends_at.is_some()),
            ("time_zone", changes.time_zone.is_some()),
            ("registration_opens_at", changes.registration_opens_at.is_some()),
            ("registration_closes_at", changes.registration_closes_at.is_some()),
            ("venue_id", changes.venue_id.is_some()),
            ("join_url", changes.join_url.is_some()),
            ("topics", edit.topics.is_some()),
            ("host_organization_ids", edit.host_organization_ids.is_some()),
            ("capacity", capacity.is_some()),
        ]),
    )?;
    queries::update(conn, id, &changes)?;
    if let Some(topics) = &edit.topics {
        queries::set_topics(conn, id, topics)?;
    }
    if let Some(hosts) = &edit.host_organization_ids {
        check_new_hosts(conn, actor, hosts)?;
        queries::set_hosts(conn, id, hosts)?;
    }
    if let Some(cap) = capacity {
        let free = crate::registrations::seats::set_capacity(conn, id, cap)?;
        crate::registrations::queries::promote_waitlist(conn, ctx, id, free)?;
    }
    if !notices.is_empty() && e.status == EventStatus::Published {
        for reg in crate::registrations::queries::active_ids(conn, id)? {
            notify_registration(conn, ctx, &reg, Notice::EventChanged { changes: notices.clone() }, None)?;
        }
    }
    // Expert windows, slots and bookings at the stop move with it (and their people are emailed).
    let now_event = reread(conn, id)?;
    if changes.starts_at.is_some()
        || changes.ends_at.is_some()
        || changes.time_zone.is_some()
        || changes.venue_id.is_some()
    {
        let place: Vec<Change> = notices.iter().filter(|n| n.is_place()).cloned().collect();
        crate::experts::queries::event_changed(conn, ctx, &now_event, e.starts_at, &place)?;
    }
    let changed: Vec<&str> = [
        ("title", changes.title.is_some()),
        ("description", changes.description.is_some()),
        ("starts_at", changes.starts_at.is_some()),
        ("ends_at", changes.ends_at.is_some()),
        ("time_zone", changes.time_zone.is_some()),
        ("venue_id", changes.venue_id.is_some()),
        ("join_url", changes.join_url.is_some()),
        ("capacity", capacity.is_some()),
        ("topics", edit.topics.is_some()),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(name, _)| *name)
    .collect();
    if !changed.is_empty() && e.status == EventStatus::Published {
        crate::webhooks::emit(
            conn,
            crate::webhooks::EventType::EventChanged,
            Some(id),
            id,
            serde_json::json!({"event_id": id, "changed": changed,
                               "starts_at": crate::time::utc_string(crate::db::from_db_time(now_event.starts_at)),
                               "ends_at": crate::time::utc_string(crate::db::from_db_time(now_event.ends_at))}),
        )?;
    }
    Ok(now_event)
}

/// The columns `edit` changes, and what registrants are told: one [`Change`] per change of time
/// or place, each written out in its recipient's language (none: nothing they need to hear, and
/// the revision stays).
fn changes(
    conn: &mut DbConnection,
    actor: &Actor,
    e: &Event,
    edit: &EventEdit,
) -> Result<(EventChanges, Vec<Change>), AppError> {
    let mut changes = EventChanges {
        updated_at: Some(now()),
        title: edit.title.clone(),
        description: edit.description.clone(),
        title_es: edit.title_es.clone().into_change(),
        description_es: edit.description_es.clone().into_change(),
        registration_opens_at: edit.registration_opens_at.clone().map(to_db_time).into_change(),
        registration_closes_at: edit.registration_closes_at.clone().map(to_db_time).into_change(),
        ..Default::default()
    };
    let mut notices: Vec<Change> = Vec::new();
    let (old_tz, tz) = (e.tz(), edit.tz);
    let starts = to_db_time(edit.starts_at);
    if starts != e.starts_at {
        notices.push(Change::Starts {
            from: from_db_time(e.starts_at),
            from_zone: old_tz,
            to: edit.starts_at,
            to_zone: tz,
        });
        changes.starts_at = Some(starts);
    }
    let ends = to_db_time(edit.ends_at);
    if ends != e.ends_at {
        notices.push(Change::Ends { from: from_db_time(e.ends_at), from_zone: old_tz, to: edit.ends_at, to_zone: tz });
        changes.ends_at = Some(ends);
    }
    if tz.name() != e.time_zone {
        changes.time_zone = Some(tz.name().to_string());
    }
    if let Some(v) = edit.venue_id.as_ref().filter(|v| e.venue_id.as_ref() != Some(*v)) {
        let venue = venue_for_change(conn, actor, v)?;
        notices.push(Change::Place(format!("{}, {}, {}, {}", venue.name, venue.address, venue.city, venue.state_code)));
        changes.venue_id = Some(Some(v.clone()));
        changes.state_code = Some(Some(venue.state_code));
    }
    if let Some(j) = edit.join_url.as_ref().filter(|j| e.join_url.as_ref() != Some(*j)) {
        if e.kind != EventKind::Webinar {
            return Err(AppError::field("join_url", "only webinars have a join URL"));
        }
        notices.push(Change::JoinLink);
        changes.join_url = Some(Some(j.clone()));
    }
    if !notices.is_empty() {
        changes.revision = Some(e.revision + 1);
    }
    Ok((changes, notices))
}
