//! Errors of the vulnerability database.
//!
//! Policy: the library never panics on bad input. A malformed advisory is not an error of the
//! import (it is counted and reported in [`crate::ImportReport`]); an [`Error`] means the whole
//! operation failed and nothing on disk was changed.
use std::path::PathBuf;

/// A failed database operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no vulnerability database at {0} (run `berth db import` or `berth db update`)")]
    NotFound(PathBuf),
    #[error("the database at {path} is corrupt or of another format: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("the database at {path} has schema {found}, this berth reads schema {expected}")]
    Schema {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("feed {source_name} is not a feed berth can read: {reason}")]
    Feed { source_name: String, reason: String },
    #[error("unknown ecosystem {0:?}")]
    UnknownEcosystem(String),
    #[error("cannot encode the database: {0}")]
    Encode(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// A version string that its ecosystem's rules reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {version:?}: {reason}")]
pub struct VersionError {
    pub scheme: &'static str,
    pub version: String,
    pub reason: String,
}

impl VersionError {
    pub(crate) fn new(scheme: &'static str, version: &str, reason: impl Into<String>) -> Self {
        VersionError {
            scheme,
            version: version.to_owned(),
            reason: reason.into(),
        }
    }
}
