//! Seat allocation: an event's capacity is split over a few counter rows (`event_seat_shards`) so
//! that concurrent registrations for one popular event do not all queue on one row lock.
//!
//! Rules that keep "confirmed ≤ capacity" and a first-come-first-served waitlist true under any
//! concurrency:
//! - A seat is taken by a conditional `UPDATE … SET taken = taken + 1 WHERE taken < capacity` on one
//!   shard (and a `CHECK (taken <= capacity)` backs it). On PostgreSQL the shard is picked with
//!   `FOR UPDATE SKIP LOCKED`, so concurrent registrations spread over the shards instead of waiting.
//! - Joining the waitlist and freeing a seat both lock the event row first, so a freed seat always
//!   goes to the head of the waitlist and nobody joins the waitlist while a seat is free.
//! - Lock order on PostgreSQL: the event row, then shards. Only a holder of the event row waits for
//!   a shard ([`take_seat`]); without it a transaction only tries ([`try_take_seat`]), and one that
//!   found no seat rolls back before it asks for the event row (it may hold shards it found full).
//! - SQLite serializes writers (`BEGIN IMMEDIATE`), which gives the same guarantees trivially.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use crate::db::schema::{event_seat_shards, events};
use crate::db::DbConnection;
use crate::error::AppError;

/// How many counter rows an event of this capacity gets.
pub fn shard_count(capacity: i32) -> i32 {
    (capacity / 32).clamp(1, 16)
}

/// Creates the counter rows of a new event.
pub fn create_shards(conn: &mut DbConnection, event_id: &str, capacity: i32) -> Result<(), AppError> {
    let n = shard_count(capacity);
    for shard in 0..n {
        let cap = capacity / n + i32::from(shard < capacity % n);
        diesel::insert_into(event_seat_shards::table)
            .values((
                event_seat_shards::event_id.eq(event_id),
                event_seat_shards::shard.eq(shard),
                event_seat_shards::capacity.eq(cap),
                event_seat_shards::taken.eq(0),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct ShardRow {
    #[diesel(sql_type = Integer)]
    shard: i32,
}

/// Tries for one seat without waiting for anyone: returns the shard holding it, or `None` when no
/// shard with room is free right now (the event is full, or every shard with room is being
/// updated). Needs no event lock; see [`take_seat`] for the waiting kind.
///
/// On PostgreSQL the shard is picked with `FOR UPDATE SKIP LOCKED`, so concurrent registrations
/// spread over the shards instead of queueing. Even so the statement may be left holding a lock on
/// a shard it found full (a row updated since the statement's snapshot is locked, then re-checked),
/// so a caller that found no seat must not go on to wait for the event row: see
/// `registrations::queries::Seating`.
pub fn try_take_seat(conn: &mut DbConnection, event_id: &str) -> Result<Option<i32>, AppError> {
    match conn {
        DbConnection::Postgres(_) => {
            let fast = "UPDATE event_seat_shards SET taken = taken + 1 \
                 WHERE event_id = $1 AND taken < capacity AND shard = ( \
                   SELECT shard FROM event_seat_shards WHERE event_id = $1 AND taken < capacity \
                   ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING shard";
            let rows: Vec<ShardRow> =
                crate::fixed_statement!(diesel::sql_query(fast).bind::<Text, _>(event_id)).load(conn)?;
            Ok(rows.first().map(|r| r.shard))
        }
        DbConnection::Sqlite(_) => take_seat(conn, event_id),
    }
}

/// Takes one seat, waiting for shards being updated by others; returns the shard holding it, or
/// `None` when the event is full. On PostgreSQL the caller must hold the event row
/// ([`lock_event`] or the waitlist ticket's update): every transaction that holds a shard and does
/// not hold the event row finishes without waiting for another shard or for the event row, so
/// waiting for shards here cannot close a cycle.
pub fn take_seat(conn: &mut DbConnection, event_id: &str) -> Result<Option<i32>, AppError> {
    match conn {
        DbConnection::Postgres(_) => {
            if let Some(shard) = try_take_seat(conn, event_id)? {
                return Ok(Some(shard));
            }
            // Every shard with room is busy, or there is no room. A full event (the usual case
            // here) is answered by one read. Otherwise wait for the locks and re-check: a locked
            // row that turns out full after the wait drops out of a LIMIT 1 subquery, and the next
            // read sees it full.
            let slow = "UPDATE event_seat_shards SET taken = taken + 1 \
                 WHERE event_id = $1 AND taken < capacity AND shard = ( \
                   SELECT shard FROM event_seat_shards WHERE event_id = $1 AND taken < capacity \
                   ORDER BY shard LIMIT 1 FOR UPDATE) \
                 RETURNING shard";
            for _ in 0..64 {
                if !has_room(conn, event_id)? {
                    return Ok(None);
                }
                let rows: Vec<ShardRow> =
                    crate::fixed_statement!(diesel::sql_query(slow).bind::<Text, _>(event_id)).load(conn)?;
                if let Some(r) = rows.first() {
                    return Ok(Some(r.shard));
                }
            }
            Err(AppError::Unavailable("seat allocation kept colliding; retry".into()))
        }
        DbConnection::Sqlite(_) => {
            let shard: Option<i32> = event_seat_shards::table
                .filter(event_seat_shards::event_id.eq(event_id))
                .filter(event_seat_shards::taken.lt(event_seat_shards::capacity))
                .order(event_seat_shards::shard)
                .select(event_seat_shards::shard)
                .first(conn)
                .optional()?;
            let Some(shard) = shard else { return Ok(None) };
            diesel::update(
                event_seat_shards::table
                    .filter(event_seat_shards::event_id.eq(event_id))
                    .filter(event_seat_shards::shard.eq(shard)),
            )
            .set(event_seat_shards::taken.eq(event_seat_shards::taken + 1))
            .execute(conn)?;
            Ok(Some(shard))
        }
    }
}

/// Whether any shard of the event has a free seat, as of this statement (a plain read: use it to
/// skip [`take_seat`] when the event is full, under a lock that keeps seats from being freed).
pub fn has_room(conn: &mut DbConnection, event_id: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        event_seat_shards::table
            .filter(event_seat_shards::event_id.eq(event_id))
            .filter(event_seat_shards::taken.lt(event_seat_shards::capacity)),
    ))
    .get_result(conn)?)
}

/// Gives a seat back to its shard (no waitlist handling: see `registrations::queries`).
pub fn release_seat(conn: &mut DbConnection, event_id: &str, shard: i32) -> Result<(), AppError> {
    let n = diesel::update(
        event_seat_shards::table
            .filter(event_seat_shards::event_id.eq(event_id))
            .filter(event_seat_shards::shard.eq(shard))
            .filter(event_seat_shards::taken.gt(0)),
    )
    .set(event_seat_shards::taken.eq(event_seat_shards::taken - 1))
    .execute(conn)?;
    if n != 1 {
        return Err(AppError::internal("released a seat that was not taken"));
    }
    Ok(())
}

/// Locks the event row for the rest of the transaction (PostgreSQL; SQLite already holds the
/// database write lock). Serializes waitlist changes of one event.
///
/// `FOR NO KEY UPDATE`, not `FOR UPDATE`: inserting a registration takes a `KEY SHARE` lock on its
/// event (the foreign key) while holding a seat shard, and `FOR UPDATE` would make a cancellation
/// waiting for that shard and the registration waiting for the event deadlock.
pub fn lock_event(conn: &mut DbConnection, event_id: &str) -> Result<(), AppError> {
    if let DbConnection::Postgres(pg) = conn {
        events::table.find(event_id).select(events::id).for_no_key_update().first::<String>(pg)?;
    }
    Ok(())
}

/// Locks the event row against registrations too (PostgreSQL `FOR UPDATE`), for changes every
/// registrant must hear about: a new time or place, cancellation, publication. It waits for the
/// registrations in flight (each holds `KEY SHARE` from [`share_event`]) and makes new ones wait, so
/// a registration either commits first (and is emailed the change) or reads the changed event.
/// Safe from deadlock: every path that takes a seat shard first holds a lock on the event row.
pub fn lock_event_for_change(conn: &mut DbConnection, event_id: &str) -> Result<(), AppError> {
    if let DbConnection::Postgres(pg) = conn {
        events::table.find(event_id).select(events::id).for_update().first::<String>(pg)?;
    }
    Ok(())
}

/// Reads the event a registration is for, holding `KEY SHARE` on PostgreSQL (see
/// [`lock_event_for_change`]); registrations do not block each other.
pub fn share_event(conn: &mut DbConnection, event_id: &str) -> Result<Option<crate::events::model::Event>, AppError> {
    let q = events::table.find(event_id).filter(events::status.ne(crate::domain::EventStatus::Draft));
    Ok(match conn {
        DbConnection::Postgres(pg) => q.for_key_share().first(pg).optional()?,
        DbConnection::Sqlite(_) => q.first(conn).optional()?,
    })
}

/// Locks all shards of an event (PostgreSQL) and returns (shard, capacity, taken).
fn lock_shards(conn: &mut DbConnection, event_id: &str) -> Result<Vec<(i32, i32, i32)>, AppError> {
    let q = event_seat_shards::table
        .filter(event_seat_shards::event_id.eq(event_id))
        .order(event_seat_shards::shard)
        .select((event_seat_shards::shard, event_seat_shards::capacity, event_seat_shards::taken));
    Ok(match conn {
        DbConnection::Postgres(pg) => q.for_update().load(pg)?,
        DbConnection::Sqlite(_) => q.load(conn)?,
    })
}

/// Changes an event's capacity. The event row must be locked ([`lock_event`]). Refuses (409) to go
/// below the seats taken. Returns how many seats are free afterwards, for waitlist promotion.
pub fn set_capacity(conn: &mut DbConnection, event_id: &str, capacity: i32) -> Result<i32, AppError> {
    let shards = lock_shards(conn, event_id)?;
    let taken: i32 = shards.iter().map(|s| s.2).sum();
    if capacity < taken {
        return Err(AppError::Conflict {
            detail: format!("{taken} seats are confirmed; capacity cannot go below that"),
            existing_id: None,
        });
    }
    // Each shard keeps at least its taken seats; the rest is spread evenly.
    let n = shards.len() as i32;
    let spare = capacity - taken;
    for (i, (shard, _, t)) in shards.iter().enumerate() {
        let i = i as i32;
        let cap = t + spare / n + i32::from(i < spare % n);
        diesel::update(
            event_seat_shards::table
                .filter(event_seat_shards::event_id.eq(event_id))
                .filter(event_seat_shards::shard.eq(*shard)),
        )
        .set(event_seat_shards::capacity.eq(cap))
        .execute(conn)?;
    }
    diesel::update(events::table.find(event_id)).set(events::capacity.eq(capacity)).execute(conn)?;
    Ok(spare)
}

/// Seats taken per event.
pub fn taken_by_event(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, i64>, AppError> {
    let rows: Vec<(String, i32)> = event_seat_shards::table
        .filter(event_seat_shards::event_id.eq_any(ids))
        .select((event_seat_shards::event_id, event_seat_shards::taken))
        .load(conn)?;
    let mut out = HashMap::new();
    for (id, t) in rows {
        *out.entry(id).or_insert(0) += i64::from(t);
    }
    Ok(out)
}
