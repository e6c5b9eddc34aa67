//! SARIF 2.1.0: one rule per vulnerability id / baseline check / malware rule, one result per
//! finding, located at the file path that carries it.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::{Report, Severity};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        _ => "0.0",
    }
}

struct Rule {
    name: String,
    short: String,
    full: String,
    help: String,
    severity: Severity,
    tags: Vec<&'static str>,
}

fn location(path: Option<&str>) -> Value {
    let uri = path.unwrap_or("/").trim_start_matches('/');
    let uri = if uri.is_empty() { "." } else { uri };
    json!([{"physicalLocation": {"artifactLocation": {"uri": uri}}}])
}

pub fn render(r: &Report) -> Value {
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    let mut results: Vec<(String, Value)> = Vec::new();
    for v in &r.vulnerabilities {
        rules.entry(v.id.clone()).or_insert_with(|| Rule {
            name: v.id.clone(),
            short: if v.title.is_empty() {
                v.id.clone()
            } else {
                v.title.clone()
            },
            full: if v.description.is_empty() {
                v.id.clone()
            } else {
                v.description.clone()
            },
            help: v.links.first().cloned().unwrap_or_else(|| v.id.clone()),
            severity: v.severity,
            tags: vec!["vulnerability", "security"],
        });
        let fixed = match &v.fixed_version {
            Some(f) => format!("fixed in {f}"),
            None if v.fixed_versions.is_empty() => "no fix yet".to_string(),
            None => format!("fixed in {}", v.fixed_versions.join(", ")),
        };
        results.push((v.id.clone(), json!({
            "level": level(v.severity),
            "message": {"text": format!("{} {}: {} ({}); {} {}", v.package_name, v.installed_version, v.id, v.severity, fixed, v.package_purl)},
            "locations": location(v.path.as_deref()),
        })));
    }
    for b in &r.baseline {
        rules.entry(b.id.clone()).or_insert_with(|| Rule {
            name: b.check.clone(),
            short: b.title.clone(),
            full: b.title.clone(),
            help: b.remediation.clone(),
            severity: b.severity,
            tags: vec!["misconfiguration", "security"],
        });
        results.push((
            b.id.clone(),
            json!({
                "level": level(b.severity),
                "message": {"text": format!("{}: {}", b.title, b.detail)},
                "locations": location(b.path.as_deref()),
            }),
        ));
    }
    for m in &r.malware {
        rules.entry(m.rule.clone()).or_insert_with(|| Rule {
            name: m.rule.clone(),
            short: m.description.clone(),
            full: m.description.clone(),
            help: "Remove the file and find out how it got into the image.".into(),
            severity: m.severity,
            tags: vec!["malware", "security"],
        });
        results.push((
            m.rule.clone(),
            json!({
                "level": level(m.severity),
                "message": {"text": format!("{} ({}), sha256 {}", m.description, m.rule, m.sha256)},
                "locations": location(Some(&m.path)),
            }),
        ));
    }
    let ids: Vec<&String> = rules.keys().collect();
    let rule_values: Vec<Value> = rules
        .iter()
        .map(|(id, r)| {
            json!({
                "id": id,
                "name": r.name,
                "shortDescription": {"text": r.short},
                "fullDescription": {"text": r.full},
                "help": {"text": r.help},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"security-severity": security_severity(r.severity), "tags": r.tags},
            })
        })
        .collect();
    let results: Vec<Value> = results
        .into_iter()
        .map(|(id, mut v)| {
            v["ruleIndex"] = json!(ids.iter().position(|x| **x == id).unwrap_or(0));
            v["ruleId"] = json!(id);
            v
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": r.scanner.name, "version": r.scanner.version, "rules": rule_values}},
            "results": results,
        }],
    })
}
