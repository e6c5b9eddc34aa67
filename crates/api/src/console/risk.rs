//! The risk dashboard: what the image-risk API computes (`sas::risk`: the latest scan of each
//! running digest, less what the exceptions in force cover), over every reporting cluster:
//! images counted by their highest level, then the worst images and the worst workloads first.
use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use berth_inventory::risk::{ImageRisk, Level};
use berth_oci::Digest;
use maud::html;

use super::error::{ConsoleError, ConsoleResult};
use super::layout::{html_response, page, short_digest};
use super::viewer::{Viewer, here, viewer};
use crate::exceptions::Active;
use crate::state::App;

/// A workload as the dashboard names it: cluster, namespace, kind and name.
type WorkloadKey = (String, String, String);

/// Rows of each "worst first" table.
const TOP: usize = 20;

/// Findings per level, all kinds together: [high, medium, low].
fn levels(r: &ImageRisk) -> [u64; 3] {
    let mut all = [0u64; 3];
    for c in [&r.os_vulns, &r.lang_vulns, &r.malicious_files, &r.baseline] {
        for (slot, n) in all.iter_mut().zip(c.by_level()) {
            *slot = slot.saturating_add(n);
        }
    }
    all
}

pub async fn show(State(app): State<App>, uri: Uri, headers: HeaderMap) -> Response {
    match viewer(&app, &headers, here(&uri)).await {
        Ok(v) => dashboard(&app, &v).await.into_response(),
        Err(r) => r,
    }
}

async fn dashboard(app: &App, v: &Viewer) -> ConsoleResult<Response> {
    if !v.may_administer() {
        return Err(ConsoleError::Forbidden);
    }
    let snapshots = crate::runtime::snapshots::load_all(app).await?;
    // digest -> the name it runs under; workload -> its digests.
    let mut names: HashMap<Digest, String> = HashMap::new();
    let mut workloads: BTreeMap<WorkloadKey, HashSet<Digest>> = BTreeMap::new();
    for s in &snapshots {
        for pod in s.pods() {
            let w = s.workload_of(pod);
            let key = (
                s.cluster().name.clone(),
                w.namespace().to_string(),
                format!("{:?} {}", w.kind(), w.name()),
            );
            for c in &pod.spec.containers {
                if let Some(d) = c.risk_digest() {
                    names
                        .entry(d.clone())
                        .or_insert_with(|| c.image.written.clone());
                    workloads.entry(key.clone()).or_default().insert(d.clone());
                }
            }
        }
    }
    let digests: Vec<Digest> = names.keys().cloned().collect();
    let exceptions = Active::load(app.meta.as_ref()).await?;
    let risks = crate::sas::risk::lookup(app, &digests)
        .await?
        .risks(&exceptions, None, None);
    let mut by_level = [0usize; 4]; // high, medium, low, none or not scanned
    let mut images: Vec<(&Digest, [u64; 3])> = Vec::new();
    for d in &digests {
        match risks.get(d) {
            Some(r) => {
                let l = levels(r);
                match r.level() {
                    Some(level) => by_level[level as usize] += 1,
                    None => by_level[3] += 1,
                }
                images.push((d, l));
            }
            None => by_level[3] += 1,
        }
    }
    images.sort_by_key(|i| std::cmp::Reverse(i.1));
    let mut worst_workloads: Vec<(&WorkloadKey, [u64; 3])> = workloads
        .iter()
        .map(|(k, ds)| {
            let mut sum = [0u64; 3];
            for d in ds {
                if let Some(r) = risks.get(d) {
                    for (s, n) in sum.iter_mut().zip(levels(r)) {
                        *s = s.saturating_add(n);
                    }
                }
            }
            (k, sum)
        })
        .collect();
    worst_workloads.sort_by_key(|w| std::cmp::Reverse(w.1));
    let max = by_level.iter().copied().max().unwrap_or(0).max(1);
    let labels = ["High", "Medium", "Low", "None or not scanned"];
    let body = html! {
        p { (snapshots.len()) " clusters report " (digests.len()) " running images; counts leave out what exceptions cover." }
        section aria-labelledby="levels" {
            h2 id="levels" { "Running images by highest risk level" }
            ul class="bars" {
                @for (n, label) in labels.iter().enumerate() {
                    li {
                        span class="label" { (label) }
                        meter class={ "lvl-" (n) } min="0" max=(max) value=(by_level[n]) aria-label=(label) {}
                        span class="n" { (by_level[n]) }
                    }
                }
            }
        }
        @if digests.is_empty() {
            p { "No cluster has reported a running image yet: create one with "
                code { "berth admin cluster create" } " and run " code { "berth agent" } " in it." }
        } @else {
        section aria-labelledby="worst-images" {
            h2 id="worst-images" { "Worst images" }
            table {
                thead { tr { th scope="col" { "Image" } th scope="col" { "Digest" } th scope="col" { "High" } th scope="col" { "Medium" } th scope="col" { "Low" } } }
                tbody { @for (d, l) in images.iter().take(TOP) {
                    tr { td { (names.get(*d).map(String::as_str).unwrap_or("")) } td { code { (short_digest(&d.to_string())) } }
                         td class="num" { (l[Level::High as usize]) } td class="num" { (l[Level::Medium as usize]) } td class="num" { (l[Level::Low as usize]) } }
                } }
            }
        }
        section aria-labelledby="worst-workloads" {
            h2 id="worst-workloads" { "Worst workloads" }
            table {
                thead { tr { th scope="col" { "Cluster" } th scope="col" { "Namespace" } th scope="col" { "Workload" } th scope="col" { "High" } th scope="col" { "Medium" } th scope="col" { "Low" } } }
                tbody { @for ((c, ns, w), l) in worst_workloads.iter().take(TOP) {
                    tr { td { (c) } td { (ns) } td { (w) } td class="num" { (l[0]) } td class="num" { (l[1]) } td class="num" { (l[2]) } }
                } }
            }
        }
        }
    };
    Ok(html_response(StatusCode::OK, page(v, "risk", "Risk", body)))
}
