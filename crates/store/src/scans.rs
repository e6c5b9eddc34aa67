//! Image scans: the record of each scan (status, report, error), queued by StartImageScan or a
//! push, one at a time per repository and digest. Running them is a job of kind [`SCAN_JOB`]
//! (see [`crate::JobStore`]), queued in the same transaction as the record; the job's payload
//! is the record's id.
use crate::Result;
use async_trait::async_trait;
use berth_oci::Digest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanJob {
    pub id: i64,
    pub instance_id: String,
    pub repository_id: i64,
    pub digest: Digest,
    pub status: ScanStatus,
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

/// The job kind that runs scans.
pub const SCAN_JOB: &str = "scan";

/// A scan's status, as DescribeImageScan reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    Queued,
    Scanning,
    Success,
    Failed,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Queued => "Queued",
            ScanStatus::Scanning => "Scanning",
            ScanStatus::Success => "Success",
            ScanStatus::Failed => "Failed",
        }
    }

    pub fn parse(s: &str) -> Option<ScanStatus> {
        match s {
            "Queued" => Some(ScanStatus::Queued),
            "Scanning" => Some(ScanStatus::Scanning),
            "Success" => Some(ScanStatus::Success),
            "Failed" => Some(ScanStatus::Failed),
            _ => None,
        }
    }

    /// A finished scan has a report or an error.
    pub fn is_finished(self) -> bool {
        matches!(self, ScanStatus::Success | ScanStatus::Failed)
    }
}

#[async_trait]
pub trait ScanStore: Send + Sync {
    /// Records a queued scan and queues its job (one transaction), unless a scan of the digest
    /// in the repository is already queued or running.
    async fn enqueue_scan(
        &self,
        instance_id: &str,
        repository_id: i64,
        digest: &Digest,
    ) -> Result<EnqueueOutcome>;
    /// Marks a queued scan running (its job was claimed); `None` when it is not queued (it was
    /// deleted with its repository, or already ran).
    async fn start_scan(&self, id: i64) -> Result<Option<ScanJob>>;
    /// Records the outcome of a scan that has not finished (running, or queued when its job was
    /// abandoned before it started); a finished scan is left as it is.
    async fn finish_scan(
        &self,
        id: i64,
        status: ScanStatus,
        result: Option<&str>,
        error: Option<&str>,
        db_version: Option<&str>,
    ) -> Result<()>;
    /// The newest successful scan of each image (repository and digest) whose report was matched
    /// against another vulnerability database than `db_version`, with ids above `after`,
    /// in id order, at most `limit`: what a database update re-matches.
    async fn scans_to_rematch(
        &self,
        db_version: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ScanJob>>;
    /// Records the re-match of scan `from` (its report matched again against a newer database,
    /// without reading the image) as a new successful scan of the same image; `None` when `from`
    /// no longer exists or a newer scan of the image was queued meanwhile (it will be current).
    async fn record_rematch(
        &self,
        from: i64,
        result: &str,
        db_version: &str,
    ) -> Result<Option<i64>>;
    /// Deletes the finished jobs of each image beyond its newest `keep`; returns how many.
    async fn prune_scans(&self, keep: u32) -> Result<u64>;
    /// The newest job for the digest in the repository.
    async fn latest_scan(&self, repository_id: i64, digest: &Digest) -> Result<Option<ScanJob>>;
}
