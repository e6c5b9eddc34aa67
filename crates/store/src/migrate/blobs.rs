//! Copying every blob of one store into another through the target's upload layer.
use super::error::MigrateError;
use crate::{BlobStore, CommitOutcome};

/// What a blob copy did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlobCopyReport {
    /// Blobs written to the target, verified against their digests.
    pub copied: u64,
    /// Blobs the target already held (an earlier, interrupted run).
    pub skipped: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Copies every blob of `from` that `to` lacks. Each is streamed into an upload of `to` and
/// committed against its digest, so corrupt source bytes fail the copy instead of landing.
/// `progress` is called after each blob with the running report and the number of blobs.
pub async fn copy_blobs(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    mut progress: impl FnMut(&BlobCopyReport, usize),
) -> Result<BlobCopyReport, MigrateError> {
    let blobs = from.list().await?;
    let total = blobs.len();
    let mut report = BlobCopyReport::default();
    for (digest, _) in blobs {
        if to.stat(&digest).await?.is_some() {
            report.skipped += 1;
            progress(&report, total);
            continue;
        }
        let fail = |reason: String| MigrateError::Blob {
            digest: digest.to_string(),
            reason,
        };
        let Some(stream) = from.read(&digest, None).await? else {
            // Deleted since the listing: nothing references it any more.
            continue;
        };
        let upload = uuid::Uuid::new_v4().to_string();
        to.upload_start(&upload).await?;
        let written = match to.upload_append(&upload, 0, stream, u64::MAX).await {
            Ok(n) => n,
            Err(e) => {
                let _ = to.upload_cancel(&upload).await;
                return Err(fail(format!("copying: {e}")));
            }
        };
        let outcome = to.upload_commit(&upload, &digest).await;
        let _ = to.upload_cancel(&upload).await;
        match outcome? {
            CommitOutcome::Committed { .. } => {
                report.copied += 1;
                report.bytes += written;
            }
            CommitOutcome::DigestMismatch { actual } => {
                return Err(fail(format!("the source's bytes hash to {actual}")));
            }
        }
        progress(&report, total);
    }
    Ok(report)
}
