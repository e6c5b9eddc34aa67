//! Blobs on the local filesystem.
//!
//! Layout under the root: `blobs/<alg>/<2 hex>/<hex>` for content, `uploads/<uuid>` for uploads
//! in progress. An upload becomes a blob only by `link(2)` after its digest was verified and its
//! bytes fsynced, so a crash at any moment leaves either no blob or the complete one; leftover
//! uploads are expired by garbage collection.
use crate::blob::{BlobStore, BlobStream, CommitOutcome};
use crate::{Result, StoreError};
use async_trait::async_trait;
use berth_oci::{Algorithm, Digest, Hasher};
use futures::StreamExt;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

const READ_CHUNK: usize = 256 * 1024;

/// The running SHA-256 of an upload, so that committing does not read the bytes again.
struct HashState {
    size: u64,
    hasher: Hasher,
    /// The size and hash before the last append, so that [`BlobStore::upload_truncate`] can
    /// undo that append without reading the upload again.
    undo: Option<(u64, Hasher)>,
}

/// Appended bytes are written in batches of this size, each by a short blocking task, while the
/// next batch is received: no thread waits for the network.
const WRITE_BATCH: usize = 512 * 1024;

fn clone_hasher(h: &Hasher) -> Hasher {
    match h {
        Hasher::Sha256(s) => Hasher::Sha256(s.clone()),
        Hasher::Sha512(s) => Hasher::Sha512(s.clone()),
    }
}

/// An append's hold on its upload: the upload's lock (with the hash state) and its file. It moves
/// into the blocking task that writes a batch and back, so a request dropped while a batch is
/// being written still releases the lock only after that write, with the hash state matching
/// the file.
struct Appender {
    guard: tokio::sync::OwnedMutexGuard<Option<HashState>>,
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Appender {
    /// Writes and hashes `batch` (on a blocking thread). After a failed write the file may hold
    /// bytes the hash has not seen: the state is dropped, to be rebuilt from the file.
    fn write(&mut self, batch: &[u8]) -> std::io::Result<()> {
        let result = (|| {
            let file = match &mut self.file {
                Some(f) => f,
                None => self
                    .file
                    .insert(std::fs::OpenOptions::new().append(true).open(&self.path)?),
            };
            file.write_all(batch)
        })();
        match (&result, self.guard.as_mut()) {
            (Ok(()), Some(state)) => {
                state.hasher.update(batch);
                state.size += batch.len() as u64;
            }
            _ => *self.guard = None,
        }
        result
    }
}

type Written = (Appender, Vec<u8>, std::io::Result<()>);

/// Writes one batch on a blocking thread; hands back the appender and the emptied buffer.
fn write_batch(mut appender: Appender, mut batch: Vec<u8>) -> tokio::task::JoinHandle<Written> {
    tokio::task::spawn_blocking(move || {
        let result = appender.write(&batch);
        batch.clear();
        (appender, batch, result)
    })
}

type UploadSlot = Arc<tokio::sync::Mutex<Option<HashState>>>;

pub struct FsBlobStore {
    root: PathBuf,
    uploads: Mutex<HashMap<String, UploadSlot>>,
    /// Committed uploads still staged: id to the digest and size they were verified as.
    verified: Mutex<HashMap<String, (Digest, u64)>>,
}

impl FsBlobStore {
    /// Opens (creating if needed) a blob store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<FsBlobStore> {
        let root = root.into();
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        Ok(FsBlobStore {
            root,
            uploads: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
        })
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        let hex = d.hex();
        self.root
            .join("blobs")
            .join(d.algorithm().as_str())
            .join(&hex[..2])
            .join(hex)
    }

    fn upload_path(&self, id: &str) -> Result<PathBuf> {
        // Ids become file names: only canonical UUIDs are allowed.
        let parsed = uuid::Uuid::parse_str(id).map_err(|_| StoreError::UploadUnknown(id.into()))?;
        if parsed.hyphenated().to_string() != id {
            return Err(StoreError::UploadUnknown(id.into()));
        }
        Ok(self.root.join("uploads").join(id))
    }

    fn slot(&self, id: &str) -> UploadSlot {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string()).or_default().clone()
    }

    fn forget(&self, id: &str) {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
        drop(map);
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified.remove(id);
    }

    /// The digest and size an upload was verified as by an earlier commit, so that committing
    /// it again (after a racing deletion) does not read the bytes again.
    fn verified_as(&self, id: &str) -> Option<(Digest, u64)> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified.get(id).cloned()
    }

    fn remember_verified(&self, id: &str, digest: Digest, size: u64) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified.insert(id.to_string(), (digest, size));
    }
}

fn hash_file(path: &Path, algorithm: Algorithm) -> std::io::Result<HashState> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = algorithm.hasher();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(HashState {
        size,
        hasher,
        undo: None,
    })
}

fn mtime_millis(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A committed upload shares its file with the blob (a hard link) until it is cancelled: writing
/// to it would change a stored blob under its digest, for every repository that links it.
fn refuse_committed(id: &str, meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if meta.nlink() > 1 {
        return Err(StoreError::UploadUnknown(id.into()));
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
        .map_err(StoreError::Io)
}

fn not_found_to_none<T>(r: std::io::Result<T>) -> std::io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        let meta = not_found_to_none(tokio::fs::metadata(self.blob_path(digest)).await)?;
        Ok(meta.map(|m| m.len()))
    }

    async fn read(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<Option<BlobStream>> {
        let Some(mut file) =
            not_found_to_none(tokio::fs::File::open(self.blob_path(digest)).await)?
        else {
            return Ok(None);
        };
        let stream: BlobStream = match range {
            Some(r) => {
                file.seek(std::io::SeekFrom::Start(r.start)).await?;
                let limited = file.take(r.end.saturating_sub(r.start));
                tokio_util::io::ReaderStream::with_capacity(limited, READ_CHUNK).boxed()
            }
            None => tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
        };
        Ok(Some(stream))
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        Ok(not_found_to_none(tokio::fs::remove_file(self.blob_path(digest)).await)?.is_some())
    }

    async fn list(&self) -> Result<Vec<(Digest, i64)>> {
        let root = self.root.join("blobs");
        blocking(move || {
            let mut out = Vec::new();
            for alg in [Algorithm::Sha256, Algorithm::Sha512] {
                let Some(prefixes) = not_found_to_none(std::fs::read_dir(root.join(alg.as_str())))?
                else {
                    continue;
                };
                for prefix in prefixes {
                    for entry in std::fs::read_dir(prefix?.path())? {
                        let entry = entry?;
                        let candidate =
                            format!("{}:{}", alg.as_str(), entry.file_name().to_string_lossy());
                        // Anything else in the tree is not ours to report.
                        if let Ok(d) = candidate.parse::<Digest>() {
                            out.push((d, mtime_millis(&entry.metadata()?)));
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn used_bytes(&self) -> Result<u64> {
        let digests = self.list().await?;
        let paths: Vec<PathBuf> = digests.iter().map(|(d, _)| self.blob_path(d)).collect();
        blocking(move || {
            let mut total = 0;
            for p in paths {
                if let Some(m) = not_found_to_none(std::fs::metadata(p))? {
                    total += m.len();
                }
            }
            Ok(total)
        })
        .await
    }

    async fn upload_start(&self, id: &str) -> Result<()> {
        let path = self.upload_path(id)?;
        tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        *self.slot(id).lock().await = Some(HashState {
            size: 0,
            hasher: Algorithm::Sha256.hasher(),
            undo: None,
        });
        Ok(())
    }

    async fn upload_size(&self, id: &str) -> Result<Option<u64>> {
        let path = self.upload_path(id)?;
        Ok(not_found_to_none(tokio::fs::metadata(path).await)?.map(|m| m.len()))
    }

    async fn upload_append(
        &self,
        id: &str,
        offset: u64,
        mut body: BlobStream,
        max_size: u64,
    ) -> Result<u64> {
        let path = self.upload_path(id)?;
        let mut guard = self.slot(id).lock_owned().await;
        let Some(meta) = not_found_to_none(tokio::fs::metadata(&path).await)? else {
            return Err(StoreError::UploadUnknown(id.into()));
        };
        refuse_committed(id, &meta)?;
        if meta.len() != offset {
            return Err(StoreError::UploadOffset {
                expected: meta.len(),
                got: offset,
            });
        }
        let mut state = match guard.take() {
            Some(s) if s.size == offset => s,
            // After a restart (or a failed write) the running hash is rebuilt from the bytes.
            _ => {
                let p = path.clone();
                blocking(move || hash_file(&p, Algorithm::Sha256)).await?
            }
        };
        state.undo = Some((offset, clone_hasher(&state.hasher)));
        *guard = Some(state);
        let mut idle = Some(Appender {
            guard,
            path,
            file: None,
        });
        let mut busy: Option<tokio::task::JoinHandle<Written>> = None;
        // Ends the write in flight, if any: the appender comes back, the buffer is reused.
        async fn settle(
            busy: &mut Option<tokio::task::JoinHandle<Written>>,
            idle: &mut Option<Appender>,
            spare: &mut Vec<u8>,
        ) -> std::io::Result<()> {
            let Some(handle) = busy.take() else {
                return Ok(());
            };
            let (appender, buffer, result) = handle.await.map_err(std::io::Error::other)?;
            *idle = Some(appender);
            *spare = buffer;
            result
        }
        let mut buf: Vec<u8> = Vec::new();
        let mut spare: Vec<u8> = Vec::new();
        let mut failure: Option<StoreError> = None;
        let mut written: std::io::Result<()> = Ok(());
        let mut total = offset;
        while let Some(item) = body.next().await {
            match item {
                Ok(chunk) => {
                    total += chunk.len() as u64;
                    if total > max_size {
                        failure = Some(StoreError::TooLarge(format!(
                            "upload exceeds the {max_size}-byte limit"
                        )));
                        break;
                    }
                    buf.extend_from_slice(&chunk);
                    if buf.len() >= WRITE_BATCH {
                        written = settle(&mut busy, &mut idle, &mut spare).await;
                        let Some(appender) = idle.take().filter(|_| written.is_ok()) else {
                            break;
                        };
                        let batch = std::mem::replace(&mut buf, std::mem::take(&mut spare));
                        busy = Some(write_batch(appender, batch));
                    }
                }
                Err(e) => {
                    failure = Some(StoreError::Io(e));
                    break;
                }
            }
        }
        // Bytes that arrived before a failing body stay in the upload, so the client can resume.
        if written.is_ok() {
            written = settle(&mut busy, &mut idle, &mut spare).await;
        }
        if written.is_ok()
            && !buf.is_empty()
            && let Some(appender) = idle.take()
        {
            busy = Some(write_batch(appender, buf));
            written = settle(&mut busy, &mut idle, &mut spare).await;
        }
        written?;
        let size = idle
            .as_ref()
            .and_then(|a| a.guard.as_ref())
            .map(|s| s.size)
            .ok_or_else(|| StoreError::Io(std::io::Error::other("upload writer lost")))?;
        match failure {
            Some(e) => Err(e),
            None => Ok(size),
        }
    }

    async fn upload_truncate(&self, id: &str, size: u64) -> Result<()> {
        let path = self.upload_path(id)?;
        let slot = self.slot(id);
        let mut guard = slot.lock().await;
        let Some(meta) = not_found_to_none(tokio::fs::metadata(&path).await)? else {
            return Err(StoreError::UploadUnknown(id.into()));
        };
        refuse_committed(id, &meta)?;
        let len = meta.len();
        if size > len {
            return Err(StoreError::UploadOffset {
                expected: len,
                got: size,
            });
        }
        if size == len {
            return Ok(());
        }
        let state = guard.take();
        let p = path.clone();
        blocking(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&p)?
                .set_len(size)
        })
        .await?;
        *guard = match state {
            Some(HashState {
                undo: Some((at, hasher)),
                ..
            }) if at == size => Some(HashState {
                size,
                hasher,
                undo: None,
            }),
            _ if size == 0 => Some(HashState {
                size,
                hasher: Algorithm::Sha256.hasher(),
                undo: None,
            }),
            // Rebuilt from the file by the next append or commit.
            _ => None,
        };
        Ok(())
    }

    async fn upload_commit(&self, id: &str, expected: &Digest) -> Result<CommitOutcome> {
        let path = self.upload_path(id)?;
        let slot = self.slot(id);
        let mut guard = slot.lock().await;
        let Some(meta) = not_found_to_none(tokio::fs::metadata(&path).await)? else {
            return Err(StoreError::UploadUnknown(id.into()));
        };
        let size = meta.len();
        let verified = self
            .verified_as(id)
            .is_some_and(|(d, n)| &d == expected && n == size);
        if !verified {
            let state = match guard.take() {
                Some(s) if s.size == size && s.hasher.algorithm() == expected.algorithm() => s,
                _ => {
                    let p = path.clone();
                    let alg = expected.algorithm();
                    blocking(move || hash_file(&p, alg)).await?
                }
            };
            let actual = state.hasher.finish();
            if &actual != expected {
                drop(guard);
                self.upload_cancel(id).await?;
                return Ok(CommitOutcome::DigestMismatch { actual });
            }
            self.remember_verified(id, expected.clone(), size);
        }
        let target = self.blob_path(expected);
        blocking(move || {
            let dir = target.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let file = std::fs::File::options().write(true).open(&path)?;
            // The commit time, not the last write, dates the blob for garbage collection.
            file.set_modified(std::time::SystemTime::now())?;
            file.sync_all()?;
            // A hard link, not a rename: the upload keeps the bytes until it is cancelled, so the
            // caller can make the blob present again if a deletion raced this commit. An existing
            // file has the same digest, hence the same bytes, and stays.
            match std::fs::hard_link(&path, &target) {
                Ok(()) => sync_dir(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await?;
        drop(guard);
        Ok(CommitOutcome::Committed { size })
    }

    async fn upload_cancel(&self, id: &str) -> Result<()> {
        let path = self.upload_path(id)?;
        not_found_to_none(tokio::fs::remove_file(path).await)?;
        self.forget(id);
        Ok(())
    }

    async fn list_uploads(&self) -> Result<Vec<(String, i64)>> {
        let dir = self.root.join("uploads");
        blocking(move || {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let modified = mtime_millis(&entry.metadata()?);
                out.push((entry.file_name().to_string_lossy().into_owned(), modified));
            }
            Ok(out)
        })
        .await
    }
}
