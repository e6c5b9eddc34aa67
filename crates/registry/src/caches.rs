//! Caches in front of the metadata store, on the hot read paths.
pub mod notice;

use berth_oci::Digest;
use berth_store::{Instance, Namespace, Repository, StoredManifest};
use std::sync::Arc;
use std::time::Duration;

/// How long a mutable entry (an instance, namespace, repository or tag, absence included) is
/// kept: the bound on staleness when no notice arrives.
pub const MUTABLE_LIFETIME: Duration = Duration::from_secs(5);

/// Caches in front of the metadata store. Manifests by digest are immutable, so they can stay
/// long; everything mutable has a short lifetime and is invalidated on every local write, so a
/// change made through this process is seen at once and one made elsewhere within seconds.
pub struct Caches {
    /// Instances by name, for Host-based routing.
    pub instances: moka::sync::Cache<String, Option<Arc<Instance>>>,
    pub namespaces: moka::sync::Cache<(String, String), Option<Arc<Namespace>>>,
    pub repositories: moka::sync::Cache<(String, String), Option<Arc<Repository>>>,
    pub tags: moka::sync::Cache<(i64, String), Digest>,
    pub manifests: moka::sync::Cache<(i64, Digest), Arc<StoredManifest>>,
    pub blob_links: moka::sync::Cache<(i64, Digest), u64>,
}

impl Default for Caches {
    fn default() -> Self {
        let short = MUTABLE_LIFETIME;
        Caches {
            instances: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(short)
                .build(),
            namespaces: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(short)
                .build(),
            repositories: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(short)
                .build(),
            tags: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(short)
                .build(),
            manifests: moka::sync::Cache::builder()
                .weigher(|_, m: &Arc<StoredManifest>| {
                    u32::try_from(m.content.len()).unwrap_or(u32::MAX)
                })
                .max_capacity(128 << 20)
                .time_to_live(Duration::from_secs(600))
                .build(),
            blob_links: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
        }
    }
}

impl Caches {
    pub fn clear(&self) {
        self.instances.invalidate_all();
        self.namespaces.invalidate_all();
        self.repositories.invalidate_all();
        self.tags.invalidate_all();
        self.manifests.invalidate_all();
        self.blob_links.invalidate_all();
    }
}
