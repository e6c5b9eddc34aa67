//! PHP Composer: `vendor/composer/installed.json` (Composer 1 array or Composer 2 object) and
//! `composer.lock` (`packages` and `packages-dev`).
use serde_json::Value;

use super::{Found, files_ending, new_package, purl};
use crate::fs::Filesystem;
use crate::model::PackageType;

pub fn parse(b: &[u8]) -> Result<Vec<(String, String, Vec<String>)>, String> {
    let v: Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
    let mut lists: Vec<&Vec<Value>> = Vec::new();
    match &v {
        Value::Array(a) => lists.push(a),
        Value::Object(o) => {
            for k in ["packages", "packages-dev"] {
                if let Some(Value::Array(a)) = o.get(k) {
                    lists.push(a);
                }
            }
        }
        _ => return Err("neither an array nor an object".into()),
    }
    let mut out = Vec::new();
    for p in lists.into_iter().flatten() {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(Value::as_str),
            p.get("version").and_then(Value::as_str),
        ) else {
            continue;
        };
        let licenses = p
            .get("license")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.push((name.to_string(), version.to_string(), licenses));
    }
    Ok(out)
}

pub fn catalog(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    let mut out = Vec::new();
    let files = files_ending(fs, "/composer/installed.json")
        .map(|e| (e, "php-composer-installed-cataloger"))
        .chain(files_ending(fs, "/composer.lock").map(|e| (e, "php-composer-lock-cataloger")));
    for (e, by) in files {
        let Some(b) = super::content(e) else { continue };
        match parse(b) {
            Ok(list) => {
                for (name, version, licenses) in list {
                    let (ns, n) = name.split_once('/').unwrap_or(("", name.as_str()));
                    let p = purl::build("composer", Some(ns), n, &version, &[]);
                    let mut pkg = new_package(&name, &version, PackageType::PhpComposer, p, by);
                    pkg.licenses = licenses;
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
