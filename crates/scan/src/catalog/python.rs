//! Python installed packages: `*.dist-info/METADATA` and `*.egg-info/PKG-INFO` (or a bare
//! `*.egg-info` file), wherever they are (site-packages, dist-packages, virtualenvs).
use super::{Found, field, files_ending, new_package, purl, rfc822_fields};
use crate::fs::Filesystem;
use crate::model::PackageType;

/// PEP 503 normalisation, as the purl spec asks for pypi names.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

pub fn parse_metadata(text: &str) -> Option<(String, String, Vec<String>)> {
    // Headers end at the first blank line; the body is the long description.
    let head = text.split("\n\n").next().unwrap_or("");
    let f = rfc822_fields(head);
    let name = field(&f, "Name")?.to_string();
    let version = field(&f, "Version")?.to_string();
    let mut licenses = Vec::new();
    if let Some(l) = field(&f, "License-Expression").or(field(&f, "License")) {
        let l = l.lines().next().unwrap_or("").trim();
        if !l.is_empty() && l != "UNKNOWN" && l.len() < 100 {
            licenses.push(l.to_string());
        }
    }
    Some((name, version, licenses))
}

pub fn catalog(fs: &Filesystem) -> Vec<Found> {
    let mut out = Vec::new();
    let candidates = files_ending(fs, ".dist-info/METADATA")
        .chain(files_ending(fs, ".egg-info/PKG-INFO"))
        .chain(files_ending(fs, ".egg-info").filter(|e| e.path.contains("-packages/")));
    for e in candidates {
        let Some(b) = super::content(e) else { continue };
        let Some((name, version, licenses)) = parse_metadata(&String::from_utf8_lossy(b)) else {
            continue;
        };
        let p = purl::build("pypi", None, &normalize_name(&name), &version, &[]);
        let mut pkg = new_package(
            &name,
            &version,
            PackageType::Python,
            p,
            "python-installed-package-cataloger",
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

#[cfg(test)]
mod tests {
    #[test]
    fn normalizes() {
        assert_eq!(super::normalize_name("Foo__Bar.baz"), "foo-bar-baz");
    }
}
