//! The runtime inventory: Kubernetes clusters that report to berth, each cluster's inventory
//! snapshot (a `berth_inventory::ClusterSnapshot` stored as one JSON document), the per-cluster
//! credentials their reporters authenticate with, and the lookup from running image digests to
//! the images berth stores.
//!
//! The store does not parse snapshots: the API layer builds and checks them with
//! `berth-inventory` and hands the store the document. A snapshot is replaced whole, in one
//! statement, so no reader ever sees part of one; [`RuntimeStore::replace_snapshot`] is
//! compare-and-set on the snapshot's version, so two writers that each read, changed and wrote
//! back (a watch event applied to the stored snapshot) cannot lose each other's change.
use crate::Result;
use async_trait::async_trait;
use berth_oci::Digest;

/// A cluster as an administrator registered it. The text fields carry the inventory model's
/// wire names (`berth_inventory::ClusterType` and `ProtectionStatus`); the store keeps them as
/// they are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRecord {
    /// berth's id of the cluster: the `ClusterId` of the image-risk API.
    pub id: String,
    /// Unique among clusters.
    pub name: String,
    /// `Kubernetes`, `ManagedKubernetes`, `ServerlessKubernetes` or `ExternalKubernetes`.
    pub cluster_type: String,
    pub region: String,
    pub kubernetes_version: Option<String>,
    /// `unprotected`, `protected`, `offline` or `failed`.
    pub protection: String,
    pub created_at: i64,
}

/// A credential a cluster's reporter (agent, snapshot upload) authenticates with. The token
/// itself is never stored: only its SHA-256, as lowercase hex. Tokens are 256-bit random
/// values, so a fast hash is enough (nothing to brute-force, unlike a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterCredential {
    pub id: String,
    pub cluster_id: String,
    /// SHA-256 of the token, lowercase hex. Unique.
    pub token_hash: String,
    pub description: String,
    pub created_at: i64,
    /// When it was revoked; a revoked credential never verifies again.
    pub revoked_at: Option<i64>,
}

/// A cluster's stored inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub cluster_id: String,
    /// The `ClusterSnapshot` JSON document.
    pub document: String,
    /// 1 for the first snapshot stored, one more for each replacement.
    pub version: i64,
    pub updated_at: i64,
}

/// A stored snapshot's version and time, without its document (see
/// [`RuntimeStore::snapshot_versions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotVersion {
    pub cluster_id: String,
    pub version: i64,
    pub updated_at: i64,
}

/// What [`RuntimeStore::replace_snapshot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotWrite {
    /// Stored, with this version.
    Written { version: i64 },
    /// The stored version was not the one expected (0: none stored); nothing was written.
    Conflict { current: i64 },
    /// No such cluster (never created, or deleted); nothing was written.
    NoCluster,
}

/// A manifest stored in berth (any instance) under a digest some container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub digest: Digest,
    pub instance_id: String,
    pub instance_name: String,
    pub namespace: String,
    pub namespace_public: bool,
    pub repository_id: i64,
    /// The repository's full name, `namespace/name`.
    pub repository: String,
    /// Tags pointing at the digest in that repository, sorted.
    pub tags: Vec<String>,
    /// Whether that repository's tags are immutable ([`crate::Repository::tag_immutable`]).
    pub tag_immutable: bool,
    pub created_at: i64,
    /// The newest successful scan of the digest (in any repository: a digest is the same
    /// content everywhere).
    pub latest_scan_id: Option<i64>,
}

#[async_trait]
pub trait RuntimeStore: Send + Sync {
    /// Creates the cluster; `false` when its id or name is taken.
    async fn create_cluster(&self, cluster: &ClusterRecord) -> Result<bool>;
    /// Every cluster, in creation order.
    async fn list_clusters(&self) -> Result<Vec<ClusterRecord>>;
    async fn get_cluster(&self, id: &str) -> Result<Option<ClusterRecord>>;
    /// Deletes the cluster with its snapshot and credentials; `false` when there was none.
    async fn delete_cluster(&self, id: &str) -> Result<bool>;

    /// Records a credential; `false` when its cluster does not exist (or its id or hash is
    /// taken).
    async fn create_cluster_credential(&self, credential: &ClusterCredential) -> Result<bool>;
    /// The cluster's credentials, revoked ones included, in creation order.
    async fn list_cluster_credentials(&self, cluster_id: &str) -> Result<Vec<ClusterCredential>>;
    /// Revokes the credential; `false` when the cluster has no such credential or it was
    /// already revoked.
    async fn revoke_cluster_credential(&self, cluster_id: &str, id: &str) -> Result<bool>;
    /// The live (not revoked) credential whose token hashes to `token_hash`, whichever cluster
    /// it belongs to: the caller compares its cluster with the one the request names.
    async fn verify_cluster_credential(
        &self,
        token_hash: &str,
    ) -> Result<Option<ClusterCredential>>;

    /// Replaces the cluster's snapshot with `document`, atomically. With `expected_version`,
    /// only when the stored version is that one (0: no snapshot stored yet); without, whatever
    /// is stored.
    async fn replace_snapshot(
        &self,
        cluster_id: &str,
        document: &str,
        expected_version: Option<i64>,
    ) -> Result<SnapshotWrite>;
    async fn snapshot(&self, cluster_id: &str) -> Result<Option<StoredSnapshot>>;
    /// Every stored snapshot, ordered by cluster id.
    async fn all_snapshots(&self) -> Result<Vec<StoredSnapshot>>;
    /// The version and time of every stored snapshot, ordered by cluster id: cheap, so a
    /// reader can keep parsed snapshots and reload only those that changed.
    async fn snapshot_versions(&self) -> Result<Vec<SnapshotVersion>>;

    /// The manifests stored under any of `digests`, in any repository of any instance that is
    /// not being deleted, ordered by digest, instance and repository.
    async fn images_by_digest(&self, digests: &[Digest]) -> Result<Vec<StoredImage>>;
    /// A finished scan's report (JSON), if the scan exists and has one.
    async fn scan_result(&self, scan_id: i64) -> Result<Option<String>>;
}
