//! One module per subcommand family; each owns its clap arguments and its `run`.
pub mod admin;
pub mod admission;
pub mod agent;
pub mod api_token;
pub mod cluster;
pub mod db;
pub mod migrate;
#[cfg(feature = "scanner")]
pub mod scan;
pub mod server;
