//! The decision for one workload: allow, alarm or block, and why.
//!
//! # The combination rule
//!
//! 1. A policy *applies* when its `resources` cover the subject (no `resources`: everywhere).
//!    No applicable policy: allow.
//! 2. If any applicable policy's `white_image_list` names the image: allow.
//! 3. An image that was not scanned: blocked if any applicable policy has
//!    `enable_image_startup: false` (whatever its `action`), allowed otherwise.
//! 4. Findings covered by an [`Exception`] in force are dropped.
//! 5. An applicable policy *triggers* when a remaining finding of its `policy_type` counts for
//!    it: named in `risky_item`, or (with `risky_item` empty) at or above its `severity`; with
//!    `fixable_only`, only vulnerabilities that have a fix count.
//! 6. A triggered `action=allow` policy allows the image, whatever else triggered; otherwise a
//!    triggered block blocks; otherwise a triggered alarm alarms; otherwise allow.
//!
//! The reasons of a block (an alarm) are the findings that triggered the blocking (alarming)
//! policies, each once, ordered by severity (highest first), then kind (malware,
//! vulnerability, baseline), then id and package; the first [`MAX_REASONS`] are kept.
use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::time::SystemTime;

use super::exception::{self, Exception};
use super::matching::{applies, white_listed};
use super::model::{Action, Policy, PolicyType};
use super::severity::Severity;
use super::subject::{Finding, ImageFindings, Subject};

/// How many reasons a decision carries.
pub const MAX_REASONS: usize = 5;

/// Why an image was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// No policy's `resources` cover the subject.
    NoPolicyApplies,
    /// An applicable policy's white list names the image.
    WhiteListed,
    /// An applicable `action=allow` policy triggered.
    AllowPolicy,
    /// The image was not scanned, and every applicable policy lets such images start.
    UnscannedAllowed,
    /// Policies apply, and none triggered.
    NothingTriggered,
}

/// Why an image was stopped or reported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The image was never scanned and a policy requires a scan.
    NotScanned,
    Vulnerability {
        id: String,
        severity: Severity,
        package: String,
        fixed_version: Option<String>,
    },
    Malware {
        name: String,
        family: Option<String>,
        severity: Severity,
    },
    Baseline {
        check_id: String,
        severity: Severity,
        title: String,
    },
}

impl Reason {
    fn from_finding(finding: Finding<'_>) -> Reason {
        match finding {
            Finding::Vuln(v) => Reason::Vulnerability {
                id: v.id.clone(),
                severity: v.severity,
                package: v.package.clone(),
                fixed_version: v.fixed_version.clone().filter(|f| !f.is_empty()),
            },
            Finding::Malware(m) => Reason::Malware {
                name: m.name.clone(),
                family: m.family.clone(),
                severity: m.severity,
            },
            Finding::Baseline(b) => Reason::Baseline {
                check_id: b.check_id.clone(),
                severity: b.severity,
                title: b.title.clone(),
            },
        }
    }

    /// The order of a decision's reasons: most severe first; a missing scan before any finding;
    /// malware before vulnerabilities before baseline; then by id and package.
    fn sort_key(&self) -> (Reverse<Severity>, u8, &str, &str) {
        match self {
            Reason::NotScanned => (Reverse(Severity::Critical), 0, "", ""),
            Reason::Malware {
                name,
                family,
                severity,
            } => (
                Reverse(*severity),
                1,
                name,
                family.as_deref().unwrap_or_default(),
            ),
            Reason::Vulnerability {
                id,
                severity,
                package,
                ..
            } => (Reverse(*severity), 2, id, package),
            Reason::Baseline {
                check_id,
                severity,
                title,
            } => (Reverse(*severity), 3, check_id, title),
        }
    }
}

/// The verdict, with the reasons of an alarm or a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow(Allowed),
    Alarm(Vec<Reason>),
    Block(Vec<Reason>),
}

/// A decision and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// The ids of the policies that decided (the white-listing or allowing ones for an allow,
    /// the blocking or alarming ones otherwise), sorted, each once.
    pub matched_policies: Vec<String>,
    /// How many reasons were left out past [`MAX_REASONS`].
    pub omitted_reasons: usize,
    /// The ids of the exceptions that dropped at least one finding, sorted, each once.
    pub exceptions_applied: Vec<String>,
}

impl Decision {
    /// The reasons of an alarm or a block; none for an allow.
    pub fn reasons(&self) -> &[Reason] {
        match &self.verdict {
            Verdict::Allow(_) => &[],
            Verdict::Alarm(reasons) | Verdict::Block(reasons) => reasons,
        }
    }

    pub fn is_blocked(&self) -> bool {
        matches!(self.verdict, Verdict::Block(_))
    }

    fn allow(why: Allowed, policies: BTreeSet<&str>, exceptions: BTreeSet<&str>) -> Decision {
        Decision {
            verdict: Verdict::Allow(why),
            matched_policies: owned(policies),
            omitted_reasons: 0,
            exceptions_applied: owned(exceptions),
        }
    }
}

fn owned(ids: BTreeSet<&str>) -> Vec<String> {
    ids.into_iter().map(str::to_string).collect()
}

/// Whether `finding` counts for `policy` (rule 5).
fn counts(policy: &Policy, finding: Finding<'_>) -> bool {
    let content = &policy.content;
    let of_type = match (content.policy_type, finding) {
        (PolicyType::Vuls, Finding::Vuln(v)) => !content.fixable_only || v.has_fix(),
        (PolicyType::Malwares, Finding::Malware(_))
        | (PolicyType::Baselines, Finding::Baseline(_)) => true,
        _ => false,
    };
    of_type
        && if content.risky_item.is_empty() {
            finding.severity().level() >= content.severity
        } else {
            content.risky_item.iter().any(|item| finding.is_named(item))
        }
}

/// Sorted, each once, the first [`MAX_REASONS`]; and how many were left out.
fn top_reasons(mut reasons: Vec<Reason>) -> (Vec<Reason>, usize) {
    // The derived order breaks the remaining ties (a fixed version), so the order is total.
    reasons.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()).then_with(|| a.cmp(b)));
    reasons.dedup();
    let omitted = reasons.len().saturating_sub(MAX_REASONS);
    reasons.truncate(MAX_REASONS);
    (reasons, omitted)
}

/// Decides whether `subject` may run, under `policies` and `exceptions`, at `now`, by the
/// combination rule of this module.
pub fn evaluate(
    policies: &[Policy],
    exceptions: &[Exception],
    subject: &Subject,
    findings: &ImageFindings,
    now: SystemTime,
) -> Decision {
    let applicable: Vec<&Policy> = policies.iter().filter(|p| applies(p, subject)).collect();
    if applicable.is_empty() {
        return Decision::allow(Allowed::NoPolicyApplies, BTreeSet::new(), BTreeSet::new());
    }
    let white: BTreeSet<&str> = applicable
        .iter()
        .filter(|p| p.white_image_list.iter().any(|w| white_listed(w, subject)))
        .map(|p| p.policy_id.as_str())
        .collect();
    if !white.is_empty() {
        return Decision::allow(Allowed::WhiteListed, white, BTreeSet::new());
    }
    if !findings.scanned {
        let requiring_scan: BTreeSet<&str> = applicable
            .iter()
            .filter(|p| !p.content.enable_image_startup)
            .map(|p| p.policy_id.as_str())
            .collect();
        if requiring_scan.is_empty() {
            return Decision::allow(Allowed::UnscannedAllowed, BTreeSet::new(), BTreeSet::new());
        }
        return Decision {
            verdict: Verdict::Block(vec![Reason::NotScanned]),
            matched_policies: owned(requiring_scan),
            omitted_reasons: 0,
            exceptions_applied: Vec::new(),
        };
    }

    let mut excepted_by = BTreeSet::new();
    let remaining: Vec<Finding<'_>> = findings
        .all()
        .filter(|&finding| {
            let covering: Vec<&str> = exceptions
                .iter()
                .filter(|e| exception::applies(e, subject, finding, now))
                .map(|e| e.id.as_str())
                .collect();
            excepted_by.extend(covering.iter().copied());
            covering.is_empty()
        })
        .collect();

    let (mut allowing, mut blocking, mut alarming) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut block_reasons, mut alarm_reasons) = (Vec::new(), Vec::new());
    for policy in applicable {
        let hits = remaining.iter().filter(|&&f| counts(policy, f));
        let id = policy.policy_id.as_str();
        match policy.content.action {
            Action::Allow => {
                if hits.count() > 0 {
                    allowing.insert(id);
                }
            }
            Action::Block => {
                let before = block_reasons.len();
                block_reasons.extend(hits.map(|&f| Reason::from_finding(f)));
                if block_reasons.len() > before {
                    blocking.insert(id);
                }
            }
            Action::Alarm => {
                let before = alarm_reasons.len();
                alarm_reasons.extend(hits.map(|&f| Reason::from_finding(f)));
                if alarm_reasons.len() > before {
                    alarming.insert(id);
                }
            }
        }
    }

    if !allowing.is_empty() {
        return Decision::allow(Allowed::AllowPolicy, allowing, excepted_by);
    }
    let (verdict, policies, reasons) = if !blocking.is_empty() {
        (
            Verdict::Block as fn(Vec<Reason>) -> Verdict,
            blocking,
            block_reasons,
        )
    } else if !alarming.is_empty() {
        (
            Verdict::Alarm as fn(Vec<Reason>) -> Verdict,
            alarming,
            alarm_reasons,
        )
    } else {
        return Decision::allow(Allowed::NothingTriggered, BTreeSet::new(), excepted_by);
    };
    let (reasons, omitted_reasons) = top_reasons(reasons);
    Decision {
        verdict: verdict(reasons),
        matched_policies: owned(policies),
        omitted_reasons,
        exceptions_applied: owned(excepted_by),
    }
}
