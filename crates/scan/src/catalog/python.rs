//! Python installed packages: `*.dist-info/METADATA` and `*.egg-info/PKG-INFO` (or a bare
//! `*.egg-info` file), wherever they are (site-packages, dist-packages, virtualenvs). Declared
//! packages (`dir:` scans): `poetry.lock`, `Pipfile.lock`, `requirements*.txt`.
use serde_json::Value;

use super::common::{
    Found, declared_package, field, files_ending, new_package, purl, rfc822_fields,
};
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
        let Some(b) = super::common::content(e) else {
            continue;
        };
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

/// `requirements.txt`, `requirements-dev.txt`, `dev-requirements.txt`, ... (Syft's
/// `*requirements*.txt`).
pub fn is_requirements_file(base: &str) -> bool {
    base.ends_with(".txt") && base.contains("requirements")
}

/// A requirements file that by its name holds development or test requirements
/// (`requirements-dev.txt`, `test-requirements.txt`, `requirements_test.txt`).
fn is_dev_requirements(base: &str) -> bool {
    base.split(['-', '_', '.'])
        .any(|w| matches!(w, "dev" | "develop" | "development" | "test" | "tests"))
}

/// Exact pins (`name==1.2.3`, `name[extra]===1.2.3 ; markers`) of a requirements file: a range
/// (`>=`) names no version, so it is left out, as Trivy does. Options (`-r`, `-e`, `--hash`)
/// and URLs are skipped.
pub fn parse_requirements(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or(line);
        let line = line.split(';').next().unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        let Some((name, version)) = line.split_once("==") else {
            continue;
        };
        let version = version.trim_start_matches('=');
        // `==1.2.3 \` (a continuation for `--hash`) and `==1.2.*` (a range).
        let version = version.split_whitespace().next().unwrap_or("");
        let name = name.split('[').next().unwrap_or(name).trim();
        if name.is_empty()
            || version.is_empty()
            || version.contains('*')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            continue;
        }
        out.push((name.to_string(), version.to_string()));
    }
    out
}

/// `poetry.lock`: (name, version, dev). Poetry before 1.2 wrote `category = "dev"`; Poetry 2
/// writes `groups = [...]`: development-only when `main` is not among them.
pub fn parse_poetry_lock(text: &str) -> Result<Vec<(String, String, bool)>, String> {
    let v: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for p in v
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(|x| x.as_str()),
            p.get("version").and_then(|x| x.as_str()),
        ) else {
            continue;
        };
        let category_dev = p.get("category").and_then(|c| c.as_str()) == Some("dev");
        let groups_dev = p
            .get("groups")
            .and_then(|g| g.as_array())
            .is_some_and(|g| !g.is_empty() && !g.iter().any(|x| x.as_str() == Some("main")));
        out.push((
            name.to_string(),
            version.to_string(),
            category_dev || groups_dev,
        ));
    }
    Ok(out)
}

/// `Pipfile.lock`: `default` (production) and `develop` (development) pins.
pub fn parse_pipfile_lock(b: &[u8]) -> Result<Vec<(String, String, bool)>, String> {
    let v: Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (section, dev) in [("default", false), ("develop", true)] {
        let Some(m) = v.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, p) in m {
            // Pins are `==1.2.3`; git and path entries have no version.
            let Some(ver) = p.get("version").and_then(Value::as_str) else {
                continue;
            };
            let ver = ver.trim_start_matches('=');
            if !ver.is_empty() {
                out.push((name.clone(), ver.to_string(), dev));
            }
        }
    }
    Ok(out)
}

/// Declared Python packages (`dir:` scans).
pub fn catalog_declared(fs: &Filesystem, warnings: &mut Vec<String>) -> Vec<Found> {
    let mut out = Vec::new();
    let mut push = |e: &crate::fs::FileEntry, name: &str, version: &str, dev: bool, by: &str| {
        let p = purl::build("pypi", None, &normalize_name(name), version, &[]);
        out.push(Found {
            pkg: declared_package(name, version, PackageType::Python, p, by, dev),
            path: e.path.clone(),
            layer: e.layer,
        });
    };
    for e in fs.iter().filter(|e| e.kind == crate::fs::EntryKind::File) {
        let base = e.path.rsplit('/').next().unwrap_or(&e.path);
        let parsed = match base {
            "poetry.lock" | "Pipfile.lock" => {
                let Some(b) = super::common::content(e) else {
                    continue;
                };
                if base == "poetry.lock" {
                    parse_poetry_lock(&String::from_utf8_lossy(b))
                        .map(|l| (l, "python-poetry-lock-cataloger"))
                } else {
                    parse_pipfile_lock(b).map(|l| (l, "python-pipfile-lock-cataloger"))
                }
            }
            _ if is_requirements_file(base) => {
                let Some(b) = super::common::content(e) else {
                    continue;
                };
                let dev = is_dev_requirements(base);
                let list = parse_requirements(&String::from_utf8_lossy(b))
                    .into_iter()
                    .map(|(n, v)| (n, v, dev))
                    .collect();
                Ok((list, "python-requirements-cataloger"))
            }
            _ => continue,
        };
        match parsed {
            Ok((list, by)) => {
                for (name, version, dev) in list {
                    push(e, &name, &version, dev, by);
                }
            }
            Err(err) => warnings.push(format!("{}: {err}", e.path)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn requirements_pins_only() {
        let text = "# comment\n-r base.txt\nDjango==4.2.1  # pinned\nrequests[socks]===2.31.0 ; python_version > '3'\nflask>=2\nnumpy==1.26.* \nurllib3==2.0.7 \\\n    --hash=sha256:abc\n-e git+https://x/y.git#egg=z\n";
        assert_eq!(
            super::parse_requirements(text),
            [
                ("Django".to_string(), "4.2.1".to_string()),
                ("requests".to_string(), "2.31.0".to_string()),
                ("urllib3".to_string(), "2.0.7".to_string()),
            ]
        );
        assert!(super::is_dev_requirements("requirements-dev.txt"));
        assert!(super::is_dev_requirements("test-requirements.txt"));
        assert!(!super::is_dev_requirements("requirements.txt"));
        assert!(!super::is_dev_requirements("requirements-prod.txt"));
    }

    #[test]
    fn normalizes() {
        assert_eq!(super::normalize_name("Foo__Bar.baz"), "foo-bar-baz");
    }
}
