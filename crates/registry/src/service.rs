//! The registry's operations over the stores, with their caches and events.
use crate::caches::Caches;
use crate::caches::notice::CacheNotice;
use crate::events::{EventSink, RegistryEvent};
use berth_oci::Digest;
use berth_store::{
    BlobStore, Instance, ManifestSelector, MetadataStore, NewManifest, PutManifestOutcome, RefKind,
    Repository, StoreError, StoredManifest,
};
use std::sync::{Arc, RwLock};

/// A manifest named by tag or by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestReference {
    Tag(String),
    Digest(Digest),
}

pub struct Registry {
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) caches: Arc<Caches>,
    /// Blob GETs answer with a redirect to a URL valid this long, when the blob store has such
    /// URLs (presigned S3 URLs); `None`: berth serves the bytes (the default).
    pub(crate) blob_redirect_ttl: Option<std::time::Duration>,
    /// Registered at startup, before the first request; read on every write.
    sinks: RwLock<Vec<Arc<dyn EventSink>>>,
}

impl Registry {
    pub fn new(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        caches: Arc<Caches>,
    ) -> Registry {
        Registry {
            meta,
            blobs,
            caches,
            blob_redirect_ttl: None,
            sinks: RwLock::new(Vec::new()),
        }
    }

    /// Pulls of blobs are redirected to the blob store for URLs valid `ttl` (`blobs.redirect`
    /// in berth's configuration), when it has such URLs; `None` turns it off (the default).
    pub fn with_blob_redirects(mut self, ttl: Option<std::time::Duration>) -> Registry {
        self.blob_redirect_ttl = ttl;
        self
    }

    pub fn add_sink(&self, sink: Arc<dyn EventSink>) {
        self.sinks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(sink);
    }

    /// Tells the other processes on the store what this one's write made stale (this process's
    /// caches were updated by the caller). Sent from a task of its own: the write is committed
    /// and the request need not wait; a lost notice leaves the others with entries that expire
    /// within seconds.
    pub(crate) fn announce(&self, notice: CacheNotice) {
        let meta = self.meta.clone();
        // Outside a runtime (a synchronous test), there is nobody else to tell.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let text = notice.encode();
            if let Err(e) = meta
                .publish_notice(crate::caches::notice::TOPIC, &text)
                .await
            {
                tracing::warn!(error = %e, notice = %text, "cannot tell other processes about a change");
            }
        });
    }

    /// Tells every sink, in registration order.
    pub async fn emit(&self, event: RegistryEvent<'_>) {
        let sinks = self.sinks.read().unwrap_or_else(|p| p.into_inner()).clone();
        for sink in sinks {
            sink.on_event(&event).await;
        }
    }

    /// The manifest a reference names, through the caches (tag → digest for a few seconds,
    /// digest → bytes for long: they are immutable).
    pub async fn resolve_manifest(
        &self,
        repository_id: i64,
        reference: &ManifestReference,
    ) -> Result<Option<Arc<StoredManifest>>, StoreError> {
        let digest = match reference {
            ManifestReference::Digest(d) => d.clone(),
            ManifestReference::Tag(t) => {
                let key = (repository_id, t.clone());
                match self.caches.tags.get(&key) {
                    Some(d) => d,
                    None => {
                        let Some(meta) = self
                            .meta
                            .manifest_meta(repository_id, &ManifestSelector::Tag(t.clone()))
                            .await?
                        else {
                            return Ok(None);
                        };
                        self.caches.tags.insert(key, meta.digest.clone());
                        meta.digest
                    }
                }
            }
        };
        let key = (repository_id, digest.clone());
        if let Some(m) = self.caches.manifests.get(&key) {
            return Ok(Some(m));
        }
        let Some(m) = self
            .meta
            .get_manifest(repository_id, &ManifestSelector::Digest(digest))
            .await?
        else {
            return Ok(None);
        };
        let m = Arc::new(m);
        self.caches.manifests.insert(key, m.clone());
        Ok(Some(m))
    }

    /// Stores a manifest with its tags, then caches the tags and announces the push. The store
    /// checks in one transaction that what it references is linked into the repository; the
    /// bytes of referenced blobs are checked here first, so that a link whose bytes are gone (a
    /// crash, a hand-deleted file) cannot make a manifest that cannot be pulled. Once stored,
    /// its references keep those bytes from garbage collection.
    pub async fn put_manifest(
        &self,
        instance: &Instance,
        repository: &Repository,
        manifest: &NewManifest,
        tags: &[String],
        scannable: bool,
    ) -> Result<PutManifestOutcome, StoreError> {
        for r in manifest.refs.iter().filter(|r| r.kind == RefKind::Blob) {
            if self.blobs.stat(&r.digest).await?.is_none() {
                return Ok(PutManifestOutcome::MissingBlob(r.digest.clone()));
            }
        }
        let outcome = self
            .meta
            .put_manifest(repository.id, manifest, tags)
            .await?;
        if outcome != PutManifestOutcome::Stored {
            return Ok(outcome);
        }
        let digest = &manifest.digest;
        for t in tags {
            self.caches
                .tags
                .insert((repository.id, t.clone()), digest.clone());
            self.announce(CacheNotice::Tag {
                repository_id: repository.id,
                tag: t.clone(),
            });
        }
        self.emit(RegistryEvent::ManifestPushed {
            instance,
            repository,
            digest,
            tags,
            scannable,
        })
        .await;
        Ok(PutManifestOutcome::Stored)
    }

    /// Deletes a manifest by digest, with the tags that pointed at it; `false` if it was not
    /// there. [`StoreError::TagImmutable`] when tags point at it in a repository whose tags are
    /// immutable: nothing changed, no cache is touched and no event is emitted.
    pub async fn delete_manifest(
        &self,
        instance: &Instance,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        let deleted = self.meta.delete_manifest(repository.id, digest).await?;
        self.caches
            .manifests
            .invalidate(&(repository.id, digest.clone()));
        // Tags that pointed at it are gone too.
        self.caches.tags.invalidate_all();
        self.announce(CacheNotice::Manifest {
            repository_id: repository.id,
            digest: digest.clone(),
        });
        if deleted {
            self.emit(RegistryEvent::ManifestDeleted {
                instance,
                repository,
                digest,
            })
            .await;
        }
        Ok(deleted)
    }

    /// Deletes a tag; the digest it pointed at, or `None` if there was no such tag.
    /// [`StoreError::TagImmutable`] while the repository's tags are immutable (nothing changed).
    pub async fn delete_tag(
        &self,
        instance: &Instance,
        repository: &Repository,
        tag: &str,
    ) -> Result<Option<Digest>, StoreError> {
        let Some(meta) = self
            .meta
            .manifest_meta(repository.id, &ManifestSelector::Tag(tag.to_string()))
            .await?
        else {
            return Ok(None);
        };
        let deleted = self.meta.delete_tag(repository.id, tag).await?;
        self.caches
            .tags
            .invalidate(&(repository.id, tag.to_string()));
        if !deleted {
            return Ok(None);
        }
        self.emit(RegistryEvent::TagDeleted {
            instance,
            repository,
            tag,
            digest: &meta.digest,
        })
        .await;
        Ok(Some(meta.digest))
    }
}
