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

use berth_hss::policy::{
    BaselineFinding, Finding as PolicyFinding, Malware, Severity as HssSeverity, Subject,
};

use crate::exceptions::{Active, registry_subjects};
use crate::runtime::state::{FindingFact, FindingKind, ScanFacts};
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
#[serde(rename_all = "camelCase")]
struct Vulnerability {
    #[serde(default)]
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    package_name: String,
    /// The package's type (`deb`, `apk`, `rpm`, `npm`, `python`, ...).
    #[serde(default, rename = "type")]
    package_type: String,
    #[serde(default)]
    severity: String,
}

/// A malware finding names its rule, a baseline finding its check id.
#[derive(Deserialize)]
struct Finding {
    #[serde(default, alias = "rule")]
    id: String,
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
    let mut findings = Vec::new();
    for v in report.vulnerabilities {
        let kind = if OS_PACKAGE_TYPES.contains(&v.package_type.as_str()) {
            FindingKind::OsVuln
        } else {
            FindingKind::LangVuln
        };
        findings.push(FindingFact {
            kind,
            id: v.id,
            aliases: v.aliases,
            package: v.package_name,
            severity: v.severity,
        });
    }
    for (kind, list) in [
        (FindingKind::Malware, report.malware),
        (FindingKind::Baseline, report.baseline),
    ] {
        findings.extend(list.into_iter().map(|f| FindingFact {
            kind,
            id: f.id,
            aliases: Vec::new(),
            package: String::new(),
            severity: f.severity,
        }));
    }
    Ok(ScanFacts {
        risk: count(findings.iter()),
        config_digest: report.source.config_digest,
        findings,
    })
}

/// The risk figures of `findings`.
fn count<'a>(findings: impl Iterator<Item = &'a FindingFact>) -> ImageRisk {
    let mut risk = ImageRisk::default();
    for f in findings {
        let counts = match f.kind {
            FindingKind::OsVuln => &mut risk.os_vulns,
            FindingKind::LangVuln => &mut risk.lang_vulns,
            FindingKind::Malware => &mut risk.malicious_files,
            FindingKind::Baseline => &mut risk.baseline,
        };
        add(counts, &f.severity);
    }
    risk
}

/// Whether an exception of `active` covers `f` in any of `subjects`.
fn excepted(active: &Active, subjects: &[Subject], f: &FindingFact) -> bool {
    match f.kind {
        FindingKind::OsVuln | FindingKind::LangVuln => active
            .covering_vuln(subjects, &f.id, &f.aliases, &f.package)
            .is_some(),
        FindingKind::Malware => {
            let m = Malware {
                name: f.id.clone(),
                family: None,
                severity: HssSeverity::Unknown,
                path: None,
            };
            subjects
                .iter()
                .any(|s| active.covering(s, PolicyFinding::Malware(&m)).is_some())
        }
        FindingKind::Baseline => {
            let b = BaselineFinding {
                check_id: f.id.clone(),
                severity: HssSeverity::Unknown,
                title: String::new(),
            };
            subjects
                .iter()
                .any(|s| active.covering(s, PolicyFinding::Baseline(&b)).is_some())
        }
    }
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
    /// The risk map the inventory's readers take, without what `exceptions` cover in the
    /// request's context (`cluster`, `namespace`: what it is narrowed to, if anything). An
    /// image is matched under each of its stored repositories and tags.
    pub fn risks(
        &self,
        exceptions: &Active,
        cluster: Option<&str>,
        namespace: Option<&str>,
    ) -> HashMap<Digest, ImageRisk> {
        let active = exceptions.in_context(cluster, namespace);
        self.facts
            .iter()
            .map(|(d, f)| {
                if active.is_empty() {
                    return (d.clone(), f.risk);
                }
                let digest = d.to_string();
                let subjects: Vec<Subject> = self
                    .stored
                    .get(d)
                    .into_iter()
                    .flatten()
                    .flat_map(|i| registry_subjects(&i.repository, &digest, &i.tags))
                    .map(|mut s| {
                        s.cluster_id = cluster.unwrap_or_default().to_string();
                        s.namespace = namespace.unwrap_or_default().to_string();
                        s
                    })
                    .collect();
                let kept = f
                    .findings
                    .iter()
                    .filter(|x| !excepted(&active, &subjects, x));
                (d.clone(), count(kept))
            })
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

    /// Exceptions leave findings out of an image's figures in their context only: by
    /// repository, tag, cluster and namespace, for each kind of finding.
    #[test]
    fn exceptions_leave_findings_out_in_their_context() {
        use berth_hss::policy::{Exception, ExceptionScope};
        let report = serde_json::json!({
            "vulnerabilities": [
                {"id": "GHSA-1", "aliases": ["CVE-1"], "packageName": "openssl", "type": "deb", "severity": "Critical"},
                {"id": "CVE-2", "packageName": "requests", "type": "python", "severity": "High"},
            ],
            "malware": [{"rule": "yara:berth.EICAR", "severity": "High"}],
            "baseline": [{"id": "BERTH-CFG-001", "severity": "Medium"}],
        });
        let facts = facts_from_report(&report.to_string()).unwrap();
        let digest: Digest = format!("sha256:{}", "d".repeat(64)).parse().unwrap();
        let stored = StoredImage {
            digest: digest.clone(),
            instance_id: "i".into(),
            instance_name: "i".into(),
            namespace: "team".into(),
            namespace_public: false,
            repository_id: 1,
            repository: "team/app".into(),
            tags: vec!["1.0".into()],
            tag_immutable: false,
            created_at: 0,
            latest_scan_id: Some(1),
        };
        let lookup = Lookup {
            stored: HashMap::from([(digest.clone(), vec![stored])]),
            facts: HashMap::from([(digest.clone(), Arc::new(facts))]),
        };
        let active = |scope: ExceptionScope| Active {
            at: std::time::SystemTime::now(),
            exceptions: vec![Exception {
                id: "ex".into(),
                scope,
                reason: "r".into(),
                author: "a".into(),
                expires_at: i64::MAX,
            }],
            from_vex: vec![false],
        };
        let risk = |a: &Active, cluster: Option<&str>, ns: Option<&str>| {
            lookup.risks(a, cluster, ns)[&digest]
        };
        let none = risk(&Active::none(), None, None);
        assert_eq!((none.os_vulns.critical, none.lang_vulns.high), (1, 1));

        let by_alias = active(ExceptionScope {
            image_or_repository: Some("team/app:1.0".into()),
            vulnerability_or_check: Some("CVE-1".into()),
            ..Default::default()
        });
        let r = risk(&by_alias, None, None);
        assert_eq!((r.os_vulns.critical, r.lang_vulns.high), (0, 1));

        let in_prod = active(ExceptionScope {
            cluster_id: Some("c1".into()),
            namespace: Some("prod".into()),
            package: Some("requests".into()),
            ..Default::default()
        });
        assert_eq!(
            risk(&in_prod, None, None).lang_vulns.high,
            1,
            "not narrowed"
        );
        assert_eq!(
            risk(&in_prod, Some("c1"), None).lang_vulns.high,
            1,
            "cluster only"
        );
        assert_eq!(risk(&in_prod, Some("c1"), Some("prod")).lang_vulns.high, 0);
        assert_eq!(risk(&in_prod, Some("c2"), Some("prod")).lang_vulns.high, 1);

        let malware = active(ExceptionScope {
            vulnerability_or_check: Some("yara:berth.EICAR".into()),
            ..Default::default()
        });
        assert_eq!(risk(&malware, None, None).malicious_files.high, 0);
        let check = active(ExceptionScope {
            image_or_repository: Some("team/other".into()),
            vulnerability_or_check: Some("BERTH-CFG-001".into()),
            ..Default::default()
        });
        assert_eq!(
            risk(&check, None, None).baseline.medium,
            1,
            "another repository"
        );
    }

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
