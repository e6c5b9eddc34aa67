//! `berth db ...`: vulnerability database commands (owned by the vulndb work).
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Show the database's sources, counts and age.
    Status,
}

pub async fn run(cmd: DbCommand) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Status => anyhow::bail!("the vulnerability database is not built yet"),
    }
}
