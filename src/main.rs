//! The `roadshow` binary: `serve` (default), `migrate`, `create-admin`, `demo-data`, `fold-counters`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use roadshow::app::{connect_and_migrate, Application};
use roadshow::config::Config;

#[derive(Parser)]
#[command(name = "roadshow", version, about = "Small-business roadshow backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and run the background workers (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a national admin and print its API token (the only line on stdout).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Load a realistic nationwide roadshow to explore (idempotent: skipped if already loaded).
    DemoData,
    /// Fold the report and outbox counters now and exit (the scheduler does it every pass; after
    /// a bulk load, this makes the first reports fast at once).
    FoldCounters,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    roadshow::telemetry::init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => connect_and_migrate(&config).map(|_| eprintln!("database is up to date")),
        Command::CreateAdmin { email, name } => connect_and_migrate(&config)
            .and_then(|db| roadshow::auth::cli::create_admin(&db, &email, &name).map_err(|e| e.to_string()))
            .map(|token| println!("{token}")),
        Command::DemoData => connect_and_migrate(&config)
            .and_then(|db| roadshow::demo::load(&db).map_err(|e| e.to_string()))
            .map(|summary| eprintln!("{summary}")),
        Command::FoldCounters => connect_and_migrate(&config)
            .and_then(|db| roadshow::rollups::fold(&db).map_err(|e| e.to_string()))
            .map(|batches| eprintln!("counters folded ({batches} batches)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM and Ctrl-C (SIGINT), registered at once: a signal that comes between this call and
/// the first poll of [`Signals::wait`] is kept, not left to the default action (which would kill
/// the process with requests in flight).
struct Signals {
    #[cfg(unix)]
    term: actix_web::rt::signal::unix::Signal,
    #[cfg(unix)]
    int: actix_web::rt::signal::unix::Signal,
}

impl Signals {
    fn register() -> Result<Self, String> {
        #[cfg(unix)]
        {
            use actix_web::rt::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
            let int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
            Ok(Signals { term, int })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for either: both stop the server gracefully. Returns which came.
    async fn wait(mut self) -> &'static str {
        #[cfg(unix)]
        {
            let int = std::pin::pin!(self.int.recv());
            let term = std::pin::pin!(self.term.recv());
            match futures_util::future::select(int, term).await {
                futures_util::future::Either::Left(_) => "SIGINT",
                futures_util::future::Either::Right(_) => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = actix_web::rt::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

fn serve(config: Config) -> Result<(), String> {
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        // Before anything starts: from here on a signal is a graceful stop, never a kill.
        let signals = Signals::register()?;
        let bind = config.bind;
        let app = Application::build(config).await?;
        tracing::info!(address = %bind, port = app.port(), "roadshow is listening");
        let handle = app.handle();
        actix_web::rt::spawn(async move {
            let signal = signals.wait().await;
            tracing::info!(signal, "shutting down: no new connections, finishing requests in flight");
            handle.stop(true).await;
        });
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
