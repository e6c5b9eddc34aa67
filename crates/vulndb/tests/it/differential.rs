//! Differential tests: each ordering against its ecosystem's own implementation, on thousands
//! of real version strings (fixtures/versions/*.txt, taken from the feeds in
//! ../shared/vulndata). The reference tools are installed by scripts/test.sh (scripts/deps/*);
//! a missing tool FAILS the test with a message saying what to install.
//!
//! | ordering | reference | versions |
//! | --- | --- | --- |
//! | dpkg | python3-apt `apt_pkg.version_compare` | Debian DSA/DLA fixed versions |
//! | rpm | python3-rpm `labelCompare` | the Debian and Alpine versions, read as EVR |
//! | PEP 440 | PyPI `packaging` | PyPA advisory versions |
//! | npm | node `semver` | Go vulndb and PyPA versions |
//! | Maven | maven-artifact `ComparableVersion` | all of the above |
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use berth_vulndb::Scheme;
use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fixture(name: &str) -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/versions")
        .join(name);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Pairs to check: neighbours in our own order (the decisions that matter) and a spread of
/// far-apart pairs.
fn pairs(scheme: Scheme, versions: &[String]) -> Vec<(String, String)> {
    let mut v: Vec<String> = versions
        .iter()
        .filter(|s| scheme.parse(s).is_ok())
        .cloned()
        .collect();
    if scheme == Scheme::Maven {
        // ComparableVersion is not transitive (Maven 3.8.7 itself orders 1.1.2rc1 < 1.1.2 <
        // 1.1.2.dfsg-1.3 < 1.1.2rc1), and a sort must not be given such an order: sort by text.
        v.sort();
    } else {
        v.sort_by(|a, b| scheme.compare(a, b).unwrap());
    }
    let n = v.len();
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        if i + 1 < n {
            out.push((v[i].clone(), v[i + 1].clone()));
        }
        out.push((v[i].clone(), v[(i * 7919 + 13) % n].clone()));
    }
    out
}

/// Runs `cmd` with `input` on stdin and returns stdout lines; panics with `hint` when the
/// tool is missing or fails.
fn run(mut cmd: Command, input: &str, hint: &str) -> Vec<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}. {hint}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}. {hint}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn to_ord(s: &str) -> Ordering {
    match s.trim() {
        "-1" | "<" => Ordering::Less,
        "0" | "==" | "=" => Ordering::Equal,
        "1" | ">" => Ordering::Greater,
        other => panic!("unexpected reference output {other:?}"),
    }
}

fn compare_all(scheme: Scheme, pairs: &[(String, String)], reference: &[String], what: &str) {
    assert_eq!(pairs.len(), reference.len(), "{what}: output length");
    let mut bad = Vec::new();
    for ((a, b), r) in pairs.iter().zip(reference) {
        let want = to_ord(r);
        let got = scheme.compare(a, b).unwrap();
        if got != want {
            bad.push(format!(
                "{a} vs {b}: {what} says {want:?}, berth says {got:?}"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} pairs differ from {what}:\n{}",
        bad.len(),
        pairs.len(),
        bad[..bad.len().min(40)].join("\n")
    );
    eprintln!("{what}: {} pairs agree", pairs.len());
}

fn stdin_of(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect()
}

const DEBIAN_PYTHON: &str = "/usr/bin/python3";

#[test]
fn dpkg_matches_apt_pkg() {
    let versions = fixture("dpkg.txt");
    assert!(versions.len() >= 3000);
    let ps = pairs(Scheme::Dpkg, &versions);
    assert!(ps.len() >= 6000);
    let mut cmd = Command::new(DEBIAN_PYTHON);
    cmd.arg("-c").arg(
        "import sys, apt_pkg\napt_pkg.init_system()\nfor l in sys.stdin:\n a, b = l.rstrip('\\n').split('\\t')\n r = apt_pkg.version_compare(a, b)\n print((r > 0) - (r < 0))",
    );
    let out = run(
        cmd,
        &stdin_of(&ps),
        "install the Debian package python3-apt (scripts/deps/apt.txt)",
    );
    compare_all(Scheme::Dpkg, &ps, &out, "apt_pkg.version_compare");
}

#[test]
fn rpm_matches_label_compare() {
    let mut versions = fixture("dpkg.txt");
    versions.extend(fixture("apk.txt"));
    let ps = pairs(Scheme::Rpm, &versions);
    assert!(ps.len() >= 6000);
    let mut cmd = Command::new(DEBIAN_PYTHON);
    cmd.arg("-c").arg(
        "import sys, rpm\n\
def evr(s):\n e, v, r = None, s, None\n if ':' in v: e, v = v.split(':', 1)\n if '-' in v: v, r = v.rsplit('-', 1)\n return (e, v, r)\n\
for l in sys.stdin:\n a, b = l.rstrip('\\n').split('\\t')\n r = rpm.labelCompare(evr(a), evr(b))\n print((r > 0) - (r < 0))",
    );
    let out = run(
        cmd,
        &stdin_of(&ps),
        "install the Debian package python3-rpm (scripts/deps/apt.txt)",
    );
    compare_all(Scheme::Rpm, &ps, &out, "rpm.labelCompare");
}

fn test_python() -> PathBuf {
    std::env::var_os("BERTH_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".deps/venv/bin/python"))
}

#[test]
fn pep440_matches_packaging() {
    let versions = fixture("pep440.txt");
    assert!(versions.len() >= 3000);
    let hint =
        "run scripts/install-deps.sh (PyPI `packaging` in .deps/venv, or set BERTH_TEST_PYTHON)";
    // Validity: both accept and reject the same strings.
    let mut cmd = Command::new(test_python());
    cmd.arg("-c").arg(
        "import sys\nfrom packaging.version import Version, InvalidVersion\nfor l in sys.stdin:\n try:\n  Version(l.rstrip('\\n')); print(1)\n except InvalidVersion:\n  print(0)",
    );
    let input: String = versions.iter().map(|v| format!("{v}\n")).collect();
    let valid = run(cmd, &input, hint);
    let mut bad = vec![];
    for (v, ok) in versions.iter().zip(&valid) {
        if Scheme::Pep440.parse(v).is_ok() != (ok == "1") {
            bad.push(format!("{v}: packaging valid={ok}"));
        }
    }
    assert!(bad.is_empty(), "validity differs:\n{}", bad.join("\n"));
    let ps = pairs(Scheme::Pep440, &versions);
    let mut cmd = Command::new(test_python());
    cmd.arg("-c").arg(
        "import sys\nfrom packaging.version import Version\nfor l in sys.stdin:\n a, b = map(Version, l.rstrip('\\n').split('\\t'))\n print((a > b) - (a < b))",
    );
    let out = run(cmd, &stdin_of(&ps), hint);
    compare_all(Scheme::Pep440, &ps, &out, "packaging.version.Version");
}

#[test]
fn npm_matches_node_semver() {
    let mut versions = fixture("go.txt");
    versions.extend(fixture("pep440.txt"));
    versions.extend(fixture("go.txt").iter().step_by(5).map(|v| format!("v{v}")));
    let modules = std::env::var_os("BERTH_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".deps/node/node_modules"));
    let semver = modules.join("semver");
    let hint = "run scripts/install-deps.sh (npm `semver` in .deps/node, or set BERTH_TEST_NODE_MODULES) and install nodejs";
    assert!(semver.is_dir(), "{} is missing: {hint}", semver.display());
    let script = format!(
        "const s = require({:?}); const rl = require('readline').createInterface({{input: process.stdin}}); const out = []; \
         rl.on('line', l => {{ const [a, b] = l.split('\\t'); out.push(b === undefined ? (s.valid(a) ? '1' : '0') : String(s.compare(a, b))); }}); \
         rl.on('close', () => process.stdout.write(out.join('\\n') + '\\n'));",
        semver.display().to_string()
    );
    let mut cmd = Command::new("node");
    cmd.arg("-e").arg(&script);
    let input: String = versions.iter().map(|v| format!("{v}\n")).collect();
    let valid = run(cmd, &input, hint);
    let mut bad = vec![];
    for (v, ok) in versions.iter().zip(&valid) {
        if Scheme::Npm.parse(v).is_ok() != (ok == "1") {
            bad.push(format!("{v}: node-semver valid={ok}"));
        }
    }
    assert!(bad.is_empty(), "validity differs:\n{}", bad.join("\n"));
    let ps = pairs(Scheme::Npm, &versions);
    assert!(ps.len() >= 4000);
    let mut cmd = Command::new("node");
    cmd.arg("-e").arg(&script);
    let out = run(cmd, &stdin_of(&ps), hint);
    compare_all(Scheme::Npm, &ps, &out, "node semver.compare");
}

#[test]
fn maven_matches_comparable_version() {
    let mut versions = fixture("pep440.txt");
    versions.extend(fixture("go.txt"));
    versions.extend(fixture("apk.txt"));
    // Debian upstream versions (epoch and revision stripped).
    versions.extend(fixture("dpkg.txt").iter().map(|v| {
        let v = v.split_once(':').map_or(v.as_str(), |(_, r)| r);
        v.rsplit_once('-').map_or(v, |(u, _)| u).to_owned()
    }));
    versions.sort();
    versions.dedup();
    let ps = pairs(Scheme::Maven, &versions);
    assert!(ps.len() >= 10000);
    let jar = ["/usr/share/java/maven-artifact-3.x.jar", "/usr/share/java/maven-artifact.jar"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| panic!("maven-artifact jar missing: install the Debian package libmaven3-core-java (scripts/deps/apt.txt)"));
    // ComparableVersion's main compares each argument with the previous one.
    let mut out = Vec::with_capacity(ps.len());
    for chunk in ps.chunks(2000) {
        let mut cmd = Command::new("java");
        cmd.arg("-cp")
            .arg(jar)
            .arg("org.apache.maven.artifact.versioning.ComparableVersion");
        for (a, b) in chunk {
            cmd.arg(a).arg(b);
        }
        let lines = run(
            cmd,
            "",
            "install a JRE (default-jre-headless) and libmaven3-core-java",
        );
        // Lines "   PREV OP NEXT": keep the comparisons a_i OP b_i (every other one).
        let cmps: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("   "))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
            .collect();
        assert_eq!(
            cmps.len(),
            chunk.len() * 2 - 1,
            "unexpected ComparableVersion output"
        );
        out.extend(cmps.into_iter().step_by(2));
    }
    compare_all(Scheme::Maven, &ps, &out, "maven ComparableVersion");
}
