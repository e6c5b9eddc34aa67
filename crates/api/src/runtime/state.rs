//! What the runtime and image-risk surfaces keep in memory: one field of [`crate::AppState`].
//! Data only (no handlers), so every module of both surfaces may name it.
use std::sync::Arc;

use berth_inventory::ClusterSnapshot;
use berth_inventory::risk::ImageRisk;

/// What berth's image-risk surface reads of one finished scan report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanFacts {
    pub risk: ImageRisk,
    /// The image's config digest (`source.configDigest`), its "image ID".
    pub config_digest: Option<String>,
    /// Each finding behind `risk`, for the exceptions that may leave some out.
    pub findings: Vec<FindingFact>,
}

/// What an exception is checked against in one finding of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingFact {
    pub kind: FindingKind,
    /// The vulnerability's id, the malware rule, or the baseline check's id.
    pub id: String,
    /// A vulnerability's other ids.
    pub aliases: Vec<String>,
    /// A vulnerability's package name (empty for the other kinds).
    pub package: String,
    /// The report's severity word.
    pub severity: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    OsVuln,
    LangVuln,
    Malware,
    Baseline,
}

pub struct RuntimeState {
    /// Verifies the image-risk surface's signatures; holds its nonce cache.
    pub acs: berth_acs::Verifier,
    /// Parsed snapshots by cluster id, with the version they were parsed from.
    pub snapshots: moka::sync::Cache<String, (i64, Arc<ClusterSnapshot>)>,
    /// What a scan found, by scan id (a finished scan never changes).
    pub scans: moka::sync::Cache<i64, Arc<ScanFacts>>,
    /// Serialises this process's snapshot writes (each is read, change, compare-and-set; the
    /// store's compare-and-set still guards against other processes).
    pub writes: tokio::sync::Mutex<()>,
    /// Snapshot bodies held in memory at once (each up to the document limit, 64 MiB, and its
    /// parse a few times that): more uploads wait for a turn instead of exhausting memory.
    pub snapshot_bodies: Arc<tokio::sync::Semaphore>,
    /// Digests the scan cache needs nothing for (stored, scanned, or queued), remembered for
    /// ten minutes: every inventory change offers every digest of its cluster, and only new
    /// ones are looked up in the store.
    pub settled_digests: moka::sync::Cache<berth_oci::Digest, ()>,
}

/// Snapshot uploads read and parsed at the same time.
pub const CONCURRENT_SNAPSHOT_BODIES: usize = 2;

impl Default for RuntimeState {
    fn default() -> Self {
        RuntimeState {
            acs: berth_acs::Verifier::default(),
            snapshots: moka::sync::Cache::builder().max_capacity(256).build(),
            scans: moka::sync::Cache::builder().max_capacity(100_000).build(),
            writes: tokio::sync::Mutex::new(()),
            snapshot_bodies: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SNAPSHOT_BODIES)),
            settled_digests: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
        }
    }
}
