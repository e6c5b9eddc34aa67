//! SemVer 2.0 precedence (build metadata ignored), for crates.io, Go modules (with the `v`
//! prefix, shorthand `v1.2`, pseudo-versions and `go1.21rc2` toolchain tags) and npm (node-semver
//! strict parsing). Parsing and pre-release precedence come from the `semver` crate; the crate's
//! own `Ord` also orders build metadata, which SemVer precedence must not, so `Ord` is ours.
use std::cmp::Ordering;

use crate::error::VersionError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: semver::Prerelease,
}

impl Version {
    fn from_semver(v: semver::Version) -> Version {
        Version {
            major: v.major,
            minor: v.minor,
            patch: v.patch,
            pre: v.pre,
        }
    }

    /// Strict SemVer 2.0 (crates.io).
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        semver::Version::parse(s.trim())
            .map(Version::from_semver)
            .map_err(|e| VersionError::new("semver", s, e.to_string()))
    }

    /// node-semver strict parsing: surrounding whitespace and one leading `v` allowed,
    /// at most 256 characters, numbers up to 2^53-1.
    pub fn parse_npm(s: &str) -> Result<Version, VersionError> {
        let t = s.trim();
        if t.len() > 256 {
            return Err(VersionError::new("npm", s, "longer than 256 characters"));
        }
        let t = t.strip_prefix('v').unwrap_or(t);
        let v =
            semver::Version::parse(t).map_err(|e| VersionError::new("npm", s, e.to_string()))?;
        const MAX_SAFE: u64 = (1 << 53) - 1;
        if v.major > MAX_SAFE || v.minor > MAX_SAFE || v.patch > MAX_SAFE {
            return Err(VersionError::new("npm", s, "number too large"));
        }
        Ok(Version::from_semver(v))
    }

    /// Go module versions: `v` optional (OSV omits it), `v1`/`v1.2` shorthand as in
    /// `golang.org/x/mod/semver`, `+incompatible` ignored, and Go toolchain tags
    /// (`go1.21`, `go1.21.3`, `go1.21rc2`) for the standard library.
    pub fn parse_go(s: &str) -> Result<Version, VersionError> {
        let t = s.trim();
        let err = |r: &str| VersionError::new("go", s, r);
        if let Some(tag) = t.strip_prefix("go") {
            return parse_go_toolchain(tag).ok_or_else(|| err("not a Go toolchain version"));
        }
        let t = t.strip_prefix('v').unwrap_or(t);
        // Fill in the shorthand forms v1 and v1.2 (only without pre-release/build).
        let core_end = t.find(['-', '+']).unwrap_or(t.len());
        let dots = t[..core_end].matches('.').count();
        let filled;
        let t = if core_end == t.len() && dots < 2 {
            filled = format!("{t}{}", ".0".repeat(2 - dots));
            filled.as_str()
        } else {
            t
        };
        semver::Version::parse(t)
            .map(Version::from_semver)
            .map_err(|e| err(&e.to_string()))
    }
}

fn parse_go_toolchain(tag: &str) -> Option<Version> {
    // 1.21, 1.21.3, 1.21rc2, 1.21beta1, 1.9.2rc2
    let idx = tag
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(tag.len());
    let (nums, pre) = tag.split_at(idx);
    let mut parts = nums.split('.');
    let mut n = [0u64; 3];
    for slot in n.iter_mut() {
        match parts.next() {
            Some(p) => *slot = p.parse().ok()?,
            None => break,
        }
    }
    if parts.next().is_some() {
        return None;
    }
    let pre = if pre.is_empty() {
        semver::Prerelease::EMPTY
    } else {
        let k = pre.find(|c: char| c.is_ascii_digit())?;
        semver::Prerelease::new(&format!("{}.{}", &pre[..k], &pre[k..])).ok()?
    };
    Some(Version {
        major: n[0],
        minor: n[1],
        patch: n[2],
        pre,
    })
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
