//! Operations endpoints: liveness, readiness, the API description and its interactive docs.
//!
//! `/healthz` says the process is up. `/readyz` says it can do its work: the database answers (on
//! a live connection, so a pool that held connections from before a database restart reports
//! ready as soon as the database is back), and no background worker has stalled (see
//! [`crate::jobs::supervisor`]); otherwise 503, naming what is wrong.
//!
//! `/api/openapi.json` is generated from the wire types ([`crate::openapi`]); `/docs/` serves
//! Swagger UI from files built into the binary, so it works with no network access.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Db;
use crate::jobs::supervisor::{WorkerStatus, Workers};
use crate::routes::{get, Router};

pub fn routes(r: &mut Router) {
    r.at("/healthz", [get(healthz)])
        .at("/readyz", [get(readyz)])
        .at("/api/openapi.json", [get(openapi_json)])
        .at("/metrics", [get(crate::metrics::scrape)]);
}

/// Swagger UI at `/docs/` (and `/docs`, redirected). Not API operations, so not in the spec.
pub fn docs(cfg: &mut web::ServiceConfig) {
    // Swagger UI runs its own scripts and fetches the spec from this origin.
    const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                            img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";
    cfg.service(
        web::resource("/docs").route(
            web::get().to(|| async {
                HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
            }),
        ),
    )
    .service(web::scope("").wrap(DefaultHeaders::new().add((header::CONTENT_SECURITY_POLICY, DOCS_CSP))).service(
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/api/openapi.json")),
    ));
}

/// `/healthz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthOut {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// `/readyz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadyOut {
    /// `ready`, or `unavailable` (with status 503).
    #[schema(example = "ready")]
    pub status: String,
    /// `postgres` or `sqlite`.
    pub database: String,
    /// Whether the database answered (only in a 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_ok: Option<bool>,
    /// Each background worker by name; empty without `ROADSHOW_BACKGROUND`.
    pub workers: BTreeMap<String, WorkerStatus>,
    /// The workers that stopped making progress (only in a 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled: Option<Vec<String>>,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = HealthOut)))]
pub async fn healthz() -> web::Json<HealthOut> {
    web::Json(HealthOut { status: "ok".into() })
}

/// Readiness: the database answers and no background worker has stalled.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "ready", body = ReadyOut),
        (status = 503, description = "the database does not answer or a worker stalled", body = ReadyOut),
    )
)]
pub async fn readyz(db: web::Data<Db>, background: web::Data<Workers>) -> HttpResponse {
    let backend = if db.is_postgres() { "postgres" } else { "sqlite" };
    let checked = db.clone();
    let check = crate::db::block_in_span(move || checked.check()).await;
    let stalled = background.stalled();
    let workers: BTreeMap<String, WorkerStatus> =
        background.report().into_iter().map(|(name, status)| (name.to_string(), status)).collect();
    if let Err(e) = &check {
        tracing::warn!(error = %e, "readiness check failed: database");
    }
    if !stalled.is_empty() {
        tracing::warn!(workers = ?stalled, "readiness check failed: background worker stalled");
    }
    let ready = check.is_ok() && stalled.is_empty();
    let body = ReadyOut {
        status: if ready { "ready" } else { "unavailable" }.into(),
        database: backend.into(),
        database_ok: (!ready).then_some(check.is_ok()),
        workers,
        stalled: (!ready).then(|| stalled.iter().map(|s| s.to_string()).collect()),
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// This API's OpenAPI 3.1 description, generated from the code.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(crate::openapi::json())
}
