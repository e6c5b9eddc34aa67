//! The admission webhook end to end: the real `berth` binary with its HTTPS admission listener,
//! images pushed over HTTP and scanned on push (the image-risk tests' fixtures: `team/pyapp`
//! with a Critical and fixable advisory, the EICAR file and no USER; `ops/clean` with nothing),
//! policies and the cluster's protection written through `ProtectionStore` on the same database,
//! then `AdmissionReview` v1 documents as kube-apiserver sends them (`?timeout=10s`, the
//! apiserver's defaulted objects, `userInfo`, `options`), posted over TLS verified against the
//! certificate berth generated. No Kubernetes API server can run here, so the wire format is
//! posted directly; ARCHITECTURE.md says how to install the webhook on a real cluster.
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_store::{
    ExceptionStore as _, MetadataStore, NewWebhookTrigger, ProtectionPolicy, ProtectionStore,
    RuntimeStore, SqliteMetadataStore, TenancyStore, WebhookStore,
};
use serde_json::{Value, json};

use crate::common::free_addr;
use crate::sas::{self, Berth};

const KINDS: [(&str, &str, &str); 8] = [
    ("", "Pod", "pods"),
    ("apps", "Deployment", "deployments"),
    ("apps", "DaemonSet", "daemonsets"),
    ("apps", "StatefulSet", "statefulsets"),
    ("apps", "ReplicaSet", "replicasets"),
    ("", "ReplicationController", "replicationcontrollers"),
    ("batch", "Job", "jobs"),
    ("batch", "CronJob", "cronjobs"),
];

/// A container as kube-apiserver's defaulting leaves it.
fn container(name: &str, image: &str) -> Value {
    json!({"name": name, "image": image, "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"})
}

fn pod_spec(containers: Vec<Value>, init: Vec<Value>, ephemeral: Vec<Value>) -> Value {
    let mut spec = json!({"containers": containers, "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "securityContext": {}, "schedulerName": "default-scheduler"});
    if !init.is_empty() {
        spec["initContainers"] = json!(init);
    }
    if !ephemeral.is_empty() {
        spec["ephemeralContainers"] = json!(ephemeral);
    }
    spec
}

/// The object of `kind` named `name` whose pods run `spec` with `labels`.
fn object(group: &str, kind: &str, name: &str, ns: &str, labels: &Value, spec: Value) -> Value {
    let api_version = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    let meta = json!({"name": name, "namespace": ns, "uid": "6e0b6e3c-2f0e-4c8e-9d59-8b0c5f3e8a11",
        "creationTimestamp": "2026-12-07T06:00:00Z", "labels": labels,
        "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
            "apiVersion": api_version, "time": "2026-12-07T06:00:00Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {}}}]});
    let template = json!({"metadata": {"creationTimestamp": null, "labels": labels}, "spec": spec});
    let selector = json!({"matchLabels": labels});
    let body = match kind {
        "Pod" => {
            return json!({"apiVersion": api_version, "kind": kind, "metadata": meta,
            "spec": template["spec"], "status": {"phase": "Pending", "qosClass": "BestEffort"}});
        }
        "CronJob" => json!({"schedule": "*/5 * * * *", "concurrencyPolicy": "Allow",
            "suspend": false, "jobTemplate": {"metadata": {"creationTimestamp": null},
            "spec": {"template": template}}}),
        "Job" => json!({"parallelism": 1, "completions": 1, "backoffLimit": 6,
            "template": template}),
        "ReplicationController" => json!({"replicas": 1, "selector": labels,
            "template": template}),
        "Deployment" => json!({"replicas": 1, "selector": selector, "template": template,
            "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}),
        _ => json!({"replicas": 1, "selector": selector, "template": template}),
    };
    json!({"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": body, "status": {}})
}

/// An `AdmissionReview` as kube-apiserver sends it.
fn review(uid: &str, group: &str, kind: &str, resource: &str, obj: &Value, dry_run: bool) -> Value {
    let gvk = json!({"group": group, "version": "v1", "kind": kind});
    let gvr = json!({"group": group, "version": "v1", "resource": resource});
    json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {
        "uid": uid, "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
        "operation": "CREATE",
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters",
            "system:authenticated"]},
        "object": obj, "oldObject": null, "dryRun": dry_run,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1",
            "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"}}})
}

struct Hook {
    client: reqwest::Client,
    base: String,
}

impl Hook {
    async fn post_raw(&self, path: &str, body: Vec<u8>) -> Value {
        let r = self
            .client
            .post(format!("{}{path}?timeout=10s", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "admission always answers 200");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["apiVersion"], "admission.k8s.io/v1", "{v}");
        assert_eq!(v["kind"], "AdmissionReview", "{v}");
        v["response"].clone()
    }
}

fn policy(project: &str, id: &str, doc: Value) -> ProtectionPolicy {
    let mut full = json!({"policy_id": id, "policy_name": format!("{id} (test)")});
    full.as_object_mut()
        .unwrap()
        .extend(doc.as_object().unwrap().clone());
    ProtectionPolicy {
        project_id: project.into(),
        policy_id: id.into(),
        policy_name: format!("{id} (test)"),
        template_id: String::new(),
        document: full.to_string(),
        created_at: 1,
        updated_at: 1,
    }
}

/// A loopback HTTP receiver for webhook deliveries; keeps each body.
fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        if let Ok(v) = serde_json::from_str(body) {
                            keep.lock().unwrap().push(v);
                        }
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        break;
                    }
                }
            }
        }
    });
    (url, seen)
}

async fn wait_scanned(meta: &SqliteMetadataStore, digests: &[berth_oci::Digest]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stored = meta.images_by_digest(digests).await.unwrap();
        let scanned = digests.iter().all(|d| {
            stored
                .iter()
                .any(|s| &s.digest == d && s.latest_scan_id.is_some())
        });
        if scanned {
            return;
        }
        assert!(Instant::now() < deadline, "images not scanned");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn start(data: &Path, db: &Path, admission: &str) -> Berth {
    sas::start(
        data,
        &[
            ("BERTH_SCAN_DB_DIR", &db.display().to_string()),
            ("BERTH_SCAN_ON_PUSH", "true"),
            ("BERTH_ADMISSION_LISTEN", admission),
            ("BERTH_WEBHOOK_ALLOW_PRIVATE", "true"),
        ],
    )
}

fn import_db(db: &Path) {
    let feeds = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vulndb/tests/fixtures/feeds"
    );
    sas::run_ok(
        sas::berth(&["db", "import", "--db"])
            .arg(db)
            .arg(format!("{feeds}/alpine/v3.10-main.json"))
            .arg(format!("{feeds}/osv/PyPI-all.zip"))
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/sas/osv"
            )),
    );
}

/// Waits out admission's cache of what can change (`admission::state::FRESH`, 1 s).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1200)).await;
}

fn status(r: &Value) -> (i64, String) {
    (
        r["status"]["code"].as_i64().unwrap_or(0),
        r["status"]["message"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn admission_reviews_as_kube_apiserver_sends_them() {
    let data = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    import_db(db.path());
    let admission_addr = free_addr();
    let b = start(data.path(), db.path(), &admission_addr);
    let c = reqwest::Client::new();
    let (pyapp, clean) = (sas::pyapp(), sas::clean());
    sas::push(&c, &b, "team/pyapp", "1.0", &pyapp).await;
    sas::push(&c, &b, "ops/clean", "1", &clean).await;
    let meta = SqliteMetadataStore::open(&data.path().join("meta.db"))
        .await
        .unwrap();
    wait_scanned(&meta, &[pyapp.digest(), clean.digest()]).await;
    let bad_image = format!("{}/team/pyapp:1.0", b.addr);
    let good_image = format!("{}/ops/clean:1", b.addr);

    // The cluster, and the webhook configuration berth prints for it.
    let cluster = sas::json_line(&sas::run_ok(
        sas::berth(&["admin", "cluster", "create", "prod", "--json", "--data-dir"])
            .arg(data.path()),
    ));
    let cluster_id = cluster["ClusterId"].as_str().unwrap().to_string();
    let manifest: Value = serde_json::from_str(&sas::run_ok(
        sas::berth(&[
            "admission",
            "manifest",
            "--cluster",
            &cluster_id,
            "--data-dir",
        ])
        .arg(data.path())
        .env("BERTH_ADMISSION_LISTEN", &admission_addr),
    ))
    .unwrap();
    let webhook = &manifest["webhooks"][0];
    assert_eq!(manifest["kind"], "ValidatingWebhookConfiguration");
    assert_eq!(webhook["sideEffects"], "NoneOnDryRun");
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(webhook["admissionReviewVersions"], json!(["v1"]));
    let url = webhook["clientConfig"]["url"].as_str().unwrap().to_string();
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(webhook["clientConfig"]["caBundle"].as_str().unwrap())
        .unwrap();
    // Only the manifest's CA: the TLS handshake verifies berth's certificate with it.
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let (base, path) = url.split_at(url.find("/api/").unwrap());
    let hook = Hook {
        client,
        base: base.to_string(),
    };
    let post = |uid: &str, kind: (&str, &str, &str), ns: &str, labels: Value, spec: Value, dry| {
        let obj = object(kind.0, kind.1, &format!("w-{uid}"), ns, &labels, spec);
        serde_json::to_vec(&review(uid, kind.0, kind.1, kind.2, &obj, dry)).unwrap()
    };
    let runs = |image: &str| pod_spec(vec![container("app", image)], vec![], vec![]);
    let web = json!({"app": "web"});

    // Protection off: even the worst image is admitted.
    let r = hook
        .post_raw(
            path,
            post(
                "u-off",
                KINDS[1],
                "prod",
                web.clone(),
                runs(&bad_image),
                false,
            ),
        )
        .await;
    assert_eq!(
        (r["uid"].as_str(), r["allowed"].as_bool()),
        (Some("u-off"), Some(true))
    );

    // Policies of the default instance (the project), and protection on.
    let project = meta
        .get_instance_by_name("default")
        .await
        .unwrap()
        .unwrap()
        .id;
    for p in [
        policy(
            &project,
            "block-critical",
            json!({"content": {"enable_image_startup": true,
            "policy_type": "vuls", "severity": 4, "action": 1},
            "resources": [{"namespaces": ["prod", "strict"]}]}),
        ),
        policy(
            &project,
            "alarm-malware",
            json!({"content": {"enable_image_startup": true,
            "policy_type": "malwares", "severity": 0, "action": 0},
            "resources": [{"labels": ["tier=web"]}]}),
        ),
        policy(
            &project,
            "require-scan",
            json!({"content": {"enable_image_startup": false,
            "policy_type": "vuls", "severity": 4, "action": 0},
            "resources": [{"namespaces": ["strict"]}]}),
        ),
    ] {
        assert!(meta.create_protection_policy(&p).await.unwrap());
    }
    assert!(
        meta.set_cluster_protection(std::slice::from_ref(&cluster_id), "protected")
            .await
            .unwrap()
    );
    // Written behind berth's back: enforced once admission's short caches expire.
    settle().await;
    // A webhook trigger on the image's namespace.
    let (hook_url, deliveries) = receiver();
    let team = meta.get_namespace(&project, "team").await.unwrap().unwrap();
    meta.create_webhook_trigger(
        &NewWebhookTrigger {
            instance_id: project.clone(),
            namespace_id: team.id,
            name: "admission".into(),
            url: hook_url,
            event_types: vec!["AdmissionBlock".into(), "AdmissionAlarm".into()],
            headers: vec![],
            enabled: true,
            secret: "s".into(),
        },
        100,
    )
    .await
    .unwrap()
    .unwrap();

    // Every kind: the critical, fixable advisory blocks in `prod`, the clean image passes.
    for (i, kind) in KINDS.iter().enumerate() {
        let r = hook
            .post_raw(
                path,
                post(
                    &format!("b{i}"),
                    *kind,
                    "prod",
                    web.clone(),
                    runs(&bad_image),
                    false,
                ),
            )
            .await;
        assert_eq!(r["uid"], format!("b{i}"));
        assert_eq!(r["allowed"], false, "{}: {r}", kind.1);
        let (code, msg) = status(&r);
        assert_eq!(code, 403, "{msg}");
        for needle in [
            kind.1,
            bad_image.as_str(),
            "block-critical",
            "BERTH-TEST-0001 (Critical) in berthdemo, fixed in 2.0.0",
        ] {
            assert!(msg.contains(needle), "{needle:?} not in {msg}");
        }
        let r = hook
            .post_raw(
                path,
                post(
                    &format!("g{i}"),
                    *kind,
                    "prod",
                    web.clone(),
                    runs(&good_image),
                    false,
                ),
            )
            .await;
        assert_eq!(r["allowed"], true, "{}: {r}", kind.1);
    }
    // An exception for the blocking advisory in `prod` admits the image until it expires; then
    // the block is back, with nothing done in between.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exception = berth_store::ExceptionRecord {
        id: "ex-admission".into(),
        cluster_id: Some(cluster_id.clone()),
        namespace: Some("prod".into()),
        image: Some("team/pyapp".into()),
        package: Some("berthdemo".into()),
        vulnerability: Some("BERTH-TEST-0001".into()),
        reason: "accepted until the fix ships".into(),
        author: "tests".into(),
        source: "api".into(),
        created_at: now * 1000,
        expires_at: now + 3,
        revoked_at: None,
        revoked_by: None,
    };
    assert!(meta.create_exceptions(&[exception]).await.unwrap());
    // Written behind berth's back: in force once admission's short caches expire.
    settle().await;
    let excepted = || post("ex", KINDS[1], "prod", web.clone(), runs(&bad_image), false);
    let r = hook.post_raw(path, excepted()).await;
    assert_eq!(r["allowed"], true, "covered by the exception: {r}");
    let wait = (now + 3) * 1000
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
    tokio::time::sleep(std::time::Duration::from_millis(wait.max(0) as u64 + 200)).await;
    let r = hook.post_raw(path, excepted()).await;
    assert_eq!(r["allowed"], false, "the exception expired: {r}");

    // Init and ephemeral containers count as much as regular ones.
    for spec in [
        pod_spec(
            vec![container("app", &good_image)],
            vec![container("init", &bad_image)],
            vec![],
        ),
        pod_spec(
            vec![container("app", &good_image)],
            vec![],
            vec![container("debug", &bad_image)],
        ),
    ] {
        let r = hook
            .post_raw(
                path,
                post("init", KINDS[0], "prod", web.clone(), spec, false),
            )
            .await;
        assert_eq!(r["allowed"], false, "{r}");
    }

    // Scope: outside `prod` nothing blocks; the malware alarm applies to `tier=web` only.
    let r = hook
        .post_raw(
            path,
            post("dev", KINDS[1], "dev", web.clone(), runs(&bad_image), false),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("warnings").is_none(), "{r}");
    let tiered = json!({"app": "web", "tier": "web"});
    let r = hook
        .post_raw(
            path,
            post(
                "alarm",
                KINDS[1],
                "dev",
                tiered.clone(),
                runs(&bad_image),
                false,
            ),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{r}");
    let w = warnings[0].as_str().unwrap();
    assert!(w.contains("alarm-malware") && w.contains("malware"), "{w}");

    // Unscanned (a foreign image berth has not seen): `enable_image_startup` decides.
    let foreign = "nginx:1.27";
    let r = hook
        .post_raw(
            path,
            post("u1", KINDS[1], "prod", web.clone(), runs(foreign), false),
        )
        .await;
    assert_eq!(r["allowed"], true, "enable_image_startup true: {r}");
    let r = hook
        .post_raw(
            path,
            post("u2", KINDS[1], "strict", web.clone(), runs(foreign), false),
        )
        .await;
    assert_eq!(r["allowed"], false, "enable_image_startup false: {r}");
    assert!(
        status(&r).1.contains("not scanned") && status(&r).1.contains("require-scan"),
        "{r}"
    );

    // dryRun: the same denial, and nothing recorded.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = meta.count_protection_events(&project).await.unwrap();
    let r = hook
        .post_raw(
            path,
            post("dry", KINDS[1], "prod", web.clone(), runs(&bad_image), true),
        )
        .await;
    assert_eq!(r["allowed"], false, "{r}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        meta.count_protection_events(&project).await.unwrap(),
        before
    );
    // Blocks and alarms are HSS events, with the workload in `resource_info`.
    let events = meta
        .list_protection_events(&project, Some(&cluster_id), 0, 200)
        .await
        .unwrap();
    // 8 kinds + init + ephemeral + the block after the exception expired + the unscanned
    // block, plus the alarm (the excepted admission is no event).
    assert_eq!(before.blocked, 12, "{before:?}");
    assert_eq!(before.total, 13, "{before:?}");
    let cron = events
        .items
        .iter()
        .find(|e| e.resource_info.contains("\"CronJob\""))
        .expect("a CronJob event");
    let info: Value = serde_json::from_str(&cron.resource_info).unwrap();
    assert_eq!(
        (&info["kind"], &info["namespace"], &info["name"]),
        (&json!("CronJob"), &json!("prod"), &json!("w-b7"))
    );
    assert_eq!(
        (cron.action.as_str(), cron.policy_id.as_str()),
        ("block", "block-critical")
    );
    // And webhook events to the image's namespace.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = deliveries.lock().unwrap().clone();
        let blocks = got
            .iter()
            .filter(|d| d["event"] == "AdmissionBlock")
            .count();
        let alarms = got
            .iter()
            .filter(|d| d["event"] == "AdmissionAlarm")
            .count();
        if blocks >= 10 && alarms >= 1 {
            let d = got.iter().find(|d| d["event"] == "AdmissionBlock").unwrap();
            assert_eq!(d["repository"], "team/pyapp");
            assert_eq!(d["admission"]["clusterId"], json!(cluster_id));
            break;
        }
        assert!(Instant::now() < deadline, "deliveries: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The allow-list: the policy's white list lets the image through.
    let mut white = policy(
        &project,
        "block-critical",
        json!({"content": {
        "enable_image_startup": true, "policy_type": "vuls", "severity": 4, "action": 1},
        "resources": [{"namespaces": ["prod"]}],
        "white_image_list": [{"image_name": format!("{}/team/pyapp", b.addr),
            "image_version": "1.0"}]}),
    );
    white.updated_at = 2;
    assert!(meta.update_protection_policy(&white).await.unwrap());
    settle().await;
    let r = hook
        .post_raw(
            path,
            post(
                "white",
                KINDS[1],
                "prod",
                web.clone(),
                runs(&bad_image),
                false,
            ),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");

    // Admitted pods join the cluster's inventory.
    let r = hook
        .post_raw(
            path,
            post(
                "inv",
                KINDS[0],
                "prod",
                web.clone(),
                runs(&good_image),
                false,
            ),
        )
        .await;
    assert_eq!(r["allowed"], true);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let snapshot = meta.snapshot(&cluster_id).await.unwrap();
        if snapshot.is_some_and(|s| s.document.contains("w-inv")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the admitted pod is not in the inventory"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Bad input: a well-formed review answering each, by the failure policy (Fail).
    let r = hook
        .post_raw(
            path,
            post(
                "ref",
                KINDS[1],
                "prod",
                web.clone(),
                runs("Not A//Reference"),
                false,
            ),
        )
        .await;
    assert_eq!(
        (r["allowed"].as_bool(), status(&r).0),
        (Some(false), 400),
        "{r}"
    );
    assert!(status(&r).1.contains("Not A//Reference"), "{r}");
    let r = hook
        .post_raw(path, b"{\"request\": {\"uid\": \"m-1\"".to_vec())
        .await;
    assert_eq!(
        (r["uid"].as_str(), r["allowed"].as_bool()),
        (Some(""), Some(false)),
        "{r}"
    );
    let r = hook.post_raw(path, br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"m-2"}}"#.to_vec()).await;
    assert_eq!(
        (r["uid"].as_str(), r["allowed"].as_bool(), status(&r).0),
        (Some("m-2"), Some(false), 400),
        "{r}"
    );
    let mut cm = review(
        "cm",
        "",
        "ConfigMap",
        "configmaps",
        &json!({"apiVersion": "v1",
        "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "prod"}, "data": {}}),
        false,
    );
    cm["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "ConfigMap"});
    let r = hook.post_raw(path, serde_json::to_vec(&cm).unwrap()).await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(status(&r).1.contains("ConfigMap"), "{r}");
    let mut huge = review(
        "huge",
        "",
        "Pod",
        "pods",
        &object("", "Pod", "h", "prod", &web, runs(&good_image)),
        false,
    );
    huge["request"]["object"]["metadata"]["annotations"] = json!({"big": "x".repeat(4 << 20)});
    let r = hook
        .post_raw(path, serde_json::to_vec(&huge).unwrap())
        .await;
    assert_eq!(
        (r["allowed"].as_bool(), status(&r).0),
        (Some(false), 413),
        "{r}"
    );
    // A bad credential or an unknown cluster: denied, never a 500.
    let wrong = path.replace("bcc_", "bcc_x");
    let r = hook
        .post_raw(
            &wrong,
            post(
                "cred",
                KINDS[1],
                "prod",
                web.clone(),
                runs(&good_image),
                false,
            ),
        )
        .await;
    assert_eq!(
        (r["uid"].as_str(), r["allowed"].as_bool(), status(&r).0),
        (Some("cred"), Some(false), 401),
        "{r}"
    );
    let unknown = path.replace(&cluster_id, "c00000000000000000000000000000000");
    let r = hook
        .post_raw(
            &unknown,
            post(
                "who",
                KINDS[1],
                "prod",
                web.clone(),
                runs(&good_image),
                false,
            ),
        )
        .await;
    assert_eq!(
        (r["allowed"].as_bool(), status(&r).0),
        (Some(false), 401),
        "{r}"
    );

    // The decisions are metrics on the main listener.
    let metrics = c
        .get(b.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("berth_admission_decisions_total{verdict=\"block\",dry_run=\"false\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("berth_admission_decision_duration_seconds_count"),
        "{metrics}"
    );
}
