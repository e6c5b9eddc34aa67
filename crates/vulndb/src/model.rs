//! The stored model: advisories, and per (namespace, package) the affected entries that point
//! at them. This is what the on-disk file holds (postcard-encoded), so every type here is plain
//! data: no untagged enums, no skipped fields.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::types::{Cvss, Severity};
use crate::version::Scheme;

/// One vulnerability as one feed describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Severity,
    pub cvss: Vec<Cvss>,
    pub links: Vec<String>,
    /// The feed: "osv:PyPI", "debian-tracker", "alpine-secdb".
    pub source: String,
}

/// A range event, in the ecosystem's version ordering (OSV semantics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// "This package, in these versions, is affected by that advisory."
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// Index into [`Store::advisories`].
    pub advisory: u32,
    pub scheme: Scheme,
    /// Each range is a list of events; a version is affected if any range contains it.
    pub ranges: Vec<Vec<Event>>,
    /// Explicitly listed affected versions (normalised where the scheme has a normal form).
    pub versions: Vec<String>,
    /// The fixed versions to report.
    pub fixed: Vec<String>,
    /// A per-package severity that overrides the advisory's (Debian's per-package urgency).
    pub severity: Option<Severity>,
}

/// Where the advisories came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The path or URL given to the import.
    pub location: String,
    /// The feed formats found there ("osv", "debian-dsa", "debian-dla", "debian-cve",
    /// "alpine-secdb").
    pub kinds: Vec<String>,
    /// sha256 over the bytes read, in order.
    pub sha256: String,
    pub advisories: u64,
    pub skipped: u64,
}

/// The header of the database file: read alone by `berth db status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub schema: u32,
    /// Unix seconds.
    pub built_at: u64,
    pub berth_version: String,
    pub sources: Vec<SourceInfo>,
    pub advisories: u64,
    pub affected: u64,
    /// Number of affected entries per namespace ("osv:PyPI", "debian:11", "alpine:3.11").
    pub namespaces: Vec<(String, u64)>,
}

/// The body of the database file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    pub advisories: Vec<Advisory>,
    /// namespace -> package name -> entries.
    pub index: HashMap<String, HashMap<String, Vec<Affected>>>,
}
