//! Image scan jobs: queued by StartImageScan (or a push), claimed by a worker, one at a time per
//! repository and digest. A job still running when its process stopped fails at the next start:
//! it may be what stopped the process (see [`ScanStore::fail_interrupted_scans`]).
use crate::Result;
use async_trait::async_trait;
use berth_oci::Digest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanJob {
    pub id: i64,
    pub instance_id: String,
    pub repository_id: i64,
    pub digest: Digest,
    pub status: String,
    pub attempts: i64,
    /// The scan report (JSON) once finished.
    pub result: Option<String>,
    pub error: Option<String>,
    pub db_version: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    Queued(i64),
    /// A scan of that digest is already queued or running.
    InFlight(i64),
}

pub const SCAN_QUEUED: &str = "Queued";
pub const SCAN_RUNNING: &str = "Scanning";
pub const SCAN_SUCCESS: &str = "Success";
pub const SCAN_FAILED: &str = "Failed";

#[async_trait]
pub trait ScanStore: Send + Sync {
    async fn enqueue_scan(
        &self,
        instance_id: &str,
        repository_id: i64,
        digest: &Digest,
    ) -> Result<EnqueueOutcome>;
    /// Claims the oldest queued job (marks it running).
    async fn claim_scan(&self) -> Result<Option<ScanJob>>;
    async fn finish_scan(
        &self,
        id: i64,
        status: &str,
        result: Option<&str>,
        error: Option<&str>,
        db_version: Option<&str>,
    ) -> Result<()>;
    /// Deletes the finished jobs of each image beyond its newest `keep`; returns how many.
    async fn prune_scans(&self, keep: u32) -> Result<u64>;
    /// The newest job for the digest in the repository.
    async fn latest_scan(&self, repository_id: i64, digest: &Digest) -> Result<Option<ScanJob>>;
    /// Fails every job left running by a stopped process, with `error`, and returns how many.
    /// They are not queued again: the store cannot tell a scan that was running when the
    /// process was stopped from one that brought the process down (killed for memory), and a
    /// retried killer takes the server down again at every start. Queued jobs stay queued.
    async fn fail_interrupted_scans(&self, error: &str) -> Result<u64>;
}
