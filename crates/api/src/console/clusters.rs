//! Clusters and their workloads, from the runtime inventory (the snapshots the agents and
//! uploads keep current): the list of clusters with what each runs, and one cluster's
//! workloads (filtered by namespace, paged) with their images and risk level, as the
//! image-risk API computes it (`risk::risks_of`). Images stored in berth link to their image
//! pages. Administrators only, like the image-risk API.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_inventory::ClusterSnapshot;
use berth_oci::Digest;
use maud::html;
use serde::Deserialize;

use super::chart;
use super::error::{ConsoleError, ConsoleResult};
use super::layout::{enc, html_response, image_href, page, short_digest, time_ms};
use super::risk::{level_label, levels, risks_of};
use super::viewer::Viewer;
use crate::state::App;

/// Workloads per page of a cluster.
const PER_PAGE: usize = 100;

/// One image a workload runs: as written in its spec, and the digest running, if reported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RunningImage {
    written: String,
    digest: Option<Digest>,
}

/// One workload: (namespace, kind, name) and its images.
type Workloads = BTreeMap<(String, String, String), BTreeSet<RunningImage>>;

/// The cluster's top-level workloads, each with the images its pods run (the images its
/// template names when no pod runs).
fn workloads(s: &ClusterSnapshot) -> Workloads {
    let mut out: Workloads = BTreeMap::new();
    for pod in s.pods() {
        let w = s.workload_of(pod);
        let images = out
            .entry((
                w.namespace().to_string(),
                w.kind().as_str().to_string(),
                w.name().to_string(),
            ))
            .or_default();
        for c in &pod.spec.containers {
            images.insert(RunningImage {
                written: c.image.written.clone(),
                digest: c.risk_digest().cloned(),
            });
        }
    }
    for w in s.top_level_workloads() {
        let key = (
            w.namespace().to_string(),
            w.kind().as_str().to_string(),
            w.name().to_string(),
        );
        if let std::collections::btree_map::Entry::Vacant(e) = out.entry(key) {
            e.insert(
                w.template()
                    .containers
                    .iter()
                    .map(|c| RunningImage {
                        written: c.image.written.clone(),
                        digest: c.risk_digest().cloned(),
                    })
                    .collect(),
            );
        }
    }
    out
}

pub async fn list(State(app): State<App>, v: Viewer) -> ConsoleResult<Response> {
    v.admin_only()?;
    let clusters = app.meta.list_clusters().await?;
    let snapshots = crate::runtime::snapshots::load_all(&app).await?;
    // Report times from the versions alone: the documents are parsed once and cached.
    let updated: HashMap<String, i64> = app
        .meta
        .snapshot_versions()
        .await?
        .into_iter()
        .map(|v| (v.cluster_id, v.updated_at))
        .collect();
    let by_id: HashMap<&str, &ClusterSnapshot> = snapshots
        .iter()
        .map(|s| (s.cluster().id.as_str(), s.as_ref()))
        .collect();
    let body = html! {
        p { "What each cluster's agent (or snapshot upload) last reported. " a href="/ui/risk" { "Risk dashboard" } }
        @if clusters.is_empty() {
            p { "No cluster yet: create one with " code { "berth admin cluster create" } " and run " code { "berth agent" } " in it." }
        } @else {
            div class="scroll" {
            table {
                caption { (clusters.len()) " clusters" }
                thead { tr { th scope="col" { "Cluster" } th scope="col" { "Type" } th scope="col" { "Protection" } th scope="col" { "Namespaces" } th scope="col" { "Workloads" } th scope="col" { "Pods" } th scope="col" { "Last report" } } }
                tbody { @for c in &clusters {
                    @let s = by_id.get(c.id.as_str());
                    tr data-cluster=(c.name) {
                        td { a href={ "/ui/cluster?id=" (enc(&c.id)) } { (c.name) } br; small { code { (c.id) } } }
                        td { (c.cluster_type) }
                        td { span class={ "badge " @if c.protection == "protected" { "active" } @else { "expired" } } { (c.protection) } }
                        td class="num" { @if let Some(s) = s { (s.namespaces().count()) } }
                        td class="num" { @if let Some(s) = s { (workloads(s).len()) } }
                        td class="num" { @if let Some(s) = s { (s.pods().count()) } }
                        td { @if let Some(t) = updated.get(&c.id) { (time_ms(*t)) } @else { "never" } }
                    }
                } }
            }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page(&v, "clusters", "Clusters", body),
    ))
}

#[derive(Deserialize)]
pub struct ClusterQuery {
    #[serde(default)]
    id: String,
    /// Only this namespace's workloads.
    #[serde(default)]
    ns: String,
    /// The first workload shown (an offset).
    #[serde(default)]
    from: usize,
}

pub async fn show(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<ClusterQuery>,
) -> ConsoleResult<Response> {
    v.admin_only()?;
    let cluster = app
        .meta
        .get_cluster(&q.id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let snapshot = crate::runtime::snapshots::load(&app, &cluster)
        .await?
        .map(|(_, s)| s);
    let mut all = snapshot.as_deref().map(workloads).unwrap_or_default();
    let namespaces: Vec<String> = snapshot
        .as_deref()
        .map(|s| {
            s.namespace_names()
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !q.ns.is_empty() {
        all.retain(|(ns, _, _), _| *ns == q.ns);
    }
    let total = all.len();
    let shown: Vec<_> = all.iter().skip(q.from).take(PER_PAGE).collect();
    let digests: Vec<Digest> = shown
        .iter()
        .flat_map(|(_, images)| images.iter().filter_map(|i| i.digest.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let lookup_stored = app.meta.images_by_digest(&digests).await?;
    let mut stored: HashMap<Digest, (String, String)> = HashMap::new();
    for s in lookup_stored {
        stored
            .entry(s.digest.clone())
            .or_insert((s.instance_id, s.repository));
    }
    let risks = risks_of(&app, &digests).await?;
    // A workload's counts: the sum over its images; its level: its worst finding's.
    let rows: Vec<_> = shown
        .iter()
        .map(|(key, images)| {
            let mut sum = [0u64; 3];
            for d in images.iter().filter_map(|i| i.digest.as_ref()) {
                if let Some(r) = risks.get(d) {
                    for (s, n) in sum.iter_mut().zip(levels(r)) {
                        *s = s.saturating_add(n);
                    }
                }
            }
            let level = sum
                .iter()
                .position(|n| *n > 0)
                .and_then(|i| berth_inventory::risk::Level::ALL.get(i).copied());
            (key, images, sum, level)
        })
        .collect();
    let mut by_level = [0u64; 4];
    for (_, _, _, l) in &rows {
        by_level[l.map_or(3, |l| l as usize)] += 1;
    }
    let chart_rows: Vec<(&str, u64, &str)> = [
        Some(berth_inventory::risk::Level::High),
        Some(berth_inventory::risk::Level::Medium),
        Some(berth_inventory::risk::Level::Low),
        None,
    ]
    .iter()
    .zip(by_level)
    .map(|(l, n)| {
        let (label, class) = level_label(*l);
        (label, n, class)
    })
    .collect();
    let id = enc(&cluster.id);
    let ns_q = if q.ns.is_empty() {
        String::new()
    } else {
        format!("&ns={}", enc(&q.ns))
    };
    let body = html! {
        p class="crumbs" { a href="/ui/clusters" { "Clusters" } " / " (cluster.name) }
        dl class="facts" {
            dt { "Id" } dd { code { (cluster.id) } }
            dt { "Type" } dd { (cluster.cluster_type) }
            dt { "Protection" } dd { (cluster.protection) }
            @if let Some(k) = &cluster.kubernetes_version { dt { "Kubernetes" } dd { (k) } }
            @if !cluster.region.is_empty() { dt { "Region" } dd { (cluster.region) } }
        }
        @if snapshot.is_none() {
            p { "This cluster has not reported yet." }
        } @else {
            form class="search" method="get" action="/ui/cluster" {
                input type="hidden" name="id" value=(cluster.id);
                label for="ns" { "Namespace" }
                select id="ns" name="ns" {
                    option value="" selected[q.ns.is_empty()] { "all" }
                    @for n in &namespaces { option value=(n) selected[*n == q.ns] { (n) } }
                }
                button type="submit" { "Show" }
            }
            section aria-labelledby="wl-levels" {
                h2 id="wl-levels" { "Workloads on this page by highest risk level" }
                (chart::bars("Workloads by highest risk level", &chart_rows))
            }
            section aria-labelledby="workloads" {
                h2 id="workloads" { "Workloads" }
                div class="scroll" {
                table class="workloads" {
                    caption { (total) " workloads" @if !q.ns.is_empty() { " in " (q.ns) } @if total > PER_PAGE { ", " (q.from + 1) "–" (q.from + rows.len()) " shown" } }
                    thead { tr { th scope="col" { "Namespace" } th scope="col" { "Kind" } th scope="col" { "Workload" } th scope="col" { "Images" } th scope="col" { "Risk" } th scope="col" { "High" } th scope="col" { "Medium" } th scope="col" { "Low" } } }
                    tbody { @for ((ns, kind, name), images, sum, level) in &rows {
                        @let (label, class) = level_label(*level);
                        tr data-workload=(name) {
                            td { (ns) } td { (kind) } td { (name) }
                            td { ul class="plain" { @for i in images.iter() {
                                li {
                                    @match i.digest.as_ref().and_then(|d| stored.get(d).map(|s| (d, s))) {
                                        Some((d, (inst, repo))) => { a href=(image_href(inst, repo, &d.to_string())) { (i.written) } }
                                        None => { (i.written) }
                                    }
                                    @if let Some(d) = &i.digest { " " small { code title=(d.to_string()) { (short_digest(&d.to_string())) } } }
                                }
                            } } }
                            td { span class={ "badge " (class) } { (label) } }
                            td class="num" { (sum[0]) } td class="num" { (sum[1]) } td class="num" { (sum[2]) }
                        }
                    } }
                }
                }
                nav class="pager" aria-label="Workload pages" {
                    @if q.from > 0 { a href={ "/ui/cluster?id=" (id) (ns_q) "&from=" (q.from.saturating_sub(PER_PAGE)) } { "← Previous" } }
                    @if q.from + PER_PAGE < total { a href={ "/ui/cluster?id=" (id) (ns_q) "&from=" (q.from + PER_PAGE) } { "Next →" } }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page(&v, "clusters", &format!("Cluster {}", cluster.name), body),
    ))
}
