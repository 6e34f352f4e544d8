//! The delivery worker: claims due outbox rows, sends them, and records the outcome.
//!
//! One step ([`deliver_due`]) drains everything due at `now` in batches: claim a batch under a
//! lease (see [`super::outbox::claim`]), then send its messages over a few threads sharing the SMTP
//! pool. Just before a slice of the batch goes out, one statement checks
//! that its rows are still pending and leased to this worker, so a row dropped meanwhile (its
//! business erased its data) or taken over is not sent. Each outcome is recorded as soon as it is
//! known (the outcomes that arrive together share a transaction), and the lease of the rows still
//! in flight is renewed every third of the lease, so however slow the relay, no other worker takes
//! over a row this one is sending. A row is marked `sent` only after the server accepted it; a
//! worker that dies before recording leaves the row leased, and once the lease runs out another
//! step sends it again with the same Message-ID (at-least-once, recognisably the same message).
//! Failures back off exponentially with jitter; permanent refusals and rows that reach
//! `ROADSHOW_MAIL_MAX_ATTEMPTS` become `dead` (an admin can retry them). When the server is
//! unreachable, the rest of the batch is not tried and the step ends.
//!
//! Tests drive steps directly with their own `now`; [`spawn`] runs steps in a background thread
//! under the [`crate::jobs::supervisor`], which restarts the loop after a panic.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use rand::Rng;

use super::outbox::{self, OutboxRow};
use super::transport::{build_message, SendError, Transport};
use crate::config::Config;
use crate::db::{to_db_time, write_tx, Db};
use crate::error::AppError;
use crate::jobs::supervisor::{supervise, FaultInjection, Heartbeat, Shutdown};

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
    /// Beaten each time outcomes are recorded, so a long batch to a slow relay counts as progress
    /// (`/readyz`, see [`crate::jobs::supervisor`]).
    pub heartbeat: Option<Arc<Heartbeat>>,
    /// The process's stop token: once it is stopping, the worker sends nothing more and releases
    /// the rows it claimed but did not send (see [`deliver_batch`]).
    pub shutdown: Option<Shutdown>,
}

impl Mailer {
    /// A mailer with default policy around `transport`: 100 rows a batch, 16 at once, a 60-second
    /// lease (renewed every 20 seconds while a batch is in flight, so a process that crashed leaves
    /// its claims to the others within a minute), backoff from 1 minute doubling up to 1 hour, 12
    /// attempts.
    /// Whether the process is shutting down.
    pub fn stopping(&self) -> bool {
        self.shutdown.as_ref().is_some_and(Shutdown::is_stopping)
    }

    pub fn new(transport: Transport, from: Mailbox) -> Mailer {
        Mailer {
            transport,
            from,
            worker_id: format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            max_attempts: 12,
            batch_size: 100,
            concurrency: 16,
            lease: chrono::Duration::seconds(60),
            base_backoff: chrono::Duration::minutes(1),
            max_backoff: chrono::Duration::hours(1),
            heartbeat: None,
            shutdown: None,
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
    /// Claimed rows not sent because they were no longer this worker's by the time their turn
    /// came (see [`Outcome::Withdrawn`]).
    pub skipped: usize,
}

/// One delivery step at `now` (from async code): see the module docs.
pub async fn deliver_due(db: &Db, mailer: &Mailer, now: DateTime<Utc>) -> Result<DeliveryStats, AppError> {
    let db = db.clone();
    let mailer = mailer.clone();
    crate::db::block_in_span(move || deliver_due_blocking(&db, &mailer, now)).await
}

/// One delivery step at `now`, on the calling thread.
pub fn deliver_due_blocking(db: &Db, mailer: &Mailer, now: DateTime<Utc>) -> Result<DeliveryStats, AppError> {
    let clock = Clock::starting_at(now);
    let mut stats = DeliveryStats::default();
    {
        let mut conn = db.get()?;
        stats.dropped = write_tx(&mut conn, |c| outbox::drop_unwanted(c, to_db_time(clock.now())))?;
    }
    loop {
        if mailer.stopping() {
            break;
        }
        let rows = claim(db, mailer, clock.now())?;
        if rows.is_empty() {
            break;
        }
        let full = rows.len() as i64 >= mailer.batch_size;
        let unreachable = deliver_batch(db, mailer, &clock, &rows, &mut stats)?;
        stats.claimed += rows.len();
        if !full || unreachable {
            break;
        }
    }
    crate::metrics::emails(stats.sent, stats.retried, stats.dead);
    if stats.claimed > 0 {
        tracing::info!(
            worker = %mailer.worker_id,
            claimed = stats.claimed,
            sent = stats.sent,
            retried = stats.retried,
            dead = stats.dead,
            skipped = stats.skipped,
            "outbox delivery step"
        );
    }
    Ok(stats)
}

/// The step's time: the `now` it was given, moved on by the time that has passed since, so a long
/// step leases, renews and records at the time it has reached (tests pass a `now` of their own).
struct Clock {
    start: Instant,
    now: DateTime<Utc>,
}

impl Clock {
    fn starting_at(now: DateTime<Utc>) -> Clock {
        Clock { start: Instant::now(), now }
    }

    fn now(&self) -> DateTime<Utc> {
        self.now + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }
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
    /// Not sent because, just before sending, the row was no longer this worker's to send: dropped
    /// (an erasure, an unsubscription), taken over by another worker, or not checkable. Nothing is
    /// recorded: whoever holds the row now decides.
    Withdrawn,
}

/// Builds and sends one claimed row.
pub fn send_one(mailer: &Mailer, row: &OutboxRow) -> Outcome {
    match build_message(row, &mailer.from).and_then(|m| mailer.transport.send(&row.id, &m)) {
        Ok(()) => Outcome::Sent,
        Err(e) => Outcome::Failed(e),
    }
}

/// Sends a batch over up to `concurrency` threads, without checking or recording anything; stops
/// starting new sends once the server is found unreachable. (The worker itself uses
/// [`deliver_batch`].)
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

/// Which rows of a batch may still be sent, checked a slice at a time just before sending.
struct Gate {
    state: Mutex<GateState>,
    /// Rows checked per statement: the sends about to start.
    slice: usize,
}

struct GateState {
    checked_upto: usize,
    allowed: Vec<bool>,
}

impl Gate {
    fn new(rows: usize, slice: usize) -> Gate {
        Gate { state: Mutex::new(GateState { checked_upto: 0, allowed: vec![false; rows] }), slice: slice.max(1) }
    }

    /// Whether row `i` is still this worker's to send. Rows are taken in order, so the first
    /// sender to reach an unchecked row checks it and the next `slice - 1` in one statement.
    fn allows(&self, db: &Db, mailer: &Mailer, clock: &Clock, rows: &[OutboxRow], i: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if i >= state.checked_upto {
            let from = state.checked_upto;
            let to = (i + 1).max(from + self.slice).min(rows.len());
            let ids: Vec<&str> = rows[from..to].iter().map(|r| r.id.as_str()).collect();
            let at = to_db_time(clock.now());
            let ours = db.get().and_then(|mut c| outbox::still_leased(&mut c, &mailer.worker_id, &ids, at));
            match ours {
                Ok(ours) => {
                    for (j, row) in rows[from..to].iter().enumerate() {
                        state.allowed[from + j] = ours.contains(&row.id);
                    }
                }
                // Not knowing is not sending: the rows stay leased and go out on a later claim.
                Err(e) => {
                    tracing::warn!(worker = %mailer.worker_id, error = %e, "cannot check claimed email; not sending it now")
                }
            }
            state.checked_upto = to;
        }
        state.allowed[i]
    }
}

/// Delivers one claimed batch: senders check each slice of rows just before sending it (see
/// [`Gate`]) and hand each outcome to this thread, which records the outcomes as they come (one
/// transaction for whatever arrived meanwhile) and renews the lease of the rows still in flight
/// every third of the lease. A slow relay thus never lets the lease run out under a batch, and a
/// worker that dies mid-batch has recorded everything it learnt. Returns whether the server was
/// found unreachable.
fn deliver_batch(
    db: &Db,
    mailer: &Mailer,
    clock: &Clock,
    rows: &[OutboxRow],
    stats: &mut DeliveryStats,
) -> Result<bool, AppError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let gate = Gate::new(rows.len(), mailer.concurrency);
    let threads = mailer.concurrency.clamp(1, rows.len().max(1));
    let renew_every = (mailer.lease / 3).to_std().unwrap_or_default().max(Duration::from_millis(10));
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let mut done = vec![false; rows.len()];
    let mut unreachable_error: Option<String> = None;
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, gate) = (&next, &stop, &gate);
            s.spawn(move || loop {
                // Shutting down: sends in progress finish, nothing new starts.
                if stop.load(Ordering::Relaxed) || mailer.stopping() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(i) else { break };
                let outcome =
                    if gate.allows(db, mailer, clock, rows, i) { send_one(mailer, row) } else { Outcome::Withdrawn };
                if matches!(&outcome, Outcome::Failed(e) if e.unreachable) {
                    stop.store(true, Ordering::Relaxed);
                }
                if tx.send((i, outcome)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut known: Vec<(usize, Outcome)> = Vec::new();
        let mut last_renewal = Instant::now();
        let mut failure = None;
        loop {
            let wait = renew_every.saturating_sub(last_renewal.elapsed());
            let finished = match rx.recv_timeout(wait) {
                Ok(first) => {
                    known.push(first);
                    known.extend(rx.try_iter());
                    false
                }
                Err(mpsc::RecvTimeoutError::Timeout) => false,
                Err(mpsc::RecvTimeoutError::Disconnected) => true,
            };
            if !known.is_empty() {
                for (_, o) in &known {
                    if let Outcome::Failed(e) = o {
                        if e.unreachable && unreachable_error.is_none() {
                            unreachable_error = Some(e.message.clone());
                        }
                    }
                }
                // A failed write keeps the outcomes for the next round (the senders go on).
                match record_known(db, mailer, clock, rows, &known, None, stats) {
                    Ok(()) => {
                        for (i, _) in known.drain(..) {
                            done[i] = true;
                        }
                        failure = None;
                    }
                    Err(e) => {
                        tracing::warn!(worker = %mailer.worker_id, error = %e, "cannot record email outcomes yet");
                        failure = Some(e);
                    }
                }
            }
            if finished {
                break;
            }
            if last_renewal.elapsed() >= renew_every {
                last_renewal = Instant::now();
                let in_flight: Vec<&str> =
                    rows.iter().zip(&done).filter(|(_, d)| !**d).map(|(r, _)| r.id.as_str()).collect();
                let until = to_db_time(clock.now() + mailer.lease);
                let renewed =
                    db.get().and_then(|mut c| outbox::renew_leases(&mut c, &mailer.worker_id, &in_flight, until));
                if let Err(e) = renewed {
                    tracing::warn!(worker = %mailer.worker_id, error = %e, "cannot renew the lease of emails in flight");
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })?;
    let untried_ids: Vec<&str> = rows.iter().zip(&done).filter(|(_, d)| !**d).map(|(r, _)| r.id.as_str()).collect();
    if unreachable_error.is_none() && mailer.stopping() {
        // Shutting down: what was claimed and not tried is released, due at once for the next
        // process, with its attempt given back.
        let mut conn = db.get()?;
        let released = write_tx(&mut conn, |c| outbox::release(c, &mailer.worker_id, &untried_ids))?;
        if released > 0 {
            tracing::info!(worker = %mailer.worker_id, released, "shutting down: released claimed emails not sent");
        }
        return Ok(true);
    }
    // Rows never tried (the server was unreachable) go back for a later attempt.
    let untried: Vec<(usize, Outcome)> =
        done.iter().enumerate().filter(|(_, d)| !**d).map(|(i, _)| (i, Outcome::NotTried)).collect();
    record_known(db, mailer, clock, rows, &untried, unreachable_error.as_deref(), stats)?;
    Ok(unreachable_error.is_some() || !untried.is_empty())
}

/// [`record`] for outcomes known by row index.
fn record_known(
    db: &Db,
    mailer: &Mailer,
    clock: &Clock,
    rows: &[OutboxRow],
    known: &[(usize, Outcome)],
    unreachable_error: Option<&str>,
    stats: &mut DeliveryStats,
) -> Result<(), AppError> {
    if known.is_empty() {
        return Ok(());
    }
    let batch: Vec<(&OutboxRow, &Outcome)> = known.iter().map(|(i, o)| (&rows[*i], o)).collect();
    record(db, mailer, clock.now(), &batch, unreachable_error, stats)
}

/// Writes the outcomes of some rows of a batch in one transaction, and beats the worker's heartbeat
/// (see [`Mailer::heartbeat`]).
pub fn record(
    db: &Db,
    mailer: &Mailer,
    now: DateTime<Utc>,
    batch: &[(&OutboxRow, &Outcome)],
    unreachable_error: Option<&str>,
    stats: &mut DeliveryStats,
) -> Result<(), AppError> {
    let at = to_db_time(now);
    let mut conn = db.get()?;
    let mut local = DeliveryStats::default();
    write_tx(&mut conn, |c| {
        let sent: Vec<&str> =
            batch.iter().filter(|(_, o)| matches!(o, Outcome::Sent)).map(|(r, _)| r.id.as_str()).collect();
        outbox::mark_sent(c, &sent, at)?;
        local.sent = sent.len();
        for (row, outcome) in batch {
            let error = match outcome {
                Outcome::Sent => continue,
                Outcome::Withdrawn => {
                    local.skipped += 1;
                    continue;
                }
                Outcome::Failed(e) => e.clone(),
                Outcome::NotTried => SendError {
                    permanent: false,
                    unreachable: true,
                    message: unreachable_error.unwrap_or("not tried: server unreachable").to_string(),
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
    stats.skipped += local.skipped;
    if let Some(heartbeat) = &mailer.heartbeat {
        heartbeat.beat();
    }
    Ok(())
}

/// Runs delivery steps in a supervised background thread every `poll` (at once again while there
/// is a backlog). `faults` is for tests only (see [`FaultInjection`]).
pub fn spawn(
    db: Db,
    mailer: Mailer,
    poll: Duration,
    shutdown: Shutdown,
    faults: FaultInjection,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let heartbeat = mailer.heartbeat.clone().unwrap_or_else(|| Heartbeat::new("outbox_worker", poll, poll));
    supervise("outbox_worker", heartbeat, shutdown, move || {
        FaultInjection::maybe_panic(&faults.outbox_worker_panics, "outbox worker");
        match deliver_due_blocking(&db, &mailer, Utc::now()) {
            Ok(s) if s.sent > 0 && s.retried == 0 => return Duration::ZERO,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox delivery step failed"),
        }
        mailer.transport.close_idle();
        poll
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
