//! The integration tests of the `berth` binary, in one test binary (one link instead of one per
//! file): each module is a former test file. They run the real binary
//! (`env!("CARGO_BIN_EXE_berth")`); nextest runs every test in a process of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[cfg(feature = "scanner")]
mod admission;
mod agent;
mod bootstrap;
mod clients;
#[cfg(feature = "scanner")]
mod console;
mod crash;
mod disk_full;
mod export;
mod hss;
mod hygiene;
mod migrate;
mod replicas;
#[cfg(feature = "scanner")]
mod sas;
#[cfg(feature = "scanner")]
mod scan_cli;
mod sdk_clients;
