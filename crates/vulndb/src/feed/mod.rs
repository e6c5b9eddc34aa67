//! Feed ingestion: reads sources (files, directories, http(s) URLs), recognises each feed by
//! its content, parses it into a [`Builder`], and writes the database atomically.
//!
//! Error policy: a malformed advisory is a [`Problem`] (file + reason), skipped and counted;
//! a source that cannot be read, fetched, unzipped or recognised fails the whole import with
//! an [`Error`] before anything is written, so the previous database stays in place.
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::db::Database;
use crate::error::Error;
use crate::model::{Metadata, SourceInfo, Store};

mod builder;

pub mod alpine;
pub mod debian;
pub mod malware;
pub mod osv;

pub use builder::{Builder, FeedError, ImportReport, Problem};

/// Recognising a blob's feed and handing it to that feed's parser (here, not in `builder.rs`:
/// the parsers write into the builder, so the builder must not call them).
impl Builder {
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
