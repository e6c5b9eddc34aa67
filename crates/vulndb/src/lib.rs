//! berth's vulnerability database: advisory feeds (OSV, Debian security tracker, Alpine secdb),
//! each ecosystem's own version ordering, an on-disk database swapped atomically, and the
//! matcher the scanner calls.
//!
//! ```no_run
//! use berth_vulndb::{Database, PackageQuery, Target};
//! let db = Database::open(&Database::default_dir())?;
//! let q = PackageQuery {
//!     target: Target::Os { distro: "debian", release: "11" },
//!     name: "libssl1.1",
//!     source_name: Some("openssl"),
//!     version: "1.1.1n-0+deb11u3",
//! };
//! for m in db.matches(&q)? {
//!     println!("{} {} fixed in {:?}", m.id, m.severity.as_clair(), m.fixed_versions);
//! }
//! # Ok::<(), berth_vulndb::Error>(())
//! ```
//! See ARCHITECTURE.md in this crate for the invariants.

mod db;
mod error;
pub mod feed;
pub mod matcher;
pub mod model;
pub mod sources;
mod types;
pub mod version;
pub mod yaml;

pub use db::{Database, FILE_NAME, SCHEMA};
pub use error::{Error, VersionError};
pub use feed::{ImportReport, Problem, import};
pub use model::{Metadata, SourceInfo};
pub use sources::{DEFAULT_SOURCES, configured_sources, update};
pub use types::{Cvss, Ecosystem, Match, PackageQuery, Severity, SeveritySource, Target};
pub use version::Scheme;

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn database_is_send_and_sync() {
        assert_send_sync::<super::Database>();
    }
}
