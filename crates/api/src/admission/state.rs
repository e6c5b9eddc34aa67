//! What admission keeps in memory: one field of [`crate::AppState`].
//!
//! Finished scans' findings are kept as long as there is room (they never change). What can
//! change — a cluster's protection and credentials, the policies, a digest's newest scan — is
//! kept for [`FRESH`] only, so a decision costs no database read in the steady state while a
//! change made anywhere (another process, the store directly) is enforced within that time;
//! changes made through this process's HSS API take effect at once ([`AdmissionState::changed`]).
use std::sync::Arc;
use std::time::Duration;

use berth_hss::policy::ImageFindings;

use super::source::{Access, ProjectPolicy};

/// How long what can change is trusted without reading it again.
pub const FRESH: Duration = Duration::from_secs(1);

pub struct AdmissionState {
    /// What a scan found, by scan id (a finished scan never changes).
    pub findings: moka::sync::Cache<i64, Arc<ImageFindings>>,
    /// (cluster id, credential hash) → whether it may speak for the cluster, and the cluster.
    pub access: moka::sync::Cache<(String, String), Access>,
    /// Every project's policies.
    pub policies: moka::sync::Cache<(), Arc<Vec<ProjectPolicy>>>,
    /// Manifest digest → the newest successful scan of it in any repository.
    pub scans: moka::sync::Cache<String, Option<i64>>,
    /// Manifest digest → the scan cache's findings for an image of another registry (`None`:
    /// none yet), so a review does not read and parse the report each time.
    pub foreign: moka::sync::Cache<String, Option<Arc<ImageFindings>>>,
    /// The exceptions in force (each one's expiry is checked again at the decision).
    pub exceptions: moka::sync::Cache<(), Arc<Vec<berth_hss::policy::Exception>>>,
}

impl AdmissionState {
    /// Forgets what can change (a policy, a cluster's protection or an exception changed).
    pub fn changed(&self) {
        self.access.invalidate_all();
        self.policies.invalidate_all();
        self.exceptions.invalidate_all();
    }
}

fn fresh<K, V>(capacity: u64) -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .max_capacity(capacity)
        .time_to_live(FRESH)
        .build()
}

impl Default for AdmissionState {
    fn default() -> Self {
        AdmissionState {
            findings: moka::sync::Cache::builder().max_capacity(20_000).build(),
            access: fresh(10_000),
            policies: fresh(1),
            scans: fresh(100_000),
            foreign: fresh(10_000),
            exceptions: fresh(1),
        }
    }
}
