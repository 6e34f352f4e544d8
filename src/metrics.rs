//! `GET /metrics`: the process's metrics in the Prometheus text exposition format (OpenMetrics),
//! encoded by `prometheus-client`, the Prometheus project's Rust client.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `roadshow_http_requests_total` | counter | `route` (the pattern, `/api/v1/events/{id}`), `method`, `status` |
//! | `roadshow_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `roadshow_db_pool_connections` | gauge | `state` (`idle`, `in_use`) |
//! | `roadshow_db_pool_max` | gauge | |
//! | `roadshow_db_pool_wait_seconds` | histogram | (time to check a connection out) |
//! | `roadshow_outbox_emails` | gauge | `status` (read at scrape time) |
//! | `roadshow_outbox_oldest_due_seconds` | gauge | (age of the longest-waiting due email; 0 when none) |
//! | `roadshow_emails_total` | counter | `outcome` (`sent`, `retried`, `dead`) |
//! | `roadshow_registrations_total` | counter | `outcome` (`confirmed`, `waitlisted`, `replayed`, `refused`) |
//! | `roadshow_expert_bookings_total` | counter | `outcome` (`booked`: a 201, replays included; `refused`) |
//! | `roadshow_credit_grants_total` | counter | `outcome` (`granted`, `already_granted`, `pool_empty`, `not_open`) |
//! | `roadshow_scheduler_runs_total` | counter | `result` (`ok`, `failed`) |
//!
//! Labels hold no personal data and have bounded values: route *patterns* (an unmatched path is
//! `(unmatched)`), the HTTP method (other methods are `OTHER`), the status code, and fixed words.
//! The registry is one per process: counters count everything this process did.
//!
//! Access: with `ROADSHOW_METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>`
//! (401 otherwise); unset, only a client on the same machine (a loopback peer) gets an answer, so
//! a stranger cannot make the service run the outbox's aggregates at will.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the process.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily<RouteLabels>,
    pool: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    pool_wait: Histogram,
    outbox: Family<StatusLabels, Gauge>,
    oldest_due: Gauge<f64, std::sync::atomic::AtomicU64>,
    emails: Family<OutcomeLabels, Counter>,
    registrations: Family<OutcomeLabels, Counter>,
    bookings: Family<OutcomeLabels, Counter>,
    grants: Family<OutcomeLabels, Counter>,
    scheduler: Family<ResultLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("roadshow");
        let m = Metrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency_histogram),
            pool: Family::default(),
            pool_max: Gauge::default(),
            pool_wait: Histogram::new(exponential_buckets(0.0001, 4.0, 10)),
            outbox: Family::default(),
            oldest_due: Gauge::default(),
            emails: Family::default(),
            registrations: Family::default(),
            bookings: Family::default(),
            grants: Family::default(),
            scheduler: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route pattern and method",
            m.durations.clone(),
        );
        registry.register("db_pool_connections", "Database connections of the pool, idle or in use", m.pool.clone());
        registry.register("db_pool_max", "The most connections the pool opens", m.pool_max.clone());
        registry.register("db_pool_wait_seconds", "Time to check a connection out of the pool", m.pool_wait.clone());
        registry.register("outbox_emails", "Emails in the outbox, by status", m.outbox.clone());
        registry.register(
            "outbox_oldest_due_seconds",
            "How long the longest-waiting due email has been due (0: none is waiting)",
            m.oldest_due.clone(),
        );
        registry.register("emails", "Delivery attempts of this process, by outcome", m.emails.clone());
        registry.register("registrations", "Registration requests, by outcome", m.registrations.clone());
        registry.register("expert_bookings", "Expert session booking requests, by outcome", m.bookings.clone());
        registry.register("credit_grants", "Ad-credit grant attempts for taking part, by outcome", m.grants.clone());
        registry.register("scheduler_runs", "Scheduler passes, by result", m.scheduler.clone());
        Metrics { registry, ..m }
    })
}

/// The method as a bounded label value.
fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method as M;
    match *m {
        M::GET => "GET",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::HEAD => "HEAD",
        M::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts one answered request (called by the access-log middleware).
pub fn record_request(route: &str, method: &actix_web::http::Method, status: u16, elapsed: Duration) {
    let m = metrics();
    let method = method_label(method);
    m.requests.get_or_create(&RequestLabels { route: route.to_string(), method, status }).inc();
    m.durations.get_or_create(&RouteLabels { route: route.to_string(), method }).observe(elapsed.as_secs_f64());
}

/// Time spent checking a connection out of the pool.
pub fn record_pool_wait(elapsed: Duration) {
    metrics().pool_wait.observe(elapsed.as_secs_f64());
}

/// A registration request's outcome: `confirmed`, `waitlisted`, `replayed` or `refused`.
pub fn registration(outcome: &'static str) {
    metrics().registrations.get_or_create(&OutcomeLabels { outcome }).inc();
}

/// An expert booking request's outcome: `booked` (a 201) or `refused`.
pub fn booking(outcome: &'static str) {
    metrics().bookings.get_or_create(&OutcomeLabels { outcome }).inc();
}

/// A grant attempt's outcome (see [`crate::credits::queries::GrantOutcome::as_str`]); any other
/// word (a webinar upload row that granted nothing, say) is not a grant attempt and is not counted.
pub fn grant(outcome: &str) {
    let outcome = match outcome {
        "granted" => "granted",
        "already_granted" => "already_granted",
        "pool_empty" => "pool_empty",
        "not_open" => "not_open",
        _ => return,
    };
    metrics().grants.get_or_create(&OutcomeLabels { outcome }).inc();
}

/// Delivery outcomes of one worker step.
pub fn emails(sent: usize, retried: usize, dead: usize) {
    let m = metrics();
    for (outcome, n) in [("sent", sent), ("retried", retried), ("dead", dead)] {
        if n > 0 {
            m.emails.get_or_create(&OutcomeLabels { outcome }).inc_by(n as u64);
        }
    }
}

/// One scheduler pass.
pub fn scheduler_run(ok: bool) {
    metrics().scheduler.get_or_create(&ResultLabels { result: if ok { "ok" } else { "failed" } }).inc();
}

/// Whether the request may read the metrics: with a token configured, the right bearer token;
/// without one, only a client on this machine (the socket's peer is a loopback address).
fn allowed(req: &HttpRequest, config: &Config) -> bool {
    let Some(expected) = config.metrics_token.as_deref() else {
        return req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The process's metrics, in the Prometheus text exposition format (OpenMetrics).
///
/// With `ROADSHOW_METRICS_TOKEN` set, only a request with `Authorization: Bearer <that token>` gets
/// them; unset, only a client on the same machine (401 otherwise). Labels carry route patterns,
/// methods, statuses and fixed words only.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "the metrics", body = String,
         content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        (status = 401, description = "the request lacks ROADSHOW_METRICS_TOKEN (or, with none set, does not come from this machine)",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn scrape(req: HttpRequest, db: web::Data<Db>, config: web::Data<Config>) -> Result<HttpResponse, AppError> {
    if !allowed(&req, &config) {
        return Err(AppError::Unauthorized("metrics need the token of ROADSHOW_METRICS_TOKEN".into()));
    }
    let m = metrics();
    let state = db.pool().state();
    m.pool.get_or_create(&StateLabels { state: "idle" }).set(i64::from(state.idle_connections));
    m.pool
        .get_or_create(&StateLabels { state: "in_use" })
        .set(i64::from(state.connections.saturating_sub(state.idle_connections)));
    m.pool_max.set(i64::from(db.pool().max_size()));
    let (per_status, oldest_due) = db
        .read(|c| {
            let at = crate::db::now();
            let stats = crate::mail::outbox::stats(c, at)?;
            Ok((stats.per_status, crate::mail::outbox::oldest_due(c, at)?))
        })
        .await?;
    for status in crate::domain::OutboxStatus::ALL {
        let n = per_status.get(status).copied().unwrap_or(0);
        m.outbox.get_or_create(&StatusLabels { status: status.as_str() }).set(n);
    }
    let age = oldest_due.map_or(0.0, |t| (crate::db::now() - t).num_milliseconds().max(0) as f64 / 1000.0);
    m.oldest_due.set(age);
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &m.registry)
        .map_err(|e| AppError::internal(format!("metrics encoding: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_appear_in_the_text_format_with_bounded_labels() {
        super::record_request(
            "/api/v1/events/{id}",
            &actix_web::http::Method::GET,
            200,
            std::time::Duration::from_millis(3),
        );
        super::record_request(
            "/x",
            &actix_web::http::Method::from_bytes(b"PROPFIND").unwrap(),
            405,
            Default::default(),
        );
        super::registration("confirmed");
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &super::metrics().registry).unwrap();
        assert!(
            body.contains("roadshow_http_requests_total{route=\"/api/v1/events/{id}\",method=\"GET\",status=\"200\"}"),
            "{body}"
        );
        assert!(body.contains("method=\"OTHER\",status=\"405\""), "{body}");
        assert!(body.contains("roadshow_registrations_total{outcome=\"confirmed\"}"), "{body}");
        assert!(body.contains("# TYPE roadshow_http_request_duration_seconds histogram"), "{body}");
        assert!(body.ends_with("# EOF\n"));
    }
}
