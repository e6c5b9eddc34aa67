//! The scan cache: images that run in a reported cluster but that berth does not store are
//! pulled from their registry by manifest digest and scanned, so the risk figures (image risk,
//! the export, admission) cover everything that runs, not only what berth holds.
//!
//! - **When**: after every inventory change ([`note_inventory`], off the request's path), the
//!   containers' manifest digests (from the reference or the pod status' `imageID`) that no
//!   instance stores and that have no recorded scan are queued as `foreign-scan` jobs,
//!   deduplicated by digest, at most `scan.cache.max_queued_per_change` per change. A failed
//!   pull or scan is tried again after `scan.cache.retry_failed_hours`.
//! - **How**: the scanner's registry source (`berth_scan::source::registry`: Basic and the
//!   bearer-token flow, credentials from `scan.cache.registries` by host; plain HTTP for
//!   loopback and `scan.cache.insecure_hosts`) reads the image once, by digest, verified; the
//!   scanner's limits bound it (`scan.cache.max_image_bytes` decompressed). The report is kept
//!   per digest (`ForeignScanStore`); a digest is fetched at most once.
//! - **Readers** look a digest up in berth's own scans first, then here.
use std::collections::HashSet;

use berth_inventory::ClusterSnapshot;
use berth_oci::Digest;
use berth_store::{FOREIGN_SCAN_JOB, ForeignScanRecord, NewJob, StoreError};
use serde::{Deserialize, Serialize};

use crate::state::App;

/// What a foreign-scan job carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payload {
    pub digest: String,
    /// `registry/repository@digest`.
    pub reference: String,
}

/// The pullable images of a snapshot: (manifest digest, `registry/repository@digest`), each
/// digest once.
pub fn candidates(snapshot: &ClusterSnapshot) -> Vec<(Digest, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let containers = snapshot
        .pods()
        .flat_map(|p| &p.spec.containers)
        .chain(snapshot.workloads().flat_map(|w| &w.template.containers));
    for c in containers {
        let (Some(name), Some(digest)) = (&c.image.name, &c.image_digest) else {
            continue;
        };
        if seen.insert(digest.clone()) {
            let reference = format!("{}/{}@{digest}", name.registry, name.repository);
            out.push((digest.clone(), reference));
        }
    }
    out
}

/// Queues scans of the snapshot's images berth neither stores nor has scanned; runs in the
/// background (the ingestion request does not wait for it).
pub fn note_inventory(app: &App, snapshot: std::sync::Arc<ClusterSnapshot>) {
    if !app.config.scan.cache.enabled || !cfg!(feature = "scanner") {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        match queue_unknown(&app, &candidates(&snapshot)).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(
                    queued = n,
                    "scan cache: images from other registries queued"
                );
                app.jobs_wake.notify_one();
            }
            Err(e) => tracing::error!(error = %e, "scan cache: cannot queue scans"),
        }
    });
}

/// Queues what needs a scan among `candidates`; returns how many were queued. Digests settled
/// in the last minutes (`RuntimeState::settled_digests`) are not looked up again.
pub async fn queue_unknown(
    app: &App,
    candidates: &[(Digest, String)],
) -> Result<usize, StoreError> {
    let config = &app.config.scan.cache;
    let settled_before = &app.runtime.settled_digests;
    let candidates: Vec<&(Digest, String)> = candidates
        .iter()
        .filter(|(d, _)| !settled_before.contains_key(d))
        .collect();
    if candidates.is_empty() {
        return Ok(0);
    }
    let digests: Vec<Digest> = candidates.iter().map(|(d, _)| d.clone()).collect();
    let stored: HashSet<Digest> = app
        .meta
        .images_by_digest(&digests)
        .await?
        .into_iter()
        .map(|i| i.digest)
        .collect();
    let now = berth_store::now_millis();
    let retry_ms =
        i64::try_from(config.retry_failed_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    let settled: HashSet<Digest> = app
        .meta
        .foreign_scans(&digests)
        .await?
        .into_iter()
        .filter(|s| s.succeeded() || now.saturating_sub(s.finished_at) < retry_ms)
        .map(|s| s.digest)
        .collect();
    let mut queued = 0;
    for (digest, reference) in candidates.iter().map(|c| (&c.0, &c.1)) {
        if queued >= config.max_queued_per_change {
            break;
        }
        if stored.contains(digest) || settled.contains(digest) {
            settled_before.insert(digest.clone(), ());
            continue;
        }
        let payload = Payload {
            digest: digest.to_string(),
            reference: reference.clone(),
        };
        let job = NewJob {
            kind: FOREIGN_SCAN_JOB.to_string(),
            payload: serde_json::to_string(&payload)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            dedupe_key: Some(digest.to_string()),
            // One attempt, as for stored images: a scan that took the process down is not
            // run again at every start; the failure is recorded and retried later.
            max_attempts: 1,
            due_at: now,
        };
        if matches!(
            app.meta.enqueue_job(&job).await?,
            berth_store::JobEnqueued::Queued(_)
        ) {
            queued += 1;
        }
        // Queued now or already: its job records the outcome.
        settled_before.insert(digest.clone(), ());
    }
    Ok(queued)
}

/// The successful foreign scans of `digests`.
pub async fn reports(app: &App, digests: &[Digest]) -> Result<Vec<ForeignScanRecord>, StoreError> {
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    Ok(app
        .meta
        .foreign_scans(digests)
        .await?
        .into_iter()
        .filter(ForeignScanRecord::succeeded)
        .collect())
}

#[cfg(feature = "scanner")]
pub use handler::ForeignScanJobs;

#[cfg(feature = "scanner")]
mod handler {
    use async_trait::async_trait;
    use berth_jobs::{Handler, Outcome};
    use berth_store::{FOREIGN_SCAN_JOB, ForeignScanRecord, Job};

    use super::Payload;
    use crate::state::App;

    /// Runs foreign-scan jobs, one at a time per process.
    pub struct ForeignScanJobs {
        pub app: App,
    }

    async fn record(
        app: &App,
        p: &Payload,
        report: Option<String>,
        error: Option<String>,
        db: Option<String>,
    ) -> Outcome {
        let Ok(digest) = p.digest.parse() else {
            return Outcome::Fail(format!("bad digest {:?}", p.digest));
        };
        let scan = ForeignScanRecord {
            digest,
            reference: p.reference.clone(),
            report,
            error,
            db_version: db,
            finished_at: berth_store::now_millis(),
        };
        match app.meta.record_foreign_scan(&scan).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Fail(format!("cannot record the foreign scan: {e}")),
        }
    }

    #[async_trait]
    impl Handler for ForeignScanJobs {
        fn kind(&self) -> &'static str {
            FOREIGN_SCAN_JOB
        }

        async fn run(&self, job: &Job) -> Outcome {
            let payload: Payload = match serde_json::from_str(&job.payload) {
                Ok(p) => p,
                Err(e) => return Outcome::Fail(format!("bad payload: {e}")),
            };
            let started = std::time::Instant::now();
            let outcome = scan(&self.app, &payload).await;
            tracing::info!(digest = %payload.digest, reference = %payload.reference,
                ok = outcome.is_ok(), elapsed_ms = started.elapsed().as_millis() as u64,
                error = outcome.as_ref().err().map_or("", String::as_str), "foreign image scan finished");
            match outcome {
                Ok((report, db)) => record(&self.app, &payload, Some(report), None, db).await,
                Err(e) => record(&self.app, &payload, None, Some(e), None).await,
            }
        }

        async fn abandoned(&self, job: &Job) {
            if let Ok(p) = serde_json::from_str::<Payload>(&job.payload) {
                let error = crate::scanning::INTERRUPTED_ERROR.to_string();
                let _ = record(&self.app, &p, None, Some(error), None).await;
            }
        }
    }

    /// Pulls and scans one image; returns the report (JSON) and the database version.
    async fn scan(app: &App, p: &Payload) -> Result<(String, Option<String>), String> {
        use berth_scan::source::registry::{Credentials, RegistryOptions, RegistrySource};
        let config = app.config.scan.cache.clone();
        let db_dir = crate::scanning::db_dir(app);
        let reference = p.reference.clone();
        tokio::task::spawn_blocking(move || {
            let host = reference.split('/').next().unwrap_or_default().to_string();
            let credentials = config
                .registries
                .iter()
                .find(|r| r.host.eq_ignore_ascii_case(&host))
                .map(|r| Credentials {
                    username: r.username.clone(),
                    password: r.password.clone(),
                });
            let insecure = config
                .insecure_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&host));
            let source = RegistrySource::new(
                &reference,
                RegistryOptions {
                    credentials,
                    insecure,
                },
            )
            .map_err(|e| e.to_string())?;
            crate::scanning::scan_source(&source, &db_dir, |limits| {
                limits.max_total_size = limits.max_total_size.min(config.max_image_bytes);
                limits.max_layer_size = limits.max_layer_size.min(config.max_image_bytes);
            })
        })
        .await
        .map_err(|e| format!("the scan task failed: {e}"))?
    }
}
