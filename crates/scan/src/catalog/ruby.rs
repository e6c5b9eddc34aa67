//! Ruby installed gems: `specifications/*.gemspec` (the normalised stubs RubyGems writes).
use super::{Found, new_package, purl};
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
        let Some(b) = super::content(e) else { continue };
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

#[cfg(test)]
mod tests {
    #[test]
    fn parses_gemspec() {
        let g = "Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\nend\n";
        assert_eq!(
            super::parse_gemspec(g),
            Some(("rake".into(), "13.0.6".into(), vec!["MIT".into()]))
        );
    }
}
