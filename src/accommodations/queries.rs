//! Accommodation requests in the database. No HTTP here. Who may see a request is decided in
//! each staff read's `WHERE` clause ([`visible`]); the holder's reads go by the registration or
//! booking its manage token proved.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};

use super::model::{load_categories, Accommodation};
use super::wire::AccommodationOut;
use crate::auth::scope::{always, never, Filter};
use crate::auth::Actor;
use crate::db::schema::{accommodation_requests, event_hosts, events, expert_bookings, registrations};
use crate::db::{from_db_time, new_id, now, DbConnection};
use crate::domain::{BookingStatus, RegistrationStatus, Role};
use crate::error::AppError;

/// What a request belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Registration(&'a str),
    Booking(&'a str),
}

impl Owner<'_> {
    fn column(&self) -> &'static str {
        match self {
            Owner::Registration(_) => "registration_id",
            Owner::Booking(_) => "booking_id",
        }
    }

    fn id(&self) -> &str {
        match self {
            Owner::Registration(id) | Owner::Booking(id) => id,
        }
    }
}

#[derive(Debug, Clone, Queryable)]
struct Row {
    _id: String,
    registration_id: Option<String>,
    booking_id: Option<String>,
    _event_id: Option<String>,
    categories: String,
    note: Option<String>,
    _revision: i32,
    _created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl Row {
    fn out(self) -> Result<AccommodationOut, AppError> {
        Ok(AccommodationOut {
            categories: load_categories(&self.categories)?,
            note: self.note,
            updated_at: crate::time::utc_string(from_db_time(self.updated_at)),
        })
    }
}

/// The requests `actor` may see, as SQL: admins every one; an organizer those of the events its
/// organization hosts (registrations and bookings there); an expert those of its own bookings.
pub fn visible(actor: &Actor) -> Filter<accommodation_requests::table> {
    match (actor.role, actor.organization_id.clone()) {
        (Role::Admin, _) => always(),
        (Role::Organizer, Some(org)) => Box::new(
            accommodation_requests::event_id
                .assume_not_null()
                .eq_any(event_hosts::table.filter(event_hosts::organization_id.eq(org)).select(event_hosts::event_id)),
        ),
        (Role::Expert, _) => Box::new(
            accommodation_requests::booking_id.assume_not_null().eq_any(
                expert_bookings::table
                    .filter(expert_bookings::expert_id.eq(actor.user_id.clone()))
                    .select(expert_bookings::id),
            ),
        ),
        (Role::Organizer, None) => never(),
    }
}

/// Inserts the request of a new registration or booking (in its transaction).
pub fn insert(
    conn: &mut DbConnection,
    owner: Owner<'_>,
    event_id: Option<&str>,
    a: &Accommodation,
) -> Result<(), AppError> {
    let at = now();
    let (registration_id, booking_id) = match owner {
        Owner::Registration(r) => (Some(r), None),
        Owner::Booking(b) => (None, Some(b)),
    };
    diesel::insert_into(accommodation_requests::table)
        .values((
            accommodation_requests::id.eq(new_id()),
            accommodation_requests::registration_id.eq(registration_id),
            accommodation_requests::booking_id.eq(booking_id),
            accommodation_requests::event_id.eq(event_id),
            accommodation_requests::categories.eq(a.stored_categories()),
            accommodation_requests::note.eq(a.note.as_deref()),
            accommodation_requests::revision.eq(1),
            accommodation_requests::created_at.eq(at),
            accommodation_requests::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

fn owned_by(owner: Owner<'_>) -> Filter<accommodation_requests::table> {
    match owner {
        Owner::Registration(r) => Box::new(accommodation_requests::registration_id.assume_not_null().eq(r.to_string())),
        Owner::Booking(b) => Box::new(accommodation_requests::booking_id.assume_not_null().eq(b.to_string())),
    }
}

/// The request of a registration or booking, for its holder (or its data export).
pub fn of_owner(conn: &mut DbConnection, owner: Owner<'_>) -> Result<Option<AccommodationOut>, AppError> {
    let row: Option<Row> = accommodation_requests::table.filter(owned_by(owner)).first(conn).optional()?;
    row.map(Row::out).transpose()
}

/// The holder sets (`Some`) or removes (`None`) the request of their registration or booking.
/// Setting is refused (409) once the registration or booking is cancelled or its start has
/// passed; removing is always allowed. Returns the request as it is now.
pub fn set_by_holder(
    conn: &mut DbConnection,
    owner: Owner<'_>,
    wanted: Option<&Accommodation>,
) -> Result<Option<AccommodationOut>, AppError> {
    let (event_id, open, starts_at): (Option<String>, bool, NaiveDateTime) = match owner {
        Owner::Registration(id) => {
            let (event_id, status, starts_at): (String, RegistrationStatus, NaiveDateTime) = registrations::table
                .inner_join(events::table)
                .filter(registrations::id.eq(id))
                .select((registrations::event_id, registrations::status, events::starts_at))
                .first(conn)
                .optional()?
                .ok_or_else(|| AppError::not_found("no such registration"))?;
            (
                Some(event_id),
                matches!(status, RegistrationStatus::Confirmed | RegistrationStatus::Waitlisted),
                starts_at,
            )
        }
        Owner::Booking(id) => {
            let (event_id, status, starts_at): (Option<String>, BookingStatus, NaiveDateTime) = expert_bookings::table
                .find(id)
                .select((expert_bookings::event_id, expert_bookings::status, expert_bookings::starts_at))
                .first(conn)
                .optional()?
                .ok_or_else(|| AppError::not_found("no such booking"))?;
            (event_id, status == BookingStatus::Booked, starts_at)
        }
    };
    let Some(a) = wanted else {
        match owner {
            Owner::Registration(id) => {
                diesel::delete(accommodation_requests::table.filter(accommodation_requests::registration_id.eq(id)))
                    .execute(conn)?
            }
            Owner::Booking(id) => {
                diesel::delete(accommodation_requests::table.filter(accommodation_requests::booking_id.eq(id)))
                    .execute(conn)?
            }
        };
        return Ok(None);
    };
    if !open {
        return Err(AppError::conflict("only an active registration or booking can ask for an accommodation"));
    }
    if now() >= starts_at {
        return Err(AppError::conflict("it has already started"));
    }
    let at = now();
    // One statement on both engines; a change raises the revision, so the next digest carries it.
    diesel::sql_query(format!(
        "INSERT INTO accommodation_requests (id, {col}, event_id, categories, note, revision, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
         ON CONFLICT ({col}) DO UPDATE SET categories = excluded.categories, note = excluded.note, \
         revision = accommodation_requests.revision + 1, updated_at = excluded.updated_at",
        col = owner.column()
    ))
    .bind::<Text, _>(new_id())
    .bind::<Text, _>(owner.id())
    .bind::<Nullable<Text>, _>(event_id)
    .bind::<Text, _>(a.stored_categories())
    .bind::<Nullable<Text>, _>(a.note.as_deref())
    .bind::<Timestamp, _>(at)
    .execute(conn)?;
    of_owner(conn, owner)
}

/// The requests of these registrations that `actor` may see, by registration id.
pub fn visible_for_registrations(
    conn: &mut DbConnection,
    actor: &Actor,
    ids: &[String],
) -> Result<HashMap<String, AccommodationOut>, AppError> {
    let rows: Vec<Row> = accommodation_requests::table
        .filter(accommodation_requests::registration_id.assume_not_null().eq_any(ids))
        .filter(visible(actor))
        .load(conn)?;
    rows.into_iter().map(|r| Ok((r.registration_id.clone().unwrap_or_default(), r.out()?))).collect()
}

/// The requests of these bookings that `actor` may see, by booking id.
pub fn visible_for_bookings(
    conn: &mut DbConnection,
    actor: &Actor,
    ids: &[String],
) -> Result<HashMap<String, AccommodationOut>, AppError> {
    let rows: Vec<Row> = accommodation_requests::table
        .filter(accommodation_requests::booking_id.assume_not_null().eq_any(ids))
        .filter(visible(actor))
        .load(conn)?;
    rows.into_iter().map(|r| Ok((r.booking_id.clone().unwrap_or_default(), r.out()?))).collect()
}

/// How many requests `actor` may see at each of these events, counting those of registrations and
/// bookings that are not cancelled.
pub fn counts_for_events(
    conn: &mut DbConnection,
    actor: &Actor,
    event_ids: &[String],
) -> Result<HashMap<String, i64>, AppError> {
    // `x IN (…)` is NULL for a request of the other kind, and `NULL OR true` is true.
    let live_registration = accommodation_requests::registration_id.assume_not_null().eq_any(
        registrations::table
            .filter(registrations::event_id.eq_any(event_ids))
            .filter(registrations::status.ne(RegistrationStatus::Cancelled))
            .select(registrations::id),
    );
    let live_booking = accommodation_requests::booking_id.assume_not_null().eq_any(
        expert_bookings::table
            .filter(expert_bookings::event_id.assume_not_null().eq_any(event_ids))
            .filter(expert_bookings::status.ne(BookingStatus::Cancelled))
            .select(expert_bookings::id),
    );
    let rows: Vec<Option<String>> = accommodation_requests::table
        .filter(accommodation_requests::event_id.assume_not_null().eq_any(event_ids))
        .filter(live_registration.or(live_booking))
        .filter(visible(actor))
        .select(accommodation_requests::event_id)
        .load(conn)?;
    let mut counts = HashMap::new();
    for e in rows.into_iter().flatten() {
        *counts.entry(e).or_insert(0) += 1;
    }
    Ok(counts)
}

/// The requests of these registrations, for their data export (no staff scope: the caller proved
/// the right to the registrations).
pub fn of_registrations(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<HashMap<String, AccommodationOut>, AppError> {
    let rows: Vec<Row> = accommodation_requests::table
        .filter(accommodation_requests::registration_id.assume_not_null().eq_any(ids))
        .load(conn)?;
    rows.into_iter().map(|r| Ok((r.registration_id.clone().unwrap_or_default(), r.out()?))).collect()
}

/// The requests of these bookings, for their data export.
pub fn of_bookings(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, AccommodationOut>, AppError> {
    let rows: Vec<Row> = accommodation_requests::table
        .filter(accommodation_requests::booking_id.assume_not_null().eq_any(ids))
        .load(conn)?;
    rows.into_iter().map(|r| Ok((r.booking_id.clone().unwrap_or_default(), r.out()?))).collect()
}

/// Erasure: deletes the requests of these registrations (their digest records go with them).
pub fn erase_for_registrations(conn: &mut DbConnection, ids: &[String]) -> Result<usize, AppError> {
    Ok(diesel::delete(
        accommodation_requests::table.filter(accommodation_requests::registration_id.assume_not_null().eq_any(ids)),
    )
    .execute(conn)?)
}

/// Erasure: deletes the requests of these bookings.
pub fn erase_for_bookings(conn: &mut DbConnection, ids: &[String]) -> Result<usize, AppError> {
    Ok(diesel::delete(
        accommodation_requests::table.filter(accommodation_requests::booking_id.assume_not_null().eq_any(ids)),
    )
    .execute(conn)?)
}
