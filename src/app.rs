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
    let public_cache = web::Data::new(crate::events::PublicCache::default());
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
            .wrap(crate::auth::security::security_headers())
            .wrap(from_fn(crate::telemetry::request_span))
            .configure(crate::routes::configure)
            .configure(crate::ops::docs)
            .default_service(web::to(crate::routes::unrouted))
    })
    .workers(workers)
    .listen(listener)
    .map_err(|e| format!("cannot start the HTTP server: {e}"))?
    .run();
    Ok(server)
}
