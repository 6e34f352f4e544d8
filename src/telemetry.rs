//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`), and a middleware that
//! gives every request an id (`X-Request-Id`) and logs one line per request.
//!
//! Rules (see README, "Logging"): log ids, never an email address, a name or a token. The request
//! line carries the route *pattern* (`/api/v1/registrations/{id}`), never the query string, since
//! manage links carry their token there.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

/// Request-id and access-log middleware (`actix_web::middleware::from_fn`).
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request.id = %request_id, http.method = %method);
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let _enter = span.enter();
    match result {
        Ok(mut res) => {
            let route = res.request().match_pattern().unwrap_or_else(|| "(unmatched)".into());
            let status = res.status().as_u16();
            let elapsed = started.elapsed();
            crate::metrics::record_request(&route, res.request().method(), status, elapsed);
            let ms = elapsed.as_secs_f64() * 1000.0;
            if status >= 500 {
                tracing::warn!(http.route = %route, http.status = status, latency_ms = ms, "request failed");
            } else {
                tracing::info!(http.route = %route, http.status = status, latency_ms = ms, "request");
            }
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
            }
            Ok(res)
        }
        Err(e) => {
            tracing::warn!(error = %e, "request error");
            Err(e)
        }
    }
}
