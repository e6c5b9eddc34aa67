//! The image scan queue: jobs persisted in the metadata store (queued jobs survive a restart),
//! one at a time per repository and digest, run by a background worker with the scanner and the
//! vulnerability database of their own crates. A build without the `scanner` feature has no
//! queue worker at all (this module is compiled out; StartImageScan is refused).
//!
//! A job that was running when the process stopped fails at the next start instead of running
//! again: the worker cannot tell a restart from a scan that took the server down (a hostile
//! image exhausting memory gets the process killed), and retrying such a job kills the server
//! at every start. Its error says so; StartImageScan queues it again on purpose.
use std::sync::Arc;
use std::time::Duration;

use berth_oci::Digest;
use berth_store::{EnqueueOutcome, Repository, SCAN_FAILED, SCAN_SUCCESS, StoreError};

use crate::state::App;

/// The error of a job that was running when the process stopped.
pub const INTERRUPTED_ERROR: &str = "the scan was interrupted (the server stopped while it ran); \
it may have exhausted the server's memory, so it is not retried automatically: \
start it again with StartImageScan";

/// Queues a scan of `digest` in `repository` and wakes the worker.
pub async fn enqueue(
    app: &App,
    repository: &Repository,
    digest: &Digest,
) -> Result<EnqueueOutcome, StoreError> {
    let outcome = app
        .meta
        .enqueue_scan(&repository.instance_id, repository.id, digest)
        .await?;
    app.scan_wakeup.notify_one();
    Ok(outcome)
}

/// Runs queued scans until the process stops. Jobs a previous process left running fail first
/// (see the module documentation).
pub async fn run_worker(app: App) {
    match app.meta.fail_interrupted_scans(INTERRUPTED_ERROR).await {
        Ok(0) => {}
        Ok(failed) => tracing::warn!(
            failed,
            "scans interrupted by a stop of the server failed; not retried (they may have \
             exhausted its memory)"
        ),
        Err(e) => tracing::error!(error = %e, "cannot fail interrupted scans"),
    }
    loop {
        let job = match app.meta.claim_scan().await {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim a scan job");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let Some(job) = job else {
            // Woken by a new job, or a periodic look in case another process queued one.
            let _ = tokio::time::timeout(Duration::from_secs(30), app.scan_wakeup.notified()).await;
            continue;
        };
        let started = std::time::Instant::now();
        let outcome = scan(&app, job.repository_id, &job.digest).await;
        let (status, result, error, db) = match outcome {
            Ok((report, db)) => (SCAN_SUCCESS, Some(report), None, db),
            Err(e) => (SCAN_FAILED, None, Some(e), None),
        };
        tracing::info!(
            job = job.id, digest = %job.digest, status, elapsed_ms = started.elapsed().as_millis() as u64,
            error = error.as_deref().unwrap_or(""), "image scan finished"
        );
        if let Err(e) = app
            .meta
            .finish_scan(
                job.id,
                status,
                result.as_deref(),
                error.as_deref(),
                db.as_deref(),
            )
            .await
        {
            tracing::error!(job = job.id, error = %e, "cannot record a scan result");
        }
    }
}

/// Scans one stored image; returns the report (JSON) and the database version used.
async fn scan(
    app: &App,
    repository_id: i64,
    digest: &Digest,
) -> Result<(String, Option<String>), String> {
    let repository = app
        .meta
        .get_repository_by_id(repository_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the repository was deleted")?;
    scan_stored(app, Arc::new(repository), digest.clone()).await
}

async fn scan_stored(
    app: &App,
    repository: Arc<Repository>,
    digest: Digest,
) -> Result<(String, Option<String>), String> {
    use berth_registry::scan_source::StoredImageSource;
    use berth_scan::{NoProgress, PlatformSpec, ScanOptions, Scanner};
    let handle = tokio::runtime::Handle::current();
    let meta = app.meta.clone();
    let blobs = app.blobs.clone();
    let db_dir = app
        .config
        .scan
        .db_dir
        .clone()
        .unwrap_or_else(berth_vulndb::Database::default_dir);
    tokio::task::spawn_blocking(move || {
        let db = berth_vulndb::Database::open(&db_dir).map_err(|e| {
            format!(
                "vulnerability database at {}: {e} (run `berth db update`)",
                db_dir.display()
            )
        })?;
        let source = StoredImageSource::new(
            handle,
            meta,
            blobs,
            repository.id,
            repository.name.clone(),
            digest,
        );
        let scanner = Scanner::new(ScanOptions::default()).map_err(|e| e.to_string())?;
        let mut report = scanner
            .scan_image(&source, &PlatformSpec::default(), &NoProgress)
            .map_err(|e| e.to_string())?;
        berth_scan::vuln::match_report(&mut report, &db).map_err(|e| e.to_string())?;
        let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        Ok((json, report.scanner.db_version.clone()))
    })
    .await
    .map_err(|e| format!("the scan task failed: {e}"))?
}
