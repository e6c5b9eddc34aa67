//! The builder every feed parser writes into, and what an import reports.
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::db::SCHEMA;
use crate::error::Error;
use crate::model::{Advisory, Affected, Metadata, SourceInfo, Store};
use crate::types::{Severity, SeveritySource};

/// A malformed advisory or an unusable part of one: where, and why. It was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file (`archive.zip!entry` inside a zip, or the URL), and the advisory id or line.
    pub location: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The database file written.
    pub database: PathBuf,
    pub sources: Vec<SourceInfo>,
    /// Advisories (or Alpine package entries) read, skipped ones excluded.
    pub advisories_read: u64,
    /// Distinct advisories stored.
    pub advisories: u64,
    /// (package, version range) entries stored.
    pub affected: u64,
    /// Malformed advisories skipped.
    pub skipped: u64,
    pub withdrawn: u64,
    pub git_ranges_ignored: u64,
    /// OSV ecosystems berth does not match (yet), with their counts.
    pub unsupported_ecosystems: BTreeMap<String, u64>,
    /// Files in a directory source that are not feeds (README, ...), ignored.
    pub ignored_files: Vec<String>,
    /// Every skipped advisory and dropped range, with the reason.
    pub problems: Vec<Problem>,
}

/// A feed that cannot be read as the format it claims to be.
#[derive(Debug)]
pub struct FeedError(pub String);

/// Accumulates advisories and affected entries from any number of feeds.
#[derive(Default)]
pub struct Builder {
    advisories: Vec<Advisory>,
    by_key: HashMap<(String, String), u32>,
    index: HashMap<String, HashMap<String, Vec<Affected>>>,
    /// Malware SHA-256 (hex) -> description, from malware hash feeds.
    malware: BTreeMap<String, String>,
    pub report: ImportReport,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Records a problem that does not skip a whole advisory (e.g. an unusable range).
    pub fn problem(&mut self, location: String, reason: impl Into<String>) {
        self.report.problems.push(Problem {
            location,
            reason: reason.into(),
        });
    }

    /// Adds a known-malware SHA-256 (lower-case hex); the first description is kept.
    pub fn malware_hash(&mut self, hex: String, description: String) {
        self.malware.entry(hex).or_insert(description);
    }

    /// Records a skipped, malformed advisory.
    pub fn skip(&mut self, location: String, reason: impl Into<String>) {
        self.report.skipped += 1;
        self.problem(location, reason);
    }

    /// Adds (or merges into the existing record with the same source and id) an advisory.
    pub fn advisory(&mut self, adv: Advisory) -> u32 {
        let key = (adv.source.clone(), adv.id.clone());
        if let Some(&i) = self.by_key.get(&key) {
            let cur = &mut self.advisories[i as usize];
            for a in adv.aliases {
                if !cur.aliases.contains(&a) {
                    cur.aliases.push(a);
                }
            }
            for l in adv.links {
                if !cur.links.contains(&l) {
                    cur.links.push(l);
                }
            }
            if cur.title.is_none() {
                cur.title = adv.title;
            }
            if cur.description.is_none() {
                cur.description = adv.description;
            }
            if cur.severity == Severity::Unknown {
                cur.severity = adv.severity;
                cur.severity_source = adv.severity_source;
            }
            if cur.cvss.is_empty() {
                cur.cvss = adv.cvss;
            }
            return i;
        }
        let i = self.advisories.len() as u32;
        self.advisories.push(adv);
        self.by_key.insert(key, i);
        i
    }

    /// Adds an affected entry under (namespace, package).
    pub fn add(&mut self, namespace: String, package: String, a: Affected) {
        let list = self
            .index
            .entry(namespace)
            .or_default()
            .entry(package)
            .or_default();
        // Entries with the same ranges share one record (and one evaluation at match time).
        if let Some(same) = list.iter_mut().find(|e| {
            e.scheme == a.scheme
                && e.ranges == a.ranges
                && e.versions == a.versions
                && e.fixed == a.fixed
                && e.severity == a.severity
        }) {
            for i in a.advisories {
                if !same.advisories.contains(&i) {
                    same.advisories.push(i);
                }
            }
        } else {
            list.push(a);
        }
    }

    /// Finishes the build: the metadata and the store.
    /// Gives each advisory without a severity of its own the rating of another record of the
    /// same CVE (by id or alias, any feed): the Debian lists and Alpine secdb rate nothing, and
    /// most Go and PyPI records neither, where a GHSA or PyPI record of the CVE may carry a
    /// rating or a CVSS vector. The most severe such rating is taken, and its CVSS vectors are
    /// copied, so the output shows what it rests on; `SeveritySource::SameCve` says so. A
    /// per-package rating (Debian urgency) still overrides it when matching.
    fn rate_from_same_cve(&mut self) {
        let cves = |a: &Advisory| -> Vec<String> {
            std::iter::once(&a.id)
                .chain(&a.aliases)
                .filter(|i| i.starts_with("CVE-"))
                .cloned()
                .collect()
        };
        let mut rated: HashMap<String, usize> = HashMap::new();
        for (i, a) in self.advisories.iter().enumerate() {
            if a.severity == Severity::Unknown {
                continue;
            }
            for c in cves(a) {
                let e = rated.entry(c).or_insert(i);
                // Severity orders the most severe first.
                if a.severity < self.advisories[*e].severity {
                    *e = i;
                }
            }
        }
        if rated.is_empty() {
            return;
        }
        let mut updates: Vec<(usize, usize)> = Vec::new();
        for (i, a) in self.advisories.iter().enumerate() {
            if a.severity != Severity::Unknown {
                continue;
            }
            let best = cves(a)
                .iter()
                .filter_map(|c| rated.get(c).copied())
                .min_by_key(|&j| self.advisories[j].severity);
            if let Some(j) = best {
                updates.push((i, j));
            }
        }
        for (i, j) in updates {
            let (severity, cvss) = {
                let from = &self.advisories[j];
                (from.severity, from.cvss.clone())
            };
            let a = &mut self.advisories[i];
            a.severity = severity;
            a.severity_source = SeveritySource::SameCve;
            if a.cvss.is_empty() {
                a.cvss = cvss;
            }
        }
    }

    pub fn finish(
        mut self,
        sources: Vec<SourceInfo>,
        built_at: u64,
    ) -> Result<(Metadata, Store, ImportReport), Error> {
        self.rate_from_same_cve();
        let affected: u64 = self
            .index
            .values()
            .flat_map(|m| m.values())
            .map(|v| v.len() as u64)
            .sum();
        let mut namespaces: Vec<(String, u64)> = self
            .index
            .iter()
            .map(|(k, m)| (k.clone(), m.values().map(|v| v.len() as u64).sum()))
            .collect();
        namespaces.sort();
        let meta = Metadata {
            schema: SCHEMA,
            built_at,
            berth_version: env!("CARGO_PKG_VERSION").to_owned(),
            sources: sources.clone(),
            advisories: self.advisories.len() as u64,
            affected,
            namespaces,
        };
        self.report.sources = sources;
        self.report.advisories = meta.advisories;
        self.report.affected = affected;
        let mut store = Store::with_advisories(self.index, &self.advisories)
            .map_err(|e| Error::Encode(e.to_string()))?;
        store.malware = self.malware.into_iter().collect();
        Ok((meta, store, self.report))
    }
}
