//! The risk dashboard: what the image-risk API computes (`sas::risk`: the latest scan of each
//! running digest, less what the exceptions in force cover), over every reporting cluster:
//! images counted by their highest level, then the worst images and the worst workloads first.
use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use berth_inventory::risk::{ImageRisk, Level};
use berth_oci::Digest;
use maud::html;

use super::chart;
use super::error::{ConsoleError, ConsoleResult};
use super::layout::{enc, html_response, page, short_digest};
use super::viewer::Viewer;
use crate::exceptions::Active;
use crate::state::App;

/// A workload as the dashboard names it: cluster name, namespace, kind and name, cluster id.
type WorkloadKey = (String, String, String, String);

/// Rows of each "worst first" table.
const TOP: usize = 20;

/// Findings per level, all kinds together: [high, medium, low].
pub fn levels(r: &ImageRisk) -> [u64; 3] {
    let mut all = [0u64; 3];
    for c in [&r.os_vulns, &r.lang_vulns, &r.malicious_files, &r.baseline] {
        for (slot, n) in all.iter_mut().zip(c.by_level()) {
            *slot = slot.saturating_add(n);
        }
    }
    all
}

/// The risk of each digest, as the image-risk API computes it (exceptions in force left out).
pub async fn risks_of(app: &App, digests: &[Digest]) -> ConsoleResult<HashMap<Digest, ImageRisk>> {
    let exceptions = Active::load(app.meta.as_ref()).await?;
    Ok(crate::sas::risk::lookup(app, digests)
        .await?
        .risks(&exceptions, None, None))
}

/// The level's name and the CSS class of its colour; `None` is "none or not scanned".
pub fn level_label(l: Option<Level>) -> (&'static str, &'static str) {
    match l {
        Some(Level::High) => ("High", "lvl-0"),
        Some(Level::Medium) => ("Medium", "lvl-1"),
        Some(Level::Low) => ("Low", "lvl-2"),
        None => ("None or not scanned", "lvl-3"),
    }
}

pub async fn show(State(app): State<App>, v: Viewer) -> ConsoleResult<Response> {
    dashboard(&app, &v).await
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
                s.cluster().id.clone(),
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
    let risks = risks_of(app, &digests).await?;
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
    // A workload's level is its worst finding's.
    let mut workloads_by_level = [0u64; 4];
    for (_, l) in &worst_workloads {
        let slot = l.iter().position(|n| *n > 0).unwrap_or(3);
        workloads_by_level[slot] += 1;
    }
    let levels_of = |counts: [u64; 4]| -> Vec<(&'static str, u64, &'static str)> {
        [
            Some(Level::High),
            Some(Level::Medium),
            Some(Level::Low),
            None,
        ]
        .iter()
        .zip(counts)
        .map(|(l, n)| {
            let (label, class) = level_label(*l);
            (label, n, class)
        })
        .collect()
    };
    let image_rows = levels_of(by_level.map(|n| n as u64));
    let workload_rows = levels_of(workloads_by_level);
    let body = html! {
        p { (counted(snapshots.len(), "cluster reports", "clusters report")) " "
            (counted(digests.len(), "running image", "running images"))
            "; counts leave out what exceptions cover. "
            a href="/ui/clusters" { "Clusters and workloads" } }
        div class="charts" {
            section aria-labelledby="levels" {
                h2 id="levels" { "Running images by highest risk level" }
                (chart::bars("Running images by highest risk level", &image_rows))
            }
            section aria-labelledby="wl-levels" {
                h2 id="wl-levels" { "Workloads by highest risk level" }
                (chart::bars("Workloads by highest risk level", &workload_rows))
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
                    tr { td class="ref" { (names.get(*d).map(String::as_str).unwrap_or("")) } td { code { (short_digest(&d.to_string())) } }
                         td class="num" { (l[Level::High as usize]) } td class="num" { (l[Level::Medium as usize]) } td class="num" { (l[Level::Low as usize]) } }
                } }
            }
        }
        section aria-labelledby="worst-workloads" {
            h2 id="worst-workloads" { "Worst workloads" }
            table {
                thead { tr { th scope="col" { "Cluster" } th scope="col" { "Namespace" } th scope="col" { "Workload" } th scope="col" { "High" } th scope="col" { "Medium" } th scope="col" { "Low" } } }
                tbody { @for ((c, ns, w, id), l) in worst_workloads.iter().take(TOP) {
                    tr { td { a href={ "/ui/cluster?id=" (enc(id)) } { (c) } } td { a href={ "/ui/cluster?id=" (enc(id)) "&ns=" (enc(ns)) } { (ns) } } td { (w) } td class="num" { (l[0]) } td class="num" { (l[1]) } td class="num" { (l[2]) } }
                } }
            }
        }
        }
    };
    Ok(html_response(StatusCode::OK, page(v, "risk", "Risk", body)))
}

/// "1 cluster reports", "2 clusters report": a count with its noun in the right number.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod counted_tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::counted(1, "image", "images"), "1 image");
        assert_eq!(super::counted(0, "image", "images"), "0 images");
        assert_eq!(super::counted(2, "image", "images"), "2 images");
    }
}
