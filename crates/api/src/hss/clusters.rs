//! Clusters: ListClusterProtectOverview (`GET .../cluster-protect/overview`),
//! ListClusterProtectionInfo (`GET .../clusters`), ListClusterProtectionItem
//! (`GET .../protection-item`) and SwitchClusterProtectionMode (`POST .../switch-mod`).
//!
//! Clusters are berth's runtime clusters (`berth admin cluster`), shared by every project; their
//! protection mode is `ClusterRecord::protection` (`protected` / `unprotected`), which the
//! vendor's `protect_status` reports as `protected with policy` or `protected without policy`
//! (whether one of the project's policies applies there), `unprotected`, or `plugin error`
//! (berth's `offline` and `failed`).
use std::collections::BTreeSet;

use berth_store::ClusterRecord;
use serde::{Deserialize, Serialize};

use super::context::{Call, reply};
use super::error::{HssError, HssResult};
use super::policies;

const MAX_SWITCH: usize = 1000;

#[derive(Serialize)]
struct Overview {
    cluster_num: u64,
    under_protect_num: u64,
    policy_num: u64,
    event_num: u64,
    block_num: u64,
}

/// `ClusterResponseInfo`.
#[derive(Serialize)]
struct ClusterInfo {
    cluster_name: String,
    cluster_id: String,
    cluster_version: String,
    protect_status: String,
    policy_num: u64,
    cluster_status: String,
    cluster_type: String,
}

#[derive(Serialize)]
struct ClusterList {
    total_num: u64,
    data_list: Vec<ClusterInfo>,
}

#[derive(Serialize)]
struct Baseline {
    baseline_desc: String,
    baseline_index: String,
    baseline_type: String,
}

#[derive(Serialize)]
struct Malware {
    malware_type: String,
}

#[derive(Serialize)]
struct Image {
    image_name: String,
    image_version: String,
    id: String,
}

/// `ClusterItemResponseInfo`.
#[derive(Serialize)]
struct ClusterItem {
    cluster_id: String,
    cluster_name: String,
    cluster_ns: Vec<String>,
    cluster_labels: Vec<String>,
    cluster_type: String,
    protect_status: String,
}

/// `ListClusterProtectionItemResponse`.
#[derive(Serialize)]
struct Items {
    total_num: u64,
    vuls: Vec<String>,
    baselines: Vec<Baseline>,
    malwares: Vec<Malware>,
    images: Vec<Image>,
    clusters: Vec<ClusterItem>,
}

/// `SwitchClusterProtectionModeRequestBody`.
#[derive(Deserialize)]
struct SwitchRequest {
    cluster_ids: Vec<String>,
    opr: i64,
}

fn protected(c: &ClusterRecord) -> bool {
    c.protection == "protected"
}

fn protect_status(c: &ClusterRecord, policy_num: u64) -> &'static str {
    match c.protection.as_str() {
        "protected" if policy_num > 0 => "protected with policy",
        "protected" => "protected without policy",
        "offline" | "failed" => "plugin error",
        _ => "unprotected",
    }
}

/// berth registers plain Kubernetes clusters: the vendor's `k8s` (native cluster).
const CLUSTER_TYPE: &str = "k8s";

pub async fn overview(call: &Call) -> HssResult<String> {
    let meta = &call.app.meta;
    let clusters = meta.list_clusters().await?;
    let policies = meta.list_protection_policies(&call.project_id).await?;
    let events = meta.count_protection_events(&call.project_id).await?;
    reply(&Overview {
        cluster_num: clusters.len() as u64,
        under_protect_num: clusters.iter().filter(|c| protected(c)).count() as u64,
        policy_num: policies.len() as u64,
        event_num: events.total,
        block_num: events.blocked,
    })
}

pub async fn list(call: &Call) -> HssResult<String> {
    let page = call.paging()?;
    let clusters = call.app.meta.list_clusters().await?;
    let policies = policies::all(call).await?;
    let total = clusters.len() as u64;
    let data_list = page
        .slice(clusters)
        .into_iter()
        .map(|c| {
            let policy_num = policies::count_in(&policies, &c.id);
            ClusterInfo {
                protect_status: protect_status(&c, policy_num).to_string(),
                policy_num,
                cluster_version: c.kubernetes_version.unwrap_or_default(),
                cluster_status: "Available".to_string(),
                cluster_type: CLUSTER_TYPE.to_string(),
                cluster_name: c.name,
                cluster_id: c.id,
            }
        })
        .collect();
    reply(&ClusterList {
        total_num: total,
        data_list,
    })
}

/// `nginx:1.27` -> (`nginx`, `1.27`); `repo@sha256:..` -> (`repo`, `sha256:..`).
fn split_image(written: &str) -> (String, String) {
    if let Some((name, digest)) = written.split_once('@') {
        return (name.to_string(), digest.to_string());
    }
    let slash = written.rfind('/').map_or(0, |i| i + 1);
    match written[slash..].rfind(':') {
        Some(i) => (
            written[..slash + i].to_string(),
            written[slash + i + 1..].to_string(),
        ),
        None => (written.to_string(), String::new()),
    }
}

/// What policies can name: the baseline checks of berth's templates, the clusters with their
/// namespaces and the images their pods run (from the inventory snapshots). Vulnerability ids and
/// malware types are open sets (any CVE id, any family name), listed empty.
pub async fn items(call: &Call) -> HssResult<String> {
    let meta = &call.app.meta;
    let clusters = meta.list_clusters().await?;
    let policies = policies::all(call).await?;
    let mut namespaces: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    let mut images = BTreeSet::new();
    for snapshot in crate::runtime::snapshots::load_all(&call.app).await? {
        let ns = namespaces.entry(snapshot.cluster().id.clone()).or_default();
        ns.extend(snapshot.namespace_names().into_iter().map(str::to_string));
        for pod in snapshot.pods() {
            for c in &pod.spec.containers {
                images.insert(c.image.written.clone());
            }
        }
    }
    let baselines = [
        (
            berth_hss::policy::RUN_AS_ROOT,
            "the image's containers run as root",
        ),
        (
            berth_hss::policy::SECRET_IN_LAYER,
            "a key, credential or token is in a layer or the image's configuration",
        ),
    ]
    .into_iter()
    .map(|(index, desc)| Baseline {
        baseline_desc: desc.to_string(),
        baseline_index: index.to_string(),
        baseline_type: "image".to_string(),
    })
    .collect();
    let clusters: Vec<ClusterItem> = clusters
        .into_iter()
        .map(|c| ClusterItem {
            protect_status: protect_status(&c, policies::count_in(&policies, &c.id)).to_string(),
            cluster_ns: namespaces
                .remove(&c.id)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            cluster_labels: Vec::new(),
            cluster_type: CLUSTER_TYPE.to_string(),
            cluster_name: c.name,
            cluster_id: c.id,
        })
        .collect();
    let images: Vec<Image> = images
        .into_iter()
        .map(|written| {
            let (image_name, image_version) = split_image(&written);
            Image {
                id: written,
                image_name,
                image_version,
            }
        })
        .collect();
    reply(&Items {
        total_num: (clusters.len() + images.len()) as u64,
        vuls: Vec::new(),
        baselines,
        malwares: Vec::new(),
        images,
        clusters,
    })
}

pub async fn switch_mode(call: &Call) -> HssResult<String> {
    let req: SwitchRequest = call.body_json()?;
    let protection = match req.opr {
        1 => "protected",
        // 2 is "turn off and uninstall the plugin": berth installs no plugin.
        0 | 2 => "unprotected",
        other => {
            return Err(HssError::invalid_body(format!(
                "opr: unknown value {other}, expected 0 (off), 1 (on) or 2 (off and uninstall)"
            )));
        }
    };
    if req.cluster_ids.is_empty() || req.cluster_ids.len() > MAX_SWITCH {
        return Err(HssError::invalid_body(format!(
            "cluster_ids must name 1 to {MAX_SWITCH} clusters"
        )));
    }
    if !call
        .app
        .meta
        .set_cluster_protection(&req.cluster_ids, protection)
        .await?
    {
        return Err(HssError::new(
            axum::http::StatusCode::NOT_FOUND,
            "HSS.1006",
            "One of the clusters does not exist; none was changed",
        ));
    }
    crate::notices::announce(&call.app, crate::notices::ApiNotice::Admission);
    super::context::empty()
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_images() {
        let s = |w: &str| super::split_image(w);
        assert_eq!(s("nginx:1.27"), ("nginx".into(), "1.27".into()));
        assert_eq!(s("reg:5000/a/b"), ("reg:5000/a/b".into(), String::new()));
        assert_eq!(s("reg:5000/a/b:v1"), ("reg:5000/a/b".into(), "v1".into()));
        assert_eq!(s("a@sha256:ab"), ("a".into(), "sha256:ab".into()));
    }
}
