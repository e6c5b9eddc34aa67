//! The matcher over fixtures derived from the real feeds: every listed affected version
//! matches, fixed versions do not, Debian by source package and release, Alpine by secdb key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use berth_vulndb::model::Event;
use berth_vulndb::{Database, Ecosystem, Match, PackageQuery, Scheme, Severity, Target};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds")
}

fn build(sources: &[PathBuf]) -> (tempfile::TempDir, Database, berth_vulndb::ImportReport) {
    let dir = tempfile::tempdir().unwrap();
    let srcs: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt
        .block_on(berth_vulndb::import(dir.path(), &srcs))
        .unwrap();
    let db = Database::open(dir.path()).unwrap();
    (dir, db, report)
}

/// Ids and aliases of the matches (a record folded into another one's match by a shared CVE
/// is still reported, as an alias).
fn ids(ms: &[Match]) -> BTreeSet<String> {
    ms.iter()
        .flat_map(|m| std::iter::once(m.id.clone()).chain(m.aliases.iter().cloned()))
        .collect()
}

fn lang(db: &Database, eco: Ecosystem, name: &str, version: &str) -> Vec<Match> {
    db.matches(&PackageQuery {
        target: Target::Lang(eco),
        name,
        source_name: None,
        version,
    })
    .unwrap()
}

/// The OSV records of a zip or a directory.
fn osv_records(path: &Path) -> Vec<Value> {
    let mut out = vec![];
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            out.push(serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap());
        }
    } else {
        let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            let mut buf = vec![];
            f.read_to_end(&mut buf).unwrap();
            out.push(serde_json::from_slice(&buf).unwrap());
        }
    }
    out
}

/// Whether a version is covered by some range or list of this record for this package, by
/// an independent reading of the record (used to skip fixed versions that another range
/// re-opens).
fn covered_elsewhere(rec: &Value, pkg: &str, version: &str, scheme: Scheme) -> bool {
    let v = scheme.parse(version).unwrap();
    for a in rec["affected"].as_array().unwrap() {
        if a["package"]["name"] != pkg {
            continue;
        }
        if a["versions"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x == version))
        {
            return true;
        }
        for r in a["ranges"].as_array().into_iter().flatten() {
            let events: Vec<Event> = r["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let (k, x) = e.as_object().unwrap().iter().next().unwrap();
                    let x = x.as_str().unwrap().to_owned();
                    match k.as_str() {
                        "introduced" => Event::Introduced(x),
                        "fixed" => Event::Fixed(x),
                        "last_affected" => Event::LastAffected(x),
                        _ => Event::Limit(x),
                    }
                })
                .collect();
            if berth_vulndb::matcher::in_range(scheme, &v, &events) {
                return true;
            }
        }
    }
    false
}

fn check_osv(eco: Ecosystem, records: &[Value], db: &Database) -> (usize, usize) {
    let scheme = eco.scheme();
    let (mut listed, mut fixed) = (0, 0);
    let mut bad = vec![];
    for rec in records {
        let id = rec["id"].as_str().unwrap();
        if rec.get("withdrawn").is_some() {
            continue;
        }
        for a in rec["affected"].as_array().into_iter().flatten() {
            let name = a["package"]["name"].as_str().unwrap();
            for v in a["versions"].as_array().into_iter().flatten() {
                let v = v.as_str().unwrap();
                if scheme.parse(v).is_err() {
                    continue;
                }
                listed += 1;
                if !ids(&lang(db, eco, name, v)).contains(id) {
                    bad.push(format!("{id}: listed version {name} {v} does not match"));
                }
            }
            for r in a["ranges"].as_array().into_iter().flatten() {
                for e in r["events"].as_array().into_iter().flatten() {
                    if let Some(f) = e.get("fixed").and_then(Value::as_str) {
                        if scheme.parse(f).is_err() || covered_elsewhere(rec, name, f, scheme) {
                            continue;
                        }
                        fixed += 1;
                        if ids(&lang(db, eco, name, f)).contains(id) {
                            bad.push(format!("{id}: fixed version {name} {f} matches"));
                        }
                    }
                    if let Some(i) = e.get("introduced").and_then(Value::as_str)
                        && i != "0"
                        && scheme.parse(i).is_ok()
                        && covered_elsewhere(rec, name, i, scheme)
                        && !ids(&lang(db, eco, name, i)).contains(id)
                    {
                        bad.push(format!(
                            "{id}: introduced version {name} {i} does not match"
                        ));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    (listed, fixed)
}

#[test]
fn pypi_listed_versions_match_and_fixed_versions_do_not() {
    let zip = fixtures().join("osv/PyPI-all.zip");
    let (_d, db, report) = build(std::slice::from_ref(&zip));
    assert_eq!(report.skipped, 0, "{:?}", report.problems);
    let records = osv_records(&zip);
    let (listed, fixed) = check_osv(Ecosystem::PyPI, &records, &db);
    assert!(
        listed > 300 && fixed > 40,
        "too few checks: {listed} listed, {fixed} fixed"
    );
    // Names are compared PEP 503-normalised.
    let rec = &records[0];
    let name = rec["affected"][0]["package"]["name"].as_str().unwrap();
    let v = rec["affected"][0]["versions"][0].as_str();
    if let Some(v) = v {
        let upper = name.to_uppercase().replace('-', "_");
        assert!(ids(&lang(&db, Ecosystem::PyPI, &upper, v)).contains(rec["id"].as_str().unwrap()));
    }
}

#[test]
fn go_ranges_including_pseudo_versions_and_stdlib() {
    let dir = fixtures().join("osv/Go");
    let (_d, db, _) = build(std::slice::from_ref(&dir));
    let records = osv_records(&dir);
    let (_, fixed) = check_osv(Ecosystem::Go, &records, &db);
    assert!(fixed > 30);
    // Go module versions carry a `v`; OSV's do not: both match.
    for rec in &records {
        let a = &rec["affected"][0];
        let name = a["package"]["name"].as_str().unwrap();
        let Some(f) = a["ranges"][0]["events"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|e| e.get("fixed").and_then(Value::as_str))
        else {
            continue;
        };
        let id = rec["id"].as_str().unwrap();
        assert!(!ids(&lang(&db, Ecosystem::Go, name, &format!("v{f}"))).contains(id));
        assert!(
            ids(&lang(
                &db,
                Ecosystem::Go,
                name,
                "v0.0.0-20000101000000-000000000000"
            ))
            .contains(id)
                || a["ranges"][0]["events"][0]["introduced"] != "0"
        );
    }
}

fn debian(db: &Database, release: &str, name: &str, source: Option<&str>, v: &str) -> Vec<Match> {
    db.matches(&PackageQuery {
        target: Target::Os {
            distro: "debian",
            release,
        },
        name,
        source_name: source,
        version: v,
    })
    .unwrap()
}

fn release_number(codename: &str) -> &'static str {
    match codename {
        "bullseye" => "11",
        "buster" => "10",
        "stretch" => "9",
        "jessie" => "8",
        "bookworm" => "12",
        other => panic!("unexpected release {other}"),
    }
}

#[test]
fn debian_advisories_by_source_package_and_release() {
    let dsa = fixtures().join("debian/DSA-list");
    let dla = fixtures().join("debian/DLA-list");
    let (_d, db, report) = build(&[dsa.clone(), dla.clone()]);
    assert_eq!(report.skipped, 0, "{:?}", report.problems);
    let mut checked = 0;
    for path in [dsa, dla] {
        let text = std::fs::read_to_string(path).unwrap();
        let mut header = String::new();
        let mut cves: Vec<String> = vec![];
        for line in text.lines() {
            let t = line.trim();
            if line.starts_with('[') {
                header = t.split_whitespace().nth(3).unwrap_or("").to_owned();
                cves.clear();
            } else if let Some(c) = t.strip_prefix('{') {
                cves = c
                    .trim_end_matches('}')
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
            } else if t.starts_with('[') {
                let f: Vec<&str> = t.split_whitespace().collect();
                let (rel, pkg, fixed) = (f[0].trim_matches(['[', ']']), f[2], f[3]);
                if fixed.starts_with('<') {
                    continue;
                }
                let ids_expected: Vec<String> = if cves.is_empty() {
                    vec![header.clone()]
                } else {
                    cves.clone()
                };
                let r = release_number(rel);
                let below = format!("{fixed}~");
                // Below the fixed version, by source package: every CVE of the advisory.
                let got = ids(&debian(&db, r, "some-binary", Some(pkg), &below));
                for id in &ids_expected {
                    assert!(
                        got.contains(id),
                        "{header} {rel} {pkg} {below}: {id} missing"
                    );
                }
                // The binary name alone does not find a source-keyed advisory...
                let got = ids(&debian(&db, r, &format!("lib{pkg}-bin"), None, &below));
                assert!(ids_expected.iter().all(|i| !got.contains(i)) || pkg.starts_with("lib"));
                // ...at the fixed version nothing of this advisory matches unless a later one
                // fixes the same CVE again...
                let at = debian(&db, r, pkg, None, fixed);
                for m in at.iter().filter(|m| ids_expected.contains(&m.id)) {
                    let dpkg = |a: &str, b: &str| Scheme::Dpkg.compare(a, b).unwrap();
                    assert!(
                        m.fixed_versions.iter().any(|f| dpkg(f, fixed).is_gt()),
                        "{header}: {} still matches {pkg} {fixed} in {rel}: {:?}",
                        m.id,
                        m.fixed_versions
                    );
                }
                // ...and another release never matches.
                assert!(debian(&db, "99", pkg, None, &below).is_empty());
                checked += 1;
            }
        }
    }
    assert!(checked > 250, "only {checked} release lines checked");
}

#[test]
fn debian_cve_list_format() {
    let (_d, db, report) = build(&[fixtures().join("debian/CVE-list")]);
    assert_eq!(report.skipped, 0, "{:?}", report.problems);
    // bookworm has its own fixed version.
    let m = debian(&db, "12", "libexample1", Some("libexample"), "1.2-3");
    assert_eq!(
        ids(&m),
        BTreeSet::from(["CVE-2023-0001".to_owned(), "CVE-2023-0002".to_owned()])
    );
    let m0001 = m.iter().find(|m| m.id == "CVE-2023-0001").unwrap();
    assert_eq!(m0001.fixed_versions, vec!["1.2-3+deb12u1"]);
    assert_eq!(m0001.severity, Severity::Unknown); // no urgency on the bookworm line
    assert!(
        m0001
            .description
            .as_deref()
            .unwrap()
            .starts_with("Buffer overflow")
    );
    let m0002 = m.iter().find(|m| m.id == "CVE-2023-0002").unwrap();
    assert!(m0002.fixed_versions.is_empty(), "unfixed");
    assert_eq!(m0002.severity, Severity::Negligible); // (unimportant)
    let m = debian(
        &db,
        "12",
        "libexample1",
        Some("libexample"),
        "1.2-3+deb12u1",
    );
    assert_eq!(ids(&m), BTreeSet::from(["CVE-2023-0002".to_owned()]));
    // bullseye: <no-dsa> = affected, no fix.
    let m = debian(&db, "11", "libexample", None, "9.9-9");
    assert!(ids(&m).contains("CVE-2023-0001"));
    // buster: <not-affected>.
    let m = debian(&db, "10", "libexample", None, "1.0-1");
    assert!(!ids(&m).contains("CVE-2023-0001"));
    // A release without a line of its own follows unstable's line.
    let m = debian(&db, "13", "otherpkg", None, "1.9-1");
    assert_eq!(ids(&m), BTreeSet::from(["CVE-2023-0004".to_owned()]));
    assert_eq!(m[0].severity, Severity::Low);
    assert!(debian(&db, "13", "otherpkg", None, "2.0-1").is_empty());
    // bullseye has its own fix, below unstable's.
    let m = debian(&db, "11", "otherpkg", None, "1.9-1");
    assert_eq!(m[0].fixed_versions, vec!["1.9-1+deb11u1"]);
    assert!(debian(&db, "11", "otherpkg", None, "1.9-1+deb11u1").is_empty());
    // Removed packages and NOT-FOR-US entries match nothing.
    assert!(debian(&db, "12", "gonepkg", None, "0.1-1").is_empty());
}

fn alpine(db: &Database, release: &str, name: &str, v: &str) -> Vec<Match> {
    db.matches(&PackageQuery {
        target: Target::Os {
            distro: "alpine",
            release,
        },
        name,
        source_name: None,
        version: v,
    })
    .unwrap()
}

#[test]
fn alpine_secdb_yaml_and_json_against_their_own_fixed_versions() {
    let yaml = fixtures().join("alpine/v3.11-main.yaml");
    let json = fixtures().join("alpine/v3.10-main.json");
    let (_d, db, report) = build(&[yaml.clone(), json.clone()]);
    assert_eq!(report.skipped, 0, "{:?}", report.problems);
    let mut checked = 0;
    let docs = [
        ("3.11.6", yaml_secfixes(&yaml)),
        ("3.10", json_secfixes(&json)),
    ];
    for (release, pkgs) in docs {
        for (pkg, fixes) in pkgs {
            for (fixed, cves) in &fixes {
                // CVEs fixed only at or below this key.
                let lower_only: Vec<&String> = cves
                    .iter()
                    .filter(|c| {
                        fixes.iter().all(|(k, cs)| {
                            !cs.contains(c) || Scheme::Apk.compare(k, fixed).unwrap().is_le()
                        })
                    })
                    .collect();
                let at = ids(&alpine(&db, release, &pkg, fixed));
                for c in &lower_only {
                    assert!(!at.contains(*c), "{pkg} {fixed}: {c} still matches");
                }
                let below = ids(&alpine(&db, release, &pkg, "0.0.1-r0"));
                for c in cves {
                    assert!(below.contains(c), "{pkg} 0.0.1-r0: {c} missing");
                }
                checked += 1;
            }
            assert!(alpine(&db, "3.99", &pkg, "0.0.1-r0").is_empty());
        }
    }
    assert!(checked > 100, "only {checked}");
}

type Secfixes = BTreeMap<String, Vec<(String, Vec<String>)>>;

fn yaml_secfixes(p: &Path) -> Secfixes {
    let docs = yaml_rust2::YamlLoader::load_from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let mut out = Secfixes::new();
    for pkg in docs[0]["packages"].as_vec().unwrap() {
        let name = pkg["pkg"]["name"].as_str().unwrap().to_owned();
        let mut fixes = vec![];
        if let Some(h) = pkg["pkg"]["secfixes"].as_hash() {
            for (k, v) in h {
                let k = k
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{k:?}"));
                let cves = v
                    .as_vec()
                    .unwrap()
                    .iter()
                    .flat_map(|c| {
                        c.as_str()
                            .unwrap()
                            .split_whitespace()
                            .map(str::to_owned)
                            .collect::<Vec<_>>()
                    })
                    .collect();
                fixes.push((k, cves));
            }
        }
        out.insert(name, fixes);
    }
    out
}

fn json_secfixes(p: &Path) -> Secfixes {
    let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    let mut out = Secfixes::new();
    for pkg in v["packages"].as_array().unwrap() {
        let name = pkg["pkg"]["name"].as_str().unwrap().to_owned();
        let mut fixes = vec![];
        for (k, cs) in pkg["pkg"]["secfixes"].as_object().into_iter().flatten() {
            let cves = cs
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| {
                    c.as_str()
                        .unwrap()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect();
            fixes.push((k.clone(), cves));
        }
        out.insert(name, fixes);
    }
    out
}

/// Alpine secdb entries as written by hand (`tests/fixtures/feeds/alpine/v3.9-main-xen.yaml`,
/// from the real secdb): a placeholder `CVE-????-?????` is never an id (the XSA next to it
/// is), an entry's several identifiers are one row with the others as aliases, an XSA that
/// covers several CVEs leaves them separate rows, typos and remarks are not ids.
#[test]
fn alpine_placeholder_and_multi_identifier_entries() {
    let (_d, db, report) = build(&[fixtures().join("alpine/v3.9-main-xen.yaml")]);
    assert_eq!(report.skipped, 0, "{:?}", report.problems);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let xen = alpine(&db, "3.9", "xen", "4.6.0-r0");
    let rows: Vec<(&str, Vec<&str>)> = xen
        .iter()
        .map(|m| {
            (
                m.id.as_str(),
                m.aliases.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    for m in &xen {
        assert!(
            !m.id.contains('?') && !m.aliases.iter().any(|a| a.contains('?')),
            "{rows:?}"
        );
    }
    let row = |id: &str| {
        rows.iter()
            .find(|(i, _)| *i == id)
            .unwrap_or_else(|| panic!("{id} missing: {rows:?}"))
            .1
            .clone()
    };
    assert_eq!(row("XSA-295"), Vec::<&str>::new());
    assert_eq!(row("XSA-284"), Vec::<&str>::new());
    assert_eq!(row("CVE-2016-6258"), ["XSA-182"]);
    for cve in [
        "CVE-2018-12126",
        "CVE-2018-12127",
        "CVE-2018-12130",
        "CVE-2019-11091",
    ] {
        assert_eq!(row(cve), ["XSA-297"]);
    }
    for cve in ["CVE-2017-5753", "CVE-2017-5715", "CVE-2017-5754"] {
        assert_eq!(row(cve), ["XSA-254"]);
    }
    // Each identifier once: XSA-182 is CVE-2016-6258's alias, not a row of its own.
    assert!(
        rows.iter()
            .all(|(id, _)| !["XSA-182", "XSA-297", "XSA-254", "XPTI"].contains(id))
    );
    assert_eq!(rows.len(), 2 + 4 + 3 + 3, "{rows:?}");
    // Fixed at its key, the XSA-only row no longer matches.
    assert!(ids(&alpine(&db, "3.9", "xen", "4.11.2-r0")).is_empty());

    let one = |pkg: &str, v: &str| -> Vec<String> {
        alpine(&db, "3.9", pkg, v)
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    assert_eq!(one("ansible", "2.7.2-r0"), ["CVE-2018-16859"]);
    assert_eq!(one("tcpdump", "4.9.2-r0"), ["CVE-2018-14879"]);
    assert_eq!(one("openjdk7", "7.201.2.6.16-r0"), ["CVE-2019-2426"]);
}
