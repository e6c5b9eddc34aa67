//! What a decision reads, as a trait: the server's implementation reads berth's stores
//! (`store_source.rs`); tests put a store that fails or answers late in its place, which is how
//! the database-down behaviour is pinned without stopping a database.
use std::sync::Arc;

use async_trait::async_trait;
use berth_hss::policy::{Exception, ImageFindings, Policy};
use berth_oci::reference::Reference;
use berth_store::{ClusterRecord, Instance, Repository, StoreError};

/// Whether the request may speak for the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Granted(ClusterRecord),
    UnknownCluster,
    /// No credential, an unknown or revoked one, or another cluster's.
    BadCredential,
}

/// A policy and the project (berth instance) it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPolicy {
    pub project_id: String,
    pub policy: Policy,
}

/// What berth knows of an image.
#[derive(Debug, Clone, Default)]
pub struct ImageInfo {
    /// The manifest digest: the reference's own, or what berth resolved its tag to.
    pub digest: Option<String>,
    /// The berth repository the reference names, when it names one berth stores.
    pub home: Option<(Arc<Instance>, Arc<Repository>)>,
    /// The newest scan's findings (`scanned: false` when there is none).
    pub findings: Arc<ImageFindings>,
}

#[async_trait]
pub trait Source: Send + Sync {
    /// The cluster, if `token` is a live credential of it.
    async fn access(&self, cluster_id: &str, token: Option<&str>) -> Result<Access, StoreError>;
    /// Every project's policies.
    async fn policies(&self) -> Result<Arc<Vec<ProjectPolicy>>, StoreError>;
    /// The exceptions in force at `now`.
    async fn exceptions(&self, now: std::time::SystemTime) -> Result<Vec<Exception>, StoreError>;
    /// What berth knows of the image a container runs.
    async fn image(&self, reference: &Reference) -> Result<ImageInfo, StoreError>;
}
