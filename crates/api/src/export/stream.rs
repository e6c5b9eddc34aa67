//! The export's producer: one task per request walks every cluster's snapshot deployment by
//! deployment, evaluates the query, and sends each matching deployment as one line through a
//! channel of a few messages. The response body reads the channel, so at most that many lines
//! wait in memory however large the export, and a client that stops reading stops the walk
//! (the producer waits on a full channel). A client that disconnects drops the body and with it
//! the receiver: the producer sees the channel closed and stops at once, as it does when the
//! deadline passes.
use std::sync::Arc;

use berth_inventory::{ClusterSnapshot, ContainerKind, Pod};
use berth_oci::Digest;
use berth_query::Query;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::deployment::{NameOut, RunningImage, deployment, image_name, live_pods, running_images};
use super::document::Document;
use super::error::{ExportError, Grpc};
use super::images::Images;
use super::suppress::Applicable;
use crate::exceptions::Active;
use crate::state::App;

/// Lines waiting between the producer and the connection.
pub const CHANNEL_MESSAGES: usize = 4;

pub enum Item {
    Line(Bytes),
    Error(ExportError),
}

/// Starts the producer; its items arrive on the returned receiver.
pub fn start(
    app: App,
    query: Query,
    deadline: Option<Instant>,
    permit: tokio::sync::SemaphorePermit<'static>,
) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(CHANNEL_MESSAGES);
    tokio::spawn(async move {
        let _permit = permit;
        let expired = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            r = produce(&app, &query, &tx) => r,
            () = expired => Err(ExportError::new(Grpc::DeadlineExceeded, "the export's timeout expired")),
            () = tx.closed() => return,
        };
        if let Err(e) = outcome {
            let _ = tx.send(Item::Error(e)).await;
        }
    });
    rx
}

async fn produce(app: &App, query: &Query, tx: &mpsc::Sender<Item>) -> Result<(), ExportError> {
    let snapshots = crate::runtime::snapshots::load_all(app)
        .await
        .map_err(ExportError::internal)?;
    let now = chrono::Utc::now().timestamp();
    let exceptions = Active::load(app.meta.as_ref())
        .await
        .map_err(ExportError::internal)?;
    let mut images = Images::new();
    for snapshot in snapshots {
        let scope = Scope {
            query,
            now,
            exceptions: &exceptions,
        };
        cluster(app, &scope, &snapshot, &mut images, tx).await?;
    }
    Ok(())
}

/// What selects and qualifies the export's messages.
struct Scope<'a> {
    query: &'a Query,
    now: i64,
    exceptions: &'a Active,
}

/// Exports one cluster's deployments, in the snapshot's order.
async fn cluster(
    app: &App,
    scope: &Scope<'_>,
    snapshot: &Arc<ClusterSnapshot>,
    images: &mut Images,
    tx: &mpsc::Sender<Item>,
) -> Result<(), ExportError> {
    let pods = snapshot.pods_by_workload();
    let none: Vec<&Pod> = Vec::new();
    let mut buf = Vec::with_capacity(16 * 1024);
    let workloads: Vec<_> = snapshot.top_level_workloads().collect();
    // Which digests berth stores is looked up a window of deployments at a time, the windows
    // growing from one: the first message waits for one small query, the rest share a few.
    let (mut start, mut window) = (0, 1);
    let mut pending = Vec::new();
    while start < workloads.len() {
        let end = (start + window).min(workloads.len());
        pending.clear();
        for w in &workloads[start..end] {
            let wpods = pods.get(&w.key()).unwrap_or(&none);
            pending.push((wpods, running_images(w, wpods)));
        }
        let digests: Vec<Digest> = pending
            .iter()
            .flat_map(|(_, running)| running)
            .filter_map(|r| r.digest.parse().ok())
            .collect();
        images
            .learn(app, &digests)
            .await
            .map_err(ExportError::internal)?;
        for (w, (wpods, running)) in workloads[start..end].iter().zip(pending.drain(..)) {
            if !deployment_line(app, scope, snapshot, images, w, wpods, running, &mut buf).await? {
                continue;
            }
            if tx
                .send(Item::Line(Bytes::copy_from_slice(&buf)))
                .await
                .is_err()
            {
                // The client went away.
                return Ok(());
            }
        }
        start = end;
        window = (window * 8).min(MAX_WINDOW);
    }
    Ok(())
}

/// Deployments whose stored images are looked up in one query, at most.
const MAX_WINDOW: usize = 512;

/// Writes `w`'s message into `buf`; `false` when the query does not select it.
#[allow(clippy::too_many_arguments)]
async fn deployment_line(
    app: &App,
    scope: &Scope<'_>,
    snapshot: &Arc<ClusterSnapshot>,
    images: &Images,
    w: &berth_inventory::WorkloadRef<'_>,
    wpods: &[&Pod],
    running: Vec<RunningImage>,
    buf: &mut Vec<u8>,
) -> Result<bool, ExportError> {
    let uid = match w {
        berth_inventory::WorkloadRef::Controller(c) => c.uid.as_deref(),
        berth_inventory::WorkloadRef::Pod(p) => p.uid.as_deref(),
    }
    .unwrap_or("");
    let mut entries = Vec::with_capacity(running.len());
    for r in &running {
        let applicable = Applicable::new(
            scope.exceptions,
            &snapshot.cluster().id,
            w.namespace(),
            r.name.as_ref(),
            &r.digest,
        );
        let e = images
            .get(app, &r.digest, &applicable)
            .await
            .map_err(ExportError::internal)?;
        entries.push((r.digest.clone(), e));
    }
    let mut names: Vec<NameOut> = Vec::new();
    for c in w
        .template()
        .containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Ephemeral)
    {
        if let Some(n) = image_name(c.image.name.as_ref())
            && !names.contains(&n)
        {
            names.push(n);
        }
    }
    let doc = Document {
        snapshot,
        workload: w,
        names: &names,
        images: &entries,
    };
    if !scope.query.matches(&doc, scope.now) {
        return Ok(false);
    }
    let message = deployment(snapshot, w, uid, wpods);
    buf.clear();
    buf.extend_from_slice(b"{\"result\":{\"deployment\":");
    serde_json::to_writer(&mut *buf, &message).map_err(ExportError::internal)?;
    buf.extend_from_slice(b",\"images\":[");
    for (i, (r, (digest, e))) in running.iter().zip(&entries).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"id\":");
        serde_json::to_writer(&mut *buf, digest).map_err(ExportError::internal)?;
        buf.extend_from_slice(b",\"name\":");
        serde_json::to_writer(&mut *buf, &r.name).map_err(ExportError::internal)?;
        buf.extend_from_slice(b",\"names\":");
        let names: Vec<&NameOut> = r.name.iter().collect();
        serde_json::to_writer(&mut *buf, &names).map_err(ExportError::internal)?;
        buf.push(b',');
        buf.extend_from_slice(e.tail.as_bytes());
    }
    buf.extend_from_slice(b"],\"livePods\":");
    buf.extend_from_slice(live_pods(wpods).to_string().as_bytes());
    buf.extend_from_slice(b"}}\n");
    Ok(true)
}
