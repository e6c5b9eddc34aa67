//! The runtime inventory and the image-risk surface end to end, with the real `berth` binary:
//!
//! 1. three Alpine-style images built here from real package databases (`lib/apk/db/installed`,
//!    Python `dist-info`s, the EICAR test file) are pushed over HTTP and scanned on push
//!    against a vulnerability database built from the vulndb fixtures (Alpine secdb v3.10 and
//!    the PyPA advisories) and three advisories written for this test with Critical, High and
//!    Medium ratings (`tests/fixtures/sas/osv`);
//! 2. a cluster is created with `berth admin cluster create`, and a kubectl-shaped snapshot
//!    (`tests/fixtures/sas/cluster.json`: two namespaces, a Deployment with its ReplicaSet and
//!    pods, a DaemonSet, a bare pod running a foreign nginx) is uploaded with its credential,
//!    after every refusal of the ingestion endpoint (401, 403, 400, 413) and watch events;
//! 3. `tests/clients/sas_sdks.py` calls ListImageRisk and DescribeClusterImageSecuritySummary
//!    through alibabacloud-sas20181203 (ACS3 and v2, endpoint with and without `http://`) and
//!    aliyun-python-sdk-core's CommonRequest, checking every figure against the findings the
//!    `berth scan` reports of the same images list, plus the signature and parameter refusals.
//!
//! Needs the scanner (the default feature `scanner`): images are scanned on push.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_oci::Digest;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) const ADMIN_PASSWORD: &str = "sas-test-password";
const FIXTURE: &str = include_str!("../fixtures/sas/cluster.json");

pub(crate) struct Berth {
    child: Child,
    pub(crate) addr: String,
}

impl Drop for Berth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Berth {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

pub(crate) fn start(data: &Path, env: &[(&str, &str)]) -> Berth {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(data)
        .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BERTH_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "berth did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Berth { child, addr }
}

pub(crate) fn python() -> String {
    std::env::var("BERTH_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.deps/venv/bin/python").to_string()
    })
}

pub(crate) fn script(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} (scripts/install-deps.sh installs the test clients): {e}")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn berth(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args)
        .env("BERTH_LOG", "warn")
        .env_remove("BERTH_DATA_DIR");
    c
}

pub(crate) fn json_line(out: &str) -> Value {
    serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {out}"))
}

// --- images ---------------------------------------------------------------------------------

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

pub(crate) struct Image {
    config: Vec<u8>,
    layers: Vec<Vec<u8>>,
    manifest: Vec<u8>,
}

impl Image {
    pub(crate) fn digest(&self) -> Digest {
        Digest::sha256_of(&self.manifest)
    }
}

pub(crate) fn image(files: &[(&str, &[u8])], user: Option<&str>) -> Image {
    let (layer, diff_id) = tar_gz(files);
    let mut config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [{"created_by": "ADD rootfs.tar /"}],
    });
    if let Some(u) = user {
        config["config"]["User"] = json!(u);
    }
    let config = serde_json::to_vec(&config).unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(&config).to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": Digest::sha256_of(&layer).to_string(), "size": layer.len()}],
    }))
    .unwrap();
    Image {
        config,
        layers: vec![layer],
        manifest,
    }
}

const OS_RELEASE: &[u8] =
    b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.9\nPRETTY_NAME=\"Alpine Linux v3.10\"\n";

fn eicar() -> Vec<u8> {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

/// team/alpine:3.10: apk packages with known advisories in the v3.10 secdb extract.
pub(crate) fn alpine() -> Image {
    image(
        &[
            ("etc/os-release", OS_RELEASE),
            (
                "lib/apk/db/installed",
                b"P:ansible\nV:2.8.0-r0\nA:x86_64\no:ansible\n\nP:musl\nV:1.1.22-r3\nA:x86_64\no:musl\n\n",
            ),
        ],
        Some("app"),
    )
}

/// team/pyapp:1.0: Python packages with advisories (rated and not), the EICAR file, no USER.
pub(crate) fn pyapp() -> Image {
    let eicar = eicar();
    image(
        &[
            ("etc/os-release", OS_RELEASE),
            (
                "lib/apk/db/installed",
                b"P:musl\nV:1.1.22-r3\nA:x86_64\no:musl\n\n",
            ),
            (
                "usr/lib/python3.7/site-packages/parso-0.4.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: parso\nVersion: 0.4.0\n",
            ),
            (
                "usr/lib/python3.7/site-packages/berthdemo-1.0.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: berthdemo\nVersion: 1.0.0\n",
            ),
            ("tmp/eicar.com", &eicar),
        ],
        None,
    )
}

/// ops/clean:1: a package no advisory names.
pub(crate) fn clean() -> Image {
    image(
        &[
            ("etc/os-release", OS_RELEASE),
            (
                "lib/apk/db/installed",
                b"P:berth-test-tool\nV:1.0.0-r0\nA:x86_64\no:berth-test-tool\n\n",
            ),
        ],
        Some("app"),
    )
}

pub(crate) async fn push(c: &reqwest::Client, b: &Berth, repo: &str, tag: &str, img: &Image) {
    for blob in std::iter::once(&img.config).chain(&img.layers) {
        let r = c
            .post(b.url(&format!(
                "/v2/{repo}/blobs/uploads/?digest={}",
                Digest::sha256_of(blob)
            )))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("content-type", "application/octet-stream")
            .body(blob.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{repo}");
    }
    let r = c
        .put(b.url(&format!("/v2/{repo}/manifests/{tag}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(img.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{repo}");
}

/// What a `berth scan` report found, folded as the test client expects: `os` (deb, apk, rpm
/// packages) and `lang` vulnerabilities, `malware`, `baseline`, each by lower-case severity.
fn findings(report: &Value) -> Value {
    let mut out = json!({"os": {}, "lang": {}, "malware": {}, "baseline": {}});
    let mut add = |kind: &str, severity: &Value| {
        let s = severity.as_str().unwrap_or("Unknown").to_ascii_lowercase();
        let n = out[kind][&s].as_u64().unwrap_or(0);
        out[kind][&s] = json!(n + 1);
    };
    for v in report["vulnerabilities"].as_array().unwrap() {
        let kind = if ["deb", "apk", "rpm"].contains(&v["type"].as_str().unwrap_or("")) {
            "os"
        } else {
            "lang"
        };
        add(kind, &v["severity"]);
    }
    for m in report["malware"].as_array().unwrap() {
        add("malware", &m["severity"]);
    }
    for f in report["baseline"].as_array().unwrap() {
        add("baseline", &f["severity"]);
    }
    out
}

pub(crate) fn kcr(
    b: &Berth,
    key: &(String, String),
    action: &str,
    params: &[(&str, &str)],
) -> Value {
    json_line(&run_ok(
        Command::new(python())
            .arg(script("kcr_call.py"))
            .args([&b.url(""), &key.0, &key.1, action])
            .args(params.iter().map(|(k, v)| format!("{k}={v}"))),
    ))
}

pub(crate) fn access_key(data: &Path, read_only: bool) -> (String, String) {
    let mut c = berth(&["admin", "access-key", "create", "--json", "--data-dir"]);
    c.arg(data);
    if read_only {
        c.arg("--read-only");
    }
    let v = json_line(&run_ok(&mut c));
    (
        v["AccessKeyId"].as_str().unwrap().to_string(),
        v["SecretAccessKey"].as_str().unwrap().to_string(),
    )
}

// --- ingestion ------------------------------------------------------------------------------

async fn put_snapshot(
    c: &reqwest::Client,
    b: &Berth,
    cluster: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
    query: &str,
) -> (StatusCode, Value) {
    let mut req = c
        .put(b.url(&format!(
            "/api/runtime/v1/clusters/{cluster}/snapshot{query}"
        )))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, v)
}

async fn post_event(
    c: &reqwest::Client,
    b: &Berth,
    cluster: &str,
    token: &str,
    event: &Value,
) -> (StatusCode, Value) {
    let r = c
        .post(b.url(&format!("/api/runtime/v1/clusters/{cluster}/events")))
        .bearer_auth(token)
        .json(event)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// A raw request whose head declares a body it never sends: the answer must come unread.
fn raw_exchange(addr: &str, head: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn image_risk_through_the_vendor_sdks() {
    let data = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let feeds = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vulndb/tests/fixtures/feeds"
    );
    run_ok(
        berth(&["db", "import", "--db"])
            .arg(db.path())
            .arg(format!("{feeds}/alpine/v3.10-main.json"))
            .arg(format!("{feeds}/osv/PyPI-all.zip"))
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/sas/osv"
            )),
    );
    let key = access_key(data.path(), false);
    let read_only = access_key(data.path(), true);
    let db_dir = db.path().display().to_string();
    let b = start(
        data.path(),
        &[
            ("BERTH_SCAN_DB_DIR", &db_dir),
            ("BERTH_SCAN_ON_PUSH", "true"),
        ],
    );
    let c = reqwest::Client::new();

    // Images in, scanned on push.
    let images = [
        ("alpine", "team/alpine", "3.10", alpine()),
        ("pyapp", "team/pyapp", "1.0", pyapp()),
        ("clean", "ops/clean", "1", clean()),
    ];
    for (_, repo, tag, img) in &images {
        push(&c, &b, repo, tag, img).await;
    }
    // The management API still answers at `/` beside the image-risk surface.
    let instance = kcr(&b, &key, "DescribeInstance", &[])["InstanceSet"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    kcr(
        &b,
        &key,
        "ModifyNamespaceType",
        &[
            ("InstanceId", &instance),
            ("Namespace", "ops"),
            ("Public", "True"),
        ],
    );
    // One repository's tags are immutable (a berth extension action), which ListImageRisk
    // reports as `TagImmutable: 1`.
    kcr(
        &b,
        &key,
        "ModifyRepoTagImmutability",
        &[
            ("InstanceId", &instance),
            ("Namespace", "ops"),
            ("RepoName", "clean"),
            ("TagImmutable", "true"),
        ],
    );
    for (_, repo, _, img) in &images {
        let (ns, name) = repo.split_once('/').unwrap();
        let digest = img.digest().to_string();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = kcr(
                &b,
                &key,
                "DescribeImageScan",
                &[
                    ("InstanceId", &instance),
                    ("Namespace", ns),
                    ("RepoName", name),
                    ("ImageId", &digest),
                ],
            );
            if r["Status"] == "Success" {
                break;
            }
            assert_ne!(r["Status"], "Failed", "{repo}: {r}");
            assert!(Instant::now() < deadline, "{repo} not scanned: {r}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    // What the scans found, read from `berth scan` of the same images in the data directory.
    let data_dir = data.path().display().to_string();
    let mut expected = serde_json::Map::new();
    for (name, repo, tag, img) in &images {
        let report: Value = serde_json::from_str(&run_ok(&mut berth(&[
            "scan",
            &format!("berth:{repo}:{tag}"),
            "--data-dir",
            &data_dir,
            "--db",
            &db_dir,
            "-f",
            "json",
            "-q",
        ])))
        .unwrap();
        let (ns, repo_name) = repo.split_once('/').unwrap();
        expected.insert(
            name.to_string(),
            json!({
                "digest": img.digest().hex(),
                "config_digest": Digest::sha256_of(&img.config).hex(),
                "reference": format!("registry.berth.test/{repo}:{tag}"),
                "repo_namespace": ns,
                "repo_name": repo_name,
                "tag": tag,
                "public": ns == "ops",
                "tag_immutable": *repo == "ops/clean",
                "stored": true,
                "risk": findings(&report),
            }),
        );
    }
    // Facts the fixtures pin, whatever else the scanner finds.
    let alpine_risk = &expected["alpine"]["risk"];
    assert!(
        alpine_risk["os"].as_object().unwrap().values().count() > 0,
        "{alpine_risk}"
    );
    let pyapp_risk = &expected["pyapp"]["risk"];
    // tests/fixtures/sas/osv: berthdemo 1.0.0 has a Critical, a High and a Medium (CVSS 4.6)
    // advisory; parso 0.4.0 one without a rating (PyPA's).
    assert_eq!(
        (
            &pyapp_risk["lang"]["critical"],
            &pyapp_risk["lang"]["high"],
            &pyapp_risk["lang"]["medium"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{pyapp_risk}"
    );
    assert!(
        !pyapp_risk["malware"].as_object().unwrap().is_empty(),
        "{pyapp_risk}"
    );
    let clean_risk = &expected["clean"]["risk"];
    assert!(
        clean_risk["os"].as_object().unwrap().is_empty(),
        "{clean_risk}"
    );
    assert!(
        clean_risk["lang"].as_object().unwrap().is_empty(),
        "{clean_risk}"
    );
    expected.insert(
        "nginx".into(),
        json!({
            "digest": "6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d",
            "reference": "nginx:1.27",
            "repo_namespace": "library",
            "repo_name": "nginx",
            "tag": "1.27",
            "stored": false,
            "risk": null,
        }),
    );

    // Clusters and their credentials.
    let prod = json_line(&run_ok(
        berth(&[
            "admin",
            "cluster",
            "create",
            "prod",
            "--type",
            "ManagedKubernetes",
            "--region",
            "eu-west-1",
            "--kubernetes-version",
            "v1.31.2",
            "--json",
            "--data-dir",
        ])
        .arg(data.path()),
    ));
    let stage = json_line(&run_ok(
        berth(&[
            "admin",
            "cluster",
            "create",
            "stage",
            "--json",
            "--data-dir",
        ])
        .arg(data.path()),
    ));
    let (prod_id, prod_token) = (
        prod["ClusterId"].as_str().unwrap().to_string(),
        prod["Token"].as_str().unwrap().to_string(),
    );
    let (stage_id, stage_token) = (
        stage["ClusterId"].as_str().unwrap().to_string(),
        stage["Token"].as_str().unwrap().to_string(),
    );
    assert!(prod_id.starts_with('c') && prod_id.len() == 33, "{prod_id}");
    assert!(prod_token.starts_with("bcc_"), "{prod_token}");
    let listed = run_ok(berth(&["admin", "cluster", "list", "--data-dir"]).arg(data.path()));
    assert!(
        listed.contains(&prod_id) && listed.contains("ManagedKubernetes"),
        "{listed}"
    );
    let dup = berth(&["admin", "cluster", "create", "prod", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!dup.status.success(), "a second cluster named prod");

    // The snapshot: digests of the pushed images in the kubectl output.
    let mut snapshot = FIXTURE.to_string();
    for (name, _, _, img) in &images {
        snapshot = snapshot.replace(
            &format!("@DIGEST_{}@", name.to_ascii_uppercase()),
            &img.digest().to_string(),
        );
    }
    let (s, v) = put_snapshot(&c, &b, &prod_id, Some(&prod_token), snapshot.clone(), "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            &v["version"],
            &v["namespaces"],
            &v["workloads"],
            &v["pods"],
            &v["containers"]
        ),
        (&json!(1), &json!(2), &json!(3), &json!(5), &json!(8)),
        "{v}"
    );

    // Refusals, none of which changes the stored inventory.
    let (s, v) = put_snapshot(&c, &b, &prod_id, None, snapshot.clone(), "").await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (s, v) = put_snapshot(&c, &b, &prod_id, Some("bcc_not-a-token"), "{}", "").await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (s, v) = put_snapshot(&c, &b, &prod_id, Some(&stage_token), snapshot.clone(), "").await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
    let (s, v) = put_snapshot(&c, &b, &prod_id, Some(&prod_token), "{\"items\": [", "").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_document"),
        "{v}"
    );
    // A list whose last item is bad fails whole: had its first item (only the debug pod) been
    // stored, the SDK checks below would see one cluster running two images, not four; and
    // the next write is version 2, so none of these refusals wrote anything.
    let mut doc: Value = serde_json::from_str(&snapshot).unwrap();
    let service = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}});
    let debug_only: Vec<Value> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["metadata"]["name"] == "debug")
        .cloned()
        .chain([service.clone()])
        .collect();
    let partial = json!({"apiVersion": "v1", "kind": "List", "items": debug_only});
    let (s, v) = put_snapshot(&c, &b, &prod_id, Some(&prod_token), partial.to_string(), "").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_document"),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"Service\""),
        "{v}"
    );
    doc["items"].as_array_mut().unwrap().push(service);
    let (s, v) = put_snapshot(
        &c,
        &b,
        &stage_id,
        Some(&stage_token),
        doc.to_string(),
        "?unknownKinds=skip",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["skipped"][0]["kind"], "Service", "{v}");
    // The stage cluster runs nothing in the end: an empty list replaces what it had.
    let empty = json!({"apiVersion": "v1", "kind": "List", "items": []}).to_string();
    let (s, v) = put_snapshot(&c, &b, &stage_id, Some(&stage_token), empty, "").await;
    assert_eq!(
        (s, &v["pods"], &v["version"]),
        (StatusCode::OK, &json!(0), &json!(2))
    );
    // Oversized: refused from the declared length, the body never read.
    let answer = raw_exchange(
        &b.addr,
        &format!(
            "PUT /api/runtime/v1/clusters/{prod_id}/snapshot HTTP/1.1\r\nHost: {}\r\n\
             Authorization: Bearer {prod_token}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            b.addr,
            (64 << 20) + 1
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"too_large\""), "{answer}");

    // Watch events: one pod added, then deleted; a bookmark; an expired watch.
    let extra = json!({"type": "ADDED", "object": {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "extra", "namespace": "shop", "uid": "9e8d7c6b-0000-4000-8000-000000000001"},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "c", "image": "busybox:1.36"}]},
        "status": {"phase": "Pending"}}});
    let (s, v) = post_event(&c, &b, &prod_id, &prod_token, &extra).await;
    assert_eq!(
        (s, &v["change"], &v["version"]),
        (StatusCode::OK, &json!("inserted"), &json!(2)),
        "{v}"
    );
    let (s, v) = post_event(&c, &b, &prod_id, &stage_token, &extra).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let mut deleted = extra.clone();
    deleted["type"] = json!("DELETED");
    let (s, v) = post_event(&c, &b, &prod_id, &prod_token, &deleted).await;
    assert_eq!(
        (s, &v["change"], &v["version"]),
        (StatusCode::OK, &json!("removed"), &json!(3)),
        "{v}"
    );
    let (s, v) = post_event(&c, &b, &prod_id, &prod_token, &deleted).await;
    assert_eq!(
        (s, &v["change"], &v["version"]),
        (StatusCode::OK, &json!("unchanged"), &json!(3)),
        "{v}"
    );
    let bookmark = json!({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
        "metadata": {"resourceVersion": "90000"}}});
    let (s, v) = post_event(&c, &b, &prod_id, &prod_token, &bookmark).await;
    assert_eq!(
        (s, &v["change"]),
        (StatusCode::OK, &json!("ignored")),
        "{v}"
    );
    let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
        "status": "Failure", "message": "too old resource version: 1 (90000)", "reason": "Expired", "code": 410}});
    let (s, v) = post_event(&c, &b, &prod_id, &prod_token, &gone).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "watch_error"),
        "{v}"
    );
    let mut weird = extra.clone();
    weird["type"] = json!("RENAMED");
    let (s, v) = post_event(&c, &b, &prod_id, &prod_token, &weird).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_document"),
        "{v}"
    );

    // A revoked credential stops working at once.
    let second = json_line(&run_ok(
        berth(&[
            "admin",
            "cluster",
            "credential",
            "create",
            &prod_id,
            "--json",
            "--data-dir",
        ])
        .arg(data.path()),
    ));
    let second_token = second["Token"].as_str().unwrap();
    let (s, _) = post_event(&c, &b, &prod_id, second_token, &bookmark).await;
    assert_eq!(s, StatusCode::OK);
    run_ok(
        berth(&[
            "admin",
            "cluster",
            "credential",
            "revoke",
            &prod_id,
            second["CredentialId"].as_str().unwrap(),
            "--data-dir",
        ])
        .arg(data.path()),
    );
    let (s, v) = post_event(&c, &b, &prod_id, second_token, &bookmark).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    // The image-risk surface answers in the vendor's format even unsigned, and a Host with a
    // scheme in it (as tea-openapi sends it) goes through the whole stack.
    let r = c
        .get(b.url("/?Action=ListImageRisk&Version=2018-12-03"))
        .header("host", format!("http://{}", b.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["Code"], "MissingParameter", "{v}");
    assert_eq!(v["HostId"], b.addr.as_str(), "{v}");
    assert_eq!(v["RequestId"].as_str().unwrap().len(), 36, "{v}");

    // The SDKs.
    let config = json!({
        "base": b.url(""),
        "key": [key.0, key.1],
        "read_only_key": [read_only.0, read_only.1],
        "cluster": prod_id,
        "other_cluster": stage_id,
        "images": expected,
    });
    let config_file = data.path().join("sas-config.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let seen = json_line(&run_ok(
        Command::new(python())
            .arg(script("sas_sdks.py"))
            .arg(&config_file),
    ));
    eprintln!("findings per image: {}\nchecked: {seen}", config["images"]);
    assert_eq!(seen["clients"].as_array().unwrap().len(), 7, "{seen}");
    assert!(seen["summary_cases"].as_u64().unwrap() >= 5 * 37, "{seen}");
    assert!(seen["list_cases"].as_u64().unwrap() >= 5 * 17, "{seen}");
    for code in [
        "InvalidParameter",
        "MissingParameter",
        "InvalidAction.NotFound",
        "SignatureDoesNotMatch",
        "SignatureDoesNotMatch (string to sign quoted as the SDK's)",
        "InvalidAccessKeyId.NotFound",
        "SignatureNonceUsed",
        "InvalidTimeStamp.Expired",
    ] {
        assert!(
            seen["errors"].as_array().unwrap().iter().any(|e| e == code),
            "{code}: {seen}"
        );
    }
    // Deleting a cluster takes its inventory along.
    run_ok(berth(&["admin", "cluster", "delete", &stage_id, "--data-dir"]).arg(data.path()));
    let (s, v) = put_snapshot(&c, &b, &stage_id, Some(&stage_token), "{}", "").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "unauthenticated"),
        "{v}"
    );
}
