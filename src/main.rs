//! The `roadshow` binary: `serve` (default), `migrate`, `create-admin`, `demo-data`.

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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Waits for SIGTERM or Ctrl-C (SIGINT): both stop the server gracefully. Returns which came.
async fn wait_for_signal() -> &'static str {
    use actix_web::rt::signal;
    #[cfg(unix)]
    {
        let Ok(mut term) = signal::unix::signal(signal::unix::SignalKind::terminate()) else {
            let _ = signal::ctrl_c().await;
            return "SIGINT";
        };
        let ctrl_c = std::pin::pin!(signal::ctrl_c());
        let term = std::pin::pin!(term.recv());
        match futures_util::future::select(ctrl_c, term).await {
            futures_util::future::Either::Left(_) => "SIGINT",
            futures_util::future::Either::Right(_) => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = signal::ctrl_c().await;
        "Ctrl-C"
    }
}

fn serve(config: Config) -> Result<(), String> {
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let bind = config.bind;
        let app = Application::build(config).await?;
        tracing::info!(address = %bind, port = app.port(), "roadshow is listening");
        let handle = app.handle();
        actix_web::rt::spawn(async move {
            let signal = wait_for_signal().await;
            tracing::info!(signal, "shutting down: no new connections, finishing requests in flight");
            handle.stop(true).await;
        });
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
