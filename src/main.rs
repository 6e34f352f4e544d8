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

fn serve(config: Config) -> Result<(), String> {
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let bind = config.bind;
        let app = Application::build(config).await?;
        tracing::info!(address = %bind, port = app.port(), "roadshow is listening");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
