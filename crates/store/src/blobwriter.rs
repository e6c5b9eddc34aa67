//! The upload layer: a [`BlobStore`] over any [`ByteDriver`], holding every check that makes a
//! stored blob trustworthy, so that a driver only moves bytes (distribution's `blobWriter` over
//! its `storagedriver`).
//!
//! Invariant: bytes appear under a blob key only through [`ByteDriver::link`], called after the
//! upload's bytes were verified against the digest the key names; with the driver's contract
//! (`link` is atomic and durable) a reader sees either no blob or the whole verified one.
//!
//! What lives here, whatever the driver: the key layout (`blobs/<alg>/<2 hex>/<hex>`,
//! `uploads/<uuid>`, and only canonical UUIDs as upload ids); the running SHA-256 of each upload,
//! kept in memory and rebuilt by reading the upload through the driver after a restart or a
//! failed write; the batching of appends (512 KiB batches written and hashed while the next one
//! arrives); the size limit; the rollback of the hash on truncation; the digest check at commit
//! (sha256 from the running state, sha512 by re-reading) and the discarding of a mismatch;
//! refusing to change a committed upload.
//!
//! Boundary: durability and atomicity are the driver's (fsync, rename or copy); this layer never
//! touches a file.
use crate::blob::{BlobStore, BlobStream, CommitOutcome};
use crate::driver::{ByteDriver, Key, Stat};
use crate::{Result, StoreError};
use async_trait::async_trait;
use berth_oci::{Algorithm, Digest, Hasher};
use bytes::Bytes;
use futures::StreamExt;
use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The first segment of every blob key.
pub(crate) const BLOBS: &str = "blobs";
/// The first segment of every upload key.
pub(crate) const UPLOADS: &str = "uploads";
/// How the name of an upload's commit snapshot starts (see
/// [`ByteDriver::shared_between_processes`]).
pub(crate) const SNAPSHOT: &str = "commit-";

/// Appended bytes are written in batches of this size, each by a short task (the driver's write
/// and, on a blocking thread, the hash), while the next batch is received: no thread waits for
/// the network.
const WRITE_BATCH: usize = 512 * 1024;

/// Rebuilding a hash reads the bytes back and hashes them in batches of this size on blocking
/// threads, while the next batch is read.
const HASH_BATCH: usize = 1 << 20;

/// The running SHA-256 of an upload, so that committing does not read the bytes again.
struct HashState {
    size: u64,
    hasher: Hasher,
    /// The size and hash before the last append, so that [`BlobStore::upload_truncate`] can
    /// undo that append without reading the upload again.
    undo: Option<(u64, Hasher)>,
}

/// What this process knows of one upload. None of it is needed for correctness after a restart:
/// the hash is rebuilt from the bytes, and a commit verifies again.
#[derive(Default)]
struct UploadState {
    /// `None` until rebuilt (after a restart, a failed write, or a truncation further back than
    /// the last append).
    hash: Option<HashState>,
    /// The digest and size an earlier commit verified, so that committing it again (after a
    /// racing deletion of the blob) does not read the bytes again. Any change clears it.
    verified: Option<(Digest, u64)>,
    /// A commit linked it into place: it takes no more changes, since they would not be the
    /// blob's bytes (and, on a driver whose links share bytes, would change the blob itself).
    committed: bool,
}

type UploadSlot = Arc<tokio::sync::Mutex<UploadState>>;

/// A [`BlobStore`] that verifies everything and stores bytes through `D`.
pub struct LayeredBlobStore<D: ByteDriver> {
    driver: Arc<D>,
    uploads: Mutex<HashMap<String, UploadSlot>>,
}

impl<D: ByteDriver> LayeredBlobStore<D> {
    pub fn new(driver: D) -> LayeredBlobStore<D> {
        LayeredBlobStore {
            driver: Arc::new(driver),
            uploads: Mutex::new(HashMap::new()),
        }
    }

    /// The driver underneath, for tests and tools that look at the stored objects.
    pub fn driver(&self) -> &D {
        &self.driver
    }

    fn slot(&self, id: &str) -> UploadSlot {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string()).or_default().clone()
    }

    fn forget(&self, id: &str) {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    /// Commits an upload that other processes may be writing too (replicas on one bucket): this
    /// process's lock and running hash cover only its own writes, so the upload is first linked
    /// to a snapshot only this call knows (`<upload>/commit-<random>`), the snapshot is hashed,
    /// and the snapshot, not the upload, becomes the blob: the bytes linked are the bytes
    /// verified, whatever another replica does to the upload meanwhile.
    async fn commit_snapshot(
        &self,
        id: &str,
        key: &Key,
        target: &Key,
        expected: &Digest,
        mut guard: tokio::sync::MutexGuard<'_, UploadState>,
    ) -> Result<CommitOutcome> {
        let name = format!("{SNAPSHOT}{}", uuid::Uuid::new_v4().simple());
        let snapshot = key
            .child(&name)
            .ok_or_else(|| StoreError::Corrupt(format!("{name} makes no key")))?;
        self.driver
            .link(key, &snapshot)
            .await
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => StoreError::UploadUnknown(id.into()),
                _ => StoreError::Io(e),
            })?;
        let verified = match self.hash_object(&snapshot, expected.algorithm()).await {
            Ok(Some(state)) => {
                let actual = state.hasher.finish();
                if &actual == expected {
                    self.driver
                        .link(&snapshot, target)
                        .await
                        .map(|()| CommitOutcome::Committed { size: state.size })
                        .map_err(StoreError::Io)
                } else {
                    Ok(CommitOutcome::DigestMismatch { actual })
                }
            }
            Ok(None) => Err(StoreError::UploadUnknown(id.into())),
            Err(e) => Err(e),
        };
        let removed = self.driver.delete(&snapshot).await;
        let outcome = verified?;
        removed?;
        match outcome {
            CommitOutcome::Committed { .. } => guard.committed = true,
            CommitOutcome::DigestMismatch { .. } => {
                drop(guard);
                self.upload_cancel(id).await?;
            }
        }
        Ok(outcome)
    }

    /// The upload's bytes hashed with `algorithm`, read back through the driver; `None` if the
    /// upload is gone.
    async fn hash_object(&self, key: &Key, algorithm: Algorithm) -> Result<Option<HashState>> {
        let Some(mut stream) = self.driver.read(key, None).await? else {
            return Ok(None);
        };
        let mut idle = Some(algorithm.hasher());
        let mut busy: Option<JoinHandle<Hasher>> = None;
        let mut buf: Vec<u8> = Vec::new();
        let mut size = 0u64;
        loop {
            let chunk = stream.next().await.transpose()?;
            let done = chunk.is_none();
            if let Some(chunk) = &chunk {
                size += chunk.len() as u64;
                buf.extend_from_slice(chunk);
            }
            if buf.len() >= HASH_BATCH || (done && !buf.is_empty()) {
                if let Some(handle) = busy.take() {
                    idle = Some(handle.await.map_err(io::Error::other)?);
                }
                let mut hasher = idle.take().ok_or_else(|| io::Error::other("hasher lost"))?;
                let batch = std::mem::take(&mut buf);
                busy = Some(tokio::task::spawn_blocking(move || {
                    hasher.update(&batch);
                    hasher
                }));
            }
            if done {
                break;
            }
        }
        let hasher = match busy {
            Some(handle) => handle.await.map_err(io::Error::other)?,
            None => idle.ok_or_else(|| io::Error::other("hasher lost"))?,
        };
        Ok(Some(HashState {
            size,
            hasher,
            undo: None,
        }))
    }
}

/// The key of an upload. Ids come from requests and become keys: only canonical UUIDs are
/// allowed.
fn upload_key(id: &str) -> Result<Key> {
    let unknown = || StoreError::UploadUnknown(id.into());
    let parsed = uuid::Uuid::parse_str(id).map_err(|_| unknown())?;
    if parsed.hyphenated().to_string() != id {
        return Err(unknown());
    }
    Key::parse(&format!("{UPLOADS}/{id}")).ok_or_else(unknown)
}

fn blob_key(digest: &Digest) -> Result<Key> {
    let hex = digest.hex();
    let prefix = hex.get(..2).unwrap_or(hex);
    Key::parse(&format!(
        "{BLOBS}/{}/{prefix}/{hex}",
        digest.algorithm().as_str()
    ))
    .ok_or_else(|| StoreError::Corrupt(format!("digest {digest} makes no blob key")))
}

/// The digest a listed key stores, if it is exactly a blob key: anything else under the prefix
/// is not ours to report.
fn digest_of(key: &Key) -> Option<Digest> {
    let segments: Vec<&str> = key.segments().collect();
    let [BLOBS, alg, _, hex] = segments.as_slice() else {
        return None;
    };
    let digest = format!("{alg}:{hex}").parse::<Digest>().ok()?;
    (blob_key(&digest).ok()? == *key).then_some(digest)
}

fn prefix_key(segment: &str) -> Result<Key> {
    Key::parse(segment).ok_or_else(|| StoreError::Corrupt(format!("bad key prefix {segment}")))
}

/// A committed upload takes no more bytes: they would not be the blob's, and on a driver whose
/// links share bytes (hard links) they would change a stored blob under its digest, for every
/// repository that links it. The driver's `shared` covers uploads committed before a restart.
fn refuse_committed(id: &str, stat: &Stat, state: &UploadState) -> Result<()> {
    if stat.shared || state.committed {
        return Err(StoreError::UploadUnknown(id.into()));
    }
    Ok(())
}

/// An append's hold on its upload: the upload's lock (with the hash state) and the driver. It
/// moves into the task that writes a batch and back, so a request dropped while a batch is being
/// written still releases the lock only after that write, with the hash state matching the bytes.
struct Appender<D: ByteDriver> {
    guard: tokio::sync::OwnedMutexGuard<UploadState>,
    driver: Arc<D>,
    key: Key,
}

impl<D: ByteDriver> Appender<D> {
    /// Writes `batch` through the driver while a blocking thread hashes it. After a failed write
    /// the upload may hold bytes the hash has not seen: the state is dropped, to be rebuilt from
    /// the bytes.
    async fn write(&mut self, batch: Vec<u8>) -> io::Result<()> {
        let Some(mut state) = self.guard.hash.take() else {
            return Err(io::Error::other("upload hash state lost"));
        };
        let offset = state.size;
        let bytes = Bytes::from(batch);
        let hashed = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || {
                state.hasher.update(&bytes);
                state.size += bytes.len() as u64;
                state
            })
        };
        let written = self.driver.append(&self.key, offset, bytes).await;
        let hashed = hashed.await;
        match (written, hashed) {
            (Ok(()), Ok(state)) => {
                self.guard.hash = Some(state);
                Ok(())
            }
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(io::Error::other(e)),
        }
    }
}

type Written<D> = (Appender<D>, io::Result<()>);

/// Writes one batch on its own task; hands back the appender.
fn write_batch<D: ByteDriver>(mut appender: Appender<D>, batch: Vec<u8>) -> JoinHandle<Written<D>> {
    tokio::spawn(async move {
        let result = appender.write(batch).await;
        (appender, result)
    })
}

/// Ends the write in flight, if any: the appender comes back.
async fn settle<D: ByteDriver>(
    busy: &mut Option<JoinHandle<Written<D>>>,
    idle: &mut Option<Appender<D>>,
) -> io::Result<()> {
    let Some(handle) = busy.take() else {
        return Ok(());
    };
    let (appender, result) = handle.await.map_err(io::Error::other)?;
    *idle = Some(appender);
    result
}

#[async_trait]
impl<D: ByteDriver> BlobStore for LayeredBlobStore<D> {
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        let stat = self.driver.stat(&blob_key(digest)?).await?;
        Ok(stat.map(|s| s.size))
    }

    async fn read(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<Option<BlobStream>> {
        Ok(self.driver.read(&blob_key(digest)?, range).await?)
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        Ok(self.driver.delete(&blob_key(digest)?).await?)
    }

    async fn list(&self) -> Result<Vec<(Digest, i64)>> {
        let listed = self.driver.list(&prefix_key(BLOBS)?).await?;
        Ok(listed
            .into_iter()
            .filter_map(|(key, stat)| Some((digest_of(&key)?, stat.modified)))
            .collect())
    }

    async fn redirect_url(
        &self,
        digest: &Digest,
        ttl: std::time::Duration,
    ) -> Result<Option<String>> {
        Ok(self.driver.presign_read(&blob_key(digest)?, ttl).await?)
    }

    async fn used_bytes(&self) -> Result<u64> {
        let listed = self.driver.list(&prefix_key(BLOBS)?).await?;
        Ok(listed
            .iter()
            .filter(|(key, _)| digest_of(key).is_some())
            .map(|(_, stat)| stat.size)
            .sum())
    }

    async fn upload_start(&self, id: &str) -> Result<()> {
        let key = upload_key(id)?;
        self.driver.create(&key).await?;
        *self.slot(id).lock().await = UploadState {
            hash: Some(HashState {
                size: 0,
                hasher: Algorithm::Sha256.hasher(),
                undo: None,
            }),
            ..UploadState::default()
        };
        Ok(())
    }

    async fn upload_size(&self, id: &str) -> Result<Option<u64>> {
        let stat = self.driver.stat(&upload_key(id)?).await?;
        Ok(stat.map(|s| s.size))
    }

    async fn upload_append(
        &self,
        id: &str,
        offset: u64,
        mut body: BlobStream,
        max_size: u64,
    ) -> Result<u64> {
        let key = upload_key(id)?;
        let mut guard = self.slot(id).lock_owned().await;
        let Some(stat) = self.driver.stat(&key).await? else {
            return Err(StoreError::UploadUnknown(id.into()));
        };
        refuse_committed(id, &stat, &guard)?;
        if stat.size != offset {
            return Err(StoreError::UploadOffset {
                expected: stat.size,
                got: offset,
            });
        }
        guard.verified = None;
        let mut state = match guard.hash.take() {
            Some(s) if s.size == offset => s,
            // After a restart (or a failed write) the running hash is rebuilt from the bytes.
            _ => self
                .hash_object(&key, Algorithm::Sha256)
                .await?
                .ok_or_else(|| StoreError::UploadUnknown(id.into()))?,
        };
        // Another process (a replica on the same bucket) may have appended since the stat: the
        // bytes read back are what the next write follows.
        if state.size != offset {
            let expected = state.size;
            guard.hash = Some(state);
            return Err(StoreError::UploadOffset {
                expected,
                got: offset,
            });
        }
        state.undo = Some((offset, state.hasher.clone()));
        guard.hash = Some(state);
        let mut idle = Some(Appender {
            guard,
            driver: self.driver.clone(),
            key,
        });
        let mut busy: Option<JoinHandle<Written<D>>> = None;
        let mut buf: Vec<u8> = Vec::with_capacity(WRITE_BATCH);
        let mut failure: Option<StoreError> = None;
        let mut written: io::Result<()> = Ok(());
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
                        written = settle(&mut busy, &mut idle).await;
                        let Some(appender) = idle.take().filter(|_| written.is_ok()) else {
                            break;
                        };
                        let batch = std::mem::replace(&mut buf, Vec::with_capacity(WRITE_BATCH));
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
            written = settle(&mut busy, &mut idle).await;
        }
        if written.is_ok()
            && !buf.is_empty()
            && let Some(appender) = idle.take()
        {
            busy = Some(write_batch(appender, buf));
            written = settle(&mut busy, &mut idle).await;
        }
        written.map_err(|e| match e.kind() {
            // Cancelled while the body was arriving.
            io::ErrorKind::NotFound => StoreError::UploadUnknown(id.into()),
            _ => StoreError::Io(e),
        })?;
        let size = idle
            .as_ref()
            .and_then(|a| a.guard.hash.as_ref())
            .map(|s| s.size)
            .ok_or_else(|| StoreError::Io(io::Error::other("upload writer lost")))?;
        match failure {
            Some(e) => Err(e),
            None => Ok(size),
        }
    }

    async fn upload_truncate(&self, id: &str, size: u64) -> Result<()> {
        let key = upload_key(id)?;
        let slot = self.slot(id);
        let mut guard = slot.lock().await;
        let Some(stat) = self.driver.stat(&key).await? else {
            return Err(StoreError::UploadUnknown(id.into()));
        };
        refuse_committed(id, &stat, &guard)?;
        let len = stat.size;
        if size > len {
            return Err(StoreError::UploadOffset {
                expected: len,
                got: size,
            });
        }
        if size == len {
            return Ok(());
        }
        let state = guard.hash.take();
        guard.verified = None;
        self.driver.truncate(&key, size).await?;
        guard.hash = match state {
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
            // Rebuilt from the bytes by the next append or commit.
            _ => None,
        };
        Ok(())
    }

    async fn upload_commit(&self, id: &str, expected: &Digest) -> Result<CommitOutcome> {
        let key = upload_key(id)?;
        let target = blob_key(expected)?;
        let slot = self.slot(id);
        let mut guard = slot.lock().await;
        let Some(stat) = self.driver.stat(&key).await? else {
            return Err(StoreError::UploadUnknown(id.into()));
        };
        if self.driver.shared_between_processes() {
            return self
                .commit_snapshot(id, &key, &target, expected, guard)
                .await;
        }
        let size = stat.size;
        let verified = guard
            .verified
            .as_ref()
            .is_some_and(|(d, n)| d == expected && *n == size);
        if !verified {
            let state = match guard.hash.take() {
                Some(s) if s.size == size && s.hasher.algorithm() == expected.algorithm() => s,
                _ => self
                    .hash_object(&key, expected.algorithm())
                    .await?
                    .ok_or_else(|| StoreError::UploadUnknown(id.into()))?,
            };
            // The bytes hashed are the bytes linked: the lock keeps every change out meanwhile.
            if state.size != size {
                return Err(StoreError::Io(io::Error::other(
                    "the upload changed while it was verified",
                )));
            }
            let actual = state.hasher.finish();
            if &actual != expected {
                drop(guard);
                self.upload_cancel(id).await?;
                return Ok(CommitOutcome::DigestMismatch { actual });
            }
            guard.verified = Some((expected.clone(), size));
        }
        // The upload keeps its bytes until it is cancelled, so the caller can make the blob
        // present again if a deletion raced this commit.
        self.driver.link(&key, &target).await?;
        guard.committed = true;
        drop(guard);
        Ok(CommitOutcome::Committed { size })
    }

    async fn upload_cancel(&self, id: &str) -> Result<()> {
        let key = upload_key(id)?;
        self.driver.delete(&key).await?;
        self.forget(id);
        Ok(())
    }

    async fn ready(&self) -> Result<()> {
        Ok(self.driver.check().await?)
    }

    async fn list_uploads(&self) -> Result<Vec<(String, i64)>> {
        let listed = self.driver.list(&prefix_key(UPLOADS)?).await?;
        Ok(listed
            .into_iter()
            .filter_map(|(key, stat)| {
                let mut segments = key.segments();
                let (Some(UPLOADS), Some(name), None) =
                    (segments.next(), segments.next(), segments.next())
                else {
                    return None;
                };
                Some((name.to_string(), stat.modified))
            })
            .collect())
    }
}
