//! Layer reading: compression, whiteouts, limits, hostile and broken input, and the sources.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_scan::{Limits, NoProgress, PlatformSpec, ScanError, ScanOptions, Scanner};
use common::*;

fn pkg_layer() -> Layer {
    Layer::new("RUN pip install six")
        .file(
            "/usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA",
            b"Name: six\nVersion: 1.16.0\n",
        )
        .file(
            "/opt/app/node_modules/left-pad/package.json",
            br#"{"name":"left-pad","version":"1.3.0"}"#,
        )
}

#[test]
fn all_compressions_give_the_same_result() {
    for comp in [Comp::None, Comp::Gzip, Comp::Zstd] {
        let r = scan(&Image::new(vec![pkg_layer()], comp));
        assert_eq!(r.packages.len(), 2);
        assert_eq!(r.layers[0].entries, 2);
    }
}

#[test]
fn compression_is_sniffed_even_when_the_media_type_lies() {
    // Gzip bytes under the plain tar media type.
    let img = Image::new(vec![pkg_layer()], Comp::Gzip);
    let dir = tempfile::tempdir().unwrap();
    img.write_oci(dir.path());
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let md = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let mpath = dir.path().join("blobs/sha256").join(&md[7..]);
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    m["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
    let bytes = serde_json::to_vec(&m).unwrap();
    let nd = sha256(&bytes);
    std::fs::write(dir.path().join("blobs/sha256").join(&nd[7..]), &bytes).unwrap();
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": nd, "size": bytes.len()}]});
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&idx).unwrap(),
    )
    .unwrap();
    let src = berth_scan::source::OciDirSource::open(dir.path(), None).unwrap();
    let r = Scanner::new(options())
        .unwrap()
        .scan_image(&src, &PlatformSpec::default(), &NoProgress)
        .unwrap();
    assert_eq!(r.packages.len(), 2);
}

#[test]
fn whiteout_removes_a_package_and_opaque_dir_hides_lower_content() {
    let img = Image::new(
        vec![
            pkg_layer(),
            Layer::new("RUN pip uninstall six")
                .whiteout("/usr/lib/python3/site-packages/six-1.16.0.dist-info"),
            Layer::new("RUN rm -rf /opt/app && mkdir /opt/app")
                .opaque("/opt/app")
                .file("/opt/app/README", b"hi"),
        ],
        Comp::Gzip,
    );
    let r = scan(&img);
    assert!(r.packages.is_empty(), "{:?}", r.packages);
}

#[test]
fn a_file_replaced_in_a_later_layer_is_attributed_to_that_layer() {
    let img = Image::new(
        vec![
            pkg_layer(),
            Layer::new("RUN pip install -U six").file(
                "/usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA",
                b"Name: six\nVersion: 1.16.0\n",
            ),
        ],
        Comp::Gzip,
    );
    let r = scan(&img);
    let six = r.packages.iter().find(|p| p.name == "six").unwrap();
    let l = six.layer().unwrap();
    assert_eq!(l.index, 1);
    assert_eq!(l.created_by.as_deref(), Some("RUN pip install -U six"));
    assert_eq!(l.digest, r.layers[1].digest);
    assert_eq!(
        l.diff_id.as_deref(),
        Some(sha256(&img.layers[1].0).as_str())
    );
}

fn expect_layer_error(img: &Image, opts: ScanOptions, needle: &str) {
    let err = try_scan(img, opts).expect_err("scan should fail");
    let msg = err.to_string();
    assert!(matches!(err, ScanError::Layer { .. }), "{msg}");
    assert!(msg.contains("sha256:"), "error names the layer: {msg}");
    assert!(msg.contains(needle), "{msg}");
}

#[test]
fn decompression_bomb_is_stopped() {
    let big = vec![0u8; 8 << 20];
    let img = Image::new(vec![Layer::new("bomb").file("/zeros", &big)], Comp::Gzip);
    let opts = ScanOptions {
        limits: Limits {
            bomb_min_size: 1 << 20,
            max_ratio: 100,
            ..Limits::default()
        },
        ..options()
    };
    expect_layer_error(&img, opts, "decompression bomb");
    let opts = ScanOptions {
        limits: Limits {
            max_layer_size: 1 << 20,
            ..Limits::default()
        },
        ..options()
    };
    expect_layer_error(&img, opts, "decompressed size");
}

#[test]
fn file_count_and_path_limits() {
    let mut l = Layer::new("many");
    for i in 0..50 {
        l = l.file(&format!("/f{i}"), b"x");
    }
    let img = Image::new(vec![l], Comp::Gzip);
    let opts = ScanOptions {
        limits: Limits {
            max_files: 10,
            ..Limits::default()
        },
        ..options()
    };
    expect_layer_error(&img, opts, "file-count limit");
    let deep = format!("/{}", vec!["d"; 40].join("/"));
    let img = Image::new(vec![Layer::new("deep").file(&deep, b"x")], Comp::None);
    let opts = ScanOptions {
        limits: Limits {
            max_path_depth: 16,
            ..Limits::default()
        },
        ..options()
    };
    expect_layer_error(&img, opts, "nested 40 directories deep");
}

/// One raw tar entry (header and padded data), named and linked byte for byte: the tar crate's
/// builder refuses `..` and absolute names, which is what these tests need to write.
fn raw_entry(name: &str, kind: tar::EntryType, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(512 + data.len().div_ceil(512) * 512, 0);
    out
}

/// A raw tar of raw entries.
fn raw_entries(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn image_from_tars(tars: Vec<Vec<u8>>, comp: Comp) -> Image {
    let mut img = Image::new(vec![], comp);
    let diff_ids: Vec<String> = tars.iter().map(|t| sha256(t)).collect();
    img.config["rootfs"]["diff_ids"] = serde_json::json!(diff_ids);
    img.layers = tars.into_iter().map(|t| (t, "raw".to_string())).collect();
    img
}

/// One `../` entry, or a hard link to `..`, used to fail the whole scan with no findings. The
/// runtime extracts the rest of such a layer, so berth reads the rest, skips the entries that
/// lead out of the root and reports each as a finding of the layer; absolute names are read
/// relative to the root, as runtimes extract them.
#[test]
fn entries_leading_out_of_the_root_are_findings_and_the_rest_is_scanned() {
    use tar::EntryType::{Link, Regular};
    let hostile = raw_entries(&[
        raw_entry("../etc/shadow", Regular, "", b"root::19000:0:99999:7:::\n"),
        raw_entry("/etc/os-release", Regular, "", DEBIAN_OS_RELEASE),
        raw_entry(
            "usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA",
            Regular,
            "",
            b"Name: six\nVersion: 1.16.0\n",
        ),
        raw_entry("etc/shadow-copy", Link, "../../etc/shadow", b""),
        raw_entry("a/../../x", Regular, "", b"x"),
        // `..` that stays inside the root is resolved as runtimes do: /etc/hostname.
        raw_entry("var/../etc/hostname", Regular, "", b"box\n"),
        raw_entry("opt/app/../../usr/bin/tool", Regular, "", b"#!/bin/sh\n"),
    ]);
    let img = image_from_tars(vec![pkg_layer().tar(), hostile], Comp::Gzip);
    let r = try_scan(&img, options()).expect("the scan completes");
    assert_eq!(names(&r, "python"), ["six@1.16.0"]);
    assert_eq!(names(&r, "npm"), ["left-pad@1.3.0"]);
    assert_eq!(r.distro.as_ref().map(|d| d.id.as_str()), Some("debian"));
    let unsafe_findings: Vec<_> = r
        .baseline
        .iter()
        .filter(|b| b.id == "BERTH-FS-007")
        .collect();
    let paths: Vec<_> = unsafe_findings
        .iter()
        .map(|b| b.path.as_deref().unwrap())
        .collect();
    assert_eq!(paths, ["../etc/shadow", "a/../../x", "etc/shadow-copy"]);
    for b in &unsafe_findings {
        assert_eq!(b.severity, berth_scan::Severity::High);
        let layer = b.layer.as_ref().expect("the layer is named");
        assert_eq!((layer.index, &layer.digest), (1, &r.layers[1].digest));
        assert!(b.detail.contains("leads out of the image root"), "{b:?}");
    }
    let link = unsafe_findings
        .iter()
        .find(|b| b.path.as_deref() == Some("etc/shadow-copy"))
        .unwrap();
    assert!(link.detail.contains("../../etc/shadow"), "{link:?}");
    assert!(
        r.warnings.iter().any(|w| w.contains("layer 1")
            && w.contains("absolute path")
            && w.contains("/etc/os-release")),
        "{:?}",
        r.warnings
    );
    // Nothing was read from the escaping entries: their empty root password is not in
    // /etc/shadow (BERTH-FS-003), as it would be had the entry been clamped to the root.
    assert!(
        !r.baseline.iter().any(|b| b.id == "BERTH-FS-003"),
        "{:?}",
        r.baseline
    );

    // With the baseline checks off the skipped entries are still reported, as warnings.
    let opts = ScanOptions {
        baseline: false,
        ..options()
    };
    let r = try_scan(&img, opts).unwrap();
    assert!(r.baseline.is_empty());
    for needle in ["../etc/shadow", "a/../../x", "../../etc/shadow"] {
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains(needle) && w.contains("leads out of the image root")),
            "{needle}: {:?}",
            r.warnings
        );
    }
}

#[test]
fn a_layer_of_many_escaping_entries_lists_a_bounded_number() {
    let entries: Vec<Vec<u8>> = (0..150)
        .map(|i| raw_entry(&format!("../f{i}"), tar::EntryType::Regular, "", b"x"))
        .collect();
    let img = image_from_tars(vec![raw_entries(&entries)], Comp::None);
    let r = try_scan(&img, options()).unwrap();
    let n = r.baseline.iter().filter(|b| b.id == "BERTH-FS-007").count();
    assert_eq!(n, berth_scan::layer::MAX_LISTED_UNSAFE_ENTRIES);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("50 more entries leading out of the image root")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn truncated_and_corrupt_layers_are_clear_errors() {
    let tar = pkg_layer().tar();
    let gz = compress(&tar, Comp::Gzip);
    for cut in [10, gz.len() / 2, gz.len() - 4] {
        let dir = tempfile::tempdir().unwrap();
        let img = Image::new(vec![pkg_layer()], Comp::Gzip);
        img.write_oci(dir.path());
        // Overwrite the layer blob in place with a truncated copy (digest check off so the
        // decoder meets the truncation).
        let layer_path = dir.path().join("blobs/sha256").join(&sha256(&gz)[7..]);
        std::fs::write(&layer_path, &gz[..cut]).unwrap();
        let src = berth_scan::source::OciDirSource::open(dir.path(), None).unwrap();
        let opts = ScanOptions {
            verify_digests: false,
            ..options()
        };
        let err = Scanner::new(opts)
            .unwrap()
            .scan_image(&src, &PlatformSpec::default(), &NoProgress)
            .expect_err("truncated");
        assert!(err.to_string().contains("corrupt or truncated"), "{err}");
        // With verification on, the digest mismatch (or the truncation) is reported.
        let err = Scanner::new(options())
            .unwrap()
            .scan_image(&src, &PlatformSpec::default(), &NoProgress)
            .expect_err("truncated");
        assert!(err.to_string().contains(&sha256(&gz)), "{err}");
    }
    // Random bytes that are not a tar at all.
    expect_layer_error(
        &image_from_tars(vec![vec![7u8; 3000]], Comp::None),
        options(),
        "corrupt or truncated",
    );
}

#[test]
fn unknown_layer_media_type_is_an_error() {
    let img = Image::new(vec![pkg_layer()], Comp::Gzip);
    let dir = tempfile::tempdir().unwrap();
    img.write_oci(dir.path());
    // Patch the manifest: a helm chart layer.
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let md = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let mut m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("blobs/sha256").join(&md[7..])).unwrap(),
    )
    .unwrap();
    m["layers"][0]["mediaType"] = "application/vnd.cncf.helm.chart.content.v1.tar+gzip".into();
    let bytes = serde_json::to_vec(&m).unwrap();
    let nd = sha256(&bytes);
    std::fs::write(dir.path().join("blobs/sha256").join(&nd[7..]), &bytes).unwrap();
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": nd, "size": bytes.len()}]});
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&idx).unwrap(),
    )
    .unwrap();
    let src = berth_scan::source::OciDirSource::open(dir.path(), None).unwrap();
    let err = Scanner::new(options())
        .unwrap()
        .scan_image(&src, &PlatformSpec::default(), &NoProgress)
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported layer media type"),
        "{err}"
    );
}

#[test]
fn symlink_loops_do_not_hang() {
    let img = Image::new(
        vec![
            Layer::new("loop")
                .symlink("/etc/os-release", "/etc/os-release2")
                .symlink("/etc/os-release2", "/etc/os-release"),
        ],
        Comp::None,
    );
    let r = scan(&img);
    assert!(r.distro.is_none());
}

#[test]
fn docker_archive_source() {
    let img = Image::new(
        vec![pkg_layer(), Layer::new("COPY x").file("/x", b"x")],
        Comp::None,
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("image.tar");
    img.write_docker_archive(&p);
    let src = berth_scan::source::DockerArchiveSource::open(&p, None).unwrap();
    let r = Scanner::new(options())
        .unwrap()
        .scan_image(&src, &PlatformSpec::default(), &NoProgress)
        .unwrap();
    assert_eq!(r.source.kind, "docker-archive");
    assert_eq!(r.source.repo_tags, ["test/image:1"]);
    assert_eq!(r.packages.len(), 2);
    assert_eq!(
        r.packages[0].layer().unwrap().digest,
        sha256(&img.layers[0].0)
    );
    // gzip-compressed archive (docker save | gzip)
    let gz = dir.path().join("image.tar.gz");
    std::fs::write(&gz, compress(&std::fs::read(&p).unwrap(), Comp::Gzip)).unwrap();
    let src = berth_scan::source::DockerArchiveSource::open(&gz, Some("test/image:1")).unwrap();
    assert_eq!(
        Scanner::new(options())
            .unwrap()
            .scan_image(&src, &PlatformSpec::default(), &NoProgress)
            .unwrap()
            .packages
            .len(),
        2
    );
}

#[test]
fn dir_source() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), DEBIAN_OS_RELEASE).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        b"Package: bash\nStatus: install ok installed\nVersion: 5.2\n",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/shadow", root.join("etc/escape")).unwrap();
    let r = Scanner::new(options())
        .unwrap()
        .scan_dir(root, &NoProgress)
        .unwrap();
    assert_eq!(names(&r, "deb"), ["bash@5.2"]);
    assert_eq!(r.source.kind, "dir");
    assert!(r.packages[0].layer().is_none());
}
