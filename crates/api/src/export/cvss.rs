//! CVSS vectors to `storage.CVSSV3` / `storage.CVSSV2`: the metrics by their proto enum names,
//! and the sub-scores computed with the specifications' formulas (CVSS v3.1 §7, v2 §3.2.1),
//! since a report carries only the vector and the base score. A metric missing from the vector
//! is left at the enum's zero value.
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CvssV3 {
    pub vector: String,
    pub exploitability_score: f32,
    pub impact_score: f32,
    pub attack_vector: &'static str,
    pub attack_complexity: &'static str,
    pub privileges_required: &'static str,
    pub user_interaction: &'static str,
    pub scope: &'static str,
    pub confidentiality: &'static str,
    pub integrity: &'static str,
    pub availability: &'static str,
    pub score: f32,
    pub severity: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CvssV2 {
    pub vector: String,
    pub attack_vector: &'static str,
    pub access_complexity: &'static str,
    pub authentication: &'static str,
    pub confidentiality: &'static str,
    pub integrity: &'static str,
    pub availability: &'static str,
    pub exploitability_score: f32,
    pub impact_score: f32,
    pub score: f32,
    pub severity: &'static str,
}

fn metrics(vector: &str) -> impl Iterator<Item = (&str, &str)> {
    vector.split('/').filter_map(|m| m.split_once(':'))
}

/// CVSS v3's round-up to one decimal.
fn roundup(x: f64) -> f64 {
    let i = (x * 100_000.0).round() as i64;
    if i % 10_000 == 0 {
        i as f64 / 100_000.0
    } else {
        ((i / 10_000) + 1) as f64 / 10.0
    }
}

fn round1(x: f64) -> f32 {
    ((x * 10.0).round() / 10.0) as f32
}

/// `storage.CVSSV3` of a `CVSS:3.x/...` vector; `score` is the report's when it has one.
pub fn v3(vector: &str, score: Option<f64>) -> CvssV3 {
    let mut c = CvssV3 {
        vector: vector.to_string(),
        exploitability_score: 0.0,
        impact_score: 0.0,
        attack_vector: "ATTACK_LOCAL",
        attack_complexity: "COMPLEXITY_LOW",
        privileges_required: "PRIVILEGE_NONE",
        user_interaction: "UI_NONE",
        scope: "UNCHANGED",
        confidentiality: "IMPACT_NONE",
        integrity: "IMPACT_NONE",
        availability: "IMPACT_NONE",
        score: 0.0,
        severity: "UNKNOWN",
    };
    let (mut av, mut ac, mut pr, mut ui, mut changed) = (None, None, None, None, false);
    let (mut ci, mut ii, mut ai) = (0.0, 0.0, 0.0);
    let impact = |v: &str| match v {
        "H" => ("IMPACT_HIGH", 0.56),
        "L" => ("IMPACT_LOW", 0.22),
        _ => ("IMPACT_NONE", 0.0),
    };
    for (k, v) in metrics(vector) {
        match k {
            "AV" => {
                (c.attack_vector, av) = match v {
                    "N" => ("ATTACK_NETWORK", Some(0.85)),
                    "A" => ("ATTACK_ADJACENT", Some(0.62)),
                    "L" => ("ATTACK_LOCAL", Some(0.55)),
                    _ => ("ATTACK_PHYSICAL", Some(0.2)),
                }
            }
            "AC" => {
                (c.attack_complexity, ac) = match v {
                    "H" => ("COMPLEXITY_HIGH", Some(0.44)),
                    _ => ("COMPLEXITY_LOW", Some(0.77)),
                }
            }
            "PR" => {
                c.privileges_required = match v {
                    "H" => "PRIVILEGE_HIGH",
                    "L" => "PRIVILEGE_LOW",
                    _ => "PRIVILEGE_NONE",
                }
            }
            "UI" => {
                (c.user_interaction, ui) = match v {
                    "R" => ("UI_REQUIRED", Some(0.62)),
                    _ => ("UI_NONE", Some(0.85)),
                }
            }
            "S" => {
                changed = v == "C";
                c.scope = if changed { "CHANGED" } else { "UNCHANGED" };
            }
            "C" => (c.confidentiality, ci) = impact(v),
            "I" => (c.integrity, ii) = impact(v),
            "A" => (c.availability, ai) = impact(v),
            _ => {}
        }
    }
    if vector.contains("PR:") {
        pr = Some(match (c.privileges_required, changed) {
            ("PRIVILEGE_HIGH", true) => 0.5,
            ("PRIVILEGE_HIGH", false) => 0.27,
            ("PRIVILEGE_LOW", true) => 0.68,
            ("PRIVILEGE_LOW", false) => 0.62,
            _ => 0.85,
        });
    }
    let mut computed = None;
    if let (Some(av), Some(ac), Some(pr), Some(ui)) = (av, ac, pr, ui) {
        let iss = 1.0 - (1.0 - ci) * (1.0 - ii) * (1.0 - ai);
        let impact = if changed {
            7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
        } else {
            6.42 * iss
        };
        let exploitability = 8.22 * av * ac * pr * ui;
        c.impact_score = round1(impact);
        c.exploitability_score = round1(exploitability);
        computed = Some(if impact <= 0.0 {
            0.0
        } else if changed {
            roundup((1.08 * (impact + exploitability)).min(10.0))
        } else {
            roundup((impact + exploitability).min(10.0))
        });
    }
    let score = score.or(computed).unwrap_or(0.0);
    c.score = score as f32;
    c.severity = match score {
        s if s >= 9.0 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        s if s > 0.0 => "LOW",
        _ if computed.is_some() => "NONE",
        _ => "UNKNOWN",
    };
    c
}

/// `storage.CVSSV2` of a v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`).
pub fn v2(vector: &str, score: Option<f64>) -> CvssV2 {
    let mut c = CvssV2 {
        vector: vector.to_string(),
        attack_vector: "ATTACK_LOCAL",
        access_complexity: "ACCESS_HIGH",
        authentication: "AUTH_MULTIPLE",
        confidentiality: "IMPACT_NONE",
        integrity: "IMPACT_NONE",
        availability: "IMPACT_NONE",
        exploitability_score: 0.0,
        impact_score: 0.0,
        score: 0.0,
        severity: "UNKNOWN",
    };
    let (mut av, mut ac, mut au) = (None, None, None);
    let (mut ci, mut ii, mut ai) = (0.0, 0.0, 0.0);
    let impact = |v: &str| match v {
        "C" => ("IMPACT_COMPLETE", 0.66),
        "P" => ("IMPACT_PARTIAL", 0.275),
        _ => ("IMPACT_NONE", 0.0),
    };
    for (k, v) in metrics(vector) {
        match k {
            "AV" => {
                (c.attack_vector, av) = match v {
                    "N" => ("ATTACK_NETWORK", Some(1.0)),
                    "A" => ("ATTACK_ADJACENT", Some(0.646)),
                    _ => ("ATTACK_LOCAL", Some(0.395)),
                }
            }
            "AC" => {
                (c.access_complexity, ac) = match v {
                    "L" => ("ACCESS_LOW", Some(0.71)),
                    "M" => ("ACCESS_MEDIUM", Some(0.61)),
                    _ => ("ACCESS_HIGH", Some(0.35)),
                }
            }
            "Au" => {
                (c.authentication, au) = match v {
                    "N" => ("AUTH_NONE", Some(0.704)),
                    "S" => ("AUTH_SINGLE", Some(0.56)),
                    _ => ("AUTH_MULTIPLE", Some(0.45)),
                }
            }
            "C" => (c.confidentiality, ci) = impact(v),
            "I" => (c.integrity, ii) = impact(v),
            "A" => (c.availability, ai) = impact(v),
            _ => {}
        }
    }
    let mut computed = None;
    if let (Some(av), Some(ac), Some(au)) = (av, ac, au) {
        let impact = 10.41 * (1.0 - (1.0 - ci) * (1.0 - ii) * (1.0 - ai));
        let exploitability = 20.0 * av * ac * au;
        let f = if impact == 0.0 { 0.0 } else { 1.176 };
        c.impact_score = round1(impact);
        c.exploitability_score = round1(exploitability);
        computed = Some(f64::from(round1(
            (0.6 * impact + 0.4 * exploitability - 1.5) * f,
        )));
    }
    let score = score.or(computed).unwrap_or(0.0);
    c.score = score as f32;
    c.severity = match score {
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        _ if computed.is_some() || score > 0.0 => "LOW",
        _ => "UNKNOWN",
    };
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_scores_follow_the_specification() {
        let c = v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None);
        assert_eq!((c.score, c.severity), (9.8, "CRITICAL"));
        assert_eq!((c.exploitability_score, c.impact_score), (3.9, 5.9));
        assert_eq!(c.attack_vector, "ATTACK_NETWORK");
        let c = v3("CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:N", None);
        assert_eq!((c.score, c.severity), (2.5, "LOW"));
        assert_eq!(c.scope, "CHANGED");
    }

    #[test]
    fn v2_scores_follow_the_specification() {
        let c = v2("AV:N/AC:L/Au:N/C:P/I:P/A:P", None);
        assert_eq!((c.score, c.severity), (7.5, "HIGH"));
        assert_eq!((c.exploitability_score, c.impact_score), (10.0, 6.4));
    }
}
