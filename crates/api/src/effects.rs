//! The sinks that turn the registry's events into side effects: webhook deliveries and
//! scan-on-push. Registered once at startup (`lib.rs`), so every write path — the OCI API, the
//! management API, the console — has them without calling them.
#[cfg(feature = "scanner")]
use crate::http_util::namespace_of;
#[cfg(feature = "scanner")]
use crate::registry::access::lookup_namespace;
use crate::state::AppState;
use crate::webhooks::{EventType, WebhookEvent};
use async_trait::async_trait;
use berth_registry::{EventSink, RegistryEvent};
use std::sync::{Arc, Weak};

/// Registers the sinks on `app.registry`. They hold the state weakly: it owns them.
pub fn register(app: &Arc<AppState>) {
    #[cfg(feature = "scanner")]
    app.registry.add_sink(Arc::new(ScanOnPush {
        app: Arc::downgrade(app),
    }));
    app.registry.add_sink(Arc::new(Webhooks {
        app: Arc::downgrade(app),
    }));
}

/// Queues a scan of each pushed image when the configuration or its namespace asks for it.
#[cfg(feature = "scanner")]
struct ScanOnPush {
    app: Weak<AppState>,
}

#[cfg(feature = "scanner")]
#[async_trait]
impl EventSink for ScanOnPush {
    async fn on_event(&self, event: &RegistryEvent<'_>) {
        let RegistryEvent::ManifestPushed {
            instance,
            repository,
            digest,
            scannable: true,
            ..
        } = *event
        else {
            return;
        };
        let Some(app) = self.app.upgrade() else {
            return;
        };
        let on_push = app.config.scan.on_push
            || match lookup_namespace(&app, &instance.id, namespace_of(&repository.name)).await {
                Ok(ns) => ns.is_some_and(|ns| ns.scan_on_push),
                Err(e) => {
                    tracing::error!(%digest, error = %e.detail, "cannot read the namespace's scan-on-push setting");
                    false
                }
            };
        if on_push && let Err(e) = crate::scanning::enqueue(&app, repository, digest).await {
            tracing::error!(%digest, error = %e, "cannot queue the scan of a pushed image");
        }
    }
}

/// Schedules the deliveries of the webhook triggers an event matches.
struct Webhooks {
    app: Weak<AppState>,
}

#[async_trait]
impl EventSink for Webhooks {
    async fn on_event(&self, event: &RegistryEvent<'_>) {
        let Some(app) = self.app.upgrade() else {
            return;
        };
        let webhook = match *event {
            RegistryEvent::ManifestPushed {
                instance,
                repository,
                digest,
                tags,
                ..
            } => WebhookEvent::new(
                EventType::PushImage,
                instance,
                repository,
                tags.first().map(String::as_str),
                Some(digest),
            ),
            RegistryEvent::ManifestDeleted {
                instance,
                repository,
                digest,
            } => WebhookEvent::new(
                EventType::DeleteImage,
                instance,
                repository,
                None,
                Some(digest),
            ),
            RegistryEvent::TagDeleted {
                instance,
                repository,
                tag,
                digest,
            } => WebhookEvent::new(
                EventType::DeleteImage,
                instance,
                repository,
                Some(tag),
                Some(digest),
            ),
        };
        crate::webhooks::notify(&app, webhook);
    }
}
