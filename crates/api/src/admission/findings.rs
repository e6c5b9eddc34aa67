//! A stored scan report as a policy reads it (`berth_hss::policy::ImageFindings`).
//!
//! The report is read with the workload export's reader (`crate::export::report`), so the two
//! surfaces agree on what a report says. Severities are the scanner's names (anything else is
//! Unknown). Baseline checks are named by berth_hss's check ids where it has one
//! (`run-as-root` for BERTH-CFG-001/002; `secret-in-layer` for BERTH-CFG-004/005 and
//! BERTH-FS-001/002/008), else by the scanner's own id (a policy's `risky_item` names the one
//! the check goes by); the scanner's id stays in the title (`BERTH-CFG-001: ...`) for the reasons.
use std::sync::Arc;

use berth_hss::policy::{BaselineFinding, ImageFindings, Malware, RUN_AS_ROOT, SECRET_IN_LAYER};
use berth_hss::policy::{Severity, Vuln};
use berth_store::StoreError;

use crate::export::report::Report;
use crate::state::App;

pub fn severity(s: &str) -> Severity {
    match s.to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        "negligible" => Severity::Negligible,
        _ => Severity::Unknown,
    }
}

/// berth_hss's check id for a scanner check id, when it has one.
fn check_id(scanner_id: &str) -> &str {
    match scanner_id {
        "BERTH-CFG-001" | "BERTH-CFG-002" => RUN_AS_ROOT,
        "BERTH-CFG-004" | "BERTH-CFG-005" | "BERTH-FS-001" | "BERTH-FS-002" | "BERTH-FS-008" => {
            SECRET_IN_LAYER
        }
        other => other,
    }
}

/// The family of a malware rule: `yara:<namespace>.<rule>` → `<rule>`; other rules are their
/// own family.
fn family(rule: &str) -> Option<String> {
    let bare = rule.strip_prefix("yara:")?;
    Some(bare.rsplit_once('.').map_or(bare, |(_, r)| r).to_string())
}

/// What a report found.
pub fn from_report(report: &Report) -> ImageFindings {
    ImageFindings {
        scanned: true,
        vulns: report
            .vulnerabilities
            .iter()
            .map(|v| Vuln {
                id: v.id.clone(),
                severity: severity(&v.severity),
                package: v.package_name.clone(),
                installed_version: v.installed_version.clone(),
                fixed_version: v.fixed_version.clone().filter(|f| !f.is_empty()),
            })
            .collect(),
        malware: report
            .malware
            .iter()
            .map(|m| Malware {
                name: m.rule.clone(),
                family: family(&m.rule),
                severity: severity(&m.severity),
                path: Some(m.path.clone()).filter(|p| !p.is_empty()),
            })
            .collect(),
        baseline: report
            .baseline
            .iter()
            .map(|b| BaselineFinding {
                check_id: check_id(&b.id).to_string(),
                severity: severity(&b.severity),
                title: if b.title.is_empty() {
                    b.id.clone()
                } else {
                    format!("{}: {}", b.id, b.title)
                },
            })
            .collect(),
    }
}

/// The findings of a finished scan, read once and remembered (a finished scan never changes).
/// `None` for a scan without a readable report: logged, and treated as not scanned.
pub async fn of_scan(app: &App, scan_id: i64) -> Result<Option<Arc<ImageFindings>>, StoreError> {
    if let Some(f) = app.admission.findings.get(&scan_id) {
        return Ok(Some(f));
    }
    let Some(json) = app.meta.scan_result(scan_id).await? else {
        return Ok(None);
    };
    let parsed = tokio::task::spawn_blocking(move || serde_json::from_str::<Report>(&json))
        .await
        .map_err(|e| StoreError::Corrupt(format!("scan report reader stopped: {e}")))?;
    match parsed {
        Ok(report) => {
            let f = Arc::new(from_report(&report));
            app.admission.findings.insert(scan_id, f.clone());
            Ok(Some(f))
        }
        Err(e) => {
            tracing::warn!(scan = scan_id, error = %e, "unreadable scan report: admitted as not scanned");
            Ok(None)
        }
    }
}

/// The findings of the scan cache's report of an image berth does not store
/// (`crate::scan_cache`); `None` when there is none or it does not read.
pub async fn of_foreign(
    app: &App,
    digest: &berth_oci::Digest,
) -> Result<Option<Arc<ImageFindings>>, StoreError> {
    let key = digest.to_string();
    if let Some(hit) = app.admission.foreign.get(&key) {
        return Ok(hit);
    }
    let found = read_foreign(app, digest).await?;
    app.admission.foreign.insert(key, found.clone());
    Ok(found)
}

async fn read_foreign(
    app: &App,
    digest: &berth_oci::Digest,
) -> Result<Option<Arc<ImageFindings>>, StoreError> {
    let Some(scan) = crate::scan_cache::reports(app, std::slice::from_ref(digest))
        .await?
        .pop()
    else {
        return Ok(None);
    };
    let Some(json) = scan.report else {
        return Ok(None);
    };
    let parsed = tokio::task::spawn_blocking(move || serde_json::from_str::<Report>(&json))
        .await
        .map_err(|e| StoreError::Corrupt(format!("scan report reader stopped: {e}")))?;
    match parsed {
        Ok(report) => Ok(Some(Arc::new(from_report(&report)))),
        Err(e) => {
            tracing::warn!(digest = %digest, error = %e, "unreadable foreign scan report: admitted as not scanned");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_become_findings() {
        let report: Report = serde_json::from_value(serde_json::json!({
            "vulnerabilities": [{"id": "CVE-1", "packageName": "musl", "installedVersion": "1",
                                 "fixedVersion": "2", "severity": "Critical"},
                                {"id": "CVE-2", "packageName": "x", "fixedVersion": "",
                                 "severity": "odd"}],
            "malware": [{"path": "/tmp/e", "rule": "yara:berth.eicar", "severity": "High"}],
            "baseline": [{"id": "BERTH-CFG-001", "title": "no USER", "severity": "Medium"},
                         {"id": "BERTH-CFG-009", "severity": "Low"}],
        }))
        .unwrap_or_default();
        let f = from_report(&report);
        assert!(f.scanned);
        assert_eq!(f.vulns[0].fixed_version.as_deref(), Some("2"));
        assert_eq!(f.vulns[1].fixed_version, None);
        assert_eq!(f.vulns[1].severity, Severity::Unknown);
        assert_eq!(f.malware[0].family.as_deref(), Some("eicar"));
        assert_eq!(f.baseline[0].check_id, RUN_AS_ROOT);
        assert_eq!(f.baseline[1].check_id, "BERTH-CFG-009");
    }
}
