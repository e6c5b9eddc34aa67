//! Vulnerability matching: every cataloged package is looked up in the `berth_vulndb` matcher.
use berth_vulndb::{Database, Ecosystem, PackageQuery, Target};

use crate::error::{Result, ScanError};
use crate::model::{Cvss, Package, PackageType, Report, Severity, Vulnerability};

fn severity(s: berth_vulndb::Severity) -> Severity {
    match s {
        berth_vulndb::Severity::Critical => Severity::Critical,
        berth_vulndb::Severity::High => Severity::High,
        berth_vulndb::Severity::Medium => Severity::Medium,
        berth_vulndb::Severity::Low => Severity::Low,
        berth_vulndb::Severity::Negligible => Severity::Negligible,
        berth_vulndb::Severity::Unknown => Severity::Unknown,
    }
}

/// The matcher's view of a package: ecosystem, name and version as the advisories spell them.
fn query_parts(p: &Package) -> Option<(Option<Ecosystem>, String, String)> {
    let eco = match p.kind {
        PackageType::Deb | PackageType::Apk | PackageType::Rpm => None,
        PackageType::Python => Some(Ecosystem::PyPI),
        PackageType::Npm => Some(Ecosystem::Npm),
        PackageType::GoModule => Some(Ecosystem::Go),
        PackageType::JavaArchive => Some(Ecosystem::Maven),
        PackageType::RustCrate => Some(Ecosystem::CratesIo),
        PackageType::Gem => Some(Ecosystem::RubyGems),
        PackageType::PhpComposer => Some(Ecosystem::Packagist),
    };
    let mut name = p.name.clone();
    let mut version = p.version.clone();
    match p.kind {
        PackageType::GoModule => {
            if version == "(devel)" || version.is_empty() {
                return None;
            }
            if name == "stdlib" {
                version = version.trim_start_matches("go").to_string();
            }
        }
        PackageType::JavaArchive => {
            let group = p.group.as_deref()?;
            name = format!("{group}:{name}");
        }
        _ => {}
    }
    if version.is_empty() {
        return None;
    }
    Some((eco, name, version))
}

/// Matches every package of the report; fills `report.vulnerabilities`.
/// How a report names the database it was matched against.
pub fn db_version(meta: &berth_vulndb::Metadata) -> String {
    format!("schema {} built {}", meta.schema, meta.built_at)
}

pub fn match_report(report: &mut Report, db: &Database) -> Result<()> {
    report.scanner.db_version = Some(db_version(db.metadata()));
    let distro = report.distro.clone();
    let mut out: Vec<Vulnerability> = Vec::new();
    let mut warned_no_distro = false;
    for p in &report.packages {
        let Some((eco, name, version)) = query_parts(p) else {
            continue;
        };
        let target = match eco {
            Some(e) => Target::Lang(e),
            None => {
                match &distro {
                    Some(d) => Target::Os {
                        distro: &d.id,
                        release: &d.version_id,
                    },
                    None => {
                        if !warned_no_distro {
                            report.warnings.push("OS packages found but no OS detected: OS packages were not matched".into());
                            warned_no_distro = true;
                        }
                        continue;
                    }
                }
            }
        };
        let q = PackageQuery {
            target,
            name: &name,
            source_name: p.source_name.as_deref(),
            version: &version,
        };
        let matches = db
            .matches(&q)
            .map_err(|e| ScanError::VulnDb(e.to_string()))?;
        for m in matches {
            if out.iter().any(|v| v.id == m.id && v.package_purl == p.purl) {
                continue;
            }
            let loc = p.locations.first();
            out.push(Vulnerability {
                id: m.id,
                aliases: m.aliases,
                package_name: p.name.clone(),
                package_purl: p.purl.clone(),
                package_type: p.kind,
                installed_version: p.version.clone(),
                fixed_versions: m.fixed_versions,
                fixed_version: m.fixed_in,
                severity: severity(m.severity),
                severity_source: m.severity_source.as_str().to_string(),
                cvss: m
                    .cvss
                    .into_iter()
                    .map(|c| Cvss {
                        version: c.version,
                        vector: c.vector,
                        score: c.score,
                    })
                    .collect(),
                title: m.title.unwrap_or_default(),
                description: m.description.unwrap_or_default(),
                links: m.links,
                data_source: m.source,
                path: loc.map(|l| l.path.clone()),
                paths: if p.locations.len() > 1 {
                    let mut v: Vec<String> = p.locations.iter().map(|l| l.path.clone()).collect();
                    v.dedup();
                    v
                } else {
                    Vec::new()
                },
                layer: loc.and_then(|l| l.layer.clone()),
            });
        }
    }
    out.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.id, &a.package_purl).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.id,
            &b.package_purl,
        ))
    });
    report.vulnerabilities = out;
    Ok(())
}
