//! The integration tests of berth-scan, in one binary (one link instead of one per file): each
//! module is a former test file. nextest runs every test in a process of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod catalogers;
mod checks;
mod layers;
mod memory;
mod output;
mod registry;
