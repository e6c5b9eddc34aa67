//! npm: every `package.json` with a name and version (as Syft's javascript-package-cataloger),
//! plus the lockfiles of npm (`package-lock.json`: v1 `dependencies`, v2/v3 `packages`), yarn
//! (`yarn.lock`, classic and berry) and pnpm (`pnpm-lock.yaml`, lockfile versions 5, 6 and 9).
//! Lock entries that are also installed merge with them by purl. Lockfiles inside
//! `node_modules` describe a dependency's own development, not what is installed: skipped, as
//! Syft does.
use serde_json::Value;

use super::{Found, files_ending, new_package, purl};
use crate::fs::Filesystem;
use crate::model::PackageType;

pub fn npm_purl(name: &str, version: &str) -> String {
    match name.split_once('/') {
        Some((scope, n)) if scope.starts_with('@') => {
            purl::build("npm", Some(scope), n, version, &[])
        }
        _ => purl::build("npm", None, name, version, &[]),
    }
}

fn license_of(v: &Value) -> Vec<String> {
    match v.get("license") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Object(o)) => o
            .get("type")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        _ => match v.get("licenses") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|l| {
                    l.get("type")
                        .and_then(Value::as_str)
                        .or(l.as_str())
                        .map(str::to_string)
                })
                .collect(),
            _ => vec![],
        },
    }
}

pub fn parse_package_json(b: &[u8]) -> Option<(String, String, Vec<String>)> {
    let v: Value = serde_json::from_slice(b).ok()?;
    let name = v.get("name")?.as_str()?.to_string();
    let version = v.get("version")?.as_str()?.to_string();
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name, version, license_of(&v)))
}

pub fn parse_lock(b: &[u8]) -> Result<Vec<(String, String)>, String> {
    let v: Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if let Some(pkgs) = v.get("packages").and_then(Value::as_object) {
        for (path, p) in pkgs {
            if path.is_empty() || p.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    path.rsplit_once("node_modules/")
                        .map(|(_, n)| n.to_string())
                        .unwrap_or_default()
                });
            if let (false, Some(ver)) = (name.is_empty(), p.get("version").and_then(Value::as_str))
            {
                out.push((name, ver.to_string()));
            }
        }
    } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
        fn walk(
            deps: &serde_json::Map<String, Value>,
            out: &mut Vec<(String, String)>,
            depth: usize,
        ) {
            if depth > 64 {
                return;
            }
            for (name, d) in deps {
                if let Some(ver) = d.get("version").and_then(Value::as_str) {
                    out.push((name.clone(), ver.to_string()));
                }
                if let Some(sub) = d.get("dependencies").and_then(Value::as_object) {
                    walk(sub, out, depth + 1);
                }
            }
        }
        walk(deps, &mut out, 0);
    }
    Ok(out)
}

pub fn catalog(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    let mut out = Vec::new();
    for e in files_ending(fs, "/package.json") {
        let Some(b) = super::content(e) else { continue };
        let Some((name, version, licenses)) = parse_package_json(b) else {
            continue;
        };
        let mut pkg = new_package(
            &name,
            &version,
            PackageType::Npm,
            npm_purl(&name, &version),
            "javascript-package-cataloger",
        );
        pkg.licenses = licenses;
        out.push(Found {
            pkg,
            path: e.path.clone(),
            layer: e.layer,
        });
    }
    let locks = files_ending(fs, "/package-lock.json")
        .chain(files_ending(fs, "/yarn.lock"))
        .chain(files_ending(fs, "/pnpm-lock.yaml"))
        .filter(|e| !e.path.contains("/node_modules/"));
    for e in locks {
        let Some(b) = super::content(e) else { continue };
        let parsed = if e.path.ends_with("/yarn.lock") {
            Ok(parse_yarn_lock(&String::from_utf8_lossy(b)))
        } else if e.path.ends_with("/pnpm-lock.yaml") {
            parse_pnpm_lock(&String::from_utf8_lossy(b))
        } else {
            parse_lock(b)
        };
        match parsed {
            Ok(list) => {
                for (name, version) in list {
                    let pkg = new_package(
                        &name,
                        &version,
                        PackageType::Npm,
                        npm_purl(&name, &version),
                        "javascript-lock-cataloger",
                    );
                    out.push(Found {
                        pkg,
                        path: e.path.clone(),
                        layer: e.layer,
                    });
                }
            }
            Err(err) => warnings.push(format!("{}: {err}", e.path)),
        }
    }
    out
}

/// Protocols of yarn lock entries that do not name a registry package (local paths, links,
/// patches of another entry, git checkouts): skipped, as Syft does.
fn yarn_ignored_protocol(protocol: &str) -> bool {
    matches!(
        protocol,
        "patch"
            | "file"
            | "link"
            | "portal"
            | "github"
            | "git"
            | "git+ssh"
            | "git+http"
            | "git+https"
            | "git+file"
            | "exec"
    )
}

/// The package an npm alias installs: `alias@npm:real@range` -> `real` (`None` for a plain
/// `name@npm:range`).
fn yarn_alias_target(pattern: &str) -> Option<&str> {
    let p = pattern.trim().trim_matches('"').trim();
    let at = p.get(1..)?.find('@')? + 1;
    let range = p.get(at + 1..)?.strip_prefix("npm:")?;
    yarn_pattern(range).map(|(name, _)| name)
}

/// `name@[protocol:]range` -> (name, protocol). Names may be scoped (`@scope/name@...`).
fn yarn_pattern(pattern: &str) -> Option<(&str, &str)> {
    let p = pattern.trim().trim_matches('"').trim();
    let at = if let Some(rest) = p.strip_prefix('@') {
        rest.find('@')? + 1
    } else {
        p.find('@')?
    };
    let (name, rest) = (p.get(..at)?, p.get(at + 1..)?);
    if name.is_empty() {
        return None;
    }
    let protocol = match rest.split_once(':') {
        Some((proto, _))
            if !proto.is_empty()
                && proto
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-') =>
        {
            proto
        }
        _ => "",
    };
    Some((name, protocol))
}

/// The package name in a registry tarball URL (`.../@scope/name/-/name-1.2.3.tgz`).
fn name_from_resolved(resolved: &str) -> Option<&str> {
    let rest = resolved
        .strip_prefix("https://registry.yarnpkg.com/")
        .or_else(|| resolved.strip_prefix("https://registry.npmjs.org/"))?;
    let (name, _) = rest.split_once("/-/")?;
    (!name.is_empty()).then_some(name)
}

/// `yarn.lock`, classic (v1: `version "1.2.3"`) and berry (v2+: YAML, `version: 1.2.3`), read
/// line by line as Syft does: an entry is a non-indented `patterns:` line, its `version` and
/// `resolved` fields. `__metadata`, entries of local/link/patch/git protocols and workspace
/// entries (`0.0.0-use.local`, the project's own packages) are skipped; name@version pairs are
/// reported once.
pub fn parse_yarn_lock(text: &str) -> Vec<(String, String)> {
    struct Entry {
        name: String,
        version: Option<String>,
        resolved_name: Option<String>,
    }
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut finish = |e: Option<Entry>, out: &mut Vec<(String, String)>| {
        let Some(e) = e else { return };
        let Some(version) = e.version else { return };
        let name = e.resolved_name.unwrap_or(e.name);
        if version == "0.0.0-use.local" || version.is_empty() {
            return;
        }
        if seen.insert((name.clone(), version.clone())) {
            out.push((name, version));
        }
    };
    let mut current: Option<Entry> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('\t') {
            finish(current.take(), &mut out);
            let Some(header) = line.strip_suffix(':') else {
                continue;
            };
            if header.trim_matches('"') == "__metadata" {
                continue;
            }
            let first = header.split(',').next().unwrap_or(header);
            current = match yarn_pattern(first) {
                Some((_, proto)) if yarn_ignored_protocol(proto) || proto == "workspace" => None,
                Some((name, _)) => Some(Entry {
                    // An alias (`alias@npm:real@range`) installs the real package.
                    name: yarn_alias_target(first).unwrap_or(name).to_string(),
                    version: None,
                    resolved_name: None,
                }),
                None => None,
            };
            continue;
        }
        let Some(e) = current.as_mut() else { continue };
        // Fields of the entry are indented by exactly two spaces (dependencies by four).
        let Some(field) = line.strip_prefix("  ") else {
            continue;
        };
        if field.starts_with(' ') {
            continue;
        }
        let (key, value) = match field.split_once([' ', ':']) {
            Some((k, v)) => (k.trim_matches('"'), v.trim_start_matches(':').trim()),
            None => continue,
        };
        let value = value.trim_matches('"');
        match key {
            "version" => e.version = Some(value.to_string()),
            "resolved" => e.resolved_name = name_from_resolved(value).map(str::to_string),
            // berry: `resolution: "real-name@npm:1.2.3"` names what was installed.
            "resolution" => {
                e.resolved_name = yarn_pattern(value).map(|(name, _)| name.to_string());
            }
            _ => {}
        }
    }
    finish(current.take(), &mut out);
    out
}

/// A `pnpm-lock.yaml` package key -> (name, version). Key forms by lockfile version:
/// 5.x `/name/1.2.3_peer@4.5.6`, 6.x `/name@1.2.3(peer@4.5.6)`, 9.x `name@1.2.3(peer@4.5.6)`.
fn pnpm_key(key: &str, v5: bool) -> Option<(String, String)> {
    // `file:`, `link:` and other protocol keys, and 5.x keys of git hosts
    // (`github.com/user/repo/<commit>`), are not registry packages.
    if key.contains(':') || (v5 && !key.starts_with('/')) {
        return None;
    }
    let k = key.strip_prefix('/').unwrap_or(key);
    // Peer-dependency suffixes.
    let k = k.split('(').next().unwrap_or(k);
    let (name, version) = if v5 {
        let (name, version) = k.rsplit_once('/')?;
        (name, version.split('_').next().unwrap_or(version))
    } else {
        let at = k.get(1..)?.rfind('@')? + 1;
        (k.get(..at)?, k.get(at + 1..)?)
    };
    // Local and remote-tarball packages (`file:`, `link:`, URLs) carry no registry version.
    if name.is_empty() || version.is_empty() || version.contains(':') || version.contains('/') {
        return None;
    }
    Some((name.to_string(), version.to_string()))
}

/// How deep a `pnpm-lock.yaml` may nest (pnpm writes 4 or 5 levels).
const PNPM_MAX_DEPTH: usize = 64;

/// `pnpm-lock.yaml` (lockfile versions 5, 6 and 9): every key of `packages`, as Syft reads it,
/// in every document (pnpm 11 writes an "env" document before the project's).
pub fn parse_pnpm_lock(text: &str) -> Result<Vec<(String, String)>, String> {
    // The lockfile comes from the image: no aliases, no bomb-deep nesting.
    let docs = berth_vulndb::yaml::load_untrusted(text, PNPM_MAX_DEPTH)?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for doc in &docs {
        pnpm_document(doc, &mut out, &mut seen);
    }
    Ok(out)
}

fn pnpm_document(
    doc: &yaml_rust2::Yaml,
    out: &mut Vec<(String, String)>,
    seen: &mut std::collections::HashSet<(String, String)>,
) {
    use yaml_rust2::Yaml;
    let version = match &doc["lockfileVersion"] {
        Yaml::Real(s) | Yaml::String(s) => s.parse::<f64>().unwrap_or(0.0),
        Yaml::Integer(i) => *i as f64,
        _ => 0.0,
    };
    let v5 = version < 6.0;
    if let Yaml::Hash(pkgs) = &doc["packages"] {
        for (k, v) in pkgs {
            let Some(key) = k.as_str() else { continue };
            let Some((name, mut version)) = pnpm_key(key, v5) else {
                continue;
            };
            // Old lockfiles may name the package and version in the entry itself.
            if let Some(ver) = v["version"].as_str()
                && !ver.contains(':')
            {
                version = ver.to_string();
            }
            let name = v["name"].as_str().map(str::to_string).unwrap_or(name);
            if seen.insert((name.clone(), version.clone())) {
                out.push((name, version));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn yarn_aliases_report_the_installed_package() {
        let classic = "\
\"my-lodash@npm:lodash@4.17.20\":
  version \"4.17.20\"
  resolved \"https://npm.example.com/lodash-4.17.20.tgz\"

\"string-width-cjs@npm:string-width@^4.2.0\", string-width@^4.2.0:
  version \"4.2.3\"
";
        assert_eq!(
            parse_yarn_lock(classic),
            pairs(&[("lodash", "4.17.20"), ("string-width", "4.2.3")])
        );
        let berry = "\
__metadata:
  version: 6

\"my-lodash@npm:lodash@4.17.20\":
  version: 4.17.20
  resolution: \"lodash@npm:4.17.20\"

\"@scope/x@npm:^1.0.0\":
  version: 1.0.1
  resolution: \"@scope/x@npm:1.0.1\"
";
        assert_eq!(
            parse_yarn_lock(berry),
            pairs(&[("lodash", "4.17.20"), ("@scope/x", "1.0.1")])
        );
    }

    #[test]
    fn pnpm_local_and_git_packages_are_not_registry_packages() {
        let v5 = "\
lockfileVersion: 5.4
packages:
  /lodash/4.17.20:
    resolution: {integrity: sha512-x}
  file:packages/foo:
    name: foo
    version: 1.0.0
  github.com/user/bar/0123abcd:
    name: bar
    version: 2.0.0
";
        assert_eq!(
            parse_pnpm_lock(v5).unwrap(),
            pairs(&[("lodash", "4.17.20")])
        );
    }

    #[test]
    fn pnpm_every_document_is_read() {
        let two = "\
---
lockfileVersion: '9.0'
packages:
  pnpm@12.3.4:
    resolution: {integrity: sha512-x}
---
lockfileVersion: '9.0'
packages:
  lodash@4.17.20:
    resolution: {integrity: sha512-y}
";
        assert_eq!(
            parse_pnpm_lock(two).unwrap(),
            pairs(&[("pnpm", "12.3.4"), ("lodash", "4.17.20")])
        );
    }

    #[test]
    fn pnpm_yaml_bombs_are_refused() {
        let mut laughs = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); 10].join(",");
            laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse_pnpm_lock(&laughs).unwrap_err();
        assert!(err.contains("alias"), "{err}");
        let deep = format!("lockfileVersion: 9\nx:\n{}1\n", "- ".repeat(100_000));
        let err = parse_pnpm_lock(&deep).unwrap_err();
        assert!(err.contains("nesting"), "{err}");
    }
}
