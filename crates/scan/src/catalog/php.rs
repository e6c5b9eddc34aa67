//! PHP Composer: `vendor/composer/installed.json` (Composer 1 array or Composer 2 object) and
//! `composer.lock` (`packages` and `packages-dev`; declared, read in `dir:` scans only).
use serde_json::Value;

use super::common::{Found, files_ending, new_package, purl};
use crate::fs::Filesystem;
use crate::model::{Evidence, PackageType};

/// (name, version, licenses, dev).
pub type ComposerPackage = (String, String, Vec<String>, bool);

/// Composer packages. Development-only: composer.lock's `packages-dev`, and in
/// Composer 2's `installed.json` the names listed in `dev-package-names` (`composer install
/// --no-dev` leaves them out). Composer 1's array form does not say.
pub fn parse(b: &[u8]) -> Result<Vec<ComposerPackage>, String> {
    let v: Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
    let mut lists: Vec<(&Vec<Value>, bool)> = Vec::new();
    let mut dev_names: Vec<&str> = Vec::new();
    match &v {
        Value::Array(a) => lists.push((a, false)),
        Value::Object(o) => {
            for (k, dev) in [("packages", false), ("packages-dev", true)] {
                if let Some(Value::Array(a)) = o.get(k) {
                    lists.push((a, dev));
                }
            }
            if let Some(Value::Array(a)) = o.get("dev-package-names") {
                dev_names.extend(a.iter().filter_map(Value::as_str));
            }
        }
        _ => return Err("neither an array nor an object".into()),
    }
    let mut out = Vec::new();
    for (list, dev) in lists {
        for p in list {
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
            let dev = dev || dev_names.contains(&name);
            out.push((name.to_string(), version.to_string(), licenses, dev));
        }
    }
    Ok(out)
}

/// Installed packages: `vendor/composer/installed.json`.
pub fn catalog_installed(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    catalog_files(
        fs,
        "/composer/installed.json",
        "php-composer-installed-cataloger",
        Evidence::Installed,
        warnings,
    )
}

/// Declared packages (`dir:` scans): `composer.lock`.
pub fn catalog_lock(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    catalog_files(
        fs,
        "/composer.lock",
        "php-composer-lock-cataloger",
        Evidence::Declared,
        warnings,
    )
}

fn catalog_files(
    fs: &Filesystem,
    suffix: &str,
    by: &str,
    evidence: Evidence,
    warnings: &mut Vec<String>,
) -> Vec<Found> {
    let mut out = Vec::new();
    for e in files_ending(fs, suffix) {
        let Some(b) = super::common::content(e) else {
            continue;
        };
        match parse(b) {
            Ok(list) => {
                for (name, version, licenses, dev) in list {
                    let (ns, n) = name.split_once('/').unwrap_or(("", name.as_str()));
                    let p = purl::build("composer", Some(ns), n, &version, &[]);
                    let mut pkg = new_package(&name, &version, PackageType::PhpComposer, p, by);
                    pkg.licenses = licenses;
                    pkg.evidence = evidence;
                    pkg.dev = dev;
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
