//! Vulnerability matching through berth_vulndb, suppression, and every output format validated
//! against its JSON schema (fixtures/schemas, schema/report-1.0.schema.json).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_scan::output::{Format, render};
use berth_scan::suppress;
use berth_scan::{Report, Severity};
use common::*;
use serde_json::Value;

fn load(path: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn validate(schema: &Value, resources: Vec<(&str, Value)>, doc: &Value) {
    let mut opts = jsonschema::options();
    for (uri, v) in resources {
        opts = opts.with_resource(uri, jsonschema::Resource::from_contents(v));
    }
    let validator = opts.build(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
}

const OSV_REQUESTS: &str = r#"{
  "schema_version": "1.6.0",
  "id": "GHSA-9wx4-h78v-vm56",
  "modified": "2024-06-10T00:00:00Z",
  "aliases": ["CVE-2024-35195"],
  "summary": "Requests Session object does not verify requests after making first request with verify=False",
  "details": "When making requests through a Requests Session ...",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N"}],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}]}],
  "references": [{"type": "ADVISORY", "url": "https://github.com/psf/requests/security/advisories/GHSA-9wx4-h78v-vm56"}],
  "database_specific": {"severity": "MODERATE"}
}"#;

const OSV_LODASH: &str = r#"{
  "schema_version": "1.6.0",
  "id": "GHSA-35jh-r3h4-6jhm",
  "modified": "2024-01-01T00:00:00Z",
  "aliases": ["CVE-2021-23337"],
  "summary": "Command Injection in lodash",
  "details": "lodash template injection",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{"package": {"ecosystem": "npm", "name": "lodash"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}],
  "database_specific": {"severity": "HIGH"}
}"#;

/// Builds a vulnerability database from OSV files with the vulndb importer.
fn database() -> (tempfile::TempDir, berth_vulndb::Database) {
    let dir = tempfile::tempdir().unwrap();
    let feeds = dir.path().join("feeds");
    std::fs::create_dir_all(&feeds).unwrap();
    std::fs::write(feeds.join("GHSA-9wx4-h78v-vm56.json"), OSV_REQUESTS).unwrap();
    std::fs::write(feeds.join("GHSA-35jh-r3h4-6jhm.json"), OSV_LODASH).unwrap();
    let db_dir = dir.path().join("db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(berth_vulndb::import(
        &db_dir,
        &[feeds.display().to_string()],
    ))
    .unwrap();
    let db = berth_vulndb::Database::open(&db_dir).unwrap();
    (dir, db)
}

fn sample_report() -> Report {
    let img = Image::new(
        vec![
            Layer::new("ADD rootfs").file("/etc/os-release", DEBIAN_OS_RELEASE).file("/var/lib/dpkg/status", b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n"),
            Layer::new("RUN pip install requests==2.31.0 && npm i lodash@4.17.20")
                .file("/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", b"Name: requests\nVersion: 2.31.0\nLicense: Apache-2.0\n")
                .file("/app/node_modules/lodash/package.json", br#"{"name":"lodash","version":"4.17.20","license":"MIT"}"#)
                .file("/tmp/eicar.com", &eicar()),
        ],
        Comp::Gzip,
    )
    .with_config(|c| c["config"] = serde_json::json!({"User": "app"}));
    let mut r = scan(&img);
    let (_dir, db) = database();
    berth_scan::vuln::match_report(&mut r, &db).unwrap();
    r
}

#[test]
fn vulnerabilities_are_matched_with_package_and_layer() {
    let r = sample_report();
    let ids: Vec<&str> = r.vulnerabilities.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids,
        ["GHSA-35jh-r3h4-6jhm", "GHSA-9wx4-h78v-vm56"],
        "{:#?}",
        r.vulnerabilities
    );
    let v = r
        .vulnerabilities
        .iter()
        .find(|v| v.id == "GHSA-9wx4-h78v-vm56")
        .unwrap();
    assert_eq!(v.package_purl, "pkg:pypi/requests@2.31.0");
    assert_eq!(v.installed_version, "2.31.0");
    assert_eq!(v.fixed_versions, ["2.32.0"]);
    assert_eq!(v.fixed_version.as_deref(), Some("2.32.0"));
    assert!(!v.severity_source.is_empty() && v.severity_source != "none");
    assert!(v.aliases.contains(&"CVE-2024-35195".to_string()));
    assert_eq!(v.layer.as_ref().unwrap().index, 1);
    assert!(!v.cvss.is_empty());
    let l = r
        .vulnerabilities
        .iter()
        .find(|v| v.package_name == "lodash")
        .unwrap();
    assert!(l.severity >= Severity::High);
}

#[test]
fn ignore_file_with_expiry_and_reason() {
    let mut r = sample_report();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(".berthignore");
    std::fs::write(&p, "# accepted risks\nCVE-2024-35195 exp:2999-01-01 # verify=False is never used\nGHSA-35jh-r3h4-6jhm exp:2000-01-01 # expired\nBERTH-CFG-003\n").unwrap();
    let rules = suppress::parse_ignore_file(&p).unwrap();
    suppress::apply_ignore(&mut r, &rules, ".berthignore", &suppress::today());
    assert_eq!(
        r.vulnerabilities.len(),
        1,
        "the expired rule suppresses nothing"
    );
    assert!(r.warnings.iter().any(|w| w.contains("expired")));
    let s = r
        .suppressed
        .iter()
        .find(|s| s.id == "GHSA-9wx4-h78v-vm56")
        .unwrap();
    assert_eq!(
        (s.by.as_str(), s.reason.as_str(), s.expires.as_deref()),
        (
            "ignore-file",
            "verify=False is never used",
            Some("2999-01-01")
        )
    );
    assert!(r.suppressed.iter().any(|s| s.id == "BERTH-CFG-003"));
    // TOML form, restricted to a purl.
    let p = dir.path().join("ignore.toml");
    std::fs::write(&p, "[[ignore]]\nid = \"CVE-2021-23337\"\nreason = \"not reachable\"\npurl = \"pkg:npm/lodash\"\n").unwrap();
    suppress::apply_ignore(
        &mut r,
        &suppress::parse_ignore_file(&p).unwrap(),
        "ignore.toml",
        &suppress::today(),
    );
    assert!(r.vulnerabilities.is_empty());
    std::fs::write(&p, "[[ignore]]\nid = \"X\"\nexpires = \"tomorrow\"\n").unwrap();
    assert!(suppress::parse_ignore_file(&p).is_err());
}

#[test]
fn openvex_not_affected_suppresses() {
    let mut r = sample_report();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vex.json");
    std::fs::write(&p, r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"sec","timestamp":"2024-01-01T00:00:00Z","version":1,
      "statements":[
        {"vulnerability":{"name":"CVE-2021-23337"},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:npm/lodash@4.17.20"}]}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
        {"vulnerability":{"name":"GHSA-9wx4-h78v-vm56"},"products":[{"@id":"pkg:pypi/requests@2.31.0"}],"status":"under_investigation"}
      ]}"#).unwrap();
    let st = suppress::parse_openvex(&p).unwrap();
    suppress::apply_openvex(&mut r, &st, "vex.json");
    let ids: Vec<&str> = r.vulnerabilities.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["GHSA-9wx4-h78v-vm56"]);
    let s = &r.suppressed[0];
    assert_eq!(
        (s.by.as_str(), s.status.as_deref(), s.reason.as_str()),
        (
            "openvex",
            Some("not_affected"),
            "vulnerable_code_not_in_execute_path"
        )
    );
}

#[test]
fn json_output_matches_the_report_schema() {
    let r = sample_report();
    let doc: Value = serde_json::from_str(&render(&r, Format::Json, false)).unwrap();
    validate(&load("schema/report-1.0.schema.json"), vec![], &doc);
    // and reads back
    let back: Report = serde_json::from_value(doc).unwrap();
    assert_eq!(back.packages, r.packages);
}

#[test]
fn cyclonedx_output_matches_the_cyclonedx_1_5_schema() {
    let r = sample_report();
    let doc: Value = serde_json::from_str(&render(&r, Format::CycloneDx, false)).unwrap();
    validate(
        &load("fixtures/schemas/bom-1.5.schema.json"),
        vec![
            (
                "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
                load("fixtures/schemas/spdx.schema.json"),
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
                load("fixtures/schemas/jsf-0.82.schema.json"),
            ),
        ],
        &doc,
    );
    assert_eq!(
        doc["components"].as_array().unwrap().len(),
        r.packages.len() + 1
    );
    assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["vulnerabilities"][0]["affects"][0]["ref"],
        "pkg:npm/lodash@4.17.20"
    );
    let rating = &doc["vulnerabilities"][0]["ratings"][0];
    assert!(
        rating["justification"]
            .as_str()
            .unwrap()
            .starts_with("severity from "),
        "{rating}"
    );
}

#[test]
fn spdx_output_matches_the_spdx_2_3_schema() {
    let r = sample_report();
    let doc: Value = serde_json::from_str(&render(&r, Format::Spdx, false)).unwrap();
    validate(
        &load("fixtures/schemas/spdx-2.3-subset.schema.json"),
        vec![],
        &doc,
    );
    assert_eq!(
        doc["packages"].as_array().unwrap().len(),
        r.packages.len() + 1
    );
}

#[test]
fn sarif_output_matches_the_sarif_2_1_0_schema() {
    let r = sample_report();
    let doc: Value = serde_json::from_str(&render(&r, Format::Sarif, false)).unwrap();
    validate(
        &load("fixtures/schemas/sarif-2.1.0.schema.json"),
        vec![],
        &doc,
    );
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        r.vulnerabilities.len() + r.malware.len() + r.baseline.len()
    );
}

#[test]
fn table_output_groups_and_colours() {
    let r = sample_report();
    let plain = render(&r, Format::Table, false);
    for needle in [
        "Vulnerabilities: npm",
        "Vulnerabilities: python",
        "Malware",
        "Baseline",
        "GHSA-9wx4-h78v-vm56",
        "EICAR",
    ] {
        assert!(plain.contains(needle), "{needle} missing:\n{plain}");
    }
    assert!(!plain.contains("\x1b["));
    assert!(render(&r, Format::Table, true).contains("\x1b[1;31m"));
}

/// The table as a person reads it, for the sample report: packages, every kind of finding, the
/// layers. The image is an OCI layout in a temp dir: its path is the one part that varies.
#[test]
fn table_output_snapshot() {
    let r = sample_report();
    let table = render(&r, Format::Table, false).replace(&r.source.name, "[oci-dir]");
    insta::assert_snapshot!("table", table);
}

/// A `dir:` scan with one installed package that a lockfile also declares, one declared only
/// and one development-only dependency (with `include_dev`): each format says how each package
/// was found, and stays valid against its schema.
#[test]
fn evidence_is_in_every_format() {
    let lock = br#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/lodash":{"version":"4.17.20"},"node_modules/ms":{"version":"2.1.3"},"node_modules/jest":{"version":"29.7.0","dev":true}}}"#;
    let r = scan_as_dir(
        vec![
            Layer::new("COPY")
                .file("/app/package-lock.json", lock)
                .file(
                    "/app/node_modules/lodash/package.json",
                    br#"{"name":"lodash","version":"4.17.20"}"#,
                ),
        ],
        berth_scan::ScanOptions {
            include_dev: true,
            ..options()
        },
    );
    let json: Value = serde_json::from_str(&render(&r, Format::Json, false)).unwrap();
    validate(&load("schema/report-1.0.schema.json"), vec![], &json);
    let pkg = |name: &str| {
        json["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(pkg("lodash")["evidence"], "installed");
    let lodash = pkg("lodash");
    let evidence: Vec<&str> = lodash["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["evidence"].as_str().unwrap())
        .collect();
    assert_eq!(evidence.len(), 2);
    assert!(evidence.contains(&"installed") && evidence.contains(&"declared"));
    assert_eq!(pkg("ms")["evidence"], "declared");
    assert_eq!(pkg("jest")["dev"], true);

    let cdx: Value = serde_json::from_str(&render(&r, Format::CycloneDx, false)).unwrap();
    validate(
        &load("fixtures/schemas/bom-1.5.schema.json"),
        vec![
            (
                "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
                load("fixtures/schemas/spdx.schema.json"),
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
                load("fixtures/schemas/jsf-0.82.schema.json"),
            ),
        ],
        &cdx,
    );
    let comp = |name: &str| {
        cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let ms = comp("ms");
    assert_eq!(
        ms["evidence"]["occurrences"][0]["location"],
        "/app/package-lock.json"
    );
    assert_eq!(
        ms["evidence"]["identity"]["methods"][0]["technique"],
        "manifest-analysis"
    );
    assert!(
        ms["evidence"]["identity"]["methods"][0]["value"]
            .as_str()
            .unwrap()
            .contains("declared")
    );
    assert!(
        ms["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "berth:package:evidence" && p["value"] == "declared")
    );
    assert_eq!(
        comp("lodash")["evidence"]["occurrences"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let spdx: Value = serde_json::from_str(&render(&r, Format::Spdx, false)).unwrap();
    validate(
        &load("fixtures/schemas/spdx-2.3-subset.schema.json"),
        vec![],
        &spdx,
    );
    let info = |name: &str| {
        spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["sourceInfo"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        info("ms").contains("declared: /app/package-lock.json"),
        "{}",
        info("ms")
    );
    assert!(info("lodash").contains("installed: /app/node_modules/lodash/package.json"));
    assert!(info("jest").contains("development-only"));
}

/// A Go standard-library finding names the binaries it was found in: the same toolchain in two
/// binaries is one package, and the table and JSON say which programs to rebuild.
#[test]
fn go_stdlib_findings_name_their_binaries() {
    let go_bin = |path: &str| {
        let mut bin = elf_with_sections(&[(".text", b"\x90\x90")]);
        while !bin.len().is_multiple_of(16) {
            bin.push(0);
        }
        bin.extend(berth_scan::catalog::binary::build_go_buildinfo(
            "go1.21.5",
            &format!("path\texample.com/{path}\nmod\texample.com/{path}\tv1.0.0\th1:x\n"),
        ));
        bin
    };
    let img = Image::new(
        vec![
            Layer::new("COPY")
                .file_mode("/usr/bin/alpha", &go_bin("alpha"), 0o755)
                .file_mode("/usr/bin/beta", &go_bin("beta"), 0o755),
        ],
        Comp::Gzip,
    );
    let mut r = scan(&img);
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("GO-2099-0001.json");
    std::fs::write(
        &feed,
        r#"{"id": "GO-2099-0001", "summary": "net/http: a flaw",
 "affected": [{"package": {"ecosystem": "Go", "name": "stdlib"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.21.6"}, {"introduced": "1.22.0"}, {"fixed": "1.22.1"}]}]}]}"#,
    )
    .unwrap();
    let db_dir = dir.path().join("db");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(berth_vulndb::import(&db_dir, &[feed.display().to_string()]))
        .unwrap();
    let db = berth_vulndb::Database::open(&db_dir).unwrap();
    berth_scan::vuln::match_report(&mut r, &db).unwrap();
    assert_eq!(r.vulnerabilities.len(), 1, "{:#?}", r.vulnerabilities);
    let v = &r.vulnerabilities[0];
    assert_eq!(v.paths, ["/usr/bin/alpha", "/usr/bin/beta"]);
    assert_eq!(v.fixed_versions, ["1.21.6", "1.22.1"]);
    assert_eq!(v.fixed_version.as_deref(), Some("1.21.6"));
    assert_eq!(v.severity_source, "none");
    let table = render(&r, Format::Table, false);
    assert!(table.contains("stdlib (/usr/bin/alpha +1)"), "{table}");
    let doc: Value = serde_json::from_str(&render(&r, Format::Json, false)).unwrap();
    validate(&load("schema/report-1.0.schema.json"), vec![], &doc);
}
