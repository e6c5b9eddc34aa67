//! apk: `/lib/apk/db/installed`. A package's layer is the layer of the first file it owns.
use super::common::{Found, new_package, purl};
use crate::fs::Filesystem;
use crate::model::{Distro, PackageType};

#[derive(Debug, Default)]
pub struct ApkRecord {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub origin: String,
    pub license: String,
    pub first_file: Option<String>,
}

pub fn parse_installed(text: &str) -> Vec<ApkRecord> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut r = ApkRecord::default();
        let mut dir = String::new();
        for line in block.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k {
                "P" => r.name = v.to_string(),
                "V" => r.version = v.to_string(),
                "A" => r.arch = v.to_string(),
                "o" => r.origin = v.to_string(),
                "L" => r.license = v.to_string(),
                "F" => dir = v.to_string(),
                "R" if r.first_file.is_none() => {
                    r.first_file = Some(format!("/{dir}/{v}").replace("//", "/"))
                }
                _ => {}
            }
        }
        if !r.name.is_empty() && !r.version.is_empty() {
            out.push(r);
        }
    }
    out
}

pub fn catalog(fs: &Filesystem, distro: Option<&Distro>) -> Vec<Found> {
    let mut out = Vec::new();
    for db in ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"] {
        let Some(e) = fs.get(db) else { continue };
        let Some(text) = super::common::content(e) else {
            continue;
        };
        let ns = distro
            .map(|d| d.id.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "alpine".into());
        let dq = purl::distro_qualifier(distro);
        for r in parse_installed(&String::from_utf8_lossy(text)) {
            let p = purl::build(
                "apk",
                Some(&ns),
                &r.name,
                &r.version,
                &[
                    ("arch", r.arch.clone()),
                    (
                        "upstream",
                        if r.origin != r.name {
                            r.origin.clone()
                        } else {
                            String::new()
                        },
                    ),
                    ("distro", dq.clone()),
                ],
            );
            let mut pkg = new_package(&r.name, &r.version, PackageType::Apk, p, "apk-db-cataloger");
            pkg.arch = (!r.arch.is_empty()).then(|| r.arch.clone());
            pkg.source_name = (!r.origin.is_empty()).then(|| r.origin.clone());
            pkg.licenses = if r.license.is_empty() {
                vec![]
            } else {
                vec![r.license.clone()]
            };
            let layer = r
                .first_file
                .as_deref()
                .and_then(|f| fs.get(f))
                .map(|f| f.layer)
                .unwrap_or(e.layer);
            out.push(Found {
                pkg,
                path: db.to_string(),
                layer,
            });
        }
    }
    out
}
