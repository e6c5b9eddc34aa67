//! A cluster-protection policy as the vendor's API carries it (the request body of
//! `POST /v5/{project_id}/cluster-protect/policy`, `huaweicloudsdkhss.v5.ModPolicyRequestInfo`,
//! with `PolicyContent`, `WhiteImageInfo` and `PolicyProtectScope`), snake_case as on the wire.
//!
//! Enum-valued fields are typed and refuse unknown values with an error naming the field; free
//! text fields the API marks mandatory but berth does not need to decide (`template_id`,
//! `policy_description`, `parameters`, `cluster_name`) default to empty, so the surface decides
//! how strict to be about them.
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::severity::RiskLevel;

/// A cluster-protection policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub policy_id: String,
    pub policy_name: String,
    #[serde(default)]
    pub template_id: String,
    #[serde(default)]
    pub policy_description: String,
    pub content: PolicyContent,
    /// Images this policy never stops.
    #[serde(default)]
    pub white_image_list: Vec<WhiteImage>,
    /// Where the policy applies: any entry matching is enough; empty is everywhere.
    #[serde(default)]
    pub resources: Vec<ProtectScope>,
    /// The vendor's "policy parameter value", opaque here.
    #[serde(default)]
    pub parameters: String,
}

/// What the policy looks for and what it does on a match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyContent {
    /// May an image that was never scanned start? `false` blocks it wherever the policy
    /// applies, whatever `action` says.
    pub enable_image_startup: bool,
    pub policy_type: PolicyType,
    /// The least severity that counts, when `risky_item` is empty.
    pub severity: RiskLevel,
    /// CVE ids (`vuls`), baseline check ids (`baselines`) or malware names or families
    /// (`malwares`). Empty: every finding of the type at or above `severity`. Not empty: only
    /// these, whatever their severity (naming an item is the user's own judgement of it).
    #[serde(default)]
    pub risky_item: Vec<String>,
    pub action: Action,
    /// berth's extension (not in the vendor's API): with `vuls`, count only vulnerabilities
    /// that have a fixed version. Omitted when false, so the vendor's form round-trips.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixable_only: bool,
}

/// `policy_type`: which findings the policy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    /// `vuls`: vulnerabilities.
    Vuls,
    /// `baselines`: configuration (baseline) checks.
    Baselines,
    /// `malwares`: malicious files.
    Malwares,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Vuls => "vuls",
            PolicyType::Baselines => "baselines",
            PolicyType::Malwares => "malwares",
        }
    }
}

/// `action`: what a match does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// 0: report an alarm, let the workload start.
    Alarm,
    /// 1: block.
    Block,
    /// 2: allow (overrides every other policy for the image).
    Allow,
}

impl Action {
    pub fn code(self) -> u8 {
        match self {
            Action::Alarm => 0,
            Action::Block => 1,
            Action::Allow => 2,
        }
    }
}

/// `WhiteImageInfo`: an image exempt from the policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WhiteImage {
    /// Empty: in every cluster.
    #[serde(default)]
    pub cluster_id: String,
    /// A repository (`library/nginx`), optionally with its registry (`reg.example/library/nginx`).
    pub image_name: String,
    /// A tag or a digest; empty: every version.
    #[serde(default)]
    pub image_version: String,
}

/// `PolicyProtectScope`: one place the policy protects. Every non-empty criterion must match;
/// within a list, any entry matching is enough.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProtectScope {
    #[serde(default)]
    pub cluster_name: String,
    /// Empty: every cluster.
    #[serde(default)]
    pub cluster_id: String,
    /// Image patterns: `repo`, `registry/repo`, either with `:tag` or `@digest`.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// `key=value` (that label with that value) or `key` (that label with any value).
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A policy that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON of the policy's shape; the message names the field (serde's, with the
    /// field-naming messages of the enum types).
    #[error("invalid policy: {0}")]
    Json(String),
    /// A field that must not be empty is.
    #[error("invalid policy: {0} must not be empty")]
    Empty(&'static str),
    /// A list over berth's bound.
    #[error("invalid policy: {field} has {len} entries, more than {max}")]
    TooMany {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

/// The most entries any list of a policy may have: bounds evaluation's work per admission.
pub const MAX_LIST_ENTRIES: usize = 1000;

impl Policy {
    /// Reads a policy from the vendor's JSON and [`validate`](Policy::validate)s it.
    pub fn from_json(json: &[u8]) -> Result<Policy, PolicyError> {
        let policy: Policy =
            serde_json::from_slice(json).map_err(|e| PolicyError::Json(e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    /// What serde cannot say: ids and names present, entries not empty, lists bounded.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.policy_id.trim().is_empty() {
            return Err(PolicyError::Empty("policy_id"));
        }
        if self.policy_name.trim().is_empty() {
            return Err(PolicyError::Empty("policy_name"));
        }
        if self.content.risky_item.iter().any(|i| i.trim().is_empty()) {
            return Err(PolicyError::Empty("content.risky_item[]"));
        }
        if self
            .white_image_list
            .iter()
            .any(|w| w.image_name.trim().is_empty())
        {
            return Err(PolicyError::Empty("white_image_list[].image_name"));
        }
        let scopes = &self.resources;
        let lists = [
            ("content.risky_item", self.content.risky_item.len()),
            ("white_image_list", self.white_image_list.len()),
            ("resources", scopes.len()),
            (
                "resources[].images",
                scopes.iter().map(|s| s.images.len()).sum(),
            ),
            (
                "resources[].namespaces",
                scopes.iter().map(|s| s.namespaces.len()).sum(),
            ),
            (
                "resources[].labels",
                scopes.iter().map(|s| s.labels.len()).sum(),
            ),
        ];
        for (field, len) in lists {
            if len > MAX_LIST_ENTRIES {
                return Err(PolicyError::TooMany {
                    field,
                    len,
                    max: MAX_LIST_ENTRIES,
                });
            }
        }
        Ok(())
    }
}

impl Serialize for PolicyType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

const EXPECTED_POLICY_TYPE: &str = "policy_type: one of \"vuls\", \"baselines\", \"malwares\"";

impl<'de> Deserialize<'de> for PolicyType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = PolicyType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED_POLICY_TYPE)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PolicyType, E> {
                match v {
                    "vuls" => Ok(PolicyType::Vuls),
                    "baselines" => Ok(PolicyType::Baselines),
                    "malwares" => Ok(PolicyType::Malwares),
                    // Quoted with escapes, so control characters cannot reach a log raw.
                    other => Err(E::custom(format_args!(
                        "policy_type: unknown value {other:?}, expected {EXPECTED_POLICY_TYPE}"
                    ))),
                }
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

const EXPECTED_ACTION: &str = "action: 0 (alarm), 1 (block) or 2 (allow)";

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Action;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED_ACTION)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Action, E> {
                match v {
                    0 => Ok(Action::Alarm),
                    1 => Ok(Action::Block),
                    2 => Ok(Action::Allow),
                    other => Err(E::custom(format_args!(
                        "action: unknown value {other}, expected {EXPECTED_ACTION}"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Action, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        deserializer.deserialize_i64(Visitor)
    }
}
