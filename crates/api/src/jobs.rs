//! The background jobs of the server on one runner (`berth-jobs`): image scans (with the
//! `scanner` feature, with the re-match of stored scans after a database update), webhook
//! deliveries and garbage collection. The periodic collection is queued as a job with
//! a dedupe key, so processes sharing one store run one collection at a time, not one each.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use berth_jobs::{Handler, Outcome, Runner, RunnerConfig};
use berth_registry::gc;
use berth_store::{Job, JobEnqueued, NewJob, now_millis};

use crate::state::App;

/// The job kind of a garbage-collection pass.
pub const GC_JOB: &str = "gc";

/// Runs a garbage-collection pass with the configured options.
pub struct GcJobs {
    pub app: App,
}

#[async_trait]
impl Handler for GcJobs {
    fn kind(&self) -> &'static str {
        GC_JOB
    }

    async fn run(&self, _job: &Job) -> Outcome {
        match run_gc(&self.app, None).await {
            Ok(report) => {
                tracing::info!(?report, "garbage collection pass");
                Outcome::Done
            }
            // Another process (a `berth gc`, or a replica's pass queued before this one) is
            // collecting now: this pass would find what that one finds.
            Err(GcError::Busy) => {
                tracing::info!("another process is collecting garbage; this pass is skipped");
                Outcome::Done
            }
            Err(e) => {
                tracing::error!(error = %e, "garbage collection failed");
                Outcome::Retry(e.to_string())
            }
        }
    }
}

/// Starts the runner with every handler, and the timer that queues the periodic collection.
pub fn spawn(app: &App) {
    let config = RunnerConfig {
        lease: Duration::from_secs(app.config.jobs.lease_secs),
        poll: Duration::from_secs(app.config.jobs.poll_secs),
    };
    let mut runner = Runner::with_waker(app.meta.clone(), config, app.jobs_wake.clone());
    #[cfg(feature = "scanner")]
    {
        runner.register(Arc::new(crate::scanning::ScanJobs { app: app.clone() }));
        runner.register(Arc::new(crate::scanning::RematchJobs { app: app.clone() }));
        runner.register(Arc::new(crate::scan_cache::ForeignScanJobs {
            app: app.clone(),
        }));
        crate::scanning::spawn_db_watch(app);
    }
    runner.register(Arc::new(crate::webhooks::WebhookJobs { app: app.clone() }));
    runner.register(Arc::new(GcJobs { app: app.clone() }));
    runner.spawn();
    let interval = app.config.gc.interval_secs;
    if interval > 0 {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(interval));
            tick.tick().await;
            loop {
                tick.tick().await;
                queue_gc(&app).await;
            }
        });
    }
}

async fn queue_gc(app: &App) {
    let job = NewJob {
        kind: GC_JOB.to_string(),
        payload: String::new(),
        dedupe_key: Some("periodic".to_string()),
        max_attempts: 3,
        due_at: now_millis(),
    };
    match app.meta.enqueue_job(&job).await {
        Ok(JobEnqueued::Queued(_)) => app.jobs_wake.notify_one(),
        Ok(JobEnqueued::Duplicate(id)) => {
            tracing::debug!(
                job = id,
                "a garbage collection is already queued or running"
            )
        }
        Err(e) => tracing::error!(error = %e, "cannot queue a garbage collection"),
    }
}

/// Why a collection did not run.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("another berth process is already collecting garbage")]
    Busy,
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
}

/// Runs one garbage-collection pass with the configured options, as the one collector of every
/// process on the store (the store's `gc` leadership: an advisory lock on PostgreSQL) or not at
/// all ([`GcError::Busy`]).
pub async fn run_gc(app: &App, grace: Option<Duration>) -> Result<gc::GcReport, GcError> {
    let Some(_leader) = app.meta.try_lead(GC_JOB).await? else {
        return Err(GcError::Busy);
    };
    let c = &app.config.gc;
    let options = gc::GcOptions {
        grace_millis: i64::try_from(
            grace
                .unwrap_or(Duration::from_secs(c.grace_secs))
                .as_millis(),
        )
        .unwrap_or(i64::MAX),
        delete_untagged: c.delete_untagged,
        upload_expiry_millis: i64::try_from(c.upload_expiry_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX),
    };
    let report = app.registry.collect_garbage(&options).await?;
    app.metrics.gc_runs.inc();
    app.metrics.gc_deleted_blobs.inc_by(report.blobs_deleted);
    app.metrics
        .gc_deleted_manifests
        .inc_by(report.manifests_deleted);
    Ok(report)
}
