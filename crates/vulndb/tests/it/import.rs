//! Import: OSV event semantics, bad input reported and skipped, failing feeds leave the
//! previous database in place, http(s) sources over a real loopback server.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use berth_vulndb::{Database, Ecosystem, Error, PackageQuery, Severity, Target};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn import(dir: &Path, sources: &[String]) -> Result<berth_vulndb::ImportReport, Error> {
    rt().block_on(berth_vulndb::import(dir, sources))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn pypi(db: &Database, name: &str, v: &str) -> Vec<String> {
    db.matches(&PackageQuery {
        target: Target::Lang(Ecosystem::PyPI),
        name,
        source_name: None,
        version: v,
    })
    .unwrap()
    .into_iter()
    .map(|m| m.id)
    .collect()
}

const RECORDS: &str = r#"[
 {"id": "TEST-1", "aliases": ["CVE-2099-0001", "GHSA-xxxx-yyyy-zzzz"], "summary": "two ranges",
  "database_specific": {"severity": "MODERATE"},
  "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.0.5"}]}]}],
  "references": [{"type": "WEB", "url": "https://example.org/1"}]},
 {"id": "TEST-2", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "1.5"}]}]}]},
 {"id": "TEST-3", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}, {"limit": "3.5"}]}]}]},
 {"id": "TEST-4", "withdrawn": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]},
 {"id": "TEST-5", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"}, "versions": ["4.0", "4.1rc1"],
    "ranges": [{"type": "GIT", "repo": "https://example.org/r", "events": [{"introduced": "0"}, {"fixed": "abc"}]}]}]},
 {"id": "TEST-6", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not a version!"}]}]}]},
 {"id": "TEST-7", "affected": [{"package": {"ecosystem": "Hex", "name": "plug"}, "versions": ["1.0.0"]}]},
 {"summary": "no id"},
 {"id": "TEST-8", "affected": "nope"},
 {"id": "TEST-9", "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}]}]}]}
]"#;

#[test]
fn osv_events_ranges_and_bad_records() {
    let tmp = tempfile::tempdir().unwrap();
    let src = write(tmp.path(), "records.json", RECORDS);
    let db_dir = tmp.path().join("db");
    let r = import(&db_dir, &[src]).unwrap();
    assert_eq!(
        r.skipped, 2,
        "no id + affected not an array: {:?}",
        r.problems
    );
    assert!(
        r.problems
            .iter()
            .any(|p| p.location.contains("[7]") && p.reason.contains("id"))
    );
    assert!(r.problems.iter().any(|p| p.location.contains("TEST-8")));
    assert!(
        r.problems
            .iter()
            .any(|p| p.location.contains("TEST-6") && p.reason.contains("not a version"))
    );
    assert_eq!(r.withdrawn, 1);
    assert_eq!(r.git_ranges_ignored, 1);
    assert_eq!(r.unsupported_ecosystems.get("Hex"), Some(&1));
    let db = Database::open(&db_dir).unwrap();

    // introduced/fixed pairs.
    assert!(pypi(&db, "demo-pkg", "0.9").contains(&"TEST-2".to_owned()));
    assert!(!pypi(&db, "demo-pkg", "0.9").contains(&"TEST-1".to_owned()));
    assert!(pypi(&db, "demo-pkg", "1.0").contains(&"TEST-1".to_owned()));
    assert!(pypi(&db, "demo-pkg", "1.1.9").contains(&"TEST-1".to_owned()));
    assert!(!pypi(&db, "demo-pkg", "1.2").contains(&"TEST-1".to_owned()));
    assert!(!pypi(&db, "demo-pkg", "1.9").contains(&"TEST-1".to_owned()));
    assert!(pypi(&db, "demo-pkg", "2.0.4").contains(&"TEST-1".to_owned()));
    assert!(!pypi(&db, "demo-pkg", "2.0.5").contains(&"TEST-1".to_owned()));
    // last_affected is inclusive.
    assert!(pypi(&db, "demo-pkg", "1.5").contains(&"TEST-2".to_owned()));
    assert!(!pypi(&db, "demo-pkg", "1.5.post1").contains(&"TEST-2".to_owned()));
    // limit bounds the range.
    assert!(pypi(&db, "demo-pkg", "3.4").contains(&"TEST-3".to_owned()));
    assert!(!pypi(&db, "demo-pkg", "3.5").contains(&"TEST-3".to_owned()));
    // Withdrawn advisories never match; explicit versions do (normalised), GIT ranges do not.
    assert!(!pypi(&db, "demo-pkg", "0.1").contains(&"TEST-4".to_owned()));
    assert!(pypi(&db, "demo-pkg", "4.0").contains(&"TEST-5".to_owned()));
    assert!(
        pypi(&db, "demo-pkg", "4.1.0rc1").contains(&"TEST-5".to_owned())
            || pypi(&db, "demo-pkg", "4.1rc1").contains(&"TEST-5".to_owned())
    );
    assert!(!pypi(&db, "demo-pkg", "4.0.1").contains(&"TEST-5".to_owned()));
    // The range with an unparseable version was dropped: it never matches.
    assert!(!pypi(&db, "demo-pkg", "0.1").contains(&"TEST-6".to_owned()));
    // Unparseable installed versions match nothing (and do not panic).
    assert!(pypi(&db, "demo-pkg", "not a version").is_empty());

    // Names are PEP 503-normalised; aliases, severity, CVSS, links carried through.
    let m = db
        .matches(&PackageQuery {
            target: Target::Lang(Ecosystem::PyPI),
            name: "DEMO.pkg",
            source_name: None,
            version: "1.1",
        })
        .unwrap();
    let t1 = m.iter().find(|m| m.id == "TEST-1").unwrap();
    assert_eq!(t1.aliases, vec!["CVE-2099-0001", "GHSA-xxxx-yyyy-zzzz"]);
    assert_eq!(t1.severity, Severity::Medium);
    assert_eq!(t1.severity.as_clair(), "Medium");
    assert_eq!(t1.severity.as_urgency(), "nntf");
    assert_eq!(t1.fixed_versions, vec!["1.2", "2.0.5"]);
    assert_eq!(t1.links, vec!["https://example.org/1"]);
    assert_eq!(t1.title.as_deref(), Some("two ranges"));
    assert_eq!(t1.source, "osv:PyPI");
    let t2 = m.iter().find(|m| m.id == "TEST-2").unwrap();
    assert_eq!(t2.severity, Severity::Critical);
    assert_eq!(t2.severity.as_clair(), "High");
    assert_eq!(t2.severity.as_urgency(), "asap");
    assert_eq!(t2.cvss[0].score, Some(9.8));
    assert_eq!(t2.cvss[0].version, "3.1");

    // OSV's OS ecosystems land in the distro namespaces.
    let m = db
        .matches(&PackageQuery {
            target: Target::Os {
                distro: "debian",
                release: "12.4",
            },
            name: "libssl3",
            source_name: Some("openssl"),
            version: "3.0.9-1",
        })
        .unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].id, "TEST-9");
}

#[test]
fn alpine_key_zero_means_never_affected() {
    let tmp = tempfile::tempdir().unwrap();
    let src = write(
        tmp.path(),
        "main.yaml",
        "---\ndistroversion: v3.18\nreponame: main\npackages:\n  - pkg:\n      name: demo\n      secfixes:\n        0:\n          - CVE-2099-0100\n        1.2.3-r1:\n          - CVE-2099-0101 CVE-2099-0102\n        1.10-r0:\n          - CVE-2099-0103\n",
    );
    let db_dir = tmp.path().join("db");
    import(&db_dir, &[src]).unwrap();
    let db = Database::open(&db_dir).unwrap();
    let q = |release: &'static str, v: &'static str| -> Vec<String> {
        let mut ids: Vec<String> = db
            .matches(&PackageQuery {
                target: Target::Os {
                    distro: "alpine",
                    release,
                },
                name: "demo",
                source_name: None,
                version: v,
            })
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        q("3.18.4", "1.2.3-r0"),
        vec!["CVE-2099-0101", "CVE-2099-0102", "CVE-2099-0103"]
    );
    assert_eq!(q("3.18.4", "1.2.3-r1"), vec!["CVE-2099-0103"]);
    // 1.10 is not 1.1: keys are kept as written, not read as YAML floats.
    assert_eq!(q("3.18", "1.9-r5"), vec!["CVE-2099-0103"]);
    assert!(q("3.18", "1.10-r0").is_empty());
    assert!(q("3.17", "0.1-r0").is_empty());
}

/// A loopback HTTP/1.1 server: path -> (status, body); `/truncated` promises more bytes
/// than it sends.
fn serve(routes: HashMap<String, (u16, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            if path == "/truncated" {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\nPK\x03\x04partial");
                continue;
            }
            let (status, body) = routes
                .get(&path)
                .cloned()
                .unwrap_or((404, b"not found".to_vec()));
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn http_sources_and_failures_keep_the_previous_database() {
    let f = fixtures();
    let mut routes = HashMap::new();
    routes.insert(
        "/PyPI/all.zip".to_owned(),
        (200, std::fs::read(f.join("osv/PyPI-all.zip")).unwrap()),
    );
    routes.insert(
        "/data/DSA/list".to_owned(),
        (200, std::fs::read(f.join("debian/DSA-list")).unwrap()),
    );
    routes.insert(
        "/v3.10/main.json".to_owned(),
        (
            200,
            std::fs::read(f.join("alpine/v3.10-main.json")).unwrap(),
        ),
    );
    routes.insert("/error".to_owned(), (500, b"boom".to_vec()));
    routes.insert(
        "/html".to_owned(),
        (200, b"<html>maintenance</html>".to_vec()),
    );
    let base = serve(routes);
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let good = vec![
        format!("{base}/PyPI/all.zip"),
        format!("{base}/data/DSA/list"),
        format!("{base}/v3.10/main.json"),
    ];
    let r = import(&db_dir, &good).unwrap();
    assert_eq!(r.sources.len(), 3);
    assert_eq!(r.sources[0].kinds, vec!["osv"]);
    assert_eq!(r.sources[1].kinds, vec!["debian-dsa"]);
    assert_eq!(r.sources[2].kinds, vec!["alpine-secdb"]);
    assert_eq!(r.sources[0].sha256.len(), 64);
    let meta = Database::read_metadata(&db_dir).unwrap();
    assert_eq!(meta.schema, berth_vulndb::SCHEMA);
    assert_eq!(meta.sources, r.sources);
    assert!(meta.advisories > 500 && meta.built_at > 1_700_000_000);
    let before = std::fs::read(Database::file_path(&db_dir)).unwrap();

    // Every kind of bad source fails the import and leaves the database untouched.
    let tiny_zip = tmp.path().join("cut.zip");
    let zip_bytes = std::fs::read(f.join("osv/PyPI-all.zip")).unwrap();
    std::fs::write(&tiny_zip, &zip_bytes[..zip_bytes.len() / 2]).unwrap();
    let not_a_feed = write(tmp.path(), "notes.txt", "hello\n");
    let bad_json = write(tmp.path(), "bad.json", "{\"id\": \"X\", ");
    let bad_yaml = write(
        tmp.path(),
        "main.yaml",
        "distroversion: v3.1\npackages: [\n",
    );
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![format!("{base}/PyPI/all.zip"), format!("{base}/error")],
            "HTTP 500",
        ),
        (vec![format!("{base}/missing")], "HTTP 404"),
        (vec![format!("{base}/truncated")], "truncated download"),
        (vec![format!("{base}/html")], "wrong format"),
        (vec![tiny_zip.display().to_string()], "truncated zip"),
        (vec![not_a_feed], "not a feed"),
        (vec![bad_json], "invalid JSON"),
        (vec![bad_yaml], "broken YAML"),
        (
            vec![tmp.path().join("nope").display().to_string()],
            "missing path",
        ),
    ];
    for (srcs, what) in cases {
        let e = import(&db_dir, &srcs);
        assert!(e.is_err(), "{what}: import should fail");
        eprintln!("{what}: {}", e.unwrap_err());
        assert_eq!(
            std::fs::read(Database::file_path(&db_dir)).unwrap(),
            before,
            "{what}: database changed"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&db_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{what}: stray files {leftovers:?}");
    }
    assert!(Database::open(&db_dir).is_ok());
}

#[test]
fn directory_sources_report_broken_files_and_ignore_others() {
    let tmp = tempfile::tempdir().unwrap();
    let feeds = tmp.path().join("feeds");
    std::fs::create_dir_all(feeds.join("osv")).unwrap();
    std::fs::copy(
        fixtures().join("osv/Go/GO-2020-0022.json"),
        feeds.join("osv/GO-2020-0022.json"),
    )
    .unwrap();
    std::fs::write(feeds.join("osv/GO-broken.json"), "{\"id\": ").unwrap();
    std::fs::write(feeds.join("README.md"), "# notes\n").unwrap();
    let db_dir = tmp.path().join("db");
    let r = import(&db_dir, &[feeds.display().to_string()]).unwrap();
    assert_eq!(r.skipped, 1);
    assert!(
        r.problems[0].location.ends_with("GO-broken.json"),
        "{:?}",
        r.problems
    );
    assert!(r.problems[0].reason.contains("invalid JSON"));
    assert_eq!(r.ignored_files.len(), 1);
    assert_eq!(r.advisories, 1);
}

#[test]
fn open_reports_missing_corrupt_and_foreign_files() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        Database::open(tmp.path()),
        Err(Error::NotFound(_))
    ));
    std::fs::write(
        Database::file_path(tmp.path()),
        [
            b"BERTHVDB".as_slice(),
            &berth_vulndb::SCHEMA.to_le_bytes(),
            b"\xff",
        ]
        .concat(),
    )
    .unwrap();
    assert!(matches!(
        Database::open(tmp.path()),
        Err(Error::Corrupt { .. })
    ));
    std::fs::write(Database::file_path(tmp.path()), b"BERTHVDB\x63\x00\x00\x00").unwrap();
    assert!(matches!(
        Database::open(tmp.path()),
        Err(Error::Schema { found: 99, .. })
    ));
    std::fs::write(Database::file_path(tmp.path()), b"SQLite format 3\0").unwrap();
    assert!(matches!(
        Database::open(tmp.path()),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn update_reads_the_configured_sources() {
    let f = fixtures();
    let mut routes = HashMap::new();
    routes.insert(
        "/Go/all.json".to_owned(),
        (
            200,
            std::fs::read(f.join("osv/Go/GO-2020-0022.json")).unwrap(),
        ),
    );
    routes.insert(
        "/v3.11/main.yaml".to_owned(),
        (
            200,
            std::fs::read(f.join("alpine/v3.11-main.yaml")).unwrap(),
        ),
    );
    let base = serve(routes);
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    std::fs::write(
        db_dir.join(berth_vulndb::sources::SOURCES_FILE),
        format!(
            "# feeds for this database\n{base}/Go/all.json\n\n{base}/v3.11/main.yaml  # Alpine\n"
        ),
    )
    .unwrap();
    if std::env::var_os("BERTH_DB_SOURCES").is_none() {
        let r = rt().block_on(berth_vulndb::update(&db_dir, None)).unwrap();
        assert_eq!(r.sources.len(), 2);
        assert_eq!(r.sources[1].location, format!("{base}/v3.11/main.yaml"));
        let meta = Database::read_metadata(&db_dir).unwrap();
        assert!(meta.namespaces.iter().any(|(ns, _)| ns == "alpine:3.11"));
        assert!(meta.namespaces.iter().any(|(ns, _)| ns == "osv:Go"));
    }
    // An explicit list wins; a failing update keeps the database.
    let list = tmp.path().join("list.txt");
    std::fs::write(&list, format!("{base}/gone\n")).unwrap();
    let before = std::fs::read(Database::file_path(&db_dir)).ok();
    assert!(
        rt().block_on(berth_vulndb::update(&db_dir, Some(&list)))
            .is_err()
    );
    assert_eq!(std::fs::read(Database::file_path(&db_dir)).ok(), before);
}

#[test]
fn readers_never_see_half_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let a = fixtures().join("osv/PyPI-all.zip").display().to_string();
    let b = fixtures().join("debian/DSA-list").display().to_string();
    import(&db_dir, std::slice::from_ref(&a)).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (dir, stop) = (db_dir.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut opened = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let db = Database::open(&dir).expect("every open sees a whole database");
                assert!(db.metadata().advisories > 0);
                opened += 1;
            }
            opened
        })
    };
    for i in 0..6 {
        let src = if i % 2 == 0 { &b } else { &a };
        import(&db_dir, std::slice::from_ref(src)).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn vocabulary_round_trips_and_scales() {
    for e in Ecosystem::ALL {
        assert_eq!(e.to_string().parse::<Ecosystem>().unwrap(), e);
    }
    assert_eq!(
        "crates.io".parse::<Ecosystem>().unwrap(),
        Ecosystem::CratesIo
    );
    assert_eq!("npm".parse::<Ecosystem>().unwrap(), Ecosystem::Npm);
    assert!("Hex".parse::<Ecosystem>().is_err());
    let clair: Vec<&str> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ]
    .iter()
    .map(|s| s.as_clair())
    .collect();
    assert_eq!(
        clair,
        ["High", "High", "Medium", "Low", "Negligible", "Unknown"]
    );
    let urgency: Vec<&str> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ]
    .iter()
    .map(|s| s.as_urgency())
    .collect();
    assert_eq!(urgency, ["asap", "asap", "nntf", "later", "later", "later"]);
    assert_eq!(Severity::from_word("MODERATE"), Some(Severity::Medium));
    assert_eq!(
        Severity::from_word("unimportant"),
        Some(Severity::Negligible)
    );
    assert_eq!(Severity::from_cvss_score(9.8), Severity::Critical);
    assert_eq!(Severity::from_cvss_score(7.0), Severity::High);
    assert_eq!(Severity::from_cvss_score(3.9), Severity::Low);
    use berth_vulndb::matcher::{alpine_namespace, debian_namespace};
    assert_eq!(debian_namespace("bookworm"), "debian:12");
    assert_eq!(debian_namespace("12.4"), "debian:12");
    assert_eq!(debian_namespace(""), "debian:sid");
    assert_eq!(alpine_namespace("3.18.4"), "alpine:3.18");
    assert_eq!(alpine_namespace("v3.18"), "alpine:3.18");
    assert_eq!(alpine_namespace("edge"), "alpine:edge");
}

#[test]
fn one_vulnerability_from_two_advisories_is_one_match() {
    let tmp = tempfile::tempdir().unwrap();
    let src = write(
        tmp.path(),
        "dups.json",
        r#"[
 {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-1111"], "details": "from PyPA",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "dup"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1"}]}]}]},
 {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2099-1111"], "database_specific": {"severity": "HIGH"},
  "affected": [{"package": {"ecosystem": "PyPI", "name": "dup"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}]},
 {"id": "PYSEC-2099-2", "aliases": ["CVE-2099-2222"],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "dup"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}
]"#,
    );
    let db_dir = tmp.path().join("db");
    import(&db_dir, &[src]).unwrap();
    let db = Database::open(&db_dir).unwrap();
    let m = db
        .matches(&PackageQuery {
            target: Target::Lang(Ecosystem::PyPI),
            name: "dup",
            source_name: None,
            version: "1.0",
        })
        .unwrap();
    assert_eq!(m.len(), 2, "{m:#?}");
    assert_eq!(m[0].id, "PYSEC-2099-1");
    assert_eq!(m[0].aliases, vec!["CVE-2099-1111", "GHSA-aaaa-bbbb-cccc"]);
    // Sorted in the package's ordering; the fix above the installed 1.0 is the lowest.
    assert_eq!(m[0].fixed_versions, vec!["1.0.1", "1.1"]);
    assert_eq!(m[0].fixed_in.as_deref(), Some("1.0.1"));
    assert_eq!(m[0].severity, Severity::High);
    assert_eq!(
        m[0].severity_source,
        berth_vulndb::SeveritySource::FeedRating
    );
    assert_eq!(m[1].id, "PYSEC-2099-2");
    // A DSA bundling two CVEs does not fold them into one (checked on the Debian fixture).
    let (_d2, dsa) = {
        let d = tempfile::tempdir().unwrap();
        import(
            d.path(),
            &[fixtures().join("debian/DSA-list").display().to_string()],
        )
        .unwrap();
        let db = Database::open(d.path()).unwrap();
        (d, db)
    };
    let m = dsa
        .matches(&PackageQuery {
            target: Target::Os {
                distro: "debian",
                release: "11",
            },
            name: "chromium",
            source_name: None,
            version: "1.0-1",
        })
        .unwrap();
    assert!(
        m.len() > 20,
        "every chromium CVE stays its own match: {}",
        m.len()
    );
}

/// Where each severity comes from, and the fix for the installed branch. urllib3's
/// CVE-2023-43804 was fixed in 1.26.17 and 2.0.6 (GHSA-v845-jxx5-vc9f): an installed 1.26.12
/// gets 1.26.17. A Go record of a CVE that only a PyPI record rates (no Go advisory carries a
/// severity) borrows that rating, and says so; a Debian CVE-list urgency is its own source.
#[test]
fn severity_sources_and_the_fix_for_the_installed_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let src = write(
        tmp.path(),
        "sev.json",
        r#"[
 {"id": "GHSA-v845-jxx5-vc9f", "aliases": ["CVE-2023-43804"],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N"}],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "urllib3"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0.0"}, {"fixed": "2.0.6"}]}, {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.26.17"}]}]}]},
 {"id": "PYSEC-2099-7", "aliases": ["CVE-2099-7777"],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "rated"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]},
 {"id": "GO-2099-0007", "aliases": ["CVE-2099-7777"],
  "affected": [{"package": {"ecosystem": "Go", "name": "example.com/unrated"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]}]},
 {"id": "GO-2099-0008",
  "affected": [{"package": {"ecosystem": "Go", "name": "example.com/unrated"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]}]}
]"#,
    );
    let db_dir = tmp.path().join("db");
    import(
        &db_dir,
        &[
            src,
            fixtures().join("debian/CVE-list").display().to_string(),
        ],
    )
    .unwrap();
    let db = Database::open(&db_dir).unwrap();
    let q = |target, name: &'static str, source_name, version: &'static str| {
        db.matches(&PackageQuery {
            target,
            name,
            source_name,
            version,
        })
        .unwrap()
    };
    use berth_vulndb::SeveritySource;
    let u = q(Target::Lang(Ecosystem::PyPI), "urllib3", None, "1.26.12");
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].fixed_versions, ["1.26.17", "2.0.6"]);
    assert_eq!(u[0].fixed_in.as_deref(), Some("1.26.17"));
    assert_eq!(u[0].severity, Severity::Medium, "4.4 from the vector");
    assert_eq!(u[0].severity_source, SeveritySource::Cvss3);
    assert_eq!(u[0].cvss[0].score, Some(4.4));
    let u2 = q(Target::Lang(Ecosystem::PyPI), "urllib3", None, "2.0.2");
    assert_eq!(u2[0].fixed_in.as_deref(), Some("2.0.6"));

    let go = q(
        Target::Lang(Ecosystem::Go),
        "example.com/unrated",
        None,
        "v0.9.0",
    );
    let by_id = |id: &str| go.iter().find(|m| m.id == id).unwrap();
    assert_eq!(by_id("GO-2099-0007").severity, Severity::Critical);
    assert_eq!(
        by_id("GO-2099-0007").severity_source,
        SeveritySource::SameCve
    );
    assert_eq!(
        by_id("GO-2099-0007").cvss.len(),
        1,
        "the vector it rests on"
    );
    assert_eq!(by_id("GO-2099-0008").severity, Severity::Unknown);
    assert_eq!(by_id("GO-2099-0008").severity_source, SeveritySource::None);

    let deb = q(
        Target::Os {
            distro: "debian",
            release: "12",
        },
        "libexample1",
        Some("libexample"),
        "1.2-3",
    );
    let m = deb.iter().find(|m| m.id == "CVE-2023-0002").unwrap();
    assert_eq!(
        (m.severity, m.severity_source),
        (Severity::Negligible, SeveritySource::DebianUrgency)
    );
}

/// The malware hash feed (`# berth-malware-sha256 v1`): digests land in the database for the
/// scanner's blocklist; a line that is not a digest is reported with its line number.
#[test]
fn malware_hash_feed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = write(
        tmp.path(),
        "malware.txt",
        "# berth-malware-sha256 v1\n# a comment\n\nSHA256:275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F EICAR test file\n71e7b604d18aefd839e51a39c88df8383bb4c071dc31f87f00a2b5df580d4495\nnot-a-digest dropper\n",
    );
    let db_dir = tmp.path().join("db");
    let report = import(&db_dir, &[src]).unwrap();
    assert_eq!(report.skipped, 1);
    assert!(
        report.problems[0].location.ends_with("malware.txt:6"),
        "{:?}",
        report.problems
    );
    assert_eq!(report.sources[0].kinds, vec!["malware-sha256"]);
    let db = Database::open(&db_dir).unwrap();
    assert_eq!(
        db.malware_hashes(),
        [
            (
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f".to_string(),
                "EICAR test file".to_string()
            ),
            (
                "71e7b604d18aefd839e51a39c88df8383bb4c071dc31f87f00a2b5df580d4495".to_string(),
                "known malware".to_string()
            ),
        ]
    );
}
