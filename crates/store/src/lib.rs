//! Storage for berth: a content-addressed blob store and a metadata store, each behind a trait so
//! that backends (local disk + SQLite by default; S3 + PostgreSQL for scale) are interchangeable.
//! Every backend must pass the one conformance suite in [`conformance`].
mod blob;
#[cfg(feature = "conformance")]
pub mod conformance;
mod endpoints;
mod fs;
mod meta;
mod scans;
mod sqlite;
mod tenancy;
mod time;
mod webhooks;

pub use blob::{BlobStore, BlobStream, CommitOutcome};
pub use endpoints::*;
pub use fs::FsBlobStore;
pub use meta::*;
pub use scans::*;
pub use sqlite::SqliteMetadataStore;
pub use tenancy::*;
pub use time::now_millis;
pub use webhooks::*;

/// Storage failures. Not-found and validation outcomes are values, not errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// An upload would exceed its size limit.
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("upload {0} does not exist")]
    UploadUnknown(String),
    #[error("upload offset {expected} expected, got {got}")]
    UploadOffset { expected: u64, got: u64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
