//! The byte driver: the few operations on named byte objects that the blob store's upload layer
//! ([`crate::LayeredBlobStore`]) needs, and nothing about digests, hashes or uploads.
//!
//! Boundary: a driver stores and returns bytes under [`Key`]s the layer chooses; it never decides
//! whether bytes are acceptable. Everything that makes a blob trustworthy (the digest check, the
//! size limit, the running hash and its rollback, refusing to change a committed upload) is the
//! layer's, so a new backend inherits it by implementing this trait (distribution's split between
//! `storagedriver.StorageDriver` and `blobWriter`).
//!
//! Invariant a driver must keep: [`ByteDriver::link`] is the only way bytes appear under a key
//! the layer reads as a blob, and it makes them visible whole and durable, or not at all. The
//! layer calls `link` only after verifying the source's digest, so a reader of a blob key sees
//! either nothing or verified bytes, whatever happens to the process or the machine.
//!
//! Errors are plain [`std::io::Error`]s: a full disk or bucket must keep its
//! [`std::io::ErrorKind::StorageFull`] kind, which the API answers with 507.
use crate::blob::BlobStream;
use async_trait::async_trait;
use bytes::Bytes;
use std::io;
use std::ops::Range;
use std::time::Duration;

/// The name of one stored object: `/`-separated segments, each non-empty, made of ASCII letters,
/// digits, `-`, `_` and `.`, and neither `.` nor `..`. So a key is at once a relative file path
/// that stays under a driver's root and a valid S3 object key; drivers map it without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// The key for `text`, if it is a valid key (see [`Key`]).
    pub fn parse(text: &str) -> Option<Key> {
        let valid_segment = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        text.split('/')
            .all(valid_segment)
            .then(|| Key(text.to_string()))
    }

    /// This key with `segment` appended, if `segment` is a valid single segment.
    pub fn child(&self, segment: &str) -> Option<Key> {
        if segment.contains('/') {
            return None;
        }
        Key::parse(&format!("{}/{segment}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's segments, first to last.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a driver knows about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Its length in bytes.
    pub size: u64,
    /// When its bytes were last written, or when it was linked into place (Unix milliseconds).
    pub modified: i64,
    /// Its bytes are also another key's (a hard link on a filesystem): appending to it or
    /// truncating it would change that other object too. Drivers whose `link` copies report
    /// `false`.
    pub shared: bool,
}

/// A small set of byte operations, with the durability contracts the upload layer relies on.
///
/// The layer serializes every call that changes one upload object (`append`, `truncate`, `link`
/// from it, `delete` of it through a cancel excepted), so a driver needs no locking of its own
/// for them. Objects under different keys are independent.
///
/// How an S3 driver meets each contract is noted per method; it would keep an upload as a
/// sequence of part objects (`<key>/<offset>`, so `append` is one PUT and needs no
/// read-modify-write), present them as one object, and make blobs with a server-side copy.
#[async_trait]
pub trait ByteDriver: Send + Sync + 'static {
    /// Creates an empty object at `key`. Fails with [`io::ErrorKind::AlreadyExists`] if there is
    /// one: upload ids are chosen by clients' requests, and two must never share bytes.
    ///
    /// S3: `PutObject` of an empty marker with `If-None-Match: *`.
    async fn create(&self, key: &Key) -> io::Result<()>;

    /// The object's size, time and sharing, or `None` if there is none.
    ///
    /// S3: `HeadObject` for a blob; for an upload, listing its parts (size = the sum, modified =
    /// the newest part's `LastModified`); `shared` is always `false`, since copies are independent.
    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>>;

    /// Appends `bytes` to the object at `key`, which holds exactly `offset` bytes (the layer
    /// checked, and holds the upload's lock). On success the object holds `offset + len` bytes
    /// and a later `read` or `stat`, in this process or the next, sees them; they need not be
    /// durable against a machine crash yet (`link` makes them so, and a torn upload is caught by
    /// the digest check). On failure the object holds `offset` bytes followed by some prefix of
    /// `bytes`: the layer then rebuilds its running hash from what is there.
    ///
    /// S3: `PutObject` of the part `<key>/<offset>` (a PUT is all or nothing).
    async fn append(&self, key: &Key, offset: u64, bytes: Bytes) -> io::Result<()>;

    /// Cuts the object back to its first `size` bytes (`size` is at most its length).
    ///
    /// S3: delete the parts that start at or after `size`, and rewrite the one that straddles it.
    async fn truncate(&self, key: &Key, size: u64) -> io::Result<()>;

    /// The object's bytes, or those in `range` (within its length), or `None` if there is none.
    ///
    /// S3: `GetObject` with a `Range` header; for an upload, its parts in order.
    async fn read(&self, key: &Key, range: Option<Range<u64>>) -> io::Result<Option<BlobStream>>;

    /// Deletes the object; `false` when there was none.
    ///
    /// S3: `HeadObject` then `DeleteObject` (for an upload, its parts).
    async fn delete(&self, key: &Key) -> io::Result<bool>;

    /// Every object whose key starts with the segments of `prefix`, at any depth, in no order.
    /// Names that are not valid [`Key`]s are not reported (they are not the layer's).
    ///
    /// S3: `ListObjectsV2` with the prefix (an upload's parts fold into one entry).
    async fn list(&self, prefix: &Key) -> io::Result<Vec<(Key, Stat)>>;

    /// Makes `to` hold the bytes of `from`, atomically and durably: when it returns `Ok`, `to`
    /// holds all of `from`'s bytes and survives a power cut; if it fails, or the process or
    /// machine dies during it, `to` either does not exist or holds all of them, never a part.
    /// `to`'s modification time becomes the time of the call (garbage collection dates blobs by
    /// their commit). `from` keeps its bytes (the layer may link it again after a concurrent
    /// deletion of `to`). If `to` already exists it stays as it is: the layer names objects by
    /// their content, so it holds the same bytes.
    ///
    /// S3: `HeadObject` on `to` (exists: done), then `CopyObject` for a single object or part,
    /// else the bytes re-uploaded by one PUT or a multipart upload (the parts are the layer's
    /// 512 KiB batches, below the 5 MiB an `UploadPartCopy` part needs): the object appears whole
    /// when the call completes, with `LastModified` set to then, and S3 acknowledges only durable
    /// writes. No fsync is needed.
    async fn link(&self, from: &Key, to: &Key) -> io::Result<()>;

    /// Other processes may change the same objects (replicas on one bucket). The layer then
    /// commits an upload by linking it first to a snapshot key under it (`<upload>/commit-<random>`,
    /// which no one else writes), hashing the snapshot, and linking the snapshot to the blob key,
    /// so that the bytes linked are the bytes verified. A driver that says so must let a key be
    /// both an object and the parent of others, and `delete` an upload's children with it.
    /// `false` by default (a directory one process owns).
    fn shared_between_processes(&self) -> bool {
        false
    }

    /// Whether the storage answers at all, cheaply (a readiness probe calls it twice a second
    /// per balancer): one request, whatever the number of objects. Filesystem: the root's
    /// metadata; S3: one delimited listing of the prefix.
    async fn check(&self) -> io::Result<()>;

    /// A URL from which a client can read the object at `key` for the next `ttl` without
    /// credentials, or `None` when the driver has no such URLs (the default; a filesystem).
    ///
    /// S3: a presigned `GET` URL.
    async fn presign_read(&self, key: &Key, ttl: Duration) -> io::Result<Option<String>> {
        let _ = (key, ttl);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::Key;

    #[test]
    fn keys_stay_under_the_root() {
        assert!(Key::parse("blobs/sha256/ab/abcdef").is_some());
        assert!(Key::parse("uploads/0b6f3c1e-2d4a-4c3b-9f4e-1a2b3c4d5e6f").is_some());
        for bad in [
            "", "/abs", "a//b", "a/../b", "..", ".", "a/", "a b", "a\\b", "é",
        ] {
            assert!(Key::parse(bad).is_none(), "{bad:?} must be refused");
        }
        let uploads = Key::parse("uploads");
        assert!(uploads.as_ref().and_then(|k| k.child("x/y")).is_none());
        assert_eq!(
            uploads.and_then(|k| k.child("x")).map(|k| k.to_string()),
            Some("uploads/x".to_string())
        );
    }
}
