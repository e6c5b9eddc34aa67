//! Blobs on the local filesystem: [`FsDriver`] keeps each [`Key`] as the file `<root>/<key>`, and
//! [`FsBlobStore`] is the upload layer over it.
//!
//! Invariant: a file appears under a key only by `link(2)` of a file whose bytes and mtime were
//! fsynced first, followed by an fsync of the directories it and its new parents were created
//! in, so a crash at any moment leaves either no file or the complete one. Which files may be
//! linked (verified uploads only) is the layer's business (`crate::blobwriter`); leftover uploads
//! are expired by garbage collection.
//!
//! Boundary: this file knows paths, fsync and hard links, not digests or hashes.
use crate::blob::BlobStream;
use crate::blobwriter::{BLOBS, LayeredBlobStore, UPLOADS};
use crate::driver::{ByteDriver, Key, Stat};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

const READ_CHUNK: usize = 256 * 1024;

/// The blob store on local disk (`blobs/<alg>/<2 hex>/<hex>`, `uploads/<uuid>` under its root).
pub type FsBlobStore = LayeredBlobStore<FsDriver>;

impl LayeredBlobStore<FsDriver> {
    /// Opens (creating if needed) a blob store rooted at `root`. The top directories are made
    /// now, so that a root that cannot be written fails at start rather than at the first push.
    pub fn open(root: impl Into<PathBuf>) -> crate::Result<FsBlobStore> {
        let root = root.into();
        std::fs::create_dir_all(root.join(BLOBS))?;
        std::fs::create_dir_all(root.join(UPLOADS))?;
        Ok(LayeredBlobStore::new(FsDriver { root }))
    }
}

/// A [`ByteDriver`] over a directory.
pub struct FsDriver {
    root: PathBuf,
}

impl FsDriver {
    fn path(&self, key: &Key) -> PathBuf {
        // A key's segments are plain names (no `..`, no separators): the path stays under root.
        let mut path = self.root.clone();
        path.extend(key.segments());
        path
    }
}

fn mtime_millis(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn stat_of(meta: &std::fs::Metadata) -> Stat {
    use std::os::unix::fs::MetadataExt;
    Stat {
        size: meta.len(),
        modified: mtime_millis(meta),
        // A committed upload shares its inode with the blob until it is cancelled.
        shared: meta.nlink() > 1,
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Creates `dir` and any missing parents up to `root`, fsyncing the directory each new one was
/// made in: a linked file is durable only if every directory on its path is.
fn create_dirs_durably(root: &Path, dir: &Path) -> io::Result<()> {
    if dir.is_dir() || dir == root {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(root);
    create_dirs_durably(root, parent)?;
    match std::fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

fn not_found_to_none<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl ByteDriver for FsDriver {
    async fn check(&self) -> io::Result<()> {
        tokio::fs::metadata(&self.root).await.map(drop)
    }

    async fn create(&self, key: &Key) -> io::Result<()> {
        let path = self.path(key);
        let root = self.root.clone();
        blocking(move || {
            let create = || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
            };
            match create() {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    create_dirs_durably(&root, path.parent().unwrap_or(&root))?;
                    create().map(drop)
                }
                other => other.map(drop),
            }
        })
        .await
    }

    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        let meta = not_found_to_none(tokio::fs::metadata(self.path(key)).await)?;
        Ok(meta.filter(|m| m.is_file()).map(|m| stat_of(&m)))
    }

    /// Appends with `O_APPEND`: the layer holds the upload's lock, so the file holds `offset`
    /// bytes. Not fsynced: `link` syncs the file before it becomes a blob.
    async fn append(&self, key: &Key, _offset: u64, bytes: Bytes) -> io::Result<()> {
        let path = self.path(key);
        blocking(move || {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)?
                .write_all(&bytes)
        })
        .await
    }

    async fn truncate(&self, key: &Key, size: u64) -> io::Result<()> {
        let path = self.path(key);
        blocking(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(size)
        })
        .await
    }

    async fn read(&self, key: &Key, range: Option<Range<u64>>) -> io::Result<Option<BlobStream>> {
        let Some(mut file) = not_found_to_none(tokio::fs::File::open(self.path(key)).await)? else {
            return Ok(None);
        };
        let stream: BlobStream = match range {
            Some(r) => {
                file.seek(io::SeekFrom::Start(r.start)).await?;
                let limited = file.take(r.end.saturating_sub(r.start));
                tokio_util::io::ReaderStream::with_capacity(limited, READ_CHUNK).boxed()
            }
            None => tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
        };
        Ok(Some(stream))
    }

    async fn delete(&self, key: &Key) -> io::Result<bool> {
        Ok(not_found_to_none(tokio::fs::remove_file(self.path(key)).await)?.is_some())
    }

    async fn list(&self, prefix: &Key) -> io::Result<Vec<(Key, Stat)>> {
        let top = self.path(prefix);
        let prefix = prefix.clone();
        blocking(move || {
            let mut out = Vec::new();
            let mut pending = vec![(top, prefix)];
            while let Some((dir, key)) = pending.pop() {
                let Some(entries) = not_found_to_none(std::fs::read_dir(&dir))? else {
                    continue;
                };
                for entry in entries {
                    let entry = entry?;
                    // Anything whose name is not a key is not ours to report.
                    let Some(child) = entry.file_name().to_str().and_then(|n| key.child(n)) else {
                        continue;
                    };
                    let Some(meta) = not_found_to_none(entry.metadata())? else {
                        continue;
                    };
                    if meta.is_dir() {
                        pending.push((entry.path(), child));
                    } else if meta.is_file() {
                        out.push((child, stat_of(&meta)));
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn link(&self, from: &Key, to: &Key) -> io::Result<()> {
        let source = self.path(from);
        let target = self.path(to);
        let root = self.root.clone();
        blocking(move || {
            let dir = target.parent().unwrap_or(&root);
            create_dirs_durably(&root, dir)?;
            let file = std::fs::File::options().write(true).open(&source)?;
            // The link time, not the last write, dates the blob for garbage collection.
            file.set_modified(std::time::SystemTime::now())?;
            file.sync_all()?;
            // A hard link, not a rename: the source keeps the bytes until it is deleted, so the
            // layer can make the blob present again if a deletion raced this link. An existing
            // file has the same name, hence (the layer names blobs by content) the same bytes,
            // and stays.
            match std::fs::hard_link(&source, &target) {
                Ok(()) => sync_dir(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::FsBlobStore;
    use crate::blob::BlobStore;
    use crate::{CommitOutcome, StoreError};
    use berth_oci::Digest;
    use futures::StreamExt;

    fn body(bytes: &'static [u8]) -> crate::BlobStream {
        futures::stream::iter(vec![Ok(bytes::Bytes::from_static(bytes))]).boxed()
    }

    /// After a restart the layer has forgotten the commit; the hard link still refuses appends
    /// that would change the stored blob.
    #[tokio::test]
    async fn a_committed_upload_stays_sealed_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        let digest = Digest::sha256_of(b"sealed");
        {
            let store = FsBlobStore::open(dir.path()).unwrap();
            store.upload_start(&id).await.unwrap();
            store
                .upload_append(&id, 0, body(b"sealed"), 1 << 20)
                .await
                .unwrap();
            assert_eq!(
                store.upload_commit(&id, &digest).await.unwrap(),
                CommitOutcome::Committed { size: 6 }
            );
        }
        let store = FsBlobStore::open(dir.path()).unwrap();
        assert!(matches!(
            store.upload_append(&id, 6, body(b"more"), 1 << 20).await,
            Err(StoreError::UploadUnknown(_))
        ));
        assert!(matches!(
            store.upload_truncate(&id, 0).await,
            Err(StoreError::UploadUnknown(_))
        ));
        // Committing again (the blob is there) is harmless.
        assert_eq!(
            store.upload_commit(&id, &digest).await.unwrap(),
            CommitOutcome::Committed { size: 6 }
        );
        let path = dir
            .path()
            .join("blobs/sha256")
            .join(&digest.hex()[..2])
            .join(digest.hex());
        assert_eq!(std::fs::read(path).unwrap(), b"sealed");
    }
}
