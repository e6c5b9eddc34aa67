//! OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`) reader.
//!
//! Paths are built only from validated digests (`Digest` admits lowercase hex only), so a
//! hostile `index.json` cannot make the reader open a file outside the layout.
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::digest::Digest;
use crate::manifest::Descriptor;

/// Annotation naming a manifest in an image layout's index (`skopeo copy ... oci:DIR:TAG`).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// Largest `index.json` or manifest the reader loads into memory.
pub const MAX_JSON_BYTES: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not an OCI image layout (no oci-layout file)")]
    NotALayout(String),
    #[error("unsupported imageLayoutVersion {0:?}")]
    Version(String),
    #[error("invalid {what}: {message}")]
    Invalid { what: String, message: String },
    #[error("blob {0} not found in the layout")]
    BlobNotFound(String),
    #[error("blob {expected} has digest {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("{what} is larger than {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("no manifest named {0:?} in index.json")]
    RefNotFound(String),
    #[error("index.json holds {0} manifests: name one (oci-dir:PATH:REF)")]
    Ambiguous(usize),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutFile {
    image_layout_version: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// An opened image layout directory.
#[derive(Debug, Clone)]
pub struct OciLayout {
    root: PathBuf,
    index_bytes: Vec<u8>,
    index: Index,
}

fn io_err(path: &Path, source: std::io::Error) -> LayoutError {
    LayoutError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, LayoutError> {
    let f = File::open(path).map_err(|e| io_err(path, e))?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io_err(path, e))?;
    if buf.len() as u64 > limit {
        return Err(LayoutError::TooLarge {
            what: path.display().to_string(),
            limit,
        });
    }
    Ok(buf)
}

impl OciLayout {
    pub fn open(root: impl AsRef<Path>) -> Result<OciLayout, LayoutError> {
        let root = root.as_ref().to_path_buf();
        let layout_path = root.join("oci-layout");
        if !layout_path.is_file() {
            return Err(LayoutError::NotALayout(root.display().to_string()));
        }
        let lf: LayoutFile = serde_json::from_slice(&read_capped(&layout_path, 64 << 10)?)
            .map_err(|e| LayoutError::Invalid {
                what: "oci-layout".into(),
                message: e.to_string(),
            })?;
        if !lf.image_layout_version.starts_with("1.") {
            return Err(LayoutError::Version(lf.image_layout_version));
        }
        let index_bytes = read_capped(&root.join("index.json"), MAX_JSON_BYTES)?;
        let index: Index =
            serde_json::from_slice(&index_bytes).map_err(|e| LayoutError::Invalid {
                what: "index.json".into(),
                message: e.to_string(),
            })?;
        Ok(OciLayout {
            root,
            index_bytes,
            index,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The raw `index.json`.
    pub fn index_bytes(&self) -> &[u8] {
        &self.index_bytes
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Picks a manifest from `index.json`: by `org.opencontainers.image.ref.name` when `name`
    /// is given, else the only one. Returns None when the index holds several and none is
    /// named: the caller then treats `index.json` itself as an image index.
    pub fn select(&self, name: Option<&str>) -> Result<Option<&Descriptor>, LayoutError> {
        match name {
            Some(n) => self
                .index
                .manifests
                .iter()
                .find(|d| {
                    d.annotations
                        .as_ref()
                        .and_then(|a| a.get(REF_NAME_ANNOTATION))
                        .map(String::as_str)
                        == Some(n)
                })
                .map(Some)
                .ok_or_else(|| LayoutError::RefNotFound(n.to_string())),
            None if self.index.manifests.len() == 1 => Ok(self.index.manifests.first()),
            None => Ok(None),
        }
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    /// Opens a blob for streaming. The caller verifies the digest while reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<File, LayoutError> {
        let p = self.blob_path(digest);
        File::open(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LayoutError::BlobNotFound(digest.to_string()),
            _ => io_err(&p, e),
        })
    }

    /// Reads a small blob (manifest, config) whole and verifies its digest.
    pub fn read_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, LayoutError> {
        let p = self.blob_path(digest);
        if !p.is_file() {
            return Err(LayoutError::BlobNotFound(digest.to_string()));
        }
        let bytes = read_capped(&p, limit)?;
        let actual = Digest::of(digest.algorithm(), &bytes);
        if &actual != digest {
            return Err(LayoutError::DigestMismatch {
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_a_layout_and_reads_blobs() {
        let dir = std::env::temp_dir().join(format!("berth-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        let blob = b"{}";
        let d = Digest::sha256_of(blob);
        std::fs::write(dir.join("blobs/sha256").join(d.hex()), blob).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{d}","size":2,"annotations":{{"{REF_NAME_ANNOTATION}":"v1"}}}}]}}"#
        );
        std::fs::write(dir.join("index.json"), index).unwrap();
        let l = OciLayout::open(&dir).unwrap();
        assert_eq!(l.select(Some("v1")).unwrap().unwrap().digest, d);
        assert!(l.select(Some("v2")).is_err());
        assert_eq!(l.read_blob(&d, 10).unwrap(), blob);
        std::fs::write(dir.join("blobs/sha256").join(d.hex()), b"{ }").unwrap();
        assert!(matches!(
            l.read_blob(&d, 10),
            Err(LayoutError::DigestMismatch { .. })
        ));
        assert!(matches!(
            OciLayout::open(dir.join("blobs")),
            Err(LayoutError::NotALayout(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
