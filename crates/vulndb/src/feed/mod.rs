//! Feed ingestion: reads sources (files, directories, http(s) URLs), recognises each feed by
//! its content, parses it into a [`Builder`], and writes the database atomically.
//!
//! Error policy: a malformed advisory is a [`Problem`] (file + reason), skipped and counted;
//! a source that cannot be read, fetched, unzipped or recognised fails the whole import with
//! an [`Error`] before anything is written, so the previous database stays in place.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::db::{Database, SCHEMA};
use crate::error::Error;
use crate::model::{Advisory, Affected, Metadata, SourceInfo, Store};
use crate::types::{Severity, SeveritySource};

pub mod alpine;
pub mod debian;
pub mod malware;
pub mod osv;

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

    /// Parses one blob of feed data, recognised by its content.
    pub fn parse_blob(
        &mut self,
        location: &str,
        bytes: &[u8],
        explicit: bool,
    ) -> Result<Option<&'static str>, FeedError> {
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            self.parse_zip(location, bytes)?;
            return Ok(Some("osv"));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) if explicit => return Err(FeedError("not UTF-8 text and not a zip".into())),
            Err(_) => return Ok(None),
        };
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') && !trimmed.starts_with("[ ") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                if alpine::sniff_json(&v) {
                    alpine::parse_json(self, location, &v)?;
                    return Ok(Some("alpine-secdb"));
                }
                match &v {
                    serde_json::Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            osv::parse_record(self, &format!("{location}[{i}]"), item);
                        }
                    }
                    _ => osv::parse_record(self, location, &v),
                }
                return Ok(Some("osv"));
            }
            if trimmed.starts_with('{') {
                if explicit {
                    return Err(FeedError("invalid JSON".into()));
                }
                // A broken advisory file inside a directory: a malformed advisory.
                let reason = serde_json::from_str::<serde_json::Value>(text)
                    .err()
                    .map(|e| format!("invalid JSON: {e}"))
                    .unwrap_or_default();
                self.skip(location.to_owned(), reason);
                return Ok(Some("osv"));
            }
        }
        if let Some(kind) = debian::sniff_advisory_list(text) {
            debian::parse_advisory_list(self, location, text);
            return Ok(Some(kind));
        }
        if malware::sniff(text) {
            malware::parse(self, location, text);
            return Ok(Some("malware-sha256"));
        }
        if debian::sniff_cve_list(text) {
            debian::parse_cve_list(self, location, text);
            return Ok(Some("debian-cve"));
        }
        if alpine::sniff_yaml(text) {
            alpine::parse_yaml(self, location, text)?;
            return Ok(Some("alpine-secdb"));
        }
        if explicit {
            return Err(FeedError(
                "not a recognised feed (OSV JSON or zip, Debian tracker list, Alpine secdb, berth malware hashes)".into(),
            ));
        }
        Ok(None)
    }

    fn parse_zip(&mut self, location: &str, bytes: &[u8]) -> Result<(), FeedError> {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| FeedError(format!("zip: {e}")))?;
        for i in 0..z.len() {
            let mut f = z
                .by_index(i)
                .map_err(|e| FeedError(format!("zip entry {i}: {e}")))?;
            let name = f
                .name()
                .map_err(|e| FeedError(format!("zip entry {i}: {e}")))?
                .into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)
                .map_err(|e| FeedError(format!("zip entry {name}: {e}")))?;
            drop(f);
            let loc = format!("{location}!{name}");
            match serde_json::from_slice::<serde_json::Value>(&buf) {
                Ok(v) => osv::parse_record(self, &loc, &v),
                Err(e) => self.skip(loc, format!("invalid JSON: {e}")),
            }
        }
        Ok(())
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

/// One unit of input: its location and bytes.
struct Blob {
    location: String,
    bytes: Vec<u8>,
    explicit: bool,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

async fn fetch(url: &str) -> Result<Vec<u8>, Error> {
    let fail = |reason: String| Error::Fetch {
        url: url.to_owned(),
        reason,
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(30 * 60))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    let expected = resp.content_length();
    let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
    if let Some(n) = expected
        && n != body.len() as u64
    {
        return Err(fail(format!("truncated: {} of {n} bytes", body.len())));
    }
    Ok(body.to_vec())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

async fn read_source(src: &str) -> Result<Vec<Blob>, Error> {
    if is_url(src) {
        return Ok(vec![Blob {
            location: src.to_owned(),
            bytes: fetch(src).await?,
            explicit: true,
        }]);
    }
    let path = Path::new(src);
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files)?;
        files
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
                Ok(Blob {
                    location: f.display().to_string(),
                    bytes,
                    explicit: false,
                })
            })
            .collect()
    } else {
        Ok(vec![Blob {
            location: src.to_owned(),
            bytes: std::fs::read(path).map_err(|e| Error::io(path, e))?,
            explicit: true,
        }])
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads and parses every source into a builder (nothing written). Fails on the first source
/// that cannot be read, fetched or recognised.
pub async fn build(sources: &[String]) -> Result<(Metadata, Store, ImportReport), Error> {
    if sources.is_empty() {
        return Err(Error::Feed {
            source_name: String::new(),
            reason: "no sources given".into(),
        });
    }
    // Fetch and read everything first (async), then parse off the async runtime: a server
    // that updates its database must not stall its request handlers for seconds.
    let mut fetched = Vec::with_capacity(sources.len());
    for src in sources {
        fetched.push((src.clone(), read_source(src).await?));
    }
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::spawn_blocking(move || parse_all(fetched))
            .await
            .map_err(|e| Error::Feed {
                source_name: String::new(),
                reason: format!("parser task failed: {e}"),
            })?,
        Err(_) => parse_all(fetched),
    }
}

fn parse_all(fetched: Vec<(String, Vec<Blob>)>) -> Result<(Metadata, Store, ImportReport), Error> {
    let mut b = Builder::new();
    let mut infos = Vec::new();
    for (src, blobs) in fetched {
        let mut hasher = Sha256::new();
        let before_adv = b.report.advisories_read;
        let before_skip = b.report.skipped;
        let mut kinds: Vec<String> = Vec::new();
        for blob in blobs {
            hasher.update(&blob.bytes);
            match b.parse_blob(&blob.location, &blob.bytes, blob.explicit) {
                Ok(Some(kind)) => {
                    if !kinds.iter().any(|k| k == kind) {
                        kinds.push(kind.to_owned());
                    }
                }
                Ok(None) => b.report.ignored_files.push(blob.location),
                Err(FeedError(reason)) => {
                    return Err(Error::Feed {
                        source_name: blob.location,
                        reason,
                    });
                }
            }
        }
        if kinds.is_empty() {
            return Err(Error::Feed {
                source_name: src,
                reason: "no feed found there".into(),
            });
        }
        infos.push(SourceInfo {
            location: src,
            kinds,
            sha256: hex::encode(hasher.finalize()),
            advisories: b.report.advisories_read - before_adv,
            skipped: b.report.skipped - before_skip,
        });
    }
    b.finish(infos, now_unix())
}

/// Builds a database from `sources` (files, directories or http(s) URLs) and swaps it into
/// `dir` atomically. On any error nothing in `dir` changes.
pub async fn import(dir: &Path, sources: &[String]) -> Result<ImportReport, Error> {
    let (meta, store, mut report) = build(sources).await?;
    let dir = dir.to_owned();
    report.database = tokio::task::spawn_blocking(move || Database::write(&dir, &meta, &store))
        .await
        .map_err(|e| Error::Encode(format!("writer task failed: {e}")))??;
    Ok(report)
}
