//! The image-risk surface's benchmark (bench/risk.sh runs it; not CI): an in-process server
//! with `IMAGES` scanned images and one cluster of `WORKLOADS` Deployments (each with its
//! ReplicaSet) running `PODS` pods of one container each, ingested through the snapshot
//! endpoint; then DescribeClusterImageSecuritySummary and ListImageRisk over real HTTP, signed
//! as the SDKs sign (`signature_algorithm='v2'`), each `RUNS` times. Prints p50/p99 latency per
//! request shape and the resident set. Target (issue 11): a summary over 10,000 containers in
//! under 50 ms.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

mod bench_common;

use bench_common::{cluster_with, env, server_with_images, status_kib};
use serde_json::{Value, json};

/// (label, action, parameters) of one request shape.
type Shape = (&'static str, &'static str, Vec<(&'static str, String)>);

struct Signer {
    key: String,
    secret: String,
}

impl Signer {
    /// The v2 (RPC, HMAC-SHA1) query for `action` with `params`.
    fn query(&self, action: &str, params: &[(&str, &str)], nonce: u64) -> String {
        let mut p: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        for (k, v) in [
            ("Action", action.to_string()),
            ("Version", "2018-12-03".to_string()),
            ("Format", "JSON".to_string()),
            ("AccessKeyId", self.key.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_string()),
            ("SignatureVersion", "1.0".to_string()),
            ("SignatureNonce", format!("bench-{nonce}")),
            ("Timestamp", now),
        ] {
            p.insert(k.to_string(), v);
        }
        let signature =
            berth_acs::rpc::sign(&self.secret, &berth_acs::rpc::string_to_sign("GET", &p));
        p.insert("Signature".into(), signature);
        p.iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    berth_acs::params::percent_encode(k),
                    berth_acs::params::percent_encode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn inventory(
    images: usize,
    workloads: usize,
    pods: usize,
    digests: &[berth_oci::Digest],
) -> Vec<Value> {
    let per = pods.div_ceil(workloads.max(1));
    let mut items = Vec::with_capacity(workloads * 2 + pods);
    for w in 0..workloads {
        let n = w % images;
        let ns = format!("ns{}", w % 40);
        let image = format!("registry.example.com/bench/img{n}:v1");
        let template = json!({"metadata": {"labels": {"app": format!("w{w}")}},
            "spec": {"containers": [{"name": "main", "image": image}]}});
        items.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("w{w}"), "namespace": ns, "uid": format!("d-{w}")},
            "spec": {"replicas": per, "selector": {"matchLabels": {"app": format!("w{w}")}}, "template": template}}));
        items.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("w{w}-rs"), "namespace": ns, "uid": format!("rs-{w}"),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("w{w}"), "uid": format!("d-{w}"), "controller": true}]},
            "spec": {"replicas": per, "selector": {"matchLabels": {"app": format!("w{w}")}}, "template": template}}));
        for p in 0..per {
            if items.len() >= workloads * 2 + pods {
                break;
            }
            items.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("w{w}-{p}"), "namespace": ns, "uid": format!("p-{w}-{p}"),
                    "labels": {"app": format!("w{w}")},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("w{w}-rs"), "uid": format!("rs-{w}"), "controller": true}]},
                "spec": {"nodeName": format!("node{}", p % 20), "containers": [{"name": "main", "image": image}]},
                "status": {"phase": "Running", "podIP": "10.0.0.1", "hostIP": "192.168.0.1",
                    "containerStatuses": [{"name": "main", "image": image, "ready": true, "restartCount": 0,
                        "imageID": format!("registry.example.com/bench/img{n}@{}", digests[n]),
                        "containerID": format!("containerd://{w:06}{p:06}"),
                        "state": {"running": {"startedAt": "2024-05-01T10:00:05Z"}}}]}}));
        }
    }
    items
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let (images, workloads, pods, runs) = (
        env("IMAGES", 500),
        env("WORKLOADS", 2_000),
        env("PODS", 10_000),
        env("RUNS", 200),
    );
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (app, base, client, digests) = server_with_images(dir.path(), images).await;
    let items = inventory(images, workloads, pods, &digests);
    let cluster = cluster_with(&app, &client, &base, "bench", items).await;
    println!(
        "setup: {images} images, {workloads} workloads, {pods} pods in {:.1} s; RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        status_kib("VmRSS:") as f64 / 1024.0
    );
    let key =
        berth_api::kcr::keys::create_api_key(app.meta.as_ref(), &app.master_key, "bench", true)
            .await
            .unwrap();
    let signer = Signer {
        key: key.access_key_id,
        secret: key.secret_access_key,
    };
    let shapes: Vec<Shape> = vec![
        (
            "summary, no filter",
            "DescribeClusterImageSecuritySummary",
            vec![],
        ),
        (
            "summary, ClusterId",
            "DescribeClusterImageSecuritySummary",
            vec![("ClusterId", cluster.clone())],
        ),
        (
            "summary, ImageRepoName",
            "DescribeClusterImageSecuritySummary",
            vec![("ImageRepoName", "img7".into())],
        ),
        (
            "summary, ContainerFieldName=pod",
            "DescribeClusterImageSecuritySummary",
            vec![
                ("ContainerFieldName", "pod".into()),
                ("ContainerFieldValue", "w7-0".into()),
            ],
        ),
        (
            "ListImageRisk, page 1",
            "ListImageRisk",
            vec![("PageSize", "20".into())],
        ),
        (
            "ListImageRisk, Namespace",
            "ListImageRisk",
            vec![("Namespace", "ns7".into())],
        ),
    ];
    let mut nonce = 0u64;
    for (label, action, params) in shapes {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut times = Vec::with_capacity(runs);
        let mut body = Value::Null;
        for _ in 0..runs {
            nonce += 1;
            let url = format!("{base}/?{}", signer.query(action, &params, nonce));
            let t = Instant::now();
            let r = client.get(url).send().await.unwrap();
            let status = r.status();
            body = r.json().await.unwrap();
            times.push(t.elapsed());
            assert_eq!(status, 200, "{body}");
        }
        times.sort();
        let shown = body
            .get("ClusterImageEvent")
            .and_then(|e| e.get("ImageCveVul"))
            .or(body.get("PageInfo"))
            .cloned()
            .unwrap_or_default();
        println!(
            "{label}: p50 {:.2} ms, p99 {:.2} ms over {runs} calls; {shown}",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        );
    }
    println!(
        "RSS {:.1} MiB (peak {:.1} MiB)",
        status_kib("VmRSS:") as f64 / 1024.0,
        status_kib("VmHWM:") as f64 / 1024.0
    );
}
