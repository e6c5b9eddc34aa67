//! What a decision is about: the workload about to run ([`Subject`]) and what the scanner found
//! in its image ([`ImageFindings`]). Defined here, not imported, so this crate depends on no
//! other berth crate; the surfaces fill them from the inventory and the scan report.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::severity::Severity;

/// An image reference, split.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageRef {
    /// `registry.example:5000`; empty for the default registry.
    #[serde(default)]
    pub registry: String,
    /// `library/nginx`.
    pub repository: String,
    #[serde(default)]
    pub tag: Option<String>,
    /// `sha256:...`.
    #[serde(default)]
    pub digest: Option<String>,
}

/// The workload (or pod) a decision is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Subject {
    pub cluster_id: String,
    pub namespace: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub image: ImageRef,
    /// The workload's kind (`Deployment`, `Pod`, ...), for the caller's records.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// A vulnerable package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vuln {
    /// `CVE-2024-1234` (or the advisory's own id).
    pub id: String,
    pub severity: Severity,
    pub package: String,
    #[serde(default)]
    pub installed_version: String,
    /// `None` (or empty): no fix published.
    #[serde(default)]
    pub fixed_version: Option<String>,
}

impl Vuln {
    pub fn has_fix(&self) -> bool {
        self.fixed_version.as_deref().is_some_and(|v| !v.is_empty())
    }
}

/// A malicious file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Malware {
    /// The rule's or signature's name.
    pub name: String,
    #[serde(default)]
    pub family: Option<String>,
    pub severity: Severity,
    #[serde(default)]
    pub path: Option<String>,
}

/// A failed configuration (baseline) check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineFinding {
    /// A stable id such as [`RUN_AS_ROOT`](crate::policy::templates::RUN_AS_ROOT).
    pub check_id: String,
    pub severity: Severity,
    #[serde(default)]
    pub title: String,
}

/// What the scanner found in an image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageFindings {
    /// Whether the image was scanned at all; when not, the lists mean nothing and
    /// `enable_image_startup` decides.
    pub scanned: bool,
    #[serde(default)]
    pub vulns: Vec<Vuln>,
    #[serde(default)]
    pub malware: Vec<Malware>,
    #[serde(default)]
    pub baseline: Vec<BaselineFinding>,
}

/// One finding of any kind, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding<'a> {
    Vuln(&'a Vuln),
    Malware(&'a Malware),
    Baseline(&'a BaselineFinding),
}

impl Finding<'_> {
    pub fn severity(&self) -> Severity {
        match self {
            Finding::Vuln(v) => v.severity,
            Finding::Malware(m) => m.severity,
            Finding::Baseline(b) => b.severity,
        }
    }

    /// Whether `item` (a `risky_item` entry or an exception's `vulnerability_or_check`) names
    /// this finding: a vulnerability's id, a check's id, a malware's name or family. Ids are
    /// compared without regard to ASCII case (`cve-2024-1` is `CVE-2024-1`).
    pub fn is_named(&self, item: &str) -> bool {
        let item = item.trim();
        match self {
            Finding::Vuln(v) => v.id.eq_ignore_ascii_case(item),
            Finding::Baseline(b) => b.check_id.eq_ignore_ascii_case(item),
            Finding::Malware(m) => {
                m.name.eq_ignore_ascii_case(item)
                    || m.family
                        .as_deref()
                        .is_some_and(|f| f.eq_ignore_ascii_case(item))
            }
        }
    }
}

impl ImageFindings {
    /// Every finding, vulnerabilities first, in the lists' order.
    pub fn all(&self) -> impl Iterator<Item = Finding<'_>> {
        self.vulns
            .iter()
            .map(Finding::Vuln)
            .chain(self.malware.iter().map(Finding::Malware))
            .chain(self.baseline.iter().map(Finding::Baseline))
    }
}
