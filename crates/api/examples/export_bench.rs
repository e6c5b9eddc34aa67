//! The workload export's benchmark (bench/export.sh runs it; not CI): an in-process server with
//! `IMAGES` scanned images and `DEPLOYMENTS` deployments of three containers each, exported
//! whole and with a selective query over real HTTP. Prints the first message's latency,
//! deployments per second and the peak resident-set growth during each export.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::time::Instant;

mod bench_common;

use bench_common::{cluster_with, env, server_with_images, status_kib};
use futures::StreamExt;
use serde_json::{Value, json};

async fn run_export(client: &reqwest::Client, base: &str, token: &str, query: &str) {
    // Resets the peak resident set to the current one (Linux: clear_refs 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    let r = client
        .get(format!("{base}/v1/export/vuln-mgmt/workloads"))
        .query(&[("query", query)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let (mut first, mut lines, mut bytes) = (None, 0usize, 0usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        if first.is_none() {
            first = Some(started.elapsed());
        }
        bytes += chunk.len();
        lines += chunk.iter().filter(|&&b| b == b'\n').count();
    }
    let total = started.elapsed();
    let peak = status_kib("VmHWM:");
    println!(
        "query {query:?}: {lines} deployments, {:.1} MiB, first message {:.1} ms, total {:.2} s, {:.0} deployments/s, peak RSS growth {:.1} MiB",
        bytes as f64 / 1048576.0,
        first.unwrap_or_default().as_secs_f64() * 1000.0,
        total.as_secs_f64(),
        lines as f64 / total.as_secs_f64(),
        peak.saturating_sub(before) as f64 / 1024.0,
    );
}

#[tokio::main]
async fn main() {
    let (images, deployments) = (env("IMAGES", 1000), env("DEPLOYMENTS", 10_000));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (app, base, client, digests) = server_with_images(dir.path(), images).await;
    let items: Vec<Value> = (0..deployments).map(|i| {
        let containers: Vec<Value> = (0..3).map(|c| {
            let n = (i * 3 + c) % images;
            json!({"name": format!("c{c}"), "image": format!("registry.example.com/bench/img{n}@{}", digests[n])})
        }).collect();
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("d{i:05}"), "namespace": format!("ns{}", i % 50), "uid": format!("uid-{i}"), "labels": {"app": format!("d{i}")}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": format!("d{i}")}}, "template": {"spec": {"containers": containers}}}})
    }).collect();
    cluster_with(&app, &client, &base, "bench", items).await;
    println!(
        "setup: {images} images, {deployments} deployments in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let token = berth_api::api_tokens::create(
        app.meta.as_ref(),
        "bench",
        berth_api::api_tokens::ApiRole::ReadOnly,
        None,
    )
    .await
    .unwrap()
    .token;
    // The first export parses the stored snapshot into the shared cache; the figures that
    // follow are of exports alone.
    run_export(&client, &base, &token, "").await;
    run_export(&client, &base, &token, "").await;
    run_export(
        &client,
        &base,
        &token,
        "Namespace:ns7+Severity:CRITICAL_VULNERABILITY_SEVERITY",
    )
    .await;
    run_export(&client, &base, &token, "Deployment:d09999").await;
}
