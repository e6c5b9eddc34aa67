//! CycloneDX 1.5 JSON with vulnerabilities.
use serde_json::{Value, json};

use crate::model::{Report, Severity};

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

fn method(version: &str) -> &'static str {
    match version {
        "2.0" => "CVSSv2",
        "3.0" => "CVSSv3",
        "3.1" => "CVSSv31",
        "4.0" => "CVSSv4",
        _ => "other",
    }
}

pub fn render(r: &Report) -> Value {
    let mut components = Vec::new();
    if let Some(d) = &r.distro {
        components.push(json!({
            "bom-ref": format!("os:{}-{}", d.id, d.version_id),
            "type": "operating-system",
            "name": d.id,
            "version": d.version_id,
            "description": d.pretty_name,
        }));
    }
    for p in &r.packages {
        let mut props = vec![
            json!({"name": "berth:package:type", "value": p.kind.as_str()}),
            json!({"name": "berth:package:foundBy", "value": p.found_by}),
        ];
        props.push(json!({"name": "berth:package:evidence", "value": p.evidence.as_str()}));
        if p.dev {
            props.push(json!({"name": "berth:package:dev", "value": "true"}));
        }
        for l in &p.locations {
            props.push(json!({"name": "berth:location:path", "value": l.path}));
            if let Some(layer) = &l.layer {
                props.push(json!({"name": "berth:location:layerDigest", "value": layer.digest}));
            }
        }
        // CycloneDX 1.5 evidence: how the identity was established (an installed package's
        // metadata or a binary's build info; a lockfile's entry is manifest analysis too,
        // with less confidence that it is present) and every file it was found in.
        let technique = if p.found_by.contains("binary") {
            "binary-analysis"
        } else {
            "manifest-analysis"
        };
        let confidence = match p.evidence {
            crate::model::Evidence::Installed => 1.0,
            crate::model::Evidence::Declared => 0.5,
        };
        let mut paths: Vec<&str> = p.locations.iter().map(|l| l.path.as_str()).collect();
        paths.dedup();
        let occurrences: Vec<Value> = paths.iter().map(|p| json!({"location": p})).collect();
        let mut c = json!({
            "bom-ref": p.purl,
            "type": "library",
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
            "properties": props,
            "evidence": {
                "identity": {
                    "field": "purl",
                    "confidence": confidence,
                    "methods": [{
                        "technique": technique,
                        "confidence": confidence,
                        "value": format!("{} ({})", p.found_by, p.evidence.as_str()),
                    }],
                },
                "occurrences": occurrences,
            },
        });
        if let Some(g) = &p.group
            && p.kind == crate::model::PackageType::JavaArchive
        {
            c["group"] = json!(g);
        }
        if !p.licenses.is_empty() {
            c["licenses"] = Value::Array(
                p.licenses
                    .iter()
                    .map(|l| json!({"license": {"name": l}}))
                    .collect(),
            );
        }
        components.push(c);
    }
    let vulns: Vec<Value> = r
        .vulnerabilities
        .iter()
        .map(|v| {
            let mut ratings: Vec<Value> = v
                .cvss
                .iter()
                .map(|c| {
                    let mut x = json!({"method": method(&c.version), "vector": c.vector, "severity": severity(v.severity)});
                    if !v.severity_source.is_empty() {
                        x["justification"] = json!(format!("severity from {}", v.severity_source));
                    }
                    if let Some(s) = c.score {
                        x["score"] = json!(s);
                    }
                    x
                })
                .collect();
            if ratings.is_empty() {
                let mut x = json!({"severity": severity(v.severity), "method": "other"});
                if !v.severity_source.is_empty() {
                    x["justification"] = json!(format!("severity from {}", v.severity_source));
                }
                ratings.push(x);
            }
            let mut x = json!({
                "bom-ref": format!("{}/{}", v.id, v.package_purl),
                "id": v.id,
                "source": {"name": if v.data_source.is_empty() { "berth" } else { v.data_source.as_str() }},
                "ratings": ratings,
                "affects": [{"ref": v.package_purl, "versions": [{"version": v.installed_version, "status": "affected"}]}],
            });
            if !v.description.is_empty() {
                x["description"] = json!(v.description);
            }
            if !v.title.is_empty() {
                x["detail"] = json!(v.title);
            }
            if let Some(f) = &v.fixed_version {
                x["recommendation"] = json!(format!("Upgrade {} to {f}", v.package_name));
            } else if !v.fixed_versions.is_empty() {
                x["recommendation"] = json!(format!("Upgrade {} to {}", v.package_name, v.fixed_versions.join(" or ")));
            }
            let adv: Vec<Value> = v.links.iter().filter(|l| l.starts_with("http")).map(|l| json!({"url": l})).collect();
            if !adv.is_empty() {
                x["advisories"] = Value::Array(adv);
            }
            let refs: Vec<Value> = v.aliases.iter().map(|a| json!({"id": a, "source": {"name": "alias"}})).collect();
            if !refs.is_empty() {
                x["references"] = Value::Array(refs);
            }
            x
        })
        .collect();
    let mut subject = json!({
        "bom-ref": "berth:subject",
        "type": if r.source.kind == "dir" { "file" } else { "container" },
        "name": r.source.name,
    });
    if let Some(d) = &r.source.manifest_digest {
        subject["version"] = json!(d);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", super::document::content_uuid(r)),
        "version": 1,
        "metadata": {
            "timestamp": super::document::now_rfc3339(),
            "tools": {"components": [{"type": "application", "name": r.scanner.name, "version": r.scanner.version}]},
            "component": subject,
        },
        "components": components,
        "vulnerabilities": vulns,
    })
}
