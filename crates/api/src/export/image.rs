//! `storage.Image` from what berth knows of a digest: its newest scan report, when berth stores
//! and has scanned it. Built once per digest per export ([`super::images`]) as the JSON of every
//! field after `names` (the name is the deployment's reference, written per message), with the
//! facts the query language reads.
use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::cvss::{self, CvssV2, CvssV3};
use super::report::{Package, Report, Suppression, Vulnerability};
use super::time::rfc3339_millis;

/// What a query may ask of one image (see [`super::document`]).
#[derive(Debug, Default)]
pub struct ImageFacts {
    pub os: Option<String>,
    pub scan_time: Option<i64>,
    pub top_cvss: Option<f32>,
    /// (name, version, source ordinal in `berth_query::SOURCE_TYPES`).
    pub components: Vec<(String, String, u32)>,
    pub vulns: Vec<VulnFact>,
}

#[derive(Debug)]
pub struct VulnFact {
    pub cve: String,
    pub cvss: f32,
    /// Ordinal in `berth_query::SEVERITIES`.
    pub severity: u32,
    pub fixable: bool,
}

/// One digest, ready to write: the JSON object of the fields after `names`, from its opening
/// brace's successor (`"metadata":...}`), and its facts.
#[derive(Debug)]
pub struct ImageEntry {
    pub tail: String,
    pub facts: ImageFacts,
}

impl ImageEntry {
    /// Bytes held, for the cache's weigher.
    pub fn weight(&self) -> u32 {
        let facts = self.facts.components.len() * 64 + self.facts.vulns.len() * 48;
        u32::try_from(self.tail.len() + facts + 256).unwrap_or(u32::MAX)
    }
}

/// How an exception leaves a vulnerability in the message: listed, with `suppressed` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suppressed {
    /// Seconds since the epoch.
    pub expires_at: i64,
    /// From an OpenVEX `not_affected`/`fixed` statement: `FALSE_POSITIVE`, else `DEFERRED`.
    pub false_positive: bool,
}

/// Which of an image's vulnerabilities berth's exceptions cover in one deployment.
pub type SuppressFn<'a> = &'a dyn Fn(&Vulnerability) -> Option<Suppressed>;

/// The scan behind an image, as the store gave it.
pub struct Scanned {
    pub report: Report,
    /// When the scan finished, milliseconds since the epoch (when known).
    pub finished_at: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tail<'a> {
    metadata: Option<Metadata>,
    scan: Option<Scan<'a>>,
    signature_verification_data: Option<()>,
    signature: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cves: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixable_cves: Option<i32>,
    last_updated: Option<String>,
    not_pullable: bool,
    is_cluster_local: bool,
    priority: &'static str,
    risk_score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_cvss: Option<f32>,
    notes: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    v1: Option<V1Metadata>,
    v2: Option<V2Metadata>,
    layer_shas: Vec<String>,
    data_source: Option<()>,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Metadata {
    digest: String,
    created: Option<String>,
    author: &'static str,
    layers: Vec<Layer>,
    user: &'static str,
    command: [(); 0],
    entrypoint: [(); 0],
    volumes: [(); 0],
    labels: HashMap<(), ()>,
}

#[derive(Serialize)]
struct V2Metadata {
    digest: String,
}

#[derive(Serialize)]
struct Layer {
    instruction: String,
    value: String,
    created: Option<String>,
    author: &'static str,
    empty: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Scan<'a> {
    scanner_version: String,
    scan_time: Option<String>,
    components: Vec<Component<'a>>,
    operating_system: String,
    data_source: Option<()>,
    notes: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Component<'a> {
    name: &'a str,
    version: &'a str,
    license: Option<License<'a>>,
    vulns: Vec<Vuln<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer_index: Option<i32>,
    priority: &'static str,
    source: &'static str,
    location: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_cvss: Option<f32>,
    risk_score: f32,
    fixed_by: &'a str,
    executables: [(); 0],
}

#[derive(Serialize)]
struct License<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Vuln<'a> {
    cve: &'a str,
    cvss: f32,
    summary: &'a str,
    link: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed_by: Option<&'a str>,
    score_version: &'static str,
    cvss_v2: Option<CvssV2>,
    cvss_v3: Option<CvssV3>,
    published_on: Option<String>,
    last_modified: Option<String>,
    vulnerability_type: &'static str,
    vulnerability_types: [&'static str; 1],
    suppressed: bool,
    suppress_activation: Option<String>,
    suppress_expiry: Option<String>,
    first_system_occurrence: Option<String>,
    first_image_occurrence: Option<String>,
    severity: &'static str,
    state: &'static str,
}

/// `storage.SourceType` of a package type, with its ordinal. Types StackRox has no source for
/// (Rust crates, PHP Composer packages) get the zero value, `OS`.
fn source(kind: &str) -> (&'static str, u32) {
    match kind {
        "python" => ("PYTHON", 1),
        "java-archive" => ("JAVA", 2),
        "gem" => ("RUBY", 3),
        "npm" => ("NODEJS", 4),
        "go-module" => ("GO", 5),
        _ => ("OS", 0),
    }
}

/// berth's severity as `storage.VulnerabilitySeverity` (name, ordinal): Negligible is LOW.
fn severity(s: &str) -> (&'static str, u32) {
    match s.to_ascii_lowercase().as_str() {
        "critical" => ("CRITICAL_VULNERABILITY_SEVERITY", 4),
        "high" => ("IMPORTANT_VULNERABILITY_SEVERITY", 3),
        "medium" => ("MODERATE_VULNERABILITY_SEVERITY", 2),
        "low" | "negligible" => ("LOW_VULNERABILITY_SEVERITY", 1),
        _ => ("UNKNOWN_VULNERABILITY_SEVERITY", 0),
    }
}

/// A Dockerfile history line as (instruction, value): `/bin/sh -c #(nop) CMD ["x"]` is `CMD`,
/// `/bin/sh -c apk add x` is `RUN`, BuildKit's `RUN /bin/sh -c ...` is split at its first word.
fn instruction(created_by: &str) -> (String, String) {
    let s = created_by.trim();
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
        let rest = rest.trim();
        let (i, v) = rest.split_once(' ').unwrap_or((rest, ""));
        return (i.to_string(), v.trim().to_string());
    }
    if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
        return ("RUN".into(), rest.trim().to_string());
    }
    match s.split_once(' ') {
        Some((i, v)) if i.chars().all(|c| c.is_ascii_uppercase()) && !i.is_empty() => {
            (i.to_string(), v.trim().to_string())
        }
        _ => (String::new(), s.to_string()),
    }
}

struct VulnOut<'a> {
    vuln: Vuln<'a>,
    fact: VulnFact,
}

fn vuln(v: &Vulnerability) -> VulnOut<'_> {
    let v3 = v
        .cvss
        .iter()
        .find(|c| c.version.starts_with('3') || c.vector.starts_with("CVSS:3"))
        .map(|c| cvss::v3(&c.vector, c.score));
    let v2 = v
        .cvss
        .iter()
        .find(|c| c.version.starts_with('2'))
        .map(|c| cvss::v2(&c.vector, c.score));
    let score = v3
        .as_ref()
        .map(|c| c.score)
        .or(v2.as_ref().map(|c| c.score))
        .unwrap_or(0.0);
    let (sev, sev_ord) = severity(&v.severity);
    let fixed = v.fixed_version.as_deref().filter(|f| !f.is_empty());
    VulnOut {
        fact: VulnFact {
            cve: v.id.clone(),
            cvss: score,
            severity: sev_ord,
            fixable: fixed.is_some(),
        },
        vuln: Vuln {
            cve: &v.id,
            cvss: score,
            summary: if v.description.is_empty() {
                &v.title
            } else {
                &v.description
            },
            link: v.links.first().map_or("", String::as_str),
            fixed_by: fixed,
            score_version: if v3.is_some() || v2.is_none() {
                "V3"
            } else {
                "V2"
            },
            cvss_v2: v2,
            cvss_v3: v3,
            published_on: None,
            last_modified: None,
            vulnerability_type: "IMAGE_VULNERABILITY",
            vulnerability_types: ["IMAGE_VULNERABILITY"],
            suppressed: false,
            suppress_activation: None,
            suppress_expiry: None,
            first_system_occurrence: None,
            first_image_occurrence: None,
            severity: sev,
            state: "OBSERVED",
        },
    }
}

/// A finding berth's exceptions left out of the report, listed as suppressed: StackRox keeps
/// suppressed CVEs in the scan with `suppressed` set. Only the CVE and its state are known.
fn suppressed(s: &Suppression) -> Vuln<'_> {
    let false_positive =
        s.by == "openvex" && matches!(s.status.as_deref(), Some("not_affected") | Some("fixed"));
    Vuln {
        cve: &s.id,
        cvss: 0.0,
        summary: "",
        link: "",
        fixed_by: None,
        score_version: "V3",
        cvss_v2: None,
        cvss_v3: None,
        published_on: None,
        last_modified: None,
        vulnerability_type: "IMAGE_VULNERABILITY",
        vulnerability_types: ["IMAGE_VULNERABILITY"],
        suppressed: true,
        suppress_activation: None,
        suppress_expiry: s.expires.as_deref().and_then(super::time::normalize_date),
        first_system_occurrence: None,
        first_image_occurrence: None,
        severity: "UNKNOWN_VULNERABILITY_SEVERITY",
        state: if false_positive {
            "FALSE_POSITIVE"
        } else {
            "DEFERRED"
        },
    }
}

fn max_f32(a: Option<f32>, b: f32) -> Option<f32> {
    Some(a.map_or(b, |a| a.max(b)))
}

/// The image of `digest`: with its scan when there is one, else only what the digest says
/// (notes `MISSING_METADATA`, `MISSING_SCAN_DATA`).
pub fn entry(digest: &str, scanned: Option<&Scanned>, suppress: SuppressFn<'_>) -> ImageEntry {
    let Some(scanned) = scanned else {
        let tail = Tail {
            metadata: None,
            scan: None,
            signature_verification_data: None,
            signature: None,
            components: None,
            cves: None,
            fixable_cves: None,
            last_updated: None,
            not_pullable: false,
            is_cluster_local: false,
            priority: "0",
            risk_score: 0.0,
            top_cvss: None,
            notes: vec!["MISSING_METADATA", "MISSING_SCAN_DATA"],
        };
        return finish(&tail, ImageFacts::default());
    };
    let report = &scanned.report;
    let mut facts = ImageFacts {
        scan_time: scanned.finished_at.map(|m| m.div_euclid(1000)),
        ..ImageFacts::default()
    };
    let os = report
        .distro
        .as_ref()
        .map(|d| {
            if d.version_id.is_empty() {
                d.id.clone()
            } else {
                format!("{}:{}", d.id, d.version_id)
            }
        })
        .unwrap_or_default();
    facts.os = (!os.is_empty()).then(|| os.clone());

    // Vulnerabilities by the package they were found in (purl, else name and version).
    let mut by_package: HashMap<(&str, &str, &str), Vec<&Vulnerability>> = HashMap::new();
    for v in &report.vulnerabilities {
        by_package
            .entry((&v.package_purl, &v.package_name, &v.installed_version))
            .or_default()
            .push(v);
    }
    let mut suppressed_by_purl: HashMap<&str, Vec<&Suppression>> = HashMap::new();
    for s in &report.suppressed {
        if let Some(p) = &s.package_purl {
            suppressed_by_purl.entry(p).or_default().push(s);
        }
    }
    let mut cves = BTreeSet::new();
    let mut fixable = BTreeSet::new();
    let mut components = Vec::with_capacity(report.packages.len());
    for p in &report.packages {
        components.push(component(
            p,
            &by_package,
            &suppressed_by_purl,
            suppress,
            &mut facts,
        ));
    }
    // Counted from what the message lists, suppressed CVEs included, as StackRox counts the
    // CVEs of a scan's components whatever their state.
    for v in components.iter().flat_map(|c| &c.vulns) {
        cves.insert(v.cve);
        if v.fixed_by.is_some() {
            fixable.insert(v.cve);
        }
    }
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let layer_shas: Vec<String> = report.layers.iter().map(|l| l.digest.clone()).collect();
    let layers = report
        .layers
        .iter()
        .map(|l| {
            let (instruction, value) = instruction(l.created_by.as_deref().unwrap_or(""));
            Layer {
                instruction,
                value,
                created: None,
                author: "",
                empty: false,
            }
        })
        .collect();
    let scan_time = scanned.finished_at.map(rfc3339_millis);
    let tail = Tail {
        metadata: Some(Metadata {
            v1: Some(V1Metadata {
                digest: report.source.config_digest.clone().unwrap_or_default(),
                created: None,
                author: "",
                layers,
                user: "",
                command: [],
                entrypoint: [],
                volumes: [],
                labels: HashMap::new(),
            }),
            v2: Some(V2Metadata {
                digest: digest.to_string(),
            }),
            layer_shas,
            data_source: None,
            version: "0",
        }),
        scan: Some(Scan {
            scanner_version: format!("{} {}", report.scanner.name, report.scanner.version)
                .trim()
                .to_string(),
            scan_time: scan_time.clone(),
            components,
            operating_system: os,
            data_source: None,
            notes: if report.distro.is_none() {
                vec!["OS_UNAVAILABLE"]
            } else {
                Vec::new()
            },
        }),
        signature_verification_data: None,
        signature: None,
        components: Some(count(report.packages.len())),
        cves: Some(count(cves.len())),
        fixable_cves: Some(count(fixable.len())),
        last_updated: scan_time,
        not_pullable: false,
        is_cluster_local: false,
        priority: "0",
        risk_score: 0.0,
        top_cvss: Some(facts.top_cvss.unwrap_or(0.0)),
        notes: Vec::new(),
    };
    finish(&tail, facts)
}

fn component<'a>(
    p: &'a Package,
    by_package: &HashMap<(&str, &str, &str), Vec<&'a Vulnerability>>,
    suppressed_by_purl: &HashMap<&str, Vec<&'a Suppression>>,
    suppress: SuppressFn<'_>,
    facts: &mut ImageFacts,
) -> Component<'a> {
    let (source_name, source_ord) = source(&p.kind);
    facts
        .components
        .push((p.name.clone(), p.version.clone(), source_ord));
    let found = by_package
        .get(&(p.purl.as_str(), p.name.as_str(), p.version.as_str()))
        .or_else(|| by_package.get(&(p.purl.as_str(), "", "")));
    let mut vulns = Vec::new();
    let mut top: Option<f32> = None;
    let mut fixes = BTreeSet::new();
    for v in found.into_iter().flatten() {
        let mut out = vuln(v);
        if let Some(s) = suppress(v) {
            out.vuln.suppressed = true;
            out.vuln.suppress_expiry = chrono::DateTime::from_timestamp(s.expires_at, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            out.vuln.state = if s.false_positive {
                "FALSE_POSITIVE"
            } else {
                "DEFERRED"
            };
        }
        top = max_f32(top, out.fact.cvss);
        facts.top_cvss = max_f32(facts.top_cvss, out.fact.cvss);
        if let Some(f) = out.vuln.fixed_by {
            fixes.insert(f);
        }
        facts.vulns.push(out.fact);
        vulns.push(out.vuln);
    }
    for s in suppressed_by_purl
        .get(p.purl.as_str())
        .into_iter()
        .flatten()
    {
        vulns.push(suppressed(s));
    }
    Component {
        name: &p.name,
        version: &p.version,
        license: p.licenses.first().map(|l| License {
            name: l,
            kind: "",
            url: "",
        }),
        vulns,
        layer_index: p
            .locations
            .first()
            .and_then(|l| l.layer.as_ref())
            .and_then(|l| i32::try_from(l.index).ok()),
        priority: "0",
        source: source_name,
        location: p.locations.first().map_or("", |l| l.path.as_str()),
        top_cvss: top,
        risk_score: 0.0,
        // The version fixing every fixable vulnerability is known only when they agree: the
        // export has no version ordering to pick the highest of several.
        fixed_by: if fixes.len() == 1 {
            fixes.first().copied().unwrap_or("")
        } else {
            ""
        },
        executables: [],
    }
}

fn finish(tail: &Tail<'_>, facts: ImageFacts) -> ImageEntry {
    let json = serde_json::to_string(tail).unwrap_or_else(|_| "{}".into());
    // Drop the opening brace: the writer puts `{"id":...,"name":...,"names":[...],` before it.
    let tail = json.get(1..).unwrap_or("}").to_string();
    ImageEntry { tail, facts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_lines_split_into_instructions() {
        assert_eq!(
            instruction("/bin/sh -c #(nop)  CMD [\"sh\"]"),
            ("CMD".into(), "[\"sh\"]".into())
        );
        assert_eq!(
            instruction("/bin/sh -c apk add curl"),
            ("RUN".into(), "apk add curl".into())
        );
        assert_eq!(
            instruction("COPY file:abc in /"),
            ("COPY".into(), "file:abc in /".into())
        );
    }

    #[test]
    fn unscanned_images_omit_the_oneofs() {
        let e = entry("sha256:00", None, &|_| None);
        assert!(!e.tail.contains("\"components\""));
        assert!(e.tail.contains("\"scan\":null"));
        assert!(
            e.tail
                .ends_with("\"notes\":[\"MISSING_METADATA\",\"MISSING_SCAN_DATA\"]}")
        );
    }
}
