//! Two severity vocabularies and the one mapping between them.
//!
//! berth's scanner grades findings `Unknown < Negligible < Low < Medium < High < Critical`
//! ([`Severity`]). A policy's `severity` is the vendor's integer, whose meaning the API does not
//! document; berth reads it as an index into HSS's own severity names
//! (`Security, Low, Medium, High, Critical`, the order every HSS severity field lists them),
//! a threshold ([`RiskLevel`]):
//!
//! | `severity` | HSS name | berth severities at that level |
//! | --- | --- | --- |
//! | 0 | Security | Unknown, Negligible |
//! | 1 | Low | Low |
//! | 2 | Medium | Medium |
//! | 3 | High | High |
//! | 4 | Critical | Critical |
//!
//! A finding counts for a policy when its level is at or above the policy's, so `0` means every
//! finding, and `Unknown` findings count only then (an unrated finding is not assumed severe).
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A finding's severity, in berth's scanner's vocabulary.
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
    /// The HSS level this severity is at (the table above).
    pub fn level(self) -> RiskLevel {
        RiskLevel(match self {
            Severity::Unknown | Severity::Negligible => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        })
    }

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
}

/// A policy's `severity`: 0 (Security) to 4 (Critical). Anything else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RiskLevel(u8);

impl RiskLevel {
    pub const SECURITY: RiskLevel = RiskLevel(0);
    pub const LOW: RiskLevel = RiskLevel(1);
    pub const MEDIUM: RiskLevel = RiskLevel(2);
    pub const HIGH: RiskLevel = RiskLevel(3);
    pub const CRITICAL: RiskLevel = RiskLevel(4);

    /// The level of a `severity` integer, `None` outside 0..=4.
    pub fn new(value: i64) -> Option<RiskLevel> {
        u8::try_from(value).ok().filter(|v| *v <= 4).map(RiskLevel)
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl Serialize for RiskLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

const EXPECTED_SEVERITY: &str =
    "severity: an integer from 0 (Security) through 1 (Low), 2 (Medium), 3 (High) to 4 (Critical)";

impl<'de> Deserialize<'de> for RiskLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = RiskLevel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED_SEVERITY)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RiskLevel, E> {
                RiskLevel::new(v).ok_or_else(|| {
                    E::custom(format_args!(
                        "severity: unknown value {v}, expected {EXPECTED_SEVERITY}"
                    ))
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RiskLevel, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        deserializer.deserialize_i64(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_table() {
        let levels: Vec<u8> = [
            Severity::Unknown,
            Severity::Negligible,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .iter()
        .map(|s| s.level().value())
        .collect();
        assert_eq!(levels, [0, 0, 1, 2, 3, 4]);
        assert_eq!(RiskLevel::new(5), None);
        assert_eq!(RiskLevel::new(-1), None);
        assert_eq!(RiskLevel::new(4), Some(RiskLevel::CRITICAL));
    }
}
