//! The on-disk database: one file, `vulndb.bin`, in the database directory.
//!
//! Layout: `BERTHVDB` magic, schema (u32 LE), metadata length (u64 LE), postcard metadata,
//! body length (u64 LE), postcard body. The file is written next to its final name, fsynced,
//! renamed over the old one and the directory fsynced: a reader sees the old database or the
//! new one, never a mix, and a failed build leaves the old one in place.
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::Error;
use crate::matcher;
use crate::model::{Advisory, Affected, Metadata, Store};
use crate::types::{Match, PackageQuery, SeveritySource};
use crate::version::Scheme;

pub const SCHEMA: u32 = 2;
pub const FILE_NAME: &str = "vulndb.bin";
const MAGIC: &[u8; 8] = b"BERTHVDB";

/// An opened vulnerability database. Immutable: an update writes a new file, which a
/// running process picks up by opening it again.
#[derive(Debug)]
pub struct Database {
    meta: Metadata,
    store: Store,
    /// Advisories decoded on first match, then cloned (cheaper than decoding again).
    decoded: Vec<OnceLock<Option<Advisory>>>,
}

impl Clone for Database {
    fn clone(&self) -> Self {
        Database::from_parts(self.meta.clone(), self.store.clone())
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn take<'a>(path: &Path, buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], Error> {
    if buf.len() < n {
        return Err(corrupt(path, "truncated file"));
    }
    let (a, b) = buf.split_at(n);
    *buf = b;
    Ok(a)
}

fn read_u64(path: &Path, buf: &mut &[u8]) -> Result<usize, Error> {
    let b = take(path, buf, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    usize::try_from(u64::from_le_bytes(a)).map_err(|_| corrupt(path, "length overflow"))
}

/// Reads the header; returns the metadata and the rest of the buffer (the body section).
fn read_header<'a>(path: &Path, mut buf: &'a [u8]) -> Result<(Metadata, &'a [u8]), Error> {
    if take(path, &mut buf, 8)? != MAGIC {
        return Err(corrupt(path, "not a berth vulnerability database"));
    }
    let s = take(path, &mut buf, 4)?;
    let schema = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    if schema != SCHEMA {
        return Err(Error::Schema {
            path: path.to_owned(),
            found: schema,
            expected: SCHEMA,
        });
    }
    let n = read_u64(path, &mut buf)?;
    let meta: Metadata = postcard::from_bytes(take(path, &mut buf, n)?)
        .map_err(|e| corrupt(path, format!("metadata: {e}")))?;
    Ok((meta, buf))
}

impl Database {
    /// `$BERTH_DB_DIR`, else `$XDG_CACHE_HOME/berth/db`, else `~/.cache/berth/db`.
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("BERTH_DB_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(d).join("berth").join("db");
        }
        match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            Some(h) => PathBuf::from(h).join(".cache").join("berth").join("db"),
            None => PathBuf::from(".berth-db"),
        }
    }

    /// The database file inside `dir`.
    pub fn file_path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Opens the database in `dir`.
    pub fn open(dir: &Path) -> Result<Database, Error> {
        let path = Self::file_path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(dir.to_owned()));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let (meta, mut rest) = read_header(&path, &bytes)?;
        let n = read_u64(&path, &mut rest)?;
        let body = take(&path, &mut rest, n)?;
        if !rest.is_empty() {
            return Err(corrupt(&path, "trailing bytes"));
        }
        let store: Store =
            postcard::from_bytes(body).map_err(|e| corrupt(&path, format!("body: {e}")))?;
        Ok(Database::from_parts(meta, store))
    }

    /// Reads only the metadata of the database in `dir` (cheap: for `berth db status`).
    pub fn read_metadata(dir: &Path) -> Result<Metadata, Error> {
        let path = Self::file_path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(dir.to_owned()));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(read_header(&path, &bytes)?.0)
    }

    /// The database's metadata: schema, build time, sources and counts.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Known-malware SHA-256 digests (lower-case hex) with descriptions, from the malware hash
    /// feeds imported with the advisories: the scanner adds them to its blocklist.
    pub fn malware_hashes(&self) -> &[(String, String)] {
        &self.store.malware
    }

    /// Builds a database value from a store (used by the importer and tests).
    pub fn from_parts(meta: Metadata, store: Store) -> Database {
        let decoded = (0..store.advisory_count())
            .map(|_| OnceLock::new())
            .collect();
        Database {
            meta,
            store,
            decoded,
        }
    }

    /// Calls `f` with every affected entry covering the queried package's version.
    fn for_each_affected<'s>(
        &'s self,
        q: &PackageQuery<'_>,
        mut f: impl FnMut(&'s Affected),
    ) -> Result<(), Error> {
        let r = matcher::resolve(&q.target, q.name, q.source_name);
        let Some(ns) = self.store.index.get(&r.namespace) else {
            return Ok(());
        };
        let installed = match r.scheme.parse(q.version) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(package = q.name, error = %e, "unparseable installed version");
                return Ok(());
            }
        };
        for name in &r.names {
            let Some(entries) = ns.get(name.as_str()) else {
                continue;
            };
            for entry in entries {
                if matcher::affects(entry, q.version, &installed) {
                    f(entry);
                }
            }
        }
        Ok(())
    }

    /// Every advisory affecting the queried package. An unparseable installed version is
    /// reported (logged) and matches nothing.
    pub fn matches(&self, q: &PackageQuery<'_>) -> Result<Vec<Match>, Error> {
        let mut out: Vec<Match> = Vec::new();
        // (advisory, index in out): usually a handful, so a vector beats a hash map.
        let mut seen: Vec<(u32, usize)> = Vec::new();
        self.for_each_affected(q, |entry| self.push_match(&mut out, &mut seen, entry, q))?;
        let mut out = merge_aliases(out);
        if !out.is_empty() {
            let scheme = matcher::resolve(&q.target, q.name, q.source_name).scheme;
            for m in &mut out {
                order_fixes(m, scheme);
            }
        }
        Ok(out)
    }

    /// The number of distinct advisories affecting the package, without building matches.
    pub fn count_matches(&self, q: &PackageQuery<'_>) -> Result<usize, Error> {
        let mut ids: Vec<u32> = Vec::new();
        self.for_each_affected(q, |entry| ids.extend_from_slice(&entry.advisories))?;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids.len())
    }

    fn push_match(
        &self,
        out: &mut Vec<Match>,
        seen: &mut Vec<(u32, usize)>,
        entry: &Affected,
        q: &PackageQuery<'_>,
    ) {
        for &idx in &entry.advisories {
            if let Some(&(_, i)) = seen.iter().find(|(a, _)| *a == idx) {
                let m = &mut out[i];
                for f in &entry.fixed {
                    if !m.fixed_versions.contains(f) {
                        m.fixed_versions.push(f.clone());
                    }
                }
                continue;
            }
            let cached = self
                .decoded
                .get(idx as usize)
                .and_then(|c| c.get_or_init(|| self.store.advisory(idx)).as_ref());
            let Some(adv) = cached.cloned() else {
                tracing::warn!(advisory = idx, "undecodable advisory record");
                continue;
            };
            seen.push((idx, out.len()));
            out.push(Match {
                id: adv.id,
                aliases: adv.aliases,
                package: q.name.to_owned(),
                installed_version: q.version.to_owned(),
                fixed_versions: entry.fixed.clone(),
                fixed_in: None,
                severity: entry.severity.unwrap_or(adv.severity),
                severity_source: if entry.severity.is_some() {
                    entry.severity_source
                } else {
                    adv.severity_source
                },
                cvss: adv.cvss,
                title: adv.title,
                description: adv.description,
                links: adv.links,
                source: adv.source,
            });
        }
    }

    /// Writes a database atomically into `dir` (created if missing): a temporary file in the
    /// same directory, fsync, rename over `vulndb.bin`, fsync of the directory.
    pub fn write(dir: &Path, meta: &Metadata, store: &Store) -> Result<PathBuf, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let meta_bytes = postcard::to_allocvec(meta).map_err(|e| Error::Encode(e.to_string()))?;
        let body = postcard::to_allocvec(store).map_err(|e| Error::Encode(e.to_string()))?;
        let fin = Self::file_path(dir);
        let tmp = dir.join(format!(".{FILE_NAME}.tmp-{}", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(MAGIC)?;
            f.write_all(&SCHEMA.to_le_bytes())?;
            f.write_all(&(meta_bytes.len() as u64).to_le_bytes())?;
            f.write_all(&meta_bytes)?;
            f.write_all(&(body.len() as u64).to_le_bytes())?;
            f.write_all(&body)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &fin)?;
            std::fs::File::open(dir)?.sync_all()?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&fin, e));
        }
        Ok(fin)
    }

    /// The underlying store (advisories and index), for tools and tests.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Sorts the fixed versions in the package's ordering (lowest first; a version the ordering
/// cannot read goes last, as written) and picks the fix for the installed version's branch: the
/// lowest fixed version above it. Fixes of other branches are listed, not recommended: an
/// installed 1.26.12 with fixes 2.0.6 and 1.26.17 gets 1.26.17.
fn order_fixes(m: &mut Match, scheme: Scheme) {
    if m.fixed_versions.is_empty() {
        return;
    }
    let mut keyed: Vec<(bool, String)> = m
        .fixed_versions
        .drain(..)
        .map(|v| (scheme.parse(&v).is_ok(), v))
        .collect();
    keyed.sort_by(|(pa, a), (pb, b)| match (pa, pb) {
        (true, true) => scheme.compare(a, b).unwrap_or(std::cmp::Ordering::Equal),
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.cmp(b),
    });
    m.fixed_versions = keyed.into_iter().map(|(_, v)| v).collect();
    m.fixed_in = m
        .fixed_versions
        .iter()
        .find(|f| {
            scheme
                .compare(f, &m.installed_version)
                .is_ok_and(|o| o == std::cmp::Ordering::Greater)
        })
        .cloned();
}

/// The CVE ids a match is known by.
fn cves(m: &Match) -> impl Iterator<Item = &str> {
    std::iter::once(m.id.as_str())
        .chain(m.aliases.iter().map(String::as_str))
        .filter(|i| i.starts_with("CVE-"))
}

/// Whether two matches (of one package) are the same vulnerability: one names the other, or
/// they share a CVE. Bundles (a DSA listing several CVEs) do not make their CVEs one.
fn same_vulnerability(a: &Match, b: &Match) -> bool {
    a.aliases.contains(&b.id)
        || b.aliases.contains(&a.id)
        || cves(a).any(|c| cves(b).any(|d| c == d))
}

/// Whether any two matches might be the same vulnerability (a linear pre-check: merging is
/// rare, and packages like chromium have hundreds of matches).
fn any_shared(matches: &[Match]) -> bool {
    let mut ids: HashSet<&str> = HashSet::with_capacity(matches.len());
    let mut cve_seen: HashSet<&str> = HashSet::with_capacity(matches.len());
    for m in matches {
        ids.insert(m.id.as_str());
        let mut own: Vec<&str> = cves(m).collect();
        own.sort_unstable();
        own.dedup();
        for c in own {
            if !cve_seen.insert(c) {
                return true;
            }
        }
    }
    matches.iter().any(|m| {
        m.aliases
            .iter()
            .any(|a| *a != m.id && ids.contains(a.as_str()))
    })
}

/// Folds matches of the same vulnerability from different advisories (a PYSEC and a GHSA
/// record for one CVE) into the first: ids, aliases, fixes, links and CVSS are united and the
/// most severe known severity kept.
fn merge_aliases(matches: Vec<Match>) -> Vec<Match> {
    if matches.len() < 2 || !any_shared(&matches) {
        return matches;
    }
    let mut out: Vec<Match> = Vec::with_capacity(matches.len());
    for m in matches {
        let Some(k) = out.iter().position(|o| same_vulnerability(o, &m)) else {
            out.push(m);
            continue;
        };
        let o = &mut out[k];
        for a in std::iter::once(m.id).chain(m.aliases) {
            if a != o.id && !o.aliases.contains(&a) {
                o.aliases.push(a);
            }
        }
        for f in m.fixed_versions {
            if !o.fixed_versions.contains(&f) {
                o.fixed_versions.push(f);
            }
        }
        for l in m.links {
            if !o.links.contains(&l) {
                o.links.push(l);
            }
        }
        for c in m.cvss {
            if !o.cvss.contains(&c) {
                o.cvss.push(c);
            }
        }
        // Severity's order puts the most severe first and Unknown last.
        // The most severe rating; at equal ones, a record's own over one borrowed by CVE.
        if m.severity < o.severity
            || (m.severity == o.severity
                && o.severity_source == SeveritySource::SameCve
                && m.severity_source != SeveritySource::SameCve)
        {
            o.severity = m.severity;
            o.severity_source = m.severity_source;
        }
        if o.title.is_none() {
            o.title = m.title;
        }
        if o.description.is_none() {
            o.description = m.description;
        }
    }
    out
}
