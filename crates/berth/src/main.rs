//! The berth binary: command line and wiring.
mod cmd;

/// mimalloc instead of glibc's malloc: glibc keeps per-thread arenas and freed memory of large
/// request bodies (a 4 MiB manifest) mapped, so RSS only grew from run to run; mimalloc returns
/// freed pages to the system shortly after, and is as fast. Its `no_thp` feature keeps
/// transparent huge pages off for the process: with them, each arena page mimalloc touched
/// faulted in 2 MiB, and a scan peaked at 123 MiB RSS instead of 57 (`bench/scan.sh`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "A container registry with image security built in"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the registry server.
    Serve(cmd::server::ServerArgs),
    /// Delete unreferenced content now, then exit.
    Gc(cmd::server::GcArgs),
    /// Operator commands: management API access keys, scan-on-push per namespace.
    #[command(subcommand)]
    Admin(cmd::admin::AdminCommand),
    /// Report a Kubernetes cluster's workloads and pods to berth (list, then watch).
    Agent(cmd::agent::AgentArgs),
    /// The Kubernetes admission webhook: its ValidatingWebhookConfiguration.
    #[command(subcommand)]
    Admission(cmd::admission::AdmissionCommand),
    /// Copy a single-machine berth (SQLite + data directory) into PostgreSQL + S3.
    Migrate(cmd::migrate::MigrateArgs),
    /// Vulnerability database commands.
    #[command(subcommand)]
    Db(cmd::db::DbCommand),
    /// Scan an image for vulnerabilities, malicious files and misconfiguration.
    #[cfg(feature = "scanner")]
    Scan(cmd::scan::ScanArgs),
}

/// Logs go to stderr as text or JSON lines; every request's span carries its request id.
/// Colours only on a terminal: in a file or a journal the escape codes are noise.
fn init_logging(level: &str, format: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match &cli.command {
        Command::Serve(a) => Some(cmd::server::load_config(a)),
        Command::Gc(a) => Some(cmd::server::load_config(&a.server)),
        _ => None,
    };
    let config = match config.transpose() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match &config {
        Some(c) => init_logging(&c.log.level, &c.log.format),
        // The agent is a long-running service: what it lists and resyncs is worth a line.
        None => init_logging(
            &std::env::var("BERTH_LOG").unwrap_or_else(|_| match cli.command {
                Command::Agent(_) => "info".into(),
                _ => "warn".into(),
            }),
            "text",
        ),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(_) => match config {
                Some(c) => cmd::server::serve(c).await.map(|()| 0),
                None => Ok(1),
            },
            Command::Gc(a) => match config {
                Some(c) => cmd::server::gc(c, a.no_grace).await.map(|()| 0),
                None => Ok(1),
            },
            Command::Admin(c) => cmd::admin::run(c).await,
            Command::Agent(a) => cmd::agent::run(a).await,
            Command::Admission(c) => cmd::admission::run(c).await,
            Command::Db(c) => cmd::db::run(c).await.map(|()| 0),
            Command::Migrate(a) => cmd::migrate::run(a).await,
            #[cfg(feature = "scanner")]
            Command::Scan(a) => cmd::scan::run(a).await,
        }
    });
    match result {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
