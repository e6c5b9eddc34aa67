//! The workload vulnerability export (`GET /v1/export/vuln-mgmt/workloads`) over real HTTP: an
//! inventory of known deployments running images whose scans the test writes, read as a
//! stream line by line.
use berth_api::api_tokens::{self, ApiRole};
use berth_api::runtime::clusters::{self, NewCluster};
use berth_inventory::ClusterType;
use berth_oci::Digest;
use berth_store::{ApiTokenRecord, EnqueueOutcome, ScanStatus};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, TestServer};

const PATH: &str = "/v1/export/vuln-mgmt/workloads";

/// The inventory: images A (alpine, openssl with a critical fixable CVE, busybox with a low
/// unfixed one), B (python `requests` with a high fixable CVE, plus A's packages via A as a
/// sidecar elsewhere) stored and scanned; C running but not stored in berth.
pub struct Fixture {
    pub srv: TestServer,
    pub cluster_id: String,
    pub a: Digest,
    pub b: Digest,
    pub c: String,
}

fn report_a(config: &str) -> Value {
    json!({
        "schemaVersion": "1.0",
        "scanner": {"name": "berth", "version": "0.1.0"},
        "source": {"kind": "berth", "name": "shop/web", "configDigest": config},
        "distro": {"id": "alpine", "versionId": "3.19.1"},
        "layers": [{"index": 0, "digest": "sha256:1111", "mediaType": "x", "size": 1, "entries": 1,
                    "decompressedSize": 1, "createdBy": "/bin/sh -c #(nop) ADD file:abc in / "}],
        "packages": [
            {"name": "openssl", "version": "3.1.4-r0", "type": "apk", "purl": "pkg:apk/alpine/openssl@3.1.4-r0",
             "foundBy": "apk", "licenses": ["Apache-2.0"],
             "locations": [{"path": "/lib/apk/db/installed", "layer": {"index": 0, "digest": "sha256:1111"}}]},
            {"name": "busybox", "version": "1.36.1-r15", "type": "apk", "purl": "pkg:apk/alpine/busybox@1.36.1-r15",
             "foundBy": "apk", "locations": [{"path": "/lib/apk/db/installed"}]}
        ],
        "vulnerabilities": [
            {"id": "CVE-2024-0001", "packageName": "openssl", "packagePurl": "pkg:apk/alpine/openssl@3.1.4-r0",
             "type": "apk", "installedVersion": "3.1.4-r0", "fixedVersions": ["3.1.5-r0"], "fixedVersion": "3.1.5-r0",
             "severity": "Critical",
             "cvss": [{"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "score": 9.8},
                      {"version": "2.0", "vector": "AV:N/AC:L/Au:N/C:P/I:P/A:P", "score": 7.5}],
             "title": "openssl overflow", "description": "A buffer overflow in openssl.",
             "links": ["https://example.test/CVE-2024-0001"]},
            {"id": "CVE-2024-0002", "packageName": "busybox", "packagePurl": "pkg:apk/alpine/busybox@1.36.1-r15",
             "type": "apk", "installedVersion": "1.36.1-r15", "severity": "Low", "title": "busybox wget"}
        ],
        "malware": [], "baseline": [],
        "suppressed": [{"id": "CVE-2023-9999", "packagePurl": "pkg:apk/alpine/busybox@1.36.1-r15",
                        "by": "ignore-file", "file": "x", "expires": "2030-01-01"}]
    })
}

fn report_b() -> Value {
    json!({
        "schemaVersion": "1.0",
        "scanner": {"name": "berth", "version": "0.1.0"},
        "source": {"kind": "berth", "name": "shop/api"},
        "packages": [
            {"name": "requests", "version": "2.25.0", "type": "python", "purl": "pkg:pypi/requests@2.25.0",
             "foundBy": "python", "locations": [{"path": "/usr/lib/python3/site-packages/requests-2.25.0.dist-info/METADATA",
             "layer": {"index": 0, "digest": "sha256:2222"}}]}
        ],
        "vulnerabilities": [
            {"id": "CVE-2023-0003", "packageName": "requests", "packagePurl": "pkg:pypi/requests@2.25.0",
             "type": "python", "installedVersion": "2.25.0", "fixedVersion": "2.31.0", "severity": "High",
             "cvss": [{"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"}]}
        ],
        "malware": [], "baseline": []
    })
}

fn meta(kind: &str, ns: &str, name: &str, uid: &str) -> Value {
    json!({"kind": kind, "metadata": {"name": name, "namespace": ns, "uid": uid,
           "creationTimestamp": "2024-05-01T10:00:00Z"}})
}

fn pod(
    name: &str,
    ns: &str,
    owner: Option<(&str, &str, &str, &str)>,
    containers: Value,
    statuses: Value,
) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "labels": {"app": name}},
        "spec": {"containers": containers},
        "status": {"phase": "Running", "containerStatuses": statuses}
    });
    if let Some((api, kind, oname, ouid)) = owner {
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": api, "kind": kind, "name": oname, "uid": ouid, "controller": true}]);
    }
    p
}

fn status(name: &str, image: &str, digest: &str) -> Value {
    json!({"name": name, "image": image, "imageID": format!("{image}@{digest}"), "ready": true,
           "restartCount": 0, "state": {"running": {"startedAt": "2024-05-01T10:00:05Z"}}})
}

/// The kubectl list: Deployment shop/web (A, 2 pods), Deployment shop/api (B + A as a sidecar,
/// 1 pod), DaemonSet kube-system/agent (C, 1 pod), bare pod default/debug (busybox, no digest).
fn inventory(a: &Digest, b: &Digest, c: &str) -> Value {
    let (a, b) = (a.to_string(), b.to_string());
    let mut web = meta("Deployment", "shop", "web", "uid-web");
    web["apiVersion"] = json!("apps/v1");
    web["metadata"]["labels"] = json!({"app": "web", "tier": "frontend"});
    web["metadata"]["annotations"] = json!({"owner": "team-shop"});
    web["spec"] = json!({
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"},
                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]}]},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "serviceAccountName": "web-sa",
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "shop", "effect": "NoSchedule"}],
            "volumes": [{"name": "tls", "secret": {"secretName": "web-tls"}}, {"name": "logs", "hostPath": {"path": "/var/log"}}],
            "containers": [{
                "name": "nginx", "image": "registry.example.com/shop/web:1.0",
                "command": ["nginx"], "args": ["-g", "daemon off;"], "workingDir": "/srv",
                "env": [{"name": "MODE", "value": "prod"}, {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
                "securityContext": {"runAsUser": 101, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "volumeMounts": [{"name": "tls", "mountPath": "/etc/tls", "readOnly": true}, {"name": "logs", "mountPath": "/logs"}],
                "livenessProbe": {"httpGet": {"path": "/", "port": 8080}}
            }]
        }}
    });
    let mut rs = meta("ReplicaSet", "shop", "web-5d8f", "uid-web-rs");
    rs["apiVersion"] = json!("apps/v1");
    rs["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "uid-web", "controller": true}]);
    rs["spec"] = web["spec"].clone();
    let web_pod = |n: &str| {
        pod(
            n,
            "shop",
            Some(("apps/v1", "ReplicaSet", "web-5d8f", "uid-web-rs")),
            json!([{"name": "nginx", "image": "registry.example.com/shop/web:1.0"}]),
            json!([status("nginx", "registry.example.com/shop/web", &a)]),
        )
    };
    let mut api = meta("Deployment", "shop", "api", "uid-api");
    api["apiVersion"] = json!("apps/v1");
    api["metadata"]["labels"] = json!({"app": "api"});
    api["spec"] = json!({"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
        "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [
            {"name": "api", "image": "registry.example.com/shop/api:2.0"},
            {"name": "proxy", "image": "registry.example.com/shop/web:1.0"}]}}});
    let mut api_rs = meta("ReplicaSet", "shop", "api-77", "uid-api-rs");
    api_rs["apiVersion"] = json!("apps/v1");
    api_rs["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "uid-api", "controller": true}]);
    api_rs["spec"] = api["spec"].clone();
    let mut agent = meta("DaemonSet", "kube-system", "agent", "uid-agent");
    agent["apiVersion"] = json!("apps/v1");
    agent["spec"] = json!({"selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"hostNetwork": true, "containers": [
            {"name": "agent", "image": "quay.io/vendor/agent:3", "securityContext": {"privileged": true}}]}}});
    agent["status"] = json!({"desiredNumberScheduled": 3});
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "uid-ns-shop"}},
        web, rs, web_pod("web-5d8f-aaaaa"), web_pod("web-5d8f-bbbbb"),
        api, api_rs,
        pod("api-77-ccccc", "shop", Some(("apps/v1", "ReplicaSet", "api-77", "uid-api-rs")),
            json!([{"name": "api", "image": "registry.example.com/shop/api:2.0"},
                   {"name": "proxy", "image": "registry.example.com/shop/web:1.0"}]),
            json!([status("api", "registry.example.com/shop/api", &b), status("proxy", "registry.example.com/shop/web", &a)])),
        agent,
        pod("agent-x1", "kube-system", Some(("apps/v1", "DaemonSet", "agent", "uid-agent")),
            json!([{"name": "agent", "image": "quay.io/vendor/agent:3"}]),
            json!([status("agent", "quay.io/vendor/agent", c)])),
        pod("debug", "default", None, json!([{"name": "sh", "image": "busybox:1.36"}]), json!([])),
    ]})
}

async fn scan(srv: &TestServer, digest: &Digest, report: &Value) {
    let meta = srv.app.meta.as_ref();
    let stored = meta
        .images_by_digest(std::slice::from_ref(digest))
        .await
        .unwrap();
    let image = &stored[0];
    let EnqueueOutcome::Queued(id) = meta
        .enqueue_scan(&image.instance_id, image.repository_id, digest)
        .await
        .unwrap()
    else {
        panic!("scan not queued");
    };
    meta.start_scan(id)
        .await
        .unwrap()
        .expect("queued scan starts");
    meta.finish_scan(
        id,
        ScanStatus::Success,
        Some(&report.to_string()),
        None,
        None,
    )
    .await
    .unwrap();
}

pub async fn fixture() -> Fixture {
    // The job runner must not take the scans the test writes itself.
    let srv = TestApp::new()
        .config(|c| c.jobs.poll_secs = 3600)
        .start()
        .await;
    let (_, a) = srv.push_image("shop/web", "1.0", b"layer of web").await;
    let (_, b) = srv.push_image("shop/api", "2.0", b"layer of api").await;
    let c = format!("sha256:{}", "c".repeat(64));
    let config = format!("sha256:{}", "f".repeat(64));
    scan(&srv, &a, &report_a(&config)).await;
    scan(&srv, &b, &report_b()).await;
    let meta = srv.app.meta.as_ref();
    let record = clusters::create_cluster(
        meta,
        &NewCluster {
            name: "prod".into(),
            cluster_type: ClusterType::ManagedKubernetes,
            region: "eu-west-1".into(),
            kubernetes_version: Some("v1.31.2".into()),
        },
    )
    .await
    .unwrap();
    let cred = clusters::issue_credential(meta, &record.id, "test")
        .await
        .unwrap();
    let r = srv
        .client
        .put(srv.url(&format!("/api/runtime/v1/clusters/{}/snapshot", record.id)))
        .bearer_auth(&cred.token)
        .body(inventory(&a, &b, &c).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    Fixture {
        srv,
        cluster_id: record.id,
        a,
        b,
        c,
    }
}

pub async fn token(srv: &TestServer, role: ApiRole) -> String {
    let name = format!("t-{}", rand_suffix());
    api_tokens::create(srv.app.meta.as_ref(), &name, role, None)
        .await
        .unwrap()
        .token
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::SeqCst).to_string()
}

/// Reads the export line by line as it arrives; returns (status, lines).
async fn export(srv: &TestServer, token: &str, query: &str) -> (StatusCode, Vec<Value>) {
    let r = srv
        .client
        .get(srv.url(PATH))
        .query(&[("query", query)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status != StatusCode::OK {
        return (status, vec![r.json().await.unwrap()]);
    }
    assert_eq!(r.headers()["content-type"], "application/json");
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        buf.extend_from_slice(&chunk.unwrap());
        while let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            lines.push(serde_json::from_slice(&line).unwrap());
        }
    }
    assert!(buf.is_empty(), "every message ends with a newline");
    (status, lines)
}

fn names(lines: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = lines
        .iter()
        .map(|l| {
            l["result"]["deployment"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn every_deployment_with_its_images_once() {
    let f = fixture().await;
    let t = token(&f.srv, ApiRole::ReadOnly).await;
    let (status, lines) = export(&f.srv, &t, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&lines), ["agent", "api", "debug", "web"]);
    let by = |n: &str| {
        lines
            .iter()
            .find(|l| l["result"]["deployment"]["name"] == n)
            .unwrap()["result"]
            .clone()
    };

    let web = by("web");
    let d = &web["deployment"];
    assert_eq!(d["id"], "uid-web");
    assert_eq!(d["type"], "Deployment");
    assert_eq!(d["namespace"], "shop");
    assert_eq!(d["namespaceId"], "uid-ns-shop");
    assert_eq!(d["replicas"], "2");
    assert_eq!(d["hash"], "0");
    assert_eq!(d["clusterId"], f.cluster_id.as_str());
    assert_eq!(d["clusterName"], "prod");
    assert_eq!(d["labels"], json!({"app": "web", "tier": "frontend"}));
    assert_eq!(d["labelSelector"]["requirements"][0]["op"], "IN");
    assert_eq!(d["created"], "2024-05-01T10:00:00Z");
    assert_eq!(d["serviceAccount"], "web-sa");
    assert_eq!(
        d["tolerations"][0]["taintEffect"],
        "NO_SCHEDULE_TAINT_EFFECT"
    );
    let c = &d["containers"][0];
    assert_eq!(c["image"]["id"], f.a.to_string().as_str());
    assert_eq!(c["image"]["name"]["remote"], "shop/web");
    assert_eq!(c["image"]["name"]["tag"], "1.0");
    assert_eq!(
        c["image"]["name"]["fullName"],
        "registry.example.com/shop/web:1.0"
    );
    assert_eq!(c["config"]["uid"], "101");
    assert_eq!(
        c["config"]["env"][1],
        json!({"key": "TOKEN", "value": "", "envVarSource": "SECRET_KEY"})
    );
    assert_eq!(
        c["securityContext"]["seccompProfile"]["type"],
        "RUNTIME_DEFAULT"
    );
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(
        c["secrets"],
        json!([{"name": "web-tls", "path": "/etc/tls"}])
    );
    assert_eq!(c["resources"]["cpuCoresRequest"], 0.25);
    assert_eq!(c["resources"]["memoryMbLimit"], 128.0);
    assert_eq!(c["livenessProbe"]["defined"], true);
    assert_eq!(web["livePods"], 2);
    let img = &web["images"][0];
    assert_eq!(web["images"].as_array().unwrap().len(), 1);
    assert_eq!(img["id"], f.a.to_string().as_str());
    assert_eq!(img["cves"], 3);
    assert_eq!(img["fixableCves"], 1);
    assert_eq!(img["components"], 2);
    assert_eq!(img["topCvss"], 9.8);
    assert_eq!(img["scan"]["operatingSystem"], "alpine:3.19.1");
    assert_eq!(img["metadata"]["layerShas"], json!(["sha256:1111"]));
    assert_eq!(img["metadata"]["v1"]["layers"][0]["instruction"], "ADD");
    let openssl = &img["scan"]["components"][0];
    assert_eq!(openssl["layerIndex"], 0);
    assert_eq!(openssl["source"], "OS");
    assert_eq!(openssl["license"]["name"], "Apache-2.0");
    let v = &openssl["vulns"][0];
    assert_eq!(v["cve"], "CVE-2024-0001");
    assert_eq!(v["severity"], "CRITICAL_VULNERABILITY_SEVERITY");
    assert_eq!(v["fixedBy"], "3.1.5-r0");
    assert_eq!(v["cvssV3"]["score"], 9.8);
    assert_eq!(v["cvssV2"]["accessComplexity"], "ACCESS_LOW");
    assert_eq!(v["link"], "https://example.test/CVE-2024-0001");
    let busybox = &img["scan"]["components"][1];
    assert!(busybox.get("layerIndex").is_none(), "unset oneof omitted");
    assert!(
        busybox["vulns"][0].get("fixedBy").is_none(),
        "unset oneof omitted"
    );
    assert_eq!(busybox["vulns"][1]["suppressed"], true);
    assert_eq!(
        busybox["vulns"][1]["suppressExpiry"],
        "2030-01-01T00:00:00Z"
    );

    // A deployment running two images lists each once; A's entry is the same as web's.
    let api = by("api");
    let ids: Vec<&str> = api["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [f.b.to_string().as_str(), f.a.to_string().as_str()]);
    assert_eq!(
        api["images"][0]["scan"]["components"][0]["source"],
        "PYTHON"
    );
    assert_eq!(api["images"][0]["scan"]["notes"], json!(["OS_UNAVAILABLE"]));

    // An image berth does not store: known by digest only.
    let agent = by("agent");
    assert_eq!(agent["deployment"]["type"], "DaemonSet");
    assert_eq!(agent["deployment"]["replicas"], "3");
    assert_eq!(agent["deployment"]["hostNetwork"], true);
    assert_eq!(agent["images"][0]["id"], f.c.as_str());
    assert_eq!(agent["images"][0]["scan"], Value::Null);
    assert!(agent["images"][0].get("cves").is_none());
    assert_eq!(
        agent["images"][0]["notes"],
        json!(["MISSING_METADATA", "MISSING_SCAN_DATA"])
    );

    // A bare pod whose image digest is not known: no image listed.
    let debug = by("debug");
    assert_eq!(debug["deployment"]["type"], "Pod");
    assert_eq!(debug["images"], json!([]));
    assert_eq!(debug["deployment"]["containers"][0]["image"]["id"], "");
}

#[tokio::test]
async fn one_full_message_snapshot() {
    let f = fixture().await;
    let t = token(&f.srv, ApiRole::Admin).await;
    let (_, lines) = export(&f.srv, &t, "Deployment:\"web\"").await;
    assert_eq!(lines.len(), 1);
    let mut text = lines[0].to_string();
    // What differs per run: the cluster id, the digests of the pushed images, scan times.
    text = text.replace(&f.cluster_id, "[cluster-id]");
    text = text.replace(&f.a.to_string(), "[digest-a]");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for img in v["result"]["images"].as_array_mut().unwrap() {
        img["lastUpdated"] = json!("[scan-time]");
        img["scan"]["scanTime"] = json!("[scan-time]");
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(false);
    settings.bind(|| insta::assert_json_snapshot!("export_full_message", v));
}

#[tokio::test]
async fn the_query_language_selects_deployments() {
    let f = fixture().await;
    let t = token(&f.srv, ApiRole::ReadOnly).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &["agent", "api", "debug", "web"]),
        ("Namespace:shop", &["api", "web"]),
        ("Deployment:web+Namespace:shop", &["web"]),
        ("Deployment:\"we\"", &[]),
        ("CVE:CVE-2024-0001", &["api", "web"]),
        ("Severity:CRITICAL_VULNERABILITY_SEVERITY", &["api", "web"]),
        (
            "Severity:>=IMPORTANT_VULNERABILITY_SEVERITY+Component:requests",
            &["api"],
        ),
        ("Fixable:true+Component:requests", &["api"]),
        ("Fixable:false", &["api", "web"]),
        ("CVSS:>9", &["api", "web"]),
        ("Component:busybox,requests", &["api", "web"]),
        ("Component Source:PYTHON", &["api"]),
        ("Deployment Label:tier=frontend", &["web"]),
        ("Deployment Annotation:owner=team-shop", &["web"]),
        ("Deployment Type:DaemonSet", &["agent"]),
        ("Namespace:!shop", &["agent", "debug"]),
        ("Image:r/.*busybox.*", &["debug"]),
        ("Image Tag:1.0", &["api", "web"]),
        ("Image OS:alpine", &["api", "web"]),
        (
            "Cluster:prod+Cluster ID:*",
            &["agent", "api", "debug", "web"],
        ),
        ("Image Sha:-", &["debug"]),
        ("Unknown Label:x+Namespace:kube", &["agent"]),
    ];
    for (q, want) in cases {
        let (status, lines) = export(&f.srv, &t, q).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(names(&lines), *want, "query {q:?}");
    }
}

async fn refusal(srv: &TestServer, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let _ = srv;
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {e}: {text:.300}"));
    assert!(body["code"].as_i64().is_some(), "{body}");
    assert_eq!(body["error"], body["message"]);
    assert_eq!(body["details"], json!([]));
    (status, body)
}

#[tokio::test]
async fn bad_input_gets_the_seed_error_format() {
    let f = fixture().await;
    let srv = &f.srv;
    let t = token(srv, ApiRole::ReadOnly).await;
    let get = |q: &[(&str, &str)]| srv.client.get(srv.url(PATH)).query(q).bearer_auth(&t);
    // A plain enum prefix naming no level matches nothing (as in StackRox); an exact name that
    // names none is an error.
    let (s, b) = refusal(srv, get(&[("query", "Severity:\"NOT_A_LEVEL\"")])).await;
    assert_eq!((s, b["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(3)));
    assert!(
        b["message"].as_str().unwrap().contains("invalid query"),
        "{b}"
    );
    let huge = format!("Deployment:{}", "a".repeat(20_000));
    let (s, _) = refusal(srv, get(&[("query", &huge)])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A query string over 32 KiB: with the default request-head limit (32 KiB) the connection
    // refuses it before any handler (431); with a larger one, the export's own limit does (400).
    let r = get(&[("query", &"x".repeat(40_000))]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let roomy = TestApp::new()
        .config(|c| c.limits.max_header_bytes = 64 << 10)
        .start()
        .await;
    let rt = token(&roomy, ApiRole::ReadOnly).await;
    let (s, b) = refusal(
        &roomy,
        roomy
            .client
            .get(roomy.url(PATH))
            .query(&[("query", "x".repeat(40_000))])
            .bearer_auth(&rt),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("longer than"),
        "{b}"
    );
    for bad in ["-1", "abc", "99999999999999999999", "1.5"] {
        let (s, b) = refusal(srv, get(&[("timeout", bad)])).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }
    let (s, b) = refusal(srv, get(&[("query", "CVSS:>1e999999")])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // A regex that backtracking engines take exponential time on: linear here.
    let started = std::time::Instant::now();
    let (status, lines) = export(
        srv,
        &t,
        &format!("Deployment:r/(a+)+$+Image:r/{}", "(x*)*".repeat(3)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(lines.is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // Credentials.
    let (s, b) = refusal(srv, srv.client.get(srv.url(PATH))).await;
    assert_eq!(
        (s, b["code"].as_i64()),
        (StatusCode::UNAUTHORIZED, Some(16))
    );
    let (s, _) = refusal(srv, srv.client.get(srv.url(PATH)).bearer_auth("bat_nope")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    for role in [ApiRole::ContinuousIntegration, ApiRole::None] {
        let weak = token(srv, role).await;
        let (s, b) = refusal(srv, srv.client.get(srv.url(PATH)).bearer_auth(&weak)).await;
        assert_eq!(
            (s, b["code"].as_i64()),
            (StatusCode::FORBIDDEN, Some(7)),
            "{b}"
        );
    }
    let issued = api_tokens::create(srv.app.meta.as_ref(), "to-revoke", ApiRole::Admin, None)
        .await
        .unwrap();
    assert!(
        srv.app
            .meta
            .revoke_api_token(&issued.record.id)
            .await
            .unwrap()
    );
    let (s, b) = refusal(
        srv,
        srv.client.get(srv.url(PATH)).bearer_auth(&issued.token),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(b["message"].as_str().unwrap().contains("revoked"));
    let expired = "bat_expired-token-for-the-test";
    srv.app
        .meta
        .create_api_token(&ApiTokenRecord {
            id: "at-expired".into(),
            name: "expired".into(),
            role: "admin".into(),
            token_hash: api_tokens::token_hash(expired),
            created_at: 0,
            expires_at: Some(1000),
            revoked_at: None,
        })
        .await
        .unwrap();
    let (s, b) = refusal(srv, srv.client.get(srv.url(PATH)).bearer_auth(expired)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(b["message"].as_str().unwrap().contains("expired"));
    // Basic: the administrator may, a wrong password may not.
    let r = srv.admin(reqwest::Method::GET, PATH).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = refusal(
        srv,
        srv.client
            .get(srv.url(PATH))
            .basic_auth("admin", Some("wrong")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Many deployments, so an export takes a while and outgrows the socket buffers.
async fn large(srv: &TestServer, deployments: usize) -> String {
    let store = srv.app.meta.as_ref();
    let record = clusters::create_cluster(
        store,
        &NewCluster {
            name: "large".into(),
            cluster_type: ClusterType::Kubernetes,
            region: String::new(),
            kubernetes_version: None,
        },
    )
    .await
    .unwrap();
    let cred = clusters::issue_credential(store, &record.id, "")
        .await
        .unwrap();
    let items: Vec<Value> = (0..deployments)
        .map(|i| {
            let mut d = meta(
                "Deployment",
                "bulk",
                &format!("d{i:06}"),
                &format!("uid-{i}"),
            );
            d["apiVersion"] = json!("apps/v1");
            d["metadata"]["annotations"] = json!({"padding": "p".repeat(2000)});
            d["spec"] = json!({"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}});
            d
        })
        .collect();
    let r = srv
        .client
        .put(srv.url(&format!("/api/runtime/v1/clusters/{}/snapshot", record.id)))
        .bearer_auth(&cred.token)
        .body(json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    record.id
}

#[tokio::test]
async fn the_timeout_ends_the_stream_with_the_error_message() {
    let srv = TestApp::new().start().await;
    large(&srv, 20_000).await;
    let t = token(&srv, ApiRole::ReadOnly).await;
    let r = srv
        .client
        .get(srv.url(PATH))
        .query(&[("timeout", "1")])
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"{\"result\":"));
    // Stop reading past the deadline: the producer is then waiting on a full channel.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(rest).unwrap();
    let last: Value = serde_json::from_str(text.trim_end().lines().last().unwrap()).unwrap();
    assert_eq!(
        last,
        json!({"error": {"grpcCode": 4, "httpCode": 504, "message": "the export's timeout expired",
                         "httpStatus": "Gateway Timeout", "details": []}})
    );
    let lines = text.lines().count();
    assert!(lines < 20_000, "the export stopped early ({lines} lines)");
}

#[tokio::test]
async fn clients_that_disconnect_free_their_export() {
    let srv = TestApp::new().start().await;
    large(&srv, 20_000).await;
    let t = token(&srv, ApiRole::ReadOnly).await;
    // More exports than may run at once, each abandoned after its first bytes: each must stop
    // and give its turn back, or the later ones would be refused.
    for _ in 0..12 {
        let r = srv
            .client
            .get(srv.url(PATH))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let mut body = r.bytes_stream();
        assert!(body.next().await.is_some());
        drop(body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Other requests are served meanwhile.
    let r = srv.client.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The Python client (`requests`, `iter_lines`), as users consume the stream.
#[tokio::test]
async fn a_python_requests_client_reads_the_stream() {
    let f = fixture().await;
    let t = token(&f.srv, ApiRole::ReadOnly).await;
    let python = std::env::var("BERTH_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.deps/venv/bin/python").to_string()
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../berth/tests/clients/export_stream.py"
    );
    let run = |query: &'static str| {
        let (python, base, t) = (python.clone(), f.srv.base.clone(), t.clone());
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(&python)
                .args([script, &base, &t, query])
                .output()
                .unwrap_or_else(|e| panic!("{python}: {e} (run scripts/install-deps.sh)"));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        })
    };
    let all = run("").await.unwrap();
    assert_eq!(all["status"], 200);
    assert_eq!(all["contentType"], "application/json");
    assert_eq!(all["errors"], json!([]));
    let names: Vec<&str> = all["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "prod/kube-system/agent",
            "prod/shop/api",
            "prod/shop/web",
            "prod/default/debug"
        ],
        "controllers in (namespace, kind, name) order, then bare pods"
    );
    let web = &all["deployments"][2];
    assert_eq!(
        web["cves"],
        json!(["CVE-2023-9999", "CVE-2024-0001", "CVE-2024-0002"])
    );
    assert_eq!(web["livePods"], 2);
    let api = &all["deployments"][1];
    assert_eq!(api["images"], json!([f.b.to_string(), f.a.to_string()]));
    let selective = run("Severity:IMPORTANT_VULNERABILITY_SEVERITY")
        .await
        .unwrap();
    let names: Vec<&str> = selective["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prod/shop/api"]);
    let bad = run("Severity:\"BAD\"").await.unwrap();
    assert_eq!(bad["status"], 400);
    assert_eq!(bad["body"]["code"], 3);
}

/// The management API's API-token actions (berth extensions): admin keys create, list and
/// revoke; the token is in the create reply only; a revoked token stops exporting at once.
#[tokio::test]
async fn api_tokens_through_the_management_api() {
    let srv = TestApp::new().start().await;
    let kcr = srv.kcr().await;
    let reader = srv.kcr_with(true).await;
    let ok_export = |token: String| {
        let req = srv.client.get(srv.url(PATH)).bearer_auth(token);
        async move { req.send().await.unwrap().status() }
    };

    // Read-only keys may do none of it, listing included.
    for (action, params) in [
        ("CreateApiToken", vec![("Name", "r")]),
        ("DescribeApiTokens", vec![]),
        ("DeleteApiToken", vec![("TokenId", "at-0")]),
    ] {
        let (status, body) = reader.post(action, &params).await;
        assert_eq!(status.as_u16(), 403, "{action}: {body}");
        assert_eq!(body["Error"]["Code"], "AccessDenied", "{body}");
    }

    let created = kcr
        .call(
            "CreateApiToken",
            &[
                ("Name", "exporter"),
                ("Role", "read-only"),
                ("TtlSeconds", "3600"),
            ],
        )
        .await;
    let token = created["Token"].as_str().unwrap().to_string();
    let id = created["TokenId"].as_str().unwrap().to_string();
    assert!(
        token.starts_with("bat_") && token.len() == 4 + 43,
        "{created}"
    );
    assert!(id.starts_with("at-"), "{created}");
    assert_eq!(created["Role"], "read-only");
    assert_eq!(created["Status"], "Valid");
    assert!(created["ExpireTime"].is_string(), "{created}");
    assert_eq!(ok_export(token.clone()).await, StatusCode::OK);
    // The default role is read-only; a bad role, name or validity is refused; names are unique.
    let plain = kcr.call("CreateApiToken", &[("Name", "plain")]).await;
    assert_eq!(plain["Role"], "read-only");
    assert_eq!(plain["ExpireTime"], Value::Null);
    kcr.fails(
        "CreateApiToken",
        &[("Name", "x"), ("Role", "Admin")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "CreateApiToken",
        &[("Name", "x"), ("TtlSeconds", "0")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "CreateApiToken",
        &[("Name", "x"), ("TtlSeconds", "-5")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails("CreateApiToken", &[], 400, "MissingParameter")
        .await;
    kcr.fails(
        "CreateApiToken",
        &[("Name", "exporter")],
        409,
        "ResourceAlreadyExists",
    )
    .await;
    let ci = kcr
        .call(
            "CreateApiToken",
            &[("Name", "ci"), ("Role", "continuous-integration")],
        )
        .await;
    assert_eq!(
        ok_export(ci["Token"].as_str().unwrap().to_string()).await,
        StatusCode::FORBIDDEN
    );

    // The list never carries a token.
    let listed = kcr.call("DescribeApiTokens", &[]).await;
    assert_eq!(listed["TotalCount"], 3);
    let set = listed["TokenSet"].as_array().unwrap();
    let names: Vec<&str> = set.iter().map(|t| t["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["exporter", "plain", "ci"]);
    assert!(!listed.to_string().contains("bat_"), "{listed}");
    let page = kcr
        .call("DescribeApiTokens", &[("MaxResults", "2"), ("Marker", "2")])
        .await;
    assert_eq!(page["TokenSet"][0]["Name"], "ci");
    assert_eq!(page["Marker"], 0);

    // Revocation takes effect on the next request and is listed.
    kcr.call("DeleteApiToken", &[("TokenId", &id)]).await;
    assert_eq!(ok_export(token).await, StatusCode::UNAUTHORIZED);
    kcr.fails(
        "DeleteApiToken",
        &[("TokenId", &id)],
        400,
        "InvalidParameterValue",
    )
    .await;
    let listed = kcr.call("DescribeApiTokens", &[]).await;
    assert_eq!(listed["TokenSet"][0]["Status"], "Revoked");
    assert!(listed["TokenSet"][0]["RevokeTime"].is_string());
}

/// The vulnerabilities of a deployment's image with id `digest`, as (cve, suppressed, state).
fn vuln_states(line: &Value, digest: &Digest) -> Vec<(String, bool, String)> {
    line["result"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["id"] == digest.to_string().as_str())
        .flat_map(|i| i["scan"]["components"].as_array().unwrap().clone())
        .flat_map(|c| c["vulns"].as_array().unwrap().clone())
        .map(|v| {
            (
                v["cve"].as_str().unwrap().to_string(),
                v["suppressed"].as_bool().unwrap(),
                v["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Exceptions created through `/api/v1/exceptions` and imported from OpenVEX show in the
/// export as suppression state, in their scope only, and stop when revoked.
#[tokio::test]
async fn exceptions_are_the_exports_suppression_state() {
    let f = fixture().await;
    let admin = token(&f.srv, ApiRole::Admin).await;
    let reader = token(&f.srv, ApiRole::ReadOnly).await;
    let expires = "2028-02-03T04:05:06Z";
    let create = |t: String, body: Value| {
        let req = f
            .srv
            .client
            .post(f.srv.url("/api/v1/exceptions"))
            .bearer_auth(t);
        async move { req.json(&body).send().await.unwrap() }
    };
    let scoped = json!({"namespace": "shop", "image": "shop/web", "package": "openssl",
        "vulnerability": "CVE-2024-0001", "reason": "not reachable", "expiresAt": expires});
    let r = create(reader.clone(), scoped.clone()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "read-only cannot create");
    let r = create(admin.clone(), json!({"reason": "x", "expiresAt": expires})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an empty scope");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("scope"),
        "{body}"
    );
    let r = create(admin.clone(), scoped).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["state"], "active");
    assert_eq!(made["expiresAt"], expires);
    assert!(
        made["author"].as_str().unwrap().starts_with("token:"),
        "{made}"
    );
    let id = made["id"].as_str().unwrap().to_string();

    let vex = json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.test/vex/7",
    "author": "sec", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
    "statements": [
        {"vulnerability": {"name": "CVE-2024-0002"}, "status": "not_affected",
         "justification": "vulnerable_code_not_present",
         "products": [{"@id": format!("pkg:oci/web@{}?repository_url=registry.example.com/shop/web", f.a),
                       "subcomponents": [{"@id": "pkg:apk/alpine/busybox@1.36.1-r15"}]}]},
        {"vulnerability": {"name": "CVE-2024-0001"}, "status": "affected"}
    ]});
    let r = f
        .srv
        .client
        .post(f.srv.url("/api/v1/exceptions/openvex"))
        .query(&[("expiresAt", expires)])
        .bearer_auth(&admin)
        .body(vex.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let imported: Value = r.json().await.unwrap();
    assert_eq!(imported["ignoredStatements"], 1);
    assert_eq!(
        imported["exceptions"][0]["source"],
        "openvex:https://example.test/vex/7"
    );
    assert_eq!(
        imported["exceptions"][0]["image"],
        format!("shop/web@{}", f.a)
    );

    let (_, lines) = export(&f.srv, &reader, "").await;
    let web = lines
        .iter()
        .find(|l| l["result"]["deployment"]["name"] == "web")
        .unwrap();
    let states = vuln_states(web, &f.a);
    let expected =
        |cve: &str, suppressed: bool, state: &str| (cve.to_string(), suppressed, state.to_string());
    assert!(
        states.contains(&expected("CVE-2024-0001", true, "DEFERRED")),
        "{states:?}"
    );
    assert!(
        states.contains(&expected("CVE-2024-0002", true, "FALSE_POSITIVE")),
        "{states:?}"
    );
    let v = web["result"]["images"][0]["scan"]["components"][0]["vulns"][0].clone();
    assert_eq!(v["suppressExpiry"], expires);

    // Listing shows both to a reader; revoking one ends its suppression.
    let send = |req: reqwest::RequestBuilder, token: &str| {
        let req = req.bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let list = |query: &'static str| {
        let req = f
            .srv
            .client
            .get(f.srv.url(&format!("/api/v1/exceptions{query}")));
        async { send(req, &reader).await.json::<Value>().await.unwrap()["exceptions"].clone() }
    };
    let active = list("?state=active").await;
    assert_eq!(active.as_array().unwrap().len(), 2, "{active}");
    let revoke = || {
        f.srv
            .client
            .delete(f.srv.url(&format!("/api/v1/exceptions/{id}")))
    };
    assert_eq!(
        send(revoke(), &admin).await.status(),
        StatusCode::NO_CONTENT
    );
    let again = send(revoke(), &admin).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "revoked once");
    let (_, lines) = export(&f.srv, &reader, "").await;
    let web = lines
        .iter()
        .find(|l| l["result"]["deployment"]["name"] == "web")
        .unwrap();
    let states = vuln_states(web, &f.a);
    assert!(
        states.contains(&expected("CVE-2024-0001", false, "OBSERVED")),
        "{states:?}"
    );
    assert!(
        states.contains(&expected("CVE-2024-0002", true, "FALSE_POSITIVE")),
        "{states:?}"
    );
    let all = list("").await;
    let revoked = all
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(revoked["state"], "revoked");
    assert!(revoked["revokedBy"].as_str().unwrap().starts_with("token:"));
}
