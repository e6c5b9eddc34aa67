//! The application state shared by every handler.
use crate::auth::Auth;
use crate::config::Config;
use crate::metrics::Metrics;
pub use berth_registry::Caches;
use berth_registry::Registry;
use berth_store::{BlobStore, Instance, MetadataStore};
use std::sync::Arc;

pub struct AppState {
    pub config: Config,
    pub meta: Arc<dyn MetadataStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub auth: Auth,
    pub default_instance: Arc<Instance>,
    /// Shared with `registry`, which invalidates what its operations change.
    pub caches: Arc<Caches>,
    /// The domain operations: every write path that has side effects goes through it.
    pub registry: Registry,
    /// Private network access: the instances' allow-lists.
    pub allow_lists: crate::network::AllowListCache,
    pub metrics: Arc<Metrics>,
    /// Seals the management API keys' secrets.
    pub master_key: crate::seal::MasterKey,
    /// Wakes the background-job runner when a job is queued.
    pub jobs_wake: Arc<tokio::sync::Notify>,
    /// Upload sessions and uploads in flight, counted against `limits`.
    pub upload_limits: crate::upload_limits::UploadLimits,
    /// The runtime inventory's parsed snapshots and the image-risk surface's verifier.
    pub runtime: crate::runtime::state::RuntimeState,
    /// Admission's cache of scan findings.
    pub admission: crate::admission::state::AdmissionState,
}

pub type App = Arc<AppState>;

impl AppState {
    /// Forgets everything cached (after a change whose reach is wide: an instance deleted, a
    /// garbage collection).
    pub fn clear_caches(&self) {
        self.caches.clear();
        self.allow_lists.clear();
    }
}
