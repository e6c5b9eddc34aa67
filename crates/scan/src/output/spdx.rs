//! SPDX 2.3 JSON.
use serde_json::{Value, json};

use crate::model::Report;

fn spdx_id(prefix: &str, s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{prefix}-{clean}")
}

pub fn render(r: &Report) -> Value {
    let image_id = "SPDXRef-Subject".to_string();
    let mut packages = vec![json!({
        "SPDXID": image_id,
        "name": r.source.name,
        "versionInfo": r.source.manifest_digest.clone().unwrap_or_default(),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": if r.source.kind == "dir" { "FILE" } else { "CONTAINER" },
    })];
    let mut relationships = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}),
    ];
    for (i, p) in r.packages.iter().enumerate() {
        let id = spdx_id(&format!("{}-{i}", p.kind.as_str()), &p.name);
        // Each file with what it shows: `installed` or `declared` (a lockfile entry).
        let sources: Vec<String> = p
            .locations
            .iter()
            .map(|l| format!("{}: {}", l.evidence.as_str(), l.path))
            .collect();
        packages.push(json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "sourceInfo": format!("acquired package info from {} ({}){}", p.found_by, sources.join(", "), if p.dev { "; development-only dependency" } else { "" }),
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl}],
            "primaryPackagePurpose": if p.kind.is_os() { "OPERATING-SYSTEM" } else { "LIBRARY" },
        }));
        relationships.push(json!({"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": r.source.name,
        "documentNamespace": format!("https://berth.invalid/spdx/{}", super::document::content_uuid(r)),
        "creationInfo": {
            "created": super::document::now_rfc3339(),
            "creators": [format!("Tool: {}-{}", r.scanner.name, r.scanner.version)],
        },
        "packages": packages,
        "relationships": relationships,
    })
}
