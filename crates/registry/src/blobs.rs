//! Blobs linked into repositories, through the link cache: a blob is reported present only if
//! it is linked into the repository AND its bytes are in the blob store, checked every time.
use crate::service::Registry;
use berth_oci::Digest;
use berth_store::{BlobStream, CommitOutcome, StoreError};
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

    /// Where a pull of this blob is redirected (a `307 Temporary Redirect` to a presigned URL of
    /// the blob store), or `None` when redirects are off or the store has no such URLs: then
    /// berth serves the bytes. The caller has already authorized the pull and found the blob with
    /// [`Registry::linked_blob_size`]; the URL names the blob's bytes by digest, so it serves
    /// nothing the client may not read.
    pub async fn blob_redirect(&self, digest: &Digest) -> Result<Option<String>, StoreError> {
        let Some(ttl) = self.blob_redirect_ttl else {
            return Ok(None);
        };
        self.blobs.redirect_url(digest, ttl).await
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

/// What committing an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadCommitted {
    /// Stored, linked into the repository, and the upload is gone.
    Linked { size: u64 },
    /// The content has another digest; the upload's record is gone (its bytes were discarded).
    DigestMismatch { actual: Digest },
}

impl Registry {
    /// Commits upload `id` as `digest` and links it into the repository.
    ///
    /// The link is made before the bytes are trusted (see `content`): a garbage collection
    /// that deleted this digest between the commit and the link has finished once the link is
    /// made, and nothing can delete it after; so the bytes are checked then, and put back from
    /// the upload if that collection took them. Only then is the upload's copy dropped.
    pub async fn commit_upload(
        &self,
        repository_id: i64,
        id: &str,
        digest: &Digest,
    ) -> Result<UploadCommitted, StoreError> {
        let size = match self.blobs.upload_commit(id, digest).await? {
            CommitOutcome::Committed { size } => size,
            CommitOutcome::DigestMismatch { actual } => {
                self.meta.delete_upload(id).await?;
                return Ok(UploadCommitted::DigestMismatch { actual });
            }
        };
        crate::content::link(
            self.meta.as_ref(),
            self.blobs.as_ref(),
            repository_id,
            digest,
            size,
        )
        .await?;
        if self.blobs.stat(digest).await? != Some(size) {
            tracing::info!(%digest, "a garbage collection took the bytes during the push; restored");
            if self.blobs.upload_commit(id, digest).await? != (CommitOutcome::Committed { size }) {
                return Err(StoreError::Corrupt(format!(
                    "upload {id} changed during its commit"
                )));
            }
        }
        self.blobs.upload_cancel(id).await?;
        self.meta.delete_upload(id).await?;
        self.caches
            .blob_links
            .insert((repository_id, digest.clone()), size);
        Ok(UploadCommitted::Linked { size })
    }

    /// Links a blob that is stored (with `size` bytes) into the repository without an upload
    /// (a cross-repository mount); false when its bytes are not there, or a collection is
    /// deleting them (the client then uploads them, as for any failed mount).
    pub async fn mount_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
        size: u64,
    ) -> Result<bool, StoreError> {
        if self.blobs.stat(digest).await? != Some(size) {
            return Ok(false);
        }
        let linked = crate::content::link(
            self.meta.as_ref(),
            self.blobs.as_ref(),
            repository_id,
            digest,
            size,
        )
        .await;
        match linked {
            // Linked, so no deletion can start; the bytes seen now stay. Gone (a collection
            // finished before the link): not mounted.
            Ok(()) if self.blobs.stat(digest).await? == Some(size) => {
                self.caches
                    .blob_links
                    .insert((repository_id, digest.clone()), size);
                Ok(true)
            }
            Ok(()) | Err(StoreError::BlobBeingDeleted { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
