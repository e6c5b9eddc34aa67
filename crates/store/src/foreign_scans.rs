//! The scan cache: scans of images berth does not store but that run in a cluster it knows, by
//! manifest digest (a digest is the same content on every registry, so one scan serves every
//! reference to it). One row per digest holds the newest outcome; the job that produces it is
//! an ordinary job (`FOREIGN_SCAN_JOB`, deduplicated by digest).
use crate::Result;
use async_trait::async_trait;
use berth_oci::Digest;

/// The job kind of a foreign scan; its payload is JSON `{"digest", "reference"}`.
pub const FOREIGN_SCAN_JOB: &str = "foreign-scan";

/// The outcome of the newest scan of a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignScanRecord {
    pub digest: Digest,
    /// The reference it was pulled by (`registry/repo@digest`).
    pub reference: String,
    /// The report (JSON) when the scan succeeded.
    pub report: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub db_version: Option<String>,
    /// Milliseconds since the epoch.
    pub finished_at: i64,
}

impl ForeignScanRecord {
    pub fn succeeded(&self) -> bool {
        self.report.is_some()
    }
}

#[async_trait]
pub trait ForeignScanStore: Send + Sync {
    /// Records the newest outcome of a digest's scan, replacing an older one.
    async fn record_foreign_scan(&self, scan: &ForeignScanRecord) -> Result<()>;
    /// The outcomes recorded for `digests` (those with none are left out).
    async fn foreign_scans(&self, digests: &[Digest]) -> Result<Vec<ForeignScanRecord>>;
    /// Successful scans matched against a database other than `db_version`, by digest after
    /// `after` (`""` to start), at most `limit`: what a database update re-matches.
    async fn foreign_scans_to_rematch(
        &self,
        db_version: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<ForeignScanRecord>>;
}
