//! Real clients against the real binary: skopeo, podman and oras-py (installed by
//! scripts/install-deps.sh). A missing client fails the test: CI installs them all.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_oci::Digest;
use common::{ADMIN_PASSWORD, Berth, run_ok};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Command;

pub(crate) fn put_blob(dir: &Path, bytes: &[u8]) -> Value {
    let d = Digest::sha256_of(bytes);
    let path = dir.join("blobs/sha256").join(d.hex());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    json!({"digest": d.to_string(), "size": bytes.len()})
}

/// A gzipped tar layer holding `files`; returns (blob, diff_id).
fn layer(files: &[(&str, &[u8])]) -> (Vec<u8>, Digest) {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, path, *data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let diff_id = Digest::sha256_of(&raw);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// Writes one image manifest for `arch` with `n` layers into the layout; returns its descriptor.
pub(crate) fn image(dir: &Path, arch: &str, n: usize) -> Value {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..n {
        let content = format!("layer {i} for {arch}\n").repeat(1000 + i);
        let (blob, diff_id) = layer(&[(&format!("data/{arch}-{i}.txt"), content.as_bytes())]);
        let mut d = put_blob(dir, &blob);
        d["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+gzip");
        layers.push(d);
        diff_ids.push(diff_id.to_string());
    }
    let config = json!({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": (0..n).map(|i| json!({"created_by": format!("layer {i}")})).collect::<Vec<_>>(),
    })
    .to_string();
    let mut c = put_blob(dir, config.as_bytes());
    c["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": c,
        "layers": layers,
    })
    .to_string();
    let mut m = put_blob(dir, manifest.as_bytes());
    m["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
    m["platform"] = json!({"architecture": arch, "os": "linux"});
    m
}

pub(crate) fn write_index(dir: &Path, entry: Value, tag: &str) {
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut entry = entry;
    entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// The digest the layout's index.json names for `tag`.
pub(crate) fn layout_digest(dir: &Path, tag: &str) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"))["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn creds() -> String {
    format!("admin:{ADMIN_PASSWORD}")
}

#[test]
fn skopeo_copies_a_multi_layer_image_and_back() {
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let src = work.path().join("src");
    let m = image(&src, "amd64", 3);
    write_index(&src, m.clone(), "v1");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds()])
            .arg(format!("oci:{}:v1", src.display()))
            .arg(format!("docker://{}/sk/app:v1", b.addr)),
    );
    let out = work.path().join("out");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false", "--src-creds", &creds()])
            .arg(format!("docker://{}/sk/app:v1", b.addr))
            .arg(format!("oci:{}:v1", out.display())),
    );
    assert_eq!(layout_digest(&out, "v1"), m["digest"].as_str().unwrap());
    let inspect = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--creds", &creds()])
            .arg(format!("docker://{}/sk/app:v1", b.addr)),
    );
    let v: Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v["Digest"], m["digest"]);
    assert_eq!(v["Layers"].as_array().unwrap().len(), 3);
}

#[test]
fn skopeo_copies_a_multi_arch_index_and_back() {
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let src = work.path().join("src");
    let amd = image(&src, "amd64", 2);
    let arm = image(&src, "arm64", 2);
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [amd, arm]}).to_string();
    let mut idx = put_blob(&src, index.as_bytes());
    idx["mediaType"] = json!("application/vnd.oci.image.index.v1+json");
    write_index(&src, idx.clone(), "multi");
    run_ok(
        Command::new("skopeo")
            .args([
                "copy",
                "--all",
                "--dest-tls-verify=false",
                "--dest-creds",
                &creds(),
            ])
            .arg(format!("oci:{}:multi", src.display()))
            .arg(format!("docker://{}/sk/multi:v1", b.addr)),
    );
    let out = work.path().join("out");
    run_ok(
        Command::new("skopeo")
            .args([
                "copy",
                "--all",
                "--src-tls-verify=false",
                "--src-creds",
                &creds(),
            ])
            .arg(format!("docker://{}/sk/multi:v1", b.addr))
            .arg(format!("oci:{}:multi", out.display())),
    );
    assert_eq!(
        layout_digest(&out, "multi"),
        idx["digest"].as_str().unwrap()
    );
    for m in [&amd, &arm] {
        let hex = m["digest"].as_str().unwrap().trim_start_matches("sha256:");
        assert!(
            out.join("blobs/sha256").join(hex).exists(),
            "{m} was not copied back"
        );
    }
}

#[test]
fn podman_pushes_and_pulls() {
    // podman names an image pulled from `oci:PATH` after PATH, which must then be lowercase.
    let work = tempfile::Builder::new()
        .prefix("berthpodman")
        .rand_bytes(0)
        .suffix(&format!("{}", std::process::id()))
        .tempdir()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let src = work.path().join("src");
    let m = image(&src, "amd64", 2);
    write_index(&src, m, "v1");
    let root = work.path().join("storage");
    let podman = || {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(root.join("root"))
            .arg("--runroot")
            .arg(root.join("run"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "none",
            ]);
        c
    };
    let reference = format!("{}/pod/app:v1", b.addr);
    run_ok(
        podman()
            .args(["pull", "-q"])
            .arg(format!("oci:{}:v1", src.display())),
    );
    let id = run_ok(podman().args(["images", "-q"]))
        .lines()
        .next()
        .unwrap()
        .to_string();
    run_ok(podman().args(["tag", &id, &reference]));
    run_ok(podman().args([
        "push",
        "--tls-verify=false",
        "--creds",
        &creds(),
        &reference,
    ]));
    run_ok(podman().args(["rmi", "-a", "-f"]));
    run_ok(podman().args([
        "pull",
        "--tls-verify=false",
        "--creds",
        &creds(),
        &reference,
    ]));
    let images = run_ok(podman().args(["images", "--format", "{{.Repository}}:{{.Tag}}"]));
    assert!(images.contains(&reference), "{images}");
}

#[test]
fn oras_pushes_an_artifact_with_a_referrer_and_pulls_it() {
    let python = std::env::var("BERTH_TEST_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.deps/venv/bin/python");
        venv.to_string()
    });
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let b = Berth::start(data.path());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/oras_roundtrip.py"
    );
    let out = run_ok(
        Command::new(&python)
            .arg(script)
            .args([&b.addr, "admin", ADMIN_PASSWORD])
            .arg(work.path()),
    );
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["pulled"], "the artifact payload\n");
    let referrers = v["referrers"]["manifests"].as_array().unwrap();
    assert_eq!(referrers.len(), 1, "{v}");
    assert_eq!(
        referrers[0]["artifactType"],
        "application/vnd.example.signature"
    );
}
