//! Ruby installed gems: `specifications/*.gemspec` (the normalised stubs RubyGems writes).
//! Declared gems (`dir:` scans): `Gemfile.lock`.
use super::common::{Found, declared_in_files, declared_package, new_package, purl};
use crate::fs::{EntryKind, Filesystem};
use crate::model::PackageType;

fn quoted(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &s[1..];
    let end = rest.find(q)?;
    Some(rest[..end].to_string())
}

/// Extracts name, version and licenses from a gemspec.
pub fn parse_gemspec(text: &str) -> Option<(String, String, Vec<String>)> {
    let (mut name, mut version, mut licenses) = (None, None, Vec::new());
    for line in text.lines() {
        let l = line.trim();
        let Some((lhs, rhs)) = l.split_once('=') else {
            continue;
        };
        let key = lhs.trim().rsplit('.').next().unwrap_or("").trim();
        match key {
            "name" if name.is_none() => name = quoted(rhs),
            "version" if version.is_none() => {
                version = quoted(rhs).or_else(|| {
                    rhs.split_once("Gem::Version.new(")
                        .and_then(|(_, r)| quoted(r))
                })
            }
            "licenses" | "license" => {
                let mut rest = rhs;
                while let Some(pos) = rest.find(['"', '\'']) {
                    let Some(v) = quoted(&rest[pos..]) else { break };
                    rest = &rest[pos + v.len() + 2..];
                    licenses.push(v);
                }
            }
            _ => {}
        }
    }
    Some((name?, version?, licenses))
}

pub fn catalog(fs: &Filesystem) -> Vec<Found> {
    let mut out = Vec::new();
    for e in fs.iter().filter(|e| {
        e.kind == EntryKind::File
            && e.path.ends_with(".gemspec")
            && e.path.contains("/specifications/")
    }) {
        let Some(b) = super::common::content(e) else {
            continue;
        };
        let Some((name, version, licenses)) = parse_gemspec(&String::from_utf8_lossy(b)) else {
            continue;
        };
        let mut pkg = new_package(
            &name,
            &version,
            PackageType::Gem,
            purl::build("gem", None, &name, &version, &[]),
            "ruby-installed-gemspec-cataloger",
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

/// `Gemfile.lock`: the `specs:` of its `GEM`, `GIT` and `PATH` sections, four spaces in
/// (`    rake (13.1.0)`; dependencies of a spec are six spaces in). A platform suffix
/// (`nokogiri (1.16.2-x86_64-linux)`) is not part of the version: RubyGems versions hold no
/// `-`. The lock does not say which gems are development-only (that is in the Gemfile's
/// groups), so all are reported.
pub fn parse_gemfile_lock(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_specs = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if !line.starts_with(' ') {
            in_specs = false;
            continue;
        }
        if line.trim() == "specs:" {
            in_specs = true;
            continue;
        }
        if !in_specs {
            continue;
        }
        let Some(spec) = line.strip_prefix("    ") else {
            continue;
        };
        if spec.starts_with(' ') {
            continue;
        }
        let Some((name, rest)) = spec.split_once(" (") else {
            continue;
        };
        let version = rest.trim_end_matches(')');
        let version = version.split('-').next().unwrap_or(version);
        if !name.is_empty() && !version.is_empty() {
            out.push((name.to_string(), version.to_string()));
        }
    }
    out
}

pub fn catalog_gemfile_lock(fs: &Filesystem) -> Vec<Found> {
    declared_in_files(fs, "/Gemfile.lock", parse_gemfile_lock, |name, version| {
        declared_package(
            name,
            version,
            PackageType::Gem,
            purl::build("gem", None, name, version, &[]),
            "ruby-gemfile-cataloger",
            false,
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_gemfile_lock() {
        let lock = "GIT\n  remote: https://github.com/x/y.git\n  revision: abc\n  specs:\n    y (0.1.0)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.16.2-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n\nBUNDLED WITH\n   2.5.6\n";
        let got = super::parse_gemfile_lock(lock);
        let want: Vec<(String, String)> =
            [("y", "0.1.0"), ("nokogiri", "1.16.2"), ("racc", "1.7.3")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn parses_gemspec() {
        let g = "Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\nend\n";
        assert_eq!(
            super::parse_gemspec(g),
            Some(("rake".into(), "13.0.6".into(), vec!["MIT".into()]))
        );
    }
}
