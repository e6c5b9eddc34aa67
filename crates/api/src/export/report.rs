//! What the export reads of a stored scan report: the parts of `berth_scan::model::Report`
//! (schema 1.0) that map to `storage.ImageScan`. Declared here rather than taken from
//! berth-scan so the registry-only build, which compiles the scanner out, still exports the
//! reports a scanning build stored. Every field is defaulted: a report from a newer schema
//! with fewer of them still reads.
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(default)]
    pub scanner: Scanner,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub distro: Option<Distro>,
    #[serde(default)]
    pub layers: Vec<Layer>,
    #[serde(default)]
    pub packages: Vec<Package>,
    #[serde(default)]
    pub vulnerabilities: Vec<Vulnerability>,
    #[serde(default)]
    pub suppressed: Vec<Suppression>,
    /// Read by admission (the export has no field for them).
    #[serde(default)]
    pub malware: Vec<MalwareFinding>,
    #[serde(default)]
    pub baseline: Vec<BaselineFinding>,
}

/// A malicious file (`berth_scan::model::MalwareFinding`).
#[derive(Debug, Default, Deserialize)]
pub struct MalwareFinding {
    #[serde(default)]
    pub path: String,
    /// `yara:<namespace>.<rule>` or `sha256-blocklist`.
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub description: String,
}

/// A failed configuration check (`berth_scan::model::BaselineFinding`).
#[derive(Debug, Default, Deserialize)]
pub struct BaselineFinding {
    /// `BERTH-CFG-001`, ...
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub severity: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Scanner {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(default)]
    pub config_digest: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distro {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub version_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub created_by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LayerRef {
    #[serde(default)]
    pub index: usize,
}

#[derive(Debug, Default, Deserialize)]
pub struct Location {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub layer: Option<LayerRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub purl: String,
    #[serde(default)]
    pub locations: Vec<Location>,
    #[serde(default)]
    pub licenses: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Cvss {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub vector: String,
    #[serde(default)]
    pub score: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vulnerability {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub package_name: String,
    #[serde(default)]
    pub package_purl: String,
    #[serde(default)]
    pub installed_version: String,
    #[serde(default)]
    pub fixed_version: Option<String>,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub cvss: Vec<Cvss>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub links: Vec<String>,
}

/// A finding the scan left out (`--ignore-file`, OpenVEX): berth's exceptions.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub package_purl: Option<String>,
    #[serde(default)]
    pub by: String,
    #[serde(default)]
    pub expires: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}
