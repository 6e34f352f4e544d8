//! The delivery worker: claims due webhook deliveries (in order per object and endpoint), signs
//! and POSTs each to the address it checked, and records the answer: a 2xx is delivered; anything
//! else is tried again after a backoff (30 s doubling, at most an hour), and after
//! [`MAX_ATTEMPTS`] the delivery is `failed` (an organization can send it again by hand).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::queries::{self, Claimed};
use crate::db::{to_db_time, write_tx, Db};
use crate::error::AppError;
use crate::jobs::supervisor::{supervise, Heartbeat, Shutdown};

/// Tries before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 8;
/// Deliveries claimed per step: few enough that the step ends well inside its lease even when
/// every request takes its whole time limit (5 × 15 s < 120 s), so no other process takes them over.
const BATCH: i64 = 5;
/// How long a claim holds its deliveries.
const LEASE_SECONDS: i64 = 120;
/// One request's time limit.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The wait before try `attempts + 1`.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = attempts.clamp(1, 8) - 1;
    chrono::Duration::seconds((30i64 << exp).min(3600))
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// One step at `now`: claims due deliveries and sends them, one at a time (in order).
pub fn deliver_due_blocking(db: &Db, allow_private: bool, now: DateTime<Utc>) -> Result<Stats, AppError> {
    deliver_due_until(db, allow_private, now, &Shutdown::default())
}

/// [`deliver_due_blocking`] that stops between deliveries once `shutdown` is stopping, releasing
/// what it claimed and did not send.
fn deliver_due_until(db: &Db, allow_private: bool, now: DateTime<Utc>, shutdown: &Shutdown) -> Result<Stats, AppError> {
    let at = to_db_time(now);
    let until = to_db_time(now + chrono::Duration::seconds(LEASE_SECONDS));
    let claimed = {
        let mut conn = db.get()?;
        write_tx(&mut conn, |c| queries::claim(c, at, until, BATCH))?
    };
    let mut stats = Stats::default();
    for (i, d) in claimed.iter().enumerate() {
        if shutdown.is_stopping() {
            let rest: Vec<i64> = claimed[i..].iter().map(|c| c.seq).collect();
            let mut conn = db.get()?;
            write_tx(&mut conn, |c| queries::release(c, &rest))?;
            break;
        }
        let (ok, code, error) = match send(d, allow_private, now) {
            Ok(code) if (200..300).contains(&code) => (true, Some(i32::from(code)), None),
            Ok(code) => (false, Some(i32::from(code)), Some(format!("the endpoint answered {code}"))),
            Err(e) => (false, None, Some(e)),
        };
        let retry_at = (!ok && d.attempts < MAX_ATTEMPTS).then(|| at + backoff(d.attempts));
        match (ok, retry_at) {
            (true, _) => stats.delivered += 1,
            (false, Some(_)) => stats.retried += 1,
            (false, None) => stats.failed += 1,
        }
        if let Some(e) = &error {
            tracing::info!(webhook.delivery = %d.id, attempts = d.attempts, error = %e, "webhook delivery failed");
        }
        let mut conn = db.get()?;
        write_tx(&mut conn, |c| queries::record(c, d.seq, ok, code, error.as_deref(), retry_at, at))?;
    }
    Ok(stats)
}

/// Signs and POSTs one delivery; the status code, or why there was none.
fn send(d: &Claimed, allow_private: bool, now: DateTime<Utc>) -> Result<u16, String> {
    let target = super::parse_target(&d.url)?;
    let addrs = super::resolve_allowed(&target, allow_private)?;
    let timestamp = now.timestamp();
    let mut signatures = vec![super::sign(&d.secret, &d.id, timestamp, &d.payload)];
    if let (Some(old), Some(until)) = (&d.previous_secret, d.previous_until) {
        if to_db_time(now) < until {
            signatures.push(super::sign(old, &d.id, timestamp, &d.payload));
        }
    }
    // Connect to the address just checked (a second lookup could answer otherwise), and follow no
    // redirect (it could lead anywhere).
    let mut builder = reqwest::blocking::Client::builder()
        // An environment proxy would resolve the name itself, past the address checked here.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent("Roadshow-Webhooks/1");
    if target.host.parse::<std::net::IpAddr>().is_err() {
        builder = builder.resolve(&target.host, addrs[0]);
    }
    let client = builder.build().map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let response = client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &d.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(d.payload.clone())
        .send()
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    Ok(response.status().as_u16())
}

/// Runs steps in a supervised background thread every `poll` (at once again while busy).
pub fn spawn(
    db: Db,
    allow_private: bool,
    poll: Duration,
    heartbeat: std::sync::Arc<Heartbeat>,
    shutdown: Shutdown,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let stop = shutdown.clone();
    supervise("webhooks", heartbeat, shutdown, move || match deliver_due_until(&db, allow_private, Utc::now(), &stop) {
        Ok(s) if s.delivered + s.retried + s.failed > 0 => Duration::ZERO,
        Ok(_) => poll,
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery step failed");
            poll
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_from_thirty_seconds_to_an_hour() {
        let secs: Vec<i64> = (1..=9).map(|a| super::backoff(a).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
