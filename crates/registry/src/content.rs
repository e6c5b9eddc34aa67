//! Linking and deleting blob content, serialised per digest by tombstones.
//!
//! The invariant: a blob's bytes are deleted only while a tombstone is on its digest, a
//! tombstone is set only in the transaction that finds the digest unlinked (or unrecorded), and
//! nobody can link a tombstoned digest. Every writer therefore links first and then makes sure
//! the bytes are there; after its link no deletion can start, so what it then sees stays. A push
//! that raced a deletion waits for it to end and puts the bytes back from its upload.
use berth_oci::Digest;
use berth_store::{BlobStore, MetadataStore, StoreError, now_millis};
use std::time::{Duration, Instant};

/// How long a link waits for a deletion of the same digest to end. A deletion is one unlink
/// between two small transactions, so this is only reached when something is badly stuck.
const DELETION_WAIT: Duration = Duration::from_secs(5);
const DELETION_POLL: Duration = Duration::from_millis(10);
/// A tombstone this old was left by a deletion that died (a killed `berth gc`): whoever meets it
/// finishes the deletion.
const STALE_TOMBSTONE_MILLIS: i64 = 30_000;

/// Links the blob into the repository, waiting out a deletion of the same digest.
pub async fn link(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    repository_id: i64,
    digest: &Digest,
    size: u64,
) -> Result<(), StoreError> {
    let deadline = Instant::now() + DELETION_WAIT;
    loop {
        match meta.link_blob(repository_id, digest, size).await {
            Err(StoreError::BlobBeingDeleted { since, .. })
                if now_millis().saturating_sub(since) > STALE_TOMBSTONE_MILLIS =>
            {
                tracing::warn!(%digest, "finishing a blob deletion that was interrupted");
                finish_deletion(meta, blobs, digest).await?;
            }
            Err(e @ StoreError::BlobBeingDeleted { .. }) if Instant::now() >= deadline => {
                return Err(e);
            }
            Err(StoreError::BlobBeingDeleted { .. }) => tokio::time::sleep(DELETION_POLL).await,
            other => return other,
        }
    }
}

/// Deletes the bytes of a tombstoned digest and lifts the tombstone; `true` when a file was
/// there. The caller set the tombstone (or found it stale).
pub async fn finish_deletion(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    digest: &Digest,
) -> Result<bool, StoreError> {
    let deleted = blobs.delete(digest).await?;
    meta.clear_tombstone(digest).await?;
    Ok(deleted)
}
