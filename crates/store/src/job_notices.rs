//! The notice a queued job sends (its own file: it names both the store and the notices).
use crate::notices::JOBS_TOPIC;

/// Tells the processes on the store that a job of `kind` was queued (after its commit). A
/// failure is only logged: the job is stored, and runners poll anyway.
pub(crate) async fn announce_job(store: &dyn crate::MetadataStore, kind: &str) {
    if let Err(e) = store.publish_notice(JOBS_TOPIC, kind).await {
        tracing::warn!(error = %e, kind, "could not announce a queued job");
    }
}
