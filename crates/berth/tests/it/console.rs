//! The web console in a real browser: the real `berth` binary, an image pushed with skopeo
//! from an OCI layout built here (Alpine package database entries with advisories in the
//! vulndb fixtures, and a label carrying an XSS attempt), and `tests/clients/console_e2e.cjs`
//! driving Debian's headless Chromium with playwright-core: login, browsing, a scan started
//! from the page and its result appearing, an exception suppressing a finding, a policy
//! created, edited and deleted, an API token and a management API key created and revoked, a
//! webhook trigger refused, created and deleted, the clusters and workloads pages over an
//! inventory uploaded here, axe-core on every page, keyboard navigation, screenshots at 1280
//! and 390 pixels, and each page's weight.
//!
//! Needs the scanner (the default feature): the page starts a scan.
use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use berth_oci::Digest;
use serde_json::json;

use crate::common::{ADMIN_PASSWORD, Berth, free_addr, run_ok};

/// What the label tries: it must show as text and never run.
const XSS: &str = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">";

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

fn write_blob(layout: &Path, data: &[u8]) -> Digest {
    let d = Digest::sha256_of(data);
    let hex = d.to_string()["sha256:".len()..].to_string();
    std::fs::write(layout.join("blobs/sha256").join(hex), data).unwrap();
    d
}

/// An OCI layout with one image tagged `tag`: two layers, history, the XSS label. Returns the
/// manifest's digest.
fn layout(dir: &Path, tag: &str) -> Digest {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let (base, base_id) = tar_gz(&[(
        "etc/os-release",
        b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.9\nPRETTY_NAME=\"Alpine Linux v3.10\"\n",
    )]);
    let (apps, apps_id) = tar_gz(&[(
        "lib/apk/db/installed",
        b"P:ansible\nV:2.8.0-r0\nA:x86_64\no:ansible\n\nP:musl\nV:1.1.22-r3\nA:x86_64\no:musl\n\n",
    )]);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"], "Labels": {"org.opencontainers.image.title": XSS}},
        "rootfs": {"type": "layers", "diff_ids": [base_id.to_string(), apps_id.to_string()]},
        "history": [
            {"created_by": "ADD alpine-minirootfs.tar.gz /"},
            {"created_by": "LABEL title", "empty_layer": true},
            {"created_by": "RUN apk add ansible"},
        ],
    }))
    .unwrap();
    let layer = |d: &[u8]| {
        json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
               "digest": Digest::sha256_of(d).to_string(), "size": d.len()})
    };
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(&config).to_string(), "size": config.len()},
        "layers": [layer(&base), layer(&apps)],
    }))
    .unwrap();
    write_blob(dir, &base);
    write_blob(dir, &apps);
    write_blob(dir, &config);
    let md = write_blob(dir, &manifest);
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": md.to_string(), "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    md
}

fn node_modules() -> String {
    std::env::var("BERTH_TEST_NODE_MODULES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.deps/node/node_modules").to_string()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_in_a_real_browser() {
    let data = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let feeds = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vulndb/tests/fixtures/feeds"
    );
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["db", "import", "--db"])
            .arg(db.path())
            .arg(format!("{feeds}/alpine/v3.10-main.json"))
            .env("BERTH_LOG", "warn"),
    );
    let db_dir = db.path().display().to_string();
    let b = Berth::start_with_env(data.path(), &free_addr(), &[("BERTH_SCAN_DB_DIR", &db_dir)]);

    let oci = tempfile::tempdir().unwrap();
    let digest = layout(oci.path(), "3.10");
    let creds = format!("admin:{ADMIN_PASSWORD}");
    for tag in ["3.10", "latest"] {
        run_ok(Command::new("skopeo").args([
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{}:3.10", oci.path().display()),
            &format!("docker://{}/team/alpine:{tag}", b.addr),
        ]));
    }
    // A tag name cannot carry markup: skopeo will not send it, and the registry refuses it
    // before anything is stored.
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{}:3.10", oci.path().display()),
            &format!("docker://{}/team/alpine:<script>", b.addr),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a tag with markup is refused");
    let r = reqwest::Client::new()
        .put(b.url("/v2/team/alpine/manifests/%3Cscript%3Ealert(1)%3C%2Fscript%3E"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    // A cluster whose inventory runs the image, for the clusters and workloads pages.
    let cluster: serde_json::Value = serde_json::from_str(
        run_ok(
            Command::new(env!("CARGO_BIN_EXE_berth"))
                .args(["admin", "cluster", "create", "prod", "--json", "--data-dir"])
                .arg(data.path())
                .env("BERTH_LOG", "warn")
                .env_remove("BERTH_DATA_DIR"),
        )
        .lines()
        .last()
        .unwrap(),
    )
    .unwrap();
    let image = format!("{}/team/alpine@{digest}", b.addr);
    let inventory = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "uid-ns"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "shop", "uid": "uid-web"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {
             "containers": [{"name": "web", "image": image}]}}}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-rs",
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "uid-web", "controller": true}]},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {
             "containers": [{"name": "web", "image": image}]}}}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "web-1-a", "namespace": "shop", "uid": "uid-web-pod",
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "uid-web-rs", "controller": true}]},
         "spec": {"containers": [{"name": "web", "image": image}]},
         "status": {"phase": "Running", "containerStatuses": [{"name": "web", "image": image, "imageID": image,
             "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:05Z"}}}]}},
    ]});
    let r = reqwest::Client::new()
        .put(b.url(&format!(
            "/api/runtime/v1/clusters/{}/snapshot",
            cluster["ClusterId"].as_str().unwrap()
        )))
        .bearer_auth(cluster["Token"].as_str().unwrap())
        .body(inventory.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    println!("console screenshots: {}", shots.display());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/console_e2e.cjs");
    let out = run_ok(
        Command::new("node")
            .arg(script)
            .env("BERTH_URL", b.url(""))
            .env("BERTH_USER", "admin")
            .env("BERTH_PASSWORD", ADMIN_PASSWORD)
            .env("NODE_MODULES", node_modules())
            .env("SHOTS", &shots)
            .env("XSS", XSS),
    );
    println!("{out}");
    assert!(out.contains("console e2e: ok"), "{out}");
}
