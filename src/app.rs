//! Builds the running service: pool, migrations, bound listener, HTTP server and background
//! workers. `main` and the integration tests both start the service through [`Application`].
//! The routes are in [`crate::routes`]; `/healthz`, `/readyz` and the API docs in [`crate::ops`].

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};

use crate::config::Config;
use crate::db::{self, Db};
use crate::jobs::supervisor::Workers;

/// A started service (listening; call [`Application::run_until_stopped`] to serve).
pub struct Application {
    port: u16,
    db: Db,
    server: Server,
    workers: Workers,
    shutdown_bound: std::time::Duration,
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
        let shutdown_bound = std::time::Duration::from_secs(config.shutdown_seconds);
        let server = build_server(listener, db.clone(), workers.clone(), config)?;
        Ok(Application { port, db, server, workers, shutdown_bound })
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

    /// Serves until the server is stopped (SIGTERM, Ctrl-C or a [`Application::handle`]), then
    /// stops the background workers. On a signal the server stops accepting connections at once
    /// and gives the requests in flight up to `ROADSHOW_SHUTDOWN_SECONDS` to finish; the workers
    /// then finish their step in progress (the outbox worker sends nothing new and releases what it
    /// claimed but did not send) within the same bound again.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        tracing::info!("HTTP server stopped; stopping background workers");
        let workers = self.workers.clone();
        let bound = self.shutdown_bound;
        let late = actix_web::rt::task::spawn_blocking(move || workers.stop(bound)).await.unwrap_or_default();
        if late.is_empty() {
            tracing::info!("background workers stopped");
        } else {
            tracing::warn!(workers = ?late, "background workers still busy at the end of the shutdown bound");
        }
        served
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
    let shutdown_seconds = config.shutdown_seconds;
    let cors_origins = config.cors_origins.clone();
    let db_data = web::Data::new(db);
    let config_data = web::Data::new(config);
    let background_data = web::Data::new(background);
    let public_cache = web::Data::new(crate::events::PublicCache::default());
    let form_key = web::Data::new(crate::site::csrf::FormKey::default());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(db_data.clone())
            .app_data(config_data.clone())
            .app_data(background_data.clone())
            .app_data(public_cache.clone())
            .app_data(form_key.clone())
            .app_data(crate::http::json_config())
            .app_data(crate::http::query_config())
            .app_data(crate::http::path_config())
            // Bodies read by actix's own extractors (bytes, strings, forms) are capped too.
            .app_data(web::PayloadConfig::new(crate::http::DEFAULT_BODY_LIMIT))
            .app_data(web::FormConfig::default().limit(16 * 1024))
            .wrap(Condition::new(!cors_origins.is_empty(), crate::auth::security::cors(&cors_origins)))
            .wrap(crate::auth::security::security_headers())
            .wrap(from_fn(crate::auth::security::frame_options))
            .wrap(from_fn(crate::telemetry::request_span))
            .configure(crate::routes::configure)
            .configure(crate::ops::docs)
            .default_service(web::to(crate::routes::unrouted))
    })
    .workers(workers)
    .shutdown_timeout(shutdown_seconds)
    // actix stops gracefully on SIGTERM but drops requests in flight on SIGINT (Ctrl-C); `main`
    // handles both the same way instead (see `wait_for_signal`).
    .disable_signals()
    .listen(listener)
    .map_err(|e| format!("cannot start the HTTP server: {e}"))?
    .run();
    Ok(server)
}
