//! The delivery worker: claims due outbox rows, sends them, and records the outcome.
//!
//! One step ([`deliver_due`]) drains everything due at `now` in batches: claim a batch under a
//! lease (see [`super::outbox::claim`]), send its messages over a few threads sharing the SMTP
//! pool, then record all outcomes in one transaction. A row is marked `sent` only after the server
//! accepted it; a worker that dies before recording leaves the row leased, and once the lease runs
//! out another step sends it again with the same Message-ID (at-least-once, recognisably the same
//! message). Failures back off exponentially with jitter; permanent refusals and rows that reach
//! `ROADSHOW_MAIL_MAX_ATTEMPTS` become `dead` (an admin can retry them). When the server is
//! unreachable, the rest of the batch is not tried and the step ends.
//!
//! Tests drive steps directly with their own `now`; [`spawn`] runs steps in a background thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use rand::Rng;

use super::outbox::{self, OutboxRow};
use super::transport::{build_message, SendError, Transport};
use crate::config::Config;
use crate::db::{to_db_time, write_tx, Db};
use crate::error::AppError;

/// How a worker delivers: where to, from whom, and its retry policy.
#[derive(Clone)]
pub struct Mailer {
    pub transport: Transport,
    pub from: Mailbox,
    /// Written to `outbox.locked_by`; unique per worker.
    pub worker_id: String,
    /// Attempts before a row is dead-lettered (`ROADSHOW_MAIL_MAX_ATTEMPTS`).
    pub max_attempts: i32,
    /// Rows claimed per batch.
    pub batch_size: i64,
    /// Messages sent at once (threads; also the SMTP pool size).
    pub concurrency: usize,
    /// How long a claim holds its rows before another worker may take them over.
    pub lease: chrono::Duration,
    /// Backoff after the first failure; doubles per attempt up to `max_backoff`.
    pub base_backoff: chrono::Duration,
    pub max_backoff: chrono::Duration,
}

impl Mailer {
    /// A mailer with default policy around `transport`: 100 rows a batch, 16 at once, a 10-minute
    /// lease, backoff from 1 minute doubling up to 1 hour, 12 attempts.
    pub fn new(transport: Transport, from: Mailbox) -> Mailer {
        Mailer {
            transport,
            from,
            worker_id: format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            max_attempts: 12,
            batch_size: 100,
            concurrency: 16,
            lease: chrono::Duration::minutes(10),
            base_backoff: chrono::Duration::minutes(1),
            max_backoff: chrono::Duration::hours(1),
        }
    }

    /// The mailer the settings describe (SMTP when `ROADSHOW_SMTP_URL` is set, files otherwise).
    pub fn from_config(config: &Config) -> Result<Mailer, String> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::smtp(url, config.smtp_ca_file.as_deref(), config.mail_concurrency)?,
            None => Transport::files(&config.mail_dir)?,
        };
        let from: Mailbox = config.mail_from.parse().map_err(|e| format!("ROADSHOW_MAIL_FROM: {e}"))?;
        let mut m = Mailer::new(transport, from);
        m.max_attempts = config.mail_max_attempts as i32;
        m.concurrency = config.mail_concurrency as usize;
        m.batch_size = (config.mail_concurrency as i64 * 8).clamp(50, 1000);
        Ok(m)
    }

    /// The wait before the next attempt after `attempts` failed ones: `base · 2^(attempts-1)`,
    /// capped, then scaled by a random factor in [0.5, 1] so that rows failing together do not all
    /// come back at the same instant.
    pub fn backoff(&self, attempts: i32) -> chrono::Duration {
        let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let full = self.base_backoff.num_milliseconds().saturating_mul(1i64 << exp.min(40));
        let capped = full.min(self.max_backoff.num_milliseconds()).max(0);
        let factor: f64 = rand::thread_rng().gen_range(0.5..=1.0);
        chrono::Duration::milliseconds((capped as f64 * factor) as i64)
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    pub claimed: usize,
    pub sent: usize,
    /// Failed and scheduled for another attempt.
    pub retried: usize,
    pub dead: usize,
    /// Rows dropped: marketing to an unsubscribed business, reminders of cancelled registrations.
    pub dropped: usize,
}

/// One delivery step at `now` (from async code): see the module docs.
pub async fn deliver_due(db: &Db, mailer: &Mailer, now: DateTime<Utc>) -> Result<DeliveryStats, AppError> {
    let db = db.clone();
    let mailer = mailer.clone();
    actix_web::web::block(move || deliver_due_blocking(&db, &mailer, now))
        .await
        .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
}

/// One delivery step at `now`, on the calling thread.
pub fn deliver_due_blocking(db: &Db, mailer: &Mailer, now: DateTime<Utc>) -> Result<DeliveryStats, AppError> {
    let mut stats = DeliveryStats::default();
    let at = to_db_time(now);
    {
        let mut conn = db.get()?;
        stats.dropped = write_tx(&mut conn, |c| outbox::drop_unwanted(c, at))?;
    }
    loop {
        let rows = claim(db, mailer, now)?;
        if rows.is_empty() {
            break;
        }
        let full = rows.len() as i64 >= mailer.batch_size;
        let outcomes = send_all(mailer, &rows);
        let unreachable =
            outcomes.iter().any(|o| matches!(o, Outcome::Failed(e) if e.unreachable) || matches!(o, Outcome::NotTried));
        record(db, mailer, now, &rows, &outcomes, &mut stats)?;
        stats.claimed += rows.len();
        if !full || unreachable {
            break;
        }
    }
    if stats.claimed > 0 {
        tracing::info!(
            worker = %mailer.worker_id,
            claimed = stats.claimed,
            sent = stats.sent,
            retried = stats.retried,
            dead = stats.dead,
            "outbox delivery step"
        );
    }
    Ok(stats)
}

/// Claims one batch due at `now` for this mailer (committed before anything is sent).
pub fn claim(db: &Db, mailer: &Mailer, now: DateTime<Utc>) -> Result<Vec<OutboxRow>, AppError> {
    let mut conn = db.get()?;
    let at = to_db_time(now);
    let until = to_db_time(now + mailer.lease);
    write_tx(&mut conn, |c| outbox::claim(c, &mailer.worker_id, at, until, mailer.batch_size))
}

/// The result of trying one row.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent,
    Failed(SendError),
    /// Skipped because the server was found unreachable earlier in the batch.
    NotTried,
}

/// Builds and sends one claimed row.
pub fn send_one(mailer: &Mailer, row: &OutboxRow) -> Outcome {
    match build_message(row, &mailer.from).and_then(|m| mailer.transport.send(&row.id, &m)) {
        Ok(()) => Outcome::Sent,
        Err(e) => Outcome::Failed(e),
    }
}

/// Sends a batch over up to `concurrency` threads; stops starting new sends once the server is
/// found unreachable.
pub fn send_all(mailer: &Mailer, rows: &[OutboxRow]) -> Vec<Outcome> {
    let outcomes: Vec<Mutex<Outcome>> = rows.iter().map(|_| Mutex::new(Outcome::NotTried)).collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let threads = mailer.concurrency.clamp(1, rows.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(i) else { break };
                let outcome = send_one(mailer, row);
                if matches!(&outcome, Outcome::Failed(e) if e.unreachable) {
                    stop.store(true, Ordering::Relaxed);
                }
                *outcomes[i].lock().unwrap_or_else(|p| p.into_inner()) = outcome;
            });
        }
    });
    outcomes.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner())).collect()
}

/// Writes the outcomes of a batch in one transaction.
pub fn record(
    db: &Db,
    mailer: &Mailer,
    now: DateTime<Utc>,
    rows: &[OutboxRow],
    outcomes: &[Outcome],
    stats: &mut DeliveryStats,
) -> Result<(), AppError> {
    let at = to_db_time(now);
    let unreachable_error = outcomes.iter().find_map(|o| match o {
        Outcome::Failed(e) if e.unreachable => Some(e.message.clone()),
        _ => None,
    });
    let mut conn = db.get()?;
    let mut local = DeliveryStats::default();
    write_tx(&mut conn, |c| {
        let sent: Vec<&str> =
            rows.iter().zip(outcomes).filter(|(_, o)| matches!(o, Outcome::Sent)).map(|(r, _)| r.id.as_str()).collect();
        outbox::mark_sent(c, &sent, at)?;
        local.sent = sent.len();
        for (row, outcome) in rows.iter().zip(outcomes) {
            let error = match outcome {
                Outcome::Sent => continue,
                Outcome::Failed(e) => e.clone(),
                Outcome::NotTried => SendError {
                    permanent: false,
                    unreachable: true,
                    message: unreachable_error.clone().unwrap_or_else(|| "not tried: server unreachable".into()),
                },
            };
            let dead = error.permanent || row.attempts >= mailer.max_attempts;
            let next = to_db_time(now + mailer.backoff(row.attempts));
            outbox::mark_failed(c, &row.id, &mailer.worker_id, dead, next, &error.message)?;
            if dead {
                tracing::warn!(outbox.id = %row.id, attempts = row.attempts, permanent = error.permanent, "email dead-lettered");
                local.dead += 1;
            } else {
                local.retried += 1;
            }
        }
        Ok(())
    })?;
    stats.sent += local.sent;
    stats.retried += local.retried;
    stats.dead += local.dead;
    Ok(())
}

/// Runs delivery steps in a background thread every `poll` (sooner while there is a backlog).
pub fn spawn(db: Db, mailer: Mailer, poll: Duration) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("outbox-worker".into()).spawn(move || loop {
        match deliver_due_blocking(&db, &mailer, Utc::now()) {
            Ok(s) if s.sent > 0 && s.retried == 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox delivery step failed"),
        }
        mailer.transport.close_idle();
        std::thread::sleep(poll);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let m = Mailer::new(Transport::Files(std::env::temp_dir()), "a@b.org".parse().unwrap());
        for attempts in 1..20 {
            let d = m.backoff(attempts);
            let full = (60_000i64 << (attempts - 1).min(30)).min(3_600_000);
            assert!(d.num_milliseconds() >= full / 2 && d.num_milliseconds() <= full, "{attempts}: {d}");
        }
    }
}
