//! The image page: an index's platforms, an image's layers with their sizes and the commands
//! that made them (from the config's history), its labels, referrers (signatures, SBOMs,
//! attestations), where it runs (the runtime inventory), and its latest scan ([`super::report`])
//! with a "scan now" button whose progress the page polls.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_oci::Digest;
use berth_store::{ManifestSelector, Repository, ScanJob, ScanStatus};
use futures::StreamExt;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::access;
use super::error::{ConsoleError, ConsoleResult};
use super::forms::{Posted, csrf_form};
use super::layout::{
    bytes, csrf_field, enc, html_response, image_href, page, redirect, short_digest, time_ms,
};
use super::report;
use super::viewer::Viewer;
use crate::state::App;

/// The largest image config read for the page.
const MAX_CONFIG_BYTES: usize = 4 << 20;

#[derive(Deserialize)]
pub struct ImageQuery {
    i: String,
    repo: String,
    digest: String,
}

fn parse_digest(s: &str) -> ConsoleResult<Digest> {
    s.parse()
        .map_err(|_| ConsoleError::Invalid(format!("{s:?} is not a digest")))
}

/// The repository and digest of a request, checked: the viewer may read it and it is stored.
async fn resolve(
    app: &App,
    v: &Viewer,
    q: &ImageQuery,
) -> ConsoleResult<(
    berth_store::Instance,
    berth_store::Namespace,
    Repository,
    Digest,
)> {
    let (instance, ns, repo) = access::repository(app, v, &q.i, &q.repo).await?;
    let digest = parse_digest(&q.digest)?;
    Ok((instance, ns, repo, digest))
}

pub async fn show(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<ImageQuery>,
) -> ConsoleResult<Response> {
    show_page(&app, &v, &q).await
}

async fn read_blob(app: &App, digest: &Digest, limit: usize) -> ConsoleResult<Option<Vec<u8>>> {
    let Some(mut stream) = app.blobs.read(digest, None).await? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ConsoleError::Internal(format!("reading {digest}: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// One layer as the page shows it.
struct LayerRow {
    digest: String,
    size: i64,
    media_type: String,
    created_by: String,
}

/// The layers of a manifest, each with the history command that made it: history entries
/// marked `empty_layer` made no layer, the others match the layers in order.
fn layer_rows(manifest: &Value, config: Option<&Value>) -> Vec<LayerRow> {
    let commands: Vec<String> = config
        .and_then(|c| c["history"].as_array())
        .map(|h| {
            h.iter()
                .filter(|e| !e["empty_layer"].as_bool().unwrap_or(false))
                .map(|e| e["created_by"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    manifest["layers"]
        .as_array()
        .map(|layers| {
            layers
                .iter()
                .enumerate()
                .map(|(n, l)| LayerRow {
                    digest: l["digest"].as_str().unwrap_or("").to_string(),
                    size: l["size"].as_i64().unwrap_or(0),
                    media_type: l["mediaType"].as_str().unwrap_or("").to_string(),
                    created_by: commands.get(n).cloned().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The workloads running the digest, from every cluster's inventory: (cluster, namespace,
/// kind, workload, cluster id).
async fn running(app: &App, digest: &Digest) -> ConsoleResult<Vec<[String; 5]>> {
    let snapshots = crate::runtime::snapshots::load_all(app).await?;
    let mut out: Vec<[String; 5]> = Vec::new();
    for s in snapshots {
        for pod in s.pods() {
            let runs = pod
                .spec
                .containers
                .iter()
                .any(|c| c.image_digest.as_ref() == Some(digest));
            if !runs {
                continue;
            }
            let w = s.workload_of(pod);
            let row = [
                s.cluster().name.clone(),
                w.namespace().to_string(),
                format!("{:?}", w.kind()),
                w.name().to_string(),
                s.cluster().id.clone(),
            ];
            if !out.contains(&row) {
                out.push(row);
            }
        }
    }
    Ok(out)
}

async fn show_page(app: &App, v: &Viewer, q: &ImageQuery) -> ConsoleResult<Response> {
    let (instance, ns, repo, digest) = resolve(app, v, q).await?;
    let manifest = app
        .meta
        .get_manifest(repo.id, &ManifestSelector::Digest(digest.clone()))
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let doc: Value = serde_json::from_slice(&manifest.content).unwrap_or(Value::Null);
    let tags: Vec<String> = app
        .meta
        .images_by_digest(std::slice::from_ref(&digest))
        .await?
        .into_iter()
        .filter(|i| i.repository_id == repo.id)
        .flat_map(|i| i.tags)
        .collect();
    let is_index = doc["manifests"].is_array();
    let config_digest = doc["config"]["digest"]
        .as_str()
        .and_then(|d| d.parse::<Digest>().ok());
    let config: Option<Value> = match &config_digest {
        Some(d) => read_blob(app, d, MAX_CONFIG_BYTES)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok()),
        None => None,
    };
    let layers = layer_rows(&doc, config.as_ref());
    let referrers = app.meta.referrers(repo.id, &digest).await?;
    let where_runs = running(app, &digest).await?;
    let job = app.meta.latest_scan(repo.id, &digest).await?;
    let scan = report::section(app, v, &instance.id, &repo, &digest, &tags, job.as_ref()).await?;
    let may_scan = v.may_write(app, ns.public);
    let digest_s = digest.to_string();
    let labels: Vec<(String, String)> = config
        .as_ref()
        .and_then(|c| c["config"]["Labels"].as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let body = html! {
        p class="crumbs" {
            a href="/ui/instances" { "Instances" } " / "
            a href={ "/ui/namespaces?i=" (enc(&instance.id)) } { (instance.name) } " / "
            a href={ "/ui/repositories?i=" (enc(&instance.id)) "&ns=" (enc(&ns.name)) } { (ns.name) } " / "
            a href={ "/ui/tags?i=" (enc(&instance.id)) "&repo=" (enc(&repo.name)) } { (repo.name) }
        }
        dl class="facts" {
            dt { "Digest" } dd { code class="wrap" { (digest_s) } }
            dt { "Tags" } dd { @if tags.is_empty() { "none" } @for t in &tags { span class="badge" { (t) } " " } }
            dt { "Media type" } dd { (manifest.meta.media_type) }
            dt { "Manifest size" } dd { (bytes(manifest.meta.size as i64)) }
            dt { "Pushed" } dd { (time_ms(manifest.meta.created_at)) }
            @if let Some(c) = &config {
                dt { "Platform" } dd { (c["os"].as_str().unwrap_or("?")) "/" (c["architecture"].as_str().unwrap_or("?")) }
                @if let Some(created) = c["created"].as_str() { dt { "Built" } dd { (created) } }
            }
        }
        @if is_index {
            section aria-labelledby="platforms" {
                h2 id="platforms" { "Platforms" }
                table {
                    thead { tr { th scope="col" { "Platform" } th scope="col" { "Digest" } th scope="col" { "Size" } } }
                    tbody {
                        @for m in doc["manifests"].as_array().into_iter().flatten() {
                            @let d = m["digest"].as_str().unwrap_or("");
                            @let p = &m["platform"];
                            tr {
                                td { (p["os"].as_str().unwrap_or("?")) "/" (p["architecture"].as_str().unwrap_or("?"))
                                     @if let Some(var) = p["variant"].as_str() { "/" (var) } }
                                td { a href=(image_href(&instance.id, &repo.name, d)) { code { (short_digest(d)) } } }
                                td { (bytes(m["size"].as_i64().unwrap_or(0))) }
                            }
                        }
                    }
                }
            }
        }
        @if !layers.is_empty() {
            section aria-labelledby="layers" {
                h2 id="layers" { "Layers" }
                table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "Size" } th scope="col" { "Created by" } th scope="col" { "Digest" } } }
                    tbody {
                        @for (n, l) in layers.iter().enumerate() {
                            tr {
                                td { (n + 1) }
                                td class="num" { (bytes(l.size)) }
                                td { code class="cmd" { (l.created_by) } }
                                td { code title=(l.media_type) { (short_digest(&l.digest)) } }
                            }
                        }
                    }
                }
                p { "Total: " (bytes(layers.iter().map(|l| l.size).sum())) }
            }
        }
        @if !labels.is_empty() {
            section aria-labelledby="labels" {
                h2 id="labels" { "Labels" }
                table {
                    thead { tr { th scope="col" { "Label" } th scope="col" { "Value" } } }
                    tbody { @for (k, val) in &labels { tr { td { code { (k) } } td { (val) } } } }
                }
            }
        }
        section aria-labelledby="scan" {
            h2 id="scan" { "Security scan" }
            (status_line(&instance.id, &repo.name, &digest_s, job.as_ref()))
            @if may_scan {
                form method="post" action="/ui/image/scan" class="inline" {
                    (csrf_field(v))
                    input type="hidden" name="i" value=(instance.id);
                    input type="hidden" name="repo" value=(repo.name);
                    input type="hidden" name="digest" value=(digest_s);
                    button type="submit" id="scan-now" { "Scan now" }
                }
            }
            (scan)
        }
        section aria-labelledby="referrers" {
            h2 id="referrers" { "Referrers" }
            @if referrers.is_empty() { p { "No signatures, SBOMs or attestations refer to this image." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Artifact type" } th scope="col" { "Digest" } th scope="col" { "Size" } th scope="col" { "Pushed" } } }
                    tbody {
                        @for r in &referrers {
                            tr {
                                td { (r.artifact_type.as_deref().unwrap_or(&r.media_type)) }
                                td { a href=(image_href(&instance.id, &repo.name, &r.digest.to_string())) { code { (short_digest(&r.digest.to_string())) } } }
                                td { (bytes(r.size as i64)) }
                                td { (time_ms(r.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="runs" {
            h2 id="runs" { "Where it runs" }
            @if where_runs.is_empty() { p { "No reporting cluster runs this digest." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Cluster" } th scope="col" { "Namespace" } th scope="col" { "Kind" } th scope="col" { "Workload" } } }
                    tbody { @for r in &where_runs { tr {
                        @if v.may_administer() {
                            td { a href={ "/ui/cluster?id=" (enc(&r[4])) } { (r[0]) } }
                            td { a href={ "/ui/cluster?id=" (enc(&r[4])) "&ns=" (enc(&r[1])) } { (r[1]) } }
                        } @else { td { (r[0]) } td { (r[1]) } }
                        td { (r[2]) } td { (r[3]) }
                    } } }
                }
            }
        }
    };
    let title = match tags.first() {
        Some(t) => format!("{}:{t}", repo.name),
        None => format!("{}@{}", repo.name, short_digest(&digest_s)),
    };
    Ok(html_response(
        StatusCode::OK,
        page(v, "instances", &title, body),
    ))
}

/// The scan's state; while it is queued or running, the script polls `scan-status` and reloads
/// the page when it ends.
fn status_line(instance: &str, repo: &str, digest: &str, job: Option<&ScanJob>) -> Markup {
    let status = job.map(|j| j.status);
    let running = matches!(status, Some(ScanStatus::Queued | ScanStatus::Scanning));
    let poll = format!(
        "/ui/image/scan-status?i={}&repo={}&digest={}",
        enc(instance),
        enc(repo),
        enc(digest)
    );
    html! {
        p id="scan-status" role="status" aria-live="polite"
            data-poll=[running.then_some(poll)] data-status=(status.map_or("NotScanned", |s| s.as_str())) {
            "Status: " strong { (status.map_or("not scanned", |s| s.as_str())) }
            @if let Some(j) = job {
                @if let Some(f) = j.finished_at { " · finished " (time_ms(f)) }
                @if let Some(e) = &j.error { " · " span class="error" { (e) } }
            }
            @if running { " · " span class="spinner" aria-hidden="true" {} "the page updates when it ends" }
        }
    }
}

pub async fn scan_status_fragment(
    app: &App,
    v: &Viewer,
    q: &ImageQuery,
) -> ConsoleResult<Response> {
    let (instance, _, repo, digest) = resolve(app, v, q).await?;
    let job = app.meta.latest_scan(repo.id, &digest).await?;
    Ok(html_response(
        StatusCode::OK,
        status_line(&instance.id, &repo.name, &digest.to_string(), job.as_ref()),
    ))
}

pub async fn scan_status(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<ImageQuery>,
) -> ConsoleResult<Response> {
    scan_status_fragment(&app, &v, &q).await
}

#[derive(Deserialize)]
pub struct ScanForm {
    i: String,
    repo: String,
    digest: String,
    #[serde(default)]
    csrf: String,
}

csrf_form!(ScanForm);

pub async fn scan(
    State(app): State<App>,
    Posted { viewer: v, form: f }: Posted<ScanForm>,
) -> ConsoleResult<Response> {
    start_scan(&app, &v, f).await
}

async fn start_scan(app: &App, v: &Viewer, f: ScanForm) -> ConsoleResult<Response> {
    let q = ImageQuery {
        i: f.i,
        repo: f.repo,
        digest: f.digest,
    };
    let (instance, ns, repo, digest) = resolve(app, v, &q).await?;
    if !v.may_write(app, ns.public) {
        return Err(ConsoleError::Forbidden);
    }
    app.meta
        .manifest_meta(repo.id, &ManifestSelector::Digest(digest.clone()))
        .await?
        .ok_or(ConsoleError::NotFound)?;
    report::enqueue(app, &repo, &digest).await?;
    tracing::info!(target: "berth::audit", action = "console.scan", user = %v.username,
        repository = %repo.name, digest = %digest, "scan started from the console");
    Ok(redirect(&image_href(
        &instance.id,
        &repo.name,
        &digest.to_string(),
    )))
}

#[derive(Deserialize)]
pub struct DownloadQuery {
    i: String,
    repo: String,
    digest: String,
    format: String,
}

pub async fn download(
    State(app): State<App>,
    v: Viewer,
    Query(q): Query<DownloadQuery>,
) -> ConsoleResult<Response> {
    let iq = ImageQuery {
        i: q.i,
        repo: q.repo,
        digest: q.digest,
    };
    let (_, _, repo, digest) = resolve(&app, &v, &iq).await?;
    let job = app.meta.latest_scan(repo.id, &digest).await?;
    report::download(job.as_ref(), &q.format, &digest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn history_commands_match_the_layers_that_made_them() {
        let manifest = serde_json::json!({"layers": [
            {"digest": "sha256:a", "size": 10, "mediaType": "t"},
            {"digest": "sha256:b", "size": 20, "mediaType": "t"},
        ]});
        let config = serde_json::json!({"history": [
            {"created_by": "ADD base /"},
            {"created_by": "ENV X=1", "empty_layer": true},
            {"created_by": "RUN make"},
        ]});
        let rows = super::layer_rows(&manifest, Some(&config));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].created_by, "ADD base /");
        assert_eq!(rows[1].created_by, "RUN make");
        assert_eq!(super::layer_rows(&manifest, None)[1].created_by, "");
    }
}
