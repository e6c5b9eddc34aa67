//! One kind's list-then-watch loop, the reflector pattern the Kubernetes API documents:
//! list (paged), watch from the list's resourceVersion, keep the newest resourceVersion seen
//! (objects and BOOKMARKs), watch again from it when the server ends a watch, and list again
//! on 410 Gone (an HTTP 410, or an `ERROR` event with code 410: the history was compacted).
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::AgentError;
use crate::kinds::Kind;
use crate::kube_api::{KubeApi, SourceError, WatchItem};
use crate::state::Shared;

/// Runs until a fatal error.
pub async fn run(
    api: Arc<KubeApi>,
    shared: Arc<Shared>,
    kind: Kind,
    max_objects: usize,
    mut backoff: Backoff,
) -> Result<(), AgentError> {
    loop {
        // List.
        let (objects, mut rv) = match api.list(&kind, max_objects).await {
            Ok(listed) => listed,
            Err(SourceError::Fatal(e)) => return Err(e),
            Err(SourceError::Gone(m) | SourceError::Transient(m)) => {
                let pause = backoff.next_pause();
                tracing::warn!(kind = kind.kind, "listing failed ({m}); again in {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        tracing::info!(
            kind = kind.kind,
            objects = objects.len(),
            resource_version = %rv,
            "listed"
        );
        shared.replace_kind(&kind, objects)?;
        backoff.reset();
        // Watch until the history is gone.
        loop {
            match watch_once(&api, &shared, &kind, &mut rv).await {
                Ok(()) => backoff.reset(),
                Err(SourceError::Fatal(e)) => return Err(e),
                Err(SourceError::Gone(m)) => {
                    tracing::info!(kind = kind.kind, "watch expired ({m}); listing again");
                    shared.invalidate(&kind);
                    break;
                }
                Err(SourceError::Transient(m)) => {
                    let pause = backoff.next_pause();
                    tracing::warn!(kind = kind.kind, "watch failed ({m}); again in {pause:?}");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

/// One watch request, read to its end; `rv` follows every object and bookmark.
async fn watch_once(
    api: &KubeApi,
    shared: &Shared,
    kind: &Kind,
    rv: &mut String,
) -> Result<(), SourceError> {
    let mut watch = api.watch(kind, rv).await?;
    while let Some(item) = watch.next().await? {
        match item {
            WatchItem::Event {
                event,
                object,
                resource_version,
            } => {
                shared
                    .apply(kind, event, object)
                    .map_err(SourceError::Fatal)?;
                *rv = resource_version;
            }
            WatchItem::Bookmark(resource_version) => *rv = resource_version,
        }
    }
    // A watch the server ended right away, again and again, would spin: pause a little.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}
