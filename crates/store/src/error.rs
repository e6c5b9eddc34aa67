//! The one error type of the stores.

/// Storage failures. Not-found and validation outcomes are values, not errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// An upload would exceed its size limit.
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("upload {0} does not exist")]
    UploadUnknown(String),
    #[error("upload offset {expected} expected, got {got}")]
    UploadOffset { expected: u64, got: u64 },
    /// The digest's bytes are being deleted (a tombstone set at `since`, Unix milliseconds): it
    /// cannot be linked until the deletion is over.
    #[error("blob {digest} is being deleted")]
    BlobBeingDeleted { digest: String, since: i64 },
    /// The repository's tags are immutable: `tag` exists and the write would move or delete it.
    /// Nothing was changed.
    #[error("tag {tag} is immutable in repository {repository}")]
    TagImmutable { repository: String, tag: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// A write refused for lack of space (a full disk, or a database at its size limit): the
    /// operation failed whole and can be retried once space is freed.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::Io(e) => e.kind() == std::io::ErrorKind::StorageFull,
            StoreError::Database(sqlx::Error::Database(e)) => {
                // SQLITE_FULL (13); PostgreSQL's disk_full (53100).
                matches!(e.code().as_deref(), Some("13") | Some("53100"))
            }
            StoreError::Database(sqlx::Error::Io(e)) => e.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        }
    }
}
