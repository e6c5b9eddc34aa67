//! npm: every `package.json` with a name and version (installed; as Syft's
//! javascript-package-cataloger), and in `dir:` scans the lockfiles of npm (`package-lock.json`:
//! v1 `dependencies`, v2/v3 `packages`), yarn (`yarn.lock`, classic and berry) and pnpm
//! (`pnpm-lock.yaml`, lockfile versions 5, 6 and 9), which only declare packages. Lock entries
//! that are also installed merge with them by purl. Lockfiles inside `node_modules` describe a
//! dependency's own development, not what is installed: skipped, as Syft does.
use serde_json::Value;

use super::common::{Found, declared_package, files_ending, new_package, purl};
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

/// The parts of a `package.json` the cataloger reads. Deserialized field by field, with every
/// other key skipped unparsed (`IgnoredAny`), because every `package.json` in an image is
/// parsed: a `serde_json::Value` of a hostile 60 MB one (`[0,0,0,...]`) peaked at 2.2 GB, 37
/// times its size, where this reader holds only the input. Values of the wrong type are
/// ignored, as the `Value` reader ignored them; a repeated key counts the last time, as in
/// `Value`.
#[derive(Default)]
struct PackageJson {
    name: Option<String>,
    version: Option<String>,
    license: License,
    licenses: Vec<String>,
}

/// `license`: a string, an object with a `type` (old npm), or anything else (then `licenses`).
#[derive(Default)]
enum License {
    #[default]
    Other,
    Name(String),
    Object(Option<String>),
}

mod lenient {
    //! serde visitors that take what they expect and skip anything else without building it.
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    use super::{License, PackageJson};

    /// A string, or None for any other JSON value (skipped).
    pub struct Str(pub Option<String>);

    struct StrVisitor;

    impl<'de> Visitor<'de> for StrVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }

    impl<'de> de::Deserialize<'de> for Str {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StrVisitor).map(Str)
        }
    }

    /// `{"type": "MIT", ...}` -> Some("MIT"); other keys skipped.
    fn license_type<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<String>, A::Error> {
        let mut kind = None;
        while let Some(key) = map.next_key::<Str>()? {
            if key.0.as_deref() == Some("type") {
                kind = map.next_value::<Str>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(kind)
    }

    struct LicenseVisitor;

    impl<'de> Visitor<'de> for LicenseVisitor {
        type Value = License;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<License, E> {
            Ok(License::Name(v.to_string()))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<License, A::Error> {
            license_type(map).map(License::Object)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<License, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(License::Other)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<License, E> {
            Ok(License::Other)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<License, E> {
            Ok(License::Other)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<License, E> {
            Ok(License::Other)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<License, E> {
            Ok(License::Other)
        }
        fn visit_unit<E: de::Error>(self) -> Result<License, E> {
            Ok(License::Other)
        }
    }

    impl<'de> de::Deserialize<'de> for License {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(LicenseVisitor)
        }
    }

    /// One element of `licenses`: a string, or an object's `type`.
    struct LicenseItem(Option<String>);

    impl<'de> de::Deserialize<'de> for LicenseItem {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(LicenseItem(match d.deserialize_any(LicenseVisitor)? {
                License::Name(n) => Some(n),
                License::Object(t) => t,
                License::Other => None,
            }))
        }
    }

    /// `licenses`: the items of an array; anything else is no licenses.
    pub struct Licenses(pub Vec<String>);

    struct LicensesVisitor;

    impl<'de> Visitor<'de> for LicensesVisitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<LicenseItem>()? {
                out.extend(item.0);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
    }

    impl<'de> de::Deserialize<'de> for Licenses {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(LicensesVisitor).map(Licenses)
        }
    }

    struct PackageJsonVisitor;

    impl<'de> Visitor<'de> for PackageJsonVisitor {
        type Value = PackageJson;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PackageJson, A::Error> {
            let mut p = PackageJson::default();
            while let Some(key) = map.next_key::<Str>()? {
                match key.0.as_deref() {
                    Some("name") => p.name = map.next_value::<Str>()?.0,
                    Some("version") => p.version = map.next_value::<Str>()?.0,
                    Some("license") => p.license = map.next_value()?,
                    Some("licenses") => p.licenses = map.next_value::<Licenses>()?.0,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(p)
        }
    }

    impl<'de> de::Deserialize<'de> for PackageJson {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(PackageJsonVisitor)
        }
    }
}

pub fn parse_package_json(b: &[u8]) -> Option<(String, String, Vec<String>)> {
    let p: PackageJson = serde_json::from_slice(b).ok()?;
    let name = p.name.filter(|n| !n.is_empty())?;
    let version = p.version.filter(|v| !v.is_empty())?;
    let licenses = match p.license {
        License::Name(n) => vec![n],
        License::Object(kind) => kind.into_iter().collect(),
        License::Other => p.licenses,
    };
    Some((name, version, licenses))
}

/// `package-lock.json` / `npm-shrinkwrap.json`: (name, version, dev). `dev: true` marks an
/// entry only development needs (`npm ci --omit=dev` leaves it out); `devOptional` entries are
/// also installed for production when an optional dependency needs them, so they count as
/// production, as in Trivy.
pub fn parse_lock(b: &[u8]) -> Result<Vec<(String, String, bool)>, String> {
    let v: Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
    let is_dev = |p: &Value| p.get("dev").and_then(Value::as_bool) == Some(true);
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
                out.push((name, ver.to_string(), is_dev(p)));
            }
        }
    } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
        fn walk(
            deps: &serde_json::Map<String, Value>,
            out: &mut Vec<(String, String, bool)>,
            depth: usize,
            is_dev: &dyn Fn(&Value) -> bool,
        ) {
            if depth > 64 {
                return;
            }
            for (name, d) in deps {
                if let Some(ver) = d.get("version").and_then(Value::as_str) {
                    out.push((name.clone(), ver.to_string(), is_dev(d)));
                }
                if let Some(sub) = d.get("dependencies").and_then(Value::as_object) {
                    walk(sub, out, depth + 1, is_dev);
                }
            }
        }
        walk(deps, &mut out, 0, &is_dev);
    }
    Ok(out)
}

/// Whether a `package.json` is a package's manifest: directly in a package directory of
/// `node_modules` (`node_modules/NAME/` or `node_modules/@SCOPE/NAME/`), or outside
/// `node_modules` (an application's own). A `package.json` deeper inside a package (terser's
/// `dist/` and `bin/`, fast-uri's `benchmark/`: `{"name":"dist","private":true,...}` to set the
/// module type of a subdirectory) is not a package: npm does not install or list it, and
/// reporting it gave `dist@1.0.0`-style phantom packages (Syft 1.18 still reports them).
pub fn is_package_manifest(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    match dir.rsplit_once("/node_modules/") {
        None => !dir.ends_with("/node_modules") && !dir.contains("node_modules/"),
        Some((_, pkg)) => {
            let parts: Vec<&str> = pkg.split('/').collect();
            match parts.as_slice() {
                [name] => !name.is_empty() && !name.starts_with('.'),
                [scope, name] => scope.starts_with('@') && !name.is_empty(),
                _ => false,
            }
        }
    }
}

/// Installed packages: every package manifest (`is_package_manifest`) with a name and a
/// version (`node_modules/*`, and an application's own, which is on disk too).
pub fn catalog(fs: &Filesystem) -> Vec<Found> {
    let mut out = Vec::new();
    for e in files_ending(fs, "/package.json").filter(|e| is_package_manifest(&e.path)) {
        let Some(b) = super::common::content(e) else {
            continue;
        };
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
    out
}

/// Declared packages (`dir:` scans): `package-lock.json`, `yarn.lock`, `pnpm-lock.yaml`.
pub fn catalog_locks(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    let mut out = Vec::new();
    let locks = files_ending(fs, "/package-lock.json")
        .chain(files_ending(fs, "/yarn.lock"))
        .chain(files_ending(fs, "/pnpm-lock.yaml"))
        .filter(|e| !e.path.contains("/node_modules/"));
    for e in locks {
        let Some(b) = super::common::content(e) else {
            continue;
        };
        let parsed = if e.path.ends_with("/yarn.lock") {
            // The project's manifest next to it says which dependencies are for development.
            let dir = e.path.trim_end_matches("/yarn.lock");
            // A project manifest is a few KiB; a larger one is not parsed into a tree (a
            // hostile 60 MB one costs GBs as a `Value`) and nothing is marked.
            let manifest = fs
                .get(&format!("{dir}/package.json"))
                .and_then(super::common::content)
                .filter(|m| m.len() <= 1 << 20)
                .and_then(|m| serde_json::from_slice::<Value>(m).ok());
            Ok(parse_yarn_lock_dev(
                &String::from_utf8_lossy(b),
                manifest.as_ref(),
            ))
        } else if e.path.ends_with("/pnpm-lock.yaml") {
            parse_pnpm_lock(&String::from_utf8_lossy(b))
        } else {
            parse_lock(b)
        };
        match parsed {
            Ok(list) => {
                for (name, version, dev) in list {
                    let pkg = declared_package(
                        &name,
                        &version,
                        PackageType::Npm,
                        npm_purl(&name, &version),
                        "javascript-lock-cataloger",
                        dev,
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

/// One `yarn.lock` entry: the patterns (`name@range`) it resolves, the package it installs,
/// and the patterns of its dependencies.
struct YarnEntry {
    patterns: Vec<String>,
    name: String,
    version: Option<String>,
    resolved_name: Option<String>,
    deps: Vec<String>,
}

/// A pattern as written (`"lodash@^4"`, `lodash@npm:^4`), without quotes and spaces.
fn yarn_key(p: &str) -> String {
    p.trim().trim_matches('"').trim().to_string()
}

/// Every entry of a `yarn.lock` (classic and berry), read line by line as Syft does: an entry
/// is a non-indented `patterns:` line, its `version`, `resolved`/`resolution` and
/// `dependencies`/`optionalDependencies` fields. `__metadata`, entries of local/link/patch/git
/// protocols and workspace entries are skipped.
fn yarn_entries(text: &str) -> Vec<YarnEntry> {
    let mut out: Vec<YarnEntry> = Vec::new();
    let mut current: Option<YarnEntry> = None;
    let mut in_deps = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('\t') {
            out.extend(current.take());
            in_deps = false;
            let Some(header) = line.strip_suffix(':') else {
                continue;
            };
            if header.trim_matches('"') == "__metadata" {
                continue;
            }
            // Classic: `"a@^1", "a@^1.2"`; berry: `"a@npm:^1, a@npm:^1.2"`.
            let patterns: Vec<String> = header
                .split(',')
                .map(yarn_key)
                .filter(|p| !p.is_empty())
                .collect();
            let first = header.split(',').next().unwrap_or(header);
            current = match yarn_pattern(first) {
                Some((_, proto)) if yarn_ignored_protocol(proto) || proto == "workspace" => None,
                Some((name, _)) => Some(YarnEntry {
                    patterns,
                    // An alias (`alias@npm:real@range`) installs the real package.
                    name: yarn_alias_target(first).unwrap_or(name).to_string(),
                    version: None,
                    resolved_name: None,
                    deps: Vec::new(),
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
        if let Some(dep) = field.strip_prefix("  ") {
            if in_deps && !dep.starts_with(' ') {
                // Classic `"dep" "^1"`, berry `dep: "npm:^1"`.
                let (name, range) = match dep.split_once(": ") {
                    Some((n, r)) => (n, r),
                    None => dep.split_once(' ').unwrap_or((dep, "")),
                };
                e.deps
                    .push(format!("{}@{}", yarn_key(name), yarn_key(range)));
            }
            continue;
        }
        let (key, value) = match field.split_once([' ', ':']) {
            Some((k, v)) => (k.trim_matches('"'), v.trim_start_matches(':').trim()),
            None => (field.trim_end_matches(':'), ""),
        };
        in_deps = matches!(key, "dependencies" | "optionalDependencies");
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
    out.extend(current.take());
    out
}

/// `yarn.lock`, classic (v1: `version "1.2.3"`) and berry (v2+: YAML, `version: 1.2.3`):
/// name@version pairs, each once (see `yarn_entries`); workspace placeholders
/// (`0.0.0-use.local`) skipped.
pub fn parse_yarn_lock(text: &str) -> Vec<(String, String)> {
    parse_yarn_lock_dev(text, None)
        .into_iter()
        .map(|(n, v, _)| (n, v))
        .collect()
}

/// `parse_yarn_lock` with development-only entries marked, when the project's `package.json`
/// (`manifest`) is known: yarn.lock does not say which entries only development needs, so, as
/// Trivy does, an entry is development-only when it is reachable from the manifest's
/// `devDependencies` and not from its `dependencies`, `optionalDependencies` or
/// `peerDependencies`. Without a manifest nothing is marked.
pub fn parse_yarn_lock_dev(text: &str, manifest: Option<&Value>) -> Vec<(String, String, bool)> {
    let entries = yarn_entries(text);
    let dev = manifest.map(|m| yarn_dev_entries(&entries, m));
    let mut out = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(version) = e.version.clone() else {
            continue;
        };
        if version == "0.0.0-use.local" || version.is_empty() {
            continue;
        }
        let name = e.resolved_name.clone().unwrap_or_else(|| e.name.clone());
        let is_dev = dev.as_ref().is_some_and(|d| d[i]);
        match seen.get(&(name.clone(), version.clone())) {
            // Production through any entry is production.
            Some(&k) => {
                let row: &mut (String, String, bool) = &mut out[k];
                row.2 &= is_dev;
            }
            None => {
                seen.insert((name.clone(), version.clone()), out.len());
                out.push((name, version, is_dev));
            }
        }
    }
    out
}

/// For each entry: only reachable from the manifest's development dependencies.
fn yarn_dev_entries(entries: &[YarnEntry], manifest: &Value) -> Vec<bool> {
    let mut by_pattern: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for p in &e.patterns {
            by_pattern.insert(p.as_str(), i);
        }
    }
    let find = |name: &str, range: &str| -> Option<usize> {
        by_pattern
            .get(format!("{name}@{range}").as_str())
            .or_else(|| by_pattern.get(format!("{name}@npm:{range}").as_str()))
            .copied()
    };
    let roots = |fields: &[&str]| -> Vec<usize> {
        let mut out = Vec::new();
        for f in fields {
            if let Some(m) = manifest.get(*f).and_then(Value::as_object) {
                for (name, range) in m {
                    if let Some(i) = range.as_str().and_then(|r| find(name, r)) {
                        out.push(i);
                    }
                }
            }
        }
        out
    };
    let reach = |start: Vec<usize>| -> Vec<bool> {
        let mut seen = vec![false; entries.len()];
        let mut stack = start;
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            for d in &entries[i].deps {
                if let Some(&j) = by_pattern.get(d.as_str()) {
                    stack.push(j);
                }
            }
        }
        seen
    };
    let prod = reach(roots(&[
        "dependencies",
        "optionalDependencies",
        "peerDependencies",
    ]));
    let dev = reach(roots(&["devDependencies"]));
    prod.iter().zip(&dev).map(|(p, d)| *d && !*p).collect()
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
/// Entries of lockfiles 5.x and 6.x carry `dev: true` when only development needs them; for
/// 9.x it is computed from the importers and snapshots (`pnpm9_dev_packages`).
pub fn parse_pnpm_lock(text: &str) -> Result<Vec<(String, String, bool)>, String> {
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
    out: &mut Vec<(String, String, bool)>,
    seen: &mut std::collections::HashSet<(String, String)>,
) {
    use yaml_rust2::Yaml;
    let version = match &doc["lockfileVersion"] {
        Yaml::Real(s) | Yaml::String(s) => s.parse::<f64>().unwrap_or(0.0),
        Yaml::Integer(i) => *i as f64,
        _ => 0.0,
    };
    let v5 = version < 6.0;
    let dev9 = pnpm9_dev_packages(doc);
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
            let dev =
                v["dev"].as_bool() == Some(true) || dev9.contains(&(name.clone(), version.clone()));
            if seen.insert((name.clone(), version.clone())) {
                out.push((name, version, dev));
            }
        }
    }
}

/// pnpm 9 moved `dev: true` out of the packages: development-only are the packages whose
/// snapshots are reachable from an importer's `devDependencies` and not from its
/// `dependencies`/`optionalDependencies`, through the `snapshots` section's dependencies (keys
/// `name@version(peers)`). Empty for other lockfile versions.
fn pnpm9_dev_packages(doc: &yaml_rust2::Yaml) -> std::collections::HashSet<(String, String)> {
    use yaml_rust2::Yaml;
    let mut out = std::collections::HashSet::new();
    let (Yaml::Hash(importers), Yaml::Hash(snapshots)) = (&doc["importers"], &doc["snapshots"])
    else {
        return out;
    };
    let snap_key = |name: &str, ver: &Yaml| -> Option<String> {
        let ver = match ver {
            Yaml::String(s) | Yaml::Real(s) => s.clone(),
            Yaml::Integer(i) => i.to_string(),
            Yaml::Hash(_) => ver["version"].as_str()?.to_string(),
            _ => return None,
        };
        Some(format!("{name}@{ver}"))
    };
    let roots = |fields: &[&str]| -> Vec<String> {
        let mut r = Vec::new();
        for (_, imp) in importers {
            for f in fields {
                if let Yaml::Hash(deps) = &imp[*f] {
                    for (n, v) in deps {
                        if let Some(k) = n.as_str().and_then(|n| snap_key(n, v)) {
                            r.push(k);
                        }
                    }
                }
            }
        }
        r
    };
    let reach = |start: Vec<String>| -> std::collections::HashSet<String> {
        let mut seen = std::collections::HashSet::new();
        let mut stack = start;
        while let Some(k) = stack.pop() {
            if !seen.insert(k.clone()) {
                continue;
            }
            // `get`: indexing the map panics on a key it lacks (a dependency without a
            // snapshot, in a hand-edited or hostile lock).
            let Some(snap) = snapshots.get(&Yaml::String(k)) else {
                continue;
            };
            for f in ["dependencies", "optionalDependencies"] {
                if let Yaml::Hash(deps) = &snap[f] {
                    for (n, v) in deps {
                        if let Some(k) = n.as_str().and_then(|n| snap_key(n, v)) {
                            stack.push(k);
                        }
                    }
                }
            }
        }
        seen
    };
    let prod = reach(roots(&["dependencies", "optionalDependencies"]));
    let dev = reach(roots(&["devDependencies"]));
    let strip = |k: &str| pnpm_key(k, false);
    let prod_pkgs: std::collections::HashSet<(String, String)> =
        prod.iter().filter_map(|k| strip(k)).collect();
    for k in &dev {
        if let Some(p) = strip(k)
            && !prod_pkgs.contains(&p)
        {
            out.insert(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnpm9_dev_from_importers_and_snapshots() {
        let lock = "\
lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)
    devDependencies:
      jest:
        specifier: ^29
        version: 29.7.0
      react:
        specifier: ^18
        version: 18.2.0
packages:
  jest@29.7.0:
    resolution: {integrity: sha512-a}
  jest-cli@29.7.0:
    resolution: {integrity: sha512-b}
  react@18.2.0:
    resolution: {integrity: sha512-c}
  react-dom@18.2.0:
    resolution: {integrity: sha512-d}
snapshots:
  jest@29.7.0:
    dependencies:
      jest-cli: 29.7.0
  jest-cli@29.7.0:
    dependencies:
      missing-snapshot: 1.0.0
  react@18.2.0: {}
  react-dom@18.2.0(react@18.2.0):
    dependencies:
      react: 18.2.0
";
        let got = parse_pnpm_lock(lock).unwrap();
        let mut dev: Vec<&str> = got.iter().filter(|r| r.2).map(|r| r.0.as_str()).collect();
        dev.sort();
        // react is a dev root but also react-dom's dependency: production.
        assert_eq!(dev, ["jest", "jest-cli"], "{got:?}");
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn package_manifests_are_package_directories_or_apps() {
        for p in [
            "/app/package.json",
            "/app/node_modules/lodash/package.json",
            "/app/node_modules/@babel/core/package.json",
            "/app/node_modules/a/node_modules/b/package.json",
            "/app/node_modules/.pnpm/x@1.0.0/node_modules/x/package.json",
        ] {
            assert!(is_package_manifest(p), "{p}");
        }
        for p in [
            "/app/node_modules/terser/dist/package.json",
            "/app/node_modules/fast-uri/benchmark/package.json",
            "/app/node_modules/@babel/core/lib/package.json",
            "/app/node_modules/package.json",
            "/app/node_modules/.bin/package.json",
            "/app/package.json.bak",
        ] {
            assert!(!is_package_manifest(p), "{p}");
        }
    }

    #[test]
    fn package_json_reads_what_the_value_reader_read() {
        let p = |s: &str| parse_package_json(s.as_bytes());
        let pkg = |n: &str, v: &str, l: &[&str]| {
            Some((
                n.to_string(),
                v.to_string(),
                l.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ))
        };
        assert_eq!(
            p(r#"{"name":"a","version":"1.0.0","license":"MIT","deps":{"x":[1,{"y":null}]}}"#),
            pkg("a", "1.0.0", &["MIT"])
        );
        assert_eq!(
            p(r#"{"name":"a","version":"1","license":{"type":"BSD","url":"u"}}"#),
            pkg("a", "1", &["BSD"])
        );
        assert_eq!(
            p(r#"{"name":"a","version":"1","license":{"url":"u"},"licenses":["MIT"]}"#),
            pkg("a", "1", &[])
        );
        assert_eq!(
            p(r#"{"name":"a","version":"1","license":7,"licenses":[{"type":"MIT"},"ISC",3]}"#),
            pkg("a", "1", &["MIT", "ISC"])
        );
        assert_eq!(
            p(r#"{"name":"a","version":"1","licenses":{"type":"MIT"}}"#),
            pkg("a", "1", &[])
        );
        // A repeated key counts the last time.
        assert_eq!(
            p(r#"{"name":"a","version":"1","name":"b"}"#),
            pkg("b", "1", &[])
        );
        for skipped in [
            r#"{"name":"a"}"#,
            r#"{"name":"","version":"1"}"#,
            r#"{"name":["a"],"version":"1"}"#,
            r#"{"name":"a","version":1}"#,
            r#"["name","a"]"#,
            r#"{"name":"a","version":"1"} trailing"#,
            "{not json",
        ] {
            assert_eq!(p(skipped), None, "{skipped}");
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn triples(v: &[(&str, &str)]) -> Vec<(String, String, bool)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string(), false))
            .collect()
    }

    #[test]
    fn yarn_dev_entries_from_the_manifest() {
        let manifest: Value = serde_json::from_str(
            r#"{"dependencies":{"express":"^4.18.0"},"devDependencies":{"jest":"^29.0.0","ms":"^2.1.0"}}"#,
        )
        .unwrap();
        // `ms` is a dev root and a dependency of express: production.
        let classic = "\
express@^4.18.0:
  version \"4.18.2\"
  dependencies:
    ms \"2.1.3\"
    \"@types/x\" \"^1.0.0\"

jest@^29.0.0:
  version \"29.7.0\"
  dependencies:
    jest-cli \"^29.7.0\"

jest-cli@^29.7.0:
  version \"29.7.0\"

ms@2.1.3, ms@^2.1.0:
  version \"2.1.3\"

\"@types/x@^1.0.0\":
  version \"1.0.1\"

orphan@^1.0.0:
  version \"1.0.0\"
";
        let got = parse_yarn_lock_dev(classic, Some(&manifest));
        let dev: Vec<&str> = got.iter().filter(|r| r.2).map(|r| r.0.as_str()).collect();
        assert_eq!(dev, ["jest", "jest-cli"], "{got:?}");
        assert_eq!(got.len(), 6);
        let berry = "\
__metadata:
  version: 6

\"express@npm:^4.18.0\":
  version: 4.18.2
  resolution: \"express@npm:4.18.2\"
  dependencies:
    ms: \"npm:2.1.3\"

\"jest@npm:^29.0.0\":
  version: 29.7.0
  resolution: \"jest@npm:29.7.0\"

\"ms@npm:2.1.3, ms@npm:^2.1.0\":
  version: 2.1.3
  resolution: \"ms@npm:2.1.3\"
";
        let got = parse_yarn_lock_dev(berry, Some(&manifest));
        let dev: Vec<&str> = got.iter().filter(|r| r.2).map(|r| r.0.as_str()).collect();
        assert_eq!(dev, ["jest"], "{got:?}");
        // Without a manifest nothing is marked.
        assert!(parse_yarn_lock_dev(berry, None).iter().all(|r| !r.2));
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
            triples(&[("lodash", "4.17.20")])
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
            triples(&[("pnpm", "12.3.4"), ("lodash", "4.17.20")])
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
