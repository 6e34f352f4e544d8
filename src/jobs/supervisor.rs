//! Keeps the background workers (the outbox worker, the scheduler) running, and tells `/readyz`
//! whether they are making progress.
//!
//! Each worker is a thread running a loop of steps ([`supervise`]). A step that panics is caught
//! (`catch_unwind`), logged, and the loop goes on after a pause that doubles with each panic in a
//! row, from 1 s up to 60 s, so a fault that repeats neither spins nor stops the worker for good; a
//! step that returns resets the pause. The unwinding drops whatever the step held: a pooled
//! database connection is closed rather than reused, which rolls back its transaction (see
//! [`crate::db`]).
//!
//! Every completed step, and every sign of progress inside a long one (the outbox worker beats as
//! it records each batch of outcomes), beats the worker's [`Heartbeat`]. A worker is *stalled* when
//! its last beat is older than max(3 × its interval, `ROADSHOW_WORKER_STALL_SECONDS`, 30 s by
//! default): three missed rounds, but never less than that floor, so a slow but healthy step (a long
//! batch to a slow relay, a database busy for a while) is not reported. A stalled worker makes
//! `/readyz` answer 503 naming it: it is hung, or it keeps panicking.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// The pause after a first panic; it doubles with each further panic in a row.
/// Asks the background workers of a process to stop, and wakes them from their pauses: each stops
/// between steps (a step in progress finishes; the outbox worker sends nothing more and releases
/// what it claimed but did not send, see `mail::worker`).
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl Shutdown {
    /// Asks every worker holding this token to stop.
    pub fn stop(&self) {
        let (flag, wake) = &*self.0;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
    }

    pub fn is_stopping(&self) -> bool {
        *self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sleeps `d`, or less when asked to stop meanwhile; returns whether to stop.
    pub fn pause(&self, d: Duration) -> bool {
        let (flag, wake) = &*self.0;
        let guard = flag.lock().unwrap_or_else(|p| p.into_inner());
        if d.is_zero() {
            return *guard;
        }
        let (guard, _) = wake.wait_timeout_while(guard, d, |stopping| !*stopping).unwrap_or_else(|p| p.into_inner());
        *guard
    }
}

const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
/// The longest pause between restarts.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);

/// When a worker last made progress, and how long it may go without.
#[derive(Debug)]
pub struct Heartbeat {
    name: &'static str,
    stall_after: Duration,
    /// Unix time of the last beat, in milliseconds.
    last_ms: AtomicI64,
}

impl Heartbeat {
    /// A heartbeat that has just beaten, for a worker whose loop runs every `interval`; it is
    /// stalled after max(3 × `interval`, `floor`).
    pub fn new(name: &'static str, interval: Duration, floor: Duration) -> Arc<Heartbeat> {
        Arc::new(Heartbeat {
            name,
            stall_after: (interval.saturating_mul(3)).max(floor),
            last_ms: AtomicI64::new(now_ms()),
        })
    }

    /// Records progress now.
    pub fn beat(&self) {
        self.last_ms.fetch_max(now_ms(), Ordering::Relaxed);
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn stall_after(&self) -> Duration {
        self.stall_after
    }

    /// Time since the last beat.
    pub fn since_progress(&self) -> Duration {
        Duration::from_millis((now_ms() - self.last_ms.load(Ordering::Relaxed)).max(0) as u64)
    }

    pub fn is_stalled(&self) -> bool {
        self.since_progress() > self.stall_after
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// This process's background workers (none when `ROADSHOW_BACKGROUND=false`): their heartbeats
/// for `/readyz`, and their threads, which [`Workers::stop`] asks to stop and joins.
#[derive(Debug, Clone, Default)]
pub struct Workers(Arc<WorkersInner>);

#[derive(Debug, Default)]
struct WorkersInner {
    heartbeats: Vec<Arc<Heartbeat>>,
    shutdown: Shutdown,
    threads: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// One worker as `/readyz` shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct WorkerStatus {
    /// `running`, or `stalled`: no progress for longer than `stall_after_seconds`.
    pub status: String,
    pub seconds_since_progress: u64,
    pub stall_after_seconds: u64,
}

impl Workers {
    /// Workers whose threads are `threads`, all holding `shutdown`.
    pub fn new(
        heartbeats: Vec<Arc<Heartbeat>>,
        shutdown: Shutdown,
        threads: Vec<std::thread::JoinHandle<()>>,
    ) -> Workers {
        Workers(Arc::new(WorkersInner { heartbeats, shutdown, threads: std::sync::Mutex::new(threads) }))
    }

    /// Asks every worker to stop and waits up to `within` for their threads to end (a step in
    /// progress finishes first). Returns the names of threads still running after that.
    pub fn stop(&self, within: Duration) -> Vec<String> {
        self.0.shutdown.stop();
        let deadline = std::time::Instant::now() + within;
        let threads: Vec<std::thread::JoinHandle<()>> =
            std::mem::take(&mut *self.0.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let mut late = Vec::new();
        for t in threads {
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                late.push(t.thread().name().unwrap_or("worker").to_string());
            }
        }
        late
    }

    /// Each worker by name.
    pub fn report(&self) -> std::collections::BTreeMap<&'static str, WorkerStatus> {
        self.0
            .heartbeats
            .iter()
            .map(|h| {
                let status = WorkerStatus {
                    status: if h.is_stalled() { "stalled" } else { "running" }.into(),
                    seconds_since_progress: h.since_progress().as_secs(),
                    stall_after_seconds: h.stall_after().as_secs(),
                };
                (h.name(), status)
            })
            .collect()
    }

    /// The names of the stalled workers.
    pub fn stalled(&self) -> Vec<&'static str> {
        self.0.heartbeats.iter().filter(|h| h.is_stalled()).map(|h| h.name()).collect()
    }
}

/// Runs `step` over and over in a thread named `name`, sleeping for the pause each step returns,
/// restarting it with backoff when it panics (see the module docs), and beating `heartbeat` after
/// each completed step, until `shutdown` asks it to stop (checked between steps, and waking it from
/// a pause). Returns the thread, for [`Workers`] to join.
pub fn supervise<F>(
    name: &'static str,
    heartbeat: Arc<Heartbeat>,
    shutdown: Shutdown,
    mut step: F,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnMut() -> Duration + Send + 'static,
{
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let mut restart_delay = FIRST_RESTART_DELAY;
        while !shutdown.is_stopping() {
            match catch_unwind(AssertUnwindSafe(&mut step)) {
                Ok(pause) => {
                    heartbeat.beat();
                    restart_delay = FIRST_RESTART_DELAY;
                    if shutdown.pause(pause) {
                        break;
                    }
                }
                Err(panic) => {
                    tracing::error!(
                        worker = name,
                        panic = panic_message(&panic),
                        restart_in_ms = restart_delay.as_millis() as u64,
                        "background worker panicked; restarting it"
                    );
                    if shutdown.pause(restart_delay) {
                        break;
                    }
                    restart_delay = (restart_delay * 2).min(MAX_RESTART_DELAY);
                }
            }
        }
        tracing::info!(worker = name, "background worker stopped");
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// Test-only switches that make background workers fail on purpose, to show that they recover.
/// Never read from the environment: a real process always has them all off (the default).
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct FaultInjection {
    /// The outbox worker's next this-many steps panic before doing anything.
    pub outbox_worker_panics: Arc<AtomicUsize>,
    /// The scheduler's next this-many passes panic before doing anything.
    pub scheduler_panics: Arc<AtomicUsize>,
}

impl FaultInjection {
    /// Panics (the injected fault) if `counter` asks for one more panic, counting it down.
    pub(crate) fn maybe_panic(counter: &AtomicUsize, worker: &str) {
        if counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            panic!("injected fault: the {worker} panics");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_stalled_after_three_intervals_but_never_before_the_floor() {
        let h = Heartbeat::new("w", Duration::from_secs(60), Duration::from_secs(30));
        assert_eq!(h.stall_after(), Duration::from_secs(180));
        let h = Heartbeat::new("w", Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(h.stall_after(), Duration::from_secs(30));
        assert!(!h.is_stalled());
        h.last_ms.store(now_ms() - 31_000, Ordering::Relaxed);
        assert!(h.is_stalled());
        let workers = Workers::new(vec![h.clone()], Shutdown::default(), Vec::new());
        assert_eq!(workers.stalled(), vec!["w"]);
        assert_eq!(workers.report()["w"].status, "stalled");
        h.beat();
        assert!(workers.stalled().is_empty());
    }

    #[test]
    fn a_panicking_step_is_restarted_and_its_worker_beats_again() {
        let h = Heartbeat::new("test-worker", Duration::from_millis(10), Duration::from_millis(10));
        let steps = Arc::new(AtomicUsize::new(0));
        let counted = steps.clone();
        let faults = FaultInjection::default();
        faults.outbox_worker_panics.store(1, Ordering::SeqCst);
        let panics = faults.outbox_worker_panics.clone();
        let shutdown = Shutdown::default();
        let thread = supervise("test-worker", h.clone(), shutdown.clone(), move || {
            FaultInjection::maybe_panic(&panics, "test worker");
            counted.fetch_add(1, Ordering::SeqCst);
            Duration::from_millis(10)
        })
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while steps.load(Ordering::SeqCst) < 3 {
            assert!(std::time::Instant::now() < deadline, "the worker did not come back after its panic");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(faults.outbox_worker_panics.load(Ordering::SeqCst), 0, "the fault was injected");
        let workers = Workers::new(vec![h], shutdown, vec![thread]);
        assert!(workers.stop(Duration::from_secs(5)).is_empty(), "the worker stops when asked");
    }

    #[test]
    fn stopping_wakes_a_worker_from_a_long_pause() {
        let h = Heartbeat::new("sleeper", Duration::from_secs(3600), Duration::from_secs(3600));
        let shutdown = Shutdown::default();
        let thread = supervise("sleeper", h.clone(), shutdown.clone(), || Duration::from_secs(3600)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let started = std::time::Instant::now();
        let workers = Workers::new(vec![h], shutdown, vec![thread]);
        assert!(workers.stop(Duration::from_secs(5)).is_empty());
        assert!(started.elapsed() < Duration::from_secs(2), "not after its hour-long pause");
    }
}
