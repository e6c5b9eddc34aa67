//! `DescribeClusterImageSecuritySummary`: the findings of the images the selected containers
//! run, by level, with the inventory crate's one counting rule (`berth_inventory::risk`):
//! Critical and High → `asap`/`high`, Medium → `nntf`/`medium`, the rest → `later`/`low`; every
//! level present even at zero; each distinct image counted once however many containers run
//! it. Images berth does not store or has not scanned count no findings.
use std::collections::HashSet;

use berth_acs::{AcsError, AcsResult};
use berth_inventory::InventoryError;
use berth_inventory::risk::{ContainerMatch, ImageSecuritySummary, SummaryQuery, summarize};
use berth_oci::Digest;
use serde::Serialize;

use super::params::{Call, DESCRIBE_SUMMARY};
use super::risk;
use crate::exceptions::Active;
use crate::runtime::snapshots;

/// The parameters of the seed (and of the SDK's request model, which adds
/// `ResourceOwnerId`, accepted by every operation).
const TAKES: [&str; 8] = [
    "SourceIp",
    "ClusterId",
    "ContainerFieldName",
    "ContainerFieldValue",
    "ImageRepoName",
    "ImageRepoNamespace",
    "ImageTag",
    "ImageDigest",
];

#[derive(Debug, Serialize)]
pub struct Reply {
    #[serde(rename = "ClusterImageEvent")]
    pub cluster_image_event: ImageSecuritySummary,
}

fn invalid(e: &InventoryError) -> AcsError {
    AcsError::InvalidParameter(e.to_string())
}

/// The validated query.
fn query(call: &Call) -> AcsResult<SummaryQuery> {
    let field = match (
        call.filter("ContainerFieldName"),
        call.filter("ContainerFieldValue"),
    ) {
        (None, None) => None,
        (Some(_), None) => return Err(AcsError::MissingParameter("ContainerFieldValue".into())),
        (None, Some(_)) => return Err(AcsError::MissingParameter("ContainerFieldName".into())),
        (Some(name), Some(value)) => {
            Some(ContainerMatch::new(&name, &value).map_err(|e| invalid(&e))?)
        }
    };
    Ok(SummaryQuery {
        cluster_id: call.filter("ClusterId"),
        field,
        image_repo_name: call.filter("ImageRepoName"),
        image_repo_namespace: call.filter("ImageRepoNamespace"),
        image_tag: call.filter("ImageTag"),
        image_digest: call.filter("ImageDigest"),
    })
}

pub async fn describe(call: &Call) -> AcsResult<Reply> {
    call.check_names(DESCRIBE_SUMMARY, &TAKES)?;
    let query = query(call)?;
    let app = &call.app;
    let server_error = |e: berth_store::StoreError| {
        tracing::error!(error = %e, "DescribeClusterImageSecuritySummary: storage failure");
        AcsError::ServerError
    };
    let all = snapshots::load_all(app).await.map_err(server_error)?;
    let selected: Vec<_> = all
        .iter()
        .filter(|s| {
            query
                .cluster_id
                .as_deref()
                .is_none_or(|id| s.cluster().id == id)
        })
        .collect();
    let mut seen: HashSet<&Digest> = HashSet::new();
    let mut digests = Vec::new();
    for s in &selected {
        for pod in s.pods() {
            for c in &pod.spec.containers {
                if let Some(d) = c.risk_digest()
                    && seen.insert(d)
                {
                    digests.push(d.clone());
                }
            }
        }
    }
    let exceptions = Active::load(app.meta.as_ref())
        .await
        .map_err(server_error)?;
    let risks = risk::lookup(app, &digests)
        .await
        .map_err(server_error)?
        // The summary has no Kubernetes-namespace filter: namespace-scoped exceptions do
        // not apply to its counts.
        .risks(&exceptions, query.cluster_id.as_deref(), None);
    let summary = summarize(selected.iter().map(|s| s.as_ref()), &query, &risks);
    Ok(Reply {
        cluster_image_event: summary,
    })
}
