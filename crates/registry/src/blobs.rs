//! Blobs linked into repositories, through the link cache: a blob is reported present only if
//! it is linked into the repository AND its bytes are in the blob store, checked every time.
use crate::service::Registry;
use berth_oci::Digest;
use berth_store::{BlobStream, StoreError};
use std::ops::Range;

impl Registry {
    /// The blob's size if it is linked into the repository and its bytes are present.
    pub async fn linked_blob_size(
        &self,
        repository_id: i64,
        digest: &Digest,
    ) -> Result<Option<u64>, StoreError> {
        let key = (repository_id, digest.clone());
        let size = match self.caches.blob_links.get(&key) {
            Some(size) => size,
            None => match self.meta.linked_blob(repository_id, digest).await? {
                Some(size) => size,
                None => return Ok(None),
            },
        };
        // A link whose bytes are gone (collected by another process while this one cached the
        // link, a damaged disk, a hand-deleted file) is unknown, for HEAD as for GET: a client
        // told "it exists" skips the upload. One stat, so checked on every request.
        if self.blobs.stat(digest).await?.is_none() {
            self.caches.blob_links.invalidate(&key);
            tracing::error!(%digest, repository = repository_id, "a linked blob is missing from the blob store");
            return Ok(None);
        }
        self.caches.blob_links.insert(key, size);
        Ok(Some(size))
    }

    /// The bytes of a blob [`Registry::linked_blob_size`] found (or the `range` of them, which
    /// the caller checked against that size); `None` if they went missing since.
    pub async fn read_linked_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
        range: Option<Range<u64>>,
    ) -> Result<Option<BlobStream>, StoreError> {
        let stream = self.blobs.read(digest, range).await?;
        if stream.is_none() {
            // Linked but missing bytes: report it, never serve something else.
            tracing::error!(%digest, "blob is linked but its content is missing");
            self.caches
                .blob_links
                .invalidate(&(repository_id, digest.clone()));
        }
        Ok(stream)
    }

    /// Unlinks a blob from a repository; false if it was not linked there.
    pub async fn unlink_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        self.caches
            .blob_links
            .invalidate(&(repository_id, digest.clone()));
        self.meta.unlink_blob(repository_id, digest).await
    }
}
