//! The blob store: immutable content addressed by digest, plus staging areas for uploads.
use crate::Result;
use async_trait::async_trait;
use berth_oci::Digest;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::ops::Range;

/// A stream of blob bytes (or of an upload's body).
pub type BlobStream = BoxStream<'static, std::io::Result<Bytes>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The upload's content has the expected digest and is now stored under it.
    Committed { size: u64 },
    /// The content does not have the expected digest; the upload is discarded.
    DigestMismatch { actual: Digest },
}

/// Content-addressed storage. Implementations must make every commit atomic: a reader sees either
/// no blob or the whole, verified blob, whatever happens to the process.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// The blob's size, if the store holds it.
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>>;
    /// The blob's bytes, or the bytes in `range` (which the caller has checked against the size).
    async fn read(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<Option<BlobStream>>;
    /// Deletes the blob; `false` when it was not there.
    async fn delete(&self, digest: &Digest) -> Result<bool>;
    /// Every stored blob with the time (Unix milliseconds) its content was last written or
    /// committed, for garbage collection.
    async fn list(&self) -> Result<Vec<(Digest, i64)>>;
    /// Total bytes stored in blobs (for metrics).
    async fn used_bytes(&self) -> Result<u64>;

    /// Starts an empty upload. `id` is a UUID chosen by the caller.
    async fn upload_start(&self, id: &str) -> Result<()>;
    /// The number of bytes received so far, or `None` for an unknown upload.
    async fn upload_size(&self, id: &str) -> Result<Option<u64>>;
    /// Appends `body` to the upload, which must hold exactly `offset` bytes. Bytes received before
    /// a failing body (a client that disconnects) stay in the upload, so the client can resume.
    /// Fails with [`crate::StoreError::TooLarge`] once the upload would exceed `max_size`.
    /// Returns the new size.
    async fn upload_append(
        &self,
        id: &str,
        offset: u64,
        body: BlobStream,
        max_size: u64,
    ) -> Result<u64>;
    /// Cuts the upload back to its first `size` bytes: undoes an append whose body turned out
    /// longer than the client declared. A `size` beyond the upload's end fails with
    /// [`crate::StoreError::UploadOffset`]. Implementations must keep resuming and committing
    /// correct afterwards (a running hash is rolled back or rebuilt).
    ///
    /// The default refuses: a backend must implement it to pass the conformance suite (this
    /// default only keeps wrappers that forward the other methods compiling).
    async fn upload_truncate(&self, id: &str, size: u64) -> Result<()> {
        let _ = (id, size);
        Err(crate::StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this blob store cannot truncate uploads",
        )))
    }
    /// Verifies the upload against `expected` and, if it matches, stores it as that blob (an
    /// existing blob of that digest stays as it is). The upload keeps its bytes until
    /// [`BlobStore::upload_cancel`], so a caller that finds the blob deleted by a concurrent
    /// garbage collection can commit it again; a mismatch discards the upload.
    async fn upload_commit(&self, id: &str, expected: &Digest) -> Result<CommitOutcome>;
    /// Discards an upload; unknown uploads are ignored.
    async fn upload_cancel(&self, id: &str) -> Result<()>;
    /// Every upload with its last-modified time in Unix milliseconds, for expiry.
    async fn list_uploads(&self) -> Result<Vec<(String, i64)>>;

    /// A URL from which a client can download the blob for the next `ttl` without passing
    /// through berth (a presigned S3 URL), or `None` if this store has none (the default: the
    /// bytes are served by berth). The URL is made without checking that the blob exists: the
    /// caller has.
    /// Whether the store answers, cheaply (for `/readyz`). The default lists the uploads;
    /// stores over a [`crate::ByteDriver`] ask the driver for one cheap request instead.
    async fn ready(&self) -> Result<()> {
        self.list_uploads().await.map(drop)
    }

    async fn redirect_url(
        &self,
        digest: &Digest,
        ttl: std::time::Duration,
    ) -> Result<Option<String>> {
        let _ = (digest, ttl);
        Ok(None)
    }
}
