//! Registration transactions and reads. Each writing function runs inside the caller's write
//! transaction and writes the emails it implies to the outbox in that same transaction. No HTTP
//! here; statuses are [`RegistrationStatus`] and [`EventStatus`], never strings.

use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::model::{Held, HeldEvent, NewRegistration, Registrant, Registration, RegistrationRequest, ACTIVE, OPEN};
use super::seats;
use crate::auth::tokens::{hash_token, new_token, TokenKind};
use crate::auth::Actor;
use crate::db::schema::{businesses, events, idempotency_keys, registration_tokens, registrations, venues};
use crate::db::{cached, new_id, now, DbConnection};
use crate::domain::{EventStatus, RegistrationStatus};
use crate::error::AppError;
use crate::events::model::Event;
use crate::mail::outbox::{self, NewEmail};
use crate::mail::{notify_registration, prepare_with, EventFacts, MailContext, Notice, RegistrationFacts};

/// The 409 detail for an attendee who already has an active registration at the event.
pub const ALREADY_REGISTERED: &str = "this attendee is already registered for this event";

/// What a successful registration returns.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Created {
    pub id: String,
    pub event_id: String,
    pub status: RegistrationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    /// Shown once; only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_token: Option<String>,
}

/// An `Idempotency-Key` and the fingerprint of the request body it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
    /// How long a key is remembered (`ROADSHOW_IDEMPOTENCY_TTL_HOURS`): an older one is free again.
    pub ttl: chrono::Duration,
}

/// Stored instead of a request's fingerprint once its registration was erased: a replay of the key
/// then gets a 409 and nothing of the erased registration.
pub const ERASED_REQUEST: &str = "erased";

/// Outcome of [`register`].
#[derive(Debug)]
pub enum Outcome {
    Created(Created),
    /// A retry of an earlier request with the same key: the first answer (with a fresh manage
    /// token, since the first one is stored only as a hash).
    Replayed(Created),
}

/// The order in which [`register`] takes its locks on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seating {
    /// A seat first, without the event row and without waiting ([`seats::try_take_seat`]):
    /// registrations for one event do not wait for each other. When no shard with room is free
    /// the attempt ends with [`is_seat_first_full`] (everything rolled back) and the caller runs
    /// it again [`Seating::EventLockFirst`].
    SeatFirst,
    /// The event row first (the waitlist ticket), then a seat if one is free, else the waitlist.
    EventLockFirst,
}

/// Ends a [`Seating::SeatFirst`] attempt that found no free seat (a 503 if it ever reached a
/// client, which it does not: see `registrations::public`).
const SEAT_FIRST_FULL: &str = "no seat was free at once; the registration goes on under the event lock";

/// Whether `err` asks for the registration to be run again [`Seating::EventLockFirst`].
pub fn is_seat_first_full(err: &AppError) -> bool {
    matches!(err, AppError::Unavailable(m) if m == SEAT_FIRST_FULL)
}

/// Registers an attendee: upserts the business, takes a seat or a waitlist ticket, inserts the
/// registration and its confirmation email. See `seats` for the concurrency rules.
///
/// Why two attempts on PostgreSQL: trying for a seat can leave this transaction holding row locks
/// on shards it found full (a locking read that met a row updated since its snapshot locks it,
/// then sees it taken, and keeps the lock), and whoever holds the event row (a cancellation
/// freeing a seat, a waitlist entry looking once more for room) may be waiting for exactly those
/// rows. Waiting for the event row while holding them would be a deadlock (seen in CI under load);
/// so a seat-first attempt that finds no free seat rolls back, which lets go of every shard, and
/// the registration runs again with the event row first. SQLite serializes writers, so one
/// attempt does.
pub fn register(
    conn: &mut DbConnection,
    ctx: &MailContext,
    event_id: &str,
    req: &RegistrationRequest,
    idem: Option<&Idempotency>,
    seating: Seating,
) -> Result<Outcome, AppError> {
    if let Some(idem) = idem {
        if let Some(replay) = claim_idempotency_key(conn, event_id, idem)? {
            return Ok(Outcome::Replayed(replay));
        }
    }
    let event: Event = seats::share_event(conn, event_id)?.ok_or_else(|| AppError::not_found("no such event"))?;
    let at = now();
    match event.status {
        EventStatus::Cancelled => return Err(AppError::conflict("this event has been cancelled")),
        EventStatus::Completed => return Err(AppError::conflict("this event is over")),
        EventStatus::Draft | EventStatus::Published => {}
    }
    if at >= event.starts_at {
        return Err(AppError::conflict("this event has already started"));
    }
    if let Some(opens) = event.registration_opens_at {
        if at < opens {
            return Err(AppError::conflict(format!(
                "registration opens at {}",
                crate::time::utc_string(crate::db::from_db_time(opens))
            )));
        }
    }
    if let Some(closes) = event.registration_closes_at {
        if at >= closes {
            return Err(AppError::conflict("registration for this event has closed"));
        }
    }
    // The same attendee twice is refused by the unique index `registrations_one_active_per_attendee`
    // when the registration is inserted below (a 409 that rolls back everything before it; the
    // handler names the existing registration). No read first: this is the hot path, and the index
    // has to decide the race between two identical requests anyway.
    let Some(business_id) = upsert_business(conn, req)? else {
        return Err(AppError::field("business.state", format!("{} is not a US state code", req.business_state)));
    };

    let seat = match seating {
        Seating::SeatFirst => seats::try_take_seat(conn, event_id)?,
        Seating::EventLockFirst => None,
    };
    if seat.is_none() && seating == Seating::SeatFirst && conn.is_postgres() {
        return Err(AppError::Unavailable(SEAT_FIRST_FULL.into()));
    }
    let (status, shard, ticket) = match seat {
        Some(shard) => (RegistrationStatus::Confirmed, Some(shard), None),
        None => {
            // Full: take a waitlist ticket under the event row lock, then look once more, since a
            // seat freed before we got the lock (with nobody waiting) is ours.
            let ticket: i64 = diesel::update(events::table.find(event_id))
                .set(events::waitlist_seq.eq(events::waitlist_seq + 1))
                .returning(events::waitlist_seq)
                .get_result(conn)?;
            let freed = seats::has_room(conn, event_id)?;
            match if freed { seats::take_seat(conn, event_id)? } else { None } {
                Some(shard) => (RegistrationStatus::Confirmed, Some(shard), None),
                None => (RegistrationStatus::Waitlisted, None, Some(ticket)),
            }
        }
    };
    let token = new_token(TokenKind::Manage);
    let row = NewRegistration {
        id: new_id(),
        event_id: event_id.to_string(),
        business_id,
        attendee_name: Some(req.attendee_name.clone()),
        attendee_email: Some(req.attendee_email.to_string()),
        status,
        waitlist_ticket: ticket,
        seat_shard: shard,
        manage_token_hash: hash_token(&token),
        created_at: at,
        updated_at: at,
        confirmed_at: (status == RegistrationStatus::Confirmed).then_some(at),
        business_name_given: Some(req.business_name.clone()),
        business_state_given: Some(req.business_state.to_string()),
        industry_given: req.industry.clone(),
        employees_given: req.employees.clone(),
        website_given: req.website.clone(),
        language: req.language,
    };
    let notice = if status == RegistrationStatus::Confirmed { Notice::Confirmed } else { Notice::Waitlisted };
    // Counted before this row goes in, hence the + 1: tickets are handed out one at a time under
    // the event's row lock, which this transaction holds, so nobody joins the waitlist in between.
    let position = match ticket {
        Some(t) if status == RegistrationStatus::Waitlisted => Some(waitlist_position(conn, event_id, t)? + 1),
        _ => None,
    };
    // The email is made from the rows this transaction holds (the event under its key-share lock,
    // which an event change must wait for) and goes in with the registration.
    let facts = RegistrationFacts {
        id: row.id.clone(),
        status: row.status.as_str().to_string(),
        attendee_name: row.attendee_name.clone(),
        attendee_email: row.attendee_email.clone(),
        business_id: row.business_id.clone(),
        waitlist_ticket: row.waitlist_ticket,
        confirmed_at: row.confirmed_at,
        calendar_sequence: 0,
        waitlist_position: position,
        language: row.language,
    };
    let email = prepare_with(conn, ctx, facts, &EventFacts::from(&event), notice, Some(&token))?;
    let webhook_data = serde_json::json!({"registration_id": row.id, "event_id": event_id, "status": row.status,
                                          "waitlist_position": position});
    let after = match email.as_ref() {
        // Consent is the attendee's, for their own address only.
        Some(e) if conn.is_postgres() => {
            let kind = crate::webhooks::EventType::RegistrationCreated;
            let extras = Extras {
                consent: req.marketing_consent,
                webhook_type: kind.as_str(),
                webhook_payload: crate::webhooks::payload(kind, at, webhook_data),
            };
            let inserted = insert_both(conn, &row, &e.email, &extras).map_err(refused)?;
            e.after_insert(conn, inserted)?;
            None
        }
        _ => Some(webhook_data),
    };
    if let Some(webhook_data) = after {
        let inserted = insert_with_email(conn, &row, email.as_ref().map(|e| &e.email))?;
        if let Some(e) = &email {
            e.after_insert(conn, inserted)?;
        }
        crate::webhooks::emit(
            conn,
            crate::webhooks::EventType::RegistrationCreated,
            Some(event_id),
            &row.id,
            webhook_data,
        )?;
        if let Some(consent) = req.marketing_consent {
            outbox::set_marketing_consent(conn, &req.attendee_email, consent, at)?;
        }
    }
    // Only when one is asked for: a registration without one writes nothing more.
    if let Some(a) = &req.accommodation {
        crate::accommodations::queries::insert(
            conn,
            crate::accommodations::queries::Owner::Registration(&row.id),
            Some(event_id),
            a,
        )?;
    }
    crate::events::queries::public_data_changed();
    let created = Created {
        id: row.id.clone(),
        event_id: event_id.to_string(),
        status,
        waitlist_position: position,
        manage_token: Some(token),
    };
    if let Some(idem) = idem {
        let stored = Created { manage_token: None, ..created.clone() };
        store_answer(conn, &scope(event_id), idem, Some(&row.id), &serde_json::to_string(&stored).unwrap_or_default())?;
    }
    Ok(Outcome::Created(created))
}

/// The 409 of a second active registration of the attendee, refused by the unique index
/// `registrations_one_active_per_attendee`; any other error as it is.
fn refused(e: diesel::result::Error) -> AppError {
    match &e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("registrations_one_active_per_attendee")
                || info.message().contains("registrations.attendee_email") =>
        {
            AppError::conflict(ALREADY_REGISTERED)
        }
        _ => AppError::from(e),
    }
}

/// Inserts a new registration and its first email, one statement each (SQLite, where a statement
/// costs no round trip; PostgreSQL takes [`insert_both`]). A second active registration of the
/// attendee is refused by the unique index `registrations_one_active_per_attendee` (409,
/// [`ALREADY_REGISTERED`]). Returns whether the email row went in.
fn insert_with_email(
    conn: &mut DbConnection,
    row: &NewRegistration,
    email: Option<&NewEmail>,
) -> Result<bool, AppError> {
    cached(diesel::insert_into(registrations::table).values(row).returning(registrations::id))
        .get_result::<String>(conn)
        .map_err(refused)?;
    match email {
        Some(email) => outbox::enqueue(conn, email),
        None => Ok(false),
    }
}

/// What else a new registration writes, which [`insert_both`] writes in its statement.
struct Extras {
    /// The attendee's marketing consent, when the request gave it (see
    /// [`outbox::set_marketing_consent`], which this does the same).
    consent: Option<bool>,
    /// The `registration.created` webhook message, one row per subscribed endpoint of an
    /// organization hosting the event (see [`crate::webhooks::queries::enqueue`]).
    webhook_type: &'static str,
    webhook_payload: String,
}

/// PostgreSQL: the registration, its email, the attendee's marketing consent and the webhook
/// messages in one statement (a data-modifying `WITH`; each part runs once, whatever the others
/// return), which saves a round trip for each on every registration. Returns whether the email
/// row went in.
fn insert_both(
    conn: &mut DbConnection,
    row: &NewRegistration,
    email: &NewEmail,
    extras: &Extras,
) -> diesel::QueryResult<bool> {
    use diesel::sql_types::{BigInt, Bool, Integer, Nullable};
    let registration = diesel::sql_query(
        "WITH r AS (INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, \
         waitlist_ticket, seat_shard, manage_token_hash, created_at, updated_at, confirmed_at, \
         business_name_given, business_state_given, industry_given, employees_given, website_given, language) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $26, $27, $28, $29, $30, $36) RETURNING id), \
         c AS (INSERT INTO mail_counts (recipient, window_start, sent) SELECT $15, $31, 1 FROM r \
         WHERE $32::integer IS NOT NULL \
         ON CONFLICT (recipient, window_start) DO UPDATE SET sent = mail_counts.sent + 1 RETURNING sent), \
         k AS (INSERT INTO email_consents (email, marketing_consent, unsubscribed_at, updated_at) \
         SELECT $5, $33, CASE WHEN $33 THEN NULL ELSE $10 END, $10 FROM r WHERE $33 IS NOT NULL \
         ON CONFLICT (email) DO UPDATE SET marketing_consent = excluded.marketing_consent, \
         unsubscribed_at = CASE WHEN excluded.marketing_consent THEN NULL \
         ELSE COALESCE(email_consents.unsubscribed_at, excluded.unsubscribed_at) END, updated_at = excluded.updated_at \
         RETURNING 1), \
         u AS (UPDATE outbox SET status = 'dropped', last_error = 'not sent: the address unsubscribed' \
         WHERE $33 = false AND registration_id IN (SELECT id FROM registrations WHERE attendee_email = $5) \
         AND recipient = $5 AND category = 'marketing' AND status = 'pending' RETURNING 1), \
         w AS (INSERT INTO webhook_deliveries (id, endpoint_id, event_type, object_id, payload, status, attempts, \
         next_attempt_at, created_at) SELECT gen_random_uuid()::text, e.id, $34, r.id, $35, 'pending', 0, $10, $10 \
         FROM r, webhook_endpoints e JOIN event_hosts h ON h.organization_id = e.organization_id \
         WHERE h.event_id = $2 AND e.active AND e.event_types LIKE '%|' || $34 || '|%' RETURNING 1) \
         INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, ics, \
         headers, message_id, status, attempts, next_attempt_at, registration_id, business_id, event_id, created_at) \
         SELECT $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
         CASE WHEN (SELECT sent FROM c) > $32 THEN 'suppressed' ELSE 'pending' END, 0, $10, r.id, $24, $25, $10 \
         FROM r ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind::<Text, _>(&row.id)
    .bind::<Text, _>(&row.event_id)
    .bind::<Text, _>(&row.business_id)
    .bind::<Nullable<Text>, _>(&row.attendee_name)
    .bind::<Nullable<Text>, _>(&row.attendee_email)
    .bind::<Text, _>(row.status.as_str())
    .bind::<Nullable<BigInt>, _>(row.waitlist_ticket)
    .bind::<Nullable<Integer>, _>(row.seat_shard)
    .bind::<Text, _>(&row.manage_token_hash)
    .bind::<Timestamp, _>(row.created_at)
    .bind::<Timestamp, _>(row.updated_at)
    .bind::<Nullable<Timestamp>, _>(row.confirmed_at);
    let email_id = new_id();
    let cap = email.hourly_cap.map(|c| i32::try_from(c).unwrap_or(i32::MAX));
    let inserted: Vec<IdRow> = crate::fixed_statement!(outbox::bind_email_content!(registration, &email_id, email)
        .bind::<Nullable<Text>, _>(&email.business_id)
        .bind::<Nullable<Text>, _>(&email.event_id)
        .bind::<Nullable<Text>, _>(&row.business_name_given)
        .bind::<Nullable<Text>, _>(&row.business_state_given)
        .bind::<Nullable<Text>, _>(&row.industry_given)
        .bind::<Nullable<Text>, _>(&row.employees_given)
        .bind::<Nullable<Text>, _>(&row.website_given)
        .bind::<Timestamp, _>(outbox::cap_window(row.created_at))
        .bind::<Nullable<Integer>, _>(cap)
        .bind::<Nullable<Bool>, _>(extras.consent)
        .bind::<Text, _>(extras.webhook_type)
        .bind::<Text, _>(&extras.webhook_payload)
        .bind::<Text, _>(row.language.as_str()))
    .load(conn)?;
    Ok(inserted.len() == 1)
}

fn scope(event_id: &str) -> String {
    format!("registration:{event_id}")
}

/// Claims an idempotency key for this request, or returns the earlier answer for it. A concurrent
/// request with the same key waits (PostgreSQL: on the unique index; SQLite: on the write lock)
/// and then sees the first one's answer.
fn claim_idempotency_key(
    conn: &mut DbConnection,
    event_id: &str,
    idem: &Idempotency,
) -> Result<Option<Created>, AppError> {
    let Some(body) =
        claim_key(conn, &scope(event_id), idem, "the registration made with this Idempotency-Key no longer exists")?
    else {
        return Ok(None);
    };
    let mut created: Created =
        serde_json::from_str(&body).map_err(|e| AppError::internal(format!("stored idempotent response: {e}")))?;
    // The registration may have moved on (promoted, cancelled) since: answer with its state now.
    let reg: Registration = registrations::table.find(&created.id).first(conn)?;
    created.status = reg.status;
    created.waitlist_position = match reg.waitlist_ticket {
        Some(t) if reg.status == RegistrationStatus::Waitlisted => Some(waitlist_position(conn, event_id, t)?),
        _ => None,
    };
    // A cancelled (or anonymised) registration is not handed a working token again.
    created.manage_token = if reg.status == RegistrationStatus::Cancelled || reg.attendee_email.is_none() {
        None
    } else {
        Some(mint_link_token(conn, &reg.id)?)
    };
    Ok(Some(created))
}

/// A fresh manage token for a registration (stored hashed, valid alongside the others).
pub fn mint_link_token(conn: &mut DbConnection, registration_id: &str) -> Result<String, AppError> {
    let t = new_token(TokenKind::Manage);
    diesel::insert_into(registration_tokens::table)
        .values((
            registration_tokens::token_hash.eq(hash_token(&t)),
            registration_tokens::registration_id.eq(registration_id),
            registration_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(t)
}

/// Claims `idem.key` within `scope` for this request (`None`: go ahead, then [`store_answer`]), or
/// returns the stored body of the first answer to it. The same key with another body is a 422; a
/// key whose object was erased since is a 409 saying `gone`; a first request still in flight a 503.
/// A key older than its time to live is forgotten: the request counts as new.
pub fn claim_key(
    conn: &mut DbConnection,
    scope: &str,
    idem: &Idempotency,
    gone: &str,
) -> Result<Option<String>, AppError> {
    let inserted: Vec<ScopeRow> = cached(
        diesel::sql_query(
            "INSERT INTO idempotency_keys (scope, idem_key, request_hash, response_status, response_body, created_at) \
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (scope, idem_key) DO UPDATE SET \
         request_hash = excluded.request_hash, response_status = 0, response_body = '', registration_id = NULL, booking_id = NULL, \
         created_at = excluded.created_at WHERE idempotency_keys.created_at < $5 RETURNING scope",
        )
        .bind::<Text, _>(scope)
        .bind::<Text, _>(&idem.key)
        .bind::<Text, _>(&idem.request_hash)
        .bind::<Timestamp, _>(now())
        .bind::<Timestamp, _>(now() - idem.ttl),
    )
    .load(conn)?;
    if inserted.len() == 1 {
        return Ok(None);
    }
    let (request_hash, status, body): (String, i32, String) = idempotency_keys::table
        .filter(idempotency_keys::scope.eq(scope))
        .filter(idempotency_keys::idem_key.eq(&idem.key))
        .select((idempotency_keys::request_hash, idempotency_keys::response_status, idempotency_keys::response_body))
        .first(conn)?;
    if request_hash == ERASED_REQUEST {
        return Err(AppError::conflict(gone.to_string()));
    }
    if request_hash != idem.request_hash {
        return Err(AppError::field("Idempotency-Key", "was already used with a different request body"));
    }
    if status != 201 {
        return Err(AppError::Unavailable("the first request with this key is still in progress".into()));
    }
    Ok(Some(body))
}

/// Stores the 201 answer to a claimed key ([`claim_key`]); `registration_id` is the registration
/// it created (other features record their object in their own column).
pub fn store_answer(
    conn: &mut DbConnection,
    scope: &str,
    idem: &Idempotency,
    registration_id: Option<&str>,
    body: &str,
) -> Result<(), AppError> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::idem_key.eq(&idem.key)),
    )
    .set((
        idempotency_keys::registration_id.eq(registration_id),
        idempotency_keys::response_status.eq(201),
        idempotency_keys::response_body.eq(body),
    ))
    .execute(conn)?;
    Ok(())
}

/// Finds the business by its normalised contact email, or creates it from what the registrant
/// typed, in one statement. An existing business record is never changed by a registration (anyone
/// can type anyone's business email): what this registrant typed is kept on the registration
/// instead, and the record changes only through a verified link or staff. Safe when two
/// registrations of one new business race (the second finds the row the first inserted; the no-op
/// update is what makes `RETURNING` give the existing id). The same statement checks the state code
/// against `states`: `None` when it is unknown (nothing written).
///
/// On PostgreSQL it also takes a shared advisory lock on the attendee's address
/// ([`crate::privacy::address_lock_key`]): an erasure of that address holds it exclusively, so a
/// registration either commits before the erasure (and is erased with it) or starts after it.
pub(crate) fn upsert_business(conn: &mut DbConnection, req: &RegistrationRequest) -> Result<Option<String>, AppError> {
    use diesel::sql_types::{BigInt, Nullable};
    // SQLite numbers `$n` parameters in order of first appearance, so each text binds in its order.
    let q = diesel::sql_query(if conn.is_postgres() {
        "WITH l AS (SELECT pg_advisory_xact_lock_shared($8)) \
         INSERT INTO businesses (id, email, name, state_code, industry, employees, website, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $9, $9 FROM states, l WHERE code = $4 \
         ON CONFLICT (email) DO UPDATE SET email = businesses.email RETURNING COALESCE(merged_into, id) AS id"
    } else {
        "INSERT INTO businesses (id, email, name, state_code, industry, employees, website, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $8 FROM states WHERE code = $4 \
         ON CONFLICT (email) DO UPDATE SET email = businesses.email RETURNING COALESCE(merged_into, id) AS id"
    })
    .bind::<Text, _>(new_id())
    .bind::<Text, _>(&req.business_email)
    .bind::<Text, _>(&req.business_name)
    .bind::<Text, _>(&req.business_state)
    .bind::<Nullable<Text>, _>(&req.industry)
    .bind::<Nullable<Text>, _>(&req.employees)
    .bind::<Nullable<Text>, _>(&req.website);
    let rows: Vec<IdRow> = if conn.is_postgres() {
        crate::fixed_statement!(q
            .bind::<BigInt, _>(crate::privacy::address_lock_key(&req.attendee_email))
            .bind::<Timestamp, _>(now()))
        .load(conn)?
    } else {
        crate::fixed_statement!(q.bind::<Timestamp, _>(now())).load(conn)?
    };
    Ok(rows.into_iter().next().map(|r| r.id))
}

#[derive(QueryableByName)]
struct ScopeRow {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    scope: String,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The active registration of this attendee at this event, if any.
pub fn active_for_attendee(conn: &mut DbConnection, event_id: &str, email: &str) -> Result<Option<String>, AppError> {
    Ok(registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::attendee_email.eq(email))
        .filter(registrations::status.eq_any(ACTIVE))
        .select(registrations::id)
        .first(conn)
        .optional()?)
}

/// 1-based place in the waitlist of the holder of `ticket`.
pub fn waitlist_position(conn: &mut DbConnection, event_id: &str, ticket: i64) -> Result<i64, AppError> {
    Ok(registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq(RegistrationStatus::Waitlisted))
        .filter(registrations::waitlist_ticket.le(ticket))
        .count()
        .get_result(conn)?)
}

/// Ids of the active (confirmed, waitlisted) registrations of an event.
pub fn active_ids(conn: &mut DbConnection, event_id: &str) -> Result<Vec<String>, AppError> {
    Ok(registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq_any(OPEN))
        .order(registrations::created_at)
        .select(registrations::id)
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Registration>, AppError> {
    Ok(registrations::table.find(id).first(conn).optional()?)
}

/// A registration as its holder sees it: with its event, where the event takes place and the
/// place in the waitlist. `None` when there is no such registration.
pub fn held(conn: &mut DbConnection, id: &str) -> Result<Option<Held>, AppError> {
    let Some(registration) = find(conn, id)? else { return Ok(None) };
    let (event, venue_id): (HeldEvent, Option<String>) = events::table
        .find(&registration.event_id)
        .select((
            (
                events::id,
                events::kind,
                events::title,
                events::status,
                events::starts_at,
                events::ends_at,
                events::time_zone,
                events::join_url,
            ),
            events::venue_id,
        ))
        .first(conn)?;
    let location = match venue_id {
        Some(v) => venues::table
            .find(v)
            .select((venues::name, venues::address, venues::city, venues::state_code))
            .first::<(String, String, String, String)>(conn)
            .optional()?
            .map(|(name, address, city, state)| format!("{name}, {address}, {city}, {state}")),
        None => Some("Online".to_string()),
    };
    let waitlist_position = match registration.waitlist_ticket {
        Some(t) if registration.status == RegistrationStatus::Waitlisted => {
            Some(waitlist_position(conn, &registration.event_id, t)?)
        }
        _ => None,
    };
    let accommodation = crate::accommodations::queries::of_owner(
        conn,
        crate::accommodations::queries::Owner::Registration(&registration.id),
    )?;
    Ok(Some(Held { registration, event, location, waitlist_position, accommodation }))
}

/// Cancels a registration at its holder's request (manage API and page): refused once the event
/// has started, unless it is already cancelled (then nothing changes). See [`cancel`].
pub fn cancel_by_holder(conn: &mut DbConnection, ctx: &MailContext, id: &str) -> Result<Registration, AppError> {
    let (status, starts_at): (RegistrationStatus, chrono::NaiveDateTime) = registrations::table
        .inner_join(events::table)
        .filter(registrations::id.eq(id))
        .select((registrations::status, events::starts_at))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("no such registration"))?;
    if status != RegistrationStatus::Cancelled && now() >= starts_at {
        return Err(AppError::conflict("the event has already started"));
    }
    cancel(conn, ctx, id, true)
}

/// Cancels a registration and, if it held a seat, hands that seat to the head of the waitlist in
/// the same transaction. Emails the cancellation (and the promotion). Idempotent on a cancelled one.
pub fn cancel(conn: &mut DbConnection, ctx: &MailContext, id: &str, notify: bool) -> Result<Registration, AppError> {
    let reg: Registration = registrations::table.find(id).first(conn)?;
    seats::lock_event(conn, &reg.event_id)?;
    // Re-read under the lock: a concurrent cancel or promotion may have changed it.
    let reg: Registration = registrations::table.find(id).first(conn)?;
    match reg.status {
        RegistrationStatus::Cancelled => return Ok(reg),
        RegistrationStatus::Attended => return Err(AppError::conflict("an attended registration cannot be cancelled")),
        RegistrationStatus::Confirmed | RegistrationStatus::Waitlisted => {}
    }
    let ts = now();
    diesel::update(registrations::table.find(id))
        .set((
            registrations::status.eq(RegistrationStatus::Cancelled),
            registrations::cancelled_at.eq(Some(ts)),
            registrations::seat_shard.eq(None::<i32>),
            registrations::calendar_sequence.eq(registrations::calendar_sequence + 1),
            registrations::updated_at.eq(ts),
        ))
        .execute(conn)?;
    crate::events::queries::public_data_changed();
    if notify {
        notify_registration(conn, ctx, id, Notice::Cancelled, None)?;
    }
    crate::webhooks::emit(
        conn,
        crate::webhooks::EventType::RegistrationCancelled,
        Some(&reg.event_id),
        id,
        serde_json::json!({"registration_id": id, "event_id": reg.event_id, "previous_status": reg.status}),
    )?;
    if let (Some(shard), RegistrationStatus::Confirmed) = (reg.seat_shard, reg.status) {
        // A seat of a cancelled event goes to nobody: promoting would email "a seat opened up"
        // for an event that will not happen.
        let event_cancelled = events::table.find(&reg.event_id).select(events::status).first::<EventStatus>(conn)?
            == EventStatus::Cancelled;
        if event_cancelled || !promote_into(conn, ctx, &reg.event_id, shard)? {
            seats::release_seat(conn, &reg.event_id, shard)?;
        }
    }
    Ok(registrations::table.find(id).first(conn)?)
}

/// Gives the seat in `shard` to the head of the waitlist, if anyone waits. The event row must be
/// locked. Returns whether someone was promoted.
fn promote_into(conn: &mut DbConnection, ctx: &MailContext, event_id: &str, shard: i32) -> Result<bool, AppError> {
    let head: Option<String> = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq(RegistrationStatus::Waitlisted))
        .order((registrations::waitlist_ticket, registrations::created_at))
        .select(registrations::id)
        .first(conn)
        .optional()?;
    let Some(head) = head else { return Ok(false) };
    let ts = now();
    diesel::update(registrations::table.find(&head))
        .set((
            registrations::status.eq(RegistrationStatus::Confirmed),
            registrations::seat_shard.eq(Some(shard)),
            registrations::confirmed_at.eq(Some(ts)),
            registrations::calendar_sequence.eq(registrations::calendar_sequence + 1),
            registrations::updated_at.eq(ts),
        ))
        .execute(conn)?;
    notify_registration(conn, ctx, &head, Notice::Promoted, None)?;
    crate::webhooks::emit(
        conn,
        crate::webhooks::EventType::RegistrationPromoted,
        Some(event_id),
        &head,
        serde_json::json!({"registration_id": head, "event_id": event_id, "status": RegistrationStatus::Confirmed}),
    )?;
    Ok(true)
}

/// Promotes up to `free` waitlisted registrations into free seats (after capacity grew). The event
/// row must be locked.
pub fn promote_waitlist(
    conn: &mut DbConnection,
    ctx: &MailContext,
    event_id: &str,
    free: i32,
) -> Result<i32, AppError> {
    let mut promoted = 0;
    for _ in 0..free {
        let waiting: i64 = registrations::table
            .filter(registrations::event_id.eq(event_id))
            .filter(registrations::status.eq(RegistrationStatus::Waitlisted))
            .count()
            .get_result(conn)?;
        if waiting == 0 {
            break;
        }
        let Some(shard) = seats::take_seat(conn, event_id)? else { break };
        if !promote_into(conn, ctx, event_id, shard)? {
            seats::release_seat(conn, event_id, shard)?;
            break;
        }
        promoted += 1;
    }
    Ok(promoted)
}

/// Marks a confirmed registration attended and grants the business its ad credit in the same
/// transaction ([`crate::credits::queries::grant_for_taking_part`]: when it never had one and the
/// pool has room). Scoped: the actor must be able to manage its event. Checking in an attended
/// registration again changes nothing and answers `already_granted` or what granting does now.
pub fn check_in(
    conn: &mut DbConnection,
    ctx: &MailContext,
    actor: &Actor,
    id: &str,
) -> Result<(Registration, crate::credits::queries::GrantOutcome), AppError> {
    let reg = find_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such registration"))?;
    let (event_status, starts_at, ends_at): (EventStatus, chrono::NaiveDateTime, chrono::NaiveDateTime) =
        events::table.find(&reg.event_id).select((events::status, events::starts_at, events::ends_at)).first(conn)?;
    let participation = crate::credits::queries::Participation {
        business_id: reg.business_id.clone(),
        source: crate::domain::GrantSource::CheckIn,
        registration_id: Some(reg.id.clone()),
        booking_id: None,
        event_id: Some(reg.event_id.clone()),
    };
    match reg.status {
        RegistrationStatus::Attended => {
            let outcome = crate::credits::queries::grant_for_taking_part(conn, ctx, &participation)?;
            return Ok((reg, outcome));
        }
        // The door hours hold for checking in; an attended registration may still be granted
        // later (the pool was empty at the door and has been topped up).
        RegistrationStatus::Confirmed => check_in_window(now(), starts_at, ends_at)?,
        other => return Err(AppError::conflict(format!("a {other} registration cannot be checked in"))),
    }
    if event_status == EventStatus::Cancelled {
        return Err(AppError::conflict("the event was cancelled"));
    }
    let ts = now();
    let n =
        diesel::update(registrations::table.find(id).filter(registrations::status.eq(RegistrationStatus::Confirmed)))
            .set((
                registrations::status.eq(RegistrationStatus::Attended),
                registrations::checked_in_at.eq(Some(ts)),
                registrations::updated_at.eq(ts),
            ))
            .execute(conn)?;
    if n == 0 {
        // Cancelled (or checked in) by a concurrent request since it was read.
        return Err(AppError::conflict("the registration changed meanwhile; look again"));
    }
    crate::audit::record(
        conn,
        actor,
        "check_in",
        "registration",
        id,
        crate::audit::Changes::fields(&["status", "checked_in_at"]),
    )?;
    let outcome = crate::credits::queries::grant_for_taking_part(conn, ctx, &participation)?;
    Ok((registrations::table.find(id).first(conn)?, outcome))
}

/// How long before an event's start its door opens for check-in.
pub const CHECK_IN_OPENS_BEFORE_START: chrono::Duration = chrono::Duration::hours(2);
/// How long after an event's end a check-in may still be recorded (a door list typed in later).
pub const CHECK_IN_CLOSES_AFTER_END: chrono::Duration = chrono::Duration::days(7);

/// Check-in (which grants a business its ad credit) is for the door: from two hours before the
/// start to seven days after the end. Without it, staff could check registrants in days ahead
/// and spend the pool on businesses that never came. A 409 that says when the window is.
fn check_in_window(
    at: chrono::NaiveDateTime,
    starts_at: chrono::NaiveDateTime,
    ends_at: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    let opens = starts_at - CHECK_IN_OPENS_BEFORE_START;
    let closes = ends_at + CHECK_IN_CLOSES_AFTER_END;
    let utc = |t: chrono::NaiveDateTime| t.and_utc().format("%Y-%m-%dT%H:%M:%SZ");
    if at < opens {
        return Err(AppError::conflict(format!("check-in opens two hours before the event starts, at {}", utc(opens))));
    }
    if at > closes {
        return Err(AppError::conflict(format!(
            "check-in closed seven days after the event ended, at {}",
            utc(closes)
        )));
    }
    Ok(())
}

/// A registration whose event the actor may manage.
pub fn find_for_actor(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Registration>, AppError> {
    Ok(registrations::table
        .filter(registrations::id.eq(id.to_string()))
        .filter(crate::auth::scope::registrations_filter(actor))
        .first(conn)
        .optional()?)
}

/// Registrants of an event (the caller has checked the actor may see the event), oldest first,
/// keyset-paginated on (created_at, id).
pub fn registrants(
    conn: &mut DbConnection,
    event_id: &str,
    status: Option<RegistrationStatus>,
    after: Option<(chrono::NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Registrant>, AppError> {
    let mut q = registrations::table
        .inner_join(businesses::table)
        .filter(registrations::event_id.eq(event_id.to_string()))
        .select((
            registrations::id,
            registrations::status,
            registrations::attendee_name,
            registrations::attendee_email,
            registrations::waitlist_ticket,
            registrations::created_at,
            registrations::checked_in_at,
            businesses::id,
            businesses::name,
            businesses::state_code,
            businesses::industry,
            businesses::employees,
        ))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(registrations::status.eq(s));
    }
    if let Some((at, id)) = after {
        // The redundant `created_at >= at` is the bound the database seeks to in
        // `registrations_event_created_idx`; the `OR` alone would be a filter over every earlier row.
        q = q.filter(registrations::created_at.ge(at)).filter(
            registrations::created_at.gt(at).or(registrations::created_at.eq(at).and(registrations::id.gt(id))),
        );
    }
    Ok(q.order((registrations::created_at, registrations::id)).limit(limit).load(conn)?)
}

/// The waitlist tickets of an event, in waitlist order: a ticket's place is its rank here.
pub fn waitlist_tickets(conn: &mut DbConnection, event_id: &str) -> Result<Vec<i64>, AppError> {
    let mut tickets: Vec<i64> = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq(RegistrationStatus::Waitlisted))
        .select(registrations::waitlist_ticket)
        .load::<Option<i64>>(conn)?
        .into_iter()
        .flatten()
        .collect();
    tickets.sort_unstable();
    Ok(tickets)
}

/// Active registrations (confirmed, waitlisted) of an attendee for events not yet started.
pub fn upcoming_for_attendee(conn: &mut DbConnection, email: &str) -> Result<Vec<String>, AppError> {
    Ok(registrations::table
        .inner_join(events::table)
        .filter(registrations::attendee_email.eq(email))
        .filter(registrations::status.eq_any(OPEN))
        .filter(events::ends_at.gt(now()))
        .select(registrations::id)
        .load(conn)?)
}
