//! The credit pool's SQL: granting, ending, redeeming, configuring and reconciling. Each writing
//! function runs inside the caller's write transaction.
//!
//! Lock order on PostgreSQL (every path takes what it needs in this order, so none waits in a
//! cycle): a grant row (its insert, or `FOR UPDATE` on it) → the pool row → reserve rows (by
//! name). Granting takes the pool row last but one, and holds it only for the few statements
//! before commit: the email is rendered before. A grant's insert also takes `KEY SHARE` on its
//! reserve row (the foreign key) *before* it waits for the pool row, so whoever holds the pool row
//! locks reserves `FOR NO KEY UPDATE` (what an update of their counters takes anyway), which
//! `KEY SHARE` does not block: `FOR UPDATE` there deadlocked admins against check-ins.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::voucher::Voucher;
use crate::auth::Actor;
use crate::db::schema::{businesses, credit_grants, credit_ledger, credit_pool, credit_reserves, events, venues};
use crate::db::{new_id, now, DbConnection};
use crate::domain::{EventKind, GrantSource, GrantStatus, Language};
use crate::error::AppError;
use crate::mail::MailContext;

/// The reserve of webinars, online sessions and stops in states without an open reserve.
pub const NATIONAL: &str = "national";

/// The pool's settings and counters.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credit_pool)]
pub struct Pool {
    pub currency: String,
    pub total_cents: i64,
    pub grant_cents: i64,
    pub max_grants: i32,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub granted_cents: i64,
    pub grant_count: i32,
    pub updated_at: NaiveDateTime,
}

/// One reserve's share and counters.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credit_reserves)]
pub struct Reserve {
    pub reserve: String,
    pub share_cents: i64,
    pub granted_cents: i64,
    pub grant_count: i32,
    pub released_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// One grant, as stored (the voucher only as its hash and prefix).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credit_grants)]
pub struct Grant {
    pub id: String,
    pub business_id: String,
    pub status: GrantStatus,
    pub amount_cents: i64,
    pub reserve: String,
    pub source: GrantSource,
    pub registration_id: Option<String>,
    pub booking_id: Option<String>,
    pub event_id: Option<String>,
    pub state_code: Option<String>,
    pub voucher_prefix: String,
    pub granted_at: NaiveDateTime,
    pub granted_by: Option<String>,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    pub redeemed_at: Option<NaiveDateTime>,
}

/// What taking part did about the credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome {
    /// A new grant (its id), with its voucher emailed to the business.
    Granted { grant_id: String, amount_cents: i64, reserve: String },
    /// The business has (or had) a grant: active, revoked or declined. Only an admin grants again.
    AlreadyGranted,
    /// No room left in the pool, or in the reserve the grant would draw on (named).
    PoolEmpty { reserve: String },
    /// The pool is not open at this time (its start and end dates).
    NotOpen,
}

impl GrantOutcome {
    /// The wire spelling: `granted`, `already_granted`, `pool_empty` or `not_open`.
    pub fn as_str(&self) -> &'static str {
        match self {
            GrantOutcome::Granted { .. } => "granted",
            GrantOutcome::AlreadyGranted => "already_granted",
            GrantOutcome::PoolEmpty { .. } => "pool_empty",
            GrantOutcome::NotOpen => "not_open",
        }
    }
}

/// How a business took part, for [`grant_for_taking_part`].
#[derive(Debug, Clone)]
pub struct Participation {
    pub business_id: String,
    pub source: GrantSource,
    pub registration_id: Option<String>,
    pub booking_id: Option<String>,
    /// The event (stop or webinar); `None` for an online expert session.
    pub event_id: Option<String>,
}

pub fn pool(conn: &mut DbConnection) -> Result<Pool, AppError> {
    Ok(credit_pool::table.find(1).select(Pool::as_select()).first(conn)?)
}

/// The pool row, locked for the rest of the transaction on PostgreSQL (SQLite holds the database).
fn lock_pool(conn: &mut DbConnection) -> Result<Pool, AppError> {
    Ok(match conn {
        DbConnection::Postgres(pg) => credit_pool::table.find(1).select(Pool::as_select()).for_update().first(pg)?,
        DbConnection::Sqlite(_) => credit_pool::table.find(1).select(Pool::as_select()).first(conn)?,
    })
}

pub fn reserves(conn: &mut DbConnection) -> Result<Vec<Reserve>, AppError> {
    Ok(credit_reserves::table.order(credit_reserves::reserve).select(Reserve::as_select()).load(conn)?)
}

/// (id, contact email, name, state) of a business.
type BusinessFacts = (String, Option<String>, String, Option<String>);

/// The survivor of a business (a merged one points at it), and its contact, name and state.
///
/// On PostgreSQL both rows are read `FOR SHARE`: a merge (which locks both businesses `FOR UPDATE`)
/// either commits first, and then `merged_into` names the survivor, or waits for this grant and
/// then sees it (and keeps one active grant). Reading without the lock let a grant land on a
/// record being merged into a business that already held one.
fn business_facts(conn: &mut DbConnection, id: &str) -> Result<Option<BusinessFacts>, AppError> {
    let row: Option<(String, Option<String>)> = match conn {
        DbConnection::Postgres(pg) => businesses::table
            .find(id)
            .select((businesses::id, businesses::merged_into))
            .for_share()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(_) => {
            businesses::table.find(id).select((businesses::id, businesses::merged_into)).first(conn).optional()?
        }
    };
    let Some((id, merged)) = row else { return Ok(None) };
    let survivor = merged.unwrap_or(id);
    let q = businesses::table.find(survivor).select((
        businesses::id,
        businesses::email,
        businesses::name,
        businesses::state_code,
    ));
    Ok(match conn {
        DbConnection::Postgres(pg) => q.for_share().first(pg).optional()?,
        DbConnection::Sqlite(_) => q.first(conn).optional()?,
    })
}

/// The reserve a grant for taking part at `event_id` draws on (the documented rule): an in-person
/// stop draws on its state's reserve when that state has an open one; everything else (webinars,
/// online expert sessions, stops in states without an open reserve) on [`NATIONAL`].
pub fn reserve_for(conn: &mut DbConnection, event_id: Option<&str>) -> Result<String, AppError> {
    let Some(event_id) = event_id else { return Ok(NATIONAL.into()) };
    let row: Option<(EventKind, Option<String>, Option<String>)> = events::table
        .left_join(venues::table)
        .filter(events::id.eq(event_id))
        .select((events::kind, events::state_code, venues::state_code.nullable()))
        .first(conn)
        .optional()?;
    let state = match row {
        Some((EventKind::RoadshowStop, own, venue)) => venue.or(own),
        _ => None,
    };
    let Some(state) = state else { return Ok(NATIONAL.into()) };
    let open: Option<String> = credit_reserves::table
        .filter(credit_reserves::reserve.eq(&state))
        .filter(credit_reserves::released_at.is_null())
        .select(credit_reserves::reserve)
        .first(conn)
        .optional()?;
    Ok(open.unwrap_or_else(|| NATIONAL.into()))
}

/// Grants the business its credit for taking part, in the caller's transaction, when it never had
/// one and the pool and the reserve have room. The voucher is emailed to the business's contact
/// address in the same transaction.
pub fn grant_for_taking_part(
    conn: &mut DbConnection,
    ctx: &MailContext,
    p: &Participation,
) -> Result<GrantOutcome, AppError> {
    let reserve = reserve_for(conn, p.event_id.as_deref())?;
    grant(conn, ctx, p, &reserve, None, true)
}

/// Inserts a grant and moves the counters; see [`grant_for_taking_part`]. `first_only`: only when
/// the business never had a grant (taking part); otherwise only when it has no active one (an
/// admin's re-grant, `by`).
fn grant(
    conn: &mut DbConnection,
    ctx: &MailContext,
    p: &Participation,
    reserve: &str,
    by: Option<&Actor>,
    first_only: bool,
) -> Result<GrantOutcome, AppError> {
    let Some((business_id, email, name, state)) = business_facts(conn, &p.business_id)? else {
        return Err(AppError::not_found("no such business"));
    };
    let settings: Pool = pool(conn)?;
    let at = now();
    if settings.starts_at.is_some_and(|s| at < s) || settings.ends_at.is_some_and(|e| at >= e) {
        return Ok(GrantOutcome::NotOpen);
    }
    let amount = settings.grant_cents;
    let voucher = Voucher::generate();
    let id = new_id();
    // The partial unique index `credit_grants_one_active` decides a race between two grants for
    // one business (the second waits for the first and then inserts nothing); `first_only` adds
    // that a business that ever had a grant gets none by taking part again.
    let guard =
        if first_only { "NOT EXISTS (SELECT 1 FROM credit_grants g WHERE g.business_id = $2)" } else { "1 = 1" };
    let sql = format!(
        "INSERT INTO credit_grants (id, business_id, status, amount_cents, reserve, source, registration_id, \
         booking_id, event_id, state_code, voucher_hash, voucher_prefix, granted_at, granted_by) \
         SELECT $1, $2, 'active', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 WHERE {guard} \
         ON CONFLICT (business_id) WHERE status = 'active' DO NOTHING RETURNING id"
    );
    let inserted: Vec<IdRow> = diesel::sql_query(sql)
        .bind::<Text, _>(&id)
        .bind::<Text, _>(&business_id)
        .bind::<BigInt, _>(amount)
        .bind::<Text, _>(reserve)
        .bind::<Text, _>(p.source.as_str())
        .bind::<Nullable<Text>, _>(&p.registration_id)
        .bind::<Nullable<Text>, _>(&p.booking_id)
        .bind::<Nullable<Text>, _>(&p.event_id)
        .bind::<Nullable<Text>, _>(&state)
        .bind::<Text, _>(voucher.hash())
        .bind::<Text, _>(voucher.prefix())
        .bind::<Timestamp, _>(at)
        .bind::<Nullable<Text>, _>(by.map(|a| a.user_id.clone()))
        .load(conn)?;
    if inserted.is_empty() {
        return Ok(GrantOutcome::AlreadyGranted);
    }
    // Rendered before the pool row is locked: the lock is held only for the writes below.
    let lang = if email.is_some() { language_of(conn, p)? } else { Language::English };
    let mail = email
        .as_deref()
        .map(|to| super::mail::voucher_email(ctx, to, &name, &voucher, amount, &settings.currency, lang));
    let mail = mail.transpose()?;
    let pool_room = diesel::update(
        credit_pool::table
            .find(1)
            .filter((credit_pool::granted_cents + amount).le(credit_pool::total_cents))
            .filter(credit_pool::grant_count.lt(credit_pool::max_grants)),
    )
    .set((
        credit_pool::granted_cents.eq(credit_pool::granted_cents + amount),
        credit_pool::grant_count.eq(credit_pool::grant_count + 1),
        credit_pool::updated_at.eq(at),
    ))
    .execute(conn)?;
    let reserve_room = pool_room == 1 && move_reserve(conn, reserve, amount, 1, at)?;
    if !reserve_room {
        if pool_room == 1 {
            // The pool had room but the reserve had not: give the pool its amount back.
            move_pool(conn, -amount, -1, at)?;
        }
        diesel::delete(credit_grants::table.find(&id)).execute(conn)?;
        let empty = if pool_room == 1 { reserve.to_string() } else { "pool".to_string() };
        return Ok(GrantOutcome::PoolEmpty { reserve: empty });
    }
    let kind = if by.is_some() { "regrant" } else { "grant" };
    ledger(conn, kind, Some(reserve), Some(&id), Some(&business_id), amount, 1, by, None)?;
    if let Some(m) = mail {
        crate::mail::outbox::enqueue(conn, &m.into_email(&id, &business_id, p.event_id.as_deref()))?;
    }
    crate::webhooks::emit(
        conn,
        crate::webhooks::EventType::CreditGranted,
        p.event_id.as_deref(),
        &id,
        serde_json::json!({"grant_id": id, "event_id": p.event_id, "registration_id": p.registration_id,
                           "booking_id": p.booking_id, "amount_cents": amount, "source": p.source}),
    )?;
    Ok(GrantOutcome::Granted { grant_id: id, amount_cents: amount, reserve: reserve.to_string() })
}

/// The language of the voucher email: that of the registration (or expert booking) that earned
/// the grant; English for a grant neither earned (an admin's).
fn language_of(conn: &mut DbConnection, p: &Participation) -> Result<Language, AppError> {
    use crate::db::schema::{expert_bookings, registrations};
    if let Some(r) = &p.registration_id {
        let lang = registrations::table.find(r).select(registrations::language).first(conn).optional()?;
        return Ok(lang.unwrap_or_default());
    }
    if let Some(b) = &p.booking_id {
        let lang = expert_bookings::table.find(b).select(expert_bookings::language).first(conn).optional()?;
        return Ok(lang.unwrap_or_default());
    }
    Ok(Language::English)
}

/// Adds `cents` and `count` to the pool's counters (negative to give back).
fn move_pool(conn: &mut DbConnection, cents: i64, count: i32, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(credit_pool::table.find(1))
        .set((
            credit_pool::granted_cents.eq(credit_pool::granted_cents + cents),
            credit_pool::grant_count.eq(credit_pool::grant_count + count),
            credit_pool::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Adds to a reserve's counters when it has room; `false` when it has not.
fn move_reserve(
    conn: &mut DbConnection,
    reserve: &str,
    cents: i64,
    count: i32,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = diesel::update(
        credit_reserves::table
            .find(reserve)
            .filter((credit_reserves::granted_cents + cents).le(credit_reserves::share_cents)),
    )
    .set((
        credit_reserves::granted_cents.eq(credit_reserves::granted_cents + cents),
        credit_reserves::grant_count.eq(credit_reserves::grant_count + count),
        credit_reserves::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// One ledger entry: what moved (deltas of the counters it touches) and why.
#[derive(Debug, Default)]
struct Entry<'a> {
    kind: &'a str,
    reserve: Option<&'a str>,
    grant_id: Option<&'a str>,
    business_id: Option<&'a str>,
    granted_delta: i64,
    count_delta: i32,
    share_delta: i64,
    total_delta: i64,
    actor: Option<&'a Actor>,
    note: Option<&'a str>,
}

/// Appends an entry to the ledger (which refuses every other change).
fn append(conn: &mut DbConnection, e: Entry) -> Result<(), AppError> {
    diesel::insert_into(credit_ledger::table)
        .values((
            credit_ledger::at.eq(now()),
            credit_ledger::kind.eq(e.kind),
            credit_ledger::reserve.eq(e.reserve),
            credit_ledger::grant_id.eq(e.grant_id),
            credit_ledger::business_id.eq(e.business_id),
            credit_ledger::granted_delta_cents.eq(e.granted_delta),
            credit_ledger::count_delta.eq(e.count_delta),
            credit_ledger::share_delta_cents.eq(e.share_delta),
            credit_ledger::total_delta_cents.eq(e.total_delta),
            credit_ledger::actor_id.eq(e.actor.map(|a| a.user_id.as_str())),
            credit_ledger::note.eq(e.note),
        ))
        .execute(conn)?;
    Ok(())
}

/// A grant's or an ending's entry.
#[allow(clippy::too_many_arguments)]
fn ledger(
    conn: &mut DbConnection,
    kind: &str,
    reserve: Option<&str>,
    grant_id: Option<&str>,
    business_id: Option<&str>,
    granted_delta: i64,
    count_delta: i32,
    actor: Option<&Actor>,
    note: Option<&str>,
) -> Result<(), AppError> {
    append(
        conn,
        Entry { kind, reserve, grant_id, business_id, granted_delta, count_delta, actor, note, ..Entry::default() },
    )
}

/// An entry that changes the pool's total or a reserve's share.
fn ledger_share(
    conn: &mut DbConnection,
    kind: &str,
    reserve: Option<&str>,
    share_delta: i64,
    total_delta: i64,
    actor: &Actor,
    note: &str,
) -> Result<(), AppError> {
    append(
        conn,
        Entry { kind, reserve, share_delta, total_delta, actor: Some(actor), note: Some(note), ..Entry::default() },
    )
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    id: String,
}

/// A grant, locked for the rest of the transaction on PostgreSQL.
fn lock_grant(conn: &mut DbConnection, id: &str) -> Result<Option<Grant>, AppError> {
    let q = credit_grants::table.find(id);
    Ok(match conn {
        DbConnection::Postgres(pg) => q.select(Grant::as_select()).for_update().first(pg).optional()?,
        DbConnection::Sqlite(_) => q.select(Grant::as_select()).first(conn).optional()?,
    })
}

pub fn find_grant(conn: &mut DbConnection, id: &str) -> Result<Option<Grant>, AppError> {
    Ok(credit_grants::table.find(id).select(Grant::as_select()).first(conn).optional()?)
}

/// Ends an active grant: `revoked` by an admin (with a reason) or `declined` by the business. The
/// amount goes back to the pool and to the reserve it came from.
pub fn end_grant(
    conn: &mut DbConnection,
    id: &str,
    status: GrantStatus,
    reason: &str,
    by: Option<&Actor>,
) -> Result<Grant, AppError> {
    let g = lock_grant(conn, id)?.ok_or_else(|| AppError::not_found("no such grant"))?;
    if g.status != GrantStatus::Active {
        return Err(AppError::conflict(format!("this grant was already {}", g.status)));
    }
    if g.redeemed_at.is_some() {
        return Err(AppError::conflict("this grant's voucher was redeemed: the credit has been used"));
    }
    let at = now();
    diesel::update(credit_grants::table.find(id))
        .set((
            credit_grants::status.eq(status),
            credit_grants::ended_at.eq(Some(at)),
            credit_grants::end_reason.eq(Some(reason)),
            credit_grants::ended_by.eq(by.map(|a| a.user_id.clone())),
        ))
        .execute(conn)?;
    lock_pool(conn)?;
    move_pool(conn, -g.amount_cents, -1, at)?;
    if !move_reserve(conn, &g.reserve, -g.amount_cents, -1, at)? {
        return Err(AppError::internal("a reserve refused an amount given back"));
    }
    let kind = if status == GrantStatus::Declined { "decline" } else { "revoke" };
    ledger(conn, kind, Some(&g.reserve), Some(id), Some(&g.business_id), -g.amount_cents, -1, by, Some(reason))?;
    // A released reserve grants nothing more: what comes back to it goes on to national, or it
    // would sit where no grant can reach it.
    let released = g.reserve != NATIONAL && lock_reserve(conn, &g.reserve)?.released_at.is_some();
    if released {
        for (reserve, delta) in [(g.reserve.as_str(), -g.amount_cents), (NATIONAL, g.amount_cents)] {
            diesel::update(credit_reserves::table.find(reserve))
                .set((
                    credit_reserves::share_cents.eq(credit_reserves::share_cents + delta),
                    credit_reserves::updated_at.eq(at),
                ))
                .execute(conn)?;
            append(
                conn,
                Entry {
                    kind: "release",
                    reserve: Some(reserve),
                    grant_id: Some(id),
                    share_delta: delta,
                    actor: by,
                    note: Some("returned to a released reserve"),
                    ..Entry::default()
                },
            )?;
        }
    }
    if let Some(actor) = by {
        crate::audit::record(conn, actor, kind, "credit_grant", id, crate::audit::Changes::fields(&["status"]))?;
    } else {
        crate::audit::record_system(conn, kind, "credit_grant", id, crate::audit::Changes::fields(&["status"]))?;
    }
    find_grant(conn, id)?.ok_or_else(|| AppError::internal("grant vanished"))
}

/// The grant a typed voucher code belongs to.
pub fn grant_by_code(conn: &mut DbConnection, voucher: &Voucher) -> Result<Option<Grant>, AppError> {
    Ok(credit_grants::table
        .filter(credit_grants::voucher_hash.eq(voucher.hash()))
        .select(Grant::as_select())
        .first(conn)
        .optional()?)
}

/// Declines a grant by its voucher code (whoever holds the code the business was emailed).
pub fn decline(conn: &mut DbConnection, voucher: &Voucher) -> Result<Grant, AppError> {
    let g = grant_by_code(conn, voucher)?.ok_or_else(|| AppError::not_found("no grant has this voucher code"))?;
    end_grant(conn, &g.id, GrantStatus::Declined, "declined by the business", None)
}

/// An admin's explicit grant to a business whose grant was revoked or declined (or that never had
/// one): from the reserve its last grant drew on (national when that is closed or there was none).
pub fn regrant(
    conn: &mut DbConnection,
    ctx: &MailContext,
    actor: &Actor,
    business_id: &str,
    reason: &str,
) -> Result<GrantOutcome, AppError> {
    let Some((survivor, ..)) = business_facts(conn, business_id)? else {
        return Err(AppError::not_found("no such business"));
    };
    let last: Option<(String, Option<String>)> = credit_grants::table
        .filter(credit_grants::business_id.eq(&survivor))
        .order(credit_grants::granted_at.desc())
        .select((credit_grants::reserve, credit_grants::event_id))
        .first(conn)
        .optional()?;
    let reserve = match &last {
        Some((_, event)) => reserve_for(conn, event.as_deref())?,
        None => NATIONAL.to_string(),
    };
    let p = Participation {
        business_id: survivor.clone(),
        source: GrantSource::Admin,
        registration_id: None,
        booking_id: None,
        event_id: last.and_then(|l| l.1),
    };
    let outcome = grant(conn, ctx, &p, &reserve, Some(actor), false)?;
    match &outcome {
        GrantOutcome::AlreadyGranted => Err(AppError::conflict("this business holds an active grant")),
        GrantOutcome::NotOpen => Err(AppError::conflict("the pool is not open now (its start and end dates)")),
        GrantOutcome::PoolEmpty { reserve } => {
            Err(AppError::conflict(format!("no room left in the {reserve} reserve")))
        }
        GrantOutcome::Granted { grant_id, .. } => {
            let mut changes = crate::audit::Changes::fields(&["status"]);
            changes.refs.insert("business_id".into(), survivor);
            changes.refs.insert("reason".into(), reason.chars().take(200).collect());
            crate::audit::record(conn, actor, "regrant", "credit_grant", grant_id, changes)?;
            Ok(outcome)
        }
    }
}

/// Marks a voucher redeemed (a partner used it). A revoked, declined or already redeemed one is a
/// 409.
pub fn redeem(conn: &mut DbConnection, actor: &Actor, voucher: &Voucher) -> Result<Grant, AppError> {
    let g = grant_by_code(conn, voucher)?.ok_or_else(|| AppError::not_found("no grant has this voucher code"))?;
    if g.status != GrantStatus::Active {
        return Err(AppError::conflict(format!("this voucher's grant was {}", g.status)));
    }
    let at = now();
    let n = diesel::update(
        credit_grants::table
            .find(&g.id)
            .filter(credit_grants::status.eq(GrantStatus::Active))
            .filter(credit_grants::redeemed_at.is_null()),
    )
    .set((credit_grants::redeemed_at.eq(Some(at)), credit_grants::redeemed_by.eq(Some(&actor.user_id))))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::Conflict {
            detail: "this voucher was already redeemed".into(),
            existing_id: Some(g.id.clone()),
        });
    }
    ledger(conn, "redeem", Some(&g.reserve), Some(&g.id), Some(&g.business_id), 0, 0, Some(actor), None)?;
    crate::audit::record(
        conn,
        actor,
        "redeem",
        "credit_grant",
        &g.id,
        crate::audit::Changes::fields(&["redeemed_at"]),
    )?;
    find_grant(conn, &g.id)?.ok_or_else(|| AppError::internal("grant vanished"))
}

/// A new voucher code for the business's active grant (the old one stops working), for its
/// contact after a verified link: the only way to see a code again.
pub fn reissue_voucher(conn: &mut DbConnection, business_id: &str) -> Result<Option<(Grant, Voucher)>, AppError> {
    let active: Option<String> = credit_grants::table
        .filter(credit_grants::business_id.eq(business_id))
        .filter(credit_grants::status.eq(GrantStatus::Active))
        .filter(credit_grants::redeemed_at.is_null())
        .select(credit_grants::id)
        .first(conn)
        .optional()?;
    let Some(id) = active else { return Ok(None) };
    let voucher = Voucher::generate();
    diesel::update(credit_grants::table.find(&id))
        .set((credit_grants::voucher_hash.eq(voucher.hash()), credit_grants::voucher_prefix.eq(voucher.prefix())))
        .execute(conn)?;
    ledger(conn, "reissue", None, Some(&id), Some(business_id), 0, 0, None, None)?;
    let g = find_grant(conn, &id)?.ok_or_else(|| AppError::internal("grant vanished"))?;
    Ok(Some((g, voucher)))
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// What an admin changes about the pool (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct PoolChange {
    pub total_cents: Option<i64>,
    pub grant_cents: Option<i64>,
    pub max_grants: Option<i32>,
    pub currency: Option<String>,
    pub starts_at: Option<Option<NaiveDateTime>>,
    pub ends_at: Option<Option<NaiveDateTime>>,
}

/// Changes the pool. A new total moves the national reserve's share by the difference; a total
/// below what is granted, or one that would leave the national reserve below its grants, is a 409;
/// so is a maximum below the grants made.
pub fn change_pool(conn: &mut DbConnection, actor: &Actor, change: &PoolChange) -> Result<Pool, AppError> {
    let p = lock_pool(conn)?;
    let at = now();
    if let Some(total) = change.total_cents {
        if total < p.granted_cents {
            return Err(AppError::conflict(format!(
                "{} cents are granted already; the total cannot go below that",
                p.granted_cents
            )));
        }
        let delta = total - p.total_cents;
        if delta != 0 {
            let national = lock_reserve(conn, NATIONAL)?;
            if national.share_cents + delta < national.granted_cents {
                return Err(AppError::conflict(format!(
                    "the national reserve would fall below its {} granted cents: release state reserves into it first, \
                     or lower their shares",
                    national.granted_cents
                )));
            }
            diesel::update(credit_reserves::table.find(NATIONAL))
                .set((
                    credit_reserves::share_cents.eq(national.share_cents + delta),
                    credit_reserves::updated_at.eq(at),
                ))
                .execute(conn)?;
            ledger_share(conn, "pool", None, 0, delta, actor, "total changed")?;
            ledger_share(conn, "reserve", Some(NATIONAL), delta, 0, actor, "follows the pool's total")?;
        }
    }
    if let Some(max) = change.max_grants {
        if max < p.grant_count {
            return Err(AppError::conflict(format!(
                "{} grants were made already; the maximum cannot go below that",
                p.grant_count
            )));
        }
    }
    let starts = change.starts_at.unwrap_or(p.starts_at);
    let ends = change.ends_at.unwrap_or(p.ends_at);
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            return Err(AppError::field("ends_at", "must be after starts_at"));
        }
    }
    diesel::update(credit_pool::table.find(1))
        .set((
            credit_pool::total_cents.eq(change.total_cents.unwrap_or(p.total_cents)),
            credit_pool::grant_cents.eq(change.grant_cents.unwrap_or(p.grant_cents)),
            credit_pool::max_grants.eq(change.max_grants.unwrap_or(p.max_grants)),
            credit_pool::currency.eq(change.currency.clone().unwrap_or(p.currency)),
            credit_pool::starts_at.eq(starts),
            credit_pool::ends_at.eq(ends),
            credit_pool::updated_at.eq(at),
        ))
        .execute(conn)?;
    let fields = [
        ("total_cents", change.total_cents.is_some()),
        ("grant_cents", change.grant_cents.is_some()),
        ("max_grants", change.max_grants.is_some()),
        ("currency", change.currency.is_some()),
        ("starts_at", change.starts_at.is_some()),
        ("ends_at", change.ends_at.is_some()),
    ];
    crate::audit::record(conn, actor, "update", "credit_pool", "1", crate::audit::Changes::of_set(&fields))?;
    pool(conn)
}

fn lock_reserve(conn: &mut DbConnection, name: &str) -> Result<Reserve, AppError> {
    Ok(match conn {
        DbConnection::Postgres(pg) => {
            credit_reserves::table.find(name).select(Reserve::as_select()).for_no_key_update().first(pg)?
        }
        DbConnection::Sqlite(_) => credit_reserves::table.find(name).select(Reserve::as_select()).first(conn)?,
    })
}

/// Sets the shares of the given state reserves (creating or reopening them); the national reserve
/// gets what is left of the total. A share below what its reserve granted, or shares adding up to
/// more than the total less the national reserve's grants, is a 409. `release_others`: every other
/// open state reserve is released (what a CSV allocation does).
pub fn set_reserves(
    conn: &mut DbConnection,
    actor: &Actor,
    shares: &[(String, i64)],
    release_others: bool,
) -> Result<Vec<Reserve>, AppError> {
    let p = lock_pool(conn)?;
    let at = now();
    // Locked in name order, as everywhere.
    let mut current: Vec<Reserve> = match conn {
        DbConnection::Postgres(pg) => credit_reserves::table
            .order(credit_reserves::reserve)
            .select(Reserve::as_select())
            .for_no_key_update()
            .load(pg)?,
        DbConnection::Sqlite(_) => reserves(conn)?,
    };
    let mut wanted: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for r in current.iter().filter(|r| r.reserve != NATIONAL) {
        let keep = if r.released_at.is_some() || release_others { r.granted_cents } else { r.share_cents };
        wanted.insert(r.reserve.clone(), keep);
    }
    for (state, cents) in shares {
        wanted.insert(state.clone(), *cents);
    }
    for (state, cents) in &wanted {
        let granted = current.iter().find(|r| &r.reserve == state).map_or(0, |r| r.granted_cents);
        if *cents < granted {
            return Err(AppError::conflict(format!(
                "the {state} reserve has granted {granted} cents; its share cannot go below that"
            )));
        }
    }
    let states_total: i64 = wanted.values().sum();
    let national = current
        .iter()
        .find(|r| r.reserve == NATIONAL)
        .cloned()
        .ok_or_else(|| AppError::internal("no national reserve"))?;
    let national_share = p.total_cents - states_total;
    if national_share < national.granted_cents {
        return Err(AppError::conflict(format!(
            "state shares of {states_total} cents leave the national reserve {national_share} cents, below the {} it granted",
            national.granted_cents
        )));
    }
    let listed: std::collections::HashSet<&str> = shares.iter().map(|(s, _)| s.as_str()).collect();
    for (state, cents) in &wanted {
        let existing = current.iter_mut().find(|r| &r.reserve == state);
        match existing {
            Some(r) => {
                let reopen = listed.contains(state.as_str());
                let released = if reopen {
                    None
                } else if release_others || r.released_at.is_some() {
                    Some(r.released_at.unwrap_or(at))
                } else {
                    None
                };
                let delta = cents - r.share_cents;
                if delta != 0 || released != r.released_at {
                    diesel::update(credit_reserves::table.find(state))
                        .set((
                            credit_reserves::share_cents.eq(cents),
                            credit_reserves::released_at.eq(released),
                            credit_reserves::updated_at.eq(at),
                        ))
                        .execute(conn)?;
                    let kind = if released.is_some() && r.released_at.is_none() { "release" } else { "reserve" };
                    ledger_share(conn, kind, Some(state), delta, 0, actor, "state share set")?;
                }
            }
            None => {
                diesel::insert_into(credit_reserves::table)
                    .values((
                        credit_reserves::reserve.eq(state),
                        credit_reserves::share_cents.eq(cents),
                        credit_reserves::granted_cents.eq(0),
                        credit_reserves::grant_count.eq(0),
                        credit_reserves::updated_at.eq(at),
                    ))
                    .execute(conn)?;
                ledger_share(conn, "reserve", Some(state), *cents, 0, actor, "state reserve created")?;
            }
        }
    }
    let delta = national_share - national.share_cents;
    if delta != 0 {
        diesel::update(credit_reserves::table.find(NATIONAL))
            .set((credit_reserves::share_cents.eq(national_share), credit_reserves::updated_at.eq(at)))
            .execute(conn)?;
        ledger_share(conn, "reserve", Some(NATIONAL), delta, 0, actor, "what the state shares leave")?;
    }
    let mut changes = crate::audit::Changes::fields(&["share_cents"]);
    changes.refs.insert("states".into(), shares.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(","));
    crate::audit::record(conn, actor, "set_reserves", "credit_pool", "1", changes)?;
    reserves(conn)
}

/// The codes among `codes` that are not states of the program (the `states` table).
pub fn unknown_states(conn: &mut DbConnection, codes: &[String]) -> Result<Vec<String>, AppError> {
    use crate::db::schema::states;
    let known: Vec<String> = states::table.filter(states::code.eq_any(codes)).select(states::code).load(conn)?;
    Ok(codes.iter().filter(|c| !known.contains(c)).cloned().collect())
}

/// Releases what a state reserve has not granted back to the national reserve, and closes it: the
/// state's later grants draw on the national reserve.
pub fn release_reserve(conn: &mut DbConnection, actor: &Actor, state: &str) -> Result<Vec<Reserve>, AppError> {
    lock_pool(conn)?;
    let r = match conn {
        DbConnection::Postgres(pg) => {
            credit_reserves::table.find(state).select(Reserve::as_select()).for_no_key_update().first(pg).optional()?
        }
        DbConnection::Sqlite(_) => {
            credit_reserves::table.find(state).select(Reserve::as_select()).first(conn).optional()?
        }
    };
    let r = match r {
        Some(r) if r.reserve != NATIONAL => r,
        _ => return Err(AppError::not_found("no such state reserve")),
    };
    if r.released_at.is_some() {
        return Err(AppError::conflict("this reserve was released already"));
    }
    let unused = r.share_cents - r.granted_cents;
    let at = now();
    diesel::update(credit_reserves::table.find(state))
        .set((
            credit_reserves::share_cents.eq(r.granted_cents),
            credit_reserves::released_at.eq(Some(at)),
            credit_reserves::updated_at.eq(at),
        ))
        .execute(conn)?;
    diesel::update(credit_reserves::table.find(NATIONAL))
        .set((
            credit_reserves::share_cents.eq(credit_reserves::share_cents + unused),
            credit_reserves::updated_at.eq(at),
        ))
        .execute(conn)?;
    ledger_share(conn, "release", Some(state), -unused, 0, actor, "unused share released")?;
    ledger_share(conn, "release", Some(NATIONAL), unused, 0, actor, &format!("released by {state}"))?;
    crate::audit::record(
        conn,
        actor,
        "release",
        "credit_reserve",
        state,
        crate::audit::Changes::fields(&["share_cents"]),
    )?;
    reserves(conn)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// What the grant list filters on.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub status: Option<GrantStatus>,
    pub state: Option<String>,
    pub event_id: Option<String>,
    pub business_id: Option<String>,
}

/// Grants the actor may see (admins all; organizers those at events their organization hosts;
/// experts none), newest first, keyset-paginated on (granted_at, id).
pub fn list_grants(
    conn: &mut DbConnection,
    actor: &Actor,
    f: &GrantFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Grant>, AppError> {
    let mut q = credit_grants::table.select(Grant::as_select()).into_boxed();
    q = q.filter(grants_filter(actor));
    if let Some(s) = f.status {
        q = q.filter(credit_grants::status.eq(s));
    }
    if let Some(s) = &f.state {
        q = q.filter(credit_grants::state_code.eq(s.clone()));
    }
    if let Some(e) = &f.event_id {
        q = q.filter(credit_grants::event_id.eq(e.clone()));
    }
    if let Some(b) = &f.business_id {
        q = q.filter(credit_grants::business_id.eq(b.clone()));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            credit_grants::granted_at.lt(at).or(credit_grants::granted_at.eq(at).and(credit_grants::id.lt(id))),
        );
    }
    Ok(q.order((credit_grants::granted_at.desc(), credit_grants::id.desc())).limit(limit).load(conn)?)
}

/// `credit_grants` rows the actor may see, as SQL.
pub fn grants_filter(actor: &Actor) -> crate::auth::scope::Filter<credit_grants::table> {
    use crate::auth::scope::EventScope;
    use crate::db::schema::event_hosts;
    match actor.event_scope() {
        EventScope::All => crate::auth::scope::always(),
        EventScope::HostedBy(org) => Box::new(
            credit_grants::event_id
                .assume_not_null()
                .eq_any(event_hosts::table.filter(event_hosts::organization_id.eq(org)).select(event_hosts::event_id)),
        ),
        EventScope::Nothing => crate::auth::scope::never(),
    }
}

/// One grant the actor may see.
pub fn grant_for_actor(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Grant>, AppError> {
    Ok(credit_grants::table
        .filter(credit_grants::id.eq(id.to_string()))
        .filter(grants_filter(actor))
        .select(Grant::as_select())
        .first(conn)
        .optional()?)
}

/// Every grant's reserve, status, amount, state, event and dates (reports and reconcile).
#[derive(Debug, Clone, Queryable)]
pub struct GrantFact {
    pub reserve: String,
    pub status: GrantStatus,
    pub amount_cents: i64,
    pub state_code: Option<String>,
    pub event_id: Option<String>,
    pub granted_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub redeemed_at: Option<NaiveDateTime>,
}

/// The facts of the grants the actor may see.
pub fn grant_facts(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<GrantFact>, AppError> {
    Ok(credit_grants::table
        .filter(grants_filter(actor))
        .select((
            credit_grants::reserve,
            credit_grants::status,
            credit_grants::amount_cents,
            credit_grants::state_code,
            credit_grants::event_id,
            credit_grants::granted_at,
            credit_grants::ended_at,
            credit_grants::redeemed_at,
        ))
        .load(conn)?)
}

/// The ledger's sums: per reserve (granted, count, share) and the pool's total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerSums {
    pub total_cents: i64,
    /// reserve → (granted cents, grant count, share cents).
    pub reserves: std::collections::BTreeMap<String, (i64, i64, i64)>,
}

#[derive(QueryableByName)]
struct SumRow {
    #[diesel(sql_type = Nullable<Text>)]
    reserve: Option<String>,
    #[diesel(sql_type = BigInt)]
    granted: i64,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = BigInt)]
    share: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Sums the whole ledger by reserve.
pub fn ledger_sums(conn: &mut DbConnection) -> Result<LedgerSums, AppError> {
    let rows: Vec<SumRow> = diesel::sql_query(
        "SELECT reserve, CAST(COALESCE(SUM(granted_delta_cents), 0) AS BIGINT) AS granted, \
         CAST(COALESCE(SUM(count_delta), 0) AS BIGINT) AS count, \
         CAST(COALESCE(SUM(share_delta_cents), 0) AS BIGINT) AS share, \
         CAST(COALESCE(SUM(total_delta_cents), 0) AS BIGINT) AS total \
         FROM credit_ledger GROUP BY reserve",
    )
    .load(conn)?;
    let mut out = LedgerSums::default();
    for r in rows {
        out.total_cents += r.total;
        if let Some(name) = r.reserve {
            out.reserves.insert(name, (r.granted, r.count, r.share));
        }
    }
    Ok(out)
}

/// Active grants summed by reserve: reserve → (cents, count).
pub fn active_sums(conn: &mut DbConnection) -> Result<std::collections::BTreeMap<String, (i64, i64)>, AppError> {
    let rows: Vec<SumRow> = diesel::sql_query(
        "SELECT reserve, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS granted, \
         CAST(COUNT(*) AS BIGINT) AS count, CAST(0 AS BIGINT) AS share, CAST(0 AS BIGINT) AS total \
         FROM credit_grants WHERE status = 'active' GROUP BY reserve",
    )
    .load(conn)?;
    Ok(rows.into_iter().filter_map(|r| r.reserve.map(|n| (n, (r.granted, r.count)))).collect())
}
