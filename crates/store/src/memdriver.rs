//! A [`ByteDriver`] in memory, for tests: it behaves as an object store would (a link copies the
//! bytes, so nothing is ever `shared`; there is no fsync), and it can be told to fail, so that the
//! layer's guarantees are shown to hold without a filesystem.
//!
//! Invariant: every operation is applied whole under one lock, except an injected torn append,
//! which keeps a prefix of its bytes before failing (what a full disk does to a write).
use crate::blob::BlobStream;
use crate::driver::{ByteDriver, Key, Stat};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

/// Reads come back in pieces of this size, so that readers see several chunks.
const READ_CHUNK: usize = 100_000;

/// A failure the next matching call produces.
pub(crate) enum Fault {
    /// The next `append` stores only the first `keep` bytes of its batch, then fails.
    TornAppend { keep: usize, kind: io::ErrorKind },
    /// The next `link` fails and leaves nothing under the target.
    Link(io::ErrorKind),
}

struct Object {
    bytes: Vec<u8>,
    modified: i64,
}

#[derive(Default)]
struct Inner {
    objects: BTreeMap<Key, Object>,
    faults: Vec<Fault>,
}

/// Clones share the objects: a second layer over a clone is the same store after a restart.
#[derive(Clone, Default)]
pub(crate) struct MemDriver {
    inner: Arc<Mutex<Inner>>,
}

impl MemDriver {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// The bytes stored under `key`, whatever kind of object it is.
    pub(crate) fn bytes(&self, key: &str) -> Option<Vec<u8>> {
        let key = Key::parse(key)?;
        self.lock().objects.get(&key).map(|o| o.bytes.clone())
    }
}

fn stat_of(object: &Object) -> Stat {
    Stat {
        size: object.bytes.len() as u64,
        modified: object.modified,
        shared: false,
    }
}

fn not_found(key: &Key) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no object {key}"))
}

fn under(key: &Key, prefix: &Key) -> bool {
    let mut segments = key.segments();
    prefix.segments().all(|p| segments.next() == Some(p))
}

#[async_trait]
impl ByteDriver for MemDriver {
    async fn check(&self) -> io::Result<()> {
        Ok(())
    }

    async fn create(&self, key: &Key) -> io::Result<()> {
        let mut inner = self.lock();
        if inner.objects.contains_key(key) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                key.to_string(),
            ));
        }
        let object = Object {
            bytes: Vec::new(),
            modified: crate::now_millis(),
        };
        inner.objects.insert(key.clone(), object);
        Ok(())
    }

    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        Ok(self.lock().objects.get(key).map(stat_of))
    }

    async fn append(&self, key: &Key, offset: u64, bytes: Bytes) -> io::Result<()> {
        let mut inner = self.lock();
        let torn = match inner
            .faults
            .iter()
            .position(|f| matches!(f, Fault::TornAppend { .. }))
        {
            Some(i) => match inner.faults.remove(i) {
                Fault::TornAppend { keep, kind } => Some((keep, kind)),
                Fault::Link(_) => None,
            },
            None => None,
        };
        let object = inner.objects.get_mut(key).ok_or_else(|| not_found(key))?;
        if object.bytes.len() as u64 != offset {
            return Err(io::Error::other(format!(
                "append at {offset} to an object of {} bytes",
                object.bytes.len()
            )));
        }
        object.modified = crate::now_millis();
        match torn {
            Some((keep, kind)) => {
                object
                    .bytes
                    .extend_from_slice(bytes.get(..keep).unwrap_or(&bytes));
                Err(io::Error::new(kind, "injected torn append"))
            }
            None => {
                object.bytes.extend_from_slice(&bytes);
                Ok(())
            }
        }
    }

    async fn truncate(&self, key: &Key, size: u64) -> io::Result<()> {
        let mut inner = self.lock();
        let object = inner.objects.get_mut(key).ok_or_else(|| not_found(key))?;
        object
            .bytes
            .truncate(usize::try_from(size).map_err(io::Error::other)?);
        object.modified = crate::now_millis();
        Ok(())
    }

    async fn read(&self, key: &Key, range: Option<Range<u64>>) -> io::Result<Option<BlobStream>> {
        let inner = self.lock();
        let Some(object) = inner.objects.get(key) else {
            return Ok(None);
        };
        let len = object.bytes.len();
        let (start, end) = match range {
            Some(r) => (
                usize::try_from(r.start).unwrap_or(len).min(len),
                usize::try_from(r.end).unwrap_or(len).min(len),
            ),
            None => (0, len),
        };
        let bytes = Bytes::copy_from_slice(object.bytes.get(start..end).unwrap_or_default());
        let chunks: Vec<io::Result<Bytes>> = (0..bytes.len())
            .step_by(READ_CHUNK)
            .map(|at| Ok(bytes.slice(at..(at + READ_CHUNK).min(bytes.len()))))
            .collect();
        Ok(Some(futures::stream::iter(chunks).boxed()))
    }

    async fn delete(&self, key: &Key) -> io::Result<bool> {
        Ok(self.lock().objects.remove(key).is_some())
    }

    async fn list(&self, prefix: &Key) -> io::Result<Vec<(Key, Stat)>> {
        let inner = self.lock();
        Ok(inner
            .objects
            .iter()
            .filter(|(key, _)| under(key, prefix))
            .map(|(key, object)| (key.clone(), stat_of(object)))
            .collect())
    }

    async fn link(&self, from: &Key, to: &Key) -> io::Result<()> {
        let mut inner = self.lock();
        if let Some(i) = inner
            .faults
            .iter()
            .position(|f| matches!(f, Fault::Link(_)))
            && let Fault::Link(kind) = inner.faults.remove(i)
        {
            return Err(io::Error::new(kind, "injected link failure"));
        }
        if inner.objects.contains_key(to) {
            return Ok(());
        }
        let bytes = inner
            .objects
            .get(from)
            .ok_or_else(|| not_found(from))?
            .bytes
            .clone();
        let object = Object {
            bytes,
            modified: crate::now_millis(),
        };
        inner.objects.insert(to.clone(), object);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Fault, MemDriver};
    use crate::blob::BlobStore;
    use crate::blobwriter::LayeredBlobStore;
    use crate::{CommitOutcome, FsBlobStore, StoreError, conformance};
    use berth_oci::{Algorithm, Digest};
    use bytes::Bytes;
    use futures::{StreamExt, TryStreamExt};
    use std::io;

    fn body(chunks: Vec<Vec<u8>>) -> crate::BlobStream {
        futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c)))).boxed()
    }

    /// Opens a store over the same bytes each time: a restart.
    type Opener = Box<dyn Fn() -> Box<dyn BlobStore>>;

    fn new_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// Bytes that differ from batch to batch, so a batch written twice or skipped changes the
    /// digest.
    fn content(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
            .collect()
    }

    async fn read_all(store: &dyn BlobStore, digest: &Digest) -> Vec<u8> {
        let stream = store.read(digest, None).await.unwrap().unwrap();
        let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
        chunks.concat()
    }

    #[tokio::test]
    async fn the_layer_over_memory_conforms() {
        let store = LayeredBlobStore::new(MemDriver::default());
        conformance::blob_store(&store).await;
    }

    /// Several write batches, a restart in the middle (the hash is rebuilt from the bytes, over
    /// several hash batches), then a sha512 commit that re-reads everything: on both drivers.
    #[tokio::test]
    async fn large_uploads_resume_and_verify_on_both_drivers() {
        let dir = tempfile::tempdir().unwrap();
        let mem = MemDriver::default();
        let data = content(3 * 1024 * 1024 + 17);
        let (first, second) = data.split_at(2 * 1024 * 1024 + 5);
        let chunks = |bytes: &[u8]| bytes.chunks(64 * 1024 + 3).map(<[u8]>::to_vec).collect();
        let root = dir.path().to_path_buf();
        let stores: [(Opener, &str); 2] = [
            (
                Box::new(move || Box::new(FsBlobStore::open(root.clone()).unwrap())),
                "fs",
            ),
            (
                Box::new(move || Box::new(LayeredBlobStore::new(mem.clone()))),
                "mem",
            ),
        ];
        for (open, name) in stores {
            let id = new_id();
            {
                let store = open();
                store.upload_start(&id).await.unwrap();
                let n = store
                    .upload_append(&id, 0, body(chunks(first)), 1 << 30)
                    .await
                    .unwrap();
                assert_eq!(n, first.len() as u64, "{name}");
            }
            let store = open();
            let n = store
                .upload_append(&id, first.len() as u64, body(chunks(second)), 1 << 30)
                .await
                .unwrap();
            assert_eq!(n, data.len() as u64, "{name}");
            let sha256 = Digest::sha256_of(&data);
            let sha512 = Digest::of(Algorithm::Sha512, &data);
            for digest in [&sha256, &sha512] {
                assert_eq!(
                    store.upload_commit(&id, digest).await.unwrap(),
                    CommitOutcome::Committed {
                        size: data.len() as u64
                    },
                    "{name}"
                );
                assert_eq!(read_all(store.as_ref(), digest).await, data, "{name}");
            }
            store.upload_cancel(&id).await.unwrap();
        }
    }

    /// A write that fails halfway (a full disk) keeps a prefix the hash has not seen: the error
    /// keeps its kind (507), and the resumed upload still commits under the right digest.
    #[tokio::test]
    async fn a_torn_append_is_resumed_with_a_rebuilt_hash() {
        let mem = MemDriver::default();
        let store = LayeredBlobStore::new(mem.clone());
        let data = content(1024 * 1024 + 100);
        let id = new_id();
        store.upload_start(&id).await.unwrap();
        // Ten bytes are written whole; the next append is torn after 1000 of its bytes.
        store
            .upload_append(&id, 0, body(vec![data[..10].to_vec()]), 1 << 30)
            .await
            .unwrap();
        mem.inject(Fault::TornAppend {
            keep: 1000,
            kind: io::ErrorKind::StorageFull,
        });
        let failed = store
            .upload_append(&id, 10, body(vec![data[10..600_000].to_vec()]), 1 << 30)
            .await;
        assert!(failed.is_err_and(|e| e.is_storage_full()));
        assert_eq!(store.upload_size(&id).await.unwrap(), Some(1010));
        store
            .upload_append(&id, 1010, body(vec![data[1010..].to_vec()]), 1 << 30)
            .await
            .unwrap();
        let digest = Digest::sha256_of(&data);
        assert_eq!(
            store.upload_commit(&id, &digest).await.unwrap(),
            CommitOutcome::Committed {
                size: data.len() as u64
            }
        );
        assert_eq!(read_all(&store, &digest).await, data);
    }

    /// A link that fails leaves no blob, and the verified upload can be committed again.
    #[tokio::test]
    async fn a_failed_link_stores_nothing_and_can_be_retried() {
        let mem = MemDriver::default();
        let store = LayeredBlobStore::new(mem.clone());
        let id = new_id();
        store.upload_start(&id).await.unwrap();
        store
            .upload_append(&id, 0, body(vec![b"payload".to_vec()]), 1 << 20)
            .await
            .unwrap();
        let digest = Digest::sha256_of(b"payload");
        mem.inject(Fault::Link(io::ErrorKind::StorageFull));
        let failed = store.upload_commit(&id, &digest).await;
        assert!(failed.is_err_and(|e| e.is_storage_full()));
        assert_eq!(store.stat(&digest).await.unwrap(), None);
        assert!(store.list().await.unwrap().is_empty());
        // Not committed: the upload may still change, and a change is verified again.
        store.upload_truncate(&id, 3).await.unwrap();
        store
            .upload_append(&id, 3, body(vec![b"LOAD".to_vec()]), 1 << 20)
            .await
            .unwrap();
        assert!(matches!(
            store.upload_commit(&id, &digest).await.unwrap(),
            CommitOutcome::DigestMismatch { .. }
        ));
        let id = new_id();
        store.upload_start(&id).await.unwrap();
        store
            .upload_append(&id, 0, body(vec![b"payload".to_vec()]), 1 << 20)
            .await
            .unwrap();
        mem.inject(Fault::Link(io::ErrorKind::StorageFull));
        assert!(store.upload_commit(&id, &digest).await.is_err());
        assert_eq!(
            store.upload_commit(&id, &digest).await.unwrap(),
            CommitOutcome::Committed { size: 7 }
        );
        assert_eq!(
            mem.bytes(&format!(
                "blobs/sha256/{}/{}",
                &digest.hex()[..2],
                digest.hex()
            )),
            Some(b"payload".to_vec())
        );
    }

    /// The driver's copies are independent (nothing is `shared`): the layer itself refuses to
    /// change a committed upload, and a cancel frees it.
    #[tokio::test]
    async fn a_committed_upload_is_sealed_by_the_layer() {
        let store = LayeredBlobStore::new(MemDriver::default());
        let id = new_id();
        store.upload_start(&id).await.unwrap();
        store
            .upload_append(&id, 0, body(vec![b"abc".to_vec()]), 1 << 20)
            .await
            .unwrap();
        let digest = Digest::sha256_of(b"abc");
        store.upload_commit(&id, &digest).await.unwrap();
        assert!(matches!(
            store.upload_truncate(&id, 1).await,
            Err(StoreError::UploadUnknown(_))
        ));
        assert!(matches!(
            store
                .upload_append(&id, 3, body(vec![b"d".to_vec()]), 1 << 20)
                .await,
            Err(StoreError::UploadUnknown(_))
        ));
        store.upload_cancel(&id).await.unwrap();
        assert_eq!(read_all(&store, &digest).await, b"abc");
        assert!(store.list_uploads().await.unwrap().is_empty());
    }
}
