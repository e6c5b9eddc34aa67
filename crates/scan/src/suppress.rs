//! Suppressing findings with an audit trail: `--ignore-file` (IDs with expiry and reason) and
//! OpenVEX statements (`not_affected` / `fixed`). Every suppressed finding is moved to
//! `report.suppressed` with who suppressed it and why; expired entries suppress nothing and are
//! reported as warnings.
//!
//! Ignore file formats:
//! - text (`.berthignore`, compatible with `.trivyignore`): one ID per line, then optional
//!   `exp:YYYY-MM-DD`, `pkg:PURL-PREFIX` words and a free-text reason after `#`;
//! - TOML (`*.toml`): `[[ignore]]` tables with `id`, `reason`, `expires`, `purl`.
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Result, ScanError};
use crate::model::{Report, Suppression};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IgnoreRule {
    pub id: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub expires: Option<String>,
    /// Restrict to packages whose purl starts with this.
    #[serde(default)]
    pub purl: Option<String>,
}

#[derive(Deserialize)]
struct IgnoreToml {
    #[serde(default)]
    ignore: Vec<IgnoreRule>,
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.chars()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

pub fn parse_ignore_file(path: &Path) -> Result<Vec<IgnoreRule>> {
    let text = std::fs::read_to_string(path).map_err(|e| ScanError::io(path.display(), e))?;
    let err = |m: String| ScanError::IgnoreFile {
        path: path.display().to_string(),
        message: m,
    };
    let rules = if path.extension().and_then(|e| e.to_str()) == Some("toml") {
        toml::from_str::<IgnoreToml>(&text)
            .map_err(|e| err(e.to_string()))?
            .ignore
    } else {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let (body, comment) = line.split_once('#').unwrap_or((line, ""));
            let mut words = body.split_whitespace();
            let Some(id) = words.next() else { continue };
            let mut r = IgnoreRule {
                id: id.to_string(),
                reason: comment.trim().to_string(),
                ..Default::default()
            };
            for w in words {
                if let Some(d) = w.strip_prefix("exp:") {
                    r.expires = Some(d.to_string());
                } else if w.starts_with("pkg:") {
                    r.purl = Some(w.to_string());
                } else {
                    return Err(err(format!(
                        "line {}: unexpected {w:?} (expected exp:DATE or pkg:PURL; reasons go after #)",
                        n + 1
                    )));
                }
            }
            rules.push(r);
        }
        rules
    };
    for r in &rules {
        if let Some(e) = &r.expires
            && !valid_date(e)
        {
            return Err(err(format!("{}: expiry {e:?} is not YYYY-MM-DD", r.id)));
        }
    }
    Ok(rules)
}

/// Today's date (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date((secs / 86_400) as i64)
}

/// Days since 1970-01-01 -> YYYY-MM-DD (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// Applies ignore rules to a report (as of `today`, YYYY-MM-DD).
pub fn apply_ignore(report: &mut Report, rules: &[IgnoreRule], file: &str, today: &str) {
    let mut live = Vec::new();
    for r in rules {
        match &r.expires {
            Some(e) if e.as_str() < today => report.warnings.push(format!(
                "{file}: ignore rule for {} expired on {e}; not applied",
                r.id
            )),
            _ => live.push(r),
        }
    }
    let rec = |r: &IgnoreRule, id: &str, purl: Option<&str>| Suppression {
        id: id.to_string(),
        package_purl: purl.map(str::to_string),
        by: "ignore-file".into(),
        file: file.to_string(),
        reason: r.reason.clone(),
        expires: r.expires.clone(),
        status: None,
    };
    let mut suppressed = Vec::new();
    report.vulnerabilities.retain(|v| {
        let hit = live.iter().find(|r| {
            (r.id == v.id || v.aliases.contains(&r.id))
                && r.purl
                    .as_deref()
                    .is_none_or(|p| v.package_purl.starts_with(p))
        });
        match hit {
            Some(r) => {
                suppressed.push(rec(r, &v.id, Some(&v.package_purl)));
                false
            }
            None => true,
        }
    });
    report.baseline.retain(
        |b| match live.iter().find(|r| r.id == b.id || r.id == b.check) {
            Some(r) => {
                suppressed.push(rec(r, &b.id, None));
                false
            }
            None => true,
        },
    );
    report.malware.retain(|m| {
        // Any rule that matched the file names it (`rules` holds them all).
        let names = |id: &str| {
            std::iter::once(&m.rule)
                .chain(&m.rules)
                .any(|rule| rule == id || rule.ends_with(&format!(".{id}")))
        };
        match live.iter().find(|r| names(&r.id)) {
            Some(r) => {
                suppressed.push(rec(r, &m.rule, None));
                false
            }
            None => true,
        }
    });
    report.suppressed.extend(suppressed);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    pub vulnerability: Vec<String>,
    pub products: Vec<String>,
    pub status: String,
    pub justification: String,
}

fn ids_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => {
            let mut out: Vec<String> = Vec::new();
            for k in ["name", "@id"] {
                if let Some(s) = o.get(k).and_then(Value::as_str) {
                    out.push(s.to_string());
                }
            }
            if let Some(Value::Array(a)) = o.get("aliases") {
                out.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
            }
            if let Some(Value::Array(a)) = o.get("subcomponents") {
                for s in a {
                    out.extend(ids_of(s));
                }
            }
            if let Some(Value::Object(ids)) = o.get("identifiers") {
                out.extend(ids.values().filter_map(Value::as_str).map(str::to_string));
            }
            out
        }
        _ => Vec::new(),
    }
}

pub fn parse_openvex(path: &Path) -> Result<Vec<VexStatement>> {
    let text = std::fs::read(path).map_err(|e| ScanError::io(path.display(), e))?;
    let err = |m: &str| ScanError::Vex {
        path: path.display().to_string(),
        message: m.to_string(),
    };
    let v: Value = serde_json::from_slice(&text).map_err(|e| err(&e.to_string()))?;
    let ctx = v.get("@context").and_then(Value::as_str).unwrap_or("");
    if !ctx.starts_with("https://openvex.dev/ns") {
        return Err(err("not an OpenVEX document (@context)"));
    }
    let statements = v
        .get("statements")
        .and_then(Value::as_array)
        .ok_or_else(|| err("no statements"))?;
    let mut out = Vec::new();
    for s in statements {
        let status = s
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| err("statement without status"))?
            .to_string();
        let vulnerability = s.get("vulnerability").map(ids_of).unwrap_or_default();
        if vulnerability.is_empty() {
            return Err(err("statement without vulnerability"));
        }
        let products = match s.get("products") {
            Some(Value::Array(a)) => a.iter().flat_map(ids_of).collect(),
            _ => Vec::new(),
        };
        let justification = s
            .get("justification")
            .and_then(Value::as_str)
            .or(s.get("impact_statement").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        out.push(VexStatement {
            vulnerability,
            products,
            status,
            justification,
        });
    }
    Ok(out)
}

fn strip_qualifiers(purl: &str) -> &str {
    purl.split(['?', '#']).next().unwrap_or(purl)
}

/// Applies OpenVEX statements: `not_affected` and `fixed` suppress a vulnerability when a
/// product (or subcomponent) is the package's purl, or the statement names no product.
pub fn apply_openvex(report: &mut Report, statements: &[VexStatement], file: &str) {
    let mut suppressed = Vec::new();
    report.vulnerabilities.retain(|v| {
        let hit = statements.iter().find(|s| {
            matches!(s.status.as_str(), "not_affected" | "fixed")
                && s.vulnerability
                    .iter()
                    .any(|id| id == &v.id || v.aliases.contains(id))
                && (s.products.is_empty()
                    || s.products
                        .iter()
                        .any(|p| strip_qualifiers(p) == strip_qualifiers(&v.package_purl)))
        });
        match hit {
            Some(s) => {
                suppressed.push(Suppression {
                    id: v.id.clone(),
                    package_purl: Some(v.package_purl.clone()),
                    by: "openvex".into(),
                    file: file.to_string(),
                    reason: s.justification.clone(),
                    expires: None,
                    status: Some(s.status.clone()),
                });
                false
            }
            None => true,
        }
    });
    report.suppressed.extend(suppressed);
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(19_723), "2024-01-01");
        assert_eq!(super::civil_date(11_016), "2000-02-29");
    }
}
