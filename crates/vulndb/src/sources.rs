//! Where `berth db update` gets its feeds: `--sources FILE`, else `$BERTH_DB_SOURCES`
//! (whitespace-separated), else `DIR/sources.txt`, else [`DEFAULT_SOURCES`].
use std::path::Path;

use crate::error::Error;
use crate::feed::ImportReport;

/// The public feeds read when nothing is configured.
pub const DEFAULT_SOURCES: &[&str] = &[
    "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Maven/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/RubyGems/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Packagist/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/NuGet/all.zip",
    "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DSA/list",
    "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DLA/list",
    "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/CVE/list",
    "https://secdb.alpinelinux.org/v3.19/main.json",
    "https://secdb.alpinelinux.org/v3.19/community.json",
    "https://secdb.alpinelinux.org/v3.20/main.json",
    "https://secdb.alpinelinux.org/v3.20/community.json",
    "https://secdb.alpinelinux.org/v3.21/main.json",
    "https://secdb.alpinelinux.org/v3.21/community.json",
    "https://secdb.alpinelinux.org/v3.22/main.json",
    "https://secdb.alpinelinux.org/v3.22/community.json",
];

/// The name of the per-database source list.
pub const SOURCES_FILE: &str = "sources.txt";

/// Parses a source list: one path or URL per line, `#` starts a comment.
pub fn parse_source_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_list(f: &Path) -> Result<Vec<String>, Error> {
    let t = std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?;
    Ok(parse_source_list(&t))
}

/// The configured sources for the database in `dir`.
pub fn configured_sources(dir: &Path, file: Option<&Path>) -> Result<Vec<String>, Error> {
    if let Some(f) = file {
        return read_list(f);
    }
    if let Ok(env) = std::env::var("BERTH_DB_SOURCES")
        && !env.trim().is_empty()
    {
        return Ok(env.split_whitespace().map(str::to_owned).collect());
    }
    let f = dir.join(SOURCES_FILE);
    if f.is_file() {
        return read_list(&f);
    }
    Ok(DEFAULT_SOURCES.iter().map(|s| (*s).to_owned()).collect())
}

/// Rebuilds the database in `dir` from its configured sources (see the module docs).
pub async fn update(dir: &Path, file: Option<&Path>) -> Result<ImportReport, Error> {
    let sources = configured_sources(dir, file)?;
    crate::feed::import(dir, &sources).await
}
