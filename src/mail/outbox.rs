//! The outbox table: rows written in the caller's transaction, claimed and marked by the worker,
//! inspected and retried by admins.
//!
//! Row life: `pending` → `sent` (the server accepted it), or → `dead` after the attempt bound or a
//! permanent refusal (an admin may retry it), or → `dropped` (marketing mail whose business
//! unsubscribed before it went out). A claim takes a lease (`locked_by`, `locked_until`): a worker
//! that dies mid-batch leaves rows that become claimable again when the lease ends, and they are
//! re-sent with the same Message-ID. A worker whose batch is still in flight renews its lease
//! ([`renew_leases`]), and checks just before sending that each row is still its own and still
//! pending ([`still_leased`]): a row dropped meanwhile (an erasure, an unsubscription) or taken
//! over by another worker is not sent.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::schema::{email_consents, events, outbox, registrations, unsubscribe_tokens};
use crate::db::{cached, new_id, now, DbConnection};
use crate::domain::{EventStatus, MailCategory, OutboxStatus, RegistrationStatus};
use crate::error::AppError;

/// An email ready to send (rendered at enqueue time; the worker renders nothing).
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// Unique per logical email: a second enqueue with the same key is ignored.
    pub dedupe_key: String,
    pub recipient: String,
    pub template: String,
    pub category: MailCategory,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
    /// JSON object of extra headers (e.g. `List-Unsubscribe`).
    pub headers: String,
    pub registration_id: Option<String>,
    pub business_id: Option<String>,
    pub event_id: Option<String>,
    /// `Some(cap)` when this email counts against its recipient's hourly cap (mail a public request
    /// can cause): past `cap` in the clock hour it is stored as `suppressed` and never sent.
    pub hourly_cap: Option<u32>,
}

/// One outbox row, as stored.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub dedupe_key: String,
    pub recipient: String,
    pub template: String,
    pub category: MailCategory,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
    pub headers: String,
    pub message_id: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub registration_id: Option<String>,
    pub business_id: Option<String>,
    pub event_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// What the `message_id` column holds for the outbox row `id` (kept for rows written before the
/// header took the sender's domain); the header itself is [`message_id_at`].
pub fn message_id(id: &str) -> String {
    format!("<{id}@roadshow>")
}

/// The Message-ID header of the outbox row `id` sent from an address at `domain` (the domain of
/// `ROADSHOW_MAIL_FROM`, which relays and spam filters expect): one per row, so a re-send is
/// recognisably the same message.
pub fn message_id_at(id: &str, domain: &str) -> String {
    format!("<{id}@{domain}>")
}

#[cfg(test)]
#[test]
fn message_ids_take_the_senders_domain() {
    assert_eq!(sender_domain("Roadshow <no-reply@Roadshow.Example>"), "roadshow.example");
    assert_eq!(sender_domain("news@chamber.example.org"), "chamber.example.org");
    assert_eq!(sender_domain("not an address"), "localhost");
    assert_eq!(message_id_at("abc", "roadshow.example"), "<abc@roadshow.example>");
}

/// The domain of a sender like `Roadshow <no-reply@roadshow.example>` (`localhost` when it has
/// none).
pub fn sender_domain(mail_from: &str) -> String {
    let email = super::parse_organizer(mail_from).email;
    match email.rsplit_once('@') {
        Some((_, d)) if !d.trim().is_empty() => d.trim().trim_end_matches('>').to_ascii_lowercase(),
        _ => "localhost".into(),
    }
}

/// Binds an email's own columns, in this order: `id, dedupe_key, recipient, template, category,
/// subject, body_text, body_html, ics, headers, message_id`. Shared by the statements that insert
/// outbox rows ([`enqueue`], and the registration's `insert_both`), which must list them so.
macro_rules! bind_email_content {
    ($query:expr, $id:expr, $email:expr) => {
        $query
            .bind::<diesel::sql_types::Text, _>($id)
            .bind::<diesel::sql_types::Text, _>(&$email.dedupe_key)
            .bind::<diesel::sql_types::Text, _>(&$email.recipient)
            .bind::<diesel::sql_types::Text, _>(&$email.template)
            .bind::<diesel::sql_types::Text, _>($email.category)
            .bind::<diesel::sql_types::Text, _>(&$email.subject)
            .bind::<diesel::sql_types::Text, _>(&$email.body_text)
            .bind::<diesel::sql_types::Text, _>(&$email.body_html)
            .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&$email.ics)
            .bind::<diesel::sql_types::Text, _>(&$email.headers)
            .bind::<diesel::sql_types::Text, _>($crate::mail::outbox::message_id($id))
    };
}
pub(crate) use bind_email_content;

/// Inserts the email unless one with the same dedupe key exists. Returns whether it was inserted.
/// `ON CONFLICT DO NOTHING` has the same syntax on both engines and, unlike catching a unique
/// violation, does not abort a PostgreSQL transaction.
pub fn enqueue(conn: &mut DbConnection, email: &NewEmail) -> Result<bool, AppError> {
    let id = new_id();
    let ts = now();
    let status = match email.hourly_cap {
        Some(cap) if count_for_cap(conn, &email.recipient, ts)? > i64::from(cap) => OutboxStatus::Suppressed,
        _ => OutboxStatus::Pending,
    };
    let insert = diesel::sql_query(
        "INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, \
         ics, headers, message_id, status, attempts, next_attempt_at, registration_id, business_id, event_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, $15, $16, $17) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    );
    let inserted: Vec<InsertedId> = cached(
        bind_email_content!(insert, &id, email)
            .bind::<Text, _>(status)
            .bind::<Timestamp, _>(ts)
            .bind::<Nullable<Text>, _>(&email.registration_id)
            .bind::<Nullable<Text>, _>(&email.business_id)
            .bind::<Nullable<Text>, _>(&email.event_id)
            .bind::<Timestamp, _>(ts),
    )
    .load(conn)?;
    if status == OutboxStatus::Suppressed && !inserted.is_empty() {
        tracing::warn!(email.id = %id, template = %email.template, "email suppressed: its recipient is over the hourly cap");
    }
    Ok(inserted.len() == 1)
}

/// The clock hour an email counts in for the per-recipient cap.
pub fn cap_window(at: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    at.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0)).unwrap_or(at)
}

/// Counts one more capped email to `recipient` in the hour of `at` and returns the count so far
/// (this one included). One upsert: concurrent transactions on any process serialise on the row.
pub fn count_for_cap(conn: &mut DbConnection, recipient: &str, at: NaiveDateTime) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Sent {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        sent: i32,
    }
    let rows: Vec<Sent> = cached(
        diesel::sql_query(
            "INSERT INTO mail_counts (recipient, window_start, sent) VALUES ($1, $2, 1) \
             ON CONFLICT (recipient, window_start) DO UPDATE SET sent = mail_counts.sent + 1 RETURNING sent",
        )
        .bind::<Text, _>(recipient)
        .bind::<Timestamp, _>(cap_window(at)),
    )
    .load(conn)?;
    Ok(rows.first().map(|r| i64::from(r.sent)).unwrap_or(1))
}

/// Takes the right to send a throttled kind of email (`kind`: "links", "privacy:export", …) to
/// `recipient` at `at`: true when none went out in the last `every`, and then records this one.
/// A conditional upsert, so two processes racing for the same address cannot both win.
pub fn take_throttle(
    conn: &mut DbConnection,
    recipient: &str,
    kind: &str,
    at: NaiveDateTime,
    every: chrono::Duration,
) -> Result<bool, AppError> {
    let rows: Vec<InsertedId> = cached(
        diesel::sql_query(
            "INSERT INTO mail_throttle (recipient, kind, last_at) VALUES ($1, $2, $3) \
             ON CONFLICT (recipient, kind) DO UPDATE SET last_at = excluded.last_at \
             WHERE mail_throttle.last_at <= $4 RETURNING recipient AS id",
        )
        .bind::<Text, _>(recipient)
        .bind::<Text, _>(kind)
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(at - every),
    )
    .load(conn)?;
    Ok(!rows.is_empty())
}

/// Forgets cap counters and throttle marks old enough to no longer matter (the scheduler).
pub fn prune_caps(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    use crate::db::schema::{mail_counts, mail_throttle};
    let day = at - chrono::Duration::days(1);
    let a = diesel::delete(
        mail_counts::table.filter(mail_counts::window_start.lt(cap_window(at) - chrono::Duration::hours(2))),
    )
    .execute(conn)?;
    let b = diesel::delete(mail_throttle::table.filter(mail_throttle::last_at.lt(day))).execute(conn)?;
    Ok(a + b)
}

#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    id: String,
}

/// Claims up to `limit` due rows for `worker` until `lease_until`, counting the attempt. Due: pending,
/// `next_attempt_at <= now`, and not leased (or the lease ran out). On PostgreSQL, `FOR UPDATE SKIP
/// LOCKED` lets several workers claim disjoint batches at once; on SQLite the write transaction
/// (`BEGIN IMMEDIATE`) serialises claimers. Call inside a write transaction.
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<OutboxRow>, AppError> {
    let lock = if conn.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $3 \
         AND (locked_until IS NULL OR locked_until <= $3) ORDER BY next_attempt_at, id LIMIT $4{lock}) \
         RETURNING *"
    );
    let mut rows: Vec<OutboxRow> = cached(
        diesel::sql_query(sql)
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit),
    )
    .load(conn)?;
    rows.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
    Ok(rows)
}

/// Of `ids`, those still pending and leased to `worker` beyond `now`: the rows it may send now. One
/// statement for a whole slice of a batch.
pub fn still_leased(
    conn: &mut DbConnection,
    worker: &str,
    ids: &[&str],
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(outbox::table
        .filter(outbox::id.eq_any(ids))
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .filter(outbox::locked_by.eq(worker))
        .filter(outbox::locked_until.gt(now))
        .select(outbox::id)
        .load(conn)?)
}

/// Extends `worker`'s lease on those of `ids` it still holds (pending, locked by it) to
/// `lease_until`, so that rows of a batch still in flight are not taken over. Returns how many.
pub fn renew_leases(
    conn: &mut DbConnection,
    worker: &str,
    ids: &[&str],
    lease_until: NaiveDateTime,
) -> Result<usize, AppError> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq(OutboxStatus::Pending))
            .filter(outbox::locked_by.eq(worker)),
    )
    .set(outbox::locked_until.eq(Some(lease_until)))
    .execute(conn)?)
}

/// Gives back rows `worker` claimed and did not try (it is shutting down): no longer leased, due
/// as they were, with the attempt the claim counted taken back. Returns how many.
pub fn release(conn: &mut DbConnection, worker: &str, ids: &[&str]) -> Result<usize, AppError> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq(OutboxStatus::Pending))
            .filter(outbox::locked_by.eq(worker)),
    )
    .set((
        outbox::locked_by.eq(None::<String>),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::attempts.eq(outbox::attempts - 1),
    ))
    .execute(conn)?)
}

/// Drops due rows that must no longer go out: marketing mail to a business that no longer wants it,
/// and reminders, follow-ups or recording notices of a registration or event cancelled after they
/// were queued.
/// Returns how many.
pub fn drop_unwanted(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let cancelled = registrations::table
        .inner_join(events::table)
        .filter(registrations::status.eq(RegistrationStatus::Cancelled).or(events::status.eq(EventStatus::Cancelled)))
        .select(registrations::id.nullable());
    let stale = diesel::update(
        outbox::table
            .filter(pending())
            .filter(outbox::template.eq_any(["reminder_24h", "reminder_1h", "follow_up", "recording_available"]))
            .filter(outbox::next_attempt_at.le(now))
            .filter(outbox::registration_id.eq_any(cancelled)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Dropped),
        outbox::last_error.eq("not sent: the registration or event was cancelled"),
        outbox::locked_by.eq(None::<String>),
        outbox::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    // Marketing mail goes only to an address that consented and did not unsubscribe since.
    let wanted = email_consents::table
        .filter(email_consents::marketing_consent.eq(true))
        .filter(email_consents::unsubscribed_at.is_null())
        .select(email_consents::email);
    let unwanted_marketing = diesel::update(
        outbox::table
            .filter(pending())
            .filter(outbox::category.eq(MailCategory::Marketing))
            .filter(outbox::next_attempt_at.le(now))
            .filter(diesel::dsl::not(outbox::recipient.eq_any(wanted))),
    )
    .set((
        outbox::status.eq(OutboxStatus::Dropped),
        outbox::last_error.eq("not sent: the address no longer accepts marketing email"),
        outbox::locked_by.eq(None::<String>),
        outbox::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(stale + unwanted_marketing)
}

/// Records that the server accepted these rows' messages (one statement). Not conditional on the
/// lease: once accepted, a message is sent, whoever holds the row now.
pub fn mark_sent(conn: &mut DbConnection, ids: &[&str], at: NaiveDateTime) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)).filter(outbox::status.eq(OutboxStatus::Pending)))
        .set((
            outbox::status.eq(OutboxStatus::Sent),
            outbox::sent_at.eq(Some(at)),
            outbox::last_error.eq(None::<String>),
            outbox::locked_by.eq(None::<String>),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt by `worker`: back to `pending` at `next_attempt_at`, or `dead`. Ignored
/// when another worker has taken the row over since (its lease ran out).
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    dead: bool,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> Result<(), AppError> {
    diesel::update(
        outbox::table.find(id).filter(outbox::status.eq(OutboxStatus::Pending)).filter(outbox::locked_by.eq(worker)),
    )
    .set((
        outbox::status.eq(if dead { OutboxStatus::Dead } else { OutboxStatus::Pending }),
        outbox::next_attempt_at.eq(next_attempt_at),
        outbox::last_error.eq(Some(truncate(error, 1000))),
        outbox::locked_by.eq(None::<String>),
        outbox::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A page of rows for admins, newest first, optionally of one status.
pub fn list(
    conn: &mut DbConnection,
    status: Option<OutboxStatus>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<OutboxRow>, AppError> {
    let mut q = outbox::table.select(OutboxRow::as_select()).into_boxed();
    if let Some(s) = status {
        q = q.filter(outbox::status.eq(s));
    }
    if let Some((at, id)) = after {
        q = q.filter(outbox::created_at.lt(at).or(outbox::created_at.eq(at).and(outbox::id.lt(id))));
    }
    Ok(q.order((outbox::created_at.desc(), outbox::id.desc())).limit(limit).load(conn)?)
}

/// `status = 'pending'` written out, not bound: PostgreSQL's generic plan of a prepared statement
/// (used from its sixth run) can only use the partial index `outbox_due_idx` (`WHERE status =
/// 'pending'`) when the query says the same literally. With a bound status, the outbox stats and
/// the worker's sweeps read all 100,000 sent rows of a national-scale outbox from then on.
fn pending() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("outbox.status = 'pending'")
}

/// Rows per status, plus how many are due now and when the oldest pending one was queued.
#[derive(Debug, Clone, Default)]
pub struct OutboxStats {
    /// Statuses with no row are absent.
    pub per_status: BTreeMap<OutboxStatus, i64>,
    /// Pending rows whose next attempt time has come.
    pub due: i64,
    pub oldest_pending: Option<NaiveDateTime>,
}

impl OutboxStats {
    /// Rows of this status.
    pub fn count(&self, status: OutboxStatus) -> i64 {
        self.per_status.get(&status).copied().unwrap_or(0)
    }
}

pub fn stats(conn: &mut DbConnection, at: NaiveDateTime) -> Result<OutboxStats, AppError> {
    // From the counters (`crate::rollups`), not by counting every email.
    let per_status = crate::rollups::outbox_counts(conn)?;
    let due = outbox::table.filter(pending()).filter(outbox::next_attempt_at.le(at)).count().get_result(conn)?;
    let oldest_pending = outbox::table.filter(pending()).select(diesel::dsl::min(outbox::created_at)).first(conn)?;
    Ok(OutboxStats { per_status: per_status.into_iter().collect(), due, oldest_pending })
}

/// When the longest-waiting due email became due (`None`: nothing pending is due at `at`).
pub fn oldest_due(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(outbox::table
        .filter(pending())
        .filter(outbox::next_attempt_at.le(at))
        .select(diesel::dsl::min(outbox::next_attempt_at))
        .first(conn)?)
}

/// Puts a dead row back in the queue, due now, with a fresh attempt budget. 404 when unknown, 409
/// when the row is not dead.
pub fn retry_dead(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> Result<OutboxRow, AppError> {
    let n = diesel::update(outbox::table.find(id).filter(outbox::status.eq(OutboxStatus::Dead)))
        .set((
            outbox::status.eq(OutboxStatus::Pending),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(at),
            outbox::locked_by.eq(None::<String>),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    let row: Option<OutboxRow> = outbox::table.find(id).select(OutboxRow::as_select()).first(conn).optional()?;
    match (n, row) {
        (_, None) => Err(AppError::not_found("no such email")),
        (1, Some(row)) => Ok(row),
        (_, Some(row)) => {
            Err(AppError::conflict(format!("only dead emails can be retried; this one is {}", row.status)))
        }
    }
}

/// Keeps the hash of a one-click unsubscribe token for the address `email` (of `business_id`).
pub fn store_unsubscribe_token(
    conn: &mut DbConnection,
    token_hash: &str,
    business_id: &str,
    email: &str,
) -> Result<(), AppError> {
    diesel::insert_into(unsubscribe_tokens::table)
        .values((
            unsubscribe_tokens::token_hash.eq(token_hash),
            unsubscribe_tokens::business_id.eq(business_id),
            unsubscribe_tokens::email.eq(Some(email)),
            unsubscribe_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether an unsubscribe token (by hash) is known.
pub fn unsubscribe_token_exists(conn: &mut DbConnection, token_hash: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(unsubscribe_tokens::table.find(token_hash))).get_result(conn)?)
}

/// Unsubscribes the address the token was sent to from marketing mail and drops its queued
/// marketing mail. Using a token twice is fine. 404 when the token is unknown.
pub fn unsubscribe(conn: &mut DbConnection, token_hash: &str, at: NaiveDateTime) -> Result<(), AppError> {
    let email: Option<String> = unsubscribe_tokens::table
        .find(token_hash)
        .select(unsubscribe_tokens::email)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("this unsubscribe link is not known"))?;
    diesel::update(unsubscribe_tokens::table.find(token_hash).filter(unsubscribe_tokens::used_at.is_null()))
        .set(unsubscribe_tokens::used_at.eq(Some(at)))
        .execute(conn)?;
    // Tokens from before consent moved to addresses carry no address: nothing left to withdraw.
    let Some(email) = email else { return Ok(()) };
    set_marketing_consent(conn, &email, false, at)?;
    Ok(())
}

/// Gives or withdraws the marketing consent of one address (only ever on that address's own word:
/// its registration, its unsubscribe link or a verified link). Withdrawing drops its queued
/// marketing mail.
pub fn set_marketing_consent(
    conn: &mut DbConnection,
    email: &str,
    consent: bool,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let unsubscribed = (!consent).then_some(at);
    diesel::sql_query(
        "INSERT INTO email_consents (email, marketing_consent, unsubscribed_at, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO UPDATE SET marketing_consent = excluded.marketing_consent, \
         unsubscribed_at = CASE WHEN excluded.marketing_consent THEN NULL \
         ELSE COALESCE(email_consents.unsubscribed_at, excluded.unsubscribed_at) END, updated_at = excluded.updated_at",
    )
    .bind::<Text, _>(email)
    .bind::<diesel::sql_types::Bool, _>(consent)
    .bind::<Nullable<Timestamp>, _>(unsubscribed)
    .bind::<Timestamp, _>(at)
    .execute(conn)?;
    if !consent {
        diesel::update(
            outbox::table
                // Marketing mail belongs to a registration (found through its index, not by a
                // scan of recipients).
                .filter(
                    outbox::registration_id.eq_any(
                        registrations::table
                            .filter(registrations::attendee_email.eq(email))
                            .select(registrations::id.nullable()),
                    ),
                )
                .filter(outbox::recipient.eq(email))
                .filter(outbox::category.eq(MailCategory::Marketing))
                .filter(outbox::status.eq(OutboxStatus::Pending)),
        )
        .set((outbox::status.eq(OutboxStatus::Dropped), outbox::last_error.eq("not sent: the address unsubscribed")))
        .execute(conn)?;
    }
    Ok(())
}
