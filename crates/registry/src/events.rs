//! What the registry announces after a committed change, and who listens (distribution's
//! notification sinks are the model): webhooks, scan-on-push, audit. A sink is told in the
//! order of the writes of one request; a failing sink logs and does not fail the write, which
//! is already committed.
use async_trait::async_trait;
use berth_oci::Digest;
use berth_store::{Instance, Repository};

#[derive(Debug, Clone, Copy)]
pub enum RegistryEvent<'a> {
    /// A manifest was stored (and tagged with `tags`, possibly none).
    ManifestPushed {
        instance: &'a Instance,
        repository: &'a Repository,
        digest: &'a Digest,
        tags: &'a [String],
        /// An image or index with an image config (not an artifact, not a referrer): what a
        /// scanner can read.
        scannable: bool,
    },
    /// A manifest was deleted by digest (its tags went with it).
    ManifestDeleted {
        instance: &'a Instance,
        repository: &'a Repository,
        digest: &'a Digest,
    },
    /// A tag was deleted; `digest` is what it pointed at.
    TagDeleted {
        instance: &'a Instance,
        repository: &'a Repository,
        tag: &'a str,
        digest: &'a Digest,
    },
}

#[async_trait]
pub trait EventSink: Send + Sync {
    async fn on_event(&self, event: &RegistryEvent<'_>);
}
