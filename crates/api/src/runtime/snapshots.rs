//! Stored snapshots, parsed once per version. The store holds each cluster's inventory as one
//! JSON document with a version; readers ask the store for the versions (one small query) and
//! parse only documents whose version they have not parsed yet. A parsed snapshot is shared
//! (`Arc`) and never changed in place: a write makes a new one.
use std::collections::HashMap;
use std::sync::Arc;

use berth_inventory::ClusterSnapshot;
use berth_store::{ClusterRecord, StoreError, StoredSnapshot};

use super::clusters::cluster_model;
use crate::state::App;

/// Parses a stored document (on a blocking thread: a large cluster's document is tens of MiB)
/// and gives it the cluster's current record.
async fn parse(
    stored: StoredSnapshot,
    record: &ClusterRecord,
) -> Result<ClusterSnapshot, StoreError> {
    let cluster = cluster_model(record);
    let id = stored.cluster_id.clone();
    tokio::task::spawn_blocking(move || {
        let mut snapshot: ClusterSnapshot = serde_json::from_str(&stored.document)
            .map_err(|e| StoreError::Corrupt(format!("snapshot of cluster {id}: {e}")))?;
        snapshot.set_cluster(cluster);
        Ok(snapshot)
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("snapshot parser stopped: {e}")))?
}

/// The cluster's stored snapshot and its version, or `None` when none is stored yet.
pub async fn load(
    app: &App,
    record: &ClusterRecord,
) -> Result<Option<(i64, Arc<ClusterSnapshot>)>, StoreError> {
    let version = app
        .meta
        .snapshot_versions()
        .await?
        .into_iter()
        .find_map(|v| (v.cluster_id == record.id).then_some(v.version));
    let Some(version) = version else {
        return Ok(None);
    };
    cached_or_parsed(app, record, version).await
}

/// The parsed snapshot of `record` at `version`: the cached one, or the stored document parsed
/// and cached. `None` when the cluster's snapshot went away meanwhile.
async fn cached_or_parsed(
    app: &App,
    record: &ClusterRecord,
    version: i64,
) -> Result<Option<(i64, Arc<ClusterSnapshot>)>, StoreError> {
    if let Some((v, s)) = app.runtime.snapshots.get(&record.id)
        && v == version
    {
        return Ok(Some((v, s)));
    }
    let Some(stored) = app.meta.snapshot(&record.id).await? else {
        return Ok(None);
    };
    let version = stored.version;
    let snapshot = Arc::new(parse(stored, record).await?);
    app.runtime
        .snapshots
        .insert(record.id.clone(), (version, snapshot.clone()));
    Ok(Some((version, snapshot)))
}

/// Remembers a snapshot this process just wrote, so the next reader does not parse it again.
pub fn remember(app: &App, cluster_id: &str, version: i64, snapshot: Arc<ClusterSnapshot>) {
    app.runtime
        .snapshots
        .insert(cluster_id.to_string(), (version, snapshot));
}

/// Every stored snapshot of every cluster, ordered by cluster id.
pub async fn load_all(app: &App) -> Result<Vec<Arc<ClusterSnapshot>>, StoreError> {
    let versions = app.meta.snapshot_versions().await?;
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let records: HashMap<String, ClusterRecord> = app
        .meta
        .list_clusters()
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let mut out = Vec::with_capacity(versions.len());
    for v in versions {
        let Some(record) = records.get(&v.cluster_id) else {
            // Deleted between the two reads.
            continue;
        };
        if let Some((_, snapshot)) = cached_or_parsed(app, record, v.version).await? {
            out.push(snapshot);
        }
    }
    Ok(out)
}
