//! An image's risk from berth's stored scans.
//!
//! Where the figures come from (the scanner's report, schema 1.0):
//!
//! | report | kind | counted as |
//! | --- | --- | --- |
//! | `vulnerabilities[]` with `type` `deb`, `apk` or `rpm` | OS package vulnerability | `ImageCveVul`, `Statistics.vul` |
//! | `vulnerabilities[]` of any other `type` (npm, python, go-module, java-archive, ...) | language package vulnerability | `ImageScaVul`, `Statistics.vul` |
//! | `malware[]` | malicious file | `ImageMaliciousFile`, `Statistics.newSuspicious` |
//! | `baseline[]` | baseline finding | `ImageBaseline`, `Statistics.baselineNum` |
//!
//! Each entry is one finding, at the severity the report gives it (Critical, High, Medium, Low,
//! Negligible, Unknown; anything else is Unknown), folded into levels by the inventory crate's
//! one rule (`berth_inventory::risk::Level`). The scan of an image is the newest successful
//! scan of its manifest digest in any repository. An image berth does not store, or stores but
//! has not scanned yet, has no risk data: the summary counts no findings for it, and
//! ListImageRisk shows zeros.
use std::collections::HashMap;
use std::sync::Arc;

use berth_inventory::risk::{ImageRisk, Severity, SeverityCounts};
use berth_oci::Digest;
use berth_store::{StoreError, StoredImage};
use serde::Deserialize;

use crate::runtime::state::ScanFacts;
use crate::state::App;

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    source: Source,
    #[serde(default)]
    vulnerabilities: Vec<Vulnerability>,
    #[serde(default)]
    malware: Vec<Finding>,
    #[serde(default)]
    baseline: Vec<Finding>,
}

#[derive(Deserialize, Default)]
struct Source {
    #[serde(default, rename = "configDigest")]
    config_digest: Option<String>,
}

#[derive(Deserialize)]
struct Vulnerability {
    /// The package's type (`deb`, `apk`, `rpm`, `npm`, `python`, ...).
    #[serde(default, rename = "type")]
    package_type: String,
    #[serde(default)]
    severity: String,
}

#[derive(Deserialize)]
struct Finding {
    #[serde(default)]
    severity: String,
}

/// The package types whose vulnerabilities are the operating system's.
const OS_PACKAGE_TYPES: [&str; 3] = ["deb", "apk", "rpm"];

fn severity(s: &str) -> Severity {
    match s.to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        "negligible" => Severity::Negligible,
        _ => Severity::Unknown,
    }
}

fn add(counts: &mut SeverityCounts, s: &str) {
    let slot = match severity(s) {
        Severity::Critical => &mut counts.critical,
        Severity::High => &mut counts.high,
        Severity::Medium => &mut counts.medium,
        Severity::Low => &mut counts.low,
        Severity::Negligible => &mut counts.negligible,
        Severity::Unknown => &mut counts.unknown,
    };
    *slot = slot.saturating_add(1);
}

/// What a stored report says of the image's risk.
pub fn facts_from_report(json: &str) -> Result<ScanFacts, serde_json::Error> {
    let report: Report = serde_json::from_str(json)?;
    let mut risk = ImageRisk::default();
    for v in &report.vulnerabilities {
        let counts = if OS_PACKAGE_TYPES.contains(&v.package_type.as_str()) {
            &mut risk.os_vulns
        } else {
            &mut risk.lang_vulns
        };
        add(counts, &v.severity);
    }
    for m in &report.malware {
        add(&mut risk.malicious_files, &m.severity);
    }
    for b in &report.baseline {
        add(&mut risk.baseline, &b.severity);
    }
    Ok(ScanFacts {
        risk,
        config_digest: report.source.config_digest,
    })
}

/// The facts of one scan, read once and remembered. `None` for a scan without a readable
/// report (gone, or a report this build cannot read: logged, counted as not scanned).
pub async fn facts(app: &App, scan_id: i64) -> Result<Option<Arc<ScanFacts>>, StoreError> {
    if let Some(f) = app.runtime.scans.get(&scan_id) {
        return Ok(Some(f));
    }
    let Some(report) = app.meta.scan_result(scan_id).await? else {
        return Ok(None);
    };
    let parsed = tokio::task::spawn_blocking(move || facts_from_report(&report))
        .await
        .map_err(|e| StoreError::Corrupt(format!("scan report reader stopped: {e}")))?;
    match parsed {
        Ok(f) => {
            let f = Arc::new(f);
            app.runtime.scans.insert(scan_id, f.clone());
            Ok(Some(f))
        }
        Err(e) => {
            tracing::warn!(scan = scan_id, error = %e, "unreadable scan report: counted as not scanned");
            Ok(None)
        }
    }
}

/// The stored images of each digest, and the facts of the newest scan among them.
pub struct Lookup {
    pub stored: HashMap<Digest, Vec<StoredImage>>,
    pub facts: HashMap<Digest, Arc<ScanFacts>>,
}

impl Lookup {
    /// The risk map the inventory's readers take.
    pub fn risks(&self) -> HashMap<Digest, ImageRisk> {
        self.facts
            .iter()
            .map(|(d, f)| (d.clone(), f.risk))
            .collect()
    }
}

/// Looks up which of `digests` berth stores, and what their scans found.
pub async fn lookup(app: &App, digests: &[Digest]) -> Result<Lookup, StoreError> {
    let mut stored: HashMap<Digest, Vec<StoredImage>> = HashMap::new();
    for image in app.meta.images_by_digest(digests).await? {
        stored.entry(image.digest.clone()).or_default().push(image);
    }
    let mut facts = HashMap::new();
    for (digest, images) in &stored {
        let Some(scan) = images.iter().filter_map(|i| i.latest_scan_id).max() else {
            continue;
        };
        if let Some(f) = self::facts(app, scan).await? {
            facts.insert(digest.clone(), f);
        }
    }
    Ok(Lookup { stored, facts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_fold_by_package_type_and_severity() {
        let report = serde_json::json!({
            "source": {"kind": "berth", "name": "x", "configDigest": "sha256:ab"},
            "packages": [{"name": "p"}],
            "vulnerabilities": [
                {"id": "CVE-1", "type": "apk", "severity": "Critical"},
                {"id": "CVE-2", "type": "deb", "severity": "High"},
                {"id": "CVE-3", "type": "rpm", "severity": "weird"},
                {"id": "GHSA-1", "type": "npm", "severity": "Medium"},
                {"id": "GHSA-2", "type": "python", "severity": "low"},
            ],
            "malware": [{"path": "/x", "rule": "r", "severity": "High", "description": "", "sha256": ""}],
            "baseline": [
                {"id": "BERTH-CFG-001", "severity": "Medium"},
                {"id": "BERTH-FS-002", "severity": "Negligible"},
            ],
        });
        let f = facts_from_report(&report.to_string()).unwrap_or_default();
        assert_eq!(f.config_digest.as_deref(), Some("sha256:ab"));
        let r = f.risk;
        assert_eq!(
            (r.os_vulns.critical, r.os_vulns.high, r.os_vulns.unknown),
            (1, 1, 1)
        );
        assert_eq!((r.lang_vulns.medium, r.lang_vulns.low), (1, 1));
        assert_eq!(r.malicious_files.high, 1);
        assert_eq!((r.baseline.medium, r.baseline.negligible), (1, 1));
        assert!(facts_from_report("not json").is_err());
        assert_eq!(
            facts_from_report("{}").unwrap_or_default(),
            ScanFacts::default()
        );
    }
}
