//! Storage for berth: a content-addressed blob store and a metadata store, each behind a trait so
//! that backends (local disk + SQLite by default; S3 + PostgreSQL for scale) are interchangeable.
//! Every backend must pass the one conformance suite in [`conformance`].
//!
//! Invariant: a metadata write that returned is committed, and the invariants SQLite keeps by its
//! single writer hold on PostgreSQL for writers in any number of processes (serializable
//! transactions, retried). Boundary: the traits, [`SqliteMetadataStore`], [`PgMetadataStore`],
//! [`FsBlobStore`], and the notices/leadership types; how a backend is chosen is the caller's.
mod api_tokens;
mod blob;
mod blobwriter;
#[cfg(feature = "conformance")]
pub mod conformance;
mod console_sessions;
pub mod driver;
mod endpoints;
mod error;
mod exceptions;
mod foreign_scans;
mod fs;
mod job_notices;
mod jobs;
#[cfg(test)]
mod memdriver;
mod meta;
pub mod migrate;
mod notices;
mod postgres;
mod protection;
mod runtime;
mod s3;
mod scans;
mod sqlite;
mod tenancy;
mod tenants;
mod time;
mod webhooks;

pub use api_tokens::*;
pub use blob::{BlobStore, BlobStream, CommitOutcome};
pub use blobwriter::LayeredBlobStore;
pub use console_sessions::*;
pub use driver::ByteDriver;
pub use endpoints::*;
pub use error::{Result, StoreError};
pub use exceptions::*;
pub use foreign_scans::*;
pub use fs::{FsBlobStore, FsDriver};
pub use jobs::*;
pub use meta::*;
pub use notices::{JOBS_TOPIC, LeaderGuard, MAX_NOTICE_BYTES, Notice, RESYNC_TOPIC};
pub use postgres::PgMetadataStore;
pub use protection::*;
pub use runtime::*;
pub use s3::{S3BlobStore, S3Driver, S3Options};
pub use scans::*;
pub use sqlite::SqliteMetadataStore;
pub use tenancy::*;
pub use tenants::{Instance, InstanceStatus, Namespace, Repository};
pub use time::now_millis;
pub use webhooks::*;
