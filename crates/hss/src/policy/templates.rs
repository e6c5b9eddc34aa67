//! The policies berth ships as templates (the vendor's "policy templates"), and the baseline
//! check ids they name.
//!
//! Check ids are this crate's vocabulary: the adapter from berth's scan report to
//! [`BaselineFinding`](super::BaselineFinding) maps the scanner's checks onto them. The mapping
//! meant: [`RUN_AS_ROOT`] for `BERTH-CFG-001` (no `USER`) and `BERTH-CFG-002` (`USER root`);
//! [`SECRET_IN_LAYER`] for `BERTH-CFG-004` (secret in `ENV`), `BERTH-CFG-005` (in a label),
//! `BERTH-FS-001` (private key), `BERTH-FS-002` (credentials file) and `BERTH-FS-008`
//! (credential in a file).
use super::model::{Action, Policy, PolicyContent, PolicyType};
use super::severity::RiskLevel;

/// The image's containers run as root.
pub const RUN_AS_ROOT: &str = "run-as-root";
/// A secret (key, credential, token) is in one of the image's layers or its configuration.
pub const SECRET_IN_LAYER: &str = "secret-in-layer";

/// A template: a policy's content with an id, a name and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub content: PolicyContent,
}

impl Template {
    /// A policy from this template, applying everywhere, with no white list.
    pub fn instantiate(&self, policy_id: &str, policy_name: &str) -> Policy {
        Policy {
            policy_id: policy_id.to_string(),
            policy_name: policy_name.to_string(),
            template_id: self.id.to_string(),
            policy_description: self.description.to_string(),
            content: self.content.clone(),
            white_image_list: Vec::new(),
            resources: Vec::new(),
            parameters: String::new(),
        }
    }
}

/// Every template. Each lets unscanned images start (`enable_image_startup: true`): blocking
/// those is a separate decision, since it stops every workload until the scans have run.
pub fn templates() -> Vec<Template> {
    let content =
        |policy_type, severity, risky_item: &[&str], action, fixable_only| PolicyContent {
            enable_image_startup: true,
            policy_type,
            severity,
            risky_item: risky_item.iter().map(|s| s.to_string()).collect(),
            action,
            fixable_only,
        };
    vec![
        Template {
            id: "berth-block-critical-fixable-vulns",
            name: "Block critical vulnerabilities that have a fix",
            description: "Blocks images with a Critical vulnerability for which a fixed version \
                          exists: rebuilding the image removes it.",
            content: content(
                PolicyType::Vuls,
                RiskLevel::CRITICAL,
                &[],
                Action::Block,
                true,
            ),
        },
        Template {
            id: "berth-block-malware",
            name: "Block malware",
            description: "Blocks images in which any malicious file was found.",
            content: content(
                PolicyType::Malwares,
                RiskLevel::SECURITY,
                &[],
                Action::Block,
                false,
            ),
        },
        Template {
            id: "berth-block-run-as-root",
            name: "Block images that run as root",
            description: "Blocks images whose containers run as root (no USER, or USER root).",
            content: content(
                PolicyType::Baselines,
                RiskLevel::SECURITY,
                &[RUN_AS_ROOT],
                Action::Block,
                false,
            ),
        },
        Template {
            id: "berth-alarm-secrets-in-layers",
            name: "Alarm on secrets in layers",
            description: "Reports images that carry a key, credential or token in a layer, an \
                          ENV variable or a label.",
            content: content(
                PolicyType::Baselines,
                RiskLevel::SECURITY,
                &[SECRET_IN_LAYER],
                Action::Alarm,
                false,
            ),
        },
    ]
}

/// The template with this id.
pub fn template(id: &str) -> Option<Template> {
    templates().into_iter().find(|t| t.id == id)
}
