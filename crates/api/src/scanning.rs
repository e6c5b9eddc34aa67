//! Image scans as background jobs: StartImageScan and scan-on-push queue a scan record and its
//! job together (`ScanStore::enqueue_scan`), one at a time per repository and digest; the
//! [`ScanJobs`] handler runs them on the job runner (`berth-jobs`), one at a time per process,
//! with the scanner and the vulnerability database of their own crates. A build without the
//! `scanner` feature has no handler at all (this module is compiled out; StartImageScan is
//! refused).
//!
//! A scan job has one attempt. If its process stops while it runs, the job's lease runs out and
//! the next runner to claim it fails the scan as interrupted instead of running it again: it
//! cannot tell a restart from a scan that took the server down (a hostile image exhausting
//! memory gets the process killed), and retrying such a job kills the server at every start.
//! Its error says so; StartImageScan queues it again on purpose.
use std::sync::Arc;

use async_trait::async_trait;
use berth_jobs::{Handler, Outcome};
use berth_oci::Digest;
use berth_store::{EnqueueOutcome, Job, Repository, SCAN_JOB, ScanStatus, StoreError};

use crate::state::App;

/// The error of a job that was running when the process stopped.
pub const INTERRUPTED_ERROR: &str = "the scan was interrupted (the server stopped while it ran); \
it may have exhausted the server's memory, so it is not retried automatically: \
start it again with StartImageScan";

/// Queues a scan of `digest` in `repository` and wakes the job runner.
pub async fn enqueue(
    app: &App,
    repository: &Repository,
    digest: &Digest,
) -> Result<EnqueueOutcome, StoreError> {
    let outcome = app
        .meta
        .enqueue_scan(&repository.instance_id, repository.id, digest)
        .await?;
    app.jobs_wake.notify_one();
    Ok(outcome)
}

/// Runs scan jobs: the payload is the scan record's id.
pub struct ScanJobs {
    pub app: App,
}

fn scan_id(job: &Job) -> Result<i64, String> {
    job.payload
        .parse()
        .map_err(|_| format!("scan job {} has a bad payload {:?}", job.id, job.payload))
}

#[async_trait]
impl Handler for ScanJobs {
    fn kind(&self) -> &'static str {
        SCAN_JOB
    }

    async fn run(&self, job: &Job) -> Outcome {
        let app = &self.app;
        let id = match scan_id(job) {
            Ok(id) => id,
            Err(e) => return Outcome::Fail(e),
        };
        let scan = match app.meta.start_scan(id).await {
            Ok(Some(scan)) => scan,
            // Deleted with its repository, or already finished: nothing to do.
            Ok(None) => return Outcome::Done,
            Err(e) => return Outcome::Fail(e.to_string()),
        };
        let started = std::time::Instant::now();
        let (status, result, error, db) =
            match self::scan(app, scan.repository_id, &scan.digest).await {
                Ok((report, db)) => (ScanStatus::Success, Some(report), None, db),
                Err(e) => (ScanStatus::Failed, None, Some(e), None),
            };
        tracing::info!(
            scan = id, digest = %scan.digest, status = status.as_str(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            error = error.as_deref().unwrap_or(""), "image scan finished"
        );
        // A failed scan is the scan's outcome, not the job's: the job is done either way.
        match app
            .meta
            .finish_scan(
                id,
                status,
                result.as_deref(),
                error.as_deref(),
                db.as_deref(),
            )
            .await
        {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Fail(format!("cannot record the scan result: {e}")),
        }
    }

    async fn abandoned(&self, job: &Job) {
        let Ok(id) = scan_id(job) else { return };
        tracing::warn!(
            scan = id,
            "a scan interrupted by a stop of the server failed; not retried (it may have exhausted its memory)"
        );
        let failed = self
            .app
            .meta
            .finish_scan(id, ScanStatus::Failed, None, Some(INTERRUPTED_ERROR), None)
            .await;
        if let Err(e) = failed {
            tracing::error!(scan = id, error = %e, "cannot fail an interrupted scan");
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
    let handle = tokio::runtime::Handle::current();
    let meta = app.meta.clone();
    let blobs = app.blobs.clone();
    let db_dir = db_dir(app);
    tokio::task::spawn_blocking(move || {
        let source = StoredImageSource::new(
            handle,
            meta,
            blobs,
            repository.id,
            repository.name.clone(),
            digest,
        );
        scan_source(&source, &db_dir, |_| {})
    })
    .await
    .map_err(|e| format!("the scan task failed: {e}"))?
}

/// Scans `source` and matches it against the database in `db_dir` (blocking: call it from a
/// blocking task); `limits` narrows the scanner's bounds. Returns the report (JSON) and the
/// database version used.
pub(crate) fn scan_source(
    source: &dyn berth_scan::ImageSource,
    db_dir: &std::path::Path,
    limits: impl FnOnce(&mut berth_scan::Limits),
) -> Result<(String, Option<String>), String> {
    use berth_scan::{NoProgress, PlatformSpec, ScanOptions, Scanner};
    let db = berth_vulndb::Database::open(db_dir).map_err(|e| {
        format!(
            "vulnerability database at {}: {e} (run `berth db update`)",
            db_dir.display()
        )
    })?;
    // The database's malware hash feed joins the blocklist, as `berth scan` does.
    let mut options = ScanOptions {
        blocklist_entries: db.malware_hashes().to_vec(),
        ..ScanOptions::default()
    };
    limits(&mut options.limits);
    let scanner = Scanner::new(options).map_err(|e| e.to_string())?;
    let mut report = scanner
        .scan_image(source, &PlatformSpec::default(), &NoProgress)
        .map_err(|e| e.to_string())?;
    berth_scan::vuln::match_report(&mut report, &db).map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    Ok((json, report.scanner.db_version.clone()))
}

/// The job kind that re-matches stored scans against an updated vulnerability database.
pub const REMATCH_JOB: &str = "rematch";
/// Scans re-matched per store round trip.
const REMATCH_BATCH: u32 = 100;

/// Re-matches the package inventory of every image's newest successful scan against the
/// current database, without reading the image again: a database update changes the risk of
/// what is stored and running within one job. The payload is the database version it was
/// queued for (a later update queues another).
pub struct RematchJobs {
    pub app: App,
}

#[async_trait]
impl Handler for RematchJobs {
    fn kind(&self) -> &'static str {
        REMATCH_JOB
    }

    async fn run(&self, _job: &Job) -> Outcome {
        let db_dir = db_dir(&self.app);
        let db = match tokio::task::spawn_blocking(move || berth_vulndb::Database::open(&db_dir))
            .await
        {
            Ok(Ok(db)) => Arc::new(db),
            Ok(Err(e)) => return Outcome::Retry(format!("vulnerability database: {e}")),
            Err(e) => return Outcome::Retry(format!("the database task failed: {e}")),
        };
        let version = berth_scan::vuln::db_version(db.metadata());
        let (mut after, mut rematched) = (0, 0u64);
        loop {
            let batch = match self
                .app
                .meta
                .scans_to_rematch(&version, after, REMATCH_BATCH)
                .await
            {
                Ok(b) => b,
                Err(e) => return Outcome::Retry(e.to_string()),
            };
            let Some(last) = batch.last() else { break };
            after = last.id;
            for scan in batch {
                let Some(report) = scan.result else { continue };
                let db = db.clone();
                let matched = tokio::task::spawn_blocking(move || rematch(&report, &db)).await;
                let json = match matched {
                    Ok(Ok(json)) => json,
                    Ok(Err(e)) => {
                        tracing::warn!(scan = scan.id, error = %e, "a stored report cannot be re-matched");
                        continue;
                    }
                    Err(e) => return Outcome::Retry(format!("the re-match task failed: {e}")),
                };
                match self.app.meta.record_rematch(scan.id, &json, &version).await {
                    Ok(Some(_)) => rematched += 1,
                    Ok(None) => {}
                    Err(e) => return Outcome::Retry(e.to_string()),
                }
            }
        }
        // The scan cache's reports of images from other registries, the same way.
        let mut after = String::new();
        loop {
            let batch = match self
                .app
                .meta
                .foreign_scans_to_rematch(&version, &after, REMATCH_BATCH)
                .await
            {
                Ok(b) => b,
                Err(e) => return Outcome::Retry(e.to_string()),
            };
            let Some(last) = batch.last() else { break };
            after = last.digest.to_string();
            for mut scan in batch {
                let Some(report) = scan.report.take() else {
                    continue;
                };
                let db = db.clone();
                match tokio::task::spawn_blocking(move || rematch(&report, &db)).await {
                    Ok(Ok(json)) => {
                        scan.report = Some(json);
                        scan.db_version = Some(version.clone());
                        if let Err(e) = self.app.meta.record_foreign_scan(&scan).await {
                            return Outcome::Retry(e.to_string());
                        }
                        rematched += 1;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(digest = %scan.digest, error = %e, "a foreign report cannot be re-matched");
                    }
                    Err(e) => return Outcome::Retry(format!("the re-match task failed: {e}")),
                }
            }
        }
        tracing::info!(rematched, db_version = %version, "stored scans re-matched against the updated vulnerability database");
        Outcome::Done
    }
}

/// A stored report matched again: its packages are kept, its vulnerabilities replaced.
fn rematch(report: &str, db: &berth_vulndb::Database) -> Result<String, String> {
    let mut report: berth_scan::Report =
        serde_json::from_str(report).map_err(|e| format!("stored report: {e}"))?;
    berth_scan::vuln::match_report(&mut report, db).map_err(|e| e.to_string())?;
    serde_json::to_string(&report).map_err(|e| e.to_string())
}

pub(crate) fn db_dir(app: &App) -> std::path::PathBuf {
    app.config
        .scan
        .db_dir
        .clone()
        .unwrap_or_else(berth_vulndb::Database::default_dir)
}

/// Watches the database file every `scan.db_check_secs` (its size and modification time; the
/// header only when they change) and queues a re-match when its version changes, once per
/// version across processes sharing the store. The first look, at start, covers an update made
/// while the server was down.
pub fn spawn_db_watch(app: &App) {
    let every = app.config.scan.db_check_secs;
    if every == 0 {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        let path = berth_vulndb::Database::file_path(&db_dir(&app));
        let mut seen: Option<(u64, Option<std::time::SystemTime>)> = None;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
        loop {
            tick.tick().await;
            let Ok(meta) = tokio::fs::metadata(&path).await else {
                continue;
            };
            let fingerprint = (meta.len(), meta.modified().ok());
            if seen == Some(fingerprint) {
                continue;
            }
            let dir = db_dir(&app);
            let header =
                tokio::task::spawn_blocking(move || berth_vulndb::Database::read_metadata(&dir))
                    .await;
            let Ok(Ok(header)) = header else { continue };
            seen = Some(fingerprint);
            let version = berth_scan::vuln::db_version(&header);
            let job = berth_store::NewJob {
                kind: REMATCH_JOB.to_string(),
                payload: version.clone(),
                dedupe_key: Some(version),
                max_attempts: 3,
                due_at: berth_store::now_millis(),
            };
            match app.meta.enqueue_job(&job).await {
                Ok(berth_store::JobEnqueued::Queued(_)) => app.jobs_wake.notify_one(),
                Ok(berth_store::JobEnqueued::Duplicate(_)) => {}
                Err(e) => tracing::error!(error = %e, "cannot queue a re-match"),
            }
        }
    });
}
