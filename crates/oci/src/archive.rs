//! docker-archive (`docker save` / `podman save` / `skopeo copy docker-archive:`) tarball reader.
//!
//! The outer tar is indexed once (headers only; contents are skipped with `seek`), then
//! `manifest.json` names each image's config and layer files. Entries are opened in place
//! (`seek` + `take`), never extracted. Both the legacy layout (`<id>/layer.tar`, `<id>.json`) and
//! the OCI-style one of Docker 25+ (`blobs/sha256/<hex>`) are read. The tar parser handles ustar
//! (with prefix), GNU long names and pax `path`/`size` records, and rejects anything malformed.
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Largest `manifest.json` / config read into memory.
pub const MAX_JSON_BYTES: u64 = 16 << 20;
const MAX_ENTRIES: usize = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("corrupt tar at offset {offset}: {message}")]
    Corrupt { offset: u64, message: String },
    #[error("not a docker-archive: {0}")]
    NotAnArchive(String),
    #[error("entry {0:?} not found in the archive")]
    EntryNotFound(String),
    #[error("{what} is larger than {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("invalid manifest.json: {0}")]
    Manifest(String),
    #[error("the archive holds {0} images: name one (docker-archive:PATH:REPO:TAG or :INDEX)")]
    Ambiguous(usize),
    #[error("no image {0:?} in the archive")]
    ImageNotFound(String),
}

/// One image of `manifest.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageEntry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    offset: u64,
    size: u64,
}

/// An indexed docker-archive.
#[derive(Debug)]
pub struct DockerArchive {
    path: PathBuf,
    entries: HashMap<String, Span>,
    images: Vec<ImageEntry>,
}

fn normalize(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // base-256 (GNU) for large sizes
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn pax_records(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|&b| b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp + 1 || len > rest.len() {
            break;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|&b| b == b'=') {
            out.push((
                String::from_utf8_lossy(&rec[..eq]).into_owned(),
                String::from_utf8_lossy(&rec[eq + 1..]).into_owned(),
            ));
        }
        rest = &rest[len..];
    }
    out
}

/// Indexes the regular files of a tar stream: name -> (data offset, size). Symlinks and hard
/// links to regular files are resolved to their targets.
fn index_tar<R: Read + Seek>(r: &mut R) -> Result<HashMap<String, Span>, ArchiveError> {
    let mut entries = HashMap::new();
    let mut links: Vec<(String, String)> = Vec::new();
    let mut offset: u64 = 0;
    let mut long_name: Option<String> = None;
    let mut pax_path: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    let corrupt = |offset: u64, m: &str| ArchiveError::Corrupt {
        offset,
        message: m.to_string(),
    };
    let io = |e: std::io::Error| ArchiveError::Io {
        path: "docker-archive".into(),
        source: e,
    };
    loop {
        let mut h = [0u8; 512];
        let mut got = 0;
        while got < 512 {
            let n = r.read(&mut h[got..]).map_err(io)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            break; // tolerate a missing end-of-archive marker
        }
        if got < 512 {
            return Err(corrupt(offset, "truncated header"));
        }
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let stored: u64 =
            parse_octal(&h[148..156]).ok_or_else(|| corrupt(offset, "bad checksum field"))?;
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        if sum != stored {
            return Err(corrupt(offset, "header checksum mismatch"));
        }
        let mut size =
            parse_octal(&h[124..136]).ok_or_else(|| corrupt(offset, "bad size field"))?;
        if let Some(s) = pax_size.take() {
            size = s;
        }
        let typeflag = h[156];
        let mut name = cstr(&h[0..100]);
        if &h[257..262] == b"ustar" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        if let Some(n) = long_name.take() {
            name = n;
        }
        if let Some(p) = pax_path.take() {
            name = p;
        }
        let data_off = offset + 512;
        let padded = size
            .checked_add(511)
            .ok_or_else(|| corrupt(offset, "size overflow"))?
            / 512
            * 512;
        match typeflag {
            b'L' | b'x' => {
                if size > 1 << 20 {
                    return Err(corrupt(offset, "oversized extended header"));
                }
                let mut data = vec![0u8; size as usize];
                r.read_exact(&mut data)
                    .map_err(|_| corrupt(offset, "truncated extended header"))?;
                r.seek(SeekFrom::Current((padded - size) as i64))
                    .map_err(io)?;
                if typeflag == b'L' {
                    long_name = Some(cstr(&data));
                } else {
                    for (k, v) in pax_records(&data) {
                        match k.as_str() {
                            "path" => pax_path = Some(v),
                            "size" => pax_size = v.parse().ok(),
                            _ => {}
                        }
                    }
                }
                offset = data_off + padded;
                continue;
            }
            b'0' | 0 | b'7' => {
                entries.insert(
                    normalize(&name),
                    Span {
                        offset: data_off,
                        size,
                    },
                );
            }
            b'1' => links.push((normalize(&name), normalize(&cstr(&h[157..257])))),
            b'2' => {
                let target = cstr(&h[157..257]);
                let n = normalize(&name);
                let base = n.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                let resolved = if target.starts_with('/') {
                    normalize(&target)
                } else {
                    normalize(&format!("{base}/{target}"))
                };
                links.push((n, resolved));
            }
            _ => {}
        }
        if entries.len() + links.len() > MAX_ENTRIES {
            return Err(corrupt(offset, "too many entries"));
        }
        let next = data_off
            .checked_add(padded)
            .ok_or_else(|| corrupt(offset, "size overflow"))?;
        r.seek(SeekFrom::Start(next)).map_err(io)?;
        offset = next;
    }
    // Resolve links (a few rounds for chains).
    for _ in 0..8 {
        for (name, target) in &links {
            if let Some(span) = entries.get(target).copied() {
                entries.entry(name.clone()).or_insert(span);
            }
        }
    }
    Ok(entries)
}

impl DockerArchive {
    /// Indexes an uncompressed docker-archive. (A gzip-compressed one must be decompressed by the
    /// caller first: this crate stays free of compression code.)
    pub fn open(path: impl AsRef<Path>) -> Result<DockerArchive, ArchiveError> {
        let path = path.as_ref().to_path_buf();
        let ioe = |e| ArchiveError::Io {
            path: path.display().to_string(),
            source: e,
        };
        let mut f = File::open(&path).map_err(ioe)?;
        let len = f.metadata().map_err(ioe)?.len();
        let entries = index_tar(&mut f)?;
        for span in entries.values() {
            if span.offset.saturating_add(span.size) > len {
                return Err(ArchiveError::Corrupt {
                    offset: span.offset,
                    message: "entry runs past the end of the file (truncated archive)".into(),
                });
            }
        }
        let mut a = DockerArchive {
            path,
            entries,
            images: Vec::new(),
        };
        if !a.entries.contains_key("manifest.json") {
            return Err(ArchiveError::NotAnArchive("no manifest.json".into()));
        }
        let m = a.read_entry("manifest.json", MAX_JSON_BYTES)?;
        a.images = serde_json::from_slice(&m).map_err(|e| ArchiveError::Manifest(e.to_string()))?;
        if a.images.is_empty() {
            return Err(ArchiveError::Manifest("no images".into()));
        }
        Ok(a)
    }

    pub fn images(&self) -> &[ImageEntry] {
        &self.images
    }

    /// Picks an image: by `repo:tag` or by index (`"0"`), else the only one.
    pub fn select(&self, name: Option<&str>) -> Result<&ImageEntry, ArchiveError> {
        match name {
            None if self.images.len() == 1 => Ok(&self.images[0]),
            None => Err(ArchiveError::Ambiguous(self.images.len())),
            Some(n) => {
                if let Ok(i) = n.parse::<usize>() {
                    return self
                        .images
                        .get(i)
                        .ok_or_else(|| ArchiveError::ImageNotFound(n.into()));
                }
                self.images
                    .iter()
                    .find(|i| {
                        i.repo_tags
                            .iter()
                            .flatten()
                            .any(|t| t == n || t.strip_prefix("docker.io/library/") == Some(n))
                    })
                    .ok_or_else(|| ArchiveError::ImageNotFound(n.into()))
            }
        }
    }

    pub fn has_entry(&self, name: &str) -> bool {
        self.entries.contains_key(&normalize(name))
    }

    pub fn entry_size(&self, name: &str) -> Option<u64> {
        self.entries.get(&normalize(name)).map(|s| s.size)
    }

    /// Opens an entry for streaming, in place.
    pub fn open_entry(&self, name: &str) -> Result<std::io::Take<File>, ArchiveError> {
        let span = *self
            .entries
            .get(&normalize(name))
            .ok_or_else(|| ArchiveError::EntryNotFound(name.into()))?;
        let ioe = |e| ArchiveError::Io {
            path: self.path.display().to_string(),
            source: e,
        };
        let mut f = File::open(&self.path).map_err(ioe)?;
        f.seek(SeekFrom::Start(span.offset)).map_err(ioe)?;
        Ok(f.take(span.size))
    }

    pub fn read_entry(&self, name: &str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let size = self
            .entry_size(name)
            .ok_or_else(|| ArchiveError::EntryNotFound(name.into()))?;
        if size > limit {
            return Err(ArchiveError::TooLarge {
                what: name.into(),
                limit,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        self.open_entry(name)?
            .read_to_end(&mut buf)
            .map_err(|e| ArchiveError::Io {
                path: self.path.display().to_string(),
                source: e,
            })?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: usize, typeflag: u8, link: &str) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        let s = format!("{size:011o}");
        h[124..135].copy_from_slice(s.as_bytes());
        h[156] = typeflag;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    fn tar(files: &[(&str, &[u8], u8, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data, ty, link) in files {
            out.extend_from_slice(&header(name, data.len(), *ty, link));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    #[test]
    fn indexes_and_reads_entries() {
        let manifest = br#"[{"Config":"cfg.json","RepoTags":["a:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#;
        let t = tar(&[
            ("manifest.json", manifest, b'0', ""),
            ("cfg.json", b"{}", b'0', ""),
            ("l1/layer.tar", b"layer-one", b'0', ""),
            ("l2/layer.tar", b"", b'2', "../l1/layer.tar"),
        ]);
        let p = std::env::temp_dir().join(format!("berth-archive-{}.tar", std::process::id()));
        std::fs::write(&p, &t).unwrap();
        let a = DockerArchive::open(&p).unwrap();
        let img = a.select(Some("a:1")).unwrap();
        assert_eq!(img.layers.len(), 2);
        assert_eq!(a.read_entry("l2/layer.tar", 100).unwrap(), b"layer-one");
        assert!(a.select(Some("b:2")).is_err());
        // Truncated archive: a clear error, not a panic.
        std::fs::write(&p, &t[..1100]).unwrap();
        assert!(DockerArchive::open(&p).is_err());
        let _ = std::fs::remove_file(&p);
    }
}
