//! Builds the running service: pool, migrations, bound listener, HTTP server and background
//! workers. `main` and the integration tests both start the service through [`Application`].
//!
//! `/healthz` says the process is up. `/readyz` says it can do its work: the database answers (on
//! a live connection, so a pool that held connections from before a database restart reports
//! ready as soon as the database is back), and no background worker has stalled (see
//! [`crate::jobs::supervisor`]); otherwise 503, naming what is wrong.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::config::Config;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::jobs::supervisor::Workers;

/// A started service (listening; call [`Application::run_until_stopped`] to serve).
pub struct Application {
    port: u16,
    db: Db,
    server: Server,
}

impl Application {
    /// Connects, migrates, binds (port 0 picks a free one) and prepares the server.
    pub async fn build(config: Config) -> Result<Application, String> {
        config.validate().map_err(|e| e.to_string())?;
        let db = connect_and_migrate(&config)?;
        let listener = TcpListener::bind(config.bind)
            .map_err(|e| format!("ROADSHOW_BIND: cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let workers = if config.background { crate::jobs::start_background(&db, &config)? } else { Workers::default() };
        let server = build_server(listener, db.clone(), workers, config)?;
        Ok(Application { port, db, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A handle to stop the server (tests, graceful shutdown).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Opens the pool and applies pending migrations.
pub fn connect_and_migrate(config: &Config) -> Result<Db, String> {
    let db = Db::connect(&config.database_url, config.effective_pool_size())
        .map_err(|e| format!("DATABASE_URL: cannot open the database: {e}"))?;
    let mut conn = db.get().map_err(|e| format!("DATABASE_URL: {e}"))?;
    let applied = db::run_migrations(&mut conn)?;
    if applied > 0 {
        tracing::info!(migrations = applied, "applied migrations");
    }
    Ok(db)
}

fn build_server(listener: TcpListener, db: Db, background: Workers, config: Config) -> Result<Server, String> {
    let workers = config.http_workers;
    let cors_origins = config.cors_origins.clone();
    let db_data = web::Data::new(db);
    let config_data = web::Data::new(config);
    let background_data = web::Data::new(background);
    let public_cache = web::Data::new(crate::events::handlers::PublicCache::default());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(db_data.clone())
            .app_data(config_data.clone())
            .app_data(background_data.clone())
            .app_data(public_cache.clone())
            .app_data(crate::http::json_config())
            .app_data(crate::http::query_config())
            .app_data(crate::http::path_config())
            // Bodies read by actix's own extractors (bytes, strings, forms) are capped too.
            .app_data(web::PayloadConfig::new(crate::http::DEFAULT_BODY_LIMIT))
            .app_data(web::FormConfig::default().limit(16 * 1024))
            .wrap(Condition::new(!cors_origins.is_empty(), crate::auth::security::cors(&cors_origins)))
            .wrap(from_fn(crate::auth::security::no_store_on_private_paths))
            .wrap(crate::auth::security::security_headers())
            .wrap(from_fn(crate::telemetry::request_span))
            .configure(routes)
            .default_service(web::to(not_found))
    })
    .workers(workers)
    .listen(listener)
    .map_err(|e| format!("cannot start the HTTP server: {e}"))?
    .run();
    Ok(server)
}

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(web::resource("/api/openapi.json").route(web::get().to(openapi)))
        .configure(crate::states::routes)
        .configure(crate::auth::routes)
        .configure(crate::partners::routes)
        .configure(crate::events::routes)
        .configure(crate::registrations::routes)
        .configure(crate::mail::routes)
        .configure(crate::audit::routes)
        .configure(crate::reports::routes)
        .configure(crate::privacy::routes);
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("no such resource"))
}

/// The OpenAPI 3.1 description of every endpoint (kept next to the code: `src/openapi.json`).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 `{"status":"ready","database":…,"workers":{name: {status, …}}}`, or 503 with `"status":
/// "unavailable"` when the database does not answer, and `"stalled": [names]` when a background
/// worker has stopped making progress. `workers` is empty without `ROADSHOW_BACKGROUND`.
async fn readyz(db: web::Data<Db>, background: web::Data<Workers>) -> HttpResponse {
    let backend = if db.is_postgres() { "postgres" } else { "sqlite" };
    let checked = db.clone();
    let check = crate::db::block_in_span(move || checked.check()).await;
    let stalled = background.stalled();
    let workers = background.report();
    if let Err(e) = &check {
        tracing::warn!(error = %e, "readiness check failed: database");
    }
    if !stalled.is_empty() {
        tracing::warn!(workers = ?stalled, "readiness check failed: background worker stalled");
    }
    if check.is_ok() && stalled.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "database": backend, "workers": workers }))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "unavailable",
            "database": backend,
            "database_ok": check.is_ok(),
            "workers": workers,
            "stalled": stalled,
        }))
    }
}
