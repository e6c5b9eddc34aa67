//! What a decision leaves behind (never for a dry run): for every blocked or alarmed image an
//! HSS event per deciding policy (`ProtectionStore::record_protection_event`, listed by
//! ListClusterEvents), a webhook event to the image's berth namespace (`AdmissionBlock` /
//! `AdmissionAlarm`), and an audit log line (target `audit`); and an admitted Pod goes into the
//! cluster's runtime inventory as a watch event, through the events endpoint's own path.
use berth_hss::policy::Verdict;
use berth_store::{EVENT_UNHANDLED, ProtectionEvent, now_millis};
use serde_json::{Value, json};

use super::decide::{Decided, ImageOutcome};
use super::message::{self, ImageVerdict};
use crate::runtime::ingest::apply_event;
use crate::state::App;
use crate::webhooks::{self, EventType, WebhookEvent};

fn resource_info(d: &Decided, o: &ImageOutcome) -> Value {
    json!({
        "kind": d.workload.kind.as_str(),
        "namespace": d.workload.namespace,
        "name": d.workload.name,
        "operation": d.operation,
        "image": o.image,
        "digest": o.info.digest,
        "containers": o.containers,
    })
}

/// Records everything of a decision that is not a dry run; logs what cannot be recorded.
pub async fn record(app: &App, d: &Decided, allowed: bool) {
    if d.dry_run {
        return;
    }
    for o in &d.images {
        let (action, verb, event_type) = match o.decision.verdict {
            Verdict::Block(_) => ("block", "blocked", EventType::AdmissionBlock),
            Verdict::Alarm(_) => ("alarm", "alarmed", EventType::AdmissionAlarm),
            Verdict::Allow(_) => continue,
        };
        let text = message::line(
            &ImageVerdict {
                image: &o.image,
                containers: &o.containers,
                decision: &o.decision,
                policies: o.policies.iter().map(|(_, id, _)| id.clone()).collect(),
            },
            verb,
        );
        tracing::info!(target: "audit", surface = "admission", action, cluster = %d.cluster.id,
            kind = d.workload.kind.as_str(), namespace = %d.workload.namespace,
            name = %d.workload.name, operation = %d.operation, image = %o.image,
            digest = o.info.digest.as_deref().unwrap_or(""), "{text}");
        let info = resource_info(d, o);
        let now = now_millis();
        for (project, policy_id, policy_name) in &o.policies {
            let event = ProtectionEvent {
                project_id: project.clone(),
                event_id: format!("ev-{}", uuid::Uuid::new_v4().simple()),
                cluster_id: d.cluster.id.clone(),
                cluster_name: d.cluster.name.clone(),
                policy_id: policy_id.clone(),
                policy_name: policy_name.clone(),
                event_name: format!("image {verb} at admission"),
                event_class_id: "admission".into(),
                event_type: if action == "block" { 1 } else { 0 },
                event_content: text.clone(),
                action: action.into(),
                handle_status: EVENT_UNHANDLED.into(),
                resource_info: info.to_string(),
                created_at: now,
                updated_at: now,
            };
            if let Err(e) = app.meta.record_protection_event(&event).await {
                tracing::error!(target: "admission", error = %e, "cannot record a protection event");
            }
        }
        if let Some((instance, repo)) = &o.info.home {
            let digest = o.info.digest.as_deref().and_then(|d| d.parse().ok());
            let mut event = WebhookEvent::new(event_type, instance, repo, None, digest.as_ref());
            let mut details = info.clone();
            if let Some(map) = details.as_object_mut() {
                map.insert("clusterId".into(), json!(d.cluster.id));
                map.insert("verdict".into(), json!(action));
                map.insert(
                    "policies".into(),
                    json!(o.policies.iter().map(|(_, id, _)| id).collect::<Vec<_>>()),
                );
                map.insert("message".into(), json!(text));
            }
            event.admission = Some(details);
            webhooks::notify(app, event);
        }
    }
    if allowed && let Some(pod) = &d.pod {
        inventory(app, d, pod).await;
    }
}

/// The admitted pod as a watch event on the cluster's inventory. A pod created with only a
/// `generateName` has no name yet; the agent's watch (or the next snapshot) reports it.
async fn inventory(app: &App, d: &Decided, pod: &Value) {
    let named = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !named {
        return;
    }
    let mut pod = pod.clone();
    if pod.pointer("/metadata/namespace").is_none()
        && let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.insert("namespace".into(), json!(d.workload.namespace));
    }
    let kind = if d.operation == "CREATE" {
        "ADDED"
    } else {
        "MODIFIED"
    };
    let event = json!({"type": kind, "object": pod}).to_string();
    let options = berth_inventory::ParseOptions::default();
    if let Err(e) = apply_event(app, &d.cluster, event.as_bytes(), &options).await {
        tracing::warn!(target: "admission", cluster = %d.cluster.id, error = %e,
            "an admitted pod could not be added to the inventory");
    }
}
