//! The engine's report: its own stable JSON schema (`schemaVersion` below). Fields are only ever
//! added; a rename or removal bumps the major schema version.
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: &str = "1.0";

/// Severity, in Clair's vocabulary (the registry API's), plus Critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Negligible => "Negligible",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "unknown" => Severity::Unknown,
            "negligible" => Severity::Negligible,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" | "important" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The layer a finding comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerRef {
    pub index: usize,
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// A layer of the scanned image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerInfo {
    pub index: usize,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Entries read from the tar stream (files, directories, links, whiteouts).
    pub entries: u64,
    pub decompressed_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
    /// What the file at `path` says about the package: that it is installed (a package
    /// database, an installed package's own metadata, a binary's build info) or only declared
    /// (a lockfile or manifest, read in `dir:` scans only).
    #[serde(default)]
    pub evidence: Evidence,
}

/// How a package was found, as Syft and Trivy distinguish them: an image scan reports what is
/// installed; a lockfile only declares what an install would fetch (and in images often
/// describes something else: a gem's editor plugin, an app that was never built).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    #[default]
    Installed,
    Declared,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Installed => "installed",
            Evidence::Declared => "declared",
        }
    }
}

/// Package types, named as Syft names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageType {
    Deb,
    Apk,
    Rpm,
    Python,
    Npm,
    GoModule,
    JavaArchive,
    RustCrate,
    Gem,
    PhpComposer,
}

impl PackageType {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Rpm => "rpm",
            PackageType::Python => "python",
            PackageType::Npm => "npm",
            PackageType::GoModule => "go-module",
            PackageType::JavaArchive => "java-archive",
            PackageType::RustCrate => "rust-crate",
            PackageType::Gem => "gem",
            PackageType::PhpComposer => "php-composer",
        }
    }

    pub fn is_os(self) -> bool {
        matches!(self, PackageType::Deb | PackageType::Apk | PackageType::Rpm)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub name: String,
    pub version: String,
    #[serde(rename = "type")]
    pub kind: PackageType,
    pub purl: String,
    /// The cataloger that found it (Syft's names where one exists).
    pub found_by: String,
    pub locations: Vec<Location>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Source package (deb source, rpm source RPM name, apk origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Maven group id, Go main-module flag, etc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `installed` when any location shows it installed, else `declared`.
    #[serde(default)]
    pub evidence: Evidence,
    /// A development-only dependency (listed only with `--include-dev`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
}

impl Package {
    /// The layer of the first location: the layer that introduced the package.
    pub fn layer(&self) -> Option<&LayerRef> {
        self.locations.first().and_then(|l| l.layer.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cvss {
    pub version: String,
    pub vector: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vulnerability {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub package_name: String,
    pub package_purl: String,
    #[serde(rename = "type")]
    pub package_type: PackageType,
    pub installed_version: String,
    /// Every fixed version, lowest first in the package's ordering.
    #[serde(default)]
    pub fixed_versions: Vec<String>,
    /// The fix for the installed version's branch: the lowest fixed version above it (an
    /// installed 1.26.12 with fixes 1.26.17 and 2.0.6 gets 1.26.17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    pub severity: Severity,
    /// Where `severity` came from: `feed-rating`, `package-rating`, `debian-urgency`,
    /// `cvss-v2`/`-v3`/`-v4` (computed from the vector), `same-cve-other-feed`, `none`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity_source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<Cvss>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Every file the package was found in, when more than one: the same Go toolchain
    /// (`stdlib`) or module in several binaries is one package, and each binary is affected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MalwareFinding {
    /// The file; for a member of a zip or jar, `archive!member` (`/x/clam.zip!clam.exe`).
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
    /// `yara:<namespace>.<rule>` or `sha256-blocklist`: the most severe rule that matched.
    pub rule: String,
    /// Every rule that matched this file, most severe first: a file is reported once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    pub severity: Severity,
    pub description: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineFinding {
    /// Stable check id, e.g. `BERTH-CFG-001`.
    pub id: String,
    /// Short name of the check, e.g. `root-user`.
    pub check: String,
    pub title: String,
    pub severity: Severity,
    pub remediation: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distro {
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version_codename: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pretty_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// `registry`, `oci-dir`, `docker-archive`, `dir` or `berth`.
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repo_tags: Vec<String>,
}

/// A finding left out of the results, with why: the audit trail of `--ignore-file` and VEX.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_purl: Option<String>,
    /// `ignore-file` or `openvex`.
    pub by: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: String,
    pub scanner: ScannerInfo,
    pub source: SourceInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    #[serde(default)]
    pub layers: Vec<LayerInfo>,
    pub packages: Vec<Package>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub malware: Vec<MalwareFinding>,
    pub baseline: Vec<BaselineFinding>,
    #[serde(default)]
    pub suppressed: Vec<Suppression>,
    /// Problems that did not stop the scan (an unreadable package database, a symlink loop).
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScannerInfo {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_version: Option<String>,
}

impl Default for ScannerInfo {
    fn default() -> Self {
        ScannerInfo {
            name: "berth".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            db_version: None,
        }
    }
}

impl Report {
    /// The highest severity among all (unsuppressed) findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.vulnerabilities
            .iter()
            .map(|v| v.severity)
            .chain(self.malware.iter().map(|m| m.severity))
            .chain(self.baseline.iter().map(|b| b.severity))
            .max()
    }

    /// Counts findings at or above `min`.
    pub fn count_at_least(&self, min: Severity) -> usize {
        self.vulnerabilities
            .iter()
            .filter(|v| v.severity >= min)
            .count()
            + self.malware.iter().filter(|m| m.severity >= min).count()
            + self.baseline.iter().filter(|b| b.severity >= min).count()
    }
}
