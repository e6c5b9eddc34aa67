//! What the in-process benchmarks share (`export_bench`, `risk_bench`): an in-process server
//! on loopback, images pushed over HTTP with a synthetic scan report each, a cluster with a
//! credential, and the process's resident-set figures.
#![allow(dead_code)]
use berth_oci::Digest;
use berth_store::{EnqueueOutcome, ScanStatus};
use serde_json::{Value, json};

pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub const SEVERITIES: [&str; 4] = ["Low", "Medium", "High", "Critical"];

pub fn report(i: usize) -> String {
    let packages: Vec<Value> = (0..30)
        .map(|p| json!({"name": format!("pkg{p}"), "version": format!("1.{i}.{p}"), "type": if p % 3 == 0 { "python" } else { "deb" },
            "purl": format!("pkg:deb/debian/pkg{p}@1.{i}.{p}"), "foundBy": "dpkg",
            "locations": [{"path": "/var/lib/dpkg/status", "layer": {"index": 0, "digest": "sha256:aa"}}]}))
        .collect();
    let vulns: Vec<Value> = (0..15)
        .map(|v| json!({"id": format!("CVE-2024-{:05}", (i * 7 + v) % 5000), "packageName": format!("pkg{}", v * 2),
            "packagePurl": format!("pkg:deb/debian/pkg{}@1.{i}.{}", v * 2, v * 2), "type": "deb",
            "installedVersion": format!("1.{i}.{}", v * 2), "fixedVersion": if v % 2 == 0 { Some("9.9") } else { None },
            "severity": SEVERITIES[v % 4],
            "cvss": [{"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "score": 9.8}],
            "description": "A vulnerability used by the benchmark.", "links": ["https://example.test/x"]}))
        .collect();
    json!({"schemaVersion": "1.0", "scanner": {"name": "berth", "version": "0.1.0"},
        "source": {"kind": "berth", "name": "bench"}, "distro": {"id": "debian", "versionId": "12"},
        "layers": [{"index": 0, "digest": "sha256:aa", "mediaType": "x", "size": 1, "entries": 1, "decompressedSize": 1}],
        "packages": packages, "vulnerabilities": vulns, "malware": [], "baseline": []})
    .to_string()
}

pub async fn push(client: &reqwest::Client, base: &str, repo: &str, i: usize) -> Digest {
    let put_blob = |data: Vec<u8>| async move {
        let d = Digest::sha256_of(&data);
        let r = client
            .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={d}"))
            .basic_auth("admin", Some("bench"))
            .body(data)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        d
    };
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "n": i}).to_string();
    let layer = format!("layer {i}").into_bytes();
    let (cd, ld) = (
        put_blob(config.clone().into_bytes()).await,
        put_blob(layer.clone()).await,
    );
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld.to_string(), "size": layer.len()}]})
        .to_string();
    let r = client
        .put(format!("{base}/v2/{repo}/manifests/v1"))
        .basic_auth("admin", Some("bench"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    Digest::sha256_of(manifest.as_bytes())
}

/// A server with `images` pushed and scanned (each its own repository `bench/img{i}`):
/// (app, base URL, client, the images' digests).
pub async fn server_with_images(
    dir: &std::path::Path,
    images: usize,
) -> (berth_api::App, String, reqwest::Client, Vec<Digest>) {
    let mut config = berth_api::config::Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    config.gc.interval_secs = 0;
    config.jobs.poll_secs = 3600;
    let (meta, blobs) = berth_api::open_stores(&config).await.unwrap();
    let (app, _) = berth_api::build(config, meta, blobs, Some("bench".into()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serving = app.clone();
    tokio::spawn(async move {
        berth_api::serve(serving, listener, std::future::pending())
            .await
            .unwrap()
    });
    let client = reqwest::Client::new();
    let mut digests = Vec::with_capacity(images);
    for i in 0..images {
        let repo = format!("bench/img{i}");
        let d = push(&client, &base, &repo, i).await;
        let stored = app
            .meta
            .images_by_digest(std::slice::from_ref(&d))
            .await
            .unwrap();
        let EnqueueOutcome::Queued(id) = app
            .meta
            .enqueue_scan(&stored[0].instance_id, stored[0].repository_id, &d)
            .await
            .unwrap()
        else {
            panic!("a scan of a new image is queued")
        };
        app.meta.start_scan(id).await.unwrap();
        app.meta
            .finish_scan(id, ScanStatus::Success, Some(&report(i)), None, None)
            .await
            .unwrap();
        digests.push(d);
    }
    (app, base, client, digests)
}

/// Creates a cluster named `name` and puts `items` as its snapshot; returns its id.
pub async fn cluster_with(
    app: &berth_api::App,
    client: &reqwest::Client,
    base: &str,
    name: &str,
    items: Vec<Value>,
) -> String {
    let cluster = berth_api::runtime::clusters::create_cluster(
        app.meta.as_ref(),
        &berth_api::runtime::clusters::NewCluster {
            name: name.into(),
            cluster_type: Default::default(),
            region: String::new(),
            kubernetes_version: None,
        },
    )
    .await
    .unwrap();
    let cred = berth_api::runtime::clusters::issue_credential(app.meta.as_ref(), &cluster.id, "")
        .await
        .unwrap();
    let r = client
        .put(format!(
            "{base}/api/runtime/v1/clusters/{}/snapshot",
            cluster.id
        ))
        .bearer_auth(&cred.token)
        .body(json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    cluster.id
}
