//! The real binary on a real, small filesystem: pushes until the disk is full, then space comes
//! back, and every push acknowledged from then on is stored, readable by another process and
//! still there after a restart.
//!
//! Mounts a tmpfs, so it needs that privilege (CI runs as root); `BERTH_SKIP_PRIVILEGED_TESTS=1`
//! skips it elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_oci::Digest;
use common::{ADMIN_PASSWORD, Berth, free_addr, run_ok};
use reqwest::{Client, StatusCode};
use std::path::Path;
use std::process::Command;

struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs(dir));
        }
        assert!(
            std::env::var_os("BERTH_SKIP_PRIVILEGED_TESTS").is_some(),
            "cannot mount a tmpfs: run as root, or set BERTH_SKIP_PRIVILEGED_TESTS=1"
        );
        None
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

async fn push_blob(c: &Client, b: &Berth, data: &[u8]) -> StatusCode {
    let digest = Digest::sha256_of(data);
    c.post(b.url(&format!("/v2/full/app/blobs/uploads/?digest={digest}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/octet-stream")
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

/// A manifest tagged `tag` over the given config; distinct per tag through an annotation.
async fn push_manifest(c: &Client, b: &Berth, config: &[u8], tag: &str) -> StatusCode {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(config).to_string(), "size": config.len()},
        "layers": [],
        "annotations": {"tag": tag, "padding": "x".repeat(2000)},
    });
    c.put(b.url(&format!("/v2/full/app/manifests/{tag}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

async fn tag_status(c: &Client, b: &Berth, tag: &str) -> StatusCode {
    c.get(b.url(&format!("/v2/full/app/manifests/{tag}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn pushes_acknowledged_after_a_full_disk_are_kept() {
    let Some(fs) = Tmpfs::mount("12m") else {
        return;
    };
    let data = fs.path().join("data");
    let addr = free_addr();
    let berth = Berth::start_on(&data, &addr);
    let c = Client::new();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    assert_eq!(push_blob(&c, &berth, config).await, StatusCode::CREATED);

    // Leave 2 MiB of ballast to free later, then push blobs until the disk is full: the blob
    // files fill it, and the metadata writes of the last pushes fail inside SQLite.
    let ballast = fs.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; 2 << 20]).unwrap();
    let mut refused = None;
    for i in 0..5000u32 {
        let mut blob = vec![0u8; 200_000];
        blob[..4].copy_from_slice(&i.to_le_bytes());
        let status = push_blob(&c, &berth, &blob).await;
        if !status.is_success() {
            refused = Some(status);
            break;
        }
    }
    // A clear answer, not a generic failure.
    assert_eq!(refused, Some(StatusCode::INSUFFICIENT_STORAGE));
    // Fill what is left, then push manifests until the database itself runs out of room. SQLite
    // may still commit a few into space its WAL already holds: each such 201 must be kept like
    // any other, and the first refusal must be the same clear 507.
    fill_up(&fs.path().join("filler"));
    let mut acknowledged_while_full = Vec::new();
    let mut metadata_refused = None;
    for i in 0..5000u32 {
        let tag = format!("full-{i}");
        let status = push_manifest(&c, &berth, config, &tag).await;
        if status == StatusCode::CREATED {
            acknowledged_while_full.push(tag);
        } else {
            metadata_refused = Some((status, tag));
            break;
        }
    }
    let (status, refused_tag) = metadata_refused.expect("the database never ran out of room");
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(
        tag_status(&c, &berth, &refused_tag).await,
        StatusCode::NOT_FOUND
    );
    for tag in &acknowledged_while_full {
        assert_eq!(tag_status(&c, &berth, tag).await, StatusCode::OK, "{tag}");
    }
    std::fs::remove_file(fs.path().join("filler")).unwrap();

    // Space comes back: every acknowledged push from now on must be kept.
    std::fs::remove_file(&ballast).unwrap();
    let tags: Vec<String> = (0..10).map(|i| format!("after-{i}")).collect();
    for tag in &tags {
        assert_eq!(
            push_manifest(&c, &berth, config, tag).await,
            StatusCode::CREATED
        );
        assert_eq!(tag_status(&c, &berth, tag).await, StatusCode::OK, "{tag}");
    }
    // Another process can read them and write to the database meanwhile.
    let out = run_ok(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["gc", "--data-dir"])
            .arg(&data)
            .env("BERTH_LOG", "warn"),
    );
    assert!(out.contains("blobs_deleted"), "{out}");

    // And a restart finds them all.
    berth.kill();
    let berth = Berth::start_on(&data, &addr);
    let c = Client::new();
    for tag in tags.iter().chain(&acknowledged_while_full) {
        assert_eq!(tag_status(&c, &berth, tag).await, StatusCode::OK, "{tag}");
    }
}

/// Writes zeros to `path` until the file system refuses.
fn fill_up(path: &std::path::Path) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 << 10];
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    // Whatever is left is smaller than a chunk: take it byte by byte.
    while matches!(f.write(&[0u8]), Ok(1)) {}
    let _ = f.sync_all();
}
