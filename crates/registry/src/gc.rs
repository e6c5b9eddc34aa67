//! Garbage collection: untagged-and-unreferenced manifests, unreferenced blobs, expired uploads,
//! and old webhook log entries, scan results and dead background jobs.
//!
//! Safe against concurrent pushes without a read-only window: content younger than the grace
//! period is never touched (a blob being uploaded is not a blob yet; one just uploaded or linked
//! is young), and a blob's bytes are deleted only under a tombstone set in the transaction that
//! re-checks it is unreferenced, which no push can link through (see `content`).
use crate::content;
use berth_oci::Digest;
use berth_store::{BlobStore, MetadataStore, StoreError, now_millis};
use std::collections::{HashMap, HashSet};

impl crate::Registry {
    /// One collection pass; every cache entry it may have made stale is dropped (a forgotten
    /// blob's cached links at once, so no link is reported present once its deletion began).
    pub async fn collect_garbage(&self, options: &GcOptions) -> Result<GcReport, StoreError> {
        let forgotten = |_: &Digest| self.caches.blob_links.invalidate_all();
        let report = collect(self.meta.as_ref(), self.blobs.as_ref(), options, &forgotten).await?;
        self.caches.clear();
        // Other processes may cache what this pass deleted (an untagged manifest by digest).
        self.announce(crate::CacheNotice::All);
        Ok(report)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    pub manifests_deleted: u64,
    pub blobs_deleted: u64,
    pub bytes_freed: u64,
    pub orphan_files_deleted: u64,
    pub uploads_expired: u64,
    /// Webhook log entries, scan results and dead jobs beyond what is kept.
    pub history_pruned: u64,
}

/// Webhook log entries kept per trigger (DescribeWebhookTriggerLog pages through them).
pub const KEEP_DELIVERIES_PER_TRIGGER: u32 = 1000;
/// Finished scans kept per image (DescribeImageScan reads the newest).
pub const KEEP_SCANS_PER_IMAGE: u32 = 5;
/// Background jobs that failed for good, kept for inspection.
pub const KEEP_DEAD_JOBS: u32 = 1000;

pub struct GcOptions {
    pub grace_millis: i64,
    pub delete_untagged: bool,
    pub upload_expiry_millis: i64,
}

pub async fn collect(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    options: &GcOptions,
    forgotten: &(dyn Fn(&Digest) + Sync),
) -> Result<GcReport, StoreError> {
    let mut report = GcReport::default();
    let now = now_millis();
    let before = now - options.grace_millis;
    // Deletions an earlier pass started and did not finish (it died between the two steps).
    for (digest, _) in meta.tombstones().await? {
        if content::finish_deletion(meta, blobs, &digest).await? {
            report.blobs_deleted += 1;
        }
    }
    if options.delete_untagged {
        report.manifests_deleted = meta.gc_untagged_manifests(before).await?;
    }
    for digest in meta.gc_blob_candidates(before).await? {
        if meta.gc_forget_blob(&digest, before).await? {
            forgotten(&digest);
            let size = blobs.stat(&digest).await?.unwrap_or(0);
            if content::finish_deletion(meta, blobs, &digest).await? {
                report.blobs_deleted += 1;
                report.bytes_freed += size;
            }
        }
    }
    // Files without a record: a crash between a commit and its record, or a push whose link
    // failed. Deleted under a tombstone too: a push may be about to link one right now.
    let expiry = now - options.upload_expiry_millis;
    let upload_files: HashMap<String, i64> = blobs.list_uploads().await?.into_iter().collect();
    let uploads: HashSet<String> = upload_files
        .iter()
        .filter(|(_, modified)| **modified < expiry)
        .map(|(id, _)| id.clone())
        .collect();
    // A file is dated by its commit, so a commit whose record is being written right now is
    // young and stays.
    for (digest, committed) in blobs.list().await? {
        // Most files are recorded: a read rules them out, and only a file that looks orphaned
        // takes the write transaction that re-checks and tombstones it.
        if committed < before
            && !meta.blob_known(&digest).await?
            && meta.tombstone_orphan(&digest).await?
        {
            content::finish_deletion(meta, blobs, &digest).await?;
            report.orphan_files_deleted += 1;
        }
    }
    for upload in meta.stale_uploads(expiry).await? {
        // An upload is idle from its last append (the file's mtime), not from its start: a long
        // chunked upload still being written stays.
        if upload_files.get(&upload.id).is_some_and(|m| *m >= expiry) {
            continue;
        }
        blobs.upload_cancel(&upload.id).await?;
        meta.delete_upload(&upload.id).await?;
        report.uploads_expired += 1;
    }
    // Upload files whose record is gone (or never made it).
    for id in uploads {
        blobs.upload_cancel(&id).await?;
    }
    // Every push and every StartImageScan adds rows: bounded here.
    report.history_pruned = meta
        .prune_webhook_deliveries(KEEP_DELIVERIES_PER_TRIGGER)
        .await?
        + meta.prune_scans(KEEP_SCANS_PER_IMAGE).await?
        + meta.prune_dead_jobs(KEEP_DEAD_JOBS).await?;
    Ok(report)
}
