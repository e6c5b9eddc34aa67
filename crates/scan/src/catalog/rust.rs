//! Rust `Cargo.lock` files: declared packages, read in `dir:` scans only (a lock lists every
//! crate of every target and platform, most of which a given binary does not contain; the
//! crates in a binary come from its cargo-auditable data, read in `binary`). Cargo.lock does not
//! mark dev-dependencies, so none is dropped as development-only.
use super::common::{Found, declared_package, files_ending, purl};
use crate::fs::Filesystem;
use crate::model::PackageType;

pub fn parse_cargo_lock(text: &str) -> Result<Vec<(String, String, Option<String>)>, String> {
    let v: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if let Some(pkgs) = v.get("package").and_then(|p| p.as_array()) {
        for p in pkgs {
            let name = p.get("name").and_then(|x| x.as_str());
            let version = p.get("version").and_then(|x| x.as_str());
            if let (Some(n), Some(v)) = (name, version) {
                out.push((
                    n.to_string(),
                    v.to_string(),
                    p.get("source").and_then(|x| x.as_str()).map(str::to_string),
                ));
            }
        }
    }
    Ok(out)
}

pub fn catalog(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    let mut out = Vec::new();
    for e in files_ending(fs, "/Cargo.lock") {
        let Some(b) = super::common::content(e) else {
            continue;
        };
        match parse_cargo_lock(&String::from_utf8_lossy(b)) {
            Ok(list) => {
                for (name, version, _source) in list {
                    let pkg = declared_package(
                        &name,
                        &version,
                        PackageType::RustCrate,
                        purl::build("cargo", None, &name, &version, &[]),
                        "rust-cargo-lock-cataloger",
                        false,
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
