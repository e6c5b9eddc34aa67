//! The integration tests of berth-api, in one binary (one link instead of one per file): each
//! module is a former test file. nextest runs every test in a process of its own, so tests that
//! read process-wide state (auth_memory's resident size) are not disturbed by the others.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod auth_hardening;
mod auth_memory;
mod console;
mod endpoints;
mod export;
mod gc_race;
mod hss;
mod hygiene;
mod management;
mod registry;
mod runtime_credentials;
#[cfg(feature = "scanner")]
mod scans;
mod tag_immutability;
mod webhooks;
mod wire;
