//! The integration tests of berth-vulndb, in one binary (one link instead of one per file): each
//! module is a former test file. The fixtures stay in tests/fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod differential;
mod import;
mod matching;
mod versions;
