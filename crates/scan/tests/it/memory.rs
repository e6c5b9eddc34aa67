//! The memory limits: a layer of large files must not make a scan hold them all. The issue's
//! layer was 27 MiB of gzip holding ten 400 MiB `package.json` (150:1, under the bomb ratio);
//! the scan kept 4 GiB and the server was OOM-killed. These tests build the same shapes at a
//! small scale, with the limits scaled down to match (1 MiB per file, a few MiB in all).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use std::io::Write;

use berth_scan::analyze::Analyzer;
use berth_scan::fs::Change;
use berth_scan::layer::{Totals, read_layer};
use berth_scan::{Limits, ScanOptions};
use common::*;

const MIB: usize = 1 << 20;

fn small_limits(total: u64) -> Limits {
    Limits {
        max_buffered_file_size: MIB as u64,
        max_package_db_size: 2 * MIB as u64,
        max_buffered_bytes: total,
        ..Limits::default()
    }
}

fn opts(limits: Limits) -> ScanOptions {
    ScanOptions {
        limits,
        ..options()
    }
}

/// A valid `package.json` of about `size` bytes (padded with spaces: compresses like the
/// issue's).
fn package_json(name: &str, size: usize) -> Vec<u8> {
    let mut v = format!(r#"{{"name":"{name}","version":"1.0.0","description":""#).into_bytes();
    v.resize(size.saturating_sub(2), b' ');
    v.extend_from_slice(b"\"}");
    v
}

fn warning_for<'a>(r: &'a berth_scan::Report, path: &str) -> Option<&'a String> {
    r.warnings
        .iter()
        .find(|w| w.starts_with(&format!("file {path} (")))
}

/// The issue's layer, scaled: files over the per-file limit are streamed past, the scan
/// completes, and the report names each one with its size and the limit.
#[test]
fn files_over_the_per_file_limit_are_reported_and_the_scan_completes() {
    let big = package_json("big", 3 * MIB / 2);
    let mut layer = Layer::new("COPY node_modules")
        .file(
            "/app/node_modules/small/package.json",
            &package_json("small", 1000),
        )
        .file(
            "/usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA",
            b"Name: six\nVersion: 1.16.0\n",
        );
    for i in 0..10 {
        layer = layer.file(&format!("/app/node_modules/big{i}/package.json"), &big);
    }
    let img = Image::new(vec![layer], Comp::Gzip);
    let r = try_scan(&img, opts(small_limits(4 * MIB as u64))).expect("the scan completes");
    assert_eq!(names(&r, "npm"), ["small@1.0.0"]);
    assert_eq!(names(&r, "python"), ["six@1.16.0"]);
    for i in 0..10 {
        let path = format!("/app/node_modules/big{i}/package.json");
        let w = warning_for(&r, &path).unwrap_or_else(|| panic!("{path}: {:?}", r.warnings));
        assert_eq!(
            w,
            &format!(
                "file {path} ({} bytes) was not analysed: over the limit of 1048576 bytes per \
                 file (max_buffered_file_size); only its SHA-256 (blocklist) were checked",
                big.len()
            )
        );
    }
    assert_eq!(r.warnings.len(), 10, "{:?}", r.warnings);
}

/// Files each under the per-file limit but together over the budget: the budget is checked
/// before each file is kept, what does not fit is reported, and the bytes held never pass it.
#[test]
fn kept_files_stop_at_the_memory_budget_and_the_rest_is_reported() {
    let size = 900 * 1024;
    let mut layer = Layer::new("COPY");
    for i in 0..8 {
        layer = layer.file(
            &format!("/app/node_modules/p{i}/package.json"),
            &package_json(&format!("p{i}"), size),
        );
    }
    let tar = layer.tar();
    let limits = small_limits(4 * MIB as u64);

    // The layer reader alone, to read the budget's counters.
    let o = opts(limits.clone());
    let analyzer = Analyzer::new(&o).unwrap();
    let totals = Totals::new(&limits);
    let out = read_layer(&tar[..], Some(0), None, &limits, &totals, &analyzer).unwrap();
    let kept: Vec<usize> = out
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Upsert(e) => e.content.as_ref().map(|c| c.len()),
            _ => None,
        })
        .collect();
    // 4 x 900 KiB fit in 4 MiB; a fifth does not.
    assert_eq!(kept, [size; 4]);
    assert!(totals.budget.peak() <= limits.max_buffered_bytes);
    assert_eq!(
        totals.budget.used(),
        4 * size as u64,
        "kept bytes stay reserved"
    );

    // The whole scan: the four kept are cataloged, the other four are named in warnings.
    let img = Image::new(
        vec![{
            let mut l = Layer::new("COPY");
            for i in 0..8 {
                l = l.file(
                    &format!("/app/node_modules/p{i}/package.json"),
                    &package_json(&format!("p{i}"), size),
                );
            }
            l
        }],
        Comp::Gzip,
    );
    let r = try_scan(&img, o).unwrap();
    assert_eq!(
        names(&r, "npm"),
        ["p0@1.0.0", "p1@1.0.0", "p2@1.0.0", "p3@1.0.0"]
    );
    for i in 4..8 {
        let path = format!("/app/node_modules/p{i}/package.json");
        let w = warning_for(&r, &path).unwrap_or_else(|| panic!("{path}: {:?}", r.warnings));
        assert!(
            w.contains(&format!("({size} bytes) was not analysed: no room left in the scan's memory budget of 4194304 bytes (max_buffered_bytes)")),
            "{w}"
        );
    }
}

/// Files analysed and dropped (not kept) give their bytes back: a layer of many files under
/// the per-file limit is analysed whole, whatever its total size.
#[test]
fn analysed_files_release_their_bytes() {
    let mut layer = Layer::new("COPY");
    for i in 0..12 {
        layer = layer.file(&format!("/data/blob{i}"), &vec![i as u8; 900 * 1024]);
    }
    let tar = layer.tar();
    let limits = small_limits(2 * MIB as u64);
    let o = opts(limits.clone());
    let analyzer = Analyzer::new(&o).unwrap();
    let totals = Totals::new(&limits);
    let out = read_layer(&tar[..], Some(0), None, &limits, &totals, &analyzer).unwrap();
    assert_eq!(out.changes.len(), 12);
    for c in &out.changes {
        if let Change::Upsert(e) = c {
            assert!(e.derived.is_none(), "{}: analysed, nothing found", e.path);
        }
    }
    assert_eq!(totals.budget.used(), 0);
    assert_eq!(totals.budget.peak(), 900 * 1024);
}

/// A Go binary over the per-file limit is not held in memory, but its build info (Go 1.18+)
/// is found as it streams past: its packages are still reported.
#[test]
fn a_go_binary_over_the_limit_is_streamed_and_its_modules_found() {
    let mut bin = b"\x7fELF".to_vec();
    bin.resize(3 * MIB / 2, 0x90);
    bin.extend(berth_scan::catalog::binary::build_go_buildinfo(
        "go1.22.1",
        "path\texample.com/huge\nmod\texample.com/huge\tv2.0.0\th1:x\ndep\tgithub.com/a/b\tv1.0.0\th1:y\n",
    ));
    bin.resize(bin.len() + MIB, 0);
    let img = Image::new(
        vec![Layer::new("COPY huge").file_mode("/usr/local/bin/huge", &bin, 0o755)],
        Comp::Gzip,
    );
    let r = try_scan(&img, opts(small_limits(4 * MIB as u64))).unwrap();
    assert_eq!(
        names(&r, "go-module"),
        [
            "example.com/huge@v2.0.0",
            "github.com/a/b@v1.0.0",
            "stdlib@go1.22.1"
        ]
    );
    let w = warning_for(&r, "/usr/local/bin/huge").unwrap();
    assert!(
        w.ends_with("only its SHA-256 (blocklist) and Go build info were checked"),
        "{w}"
    );
}

/// A stored (uncompressed) zip entry: a jar whose size is its content's.
fn stored_jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        w.start_file(*name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Nested archives are read one at a time within the budget (a war of jars that together pass
/// it is still cataloged), and one over the per-file limit is skipped with a warning instead
/// of losing the packages of the whole archive.
#[test]
fn nested_archives_are_read_one_at_a_time_and_an_oversized_one_is_skipped() {
    let pad = vec![0u8; 700 * 1024];
    let jar = |name: &str, pad: &[u8]| {
        stored_jar(&[
            (
                &format!("META-INF/maven/org.example/{name}/pom.properties"),
                format!("groupId=org.example\nartifactId={name}\nversion=1.0\n").as_bytes(),
            ),
            ("pad.bin", pad),
        ])
    };
    let mut entries: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| {
            (
                format!("WEB-INF/lib/lib{i}-1.0.jar"),
                jar(&format!("lib{i}"), &pad),
            )
        })
        .collect();
    let huge = jar("huge", &vec![0u8; 3 * MIB / 2]);
    let huge_len = huge.len();
    entries.push(("WEB-INF/lib/huge-1.0.jar".into(), huge));
    entries.push((
        "META-INF/maven/org.example/shop/pom.properties".into(),
        b"groupId=org.example\nartifactId=shop\nversion=2.0\n".to_vec(),
    ));
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    // Deflated: the war itself is small; its jars are 700 KiB each, 2.8 MiB together.
    let war = zip(&refs);
    assert!(war.len() < MIB);
    let img = Image::new(
        vec![Layer::new("COPY shop.war").file("/srv/shop.war", &war)],
        Comp::Gzip,
    );
    let r = try_scan(&img, opts(small_limits(2 * MIB as u64))).unwrap();
    assert_eq!(
        names(&r, "java-archive"),
        ["lib0@1.0", "lib1@1.0", "lib2@1.0", "lib3@1.0", "shop@2.0"]
    );
    assert!(
        r.warnings.iter().any(|w| w.contains(&format!(
            "/srv/shop.war: nested archive WEB-INF/lib/huge-1.0.jar ({huge_len} bytes) was not \
             analysed: over the limit of 1048576 bytes per file (max_buffered_file_size)"
        ))),
        "{:?}",
        r.warnings
    );
}

/// OS package databases may be larger than other files (`max_package_db_size`): a dpkg status
/// over the per-file limit is still read.
#[test]
fn package_databases_have_their_own_limit() {
    let mut status = b"Package: bash\nStatus: install ok installed\nVersion: 5.2\n\n".to_vec();
    let filler =
        b"Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nDescription: padding\n\n";
    while status.len() < 3 * MIB / 2 {
        status.extend_from_slice(filler);
    }
    let img = Image::new(
        vec![
            Layer::new("debootstrap")
                .file("/etc/os-release", DEBIAN_OS_RELEASE)
                .file("/var/lib/dpkg/status", &status),
        ],
        Comp::Gzip,
    );
    let r = try_scan(&img, opts(small_limits(4 * MIB as u64))).unwrap();
    assert_eq!(names(&r, "deb"), ["bash@5.2"]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}
