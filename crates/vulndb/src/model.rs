//! The stored model: advisories, and per (namespace, package) the affected entries that point
//! at them. This is what the on-disk file holds (postcard-encoded), so every type here is plain
//! data: no untagged enums, no skipped fields.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::types::{Cvss, Severity, SeveritySource};
use crate::version::Scheme;

/// One vulnerability as one feed describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Severity,
    pub severity_source: SeveritySource,
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

impl Affected {
    /// The explicitly listed versions.
    pub fn listed_versions(&self) -> impl Iterator<Item = &str> {
        self.versions.split_terminator('\n')
    }
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
    /// The advisories (indices into the store's advisory table) that share exactly these
    /// ranges: one Debian DSA fixes many CVEs with one version, so they share one entry.
    pub advisories: Vec<u32>,
    pub scheme: Scheme,
    /// Each range is a list of events; a version is affected if any range contains it.
    pub ranges: Vec<Vec<Event>>,
    /// Explicitly listed affected versions (normalised where the scheme has a normal form),
    /// each followed by `\n`: one string rather than thousands keeps the database quick to
    /// open.
    pub versions: String,
    /// The fixed versions to report.
    pub fixed: Vec<String>,
    /// A per-package severity that overrides the advisory's (Debian's per-package urgency).
    pub severity: Option<Severity>,
    /// Where `severity` came from.
    pub severity_source: SeveritySource,
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
///
/// Advisories are stored individually encoded (postcard) in one byte table and decoded only
/// when they match: opening the database decodes the index alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    /// namespace -> package name -> entries.
    pub index: HashMap<String, HashMap<String, Vec<Affected>>>,
    /// End offset of advisory `i` in `advisory_bytes` (its start is the previous end).
    pub advisory_ends: Vec<u32>,
    /// Encoded as one byte string (a memcpy to decode, not one visit per byte).
    #[serde(with = "serde_bytes")]
    pub advisory_bytes: Vec<u8>,
    /// Known-malware SHA-256 digests (lower-case hex) and descriptions, sorted by digest.
    pub malware: Vec<(String, String)>,
}

impl Store {
    /// Encodes the advisory table.
    pub fn with_advisories(
        index: HashMap<String, HashMap<String, Vec<Affected>>>,
        advisories: &[Advisory],
    ) -> Result<Store, postcard::Error> {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(advisories.len());
        for a in advisories {
            bytes.extend_from_slice(&postcard::to_allocvec(a)?);
            ends.push(bytes.len() as u32);
        }
        Ok(Store {
            index,
            advisory_ends: ends,
            advisory_bytes: bytes,
            malware: Vec::new(),
        })
    }

    pub fn advisory_count(&self) -> usize {
        self.advisory_ends.len()
    }

    /// Decodes advisory `i`.
    pub fn advisory(&self, i: u32) -> Option<Advisory> {
        let i = i as usize;
        let end = *self.advisory_ends.get(i)? as usize;
        let start = if i == 0 {
            0
        } else {
            *self.advisory_ends.get(i - 1)? as usize
        };
        postcard::from_bytes(self.advisory_bytes.get(start..end)?).ok()
    }
}
