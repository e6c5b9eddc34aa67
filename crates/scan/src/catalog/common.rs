//! Helpers every cataloger shares: reading kept files, making packages and purls, RFC 822 fields.
use crate::fs::{EntryKind, FileEntry, Filesystem};
use crate::model::{Evidence, Package, PackageType};

/// A package and where it was found, before layer references are attached.
#[derive(Debug, Clone)]
pub struct Found {
    pub pkg: Package,
    pub path: String,
    pub layer: Option<usize>,
}

/// Regular files (not links) whose path ends with `suffix`.
pub(crate) fn files_ending<'a>(
    fs: &'a Filesystem,
    suffix: &'a str,
) -> impl Iterator<Item = &'a FileEntry> + 'a {
    fs.iter()
        .filter(move |e| e.kind == EntryKind::File && e.path.ends_with(suffix))
}

pub(crate) fn content(e: &FileEntry) -> Option<&[u8]> {
    e.content.as_deref().map(|v| v.as_slice())
}

pub(crate) fn new_package(
    name: &str,
    version: &str,
    kind: PackageType,
    purl: String,
    found_by: &str,
) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        kind,
        purl,
        found_by: found_by.to_string(),
        locations: Vec::new(),
        licenses: Vec::new(),
        source_name: None,
        source_version: None,
        arch: None,
        group: None,
        evidence: Evidence::Installed,
        dev: false,
    }
}

/// A package a lockfile or manifest declares; `dev` when only development needs it.
/// The packages every file ending in `suffix` declares: `parse` gives its (name, version)
/// pairs, `package` makes each one a (declared) package. For the lockfiles whose entries carry no
/// development marker.
pub(crate) fn declared_in_files(
    fs: &Filesystem,
    suffix: &str,
    parse: fn(&str) -> Vec<(String, String)>,
    package: impl Fn(&str, &str) -> Package,
) -> Vec<Found> {
    let mut out = Vec::new();
    for e in files_ending(fs, suffix) {
        let Some(b) = content(e) else { continue };
        for (name, version) in parse(&String::from_utf8_lossy(b)) {
            out.push(Found {
                pkg: package(&name, &version),
                path: e.path.clone(),
                layer: e.layer,
            });
        }
    }
    out
}

pub(crate) fn declared_package(
    name: &str,
    version: &str,
    kind: PackageType,
    purl: String,
    found_by: &str,
    dev: bool,
) -> Package {
    let mut p = new_package(name, version, kind, purl, found_by);
    p.evidence = Evidence::Declared;
    p.dev = dev;
    p
}

/// Package URL helpers (https://github.com/package-url/purl-spec).
pub mod purl {
    /// Percent-encodes everything but the purl unreserved characters.
    pub fn pct(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// Builds `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`. Namespace segments are encoded one by
    /// one; qualifiers are sorted by key as the spec requires, empty values dropped.
    pub fn build(
        ty: &str,
        namespace: Option<&str>,
        name: &str,
        version: &str,
        qualifiers: &[(&str, String)],
    ) -> String {
        let mut s = format!("pkg:{ty}/");
        if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
            let segs: Vec<String> = ns.split('/').filter(|x| !x.is_empty()).map(pct).collect();
            s.push_str(&segs.join("/"));
            s.push('/');
        }
        s.push_str(&pct(name));
        if !version.is_empty() {
            s.push('@');
            s.push_str(&pct(version));
        }
        let mut q: Vec<&(&str, String)> =
            qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
        q.sort_by(|a, b| a.0.cmp(b.0));
        if !q.is_empty() {
            s.push('?');
            let parts: Vec<String> = q.iter().map(|(k, v)| format!("{k}={}", pct(v))).collect();
            s.push_str(&parts.join("&"));
        }
        s
    }

    /// The `distro` qualifier: `ID-VERSION_ID`.
    pub fn distro_qualifier(d: Option<&crate::model::Distro>) -> String {
        match d {
            Some(d) if !d.version_id.is_empty() => format!("{}-{}", d.id, d.version_id),
            Some(d) => d.id.clone(),
            None => String::new(),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn builds_purls() {
            assert_eq!(
                super::build(
                    "deb",
                    Some("debian"),
                    "libc6",
                    "1:2.36-9",
                    &[("distro", "debian-12".into()), ("arch", "amd64".into())]
                ),
                "pkg:deb/debian/libc6@1%3A2.36-9?arch=amd64&distro=debian-12"
            );
            assert_eq!(
                super::build("npm", Some("@babel"), "core", "7.0.0", &[]),
                "pkg:npm/%40babel/core@7.0.0"
            );
        }
    }
}

/// Splits an RFC 822-style header block (`Key: value`, continuation lines start with a space)
/// into (key, value) pairs. Used by dpkg, Python metadata and MANIFEST.MF.
pub(crate) fn rfc822_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}
