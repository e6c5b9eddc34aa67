//! What stops a migration.

/// Why a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("store: {0}")]
    Store(#[from] crate::StoreError),
    #[error("the schemas differ: {0}")]
    Schema(String),
    #[error("blob {digest}: {reason}")]
    Blob { digest: String, reason: String },
}
