//! dpkg: `/var/lib/dpkg/status` and distroless' `/var/lib/dpkg/status.d/*`. A package's layer is
//! the layer of its `/var/lib/dpkg/info/NAME[:ARCH].list` (written when it was installed), falling
//! back to the status file's.
use super::common::{Found, field, new_package, purl, rfc822_fields};
use crate::fs::{EntryKind, Filesystem};
use crate::model::{Distro, PackageType};

pub fn parse_status(text: &str) -> Vec<Vec<(String, String)>> {
    text.split("\n\n")
        .map(rfc822_fields)
        .filter(|f| !f.is_empty())
        .collect()
}

pub fn catalog(fs: &Filesystem, distro: Option<&Distro>) -> Vec<Found> {
    let mut sources: Vec<(String, Option<usize>, bool)> = Vec::new();
    if let Ok(Some(e)) = fs.resolve("/var/lib/dpkg/status") {
        sources.push((e.path.clone(), e.layer, true));
    }
    for e in fs.under("/var/lib/dpkg/status.d") {
        if e.kind == EntryKind::File && !e.path.ends_with(".md5sums") {
            sources.push((e.path.clone(), e.layer, false));
        }
    }
    let ns = distro
        .map(|d| d.id.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "debian".into());
    let dq = purl::distro_qualifier(distro);
    let mut out = Vec::new();
    for (path, layer, need_status) in sources {
        let Some(text) = fs.read(&path) else { continue };
        for f in parse_status(&String::from_utf8_lossy(text)) {
            let (Some(name), Some(version)) = (field(&f, "Package"), field(&f, "Version")) else {
                continue;
            };
            if need_status {
                let status = field(&f, "Status").unwrap_or("");
                if !status.split_whitespace().any(|w| w == "installed")
                    || status.contains("not-installed")
                    || status.contains("config-files")
                {
                    continue;
                }
            }
            let arch = field(&f, "Architecture").unwrap_or("").to_string();
            let (src_name, src_version) = match field(&f, "Source") {
                Some(s) => match s.split_once(' ') {
                    Some((n, v)) => (
                        n.to_string(),
                        v.trim().trim_matches(|c| c == '(' || c == ')').to_string(),
                    ),
                    None => (s.to_string(), String::new()),
                },
                None => (String::new(), String::new()),
            };
            let upstream = if src_name.is_empty() {
                String::new()
            } else if src_version.is_empty() {
                src_name.clone()
            } else {
                format!("{src_name}@{src_version}")
            };
            let p = purl::build(
                "deb",
                Some(&ns),
                name,
                version,
                &[
                    ("arch", arch.clone()),
                    ("upstream", upstream),
                    ("distro", dq.clone()),
                ],
            );
            let mut pkg = new_package(name, version, PackageType::Deb, p, "dpkg-db-cataloger");
            pkg.arch = (!arch.is_empty()).then_some(arch.clone());
            pkg.source_name = (!src_name.is_empty()).then_some(src_name);
            pkg.source_version = (!src_version.is_empty()).then_some(src_version);
            // The layer that installed it: its file list in dpkg/info.
            let list_layer = [
                format!("/var/lib/dpkg/info/{name}:{arch}.list"),
                format!("/var/lib/dpkg/info/{name}.list"),
            ]
            .iter()
            .find_map(|p| fs.get(p).map(|e| e.layer))
            .flatten();
            out.push(Found {
                pkg,
                path: path.clone(),
                layer: list_layer.or(layer),
            });
        }
    }
    out
}
