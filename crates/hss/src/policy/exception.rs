//! Exceptions: a person's recorded decision that a finding does not count for a while, e.g. a
//! CVE whose vulnerable code the image never loads. Evaluation drops the findings an exception
//! covers before any policy reads them.
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::matching::image_matches;
use super::subject::{Finding, Subject};
use crate::sign::time::unix_seconds;

/// Where an exception applies; every field given must match, and at least one must be given
/// (an exception for everything would be a switch to turn the policies off).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExceptionScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// An image pattern as in a policy's `resources.images`: `repo`, `registry/repo`, with
    /// `:tag` or `@digest` to narrow it to one image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_or_repository: Option<String>,
    /// A package name: only vulnerabilities have packages, so a scope with one covers no
    /// malware or baseline finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// A CVE id, a baseline check id, or a malware name or family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability_or_check: Option<String>,
}

impl ExceptionScope {
    fn is_empty(&self) -> bool {
        self.cluster_id.is_none()
            && self.namespace.is_none()
            && self.image_or_repository.is_none()
            && self.package.is_none()
            && self.vulnerability_or_check.is_none()
    }
}

/// An exception, with who made it and why, and when it stops applying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    pub id: String,
    pub scope: ExceptionScope,
    pub reason: String,
    pub author: String,
    /// Seconds since the Unix epoch; from that second on the exception no longer applies.
    /// Required: an exception that never expires is never reviewed.
    pub expires_at: i64,
}

impl Exception {
    /// Whether the exception covers `finding` in `subject`'s image at `now`.
    pub fn applies(&self, subject: &Subject, finding: Finding<'_>, now: SystemTime) -> bool {
        applies(self, subject, finding, now)
    }
}

/// Whether `exception` covers `finding` in `subject`'s image at `now`: not expired, its scope
/// not empty, and every field of its scope matching.
pub fn applies(
    exception: &Exception,
    subject: &Subject,
    finding: Finding<'_>,
    now: SystemTime,
) -> bool {
    let scope = &exception.scope;
    if unix_seconds(now) >= exception.expires_at || scope.is_empty() {
        return false;
    }
    let package_matches = |package: &str| match finding {
        Finding::Vuln(v) => v.package == package.trim(),
        Finding::Malware(_) | Finding::Baseline(_) => false,
    };
    scope
        .cluster_id
        .as_deref()
        .is_none_or(|c| c == subject.cluster_id)
        && scope
            .namespace
            .as_deref()
            .is_none_or(|n| n == subject.namespace)
        && scope
            .image_or_repository
            .as_deref()
            .is_none_or(|p| image_matches(p, &subject.image))
        && scope.package.as_deref().is_none_or(package_matches)
        && scope
            .vulnerability_or_check
            .as_deref()
            .is_none_or(|item| finding.is_named(item))
}
