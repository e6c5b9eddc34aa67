//! Events: ListClusterEvents (`GET .../cluster-protect/events`), ChangeClusterEvents (`PUT`,
//! handle or ignore events) and SyncClusterProtectionEvent
//! (`POST .../container/clusters/protection-event-sync`).
//!
//! Events are written by admission (`ProtectionStore::record_protection_event`); until then
//! the list is empty. berth holds its events itself, so a sync has nothing to fetch: it checks
//! the cluster and answers `synched: true`.
use berth_store::{EVENT_HANDLED, ProtectionEvent, now_millis};
use serde::{Deserialize, Serialize};

use super::context::{Call, reply};
use super::error::{HssError, HssResult};

/// The most events one change may name.
const MAX_CHANGE: usize = 1000;

/// `ModClusterProtectionEventRequest`.
#[derive(Deserialize)]
struct ChangeRequest {
    /// The vendor's count of `data_list`; checked against it when given.
    #[serde(default)]
    total_num: Option<i64>,
    opr: String,
    data_list: Vec<String>,
}

/// `ClusterEventResponseInfo`.
#[derive(Serialize)]
struct EventInfo {
    action: String,
    cluster_name: String,
    cluster_id: String,
    event_name: String,
    event_class_id: String,
    event_id: String,
    event_type: i64,
    event_content: String,
    handle_status: String,
    create_time: i64,
    update_time: i64,
    project_id: String,
    enterprise_project_id: String,
    policy_name: String,
    policy_id: String,
    resource_info: serde_json::Value,
}

/// `ListClusterEventsResponse` and `ChangeClusterEventsResponse`.
#[derive(Serialize)]
struct EventList {
    total_num: u64,
    last_update_time: i64,
    data_list: Vec<EventInfo>,
}

#[derive(Serialize)]
struct Synched {
    synched: bool,
}

fn info(e: ProtectionEvent) -> EventInfo {
    // A stored resource that does not read is shown as an empty object rather than failing
    // the whole list: admission wrote it, and the other fields still say what happened.
    let resource_info = serde_json::from_str(&e.resource_info)
        .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
    EventInfo {
        action: e.action,
        cluster_name: e.cluster_name,
        cluster_id: e.cluster_id,
        event_name: e.event_name,
        event_class_id: e.event_class_id,
        event_id: e.event_id,
        event_type: e.event_type,
        event_content: e.event_content,
        handle_status: e.handle_status,
        create_time: e.created_at,
        update_time: e.updated_at,
        project_id: e.project_id,
        enterprise_project_id: "0".to_string(),
        policy_name: e.policy_name,
        policy_id: e.policy_id,
        resource_info,
    }
}

fn event_list(total: u64, events: Vec<ProtectionEvent>) -> EventList {
    EventList {
        total_num: total,
        last_update_time: events.iter().map(|e| e.updated_at).max().unwrap_or(0),
        data_list: events.into_iter().map(info).collect(),
    }
}

pub async fn list(call: &Call) -> HssResult<String> {
    let page = call.paging()?;
    let cluster = call.param("cluster_id");
    let found = call
        .app
        .meta
        .list_protection_events(&call.project_id, cluster, page.offset, page.limit)
        .await?;
    reply(&event_list(found.total, found.items))
}

pub async fn change(call: &Call) -> HssResult<String> {
    let req: ChangeRequest = call.body_json()?;
    let status = match req.opr.as_str() {
        // The vendor's statuses are `unhandled` and `handled`; an ignored event is dealt with.
        "handle" | "ignore" => EVENT_HANDLED,
        "addWhiteImage" => {
            return Err(HssError::unsupported(
                "opr addWhiteImage (add the image to the policy's white_image_list with \
                 ChangeClusterProtectionPolicy)",
            ));
        }
        other => {
            return Err(HssError::invalid_body(format!(
                "opr: unknown value {other:?}, expected \"handle\", \"ignore\" or \"addWhiteImage\""
            )));
        }
    };
    if req.data_list.is_empty() || req.data_list.len() > MAX_CHANGE {
        return Err(HssError::invalid_body(format!(
            "data_list must name 1 to {MAX_CHANGE} events"
        )));
    }
    if req
        .total_num
        .is_some_and(|n| usize::try_from(n).ok() != Some(req.data_list.len()))
    {
        return Err(HssError::invalid_body(
            "total_num differs from the number of ids in data_list",
        ));
    }
    let changed = call
        .app
        .meta
        .set_protection_event_status(&call.project_id, &req.data_list, status, now_millis())
        .await?
        .ok_or_else(HssError::event_not_found)?;
    reply(&event_list(changed.len() as u64, changed))
}

pub async fn sync(call: &Call) -> HssResult<String> {
    let cluster = call.required("cluster_id")?;
    if call.app.meta.get_cluster(cluster).await?.is_none() {
        return Err(HssError::cluster_not_found(cluster));
    }
    reply(&Synched { synched: true })
}
