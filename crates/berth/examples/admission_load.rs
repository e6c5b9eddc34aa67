//! The admission benchmark's load generator (`bench/admission.sh`; never run by CI): a second
//! process that pushes two images to a running berth (one with a Critical, fixable advisory of
//! the test feed, one clean), waits for their scans, writes a blocking policy and turns the
//! cluster's protection on through the store, then posts `AdmissionReview`s for Deployments
//! running them (one in ten the blocked image) at a fixed rate over HTTPS keep-alive connections, open loop (each request's
//! latency counts from when it was due, so a slow answer cannot hide the ones queued behind
//! it). Prints p50, p90, p99 and max, and whether p99 met the 5 ms target.
//!
//! admission_load BERTH_URL ADMISSION_URL DATA_DIR CLUSTER_ID CREDENTIAL [RATE] [SECONDS]
//!
//! `PHASE=setup` only pushes, waits for the scans and writes the policy; `PHASE=load` only
//! loads (a server without the scanner can then be measured on the data a scanning one left).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_oci::Digest;
use berth_store::{
    ProtectionPolicy, ProtectionStore, RuntimeStore, SqliteMetadataStore, TenancyStore,
};
use serde_json::{Value, json};

const PASSWORD_ENV: &str = "BERTH_ADMIN_PASSWORD";

fn tar_gz(files: &[(&str, &[u8])]) -> (Vec<u8>, Digest) {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let diff_id = Digest::sha256_of(&tar);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&tar).unwrap();
    (e.finish().unwrap(), diff_id)
}

/// Pushes a one-layer image; returns its manifest digest.
async fn push(c: &reqwest::Client, base: &str, repo: &str, files: &[(&str, &[u8])]) -> Digest {
    let password = std::env::var(PASSWORD_ENV).expect("BERTH_ADMIN_PASSWORD");
    let (layer, diff_id) = tar_gz(files);
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "config": {"User": "app"}, "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]}}))
    .unwrap();
    for blob in [&config, &layer] {
        let r = c
            .post(format!(
                "{base}/v2/{repo}/blobs/uploads/?digest={}",
                Digest::sha256_of(blob)
            ))
            .basic_auth("admin", Some(&password))
            .body(blob.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "blob upload: {}", r.status());
    }
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": Digest::sha256_of(&config).to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": Digest::sha256_of(&layer).to_string(), "size": layer.len()}]}))
    .unwrap();
    let r = c
        .put(format!("{base}/v2/{repo}/manifests/1.0"))
        .basic_auth("admin", Some(&password))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "manifest: {}", r.status());
    Digest::sha256_of(&manifest)
}

fn review(uid: u64, image: &str) -> Vec<u8> {
    let labels = json!({"app": "web"});
    serde_json::to_vec(
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": format!("bench-{uid}"),
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": format!("web-{uid}"), "namespace": "prod", "operation": "CREATE",
            "userInfo": {"username": "kubernetes-admin"},
            "object": {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("web-{uid}"), "namespace": "prod", "labels": labels},
                "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                        {"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}]}}}},
            "oldObject": null, "dryRun": false}}),
    )
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [
        _,
        berth,
        admission,
        data_dir,
        cluster,
        credential,
        rest @ ..,
    ] = args.as_slice()
    else {
        eprintln!(
            "usage: admission_load BERTH_URL ADMISSION_URL DATA_DIR CLUSTER_ID CREDENTIAL [RATE] [SECONDS]"
        );
        std::process::exit(2);
    };
    let rate: u64 = rest.first().and_then(|r| r.parse().ok()).unwrap_or(500);
    let seconds: u64 = rest.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let host = berth.trim_start_matches("http://");
    let plain = reqwest::Client::new();
    let phase = std::env::var("PHASE").unwrap_or_else(|_| "all".into());
    if phase != "load" {
        setup(&plain, berth, data_dir, cluster).await;
    }
    if phase == "setup" {
        return;
    }
    load(
        &plain, berth, host, admission, data_dir, cluster, credential, rate, seconds,
    )
    .await;
}

/// Pushes the two images, waits for their scans, writes the policy, protects the cluster.
async fn setup(plain: &reqwest::Client, berth: &str, data_dir: &str, cluster: &String) {
    let os_release: &[u8] = b"ID=alpine\nVERSION_ID=3.10.9\n";
    let bad = push(
        plain,
        berth,
        "team/vulnerable",
        &[
            ("etc/os-release", os_release),
            (
                "usr/lib/python3.7/site-packages/berthdemo-1.0.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: berthdemo\nVersion: 1.0.0\n",
            ),
        ],
    )
    .await;
    let good = push(
        plain,
        berth,
        "team/clean",
        &[("etc/os-release", os_release)],
    )
    .await;

    let meta = SqliteMetadataStore::open(&std::path::Path::new(data_dir).join("meta.db"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stored = meta
            .images_by_digest(&[bad.clone(), good.clone()])
            .await
            .unwrap();
        if stored.iter().filter(|s| s.latest_scan_id.is_some()).count() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the images were not scanned (scan.on_push, scan.db_dir?)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let project = meta
        .get_instance_by_name("default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let doc = json!({"policy_id": "bench-block-critical", "policy_name": "block critical",
        "content": {"enable_image_startup": true, "policy_type": "vuls", "severity": 4,
            "action": 1}});
    let _ = meta
        .create_protection_policy(&ProtectionPolicy {
            project_id: project,
            policy_id: "bench-block-critical".into(),
            policy_name: "block critical".into(),
            template_id: String::new(),
            document: doc.to_string(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
    meta.set_cluster_protection(std::slice::from_ref(cluster), "protected")
        .await
        .unwrap();
    // Written behind the server's back: its admission caches see it within a second.
    tokio::time::sleep(Duration::from_millis(1200)).await;
}

#[allow(clippy::too_many_arguments)]
async fn load(
    plain: &reqwest::Client,
    berth: &str,
    host: &str,
    admission: &str,
    data_dir: &str,
    cluster: &str,
    credential: &str,
    rate: u64,
    seconds: u64,
) {
    let ca = std::fs::read(std::path::Path::new(data_dir).join("admission/tls.crt")).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let url = Arc::new(format!(
        "{admission}/api/admission/v1/clusters/{cluster}/{credential}/validate?timeout=10s"
    ));
    let images = Arc::new([
        format!("{host}/team/vulnerable:1.0"),
        format!("{host}/team/clean:1.0"),
    ]);
    // Both answers checked once, then a warm-up.
    for (image, allowed) in [(&images[0], false), (&images[1], true)] {
        let r: Value = client
            .post(url.as_str())
            .body(review(0, image))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["response"]["allowed"], allowed, "{r}");
    }
    for i in 0..200 {
        let _ = client
            .post(url.as_str())
            .body(review(i, &images[(i % 2) as usize]))
            .send()
            .await;
    }

    let total = rate * seconds;
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + period * u32::try_from(i).unwrap();
        tokio::time::sleep_until(due).await;
        let (client, url, images) = (client.clone(), url.clone(), images.clone());
        tasks.spawn(async move {
            // One in ten is blocked (and recorded): blocks are the exception in a real cluster.
            let body = review(i, &images[usize::from(i % 10 != 0)]);
            let ok = match client.post(url.as_str()).body(body).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed(), ok)
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut errors = 0u64;
    while let Some(done) = tasks.join_next().await {
        let (latency, ok) = done.unwrap();
        latencies.push(latency);
        errors += u64::from(!ok);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p99 = percentile(&latencies, 0.99);
    println!(
        "admission: {total} reviews at {rate}/s over {:.1} s ({:.0}/s achieved), {errors} errors",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target: p99 < 5 ms: {})",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(p99),
        ms(percentile(&latencies, 1.0)),
        if p99 < Duration::from_millis(5) {
            "met"
        } else {
            "NOT met"
        }
    );
    // The server's own view: time from the request's head to the decision (its histogram).
    let metrics = plain
        .get(format!("{berth}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let count = value("berth_admission_decision_duration_seconds_count");
    let sum = value("berth_admission_decision_duration_seconds_sum");
    let within_1ms = value("berth_admission_decision_duration_seconds_bucket{le=\"0.001\"}");
    let within_5ms = value("berth_admission_decision_duration_seconds_bucket{le=\"0.005\"}");
    if count > 0.0 {
        println!(
            "server, all {count} reviews (warm-up included): mean {:.2} ms, {:.1}% within 1 ms, \
             {:.1}% within 5 ms",
            sum / count * 1000.0,
            within_1ms / count * 100.0,
            within_5ms / count * 100.0
        );
    }
}
