//! Rust `Cargo.lock` files: declared packages, read in `dir:` scans only (a lock lists every
//! crate of every target and platform, most of which a given binary does not contain; the
//! crates in a binary come from its cargo-auditable data, read in `binary`).
//!
//! Development-only crates: `Cargo.lock` has no dev marker (it lists the dev-dependencies of
//! the workspace members with everything else), so they are found from the members' own
//! `Cargo.toml` files, the only place the distinction is written. Members are the lock's
//! packages without a `source` (path packages); each one's `Cargo.toml` is looked for under
//! the lock's directory by package name. An edge from a member to a crate named only in its
//! `[dev-dependencies]` (or `[target.*.dev-dependencies]`) is a development edge; every other
//! edge (normal and build dependencies, and every edge of a non-member crate, whose
//! dev-dependencies cargo never resolves) is a production edge. A crate reachable from a member
//! through production edges is production; one reachable only through a development edge is
//! development-only. When a member's manifest is missing or unreadable, nothing in that lock
//! is marked: without it the two cannot be told apart, and a production crate must not be
//! dropped.
use std::collections::{HashMap, HashSet};

use super::common::{Found, declared_package, files_ending, purl};
use crate::fs::Filesystem;
use crate::model::PackageType;

/// One `[[package]]` of a lock: name, version, source (none for path packages) and its
/// `dependencies` entries as written (`name`, `name version` or `name version (source)`).
#[derive(Debug, Clone, PartialEq)]
pub struct LockPackage {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub deps: Vec<String>,
}

pub fn parse_cargo_lock(text: &str) -> Result<Vec<LockPackage>, String> {
    let v: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let str_of = |p: &toml::Value, k: &str| p.get(k).and_then(|x| x.as_str()).map(str::to_string);
    if let Some(pkgs) = v.get("package").and_then(|p| p.as_array()) {
        for p in pkgs {
            if let (Some(name), Some(version)) = (str_of(p, "name"), str_of(p, "version")) {
                let deps = p
                    .get("dependencies")
                    .and_then(|d| d.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(LockPackage {
                    name,
                    version,
                    source: str_of(p, "source"),
                    deps,
                });
            }
        }
    }
    Ok(out)
}

/// What a member's `Cargo.toml` says about its dependencies: the crate names (after `package =`
/// renames) of its normal and build dependencies, and of its dev-dependencies.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ManifestDeps {
    pub normal: HashSet<String>,
    pub dev: HashSet<String>,
}

/// The package name of a `Cargo.toml` and its dependency names by kind; `None` for a file
/// that is not a package manifest (a virtual workspace root) or does not parse.
pub fn parse_manifest(text: &str) -> Option<(String, ManifestDeps)> {
    let v: toml::Value = toml::from_str(text).ok()?;
    let name = v.get("package")?.get("name")?.as_str()?.to_string();
    let mut deps = ManifestDeps::default();
    let mut add = |table: Option<&toml::Value>, dev: bool| {
        let Some(t) = table.and_then(|t| t.as_table()) else {
            return;
        };
        for (key, spec) in t {
            let real = spec
                .get("package")
                .and_then(|p| p.as_str())
                .unwrap_or(key)
                .to_string();
            if dev {
                deps.dev.insert(real);
            } else {
                deps.normal.insert(real);
            }
        }
    };
    let sections = |t: &toml::Value, add: &mut dyn FnMut(Option<&toml::Value>, bool)| {
        add(t.get("dependencies"), false);
        add(t.get("build-dependencies"), false);
        add(t.get("build_dependencies"), false);
        add(t.get("dev-dependencies"), true);
        add(t.get("dev_dependencies"), true);
    };
    sections(&v, &mut add);
    if let Some(targets) = v.get("target").and_then(|t| t.as_table()) {
        for t in targets.values() {
            sections(t, &mut add);
        }
    }
    Some((name, deps))
}

/// For each lock package: development-only. `None` when a member's manifest is missing.
pub fn dev_flags(
    pkgs: &[LockPackage],
    manifests: &HashMap<String, ManifestDeps>,
) -> Option<Vec<bool>> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in pkgs.iter().enumerate() {
        by_name.entry(p.name.as_str()).or_default().push(i);
    }
    // `name`, `name version` or `name version (source)`: the version picks among crates of
    // the same name, as cargo writes it only when the name alone is ambiguous.
    let resolve = |dep: &str| -> Option<usize> {
        let mut words = dep.split_whitespace();
        let name = words.next()?;
        let version = words.next();
        let cands = by_name.get(name)?;
        cands
            .iter()
            .copied()
            .find(|&i| version.is_none_or(|v| pkgs[i].version == v))
    };
    let members: Vec<usize> = (0..pkgs.len())
        .filter(|&i| pkgs[i].source.is_none())
        .collect();
    let mut prod_roots = Vec::new();
    let mut dev_roots = Vec::new();
    for &m in &members {
        let manifest = manifests.get(&pkgs[m].name)?;
        prod_roots.push(m);
        for d in &pkgs[m].deps {
            let Some(j) = resolve(d) else { continue };
            let name = pkgs[j].name.as_str();
            if manifest.dev.contains(name) && !manifest.normal.contains(name) {
                dev_roots.push(j);
            } else {
                prod_roots.push(j);
            }
        }
    }
    let reach = |start: Vec<usize>| -> Vec<bool> {
        let mut seen = vec![false; pkgs.len()];
        let mut stack = start;
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            // A member's own edges were sorted into the roots above; past the roots every
            // edge is a production edge of the crate it leaves.
            if pkgs[i].source.is_none() {
                continue;
            }
            stack.extend(pkgs[i].deps.iter().filter_map(|d| resolve(d)));
        }
        seen
    };
    let prod = reach(prod_roots);
    let dev = reach(dev_roots);
    Some(prod.iter().zip(&dev).map(|(p, d)| *d && !*p).collect())
}

pub fn catalog(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    let mut out = Vec::new();
    for e in files_ending(fs, "/Cargo.lock") {
        let Some(b) = super::common::content(e) else {
            continue;
        };
        let pkgs = match parse_cargo_lock(&String::from_utf8_lossy(b)) {
            Ok(p) => p,
            Err(err) => {
                warnings.push(format!("{}: {err}", e.path));
                continue;
            }
        };
        let dir = e.path.rsplit_once('/').map_or("", |(d, _)| d);
        let mut manifests = HashMap::new();
        for m in fs.under(dir).filter(|m| m.path.ends_with("/Cargo.toml")) {
            let Some(text) = super::common::content(m) else {
                continue;
            };
            if let Some((name, deps)) = parse_manifest(&String::from_utf8_lossy(text)) {
                manifests.insert(name, deps);
            }
        }
        let dev = dev_flags(&pkgs, &manifests);
        for (i, p) in pkgs.iter().enumerate() {
            let pkg = declared_package(
                &p.name,
                &p.version,
                PackageType::RustCrate,
                purl::build("cargo", None, &p.name, &p.version, &[]),
                "rust-cargo-lock-cataloger",
                dev.as_ref().is_some_and(|d| d[i]),
            );
            out.push(Found {
                pkg,
                path: e.path.clone(),
                layer: e.layer,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde", "tempfile", "cc", "helper"]

[[package]]
name = "helper"
version = "0.1.0"
dependencies = ["proptest"]

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "tempfile"
version = "3.10.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["fastrand", "rand 0.8.5"]

[[package]]
name = "fastrand"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "proptest"
version = "1.4.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["rand 0.8.5", "serde"]

[[package]]
name = "rand"
version = "0.8.5"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "rand"
version = "0.9.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "cc"
version = "1.0.90"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    fn manifests() -> HashMap<String, ManifestDeps> {
        let app = "[package]\nname = \"app\"\n\n[dependencies]\nserde = \"1\"\nhelper = { path = \"helper\" }\n\n[build-dependencies]\ncc = \"1\"\n\n[target.'cfg(unix)'.dev-dependencies]\ntmp = { package = \"tempfile\", version = \"3\" }\n";
        let helper = "[package]\nname = \"helper\"\n\n[dev-dependencies]\nproptest = \"1\"\n";
        [app, helper]
            .iter()
            .filter_map(|t| parse_manifest(t))
            .collect()
    }

    #[test]
    fn dev_only_crates_from_the_members_manifests() {
        let pkgs = parse_cargo_lock(LOCK).unwrap();
        let flags = dev_flags(&pkgs, &manifests()).unwrap();
        let dev: Vec<String> = pkgs
            .iter()
            .zip(&flags)
            .filter(|(_, d)| **d)
            .map(|(p, _)| format!("{}@{}", p.name, p.version))
            .collect();
        // tempfile (renamed, target-specific dev-dependency) and what only it and proptest
        // bring; serde stays production although proptest needs it too; rand 0.9.0 is reached
        // by nothing (the lock's `rand 0.8.5` picks the version), so it is not marked.
        assert_eq!(
            dev,
            [
                "tempfile@3.10.0",
                "fastrand@2.0.0",
                "proptest@1.4.0",
                "rand@0.8.5"
            ]
        );
    }

    #[test]
    fn without_a_members_manifest_nothing_is_marked() {
        let pkgs = parse_cargo_lock(LOCK).unwrap();
        let mut m = manifests();
        m.remove("helper");
        assert_eq!(dev_flags(&pkgs, &m), None);
        assert_eq!(parse_manifest("[workspace]\nmembers = [\"a\"]\n"), None);
    }
}
