//! `berth:REPOSITORY@DIGEST` (with the `scanner` feature): an image stored in berth itself, read
//! straight from its metadata and blob stores, as the scanner's [`ImageSource`]. It lives here,
//! beside the stores it reads, so the scanner stays a library that knows no berth store (no HTTP, no authentication: the caller decides who may scan what).
//!
//! Tenancy: only blobs linked into the repository are read (`MetadataStore::linked_blob`), and
//! manifests are looked up within the repository, so a scan of one repository can never read
//! another repository's content by naming its digest.
//!
//! The engine is synchronous and calls [`ImageSource`] from blocking threads; the stores are
//! async. Every call here runs the store future with `Handle::block_on`, and a blob is streamed
//! through `SyncIoBridge` over the store's byte stream (never loaded whole). So this source must
//! not be used from inside an async task: call the scanner in `spawn_blocking` (or on a plain
//! thread).
use std::io::Read;
use std::sync::Arc;

use berth_oci::Digest;
use berth_store::{BlobStore, ManifestSelector, MetadataStore};
use tokio::runtime::Handle;
use tokio_util::io::{StreamReader, SyncIoBridge};

use berth_scan::source::{ImageSource, MAX_JSON};
use berth_scan::{Result, ScanError};

/// An image (manifest or index) stored in berth's own stores.
pub struct StoredImageSource {
    runtime: Handle,
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    repository_id: i64,
    repository_name: String,
    digest: Digest,
}

impl StoredImageSource {
    /// `repository_id` / `repository_name` identify the repository (as returned by
    /// `MetadataStore::get_repository`); `digest` is the manifest or index to scan.
    pub fn new(
        runtime: Handle,
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        repository_id: i64,
        repository_name: String,
        digest: Digest,
    ) -> Self {
        StoredImageSource {
            runtime,
            meta,
            blobs,
            repository_id,
            repository_name,
            digest,
        }
    }

    fn err(&self, message: String) -> ScanError {
        ScanError::Source(self.name(), message)
    }

    /// A manifest of this repository, with its stored media type.
    fn stored_manifest(&self, digest: &Digest) -> Result<(Vec<u8>, String)> {
        let found = self
            .runtime
            .block_on(self.meta.get_manifest(
                self.repository_id,
                &ManifestSelector::Digest(digest.clone()),
            ))
            .map_err(|e| self.err(format!("manifest {digest}: metadata store: {e}")))?;
        let Some(m) = found else {
            return Err(self.err(format!(
                "manifest {digest} is not in repository {}",
                self.repository_name
            )));
        };
        if m.content.len() as u64 > MAX_JSON {
            return Err(self.err(format!("manifest {digest} is larger than {MAX_JSON} bytes")));
        }
        let actual = Digest::of(digest.algorithm(), &m.content);
        if &actual != digest {
            return Err(self.err(format!("manifest {digest} has digest {actual}")));
        }
        Ok((m.content.to_vec(), m.meta.media_type))
    }
}

impl ImageSource for StoredImageSource {
    fn kind(&self) -> &str {
        "berth"
    }

    fn name(&self) -> String {
        format!("berth:{}@{}", self.repository_name, self.digest)
    }

    fn root_manifest(&self) -> Result<(Vec<u8>, Option<String>)> {
        let (bytes, media_type) = self.stored_manifest(&self.digest)?;
        Ok((bytes, Some(media_type)))
    }

    fn manifest(&self, digest: &Digest) -> Result<Vec<u8>> {
        Ok(self.stored_manifest(digest)?.0)
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>> {
        let linked = self
            .runtime
            .block_on(self.meta.linked_blob(self.repository_id, digest))
            .map_err(|e| self.err(format!("blob {digest}: metadata store: {e}")))?;
        if linked.is_none() {
            return Err(self.err(format!(
                "blob {digest} is not linked into repository {}",
                self.repository_name
            )));
        }
        let stream = self
            .runtime
            .block_on(self.blobs.read(digest, None))
            .map_err(|e| self.err(format!("blob {digest}: blob store: {e}")))?
            .ok_or_else(|| {
                self.err(format!(
                    "blob {digest} is linked into repository {} but missing from the blob store",
                    self.repository_name
                ))
            })?;
        let reader = SyncIoBridge::new_with_handle(StreamReader::new(stream), self.runtime.clone());
        Ok(Box::new(std::io::BufReader::with_capacity(
            256 << 10,
            reader,
        )))
    }
}
