//! The experts feature's transactions and reads (all its SQL). Each writing function runs inside
//! the caller's write transaction and writes the emails it implies to the outbox in that same
//! transaction.
//!
//! Concurrency (both engines; SQLite serializes writers with `BEGIN IMMEDIATE`):
//! - **A slot has one booking.** A booking claims its slot with one conditional `UPDATE …
//!   SET booking_id = … WHERE booking_id IS NULL AND status = 'open'`; on PostgreSQL a second
//!   claimant waits for the first's row lock and then finds the slot taken (0 rows: 409). The
//!   partial unique index `expert_bookings_one_per_slot` backs it up.
//! - **An attendee never holds two overlapping bookings.** Bookings and moves of one attendee
//!   take a transaction-scoped advisory lock on the address (PostgreSQL) before looking for an
//!   overlap, so two racing requests of one attendee run one after the other.
//! - **A business holds at most N bookings per stop.** The business row is locked (`FOR UPDATE`)
//!   before counting.
//! - **An expert's windows never overlap.** Window writes lock the expert's profile row first.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::mail::{self, BookingNotice};
use super::model::{join_list, list_pattern, Booking, Profile, Slot, Window};
use super::slots::{cut, MAX_SLOTS_PER_WINDOW};
use crate::actor::Actor;
use crate::audit::{self, Changes};
use crate::auth::tokens::{hash_token, new_token, tokens_match, TokenKind};
use crate::db::schema::{
    businesses, event_hosts, events, expert_booking_tokens, expert_bookings, expert_profiles, expert_slots,
    expert_windows, registration_tokens, registrations, staff_users,
};
use crate::db::{from_db_time, new_id, now, to_db_time, DbConnection};
use crate::domain::{BookingStatus, EventKind, EventStatus, RegistrationStatus, Role, SlotStatus, Topic, WindowStatus};
use crate::error::{AppError, FieldError};
use crate::mail::changes::CancelReason;
use crate::mail::MailContext;
use crate::registrations::model::RegistrationRequest;
use crate::registrations::queries::{claim_key, store_answer, Idempotency};
use crate::time::human_local;

// ---------------------------------------------------------------------------------------------
// Profiles

/// A profile after validation.
#[derive(Debug, Clone)]
pub struct ProfileSpec {
    pub display_name: String,
    pub bio: String,
    pub topics: Vec<Topic>,
    pub industries: Vec<String>,
    pub languages: Vec<String>,
    pub states: Vec<String>,
    pub online: bool,
    pub meeting_url: Option<String>,
}

/// May the actor manage this expert: write its profile (name, bio, meeting link) and make its
/// calendar feed? Admins any; an expert itself; an organizer the experts of its own organization.
/// (An expert who offers time at an organization's stops is seen by that organization's organizers,
/// [`may_see_expert`], but not rewritten by them: its meeting link goes to every business it meets.)
pub fn may_manage_expert(conn: &mut DbConnection, actor: &Actor, expert_id: &str) -> Result<bool, AppError> {
    Ok(!managed_of(conn, actor, &[expert_id.to_string()])?.is_empty())
}

/// Of `ids`, the experts the actor may manage ([`may_manage_expert`]), in one query. Only they see
/// an expert's meeting link in staff answers: the issue gives it to the booked business and the
/// expert, not to every organizer at whose stops the expert offers time.
pub fn managed_of(
    conn: &mut DbConnection,
    actor: &Actor,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, AppError> {
    match actor.role {
        Role::Admin => Ok(ids.iter().cloned().collect()),
        Role::Expert => Ok(ids.iter().filter(|id| **id == actor.user_id).cloned().collect()),
        Role::Organizer => {
            let Some(org) = actor.organization_id.clone() else { return Ok(Default::default()) };
            let members: Vec<String> = staff_users::table
                .filter(staff_users::id.eq_any(ids))
                .filter(staff_users::organization_id.eq(&org))
                .select(staff_users::id)
                .load(conn)?;
            Ok(members.into_iter().collect())
        }
    }
}

/// May the actor see this expert (profile as staff see it, windows, agenda)? Those who manage it,
/// and the organizers of an organization at whose events the expert has a window. What they then
/// see is scoped again: an organizer of another organization sees only the windows and bookings
/// at its own events ([`window_for_actor`], the bookings scope).
pub fn may_see_expert(conn: &mut DbConnection, actor: &Actor, expert_id: &str) -> Result<bool, AppError> {
    if may_manage_expert(conn, actor, expert_id)? {
        return Ok(true);
    }
    let Some(org) = actor.organizer_org().map(str::to_string) else { return Ok(false) };
    let at_hosted: i64 = expert_windows::table
        .filter(expert_windows::expert_id.eq(expert_id))
        .filter(expert_windows::event_id.eq_any(hosted_by(org)))
        .count()
        .get_result(conn)?;
    Ok(at_hosted > 0)
}

/// The ids of the events `org` hosts, as a subquery.
fn hosted_by(
    org: String,
) -> diesel::dsl::Select<
    diesel::dsl::Filter<event_hosts::table, diesel::dsl::Eq<event_hosts::organization_id, String>>,
    diesel::dsl::Nullable<event_hosts::event_id>,
> {
    event_hosts::table.filter(event_hosts::organization_id.eq(org)).select(event_hosts::event_id.nullable())
}

/// The active expert `id` for staff: 404 unless the actor may manage them (an organizer may also
/// give a profile to an expert of its organization that has none yet).
fn expert_user_for(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<(), AppError> {
    let role: Option<(Role, bool)> =
        staff_users::table.find(id).select((staff_users::role, staff_users::active)).first(conn).optional()?;
    match role {
        Some((Role::Expert, true)) if may_manage_expert(conn, actor, id)? => Ok(()),
        Some((Role::Expert, true)) | None => Err(AppError::not_found("no such expert")),
        Some((_, false)) => Err(AppError::conflict("this user is deactivated")),
        Some((role, _)) => {
            if actor.is_admin() || actor.user_id == id {
                Err(AppError::conflict(format!("this user is an {role}, not an expert")))
            } else {
                Err(AppError::not_found("no such expert"))
            }
        }
    }
}

/// Creates or replaces an expert's profile. Returns it and whether it is new.
pub fn put_profile(
    conn: &mut DbConnection,
    ctx: &MailContext,
    actor: &Actor,
    id: &str,
    spec: ProfileSpec,
) -> Result<(Profile, bool), AppError> {
    expert_user_for(conn, actor, id)?;
    let existing = find_profile(conn, id)?;
    let ts = now();
    let row = Profile {
        user_id: id.to_string(),
        display_name: spec.display_name,
        bio: spec.bio,
        topics: join_list(&spec.topics.iter().map(|t| t.as_str().to_string()).collect::<Vec<_>>()),
        industries: join_list(&spec.industries),
        languages: join_list(&spec.languages),
        states: join_list(&spec.states),
        online: spec.online,
        meeting_url: spec.meeting_url,
        calendar_token_hash: existing.as_ref().and_then(|p| p.calendar_token_hash.clone()),
        created_at: existing.as_ref().map(|p| p.created_at).unwrap_or(ts),
        updated_at: ts,
    };
    let created = existing.is_none();
    // The meeting link is where online sessions happen: the booked ones hear of a new one, and it
    // cannot be taken away while online windows stand.
    let link_changed = existing.as_ref().is_some_and(|p| p.meeting_url != row.meeting_url);
    let going_offline = existing.as_ref().is_some_and(|p| p.online) && (!row.online || row.meeting_url.is_none());
    if going_offline {
        let online_windows: i64 = expert_windows::table
            .filter(expert_windows::expert_id.eq(id))
            .filter(expert_windows::event_id.is_null())
            .filter(expert_windows::status.eq(WindowStatus::Active))
            .filter(expert_windows::ends_at.gt(ts))
            .count()
            .get_result(conn)?;
        if online_windows > 0 {
            return Err(AppError::conflict(format!(
                "the expert has {online_windows} online window(s) ahead: remove them first (their bookings are told)"
            )));
        }
    }
    if created {
        diesel::insert_into(expert_profiles::table).values(&row).execute(conn)?;
    } else {
        diesel::update(expert_profiles::table.find(id)).set(&row).execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        if created { "create" } else { "update" },
        "expert_profile",
        id,
        Changes::fields(&[
            "display_name",
            "bio",
            "topics",
            "industries",
            "languages",
            "states",
            "online",
            "meeting_url",
        ]),
    )?;
    if link_changed && row.online {
        let booked: Vec<String> = expert_bookings::table
            .filter(expert_bookings::expert_id.eq(id))
            .filter(expert_bookings::event_id.is_null())
            .filter(expert_bookings::status.eq(BookingStatus::Booked))
            .filter(expert_bookings::ends_at.gt(ts))
            .select(expert_bookings::id)
            .load(conn)?;
        for b in booked {
            diesel::update(expert_bookings::table.find(&b))
                .set(expert_bookings::calendar_sequence.eq(expert_bookings::calendar_sequence + 1))
                .execute(conn)?;
            let change = vec![crate::mail::Change::MeetingLink];
            mail::notify(conn, ctx, &b, BookingNotice::Changed { changes: change }, None, false)?;
        }
    }
    crate::events::queries::public_data_changed();
    Ok((find_profile(conn, id)?.ok_or_else(|| AppError::internal("profile vanished"))?, created))
}

pub fn find_profile(conn: &mut DbConnection, id: &str) -> Result<Option<Profile>, AppError> {
    Ok(expert_profiles::table.find(id).select(Profile::as_select()).first(conn).optional()?)
}

/// The profile of an active expert, for anyone.
pub fn find_public(conn: &mut DbConnection, id: &str) -> Result<Option<Profile>, AppError> {
    Ok(expert_profiles::table
        .inner_join(staff_users::table)
        .filter(expert_profiles::user_id.eq(id))
        .filter(staff_users::active.eq(true))
        .filter(staff_users::role.eq(Role::Expert))
        .select(Profile::as_select())
        .first(conn)
        .optional()?)
}

/// What the expert lists filter on (each `None`: any).
#[derive(Debug, Clone, Default)]
pub struct ExpertFilter {
    pub topic: Option<String>,
    pub industry: Option<String>,
    pub language: Option<String>,
    pub state: Option<String>,
    pub online: Option<bool>,
}

/// The ids of the active experts whose profile matches `f`: the one place the lists' filters are
/// spelled (a few hundred experts; the lists then take `eq_any` of them).
fn experts_matching(conn: &mut DbConnection, f: &ExpertFilter) -> Result<Vec<String>, AppError> {
    let active = staff_users::table
        .filter(staff_users::active.eq(true))
        .filter(staff_users::role.eq(Role::Expert))
        .select(staff_users::id);
    let mut q = expert_profiles::table
        .filter(expert_profiles::user_id.eq_any(active))
        .select(expert_profiles::user_id)
        .into_boxed();
    if let Some(t) = &f.topic {
        q = q.filter(expert_profiles::topics.like(list_pattern(t)));
    }
    if let Some(i) = &f.industry {
        q = q.filter(expert_profiles::industries.like(list_pattern(i)));
    }
    if let Some(l) = &f.language {
        // `es` finds `es` and `es-MX`.
        q = q.filter(
            expert_profiles::languages.like(list_pattern(l)).or(expert_profiles::languages.like(format!("%|{l}-%"))),
        );
    }
    if let Some(s) = &f.state {
        q = q.filter(expert_profiles::states.like(list_pattern(s)));
    }
    if let Some(o) = f.online {
        q = q.filter(expert_profiles::online.eq(o));
    }
    Ok(q.load(conn)?)
}

/// Active experts with a profile, by display name then id, keyset-paginated.
pub fn list_public(
    conn: &mut DbConnection,
    f: &ExpertFilter,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<Profile>, AppError> {
    let mut q = expert_profiles::table
        .filter(expert_profiles::user_id.eq_any(experts_matching(conn, f)?))
        .select(Profile::as_select())
        .into_boxed();
    if let Some((name, id)) = after {
        q = q.filter(
            expert_profiles::display_name
                .gt(name.clone())
                .or(expert_profiles::display_name.eq(name).and(expert_profiles::user_id.gt(id))),
        );
    }
    Ok(q.order((expert_profiles::display_name, expert_profiles::user_id)).limit(limit + 1).load(conn)?)
}

/// The experts with a profile an actor may see ([`may_see_expert`]), by name; the scope is in the
/// query.
pub fn list_for_actor(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<Profile>, AppError> {
    let q = expert_profiles::table
        .select(Profile::as_select())
        .order((expert_profiles::display_name, expert_profiles::user_id))
        .into_boxed();
    let q = match (actor.role, actor.organization_id.clone()) {
        (Role::Admin, _) => q,
        (Role::Expert, _) => q.filter(expert_profiles::user_id.eq(actor.user_id.clone())),
        (Role::Organizer, Some(org)) => q.filter(
            expert_profiles::user_id
                .eq_any(staff_users::table.filter(staff_users::organization_id.eq(org.clone())).select(staff_users::id))
                .or(expert_profiles::user_id.eq_any(
                    expert_windows::table
                        .filter(expert_windows::event_id.eq_any(hosted_by(org)))
                        .select(expert_windows::expert_id),
                )),
        ),
        (Role::Organizer, None) => return Ok(Vec::new()),
    };
    Ok(q.load(conn)?)
}

/// Makes a new calendar feed secret for the expert (the old URL stops working) and returns it.
pub fn rotate_calendar_token(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<String, AppError> {
    if find_profile(conn, id)?.is_none() {
        return Err(AppError::conflict("the expert has no profile yet: create it first"));
    }
    let token = new_token(TokenKind::Link);
    diesel::update(expert_profiles::table.find(id))
        .set((expert_profiles::calendar_token_hash.eq(Some(hash_token(&token))), expert_profiles::updated_at.eq(now())))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        "rotate_calendar_feed",
        "expert_profile",
        id,
        Changes::fields(&["calendar_token_hash"]),
    )?;
    Ok(token)
}

/// The expert whose calendar feed secret this is (`None`: no such feed).
pub fn expert_for_calendar_token(
    conn: &mut DbConnection,
    expert_id: &str,
    token: &str,
) -> Result<Option<Profile>, AppError> {
    let p = find_public(conn, expert_id)?;
    Ok(p.filter(|p| p.calendar_token_hash.as_deref().is_some_and(|h| tokens_match(token, h))))
}

// ---------------------------------------------------------------------------------------------
// Windows

/// A window as typed, read in the transaction (the zone of a stop's window is its event's).
#[derive(Debug, Clone)]
pub struct WindowInput {
    pub event_id: Option<String>,
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: Option<String>,
    pub slot_minutes: i64,
    pub buffer_minutes: Option<i64>,
    pub registrants_only_until: Option<String>,
}

/// Locks the expert's profile row (PostgreSQL) so window writes for one expert run one at a time.
fn lock_expert(conn: &mut DbConnection, expert_id: &str) -> Result<Profile, AppError> {
    let p = match conn {
        DbConnection::Postgres(pg) => {
            expert_profiles::table.find(expert_id).select(Profile::as_select()).for_update().first(pg).optional()?
        }
        DbConnection::Sqlite(_) => {
            expert_profiles::table.find(expert_id).select(Profile::as_select()).first(conn).optional()?
        }
    };
    p.ok_or_else(|| AppError::conflict("the expert has no profile yet: create it first"))
}

/// What an overlap check leaves out: the window being changed, or every window of a stop that
/// moves as a whole.
#[derive(Debug, Clone, Copy)]
enum Besides<'a> {
    Nothing,
    Window(&'a str),
    Stop(&'a str),
}

/// The 409 when `[starts, ends)` overlaps another active window of the expert, or a booked slot of
/// it kept outside its window.
fn check_overlap(
    conn: &mut DbConnection,
    expert_id: &str,
    starts: NaiveDateTime,
    ends: NaiveDateTime,
    besides: Besides<'_>,
) -> Result<(), AppError> {
    let mut q = expert_windows::table
        .filter(expert_windows::expert_id.eq(expert_id))
        .filter(expert_windows::status.eq(WindowStatus::Active))
        .filter(expert_windows::starts_at.lt(ends))
        .filter(expert_windows::ends_at.gt(starts))
        .select(Window::as_select())
        .into_boxed();
    match besides {
        Besides::Nothing => {}
        Besides::Window(id) => q = q.filter(expert_windows::id.ne(id.to_string())),
        Besides::Stop(e) => {
            q = q.filter(expert_windows::event_id.ne(e.to_string()).or(expert_windows::event_id.is_null()))
        }
    }
    if let Some(w) = q.order(expert_windows::starts_at).first(conn).optional()? {
        let tz = w.zone();
        return Err(AppError::conflict(format!(
            "overlaps this expert's window {} from {} to {}",
            w.id,
            human_local(from_db_time(w.starts_at), tz),
            human_local(from_db_time(w.ends_at), tz)
        )));
    }
    // A booked slot kept outside its (since shortened) window still holds the expert's time.
    let mut booked = expert_slots::table
        .filter(expert_slots::expert_id.eq(expert_id))
        .filter(expert_slots::booking_id.is_not_null())
        .filter(expert_slots::starts_at.lt(ends))
        .filter(expert_slots::ends_at.gt(starts))
        .select((expert_slots::id, expert_slots::starts_at))
        .into_boxed();
    match besides {
        Besides::Nothing => {}
        Besides::Window(id) => booked = booked.filter(expert_slots::window_id.ne(id.to_string())),
        Besides::Stop(e) => {
            booked = booked.filter(expert_slots::event_id.ne(e.to_string()).or(expert_slots::event_id.is_null()))
        }
    }
    if let Some((slot, at)) = booked.order(expert_slots::starts_at).first::<(String, NaiveDateTime)>(conn).optional()? {
        return Err(AppError::conflict(format!(
            "overlaps a booked session of this expert (slot {slot}, at {})",
            crate::time::utc_string(from_db_time(at))
        )));
    }
    Ok(())
}

/// Lets a slot go from `booking_id` (a cancel or a move): it is open again at once, unless it now
/// lies outside its window (shortened since, or removed), where it is withdrawn.
fn release_slot(conn: &mut DbConnection, slot_id: &str, booking_id: &str) -> Result<(), AppError> {
    diesel::update(expert_slots::table.find(slot_id).filter(expert_slots::booking_id.eq(booking_id)))
        .set(expert_slots::booking_id.eq(None::<String>))
        .execute(conn)?;
    let (slot, window) = slot_and_window(conn, slot_id)?.ok_or_else(|| AppError::internal("slot vanished"))?;
    let on_grid = window.status == WindowStatus::Active
        && cut(window.starts_at, window.ends_at, window.slot_minutes, window.buffer_minutes)
            .contains(&(slot.starts_at, slot.ends_at));
    if !on_grid {
        diesel::update(expert_slots::table.find(slot_id).filter(expert_slots::booking_id.is_null()))
            .set(expert_slots::status.eq(SlotStatus::Withdrawn))
            .execute(conn)?;
    }
    Ok(())
}

fn minutes(errs: &mut Vec<FieldError>, field: &str, v: i64, lo: i64, hi: i64) -> i32 {
    if !(lo..=hi).contains(&v) {
        errs.push(FieldError::new(field, format!("must be between {lo} and {hi}")));
    }
    v.clamp(lo, hi) as i32
}

/// A stop a window may be at: a roadshow stop, not cancelled or over, that the actor may use.
fn stop_for_window(
    conn: &mut DbConnection,
    actor: &Actor,
    event_id: &str,
) -> Result<crate::events::model::Event, AppError> {
    let e =
        crate::events::queries::find(conn, event_id)?.ok_or_else(|| AppError::field("event_id", "no such event"))?;
    let allowed = match actor.role {
        Role::Admin => true,
        Role::Organizer => crate::auth::scope::may_manage_event(conn, actor, event_id)?,
        // An expert offers time at any published stop.
        Role::Expert => e.status == EventStatus::Published,
    };
    if !allowed {
        return Err(AppError::field("event_id", "no such event"));
    }
    if e.kind != EventKind::RoadshowStop {
        return Err(AppError::field(
            "event_id",
            "expert sessions are held at roadshow stops (or online without an event)",
        ));
    }
    if matches!(e.status, EventStatus::Cancelled | EventStatus::Completed) {
        return Err(AppError::conflict(format!("the event is {}", e.status)));
    }
    Ok(e)
}

/// Publishes a window for `expert_id` and cuts it into slots.
pub fn create_window(
    conn: &mut DbConnection,
    actor: &Actor,
    expert_id: &str,
    input: WindowInput,
) -> Result<(Window, Vec<Slot>), AppError> {
    // An organizer publishes windows only at its own events (checked below); experts their own.
    if actor.role == Role::Expert && actor.user_id != expert_id {
        return Err(AppError::not_found("no such expert"));
    }
    if actor.role == Role::Organizer && input.event_id.is_none() {
        return Err(AppError::Forbidden(
            "organizers publish windows at their own events; online windows are the expert's".into(),
        ));
    }
    if actor.role != Role::Organizer {
        expert_user_for(conn, actor, expert_id)?;
    } else {
        let role: Option<(Role, bool)> = staff_users::table
            .find(expert_id)
            .select((staff_users::role, staff_users::active))
            .first(conn)
            .optional()?;
        if !matches!(role, Some((Role::Expert, true))) {
            return Err(AppError::not_found("no such expert"));
        }
    }
    let mut errs = Vec::new();
    let event = match &input.event_id {
        Some(raw) => {
            let id = crate::validate::uuid("event_id", raw).map_err(|e| AppError::Validation(vec![e]))?;
            share_stop(conn, Some(&id))?;
            Some(stop_for_window(conn, actor, &id)?)
        }
        None => None,
    };
    let profile = lock_expert(conn, expert_id)?;
    let tz = match (&event, &input.time_zone) {
        (Some(e), _) => e.tz(),
        (None, Some(z)) => crate::time::parse_tz("time_zone", z).map_err(|e| AppError::Validation(vec![e]))?,
        (None, None) => return Err(AppError::field("time_zone", "an online window needs its IANA time zone")),
    };
    if event.is_none() && !profile.online {
        return Err(AppError::conflict("this expert does not take online sessions (set `online` in the profile)"));
    }
    let starts = crate::time::parse_instant("starts_at", &input.starts_at, tz).map_err(|e| errs.push(e)).ok();
    let ends = crate::time::parse_instant("ends_at", &input.ends_at, tz).map_err(|e| errs.push(e)).ok();
    let slot_minutes = minutes(&mut errs, "slot_minutes", input.slot_minutes, 15, 120);
    let buffer_minutes = minutes(&mut errs, "buffer_minutes", input.buffer_minutes.unwrap_or(0), 0, 120);
    let registrants_only_until = match &input.registrants_only_until {
        Some(raw) => crate::time::parse_instant("registrants_only_until", raw, tz).map_err(|e| errs.push(e)).ok(),
        None => None,
    };
    if registrants_only_until.is_some() && event.is_none() {
        errs.push(FieldError::new("registrants_only_until", "only a window at a stop has registrants"));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    let (starts, ends) = (to_db_time(starts.expect("checked")), to_db_time(ends.expect("checked")));
    check_times(event.as_ref(), starts, ends, slot_minutes, buffer_minutes)?;
    if registrants_only_until.is_some_and(|u| to_db_time(u) > starts) {
        return Err(AppError::field("registrants_only_until", "must not be after the window starts"));
    }
    check_overlap(conn, expert_id, starts, ends, Besides::Nothing)?;
    let ts = now();
    let w = Window {
        id: new_id(),
        expert_id: expert_id.to_string(),
        event_id: event.as_ref().map(|e| e.id.clone()),
        time_zone: tz.name().to_string(),
        starts_at: starts,
        ends_at: ends,
        slot_minutes,
        buffer_minutes,
        registrants_only_until: registrants_only_until.map(to_db_time),
        status: WindowStatus::Active,
        created_by: Some(actor.user_id.clone()),
        created_at: ts,
        updated_at: ts,
    };
    diesel::insert_into(expert_windows::table).values(&w).execute(conn)?;
    resync_slots(conn, &w)?;
    audit::record(
        conn,
        actor,
        "create",
        "expert_window",
        &w.id,
        Changes::fields(&["starts_at", "ends_at", "slot_minutes", "buffer_minutes", "registrants_only_until"])
            .with_ref("expert_id", expert_id),
    )?;
    crate::events::queries::public_data_changed();
    let slots = slots_of(conn, &w.id)?;
    Ok((w, slots))
}

/// How far ahead a window may be published.
pub const MAX_DAYS_AHEAD: i64 = 800;

/// The rules on a window's time: after its start, inside the stop's time, in the future, and not
/// more slots than [`MAX_SLOTS_PER_WINDOW`].
fn check_times(
    event: Option<&crate::events::model::Event>,
    starts: NaiveDateTime,
    ends: NaiveDateTime,
    slot_minutes: i32,
    buffer_minutes: i32,
) -> Result<(), AppError> {
    if ends <= starts {
        return Err(AppError::field("ends_at", "must be after starts_at"));
    }
    if ends <= now() {
        return Err(AppError::field("ends_at", "must be in the future"));
    }
    // Also keeps every later sum of times far from chrono's limits.
    if starts > now() + Duration::days(MAX_DAYS_AHEAD) {
        return Err(AppError::field("starts_at", format!("must be within {MAX_DAYS_AHEAD} days from now")));
    }
    if ends - starts > Duration::days(1) {
        return Err(AppError::field("ends_at", "a window is at most 24 hours long"));
    }
    if let Some(e) = event {
        if starts < e.starts_at || ends > e.ends_at {
            let tz = e.tz();
            return Err(AppError::field(
                "starts_at",
                format!(
                    "a window at a stop lies within the event's time, {} to {}",
                    human_local(from_db_time(e.starts_at), tz),
                    human_local(from_db_time(e.ends_at), tz)
                ),
            ));
        }
    }
    let n = cut(starts, ends, slot_minutes, buffer_minutes).len();
    if n == 0 {
        return Err(AppError::field("ends_at", "the window is shorter than one slot"));
    }
    if n > MAX_SLOTS_PER_WINDOW {
        return Err(AppError::field("slot_minutes", format!("at most {MAX_SLOTS_PER_WINDOW} slots per window")));
    }
    Ok(())
}

/// Brings a window's open slots in line with its time: cuts the grid, withdraws unbooked slots off
/// it (or all of them, for a cancelled window), and adds grid slots that no booked slot overlaps.
/// Booked slots are kept as they are.
fn resync_slots(conn: &mut DbConnection, w: &Window) -> Result<(), AppError> {
    let grid = if w.status == WindowStatus::Active {
        cut(w.starts_at, w.ends_at, w.slot_minutes, w.buffer_minutes)
    } else {
        Vec::new()
    };
    let existing: Vec<Slot> = expert_slots::table
        .filter(expert_slots::window_id.eq(&w.id))
        .filter(expert_slots::status.eq(SlotStatus::Open))
        .select(Slot::as_select())
        .load(conn)?;
    let mut withdraw = Vec::new();
    for s in &existing {
        if s.booking_id.is_none() && !grid.contains(&(s.starts_at, s.ends_at)) {
            withdraw.push(s.id.clone());
        }
    }
    if !withdraw.is_empty() {
        diesel::update(
            expert_slots::table.filter(expert_slots::id.eq_any(&withdraw)).filter(expert_slots::booking_id.is_null()),
        )
        .set(expert_slots::status.eq(SlotStatus::Withdrawn))
        .execute(conn)?;
    }
    let ts = now();
    let mut new_rows = Vec::new();
    for (s, e) in grid {
        let kept = existing.iter().any(|x| {
            (x.booking_id.is_some() && x.starts_at < e && x.ends_at > s)
                || (x.starts_at == s && x.ends_at == e && !withdraw.contains(&x.id))
        });
        if !kept {
            new_rows.push(Slot {
                id: new_id(),
                window_id: w.id.clone(),
                expert_id: w.expert_id.clone(),
                event_id: w.event_id.clone(),
                starts_at: s,
                ends_at: e,
                status: SlotStatus::Open,
                booking_id: None,
                created_at: ts,
            });
        }
    }
    // One statement per slot: the multi-backend connection has no batch insert (a window has at
    // most MAX_SLOTS_PER_WINDOW).
    for row in &new_rows {
        diesel::insert_into(expert_slots::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// The window `id` if the actor may manage it: admins any; an expert its own; an organizer those
/// at events it hosts.
pub fn window_for_actor(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Window>, AppError> {
    let Some(w) = expert_windows::table.find(id).select(Window::as_select()).first(conn).optional()? else {
        return Ok(None);
    };
    let ok = match actor.role {
        Role::Admin => true,
        Role::Expert => w.expert_id == actor.user_id,
        Role::Organizer => match &w.event_id {
            Some(e) => crate::auth::scope::may_manage_event(conn, actor, e)?,
            None => false,
        },
    };
    Ok(ok.then_some(w))
}

/// The slots of a window that are open or booked, by time.
pub fn slots_of(conn: &mut DbConnection, window_id: &str) -> Result<Vec<Slot>, AppError> {
    Ok(expert_slots::table
        .filter(expert_slots::window_id.eq(window_id))
        .filter(expert_slots::status.eq(SlotStatus::Open).or(expert_slots::booking_id.is_not_null()))
        .order(expert_slots::starts_at)
        .select(Slot::as_select())
        .load(conn)?)
}

/// An expert's windows that end after `from`, by start time, keyset-paginated.
pub fn windows_of(
    conn: &mut DbConnection,
    actor: &Actor,
    expert_id: &str,
    from: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Window>, AppError> {
    let mut q = expert_windows::table
        .filter(expert_windows::expert_id.eq(expert_id))
        .filter(expert_windows::status.eq(WindowStatus::Active))
        .filter(expert_windows::ends_at.gt(from))
        .select(Window::as_select())
        .into_boxed();
    // An organizer who sees the expert only through its own events sees only the windows there.
    if !may_manage_expert(conn, actor, expert_id)? {
        let org = actor.organizer_org().map(str::to_string).unwrap_or_default();
        q = q.filter(expert_windows::event_id.eq_any(hosted_by(org)));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            expert_windows::starts_at.gt(at).or(expert_windows::starts_at.eq(at).and(expert_windows::id.gt(id))),
        );
    }
    Ok(q.order((expert_windows::starts_at, expert_windows::id)).limit(limit + 1).load(conn)?)
}

/// A change to a window's time or its registrants-only period.
#[derive(Debug, Clone, Default)]
pub struct WindowChange {
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub registrants_only_until: Option<Option<String>>,
}

/// Changes a window: a shorter one withdraws the open slots outside it and keeps booked ones; a
/// longer one adds slots. The new time must not overlap another window of the expert.
pub fn update_window(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    change: WindowChange,
) -> Result<(Window, Vec<Slot>), AppError> {
    let w = window_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such window"))?;
    share_stop(conn, w.event_id.as_deref())?;
    lock_expert(conn, &w.expert_id)?;
    let w = expert_windows::table.find(id).select(Window::as_select()).first(conn)?;
    if w.status == WindowStatus::Cancelled {
        return Err(AppError::conflict("the window was removed"));
    }
    let tz = w.zone();
    let mut errs = Vec::new();
    let starts = change
        .starts_at
        .as_deref()
        .map(|s| crate::time::parse_instant("starts_at", s, tz).map_err(|e| errs.push(e)).ok());
    let ends =
        change.ends_at.as_deref().map(|s| crate::time::parse_instant("ends_at", s, tz).map_err(|e| errs.push(e)).ok());
    let until = change.registrants_only_until.as_ref().map(|v| {
        v.as_deref()
            .and_then(|s| crate::time::parse_instant("registrants_only_until", s, tz).map_err(|e| errs.push(e)).ok())
    });
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    if until.is_some_and(|u| u.is_some()) && w.event_id.is_none() {
        return Err(AppError::field("registrants_only_until", "only a window at a stop has registrants"));
    }
    let starts = starts.flatten().map(to_db_time).unwrap_or(w.starts_at);
    let ends = ends.flatten().map(to_db_time).unwrap_or(w.ends_at);
    let event = match &w.event_id {
        Some(e) => crate::events::queries::find(conn, e)?,
        None => None,
    };
    check_times(event.as_ref(), starts, ends, w.slot_minutes, w.buffer_minutes)?;
    if until.flatten().or(w.registrants_only_until.map(from_db_time)).is_some_and(|u| to_db_time(u) > starts) {
        return Err(AppError::field("registrants_only_until", "must not be after the window starts"));
    }
    check_overlap(conn, &w.expert_id, starts, ends, Besides::Window(id))?;
    let mut set = vec!["starts_at", "ends_at"];
    diesel::update(expert_windows::table.find(id))
        .set((
            expert_windows::starts_at.eq(starts),
            expert_windows::ends_at.eq(ends),
            expert_windows::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if let Some(u) = until {
        set.push("registrants_only_until");
        diesel::update(expert_windows::table.find(id))
            .set(expert_windows::registrants_only_until.eq(u.map(to_db_time)))
            .execute(conn)?;
    }
    let w = expert_windows::table.find(id).select(Window::as_select()).first(conn)?;
    resync_slots(conn, &w)?;
    audit::record(conn, actor, "update", "expert_window", id, Changes::fields(&set))?;
    crate::events::queries::public_data_changed();
    let slots = slots_of(conn, id)?;
    Ok((w, slots))
}

/// Removes a window. One with active bookings is refused (409) unless `cancel_bookings`: then
/// each booking is cancelled and its business and the expert are emailed.
pub fn delete_window(
    conn: &mut DbConnection,
    ctx: &MailContext,
    actor: &Actor,
    id: &str,
    cancel_bookings: bool,
) -> Result<(), AppError> {
    let w = window_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such window"))?;
    share_stop(conn, w.event_id.as_deref())?;
    lock_expert(conn, &w.expert_id)?;
    // The window row first: a booking in flight holds it `FOR SHARE` (see `bookable_slot`), so this
    // waits for it and then finds its booking below; later bookings find the window cancelled.
    diesel::update(expert_windows::table.find(id))
        .set((expert_windows::status.eq(WindowStatus::Cancelled), expert_windows::updated_at.eq(now())))
        .execute(conn)?;
    let booked = booked_in_window(conn, id)?;
    if !booked.is_empty() && !cancel_bookings {
        return Err(AppError::conflict(format!(
            "the window has {} booking(s); remove it with ?cancel_bookings=true to cancel them (each business is emailed)",
            booked.len()
        )));
    }
    for b in booked {
        cancel_booking(conn, ctx, &b, Some(CancelReason::WindowWithdrawn), false)?;
    }
    cancel_window_row(conn, &w)?;
    audit::record(
        conn,
        actor,
        "delete",
        "expert_window",
        id,
        Changes::fields(&["status"]).with_ref("expert_id", &w.expert_id),
    )?;
    crate::events::queries::public_data_changed();
    Ok(())
}

fn cancel_window_row(conn: &mut DbConnection, w: &Window) -> Result<(), AppError> {
    diesel::update(expert_windows::table.find(&w.id))
        .set((expert_windows::status.eq(WindowStatus::Cancelled), expert_windows::updated_at.eq(now())))
        .execute(conn)?;
    diesel::update(
        expert_slots::table.filter(expert_slots::window_id.eq(&w.id)).filter(expert_slots::booking_id.is_null()),
    )
    .set(expert_slots::status.eq(SlotStatus::Withdrawn))
    .execute(conn)?;
    Ok(())
}

fn booked_in_window(conn: &mut DbConnection, window_id: &str) -> Result<Vec<String>, AppError> {
    Ok(expert_bookings::table
        .inner_join(expert_slots::table.on(expert_slots::id.eq(expert_bookings::slot_id)))
        .filter(expert_slots::window_id.eq(window_id))
        .filter(expert_bookings::status.eq(BookingStatus::Booked))
        .order(expert_bookings::starts_at)
        .select(expert_bookings::id)
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Event changes

/// Moves a stop's windows, slots and bookings with the event (called in the transaction that
/// changes the event, which holds its row `FOR UPDATE`): everything shifts by how far the start
/// moved; what then falls outside the event's new time is cut (open slots withdrawn, bookings
/// cancelled and emailed). A moved window that would overlap another window (or a booked session)
/// of its expert elsewhere refuses the whole change (409 naming the clash). Every booking that
/// stays is emailed what changed (`place`: the "Where: …" lines of a new venue), business and
/// expert, with an updated invite.
pub fn event_changed(
    conn: &mut DbConnection,
    ctx: &MailContext,
    event: &crate::events::model::Event,
    old_starts: NaiveDateTime,
    place: &[crate::mail::Change],
) -> Result<(), AppError> {
    let delta = event.starts_at - old_starts;
    // Experts are locked in id order, so two stops sharing experts never wait on each other in a
    // circle.
    let windows: Vec<Window> = expert_windows::table
        .filter(expert_windows::event_id.eq(&event.id))
        .filter(expert_windows::status.eq(WindowStatus::Active))
        .order((expert_windows::expert_id, expert_windows::starts_at))
        .select(Window::as_select())
        .load(conn)?;
    for w in windows {
        lock_expert(conn, &w.expert_id)?;
        let (starts, ends) = (w.starts_at + delta, (w.ends_at + delta).min(event.ends_at));
        if delta != Duration::zero() && starts < ends {
            check_overlap(conn, &w.expert_id, starts, ends, Besides::Stop(&event.id)).map_err(|e| match e {
                AppError::Conflict { detail, .. } => AppError::conflict(format!(
                    "moving the stop would make expert {}'s window {} clash: it {detail}",
                    w.expert_id, w.id
                )),
                other => other,
            })?;
        }
        let slots: Vec<Slot> =
            expert_slots::table.filter(expert_slots::window_id.eq(&w.id)).select(Slot::as_select()).load(conn)?;
        // Slots move with the window; a booked one that no longer fits is cancelled.
        for s in &slots {
            let (s_start, s_end) = (s.starts_at + delta, s.ends_at + delta);
            if let Some(b) = &s.booking_id {
                if s_start < event.starts_at || s_end > event.ends_at {
                    cancel_booking(conn, ctx, b, Some(CancelReason::StopHours), false)?;
                }
            }
            if delta != Duration::zero() {
                diesel::update(expert_slots::table.find(&s.id))
                    .set((expert_slots::starts_at.eq(s_start), expert_slots::ends_at.eq(s_end)))
                    .execute(conn)?;
            }
        }
        if starts >= ends || cut(starts, ends, w.slot_minutes, w.buffer_minutes).is_empty() {
            cancel_window_row(conn, &w)?;
        } else {
            diesel::update(expert_windows::table.find(&w.id))
                .set((
                    expert_windows::starts_at.eq(starts),
                    expert_windows::ends_at.eq(ends),
                    expert_windows::time_zone.eq(&event.time_zone),
                    expert_windows::updated_at.eq(now()),
                ))
                .execute(conn)?;
            let w = expert_windows::table.find(&w.id).select(Window::as_select()).first(conn)?;
            resync_slots(conn, &w)?;
        }
    }
    if delta == Duration::zero() && place.is_empty() {
        return Ok(());
    }
    let staying: Vec<Booking> = expert_bookings::table
        .filter(expert_bookings::event_id.eq(&event.id))
        .filter(expert_bookings::status.eq(BookingStatus::Booked))
        .select(Booking::as_select())
        .load(conn)?;
    let tz = event.tz();
    for b in staying {
        let (s, e) = (b.starts_at + delta, b.ends_at + delta);
        diesel::update(expert_bookings::table.find(&b.id))
            .set((
                expert_bookings::starts_at.eq(s),
                expert_bookings::ends_at.eq(e),
                expert_bookings::calendar_sequence.eq(expert_bookings::calendar_sequence + 1),
                expert_bookings::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let mut changes = Vec::new();
        if delta != Duration::zero() {
            changes.push(crate::mail::Change::StopRescheduled {
                from: from_db_time(b.starts_at),
                to: from_db_time(s),
                zone: tz,
            });
        }
        changes.extend(place.iter().cloned());
        mail::notify(conn, ctx, &b.id, BookingNotice::Changed { changes }, None, true)?;
    }
    Ok(())
}

/// Cancels a cancelled stop's windows and bookings, emailing each booking's business and expert.
pub fn event_cancelled(conn: &mut DbConnection, ctx: &MailContext, event_id: &str) -> Result<(), AppError> {
    let windows: Vec<Window> = expert_windows::table
        .filter(expert_windows::event_id.eq(event_id))
        .filter(expert_windows::status.eq(WindowStatus::Active))
        .select(Window::as_select())
        .load(conn)?;
    for w in windows {
        for b in booked_in_window(conn, &w.id)? {
            cancel_booking(conn, ctx, &b, Some(CancelReason::StopCancelled), false)?;
        }
        cancel_window_row(conn, &w)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Booking

/// A booking request after validation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BookingRequest {
    pub who: RegistrationRequest,
    pub question: Option<String>,
    pub topic: Option<Topic>,
    /// Hashed at once: the fingerprint for `Idempotency-Key` never holds the token itself.
    #[serde(skip)]
    pub registration_token: Option<String>,
}

/// What a booking returns.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Booked {
    pub id: String,
    pub slot_id: String,
    pub status: BookingStatus,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    /// Shown once; only its hash is stored.
    pub manage_token: Option<String>,
}

/// The 409 detail when the slot was taken first.
pub const SLOT_TAKEN: &str = "this slot has just been booked by someone else; pick another";

fn booking_scope(slot_id: &str) -> String {
    format!("booking:{slot_id}")
}

/// PostgreSQL: `KEY SHARE` on a stop's event row, taken first by every transaction that changes
/// the stop's bookings, slots or windows. A change of the stop's time or a cancellation takes the
/// row `FOR UPDATE` (then the experts' rows), so it runs either before or after each of them, and
/// the locks are always taken in the same order: event, attendee, business, expert, booking, slot.
pub fn share_stop(conn: &mut DbConnection, event_id: Option<&str>) -> Result<(), AppError> {
    if let (Some(event_id), DbConnection::Postgres(pg)) = (event_id, conn) {
        events::table.find(event_id).select(events::id).for_key_share().first::<String>(pg).optional()?;
    }
    Ok(())
}

fn slot_and_window(conn: &mut DbConnection, slot_id: &str) -> Result<Option<(Slot, Window)>, AppError> {
    Ok(expert_slots::table
        .inner_join(expert_windows::table)
        .filter(expert_slots::id.eq(slot_id))
        .select((Slot::as_select(), Window::as_select()))
        .first(conn)
        .optional()?)
}

/// A slot with what booking it needs: its window and the window's stop. A stop's slot is read
/// under `KEY SHARE` on the event row (PostgreSQL), as registrations do: a reschedule or
/// cancellation of the stop (which takes the row `FOR UPDATE`) either commits before, and the slot
/// is read with its new time or as withdrawn, or waits until this booking has committed, and then
/// moves or cancels it with the rest.
fn bookable_slot(conn: &mut DbConnection, slot_id: &str) -> Result<(Slot, Window), AppError> {
    let mut row = slot_and_window(conn, slot_id)?;
    if let (Some((slot, _)), DbConnection::Postgres(_)) = (&row, &*conn) {
        let (event_id, window_id) = (slot.event_id.clone(), slot.window_id.clone());
        share_stop(conn, event_id.as_deref())?;
        // `FOR SHARE` on the window: its removal (which updates the row first) runs either before
        // this booking, which then finds it cancelled, or after it, and then cancels it too.
        if let DbConnection::Postgres(pg) = conn {
            expert_windows::table.find(&window_id).select(expert_windows::id).for_share().first::<String>(pg)?;
        }
        row = slot_and_window(conn, slot_id)?;
    }
    let (slot, window) = row.ok_or_else(|| AppError::not_found("no such slot"))?;
    if slot.status != SlotStatus::Open || window.status != WindowStatus::Active {
        return Err(AppError::conflict("this slot is no longer offered"));
    }
    if slot.booking_id.is_some() {
        return Err(AppError::conflict(SLOT_TAKEN));
    }
    if slot.starts_at <= now() {
        return Err(AppError::conflict("this slot has already started"));
    }
    if let Some(e) = &window.event_id {
        let status: EventStatus = events::table.find(e).select(events::status).first(conn)?;
        if status != EventStatus::Published {
            return Err(AppError::conflict("this stop is not open for bookings"));
        }
    }
    let expert_active: bool = staff_users::table.find(&slot.expert_id).select(staff_users::active).first(conn)?;
    if !expert_active {
        return Err(AppError::conflict("this slot is no longer offered"));
    }
    Ok((slot, window))
}

/// PostgreSQL: the transaction-scoped lock that serializes one attendee's bookings and moves.
fn lock_attendee(conn: &mut DbConnection, email: &str) -> Result<(), AppError> {
    if conn.is_postgres() {
        let key = crate::privacy::address_lock_key(&format!("expert-booking:{email}"));
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(key).execute(conn)?;
    }
    Ok(())
}

/// The 409 when the attendee holds a booking that overlaps `[starts, ends)` (other than `except`).
fn check_attendee_free(
    conn: &mut DbConnection,
    email: &str,
    starts: NaiveDateTime,
    ends: NaiveDateTime,
    except: Option<&str>,
) -> Result<(), AppError> {
    let mut q = expert_bookings::table
        .filter(expert_bookings::attendee_email.eq(email))
        .filter(expert_bookings::status.eq(BookingStatus::Booked))
        .filter(expert_bookings::starts_at.lt(ends))
        .filter(expert_bookings::ends_at.gt(starts))
        .select(expert_bookings::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(expert_bookings::id.ne(id.to_string()));
    }
    if q.first::<String>(conn).optional()?.is_some() {
        return Err(AppError::conflict("this attendee already has a session booked at an overlapping time"));
    }
    Ok(())
}

/// The (attendee email, business) of the active registration for `event_id` whose manage token
/// `token` is, if any.
fn registrant_of(
    conn: &mut DbConnection,
    event_id: &str,
    token: &str,
) -> Result<Option<(Option<String>, String)>, AppError> {
    const ACTIVE: [RegistrationStatus; 3] =
        [RegistrationStatus::Confirmed, RegistrationStatus::Waitlisted, RegistrationStatus::Attended];
    let hash = hash_token(token);
    let direct = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::manage_token_hash.eq(&hash))
        .filter(registrations::status.eq_any(ACTIVE))
        .select((registrations::attendee_email, registrations::business_id))
        .first(conn)
        .optional()?;
    if direct.is_some() {
        return Ok(direct);
    }
    Ok(registration_tokens::table
        .inner_join(registrations::table)
        .filter(registration_tokens::token_hash.eq(&hash))
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq_any(ACTIVE))
        .select((registrations::attendee_email, registrations::business_id))
        .first(conn)
        .optional()?)
}

/// While a stop's window is for its registrants: `token` must be the manage token of a registration
/// for the stop of this attendee or this business (403 otherwise). One registrant's token does not
/// open the stop's sessions to anyone else.
fn check_registrant(
    conn: &mut DbConnection,
    window: &Window,
    token: Option<&str>,
    attendee_email: &str,
    business_id: &str,
) -> Result<(), AppError> {
    let (Some(until), Some(event_id)) = (window.registrants_only_until, &window.event_id) else { return Ok(()) };
    if now() >= until {
        return Ok(());
    }
    let registrant = match token {
        Some(t) => registrant_of(conn, event_id, t)?,
        None => None,
    };
    let ours =
        registrant.is_some_and(|(email, business)| email.as_deref() == Some(attendee_email) || business == business_id);
    if ours {
        return Ok(());
    }
    Err(AppError::Forbidden(format!(
        "until {} these slots are for registrants of the stop: send `registration_token`, the manage token of \
         this attendee's (or this business's) registration",
        human_local(from_db_time(until), window.zone())
    )))
}

/// The 409 when the business already holds `per_business` active sessions at the slot's stop (or,
/// online, on the slot's day, UTC), not counting `except` (a booking being moved).
fn check_business_limit(
    conn: &mut DbConnection,
    business_id: &str,
    slot: &Slot,
    per_business: u32,
    except: Option<&str>,
) -> Result<(), AppError> {
    let mut held = expert_bookings::table
        .filter(expert_bookings::business_id.eq(business_id.to_string()))
        .filter(expert_bookings::status.eq(BookingStatus::Booked))
        .into_boxed();
    held = match &slot.event_id {
        Some(e) => held.filter(expert_bookings::event_id.eq(e.clone())),
        None => {
            let day = slot.starts_at.date().and_hms_opt(0, 0, 0).expect("midnight exists");
            held.filter(expert_bookings::event_id.is_null())
                .filter(expert_bookings::starts_at.ge(day))
                .filter(expert_bookings::starts_at.lt(day + Duration::days(1)))
        }
    };
    if let Some(id) = except {
        held = held.filter(expert_bookings::id.ne(id.to_string()));
    }
    let n: i64 = held.count().get_result(conn)?;
    if n >= i64::from(per_business) {
        return Err(AppError::conflict(format!(
            "this business already holds {n} expert session(s) {}; the limit is {per_business}",
            if slot.event_id.is_some() { "at this stop" } else { "online that day" }
        )));
    }
    Ok(())
}

/// Books a slot: checks it is offered (and, while registrants-first, that the request carries a
/// registration of the stop), the attendee's other bookings and the business's limit, claims the
/// slot, inserts the booking and writes the business's confirmation and the expert's notice.
pub fn book(
    conn: &mut DbConnection,
    ctx: &MailContext,
    per_business: u32,
    slot_id: &str,
    req: &BookingRequest,
    idem: Option<&Idempotency>,
) -> Result<Booked, AppError> {
    if let Some(idem) = idem {
        if let Some(body) = claim_key(
            conn,
            &booking_scope(slot_id),
            idem,
            "the booking made with this Idempotency-Key no longer exists",
        )? {
            return replay(conn, &body);
        }
    }
    let (slot, window) = bookable_slot(conn, slot_id)?;
    let email = req.who.attendee_email.to_string();
    lock_attendee(conn, &email)?;
    let Some(business_id) = crate::registrations::queries::upsert_business(conn, &req.who)? else {
        return Err(AppError::field("business.state", format!("{} is not a US state code", req.who.business_state)));
    };
    check_registrant(conn, &window, req.registration_token.as_deref(), &email, &business_id)?;
    if let DbConnection::Postgres(pg) = conn {
        businesses::table.find(&business_id).select(businesses::id).for_update().first::<String>(pg)?;
    }
    check_business_limit(conn, &business_id, &slot, per_business, None)?;
    check_attendee_free(conn, &email, slot.starts_at, slot.ends_at, None)?;
    let id = new_id();
    let claimed = diesel::update(
        expert_slots::table
            .filter(expert_slots::id.eq(slot_id))
            .filter(expert_slots::booking_id.is_null())
            .filter(expert_slots::status.eq(SlotStatus::Open)),
    )
    .set(expert_slots::booking_id.eq(Some(&id)))
    .execute(conn)?;
    if claimed == 0 {
        return Err(AppError::conflict(SLOT_TAKEN));
    }
    let token = new_token(TokenKind::Manage);
    let ts = now();
    let row = Booking {
        id: id.clone(),
        slot_id: slot_id.to_string(),
        expert_id: slot.expert_id.clone(),
        event_id: slot.event_id.clone(),
        business_id,
        attendee_name: Some(req.who.attendee_name.clone()),
        attendee_email: Some(email),
        business_name_given: Some(req.who.business_name.clone()),
        question: req.question.clone(),
        topic: req.topic.map(|t| t.as_str().to_string()),
        status: BookingStatus::Booked,
        starts_at: slot.starts_at,
        ends_at: slot.ends_at,
        manage_token_hash: hash_token(&token),
        calendar_sequence: 0,
        created_at: ts,
        updated_at: ts,
        cancelled_at: None,
        marked_at: None,
        reminded_for: None,
        language: req.who.language,
    };
    diesel::insert_into(expert_bookings::table).values(&row).execute(conn).map_err(|e| match &e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::conflict(SLOT_TAKEN)
        }
        _ => AppError::from(e),
    })?;
    if let Some(a) = &req.who.accommodation {
        crate::accommodations::queries::insert(
            conn,
            crate::accommodations::queries::Owner::Booking(&id),
            slot.event_id.as_deref(),
            a,
        )?;
    }
    mail::notify(conn, ctx, &id, BookingNotice::Confirmed, Some(&token), true)?;
    crate::events::queries::public_data_changed();
    crate::webhooks::emit(
        conn,
        crate::webhooks::EventType::BookingCreated,
        window.event_id.as_deref(),
        &id,
        serde_json::json!({"booking_id": id, "event_id": window.event_id, "expert_id": window.expert_id,
                           "starts_at": crate::time::utc_string(crate::db::from_db_time(slot.starts_at)),
                           "ends_at": crate::time::utc_string(crate::db::from_db_time(slot.ends_at))}),
    )?;
    let booked = Booked {
        id: id.clone(),
        slot_id: slot_id.to_string(),
        status: BookingStatus::Booked,
        starts_at: slot.starts_at,
        ends_at: slot.ends_at,
        time_zone: window.time_zone.clone(),
        manage_token: Some(token),
    };
    if let Some(idem) = idem {
        let stored = Booked { manage_token: None, ..booked.clone() };
        let scope = booking_scope(slot_id);
        store_answer(conn, &scope, idem, None, &serde_json::to_string(&stored).unwrap_or_default())?;
        use crate::db::schema::idempotency_keys as k;
        diesel::update(k::table.filter(k::scope.eq(&scope)).filter(k::idem_key.eq(&idem.key)))
            .set(k::booking_id.eq(Some(&id)))
            .execute(conn)?;
    }
    Ok(booked)
}

/// The first answer again, with the booking's state now and a fresh token (none once cancelled).
fn replay(conn: &mut DbConnection, body: &str) -> Result<Booked, AppError> {
    let mut booked: Booked =
        serde_json::from_str(body).map_err(|e| AppError::internal(format!("stored idempotent response: {e}")))?;
    let b: Booking = expert_bookings::table.find(&booked.id).select(Booking::as_select()).first(conn)?;
    booked.status = b.status;
    booked.slot_id = b.slot_id.clone();
    booked.starts_at = b.starts_at;
    booked.ends_at = b.ends_at;
    booked.manage_token = if b.status == BookingStatus::Cancelled || b.attendee_email.is_none() {
        None
    } else {
        Some(mint_token(conn, &b.id)?)
    };
    Ok(booked)
}

/// A fresh manage token for a booking (stored hashed, valid alongside the others).
pub fn mint_token(conn: &mut DbConnection, booking_id: &str) -> Result<String, AppError> {
    let t = new_token(TokenKind::Manage);
    diesel::insert_into(expert_booking_tokens::table)
        .values((
            expert_booking_tokens::token_hash.eq(hash_token(&t)),
            expert_booking_tokens::booking_id.eq(booking_id),
            expert_booking_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(t)
}

/// Whether `token` is a live manage token of booking `id` (constant-time comparisons; an unknown
/// booking is the same `false`).
pub fn token_matches(conn: &mut DbConnection, id: &str, token: &str) -> Result<bool, AppError> {
    let stored: Option<String> =
        expert_bookings::table.find(id).select(expert_bookings::manage_token_hash).first(conn).optional()?;
    let Some(stored) = stored else { return Ok(false) };
    if tokens_match(token, &stored) {
        return Ok(true);
    }
    let presented = hash_token(token);
    let emailed: Option<String> = expert_booking_tokens::table
        .filter(expert_booking_tokens::booking_id.eq(id))
        .filter(expert_booking_tokens::token_hash.eq(&presented))
        .select(expert_booking_tokens::token_hash)
        .first(conn)
        .optional()?;
    Ok(emailed.is_some_and(|h| tokens_match(token, &h)))
}

pub fn find_booking(conn: &mut DbConnection, id: &str) -> Result<Option<Booking>, AppError> {
    Ok(expert_bookings::table.find(id).select(Booking::as_select()).first(conn).optional()?)
}

/// Locks a booking row (PostgreSQL) and reads it.
fn lock_booking(conn: &mut DbConnection, id: &str) -> Result<Booking, AppError> {
    let b = match conn {
        DbConnection::Postgres(pg) => {
            expert_bookings::table.find(id).select(Booking::as_select()).for_update().first(pg).optional()?
        }
        DbConnection::Sqlite(_) => {
            expert_bookings::table.find(id).select(Booking::as_select()).first(conn).optional()?
        }
    };
    b.ok_or_else(|| AppError::not_found("no such booking"))
}

/// Cancels a booking and opens its slot again at once. `reason` is told to the business when the
/// cancellation is not theirs; `by_holder` refuses once the session has started. Idempotent on a
/// cancelled booking.
pub fn cancel_booking(
    conn: &mut DbConnection,
    ctx: &MailContext,
    id: &str,
    reason: Option<CancelReason>,
    by_holder: bool,
) -> Result<Booking, AppError> {
    let probe = find_booking(conn, id)?.ok_or_else(|| AppError::not_found("no such booking"))?;
    share_stop(conn, probe.event_id.as_deref())?;
    let b = lock_booking(conn, id)?;
    match b.status {
        BookingStatus::Cancelled => return Ok(b),
        BookingStatus::Attended | BookingStatus::NoShow => {
            return Err(AppError::conflict(format!("a session marked {} cannot be cancelled", b.status)))
        }
        BookingStatus::Booked => {}
    }
    if by_holder && now() >= b.starts_at {
        return Err(AppError::conflict("the session has already started"));
    }
    let ts = now();
    diesel::update(expert_bookings::table.find(id))
        .set((
            expert_bookings::status.eq(BookingStatus::Cancelled),
            expert_bookings::cancelled_at.eq(Some(ts)),
            expert_bookings::calendar_sequence.eq(expert_bookings::calendar_sequence + 1),
            expert_bookings::updated_at.eq(ts),
        ))
        .execute(conn)?;
    release_slot(conn, &b.slot_id, id)?;
    mail::notify(conn, ctx, id, BookingNotice::Cancelled { reason }, None, true)?;
    crate::events::queries::public_data_changed();
    crate::webhooks::emit(
        conn,
        crate::webhooks::EventType::BookingCancelled,
        b.event_id.as_deref(),
        id,
        serde_json::json!({"booking_id": id, "event_id": b.event_id, "expert_id": b.expert_id}),
    )?;
    find_booking(conn, id)?.ok_or_else(|| AppError::internal("booking vanished"))
}

/// Moves a booking to another open slot (same or another expert; at the same stop, or online for
/// an online booking) in one transaction: the new slot is claimed first, and only once it is won is
/// the old one let go. A lost race is a 409 and the booking keeps its slot.
pub fn move_booking(
    conn: &mut DbConnection,
    ctx: &MailContext,
    per_business: u32,
    id: &str,
    new_slot_id: &str,
    registration_token: Option<&str>,
) -> Result<Booking, AppError> {
    let probe = find_booking(conn, id)?.ok_or_else(|| AppError::not_found("no such booking"))?;
    if probe.slot_id == new_slot_id {
        return Ok(probe);
    }
    // In the order a booking takes its locks: the stop, the target's window, then the attendee
    // and this booking (a window's removal, which holds its window and then locks its bookings,
    // never waits on a move that waits on it).
    share_stop(conn, probe.event_id.as_deref())?;
    let (slot, window) = bookable_slot(conn, new_slot_id).map_err(|e| match e {
        AppError::NotFound(_) => AppError::field("slot_id", "no such slot"),
        other => other,
    })?;
    if let Some(email) = &probe.attendee_email {
        lock_attendee(conn, email)?;
    }
    let b = lock_booking(conn, id)?;
    if b.status != BookingStatus::Booked {
        return Err(AppError::conflict(format!("a {} booking cannot be moved", b.status)));
    }
    if now() >= b.starts_at {
        return Err(AppError::conflict("the session has already started"));
    }
    if slot.event_id != b.event_id {
        return Err(AppError::field(
            "slot_id",
            "a booking moves to a slot at the same stop (or online, for an online session)",
        ));
    }
    // The rules a new booking of that slot meets: registrants first, and the business's limit
    // (online, per day: a move to another day counts there).
    check_registrant(
        conn,
        &window,
        registration_token,
        b.attendee_email.as_deref().unwrap_or_default(),
        &b.business_id,
    )?;
    if let DbConnection::Postgres(pg) = conn {
        businesses::table.find(&b.business_id).select(businesses::id).for_update().first::<String>(pg)?;
    }
    check_business_limit(conn, &b.business_id, &slot, per_business, Some(id))?;
    if let Some(email) = &b.attendee_email {
        check_attendee_free(conn, email, slot.starts_at, slot.ends_at, Some(id))?;
    }
    // The old slot is let go and the new one claimed in this one transaction (a slot names at most
    // one booking, so in this order): when the claim finds the new slot taken, the 409 rolls the
    // whole transaction back and the booking keeps its old slot.
    release_slot(conn, &b.slot_id, id)?;
    let claimed = diesel::update(
        expert_slots::table
            .filter(expert_slots::id.eq(new_slot_id))
            .filter(expert_slots::booking_id.is_null())
            .filter(expert_slots::status.eq(SlotStatus::Open)),
    )
    .set(expert_slots::booking_id.eq(Some(id)))
    .execute(conn)?;
    if claimed == 0 {
        return Err(AppError::conflict(SLOT_TAKEN));
    }
    // The expert who loses the session hears of it before the booking changes hands.
    if slot.expert_id != b.expert_id {
        if let Some(mut old) = mail::facts(conn, id)? {
            // The CANCEL must outrank the invite the old expert holds.
            old.booking.calendar_sequence += 1;
            mail::notify_expert(
                conn,
                ctx,
                &old,
                "moved_away",
                "A business moved its session with you to another expert.",
                Vec::new(),
                true,
            )?;
        }
    }
    diesel::update(expert_bookings::table.find(id))
        .set((
            expert_bookings::slot_id.eq(new_slot_id),
            expert_bookings::expert_id.eq(&slot.expert_id),
            expert_bookings::starts_at.eq(slot.starts_at),
            expert_bookings::ends_at.eq(slot.ends_at),
            expert_bookings::calendar_sequence.eq(expert_bookings::calendar_sequence + 1),
            expert_bookings::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let tz = window.zone();
    let mut changes = vec![crate::mail::Change::Starts {
        from: from_db_time(b.starts_at),
        from_zone: tz,
        to: from_db_time(slot.starts_at),
        to_zone: tz,
    }];
    if slot.expert_id != b.expert_id {
        let name: String =
            expert_profiles::table.find(&slot.expert_id).select(expert_profiles::display_name).first(conn)?;
        changes.push(crate::mail::Change::Expert(name));
    }
    let expert_changed = slot.expert_id != b.expert_id;
    mail::notify(conn, ctx, id, BookingNotice::Changed { changes: changes.clone() }, None, !expert_changed)?;
    if expert_changed {
        if let Some(f) = mail::facts(conn, id)? {
            mail::notify_expert(
                conn,
                ctx,
                &f,
                "confirmed",
                "A business booked a session with you.",
                Vec::new(),
                false,
            )?;
        }
    }
    crate::events::queries::public_data_changed();
    find_booking(conn, id)?.ok_or_else(|| AppError::internal("booking vanished"))
}

// ---------------------------------------------------------------------------------------------
// Staff: agenda, attendance

/// The bookings an actor may see: admins all; an organizer those at events its organization
/// hosts (online sessions belong to no organization: admins and the expert only); an expert its
/// own.
pub fn bookings_scope(actor: &Actor) -> crate::auth::scope::Filter<expert_bookings::table> {
    match (actor.role, actor.organization_id.clone()) {
        (Role::Admin, _) => Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 1")),
        (Role::Expert, _) => Box::new(expert_bookings::expert_id.eq(actor.user_id.clone())),
        (Role::Organizer, Some(org)) => Box::new(
            expert_bookings::event_id
                .eq_any(
                    event_hosts::table
                        .filter(event_hosts::organization_id.eq(org))
                        .select(event_hosts::event_id.nullable()),
                )
                .assume_not_null(),
        ),
        (Role::Organizer, None) => Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0")),
    }
}

/// A booking the actor may see.
pub fn booking_for_actor(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Booking>, AppError> {
    Ok(expert_bookings::table
        .filter(expert_bookings::id.eq(id.to_string()))
        .filter(bookings_scope(actor))
        .select(Booking::as_select())
        .first(conn)
        .optional()?)
}

/// What an agenda lists (each `None`: any).
#[derive(Debug, Clone, Default)]
pub struct AgendaFilter {
    pub expert_id: Option<String>,
    pub event_id: Option<String>,
    pub status: Option<BookingStatus>,
    pub from: Option<NaiveDateTime>,
}

/// Bookings the actor may see, by start time, keyset-paginated.
pub fn agenda(
    conn: &mut DbConnection,
    actor: &Actor,
    f: &AgendaFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Booking>, AppError> {
    let mut q = expert_bookings::table.filter(bookings_scope(actor)).select(Booking::as_select()).into_boxed();
    if let Some(e) = &f.expert_id {
        q = q.filter(expert_bookings::expert_id.eq(e.clone()));
    }
    if let Some(e) = &f.event_id {
        q = q.filter(expert_bookings::event_id.eq(e.clone()));
    }
    if let Some(s) = f.status {
        q = q.filter(expert_bookings::status.eq(s));
    }
    if let Some(from) = f.from {
        q = q.filter(expert_bookings::ends_at.gt(from));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            expert_bookings::starts_at.gt(at).or(expert_bookings::starts_at.eq(at).and(expert_bookings::id.gt(id))),
        );
    }
    Ok(q.order((expert_bookings::starts_at, expert_bookings::id)).limit(limit + 1).load(conn)?)
}

/// An expert's bookings that stand or were held, for the calendar feed: from 30 days back.
pub fn feed_bookings(conn: &mut DbConnection, expert_id: &str) -> Result<Vec<Booking>, AppError> {
    Ok(expert_bookings::table
        .filter(expert_bookings::expert_id.eq(expert_id))
        .filter(expert_bookings::status.ne(BookingStatus::Cancelled))
        .filter(expert_bookings::ends_at.gt(now() - Duration::days(30)))
        .order(expert_bookings::starts_at)
        .limit(1000)
        .select(Booking::as_select())
        .load(conn)?)
}

/// Marks a booking `attended` or `no_show` (staff who may see it; an expert its own). Only once
/// the session has started; a cancelled booking is a 409.
pub fn mark_attendance(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    status: BookingStatus,
) -> Result<Booking, AppError> {
    if !matches!(status, BookingStatus::Attended | BookingStatus::NoShow) {
        return Err(AppError::field("status", "must be \"attended\" or \"no_show\""));
    }
    booking_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such booking"))?;
    let b = lock_booking(conn, id)?;
    if b.status == BookingStatus::Cancelled {
        return Err(AppError::conflict("a cancelled booking cannot be marked"));
    }
    if b.status == status {
        return Ok(b);
    }
    if now() < b.starts_at {
        return Err(AppError::conflict("the session has not started yet"));
    }
    let ts = now();
    diesel::update(expert_bookings::table.find(id))
        .set((
            expert_bookings::status.eq(status),
            expert_bookings::marked_at.eq(Some(ts)),
            expert_bookings::updated_at.eq(ts),
        ))
        .execute(conn)?;
    audit::record(conn, actor, "mark_attendance", "expert_booking", id, Changes::fields(&["status", "marked_at"]))?;
    find_booking(conn, id)?.ok_or_else(|| AppError::internal("booking vanished"))
}

// ---------------------------------------------------------------------------------------------
// Public slot lists

/// What the slot lists filter on.
#[derive(Debug, Clone, Default)]
pub struct SlotFilter {
    /// `Some(id)`: the stop's slots; `None`: online slots.
    pub event_id: Option<String>,
    pub experts: ExpertFilter,
    pub from: NaiveDateTime,
    pub to: Option<NaiveDateTime>,
}

/// Open, unbooked slots with their window and expert, by start time then id; `after` continues
/// a page; `limit` rows at most (the caller asks one more to know if there is a next page).
pub fn open_slots(
    conn: &mut DbConnection,
    f: &SlotFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<(Slot, Window, Profile)>, AppError> {
    let mut q = expert_slots::table
        .inner_join(expert_windows::table)
        .inner_join(expert_profiles::table.on(expert_profiles::user_id.eq(expert_slots::expert_id)))
        .filter(expert_slots::status.eq(SlotStatus::Open))
        .filter(expert_slots::booking_id.is_null())
        .filter(expert_windows::status.eq(WindowStatus::Active))
        .filter(expert_slots::starts_at.ge(f.from))
        .select((Slot::as_select(), Window::as_select(), Profile::as_select()))
        .into_boxed();
    q = match &f.event_id {
        Some(e) => q.filter(expert_slots::event_id.eq(e.clone())),
        None => q.filter(expert_slots::event_id.is_null()),
    };
    if let Some(to) = f.to {
        q = q.filter(expert_slots::starts_at.lt(to));
    }
    q = q.filter(expert_slots::expert_id.eq_any(experts_matching(conn, &f.experts)?));
    if let Some((at, id)) = after {
        q = q.filter(expert_slots::starts_at.gt(at).or(expert_slots::starts_at.eq(at).and(expert_slots::id.gt(id))));
    }
    Ok(q.order((expert_slots::starts_at, expert_slots::id)).limit(limit).load(conn)?)
}

/// Active bookings per expert in a list's scope (the stop, or online sessions from `from` on),
/// for matching's spread.
pub fn load_by_expert(
    conn: &mut DbConnection,
    event_id: Option<&str>,
    from: NaiveDateTime,
) -> Result<std::collections::HashMap<String, i64>, AppError> {
    let mut q = expert_bookings::table
        .filter(expert_bookings::status.eq(BookingStatus::Booked))
        .select(expert_bookings::expert_id)
        .into_boxed();
    q = match event_id {
        Some(e) => q.filter(expert_bookings::event_id.eq(e.to_string())),
        None => q.filter(expert_bookings::event_id.is_null()).filter(expert_bookings::ends_at.gt(from)),
    };
    let mut out = std::collections::HashMap::new();
    for e in q.load::<String>(conn)? {
        *out.entry(e).or_insert(0) += 1;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Reminders

/// Writes the reminder of every booked session starting in more than 1 and at most 24 hours from
/// `at` and booked before the 24-hour mark, to its business and its expert, and records the start
/// it was settled for (`reminded_for`), so each pass looks only at sessions not yet settled and a
/// moved session is reminded again. Two processes at once send nothing twice (the outbox's dedupe
/// keys). Returns how many sessions were reminded.
pub fn remind_due(conn: &mut DbConnection, ctx: &MailContext, at: NaiveDateTime) -> Result<usize, AppError> {
    let due: Vec<(String, NaiveDateTime, NaiveDateTime)> = expert_bookings::table
        .filter(expert_bookings::status.eq(BookingStatus::Booked))
        .filter(expert_bookings::starts_at.gt(at + Duration::hours(1)))
        .filter(expert_bookings::starts_at.le(at + Duration::hours(24)))
        .filter(
            expert_bookings::reminded_for
                .is_null()
                .or(expert_bookings::reminded_for.ne(expert_bookings::starts_at.nullable()))
                .assume_not_null(),
        )
        .select((expert_bookings::id, expert_bookings::starts_at, expert_bookings::created_at))
        .order(expert_bookings::starts_at)
        .limit(5_000)
        .load(conn)?;
    let mut n = 0;
    for (id, starts, created) in due {
        // Booked within the last day: the confirmation was the reminder.
        if created < starts - Duration::hours(24) {
            mail::notify(conn, ctx, &id, BookingNotice::Reminder, None, true)?;
            n += 1;
        }
        diesel::update(expert_bookings::table.find(&id).filter(expert_bookings::starts_at.eq(starts)))
            .set(expert_bookings::reminded_for.eq(Some(starts)))
            .execute(conn)?;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Privacy

/// Whose bookings an export or erasure reaches.
#[derive(Debug, Clone, Copy)]
pub enum BookingsOf<'a> {
    Business(&'a str),
    Attendee(&'a str),
}

fn bookings_of(conn: &mut DbConnection, whose: BookingsOf<'_>) -> Result<Vec<Booking>, AppError> {
    let q =
        expert_bookings::table.select(Booking::as_select()).order((expert_bookings::created_at, expert_bookings::id));
    Ok(match whose {
        BookingsOf::Business(b) => q.filter(expert_bookings::business_id.eq(b)).load(conn)?,
        BookingsOf::Attendee(e) => q.filter(expert_bookings::attendee_email.eq(e)).load(conn)?,
    })
}

/// The bookings of a business or an attendee, for a data export.
pub fn export_bookings(
    conn: &mut DbConnection,
    whose: BookingsOf<'_>,
) -> Result<Vec<super::wire::BookingRecordOut>, AppError> {
    let mut out = Vec::new();
    let bookings = bookings_of(conn, whose)?;
    let ids: Vec<String> = bookings.iter().map(|b| b.id.clone()).collect();
    let mut needs = crate::accommodations::queries::of_bookings(conn, &ids)?;
    for b in bookings {
        let accommodation = needs.remove(&b.id);
        let expert_name: String =
            expert_profiles::table.find(&b.expert_id).select(expert_profiles::display_name).first(conn)?;
        out.push(super::wire::BookingRecordOut {
            id: b.id,
            status: b.status,
            expert_name,
            event_id: b.event_id,
            starts_at: crate::time::utc_string(from_db_time(b.starts_at)),
            attendee_name: b.attendee_name,
            attendee_email: b.attendee_email,
            question: b.question,
            topic: b.topic,
            created_at: crate::time::utc_string(from_db_time(b.created_at)),
            accommodation,
        });
    }
    Ok(out)
}

/// Erases the attendee of every booking of a business or an attendee: a booked session still
/// ahead is cancelled first (its slot opens again; nobody is emailed: the person asked to be
/// forgotten), then the name, address, question and every way in (manage tokens, stored idempotent
/// replies) go; the rows stay for the reports. Returns how many bookings were anonymised and the
/// outbox rows of the experts' emails about them, for the caller to scrub.
pub fn erase_bookings(conn: &mut DbConnection, whose: BookingsOf<'_>) -> Result<(usize, Vec<String>), AppError> {
    let bookings = bookings_of(conn, whose)?;
    let ts = now();
    let mut expert_emails = Vec::new();
    for listed in &bookings {
        // In the lock order of every booking write, then read again: a move or a cancel that
        // committed since the list was read is what this erasure works on.
        share_stop(conn, listed.event_id.as_deref())?;
        let b = lock_booking(conn, &listed.id)?;
        if b.status == BookingStatus::Booked {
            diesel::update(
                expert_bookings::table.find(&b.id).filter(expert_bookings::status.eq(BookingStatus::Booked)),
            )
            .set((
                expert_bookings::status.eq(BookingStatus::Cancelled),
                expert_bookings::cancelled_at.eq(Some(ts)),
                expert_bookings::calendar_sequence.eq(expert_bookings::calendar_sequence + 1),
            ))
            .execute(conn)?;
            release_slot(conn, &b.slot_id, &b.id)?;
        }
        diesel::update(expert_bookings::table.find(&b.id))
            .set((
                expert_bookings::attendee_name.eq(None::<String>),
                expert_bookings::attendee_email.eq(None::<String>),
                expert_bookings::business_name_given.eq(None::<String>),
                expert_bookings::question.eq(None::<String>),
                expert_bookings::manage_token_hash.eq(hash_token(&new_token(TokenKind::Manage))),
                expert_bookings::updated_at.eq(ts),
            ))
            .execute(conn)?;
        let mut ids: Vec<String> = crate::db::schema::outbox::table
            .filter(crate::db::schema::outbox::dedupe_key.like(format!("expert_booking_%:{}:%", b.id)))
            .select(crate::db::schema::outbox::id)
            .load(conn)?;
        expert_emails.append(&mut ids);
    }
    let ids: Vec<String> = bookings.iter().map(|b| b.id.clone()).collect();
    diesel::delete(expert_booking_tokens::table.filter(expert_booking_tokens::booking_id.eq_any(&ids)))
        .execute(conn)?;
    crate::accommodations::queries::erase_for_bookings(conn, &ids)?;
    diesel::update(
        crate::db::schema::idempotency_keys::table.filter(crate::db::schema::idempotency_keys::booking_id.eq_any(&ids)),
    )
    .set(crate::db::schema::idempotency_keys::request_hash.eq(crate::registrations::queries::ERASED_REQUEST))
    .execute(conn)?;
    if !bookings.is_empty() {
        crate::events::queries::public_data_changed();
    }
    Ok((bookings.len(), expert_emails))
}

// ---------------------------------------------------------------------------------------------
// Demo data (`roadshow demo-data`)

/// Inserts a profile as it is (demo data).
pub fn insert_profile(conn: &mut DbConnection, p: &Profile) -> Result<(), AppError> {
    diesel::insert_into(expert_profiles::table).values(p).execute(conn)?;
    Ok(())
}

/// Inserts a window and cuts it into slots, without the checks of [`create_window`] (demo data,
/// made to fit).
pub fn insert_window(conn: &mut DbConnection, w: &Window) -> Result<(), AppError> {
    diesel::insert_into(expert_windows::table).values(w).execute(conn)?;
    resync_slots(conn, w)
}

/// Books `n` demo slots (every third open slot at a stop) for demo businesses, without email.
pub fn demo_bookings(conn: &mut DbConnection, n: usize) -> Result<usize, AppError> {
    let slots: Vec<Slot> = expert_slots::table
        .filter(expert_slots::event_id.is_not_null())
        .filter(expert_slots::booking_id.is_null())
        .order((expert_slots::starts_at, expert_slots::id))
        .select(Slot::as_select())
        .load(conn)?;
    let mut made = 0;
    for (i, slot) in slots.iter().step_by(3).take(n).enumerate() {
        let who = RegistrationRequest {
            business_name: format!("Demo Shop {}", i + 1),
            business_email: crate::domain::EmailAddress::parse(&format!("owner{}@demo-shop.example", i + 1))
                .map_err(AppError::internal)?,
            business_state: crate::domain::StateCode::parse("TX").map_err(AppError::internal)?,
            industry: Some("retail".into()),
            employees: None,
            website: None,
            attendee_name: format!("Demo Owner {}", i + 1),
            attendee_email: crate::domain::EmailAddress::parse(&format!("owner{}@demo-shop.example", i + 1))
                .map_err(AppError::internal)?,
            marketing_consent: None,
            language: crate::domain::Language::English,
            accommodation: None,
        };
        let Some(business_id) = crate::registrations::queries::upsert_business(conn, &who)? else { continue };
        let id = new_id();
        let ts = now();
        diesel::update(expert_slots::table.find(&slot.id)).set(expert_slots::booking_id.eq(Some(&id))).execute(conn)?;
        diesel::insert_into(expert_bookings::table)
            .values(&Booking {
                id,
                slot_id: slot.id.clone(),
                expert_id: slot.expert_id.clone(),
                event_id: slot.event_id.clone(),
                business_id,
                attendee_name: Some(who.attendee_name.clone()),
                attendee_email: Some(who.attendee_email.to_string()),
                business_name_given: Some(who.business_name.clone()),
                question: Some("How do I reach customers near my shop?".into()),
                topic: Some(Topic::Advertising.as_str().into()),
                status: BookingStatus::Booked,
                starts_at: slot.starts_at,
                ends_at: slot.ends_at,
                manage_token_hash: hash_token(&new_token(TokenKind::Manage)),
                calendar_sequence: 0,
                created_at: ts,
                updated_at: ts,
                cancelled_at: None,
                marked_at: None,
                reminded_for: None,
                language: crate::domain::Language::English,
            })
            .execute(conn)?;
        made += 1;
    }
    Ok(made)
}

/// An attendee's booked sessions at an event: (expert's name, start, zone), by time. For the
/// registration's manage page.
pub fn sessions_at(
    conn: &mut DbConnection,
    event_id: &str,
    email: &str,
) -> Result<Vec<(String, NaiveDateTime, String)>, AppError> {
    Ok(expert_bookings::table
        .inner_join(expert_slots::table.on(expert_slots::id.eq(expert_bookings::slot_id)))
        .inner_join(expert_windows::table.on(expert_windows::id.eq(expert_slots::window_id)))
        .inner_join(expert_profiles::table.on(expert_profiles::user_id.eq(expert_bookings::expert_id)))
        .filter(expert_bookings::event_id.eq(event_id))
        .filter(expert_bookings::attendee_email.eq(email))
        .filter(expert_bookings::status.eq(BookingStatus::Booked))
        .order(expert_bookings::starts_at)
        .select((expert_profiles::display_name, expert_bookings::starts_at, expert_windows::time_zone))
        .load(conn)?)
}
