//! Streaming layer reader: one pass over a (gzip | zstd | plain) tar blob, never unpacked to
//! disk. Compression is detected from the magic bytes (the media type may lie or be absent), the
//! compressed stream is hashed on the way in and checked against the layer digest, and every
//! entry is checked against the limits before anything else looks at it.
use std::cell::Cell;
use std::io::{self, Cursor, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use berth_oci::{Digest, Hasher};

use crate::analyze::Analyzer;
use crate::budget::MemoryBudget;
use crate::error::LayerProblem;
use crate::fs::{Change, EntryKind, FileEntry, UnsafeEntry};
use crate::options::Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

/// Detects the compression of a blob from its first bytes.
pub fn detect_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Whether a layer media type is one berth can read (any tar, compressed or not). An empty
/// media type (docker-archive) is accepted and sniffed.
pub fn is_layer_media_type(mt: &str) -> bool {
    mt.is_empty()
        || mt.starts_with("application/vnd.oci.image.layer.")
        || mt.starts_with("application/vnd.docker.image.rootfs.")
        || mt == "application/x-tar"
        || mt == "application/tar"
}

/// Counters shared by every layer of one scan, and its memory budget.
#[derive(Debug)]
pub struct Totals {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    /// File content held in memory (`Limits::max_buffered_bytes`).
    pub budget: MemoryBudget,
}

impl Totals {
    pub fn new(limits: &Limits) -> Self {
        Totals {
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            budget: MemoryBudget::new(limits.max_buffered_bytes),
        }
    }
}

/// Unsafe entries listed one by one per layer; beyond this they are only counted (a layer of a
/// million `../x` entries must not make a million findings).
pub const MAX_LISTED_UNSAFE_ENTRIES: usize = 100;

/// The outcome of reading one layer.
#[derive(Debug, Default)]
pub struct LayerOutput {
    pub changes: Vec<Change>,
    pub entries: u64,
    pub decompressed: u64,
    pub compressed: u64,
    /// The digest of the compressed stream as read.
    pub digest: Option<Digest>,
    /// Entries skipped because they lead out of the root (the first
    /// `MAX_LISTED_UNSAFE_ENTRIES`), and how many there were in all.
    pub unsafe_entries: Vec<UnsafeEntry>,
    pub unsafe_entry_count: u64,
    /// Entries named with an absolute path (read relative to the root), and the first one.
    pub absolute_paths: u64,
    pub first_absolute_path: Option<String>,
}

impl LayerOutput {
    fn note_unsafe(&mut self, path: &[u8], link_target: Option<&[u8]>) {
        self.unsafe_entry_count += 1;
        if self.unsafe_entries.len() < MAX_LISTED_UNSAFE_ENTRIES {
            self.unsafe_entries.push(UnsafeEntry {
                path: shown(path),
                link_target: link_target.map(shown),
            });
        }
    }
}

/// A tar name for a report: lossy UTF-8, at most 512 characters.
fn shown(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).chars().take(512).collect()
}

struct CountingReader<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy)]
enum Trip {
    Layer(u64),
    Total(u64),
    Ratio(u64, u64),
}

/// Counts decompressed bytes and stops a decompression bomb.
struct LimitReader<'a, R> {
    inner: R,
    read: u64,
    limits: &'a Limits,
    compressed: Rc<Cell<u64>>,
    totals: &'a Totals,
    tripped: Rc<Cell<Option<Trip>>>,
}

impl<R: Read> Read for LimitReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tripped.get().is_some() {
            return Err(io::Error::other("limit exceeded"));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let total = self.totals.bytes.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        let trip = if self.read > self.limits.max_layer_size {
            Some(Trip::Layer(self.limits.max_layer_size))
        } else if total > self.limits.max_total_size {
            Some(Trip::Total(self.limits.max_total_size))
        } else if self.read > self.limits.bomb_min_size
            && self.read / self.compressed.get().max(1) > self.limits.max_ratio
        {
            Some(Trip::Ratio(self.limits.max_ratio, self.read))
        } else {
            None
        };
        if let Some(t) = trip {
            self.tripped.set(Some(t));
            return Err(io::Error::other("limit exceeded"));
        }
        Ok(n)
    }
}

fn trip_problem(t: Trip) -> LayerProblem {
    match t {
        Trip::Layer(limit) | Trip::Total(limit) => LayerProblem::TooLarge { limit },
        Trip::Ratio(ratio, decompressed) => LayerProblem::Bomb {
            ratio,
            decompressed,
        },
    }
}

/// Where a tar entry name puts the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryPath {
    /// The root directory itself (`./`, or `a/..`).
    Root,
    /// A path inside the root, normalised to `/a/b`. `absolute` when the name began with `/`.
    Inside { path: String, absolute: bool },
    /// The name leads out of the root with `..` (`../etc/passwd`, `a/../../x`).
    Escapes,
}

/// Normalises a tar entry name as container runtimes resolve it: a leading `/` is dropped
/// (containerd and Docker extract `/etc/passwd` to `<root>/etc/passwd`), `.` and empty
/// components are dropped, and `..` removes the component before it (`a/../b` is `/b`). A `..`
/// with nothing left to remove leads out of the root: [`EntryPath::Escapes`], which the caller
/// skips and reports (Docker refuses such a layer, containerd clamps the entry to the root;
/// either way nothing it says about the image is trustworthy). Only the limits are errors.
pub fn normalize_path(raw: &[u8], limits: &Limits) -> Result<EntryPath, LayerProblem> {
    if raw.len() > limits.max_path_len {
        return Err(LayerProblem::PathTooLong {
            len: raw.len(),
            limit: limits.max_path_len,
        });
    }
    let s = String::from_utf8_lossy(raw);
    let absolute = s.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Ok(EntryPath::Escapes);
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Ok(EntryPath::Root);
    }
    if parts.len() > limits.max_path_depth {
        return Err(LayerProblem::PathTooDeep {
            path: s.chars().take(200).collect(),
            depth: parts.len(),
            limit: limits.max_path_depth,
        });
    }
    Ok(EntryPath::Inside {
        path: format!("/{}", parts.join("/")),
        absolute,
    })
}

fn read_layer_inner(
    blob: impl Read,
    index: Option<usize>,
    limits: &Limits,
    totals: &Totals,
    analyzer: &Analyzer,
) -> Result<LayerOutput, LayerProblem> {
    let compressed = Rc::new(Cell::new(0u64));
    let mut hashing = CountingReader {
        inner: blob,
        count: compressed.clone(),
    };
    // Peek at the magic bytes without losing them.
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        let n = hashing.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let compression = detect_compression(&head[..got]);
    let stream = Cursor::new(head[..got].to_vec()).chain(hashing);
    let tripped = Rc::new(Cell::new(None));
    let decoder: Box<dyn Read + '_> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(stream)
                .map_err(|e| LayerProblem::Corrupt(format!("zstd: {e}")))?,
        ),
        Compression::None => Box::new(stream),
    };
    let limited = LimitReader {
        inner: decoder,
        read: 0,
        limits,
        compressed: compressed.clone(),
        totals,
        tripped: tripped.clone(),
    };
    let mut out = LayerOutput::default();
    let mut archive = tar::Archive::new(limited);
    let mut scanner = analyzer.file_scanner();
    let fail = |e: io::Error, what: &str| -> LayerProblem {
        match tripped.get() {
            Some(t) => trip_problem(t),
            None => LayerProblem::Corrupt(format!("{what}: {e}")),
        }
    };
    {
        let entries = archive.entries().map_err(|e| fail(e, "tar"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| fail(e, "tar header"))?;
            out.entries += 1;
            let n = totals.files.fetch_add(1, Ordering::Relaxed) + 1;
            if n > limits.max_files {
                return Err(LayerProblem::TooManyFiles {
                    limit: limits.max_files,
                });
            }
            let path_bytes = entry.path_bytes().into_owned();
            let path = match normalize_path(&path_bytes, limits)? {
                EntryPath::Root => continue,
                EntryPath::Escapes => {
                    // The runtime does not put it in the image either (Docker refuses the
                    // layer, containerd clamps it); the rest of the layer is still read.
                    out.note_unsafe(&path_bytes, None);
                    continue;
                }
                EntryPath::Inside { path, absolute } => {
                    if absolute {
                        out.absolute_paths += 1;
                        if out.first_absolute_path.is_none() {
                            out.first_absolute_path = Some(shown(&path_bytes));
                        }
                    }
                    path
                }
            };
            let (dir, base) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            let dir = if dir.is_empty() { "/" } else { dir };
            if let Some(hidden) = base.strip_prefix(".wh.") {
                if hidden == ".wh..opq" {
                    out.changes.push(Change::Opaque(dir.to_string()));
                } else if !hidden.starts_with(".wh.") && !hidden.is_empty() {
                    let target = if dir == "/" {
                        format!("/{hidden}")
                    } else {
                        format!("{dir}/{hidden}")
                    };
                    out.changes.push(Change::Whiteout(target));
                }
                continue;
            }
            let header = entry.header();
            let mode = header.mode().unwrap_or(0o644);
            let uid = header.uid().unwrap_or(0);
            let gid = header.gid().unwrap_or(0);
            let size = entry.size();
            let etype = header.entry_type();
            let kind = if etype.is_file() || etype.is_contiguous() || etype.is_gnu_sparse() {
                EntryKind::File
            } else if etype.is_dir() {
                EntryKind::Dir
            } else if etype.is_symlink() {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                EntryKind::Symlink(target)
            } else if etype.is_hard_link() {
                let raw = entry
                    .link_name_bytes()
                    .map(|b| b.into_owned())
                    .unwrap_or_default();
                // Link targets are names in the same archive: resolved the same way.
                match normalize_path(&raw, limits)? {
                    EntryPath::Inside { path, .. } => EntryKind::Hardlink(path),
                    EntryPath::Root => continue,
                    EntryPath::Escapes => {
                        out.note_unsafe(&path_bytes, Some(&raw));
                        continue;
                    }
                }
            } else if etype.is_character_special() || etype.is_block_special() || etype.is_fifo() {
                EntryKind::Other
            } else {
                // pax global headers and other metadata entries carry no file.
                continue;
            };
            let mut fe = FileEntry {
                path,
                layer: index,
                kind,
                mode,
                uid,
                gid,
                size,
                content: None,
                derived: None,
            };
            if fe.kind == EntryKind::File {
                analyzer
                    .analyze_stream(&mut entry, &mut fe, &mut scanner, limits, &totals.budget)
                    .map_err(|e| fail(e, "reading file content"))?;
            }
            out.changes.push(Change::Upsert(fe));
        }
    }
    // Read what is left (tar padding, compression trailer) so the digest covers the blob.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| fail(e, "trailer"))?;
    out.decompressed = rest.read;
    out.compressed = compressed.get();
    Ok(out)
}

/// Reads one layer blob in one pass and, when `expected` is given, verifies its digest.
/// `index` is the layer's position, recorded on every entry.
pub fn read_layer(
    blob: impl Read,
    index: Option<usize>,
    expected: Option<&Digest>,
    limits: &Limits,
    totals: &Totals,
    analyzer: &Analyzer,
) -> Result<LayerOutput, LayerProblem> {
    let hasher = Rc::new(std::cell::RefCell::new(
        expected.map(|d| d.algorithm().hasher()),
    ));
    let tee = TeeHasher {
        inner: blob,
        hasher: hasher.clone(),
    };
    let mut out = read_layer_inner(tee, index, limits, totals, analyzer)?;
    if let (Some(expected), Some(h)) = (expected, hasher.borrow_mut().take()) {
        let actual = h.finish();
        if &actual != expected {
            return Err(LayerProblem::DigestMismatch {
                actual: actual.to_string(),
            });
        }
        out.digest = Some(actual);
    }
    Ok(out)
}

struct TeeHasher<R> {
    inner: R,
    hasher: Rc<std::cell::RefCell<Option<Hasher>>>,
}

impl<R: Read> Read for TeeHasher<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.borrow_mut().as_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(p: &str, absolute: bool) -> EntryPath {
        EntryPath::Inside {
            path: p.into(),
            absolute,
        }
    }

    #[test]
    fn normalizes_paths_as_runtimes_do() {
        let l = Limits::default();
        let n = |p: &str| normalize_path(p.as_bytes(), &l).unwrap();
        assert_eq!(n("./etc//passwd"), inside("/etc/passwd", false));
        assert_eq!(n("./"), EntryPath::Root);
        assert_eq!(n("a/.."), EntryPath::Root);
        // Absolute names are extracted under the root.
        assert_eq!(n("/etc/passwd"), inside("/etc/passwd", true));
        assert_eq!(n("//etc/./passwd"), inside("/etc/passwd", true));
        // `..` that stays inside the root is resolved; one that leaves it is an escape.
        assert_eq!(n("usr/lib/../bin/sh"), inside("/usr/bin/sh", false));
        assert_eq!(n("a/../../x"), EntryPath::Escapes);
        assert_eq!(n("../etc/passwd"), EntryPath::Escapes);
        assert_eq!(n(".."), EntryPath::Escapes);
        assert_eq!(n("/../etc/passwd"), EntryPath::Escapes);
    }

    #[test]
    fn path_limits_are_errors() {
        let l = Limits::default();
        let long = vec![b'a'; 5000];
        assert!(matches!(
            normalize_path(&long, &l),
            Err(LayerProblem::PathTooLong { .. })
        ));
        let deep = "a/".repeat(200);
        assert!(matches!(
            normalize_path(deep.as_bytes(), &l),
            Err(LayerProblem::PathTooDeep { depth: 200, .. })
        ));
    }

    #[test]
    fn detects_compression() {
        assert_eq!(detect_compression(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            detect_compression(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(detect_compression(b"etc/"), Compression::None);
        assert_eq!(detect_compression(b""), Compression::None);
    }
}
