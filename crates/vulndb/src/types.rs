//! The public vocabulary the scanner and the API use.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::version::Scheme;

/// A language ecosystem, spelled as OSV spells it (`Display`/`FromStr` round-trip that spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ecosystem {
    PyPI,
    Go,
    Npm,
    Maven,
    RubyGems,
    CratesIo,
    Packagist,
    NuGet,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 8] = [
        Ecosystem::PyPI,
        Ecosystem::Go,
        Ecosystem::Npm,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::CratesIo,
        Ecosystem::Packagist,
        Ecosystem::NuGet,
    ];

    /// The OSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::Npm => "npm",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::NuGet => "NuGet",
        }
    }

    /// The version ordering of the ecosystem.
    pub fn scheme(self) -> Scheme {
        match self {
            Ecosystem::PyPI => Scheme::Pep440,
            Ecosystem::Go => Scheme::Go,
            Ecosystem::Npm => Scheme::Npm,
            Ecosystem::Maven => Scheme::Maven,
            Ecosystem::RubyGems => Scheme::RubyGems,
            Ecosystem::CratesIo => Scheme::Semver,
            Ecosystem::Packagist => Scheme::Generic,
            Ecosystem::NuGet => Scheme::NuGet,
        }
    }

    /// Normalises a package name the way the ecosystem compares names (PEP 503 for PyPI,
    /// case-insensitive for NuGet and Packagist, `-`/`_` equivalent for crates.io); other
    /// ecosystems compare names exactly.
    pub fn normalize_name(self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut sep = false;
                for c in name.trim().chars() {
                    if c == '-' || c == '_' || c == '.' {
                        sep = true;
                    } else {
                        if sep && !out.is_empty() {
                            out.push('-');
                        }
                        sep = false;
                        out.extend(c.to_lowercase());
                    }
                }
                out
            }
            Ecosystem::NuGet | Ecosystem::Packagist => name.to_lowercase(),
            Ecosystem::CratesIo => name.replace('_', "-"),
            _ => name.to_owned(),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ecosystem {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        // OSV ecosystems may carry a suffix (`Debian:12`, `Maven:https://...`); the language
        // ecosystems berth knows are matched on the part before the colon.
        let base = s.split(':').next().unwrap_or(s);
        Ecosystem::ALL
            .into_iter()
            .find(|e| e.as_str() == base)
            .ok_or_else(|| Error::UnknownEcosystem(s.to_owned()))
    }
}

/// What a package belongs to: an OS distribution release or a language ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target<'a> {
    /// `distro` is the os-release `ID` ("debian", "alpine", "ubuntu", "rhel", ...), `release`
    /// its `VERSION_ID` ("12", "3.18.4"; Alpine is matched on major.minor, Debian on the major).
    Os {
        distro: &'a str,
        release: &'a str,
    },
    Lang(Ecosystem),
}

/// One installed package to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageQuery<'a> {
    pub target: Target<'a>,
    /// The (binary) package name as installed.
    pub name: &'a str,
    /// The source package name where the OS has one (dpkg `Source:`, apk `o:` origin, rpm
    /// source rpm name). Debian advisories are keyed by source package: when this is `None`
    /// the binary name is used.
    pub source_name: Option<&'a str>,
    pub version: &'a str,
}

/// Severity, normalised once at import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Negligible,
    Unknown,
}

impl Severity {
    /// The Clair scale of `DescribeImageScan` (High/Medium/Low/Negligible/Unknown). The seed has
    /// no Critical level, so Critical is reported as High.
    pub fn as_clair(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Negligible => "Negligible",
            Severity::Unknown => "Unknown",
        }
    }

    /// The urgency scale of `DescribeClusterImageSecuritySummary`: asap (high), nntf (medium),
    /// later (low). Critical and High are `asap`, Medium is `nntf`, everything else `later`.
    pub fn as_urgency(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "asap",
            Severity::Medium => "nntf",
            Severity::Low | Severity::Negligible | Severity::Unknown => "later",
        }
    }

    /// Parses the words feeds use (case-insensitive): critical, high/important, medium/moderate,
    /// low, negligible/unimportant/none/info. Anything else is `None`.
    pub fn from_word(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" | "important" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "negligible" | "unimportant" | "none" | "info" | "informational" => {
                Some(Severity::Negligible)
            }
            "unknown" => Some(Severity::Unknown),
            _ => None,
        }
    }

    /// The CVSS v3/v4 qualitative rating of a base score.
    pub fn from_cvss_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Negligible
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Negligible => "Negligible",
            Severity::Unknown => "Unknown",
        })
    }
}

/// A CVSS vector as the feed gave it, with its base score where berth could compute it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// "2.0", "3.0", "3.1" or "4.0".
    pub version: String,
    pub vector: String,
    pub score: Option<f64>,
}

/// Where a severity came from, said in the scanner's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SeveritySource {
    /// No feed rates it: the severity is Unknown.
    #[default]
    None,
    /// The advisory's own rating (GHSA `database_specific.severity`).
    FeedRating,
    /// A rating of this package within the advisory (OSV `affected[].ecosystem_specific` /
    /// `database_specific` `severity`).
    PackageRating,
    /// The Debian security tracker's urgency for this package (`data/CVE/list`).
    DebianUrgency,
    /// The highest base score of the advisory's CVSS vectors, computed from the vector.
    Cvss2,
    Cvss3,
    Cvss4,
    /// Another feed's record of the same CVE (its rating or CVSS), for an advisory that has
    /// none of its own: Debian DSA/DLA lists, Alpine secdb and most Go and PyPI records carry
    /// no severity.
    SameCve,
}

impl SeveritySource {
    pub fn as_str(self) -> &'static str {
        match self {
            SeveritySource::None => "none",
            SeveritySource::FeedRating => "feed-rating",
            SeveritySource::PackageRating => "package-rating",
            SeveritySource::DebianUrgency => "debian-urgency",
            SeveritySource::Cvss2 => "cvss-v2",
            SeveritySource::Cvss3 => "cvss-v3",
            SeveritySource::Cvss4 => "cvss-v4",
            SeveritySource::SameCve => "same-cve-other-feed",
        }
    }

    /// The source for a score computed from a vector of this CVSS version ("2.0", "3.1", ...).
    pub fn from_cvss_version(version: &str) -> SeveritySource {
        match version.split('.').next() {
            Some("2") => SeveritySource::Cvss2,
            Some("4") => SeveritySource::Cvss4,
            _ => SeveritySource::Cvss3,
        }
    }
}

impl fmt::Display for SeveritySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One advisory affecting one queried package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The advisory id (CVE for Debian and Alpine, GHSA/PYSEC/GO/... for OSV).
    pub id: String,
    /// Other ids of the same vulnerability (CVE <-> GHSA/PYSEC/DSA/DLA).
    pub aliases: Vec<String>,
    pub package: String,
    pub installed_version: String,
    /// The versions that fix it (empty: no fix yet), lowest first in the package's ordering.
    pub fixed_versions: Vec<String>,
    /// The fix for the installed version's branch: the lowest fixed version above it (an
    /// installed 1.26.12 with fixes 2.0.6 and 1.26.17 gets 1.26.17).
    pub fixed_in: Option<String>,
    pub severity: Severity,
    /// Where `severity` came from.
    pub severity_source: SeveritySource,
    pub cvss: Vec<Cvss>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub links: Vec<String>,
    /// Which feed: "osv:PyPI", "debian-tracker", "alpine-secdb", ...
    pub source: String,
}
