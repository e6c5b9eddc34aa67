//! npm: every `package.json` with a name and version (as Syft's javascript-package-cataloger),
//! plus `package-lock.json` (v1 `dependencies`, v2/v3 `packages`). Lock entries that are also
//! installed merge with them by purl.
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
    for e in files_ending(fs, "/package-lock.json") {
        let Some(b) = super::content(e) else { continue };
        match parse_lock(b) {
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
