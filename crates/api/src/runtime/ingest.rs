//! Inventory in: a whole snapshot (`PUT .../snapshot`) or one watch event (`POST .../events`).
//!
//! Order of checks, each before any work the next one costs: the credential (401 without a
//! live one, 403 for another cluster's), the declared body size (413, body unread), the body
//! read up to its limit (413 past it), the document parsed whole with the inventory limits
//! (400, or 413 for a count over its limit), then one store write. Nothing is written unless
//! the whole document (or event) was valid, and a snapshot replaces the previous one in one
//! statement, so a reader sees the old inventory or the new one, never a mix.
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use berth_inventory::{
    Change, ClusterSnapshot, InventoryError, ParseOptions, UnknownKinds, parse_watch_event,
};
use berth_store::{ClusterRecord, SnapshotWrite};
use serde_json::json;

use super::clusters::{TOKEN_PREFIX, cluster_model, token_hash};
use super::error::RuntimeError;
use super::snapshots;
use crate::state::App;

/// The largest watch event taken: one object (Kubernetes stores at most 1.5 MiB per object).
const MAX_EVENT_BYTES: usize = 4 << 20;
/// How often a watch event is re-applied when another writer changed the snapshot meanwhile.
const EVENT_RETRIES: usize = 8;

type Result<T> = std::result::Result<T, RuntimeError>;

/// The cluster whose credential the request carries, if it is the one the path names.
async fn authenticate(app: &App, headers: &HeaderMap, cluster_id: &str) -> Result<ClusterRecord> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        RuntimeError::unauthenticated("an Authorization: Bearer header is required")
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| t.starts_with(TOKEN_PREFIX) && t.len() <= 256)
        .ok_or_else(|| {
            RuntimeError::unauthenticated("the Authorization header is not a cluster credential")
        })?;
    let credential = app
        .meta
        .verify_cluster_credential(&token_hash(token))
        .await
        .map_err(|e| RuntimeError::store(&e))?
        .ok_or_else(|| RuntimeError::unauthenticated("unknown or revoked cluster credential"))?;
    if credential.cluster_id != cluster_id {
        return Err(RuntimeError::forbidden(
            "this credential belongs to another cluster",
        ));
    }
    app.meta
        .get_cluster(cluster_id)
        .await
        .map_err(|e| RuntimeError::store(&e))?
        .ok_or_else(|| RuntimeError::not_found("no such cluster"))
}

/// The body, refused unread when its declared length is over `limit`, and cut off (413) when it
/// sends more.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<bytes::Bytes> {
    let too_large = || {
        RuntimeError::too_large(format!(
            "the body is larger than {limit} bytes; send the cluster in several documents"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if c.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            cause = c.source();
        }
        RuntimeError::invalid("the body did not arrive whole")
    })
}

/// `?unknownKinds=skip` takes a list with kinds berth does not inventory (a `kubectl get all`),
/// reporting what it skipped; by default such a list is refused.
fn parse_options(query: Option<&str>) -> Result<ParseOptions> {
    let mut options = ParseOptions::default();
    for (name, value) in crate::http_util::query_pairs(query) {
        match (name.as_str(), value.as_str()) {
            ("unknownKinds", "skip") => options.unknown_kinds = UnknownKinds::Skip,
            ("unknownKinds", "reject") => options.unknown_kinds = UnknownKinds::Reject,
            _ => {
                return Err(RuntimeError::invalid(format!(
                    "unknown query parameter {name:?} (only unknownKinds=skip|reject)"
                )));
            }
        }
    }
    Ok(options)
}

fn counts(s: &ClusterSnapshot) -> serde_json::Value {
    json!({
        "namespaces": s.namespace_names().len(),
        "workloads": s.workloads().count(),
        "pods": s.pods().count(),
        "containers": s.pods().map(|p| p.spec.containers.len()).sum::<usize>(),
    })
}

fn serialize(s: &ClusterSnapshot) -> Result<String> {
    serde_json::to_string(s)
        .map_err(|e| RuntimeError::invalid(format!("the inventory cannot be stored: {e}")))
}

/// `PUT /api/runtime/v1/clusters/{id}/snapshot`: the body is a Kubernetes `List` (what
/// `kubectl get pods,deployments,daemonsets,statefulsets,replicasets,jobs,cronjobs -A -o json`
/// prints); it replaces the cluster's inventory whole.
pub async fn put_snapshot(
    State(app): State<App>,
    Path(cluster_id): Path<String>,
    req: Request,
) -> Response {
    match snapshot(app, &cluster_id, req).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn snapshot(app: App, cluster_id: &str, req: Request) -> Result<serde_json::Value> {
    let (parts, body) = req.into_parts();
    let record = authenticate(&app, &parts.headers, cluster_id).await?;
    let options = parse_options(parts.uri.query())?;
    // Held until the parsed document is written: the body and its parse are the memory bounded.
    let _turn = app
        .runtime
        .snapshot_bodies
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| RuntimeError::invalid("the server is shutting down"))?;
    let bytes = read_body(&parts.headers, body, options.limits.max_document_bytes).await?;
    let cluster = cluster_model(&record);
    let (loaded, document) = tokio::task::spawn_blocking(move || {
        let loaded = ClusterSnapshot::from_list_json(cluster, &bytes, &options)
            .map_err(|e| RuntimeError::inventory(&e))?;
        let document = serialize(&loaded.snapshot)?;
        Ok::<_, RuntimeError>((loaded, document))
    })
    .await
    .map_err(|_| RuntimeError::invalid("the document could not be parsed"))??;
    let _serial = app.runtime.writes.lock().await;
    let written = app
        .meta
        .replace_snapshot(cluster_id, &document, None)
        .await
        .map_err(|e| RuntimeError::store(&e))?;
    let version = match written {
        SnapshotWrite::Written { version } => version,
        SnapshotWrite::NoCluster => return Err(RuntimeError::not_found("no such cluster")),
        SnapshotWrite::Conflict { .. } => {
            return Err(RuntimeError::conflict("the snapshot changed meanwhile"));
        }
    };
    let mut reply = json!({
        "clusterId": cluster_id,
        "version": version,
        "skipped": loaded.skipped,
    });
    if let (Some(obj), serde_json::Value::Object(c)) =
        (reply.as_object_mut(), counts(&loaded.snapshot))
    {
        obj.extend(c);
    }
    let snapshot = Arc::new(loaded.snapshot);
    snapshots::remember(&app, cluster_id, version, snapshot.clone());
    crate::scan_cache::note_inventory(&app, snapshot);
    Ok(reply)
}

/// `POST /api/runtime/v1/clusters/{id}/events`: one watch event (`{"type": "ADDED" |
/// "MODIFIED" | "DELETED", "object": {...}}`) applied to the stored inventory whole; a
/// `BOOKMARK` changes nothing; an `ERROR` event (a watch that expired) is refused: the reporter
/// must list again and send a snapshot.
pub async fn post_event(
    State(app): State<App>,
    Path(cluster_id): Path<String>,
    req: Request,
) -> Response {
    match event(app, &cluster_id, req).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

fn change_name(c: Change) -> &'static str {
    match c {
        Change::Inserted => "inserted",
        Change::Replaced => "replaced",
        Change::Removed => "removed",
        Change::Unchanged => "unchanged",
    }
}

async fn event(app: App, cluster_id: &str, req: Request) -> Result<serde_json::Value> {
    let (parts, body) = req.into_parts();
    let record = authenticate(&app, &parts.headers, cluster_id).await?;
    let options = parse_options(parts.uri.query())?;
    let limit = MAX_EVENT_BYTES.min(options.limits.max_document_bytes);
    let bytes = read_body(&parts.headers, body, limit).await?;
    apply_event(&app, &record, &bytes, &options).await
}

/// Applies one watch event to the cluster's stored inventory, whole or not at all: the path of
/// `POST .../events`, and of the pods admission sees (`crate::admission`).
pub(crate) async fn apply_event(
    app: &App,
    record: &ClusterRecord,
    bytes: &[u8],
    options: &ParseOptions,
) -> Result<serde_json::Value> {
    let cluster_id = record.id.as_str();
    let Some(event) = parse_watch_event(bytes, options).map_err(|e| RuntimeError::inventory(&e))?
    else {
        return Ok(json!({"clusterId": cluster_id, "change": "ignored"}));
    };
    let _serial = app.runtime.writes.lock().await;
    for _ in 0..EVENT_RETRIES {
        let (expected, mut snapshot) = match snapshots::load(app, record)
            .await
            .map_err(|e| RuntimeError::store(&e))?
        {
            Some((version, s)) => (version, ClusterSnapshot::clone(&s)),
            None => (0, ClusterSnapshot::new(cluster_model(record))),
        };
        let change = snapshot
            .apply(event.clone(), &options.limits)
            .map_err(|e: InventoryError| RuntimeError::inventory(&e))?;
        if change == Change::Unchanged {
            // A delete of something not held: nothing to write.
            return Ok(json!({
                "clusterId": cluster_id,
                "version": expected,
                "change": change_name(change),
            }));
        }
        let document = serialize(&snapshot)?;
        match app
            .meta
            .replace_snapshot(cluster_id, &document, Some(expected))
            .await
            .map_err(|e| RuntimeError::store(&e))?
        {
            SnapshotWrite::Written { version } => {
                let snapshot = Arc::new(snapshot);
                snapshots::remember(app, cluster_id, version, snapshot.clone());
                crate::scan_cache::note_inventory(app, snapshot);
                return Ok(json!({
                    "clusterId": cluster_id,
                    "version": version,
                    "change": change_name(change),
                }));
            }
            SnapshotWrite::NoCluster => return Err(RuntimeError::not_found("no such cluster")),
            // Another process wrote meanwhile: read its snapshot and apply the event again.
            SnapshotWrite::Conflict { .. } => continue,
        }
    }
    Err(RuntimeError::conflict(
        "the snapshot kept changing while the event was applied; send it again",
    ))
}
