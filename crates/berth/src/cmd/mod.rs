//! One module per subcommand family; each owns its clap arguments and its `run`.
pub mod db;
pub mod scan;
pub mod server;
