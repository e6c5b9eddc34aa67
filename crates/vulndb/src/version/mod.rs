//! Version orderings, one per ecosystem. Each module's `Version::parse` rejects what its
//! ecosystem rejects, and its `Ord` is the ecosystem's own ordering.
//!
//! | scheme | used for | implementation |
//! | --- | --- | --- |
//! | dpkg | Debian, Ubuntu | [`dpkg`], written here (the crate that exists is GPL) |
//! | apk | Alpine | [`apk`], port of apk-tools `version.c` |
//! | rpm | RHEL family, SUSE, Amazon | [`rpm`], port of `rpmvercmp` (4.18) |
//! | PEP 440 | PyPI | the `pep440_rs` crate (uv's implementation) |
//! | SemVer 2.0 | crates.io, Go, npm | [`semverish`] over the `semver` crate's parser |
//! | Maven | Maven | [`maven`], port of `ComparableVersion` |
//! | RubyGems | RubyGems | [`rubygems`], written here |
//! | NuGet | NuGet | [`nuget`], written here |
//! | generic | Packagist, unknown | `rpmvercmp` on the version (an approximation) |
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::VersionError;

pub mod apk;
pub mod dpkg;
pub mod maven;
pub mod nuget;
pub mod rpm;
pub mod rubygems;
pub mod semverish;

/// A version ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scheme {
    Dpkg,
    Apk,
    Rpm,
    Pep440,
    Semver,
    Go,
    Npm,
    Maven,
    RubyGems,
    NuGet,
    Generic,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Npm => "npm",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::NuGet => "nuget",
            Scheme::Generic => "generic",
        }
    }

    /// The ordering of an OS distribution's packages, by os-release `ID`.
    pub fn for_distro(distro: &str) -> Scheme {
        match distro {
            "debian" | "ubuntu" => Scheme::Dpkg,
            "alpine" | "wolfi" | "chainguard" => Scheme::Apk,
            "rhel"
            | "centos"
            | "rocky"
            | "almalinux"
            | "fedora"
            | "amzn"
            | "ol"
            | "sles"
            | "opensuse-leap"
            | "opensuse-tumbleweed"
            | "photon"
            | "mariner"
            | "azurelinux" => Scheme::Rpm,
            _ => Scheme::Generic,
        }
    }

    /// Parses a version in this scheme.
    pub fn parse(self, s: &str) -> Result<AnyVersion, VersionError> {
        Ok(match self {
            Scheme::Dpkg => AnyVersion::Dpkg(dpkg::Version::parse(s)?),
            Scheme::Apk => AnyVersion::Apk(apk::Version::parse(s)?),
            Scheme::Rpm => AnyVersion::Rpm(rpm::Version::parse(s)?),
            Scheme::Pep440 => AnyVersion::Pep440(
                pep440_rs::Version::from_str(s.trim())
                    .map_err(|e| VersionError::new("pep440", s, e.to_string()))?,
            ),
            Scheme::Semver => AnyVersion::Semver(semverish::Version::parse(s)?),
            Scheme::Go => AnyVersion::Semver(semverish::Version::parse_go(s)?),
            Scheme::Npm => AnyVersion::Semver(semverish::Version::parse_npm(s)?),
            Scheme::Maven => AnyVersion::Maven(maven::Version::parse(s)?),
            Scheme::RubyGems => AnyVersion::RubyGems(rubygems::Version::parse(s)?),
            Scheme::NuGet => AnyVersion::NuGet(nuget::Version::parse(s)?),
            Scheme::Generic => {
                let t = s.trim();
                let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
                if !t.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(VersionError::new(
                        "generic",
                        s,
                        "does not start with a digit",
                    ));
                }
                AnyVersion::Generic(t.to_owned())
            }
        })
    }

    /// Compares two versions in this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let a = self.parse(a)?;
        let b = self.parse(b)?;
        Ok(a.cmp_same(&b).unwrap_or(Ordering::Equal))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A version parsed in some scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyVersion {
    Dpkg(dpkg::Version),
    Apk(apk::Version),
    Rpm(rpm::Version),
    Pep440(pep440_rs::Version),
    Semver(semverish::Version),
    Maven(maven::Version),
    RubyGems(rubygems::Version),
    NuGet(nuget::Version),
    Generic(String),
}

impl AnyVersion {
    /// Compares two versions of the same scheme; `None` across schemes.
    pub fn cmp_same(&self, other: &AnyVersion) -> Option<Ordering> {
        use AnyVersion as V;
        Some(match (self, other) {
            (V::Dpkg(a), V::Dpkg(b)) => a.cmp(b),
            (V::Apk(a), V::Apk(b)) => a.cmp(b),
            (V::Rpm(a), V::Rpm(b)) => a.cmp(b),
            (V::Pep440(a), V::Pep440(b)) => a.cmp(b),
            (V::Semver(a), V::Semver(b)) => a.cmp(b),
            (V::Maven(a), V::Maven(b)) => a.cmp(b),
            (V::RubyGems(a), V::RubyGems(b)) => a.cmp(b),
            (V::NuGet(a), V::NuGet(b)) => a.cmp(b),
            (V::Generic(a), V::Generic(b)) => rpm::rpmvercmp(a, b),
            _ => return None,
        })
    }
}

impl PartialOrd for AnyVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.cmp_same(other)
    }
}
