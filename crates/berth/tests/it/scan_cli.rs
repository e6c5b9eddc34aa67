//! `berth scan` end to end with the real binary: an image pushed over HTTP to a real `berth
//! serve`, scanned over the registry API while the server runs, then straight from the data
//! directory (`berth:`) after it stopped; and the same image as an OCI layout (`oci-dir:`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use berth_oci::Digest;
use common::{ADMIN_PASSWORD, Berth};
use reqwest::{Client, StatusCode};

const OS_RELEASE: &[u8] = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";
const STATUS: &[u8] = b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\n";

fn eicar() -> Vec<u8> {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

fn tar_layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A two-layer Debian-like image: (config, layers, manifest).
struct TestImage {
    config: Vec<u8>,
    layers: Vec<Vec<u8>>,
    manifest: Vec<u8>,
}

fn image() -> TestImage {
    let tars = [
        tar_layer(&[
            ("etc/os-release", OS_RELEASE),
            ("var/lib/dpkg/status", STATUS),
            ("var/lib/dpkg/info/bash.list", b"/bin/bash\n"),
        ]),
        tar_layer(&[("tmp/eicar.com", &eicar())]),
    ];
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": "app"},
        "rootfs": {"type": "layers", "diff_ids": tars.iter().map(|t| Digest::sha256_of(t).to_string()).collect::<Vec<_>>()},
        "history": [{"created_by": "ADD rootfs.tar /"}, {"created_by": "COPY eicar.com /tmp/"}],
    }))
    .unwrap();
    let layers: Vec<Vec<u8>> = tars.iter().map(|t| gzip(t)).collect();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::sha256_of(&config).to_string(), "size": config.len()},
        "layers": layers.iter().map(|l| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": Digest::sha256_of(l).to_string(), "size": l.len()})).collect::<Vec<_>>(),
    }))
    .unwrap();
    TestImage {
        config,
        layers,
        manifest,
    }
}

async fn push_blob(c: &Client, b: &Berth, repo: &str, data: &[u8]) {
    let loc = b.start_upload(c, repo).await;
    let sep = if loc.contains('?') { '&' } else { '?' };
    let url = if loc.starts_with("http") {
        format!("{loc}{sep}digest={}", Digest::sha256_of(data))
    } else {
        b.url(&format!("{loc}{sep}digest={}", Digest::sha256_of(data)))
    };
    let r = c
        .put(url)
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/octet-stream")
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn push_image(b: &Berth, repo: &str, tag: &str, img: &TestImage) {
    let c = Client::new();
    push_blob(&c, b, repo, &img.config).await;
    for l in &img.layers {
        push_blob(&c, b, repo, l).await;
    }
    let r = c
        .put(b.url(&format!("/v2/{repo}/manifests/{tag}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(img.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

fn berth_scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("scan")
        .args(args)
        .env_remove("BERTH_DATA_DIR")
        .env("BERTH_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .expect("berth scan runs")
}

/// Runs `berth scan ... --format json --skip-db -q` and parses the report.
fn scan_json(source: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![source, "--format", "json", "--skip-db", "-q"];
    args.extend_from_slice(extra);
    let out = berth_scan(&args);
    assert!(
        out.status.success(),
        "berth scan {source} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "berth scan {source}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// What every scan of the test image must report.
fn check_report(r: &serde_json::Value, kind: &str, manifest_digest: &str) {
    assert_eq!(r["source"]["kind"], kind, "{r:#}");
    assert_eq!(r["source"]["manifestDigest"], manifest_digest);
    assert_eq!(r["distro"]["id"], "debian");
    let mut debs: Vec<String> = r["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "deb")
        .map(|p| {
            format!(
                "{}@{}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    debs.sort();
    assert_eq!(debs, ["bash@5.2.15-2+b2", "libc6@2.36-9+deb12u4"]);
    let bash = r["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bash")
        .unwrap();
    assert!(
        bash["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:deb/debian/bash@5.2.15-2%2Bb2")
    );
    let eicar = r["malware"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["rule"] == "yara:berth.EICAR_Test_File")
        .unwrap_or_else(|| panic!("no EICAR finding: {:#}", r["malware"]));
    assert_eq!(eicar["path"], "/tmp/eicar.com");
    assert_eq!(eicar["layer"]["index"], 1);
    assert_eq!(eicar["layer"]["createdBy"], "COPY eicar.com /tmp/");
}

fn write_oci_layout(dir: &Path, img: &TestImage) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for b in [&img.config, &img.manifest].into_iter().chain(&img.layers) {
        std::fs::write(blobs.join(Digest::sha256_of(b).hex()), b).unwrap();
    }
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": Digest::sha256_of(&img.manifest).to_string(), "size": img.manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_registry_then_berth_data_dir_then_oci_dir() {
    let data = tempfile::tempdir().unwrap();
    let img = image();
    let digest = Digest::sha256_of(&img.manifest).to_string();
    let server = Berth::start(data.path());
    push_image(&server, "team/app", "v1", &img).await;

    // registry: over the OCI distribution API (plain HTTP on loopback), Basic auth.
    let reference = format!("registry:{}/team/app:v1", server.addr);
    let r = tokio::task::spawn_blocking(move || {
        scan_json(
            &reference,
            &["--username", "admin", "--password", ADMIN_PASSWORD],
        )
    })
    .await
    .unwrap();
    check_report(&r, "registry", &digest);
    server.kill();

    // berth: straight from the stores, by tag and by digest.
    let dir = data.path().to_str().unwrap().to_string();
    for source in [
        "berth:team/app:v1".to_string(),
        format!("berth:team/app@{digest}"),
    ] {
        let r = scan_json(&source, &["--data-dir", &dir]);
        check_report(&r, "berth", &digest);
        assert_eq!(r["source"]["name"], format!("berth:team/app@{digest}"));
    }
    // BERTH_DATA_DIR works as for `berth serve`.
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["scan", "berth:team/app:v1", "-f", "json", "--skip-db", "-q"])
        .env("BERTH_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Clear errors for what is not there.
    for (source, extra, want) in [
        (
            "berth:team/nope:v1",
            vec!["--data-dir", dir.as_str()],
            "no repository \"team/nope\"",
        ),
        (
            "berth:team/app:v2",
            vec!["--data-dir", dir.as_str()],
            "has no tag \"v2\"",
        ),
        (
            "berth:team/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            vec!["--data-dir", dir.as_str()],
            "is not in repository team/app",
        ),
        (
            "berth:team/app:v1",
            vec!["--data-dir", "/nonexistent/berth"],
            "no berth data directory",
        ),
    ] {
        let mut args = vec![source, "--skip-db", "-q"];
        args.extend(extra);
        let out = berth_scan(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{source} succeeded");
        assert!(stderr.contains(want), "{source}: {stderr}");
    }

    // oci-dir: the same image as an OCI layout.
    let layout = tempfile::tempdir().unwrap();
    write_oci_layout(layout.path(), &img);
    let src = format!("oci-dir:{}", layout.path().display());
    let r = scan_json(&src, &[]);
    check_report(&r, "oci-dir", &digest);
    let src = format!("oci-dir:{}:v1", layout.path().display());
    let r = scan_json(&src, &[]);
    check_report(&r, "oci-dir", &digest);
}

/// `dir:` reads lockfiles and leaves development-only dependencies out unless `--include-dev`.
#[test]
fn dir_scan_include_dev_flag() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("package-lock.json"),
        br#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/ms":{"version":"2.1.3"},"node_modules/jest":{"version":"29.7.0","dev":true}}}"#,
    )
    .unwrap();
    let src = format!("dir:{}", dir.path().display());
    let names = |r: &serde_json::Value| -> Vec<String> {
        r["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = scan_json(&src, &["--no-malware", "--no-baseline"]);
    assert_eq!(names(&r), ["ms"]);
    assert_eq!(r["packages"][0]["evidence"], "declared");
    let r = scan_json(&src, &["--no-malware", "--no-baseline", "--include-dev"]);
    assert_eq!(names(&r), ["jest", "ms"]);
    assert_eq!(r["packages"][0]["dev"], true);
}

/// The vulnerability database's malware hash feed joins the scan's blocklist.
#[test]
fn malware_hash_feed_from_the_database() {
    use sha2::Digest as _;
    let dir = tempfile::tempdir().unwrap();
    let payload = b"berth malware feed test payload\n";
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("dropper.bin"), payload).unwrap();
    let feed = dir.path().join("malware.txt");
    std::fs::write(
        &feed,
        format!(
            "# berth-malware-sha256 v1\n{} test dropper\n",
            sha2::Sha256::digest(payload)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let db = dir.path().join("db");
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["db", "import", "--db"])
        .arg(&db)
        .arg(&feed)
        .env("BERTH_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = berth_scan(&[
        &format!("dir:{}", root.display()),
        "--format",
        "json",
        "-q",
        "--no-baseline",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["malware"][0]["path"], "/dropper.bin",
        "{:#}",
        r["malware"]
    );
    assert_eq!(r["malware"][0]["rule"], "sha256-blocklist");
    assert_eq!(r["malware"][0]["description"], "test dropper");
}
