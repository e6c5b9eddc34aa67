//! Opening the stores the configuration names: SQLite and files under the data directory by
//! default, PostgreSQL (`metadata.url`) and S3 (`blobs.url`) when several processes share them.
//!
//! Invariant: a data directory whose SQLite file a process uses is locked shared for as long as
//! the process runs, so `berth migrate` (which takes the lock exclusively) never copies a
//! database that is still being written.
use crate::config::{Config, Engine};
use crate::start_error::StartError;
use berth_store::{BlobStore, FsBlobStore, MetadataStore, SqliteMetadataStore};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The lock file in a data directory.
const LOCK_FILE: &str = "berth.lock";

/// The stores `config` names. SQLite and the blob directory are created on first use.
pub async fn open_stores(
    config: &Config,
) -> Result<(Arc<dyn MetadataStore>, Arc<dyn BlobStore>), StartError> {
    let meta: Arc<dyn MetadataStore> = match config.metadata.engine() {
        Ok(Engine::Postgres) => {
            let url = config.metadata.url.as_deref().unwrap_or_default();
            Arc::new(berth_store::PgMetadataStore::connect(url).await?)
        }
        _ => {
            create_data_dir(config)?;
            Arc::new(SqliteMetadataStore::open(&config.data_dir.join("meta.db")).await?)
        }
    };
    let blobs: Arc<dyn BlobStore> = match config.blobs.engine() {
        Ok(Engine::S3) => Arc::new(open_s3(config).await?),
        _ => {
            create_data_dir(config)?;
            Arc::new(FsBlobStore::open(config.data_dir.clone())?)
        }
    };
    Ok((meta, blobs))
}

/// [`open_stores`], tried again with a growing pause (up to 10 s) while an engine is
/// unreachable, reporting each failure; gives up only on an error that waiting cannot mend
/// (a bad URL or credentials are reported as they are, and retried too: an operator may be
/// fixing the server).
pub async fn open_stores_patiently(
    config: &Config,
    mut on_failure: impl FnMut(&StartError, Duration),
) -> Result<(Arc<dyn MetadataStore>, Arc<dyn BlobStore>), StartError> {
    let mut pause = Duration::from_millis(250);
    loop {
        match open_stores(config).await {
            Ok(stores) => return Ok(stores),
            Err(e) if retryable(config, &e) => {
                on_failure(&e, pause);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether waiting may help: a networked engine (PostgreSQL, S3) failed, not the local setup
/// (a SQLite file that cannot be opened will not open by waiting).
pub fn retryable(config: &Config, e: &StartError) -> bool {
    let remote =
        config.metadata.engine() == Ok(Engine::Postgres) || config.blobs.engine() == Ok(Engine::S3);
    remote && matches!(e, StartError::Store(_))
}

fn create_data_dir(config: &Config) -> Result<(), StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))
}

async fn open_s3(config: &Config) -> Result<berth_store::S3BlobStore, StartError> {
    let url = config.blobs.url.as_deref().unwrap_or_default();
    let s3 = &config.blobs.s3;
    let options = berth_store::S3Options {
        endpoint: s3.endpoint.clone(),
        region: s3.region.clone(),
        access_key_id: s3.access_key_id.clone(),
        secret_access_key: s3.secret_access_key.clone(),
        allow_http: s3.allow_http,
        ..Default::default()
    };
    let store = berth_store::S3BlobStore::open_s3(url, &options)?;
    // Opening makes no request: a bucket that does not answer is found here, at start.
    store.ready().await?;
    Ok(store)
}

/// A lock on the data directory, held while the process uses its SQLite file.
#[derive(Debug)]
pub struct DataDirLock {
    _file: Option<File>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot lock {0}: {1}")]
    Io(std::path::PathBuf, std::io::Error),
    #[error(
        "{0} is in use by a running berth (serve or gc); stop it first, so that nothing is \
         written while it is copied"
    )]
    InUse(std::path::PathBuf),
}

impl DataDirLock {
    /// A shared lock, as every process that uses the directory's SQLite file holds; no lock
    /// (and no file) when the metadata is not in the data directory.
    pub fn shared(config: &Config) -> Result<DataDirLock, LockError> {
        if config.metadata.engine() != Ok(Engine::Local) {
            return Ok(DataDirLock { _file: None });
        }
        let file = open_lock_file(&config.data_dir)?;
        // Blocks only while a migration holds it exclusively: then this process must wait.
        file.lock_shared()
            .map_err(|e| LockError::Io(config.data_dir.join(LOCK_FILE), e))?;
        Ok(DataDirLock { _file: Some(file) })
    }

    /// The exclusive lock `berth migrate` holds; refused while any process holds it shared.
    pub fn exclusive(data_dir: &Path) -> Result<DataDirLock, LockError> {
        let file = open_lock_file(data_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: Some(file) }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::InUse(data_dir.into())),
            Err(std::fs::TryLockError::Error(e)) => Err(LockError::Io(data_dir.join(LOCK_FILE), e)),
        }
    }
}

fn open_lock_file(data_dir: &Path) -> Result<File, LockError> {
    let path = data_dir.join(LOCK_FILE);
    std::fs::create_dir_all(data_dir).map_err(|e| LockError::Io(path.clone(), e))?;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LockError::Io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_is_refused_while_a_server_holds_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let serving = DataDirLock::shared(&config).unwrap();
        let also_serving = DataDirLock::shared(&config).unwrap();
        assert!(matches!(
            DataDirLock::exclusive(dir.path()),
            Err(LockError::InUse(_))
        ));
        drop(serving);
        drop(also_serving);
        let migrating = DataDirLock::exclusive(dir.path()).unwrap();
        drop(migrating);
    }
}
