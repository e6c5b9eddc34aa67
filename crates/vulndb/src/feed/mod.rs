//! Feed ingestion (placeholder while the parsers land).
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A malformed advisory or an unusable part of one: where, and why. It was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file (or `zip!entry`, or `url`) and, where known, the advisory id or line.
    pub location: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub database: PathBuf,
    pub advisories: u64,
    pub affected: u64,
    pub skipped: u64,
    pub withdrawn: u64,
    pub git_ranges_ignored: u64,
    pub problems: Vec<Problem>,
}

/// Builds a database from `sources` (files, directories or http(s) URLs) into `dir`.
pub async fn import(dir: &Path, sources: &[String]) -> Result<ImportReport, Error> {
    let _ = (dir, sources);
    Err(Error::Feed {
        source_name: String::new(),
        reason: "not implemented yet".into(),
    })
}
