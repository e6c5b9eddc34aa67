//! [`S3Driver`]: each [`ByteDriver`] operation as S3 requests (see the module doc of `s3` for
//! the key layout).
use super::errors::to_io;
use super::options::{S3Options, build, parse_url};
use super::parts::{Part, contiguous, part_name, part_offset};
use crate::blob::BlobStream;
use crate::driver::{ByteDriver, Key, Stat};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    GetOptions, GetRange, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload,
};
use std::io;
use std::ops::Range;
use std::time::Duration;

/// Uploads up to this size become a blob by one PUT of their bytes; larger ones by a multipart
/// upload of parts this size (S3 wants 5 MiB or more for every part but the last).
const LINK_PART: usize = 8 * 1024 * 1024;

/// The largest object S3 copies in one `CopyObject`.
const COPY_MAX: u64 = 5 * 1024 * 1024 * 1024;

/// A [`ByteDriver`] over one bucket, under an optional key prefix.
pub struct S3Driver {
    store: AmazonS3,
    /// `<prefix>/` or empty.
    root: String,
}

fn millis(meta: &ObjectMeta) -> i64 {
    meta.last_modified.timestamp_millis()
}

fn empty_stream() -> BlobStream {
    futures::stream::empty().boxed()
}

fn not_found(key: &Key) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no object {key}"))
}

impl S3Driver {
    /// The driver for `s3://bucket[/prefix]` (see [`crate::S3BlobStore::open_s3`]).
    pub fn open(url: &str, options: &S3Options) -> io::Result<S3Driver> {
        let (bucket, prefix) = parse_url(url)?;
        Ok(S3Driver {
            store: build(&bucket, options)?,
            root: prefix.map(|p| format!("{p}/")).unwrap_or_default(),
        })
    }

    fn path(&self, key: &Key) -> Path {
        // Keys and the prefix are made of characters S3 and `Path` take as they are.
        Path::from(format!("{}{key}", self.root))
    }

    fn key_of(&self, path: &Path) -> Option<Key> {
        Key::parse(path.as_ref().strip_prefix(self.root.as_str())?)
    }

    async fn head(&self, path: &Path) -> io::Result<Option<ObjectMeta>> {
        match self.store.head(path).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(to_io(e)),
        }
    }

    /// Every object under `key/` (an upload's parts and commit snapshots).
    async fn children(&self, key: &Key) -> io::Result<Vec<ObjectMeta>> {
        self.store
            .list(Some(&self.path(key)))
            .try_collect()
            .await
            .map_err(to_io)
    }

    /// Every part object directly under `key`, in no particular order.
    async fn parts(&self, key: &Key) -> io::Result<Vec<Part>> {
        let prefix = self.path(key);
        Ok(self
            .children(key)
            .await?
            .into_iter()
            .filter_map(|meta| {
                let rest = meta.location.prefix_match(&prefix)?.collect::<Vec<_>>();
                let [name] = rest.as_slice() else {
                    return None;
                };
                Some(Part {
                    offset: part_offset(name.as_ref())?,
                    size: meta.size,
                    modified: millis(&meta),
                    path: meta.location.clone(),
                })
            })
            .collect())
    }

    /// The object at `key`: a plain object (a blob, or an upload marker with no parts yet)
    /// or an upload's parts.
    async fn object(&self, key: &Key) -> io::Result<Option<Object>> {
        let Some(meta) = self.head(&self.path(key)).await? else {
            return Ok(None);
        };
        // Markers are empty; so is the empty blob, which has no parts.
        if meta.size > 0 {
            return Ok(Some(Object::Plain(meta)));
        }
        let parts = contiguous(self.parts(key).await?);
        Ok(Some(if parts.is_empty() {
            Object::Plain(meta)
        } else {
            Object::Parts(meta, parts)
        }))
    }

    async fn get(&self, path: &Path, range: Option<Range<u64>>) -> io::Result<BlobStream> {
        if range.as_ref().is_some_and(|r| r.is_empty()) {
            return Ok(empty_stream());
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(path, options).await.map_err(to_io)?;
        Ok(result.into_stream().map_err(to_io).boxed())
    }

    /// The bytes of `parts` (in order, contiguous from 0) within `range`, read part by part as
    /// the stream is consumed.
    fn read_parts(&self, parts: Vec<Part>, range: Range<u64>) -> BlobStream {
        let store = self.store.clone();
        let pieces: Vec<(Path, Range<u64>)> = parts
            .into_iter()
            .filter(|p| p.offset < range.end && p.end() > range.start)
            .map(|p| {
                let start = range.start.max(p.offset) - p.offset;
                let end = range.end.min(p.end()) - p.offset;
                (p.path, start..end)
            })
            .collect();
        futures::stream::iter(pieces)
            .then(move |(path, within)| {
                let store = store.clone();
                async move {
                    let options = GetOptions {
                        range: Some(GetRange::Bounded(within)),
                        ..GetOptions::default()
                    };
                    let result = store.get_opts(&path, options).await.map_err(to_io)?;
                    Ok::<_, io::Error>(result.into_stream().map_err(to_io))
                }
            })
            .try_flatten()
            .boxed()
    }

    /// Deletes `parts` from the last to the first, so that what remains after a failure midway
    /// is still a contiguous upload (shorter, never with a gap).
    async fn delete_parts(&self, mut parts: Vec<Part>) -> io::Result<()> {
        parts.sort_by_key(|p| std::cmp::Reverse(p.offset));
        for part in parts {
            match self.store.delete(&part.path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(to_io(e)),
            }
        }
        Ok(())
    }

    /// Writes the bytes of `parts` as one new object at `to`: one PUT when small, else a
    /// multipart upload that S3 makes visible whole at its completion (and that is aborted on
    /// failure, so no stray parts are billed).
    async fn rewrite(&self, parts: Vec<Part>, total: u64, to: &Path) -> io::Result<()> {
        let mut bytes = self.read_parts(parts, 0..total);
        if total <= LINK_PART as u64 {
            let mut all = BytesMut::with_capacity(usize::try_from(total).unwrap_or(0));
            while let Some(chunk) = bytes.next().await {
                all.extend_from_slice(&chunk?);
            }
            let payload = PutPayload::from(all.freeze());
            return self.store.put(to, payload).await.map(drop).map_err(to_io);
        }
        let mut upload = self.store.put_multipart(to).await.map_err(to_io)?;
        let sent = send_parts(upload.as_mut(), bytes).await;
        let completed = match sent {
            Ok(()) => upload.complete().await.map(drop).map_err(to_io),
            Err(e) => Err(e),
        };
        if completed.is_err() {
            // Best effort: a leftover multipart upload holds no visible object.
            let _ = upload.abort().await;
        }
        completed
    }
}

/// Sends `bytes` as parts of `LINK_PART` bytes (the last one shorter).
async fn send_parts(upload: &mut dyn MultipartUpload, mut bytes: BlobStream) -> io::Result<()> {
    let mut buf = BytesMut::with_capacity(LINK_PART);
    loop {
        let chunk = bytes.next().await.transpose()?;
        let done = chunk.is_none();
        if let Some(chunk) = chunk {
            buf.extend_from_slice(&chunk);
        }
        while buf.len() >= LINK_PART || (done && !buf.is_empty()) {
            let take = buf.len().min(LINK_PART);
            let part = buf.split_to(take).freeze();
            upload
                .put_part(PutPayload::from(part))
                .await
                .map_err(to_io)?;
        }
        if done {
            return Ok(());
        }
    }
}

/// What is stored under a key.
enum Object {
    /// One object: a blob, or an empty upload (its marker alone).
    Plain(ObjectMeta),
    /// An upload's marker and its parts (contiguous from offset 0).
    Parts(ObjectMeta, Vec<Part>),
}

impl Object {
    fn stat(&self) -> Stat {
        let (size, modified) = match self {
            Object::Plain(meta) => (meta.size, millis(meta)),
            Object::Parts(meta, parts) => (
                parts.iter().map(|p| p.size).sum(),
                parts
                    .iter()
                    .map(|p| p.modified)
                    .fold(millis(meta), i64::max),
            ),
        };
        Stat {
            size,
            modified,
            // A link copies: nothing is ever shared.
            shared: false,
        }
    }
}

fn create_only() -> PutOptions {
    PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    }
}

#[async_trait]
impl ByteDriver for S3Driver {
    /// One delimited listing under the prefix: fails (not found, permission denied, connection
    /// refused) when the bucket cannot be used, so a misconfiguration shows at start.
    async fn check(&self) -> io::Result<()> {
        let prefix = Path::from(self.root.trim_end_matches('/'));
        self.store
            .list_with_delimiter(Some(&prefix))
            .await
            .map(drop)
            .map_err(to_io)
    }

    /// The empty marker, with `If-None-Match: *`.
    async fn create(&self, key: &Key) -> io::Result<()> {
        self.store
            .put_opts(&self.path(key), PutPayload::default(), create_only())
            .await
            .map(drop)
            .map_err(to_io)
    }

    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        Ok(self.object(key).await?.map(|o| o.stat()))
    }

    /// One PUT of the part `<key>/<offset>`, with `If-None-Match: *`: of two replicas appending
    /// at the same offset one fails, and neither overwrites bytes the other has hashed.
    async fn append(&self, key: &Key, offset: u64, bytes: Bytes) -> io::Result<()> {
        // A cancelled upload takes no more parts (they would outlive it as orphans).
        if self.head(&self.path(key)).await?.is_none() {
            return Err(not_found(key));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let part = Path::from(format!("{}{key}/{}", self.root, part_name(offset)));
        self.store
            .put_opts(&part, PutPayload::from(bytes), create_only())
            .await
            .map(drop)
            .map_err(to_io)
    }

    /// Deletes the parts past `size` from the last one back, then replaces the part that
    /// straddles `size` with its head (a PUT replaces an object whole).
    async fn truncate(&self, key: &Key, size: u64) -> io::Result<()> {
        let parts = self.parts(key).await?;
        let (past, kept): (Vec<Part>, Vec<Part>) =
            parts.into_iter().partition(|p| p.offset >= size);
        self.delete_parts(past).await?;
        let Some(straddling) = contiguous(kept).into_iter().find(|p| p.end() > size) else {
            return Ok(());
        };
        let head = self
            .store
            .get_range(&straddling.path, 0..size - straddling.offset)
            .await
            .map_err(to_io)?;
        self.store
            .put(&straddling.path, PutPayload::from(head))
            .await
            .map(drop)
            .map_err(to_io)
    }

    async fn read(&self, key: &Key, range: Option<Range<u64>>) -> io::Result<Option<BlobStream>> {
        let stream = match self.object(key).await? {
            None => return Ok(None),
            Some(Object::Plain(meta)) if meta.size == 0 => empty_stream(),
            Some(Object::Plain(meta)) => self.get(&meta.location, range).await?,
            Some(Object::Parts(_, parts)) => {
                let total = parts.iter().map(|p| p.size).sum();
                self.read_parts(parts, range.unwrap_or(0..total))
            }
        };
        Ok(Some(stream))
    }

    /// The parts first (last to first), the marker or blob last: a failure midway leaves a
    /// shorter upload that the next cancel or expiry deletes, never a part without its upload.
    async fn delete(&self, key: &Key) -> io::Result<bool> {
        let path = self.path(key);
        let existed = self.head(&path).await?.is_some();
        self.delete_parts(self.parts(key).await?).await?;
        // Then what else is under it (a commit snapshot of a replica that died).
        for child in self.children(key).await? {
            match self.store.delete(&child.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(to_io(e)),
            }
        }
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(existed),
            Err(e) => Err(to_io(e)),
        }
    }

    /// One listing; each upload's parts and snapshots fold into its entry (also parts whose
    /// marker is gone, so that expiry finds and deletes them).
    async fn list(&self, prefix: &Key) -> io::Result<Vec<(Key, Stat)>> {
        let listed: Vec<(Key, ObjectMeta)> = self
            .store
            .list(Some(&self.path(prefix)))
            .try_collect::<Vec<ObjectMeta>>()
            .await
            .map_err(to_io)?
            .into_iter()
            .filter_map(|meta| Some((self.key_of(&meta.location)?, meta)))
            .collect();
        let objects: std::collections::HashSet<&Key> = listed.iter().map(|(k, _)| k).collect();
        let mut found: std::collections::BTreeMap<Key, Stat> = Default::default();
        for (key, meta) in &listed {
            let owner = match key.as_str().rsplit_once('/') {
                Some((parent, last)) => Key::parse(parent)
                    .filter(|p| part_offset(last).is_some() || objects.contains(p)),
                None => None,
            };
            let key = key.clone();
            let entry = found.entry(owner.unwrap_or(key)).or_insert(Stat {
                size: 0,
                modified: i64::MIN,
                shared: false,
            });
            entry.size += meta.size;
            entry.modified = entry.modified.max(millis(meta));
        }
        Ok(found.into_iter().collect())
    }

    /// `HeadObject` on `to` (there: done). A blob from one object is a server-side
    /// `CopyObject`. An upload of several parts is rewritten from its bytes, by one PUT or a
    /// multipart upload: its parts are the layer's append batches (about 512 KiB), below the
    /// 5 MiB S3 requires of each part of a multipart copy (`UploadPartCopy`), which
    /// `object_store` does not offer anyway. Every way makes the object appear whole, dated now.
    async fn link(&self, from: &Key, to: &Key) -> io::Result<()> {
        let target = self.path(to);
        if self.head(&target).await?.is_some() {
            return Ok(());
        }
        match self.object(from).await?.ok_or_else(|| not_found(from))? {
            Object::Plain(meta) if meta.size == 0 => self
                .store
                .put(&target, PutPayload::default())
                .await
                .map(drop)
                .map_err(to_io),
            Object::Plain(meta) if meta.size <= COPY_MAX => self
                .store
                .copy(&meta.location, &target)
                .await
                .map_err(to_io),
            Object::Plain(meta) => {
                let whole = Part {
                    offset: 0,
                    size: meta.size,
                    modified: millis(&meta),
                    path: meta.location.clone(),
                };
                self.rewrite(vec![whole], meta.size, &target).await
            }
            Object::Parts(_, parts) if parts.len() == 1 && parts[0].size <= COPY_MAX => self
                .store
                .copy(&parts[0].path, &target)
                .await
                .map_err(to_io),
            Object::Parts(_, parts) => {
                let total = parts.iter().map(|p| p.size).sum();
                self.rewrite(parts, total, &target).await
            }
        }
    }

    /// Replicas share the bucket: the layer commits through a snapshot (see the trait).
    fn shared_between_processes(&self) -> bool {
        true
    }

    /// A presigned `GET` URL (SigV4 query parameters) valid for `ttl`.
    async fn presign_read(&self, key: &Key, ttl: Duration) -> io::Result<Option<String>> {
        let url = self
            .store
            .signed_url(http::Method::GET, &self.path(key), ttl)
            .await
            .map_err(to_io)?;
        Ok(Some(url.to_string()))
    }
}
