//! Moving a single-machine berth up: its SQLite metadata into PostgreSQL, its blobs into another
//! blob store (S3), for `berth migrate`.
//!
//! Invariants: every blob is copied through the target's upload layer, so it is verified against
//! its digest before it becomes visible; blobs go first and the metadata last, in one PostgreSQL
//! transaction, so an interrupted run leaves the target with no metadata that names a missing
//! blob, and running again skips the blobs already there (resumable) and copies the metadata
//! whole or not at all.
//!
//! Boundary: the tables are copied by name, column by column, from SQLite's schema into the
//! schema PostgreSQL's own migrations made; each value is bound as text (or bytes) and cast to
//! the target column's type, so the two schemas may differ in types (INTEGER flags into
//! BOOLEAN, TEXT into JSONB) but not in names. A SQLite column that PostgreSQL lacks stops the
//! copy before anything is written.
mod blobs;
mod error;
mod tables;

pub use blobs::{BlobCopyReport, copy_blobs};
pub use error::MigrateError;
pub use tables::{TableCopy, copy_metadata};
