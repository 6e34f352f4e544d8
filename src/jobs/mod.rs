//! The scheduler: enqueues time-driven email — a reminder 24 hours before an event, a reminder an
//! hour before a webinar, and a follow-up after an event — through the same
//! [`crate::mail::notify_registration`] the features use.
//!
//! Exactly once: every notice has a dedupe key (`reminder_24h:<registration>:<start>`, …) and the
//! outbox refuses a second row with the same key, so any number of processes may run the
//! scheduler at once. Never for cancelled registrations or events: each registration is re-read
//! (with a share lock on PostgreSQL, so a concurrent cancellation is seen once it commits) in the
//! transaction that enqueues, and the worker drops a queued reminder or follow-up whose
//! registration or event was cancelled before it went out.
//!
//! Rules:
//! - 24 h reminder: confirmed registrations of published events starting in more than 1 and at most
//!   24 hours, made before the 24-hour mark (people who register later just got their confirmation).
//! - 1 h reminder: the same for webinars starting within the hour, made before the one-hour mark.
//! - Follow-up (marketing): confirmed or attended registrations of events that ended between 7 days
//!   and 2 hours ago, whose business consented and did not unsubscribe.
//! - Expert sessions: a reminder to the business and the expert for booked sessions starting in
//!   more than 1 and at most 24 hours, booked before the 24-hour mark
//!   ([`crate::experts::queries::remind_due`]).
//! - Accommodation requests: once a UTC day, a digest of the new ones to the organizers of each
//!   host organization ([`crate::accommodations::digest`]).
//!
//! Tests drive [`run_once`] with their own `now`; [`spawn`] runs it in a background thread under
//! the [`supervisor`], which restarts it after a panic and reports it to `/readyz` when it stops
//! making progress.

pub mod supervisor;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::config::Config;
use crate::db::schema::{businesses, email_consents, events, outbox, registrations};
use crate::db::{to_db_time, write_tx, Db, DbConnection};
use crate::error::AppError;
use crate::mail::{MailContext, Notice};
use supervisor::{FaultInjection, Heartbeat, Workers};

/// Registrations looked at per transaction.
const PAGE: i64 = 200;

/// How many emails one run enqueued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobStats {
    pub reminders_24h: usize,
    pub reminders_1h: usize,
    pub follow_ups: usize,
    /// Published events whose end has passed, now marked `completed`.
    pub events_completed: usize,
    /// Expert sessions reminded (the business and the expert each get one).
    pub booking_reminders: usize,
    /// Accommodation digest emails (one per organizer of each host organization, once a day).
    pub accommodation_digests: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reminder24h,
    Reminder1h,
    FollowUp,
}

impl Kind {
    fn notice(self) -> Notice {
        match self {
            Kind::Reminder24h => Notice::Reminder24h,
            Kind::Reminder1h => Notice::Reminder1h,
            Kind::FollowUp => Notice::FollowUp,
        }
    }
}

/// One scheduler pass at `now` (from async code).
pub async fn run_once(db: &Db, ctx: &MailContext, now: DateTime<Utc>) -> Result<JobStats, AppError> {
    let db = db.clone();
    let ctx = ctx.clone();
    crate::db::block_in_span(move || run_once_blocking(&db, &ctx, now)).await
}

/// One scheduler pass at `now`, on the calling thread.
pub fn run_once_blocking(db: &Db, ctx: &MailContext, now: DateTime<Utc>) -> Result<JobStats, AppError> {
    // The report and outbox counters first, and whatever the other steps do: a step that fails
    // every pass must not leave the counters' backlog (and every report's corrections) growing.
    let folded = crate::rollups::fold(db);
    let stats = run_steps(db, ctx, now);
    folded?;
    stats
}

/// The scheduler's steps other than the counter fold.
fn run_steps(db: &Db, ctx: &MailContext, now: DateTime<Utc>) -> Result<JobStats, AppError> {
    let stats = JobStats {
        reminders_24h: run_kind(db, ctx, now, Kind::Reminder24h)?,
        reminders_1h: run_kind(db, ctx, now, Kind::Reminder1h)?,
        follow_ups: run_kind(db, ctx, now, Kind::FollowUp)?,
        events_completed: {
            let mut conn = db.get()?;
            write_tx(&mut conn, |c| crate::events::queries::complete_ended(c, crate::db::to_db_time(now)))?
        },
        booking_reminders: {
            let mut conn = db.get()?;
            write_tx(&mut conn, |c| crate::experts::queries::remind_due(c, ctx, crate::db::to_db_time(now)))?
        },
        accommodation_digests: crate::accommodations::digest::run(db, ctx, now)?,
    };
    if stats != JobStats::default() {
        tracing::info!(
            reminders_24h = stats.reminders_24h,
            reminders_1h = stats.reminders_1h,
            follow_ups = stats.follow_ups,
            events_completed = stats.events_completed,
            booking_reminders = stats.booking_reminders,
            accommodation_digests = stats.accommodation_digests,
            "scheduler pass"
        );
    }
    Ok(stats)
}

fn run_kind(db: &Db, ctx: &MailContext, now: DateTime<Utc>, kind: Kind) -> Result<usize, AppError> {
    let mut conn = db.get()?;
    let mut after = String::new();
    let mut enqueued = 0;
    loop {
        let (n, last) = write_tx(&mut conn, |c| page(c, ctx, now, kind, &after))?;
        enqueued += n;
        match last {
            Some(id) => after = id,
            None => break,
        }
    }
    Ok(enqueued)
}

/// Handles one page of candidates after registration id `after`. Returns how many were enqueued
/// and the last id seen (`None` when the candidates are exhausted).
fn page(
    conn: &mut DbConnection,
    ctx: &MailContext,
    now: DateTime<Utc>,
    kind: Kind,
    after: &str,
) -> Result<(usize, Option<String>), AppError> {
    let at = to_db_time(now);
    let h = chrono::Duration::hours;
    let template = kind.notice().template();
    let mut q = registrations::table
        .inner_join(events::table)
        .inner_join(businesses::table)
        .filter(registrations::id.gt(after))
        .filter(registrations::attendee_email.is_not_null())
        .select((registrations::id, events::starts_at, registrations::created_at, registrations::confirmed_at))
        .order(registrations::id)
        .limit(PAGE)
        .into_boxed();
    q = match kind {
        Kind::Reminder24h | Kind::Reminder1h => {
            let (lo, hi, floor) = if kind == Kind::Reminder24h {
                (at + h(1), at + h(24), at - h(24))
            } else {
                (at, at + h(1), at - h(2))
            };
            let q = q
                .filter(registrations::status.eq("confirmed"))
                .filter(events::status.eq("published"))
                .filter(events::starts_at.gt(lo))
                .filter(events::starts_at.le(hi))
                .filter(not(exists(
                    outbox::table
                        .filter(outbox::registration_id.eq(registrations::id.nullable()))
                        .filter(outbox::template.eq(template))
                        .filter(outbox::created_at.ge(floor)),
                )));
            if kind == Kind::Reminder1h {
                q.filter(events::kind.eq("webinar"))
            } else {
                q
            }
        }
        Kind::FollowUp => q
            .filter(registrations::status.eq_any(["confirmed", "attended"]))
            .filter(events::status.eq_any(["published", "completed"]))
            .filter(events::ends_at.gt(at - h(24 * 7)))
            .filter(events::ends_at.le(at - h(2)))
            // Consent belongs to the attendee's own address.
            .filter(exists(
                email_consents::table
                    .filter(email_consents::email.nullable().eq(registrations::attendee_email))
                    .filter(email_consents::marketing_consent.eq(true))
                    .filter(email_consents::unsubscribed_at.is_null()),
            ))
            .filter(businesses::deleted_at.is_null())
            .filter(not(exists(
                outbox::table
                    .filter(outbox::registration_id.eq(registrations::id.nullable()))
                    .filter(outbox::template.eq(template)),
            ))),
    };
    let rows: Vec<(String, NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>)> = q.load(conn)?;
    let last = if (rows.len() as i64) < PAGE { None } else { rows.last().map(|r| r.0.clone()) };
    let mut enqueued = 0;
    for (id, starts_at, created_at, confirmed_at) in rows {
        let registered = confirmed_at.unwrap_or(created_at);
        let mark = match kind {
            Kind::Reminder24h => Some(starts_at - h(24)),
            Kind::Reminder1h => Some(starts_at - h(1)),
            Kind::FollowUp => None,
        };
        if mark.is_some_and(|m| registered > m) {
            continue;
        }
        if !still_going_ahead(conn, &id, kind)? {
            continue;
        }
        if crate::mail::notify(conn, ctx, &id, kind.notice(), None)? {
            enqueued += 1;
        }
    }
    Ok((enqueued, last))
}

#[derive(QueryableByName)]
struct Statuses {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    event_status: String,
    #[diesel(sql_type = Nullable<Text>)]
    attendee_email: Option<String>,
}

/// Re-reads the registration and its event under a share lock (PostgreSQL), so that a cancellation
/// committed meanwhile is seen and one in progress is waited for.
fn still_going_ahead(conn: &mut DbConnection, registration_id: &str, kind: Kind) -> Result<bool, AppError> {
    let lock = if conn.is_postgres() { " FOR SHARE OF r, e" } else { "" };
    let s: Option<Statuses> = diesel::sql_query(format!(
        "SELECT r.status AS status, e.status AS event_status, r.attendee_email AS attendee_email \
         FROM registrations r JOIN events e ON e.id = r.event_id WHERE r.id = $1{lock}"
    ))
    .bind::<Text, _>(registration_id)
    .get_result(conn)
    .optional()?;
    Ok(match s {
        None => false,
        Some(s) if s.attendee_email.is_none() => false,
        Some(s) => match kind {
            Kind::Reminder24h | Kind::Reminder1h => s.status == "confirmed" && s.event_status == "published",
            Kind::FollowUp => {
                (s.status == "confirmed" || s.status == "attended")
                    && (s.event_status == "published" || s.event_status == "completed")
            }
        },
    })
}

/// Runs scheduler passes in a supervised background thread every `interval`, beating `heartbeat`
/// after each. `faults` is for tests only (see [`FaultInjection`]).
pub fn spawn(
    db: Db,
    ctx: MailContext,
    interval: Duration,
    heartbeat: Arc<Heartbeat>,
    shutdown: supervisor::Shutdown,
    faults: FaultInjection,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    supervisor::supervise("scheduler", heartbeat, shutdown, move || {
        FaultInjection::maybe_panic(&faults.scheduler_panics, "scheduler");
        let result = run_once_blocking(&db, &ctx, Utc::now());
        crate::metrics::scheduler_run(result.is_ok());
        if let Err(e) = result {
            tracing::error!(error = %e, "scheduler pass failed");
        }
        interval
    })
}

/// Starts the background work of this process: the outbox worker and the scheduler
/// (`ROADSHOW_BACKGROUND`), and returns their heartbeats for `/readyz`. Fails on unusable mail
/// settings, naming the variable.
pub fn start_background(db: &Db, config: &Config) -> Result<Workers, String> {
    let floor = Duration::from_secs(config.worker_stall_secs);
    let shutdown = supervisor::Shutdown::default();
    let mut threads = Vec::new();
    let mut mailer = crate::mail::worker::Mailer::from_config(config)?;
    let poll = Duration::from_millis(config.mail_poll_ms);
    let outbox_beat = Heartbeat::new("outbox_worker", poll, floor);
    mailer.heartbeat = Some(outbox_beat.clone());
    mailer.shutdown = Some(shutdown.clone());
    threads.push(
        crate::mail::worker::spawn(db.clone(), mailer, poll, shutdown.clone(), config.fault_injection.clone())
            .map_err(|e| format!("cannot start the outbox worker: {e}"))?,
    );
    let interval = Duration::from_secs(config.scheduler_interval_secs);
    let scheduler_beat = Heartbeat::new("scheduler", interval, floor);
    threads.push(
        spawn(
            db.clone(),
            MailContext::from_config(config),
            interval,
            scheduler_beat.clone(),
            shutdown.clone(),
            config.fault_injection.clone(),
        )
        .map_err(|e| format!("cannot start the scheduler: {e}"))?,
    );
    let privacy_beat = Heartbeat::new("privacy_requests", poll, floor);
    threads.push(
        crate::privacy::requests::spawn(
            db.clone(),
            MailContext::from_config(config),
            poll,
            chrono::Duration::hours(i64::from(config.idempotency_ttl_hours)),
            privacy_beat.clone(),
            shutdown.clone(),
        )
        .map_err(|e| format!("cannot start the privacy request worker: {e}"))?,
    );
    let webhooks_beat = Heartbeat::new("webhooks", poll, floor);
    threads.push(
        crate::webhooks::worker::spawn(
            db.clone(),
            config.webhook_allow_private,
            poll,
            webhooks_beat.clone(),
            shutdown.clone(),
        )
        .map_err(|e| format!("cannot start the webhook worker: {e}"))?,
    );
    Ok(Workers::new(vec![outbox_beat, scheduler_beat, privacy_beat, webhooks_beat], shutdown, threads))
}
