//! What admission keeps in memory: one field of [`crate::AppState`].
use std::sync::Arc;

use berth_hss::policy::ImageFindings;

pub struct AdmissionState {
    /// What a scan found, by scan id (a finished scan never changes).
    pub findings: moka::sync::Cache<i64, Arc<ImageFindings>>,
}

impl Default for AdmissionState {
    fn default() -> Self {
        AdmissionState {
            findings: moka::sync::Cache::builder().max_capacity(20_000).build(),
        }
    }
}
